//! Client libraries nobody on this project wrote, driven from Python: authlib's code flow
//! (HTTP Basic at the token endpoint, its default) against a regular web app created with no
//! `--auth-method`, and auth0-python's `GetToken.login(…, realm=…)`. The scripts live in
//! `tests/clients/`. They run when `TESSERA_TEST_PYTHON` names a Python with auth0-python,
//! authlib and requests (`bash .ci/run` makes one); without it each test says so and passes,
//! so that `cargo test` needs only the Rust toolchain.

use serde_json::Value;

use crate::{
    browser::{CB, EMAIL, PASSWORD},
    support::{TestApp, spawn_app, verify},
};

fn python() -> Option<String> {
    let p = std::env::var("TESSERA_TEST_PYTHON")
        .ok()
        .filter(|p| !p.is_empty());
    if p.is_none() {
        eprintln!(
            "skipped: set TESSERA_TEST_PYTHON to a Python with auth0-python, authlib and requests (bash .ci/run does)"
        );
    }
    p
}

/// Runs `tests/clients/SCRIPT` and parses the JSON line it prints.
fn run(python: &str, script: &str, args: &[&str]) -> Value {
    let path = format!("{}/tests/clients/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(python)
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    assert!(
        out.status.success(),
        "{script} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{script}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[tokio::test]
async fn authlib_completes_a_code_flow_with_basic_auth_against_a_default_web_app() {
    let Some(py) = python() else { return };
    let app = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    // No --auth-method: registered as client_secret_post, Auth0's default.
    let (web, secret) = app.web_app(&[]);
    let shown = app.cli_json(&["apps", "show", &web]);
    assert_eq!(shown["token_endpoint_auth_method"], "client_secret_post");
    app.config_settled().await;
    let base = app.url("");
    let got = tokio::task::spawn_blocking(move || {
        run(
            &py,
            "authlib_code_flow.py",
            &[&base, &web, &secret, CB, EMAIL, PASSWORD],
        )
    })
    .await
    .unwrap();
    let keys: Vec<&str> = got["token_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert!(
        keys.contains(&"access_token") && keys.contains(&"id_token"),
        "{got}"
    );
    assert_eq!(got["id_token"]["email"], EMAIL);
}

#[tokio::test]
async fn auth0_python_logs_in_with_a_realm() {
    let Some(py) = python() else { return };
    const API: &str = "https://api.example.com";
    let app: TestApp = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    app.api(API, &[]);
    let (web, secret) = app.web_app(&["--grant-types", "authorization_code,password"]);
    app.config_settled().await;
    let host = app
        .url("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let login = |realm: &'static str, password: &'static str| {
        let (py, host, web, secret) = (py.clone(), host.clone(), web.clone(), secret.clone());
        tokio::task::spawn_blocking(move || {
            run(
                &py,
                "auth0_password_realm.py",
                &[&host, &web, &secret, EMAIL, password, realm, API],
            )
        })
    };
    let token = login("Username-Password-Authentication", PASSWORD)
        .await
        .unwrap();
    let at = token["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{token}"));
    let (_, claims) = verify(&app, at, API).await;
    assert_eq!(claims["scope"], "openid read:x");
    let wrong = login("Username-Password-Authentication", "wrong")
        .await
        .unwrap();
    assert_eq!(wrong["error"], "invalid_grant", "{wrong}");
    let unknown = login("google-oauth2", PASSWORD).await.unwrap();
    assert_eq!(unknown["error"], "invalid_request", "{unknown}");
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .contains("Username-Password-Authentication")
    );
}

/// Auth0's Python SDK drives `/api/v2`: every call it makes must parse, and its pagers must
/// end (`tests/clients/management.py`).
#[tokio::test]
async fn auth0_python_manages_clients_apis_grants_users_and_roles() {
    let Some(py) = python() else { return };
    let app = spawn_app().await;
    let audience = format!("{}api/v2/", app.issuer());
    let scopes = tessera_core::manage::MANAGEMENT_SCOPES.join(",");
    let (id, secret) = app.granted_m2m(&audience, &scopes);
    let t = crate::support::ok_within_a_second(|| app.cc_request(&id, &secret, &audience)).await;
    let token = t["access_token"].as_str().unwrap().to_owned();
    let base = app.url("/api/v2");
    let seen = tokio::task::spawn_blocking(move || run(&py, "management.py", &[&base, &token]))
        .await
        .unwrap();
    // The token's own app, and the three the SDK made.
    assert_eq!(seen["clients_listed"], 4, "{seen}");
    assert_eq!(seen["client_renamed"], "sdk-renamed");
    assert_eq!(seen["secret_rotated"], true);
    // The Management API itself, and the SDK's API.
    assert_eq!(seen["apis_listed"], 2);
    assert_eq!(seen["api_lifetime"], 600);
    assert_eq!(seen["grants_listed"], 2, "the token's grant and the SDK's");
    assert_eq!(seen["users_listed"], 3);
    assert_eq!(seen["users_found"], serde_json::json!(["sdk1@example.com"]));
    assert_eq!(seen["by_email"], serde_json::json!(["sdk2@example.com"]));
    assert_eq!(
        seen["merged_metadata"],
        serde_json::json!({"plan": "free", "team": "blue"})
    );
    assert_eq!(seen["roles_listed"], 1);
    assert_eq!(seen["user_roles"], serde_json::json!(["sdk-admin"]));
    assert_eq!(seen["clients_after"], 1);
}
