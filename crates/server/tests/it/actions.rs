//! The seed's last question, answered: app_metadata in the access token, by a Rule and by an
//! Action, with Auth0's claim rules; denials; credentials-exchange; scripts that fail alone;
//! syntax errors refused at create time; the dry run.

use serde_json::{Value, json};

use crate::{
    browser::{Browser, CB, CHALLENGE, EMAIL, PASSWORD, VERIFIER},
    support::{TestApp, spawn_app, verify},
};

const API: &str = "https://api.example.com";
const SEED_RULE: &str = "function (user, context, callback) {\n  context.accessToken['http://NAMESPACE'] = user.app_metadata;\n  callback(null, user, context);\n}\n";

async fn setup() -> (TestApp, String) {
    let app = spawn_app().await;
    app.cli_json(&[
        "users",
        "create",
        "--email",
        EMAIL,
        "--password",
        PASSWORD,
        "--app-metadata",
        r#"{"plan":"gold","roles":["admin"]}"#,
    ]);
    app.api(API, &[]);
    let spa = app.spa(&[]);
    (app, spa)
}

/// Script changes reach the running server with its configuration snapshot (polled every
/// 250 ms): wait for the next poll.
async fn settle() {
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
}

fn write(app: &TestApp, name: &str, code: &str) -> String {
    let path = app.dir.path().join(name);
    std::fs::write(&path, code).unwrap();
    path.to_str().unwrap().to_owned()
}

fn authorize_params(spa: &str) -> Vec<(&str, &str)> {
    vec![
        ("client_id", spa),
        ("redirect_uri", CB),
        ("response_type", "code"),
        ("scope", "openid profile"),
        ("audience", API),
        ("state", "s-1"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

/// Signs in (code flow) and returns the callback parameters and, on success, the tokens.
async fn login(
    app: &TestApp,
    spa: &str,
) -> (std::collections::HashMap<String, String>, Option<Value>) {
    let b = Browser::new(app);
    let cb = b.login(&authorize_params(spa), EMAIL, PASSWORD).await;
    let Some(code) = cb.params.get("code") else {
        return (cb.params, None);
    };
    let r = app
        .token_form(&[
            ("grant_type", "authorization_code"),
            ("client_id", spa),
            ("code", code),
            ("redirect_uri", CB),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_eq!(r.status(), 200);
    (cb.params.clone(), Some(r.json().await.unwrap()))
}

#[tokio::test]
async fn the_seeds_rule_puts_app_metadata_in_the_access_token() {
    let (app, spa) = setup().await;
    let file = write(&app, "rule.js", SEED_RULE);
    app.cli_json(&["rules", "create", "--name", "app metadata", "--file", &file]);
    settle().await;
    let (_, tokens) = login(&app, &spa).await;
    let t = tokens.unwrap();
    let (_, at) = verify(&app, t["access_token"].as_str().unwrap(), API).await;
    assert_eq!(
        at["http://NAMESPACE"],
        json!({"plan": "gold", "roles": ["admin"]})
    );
}

#[tokio::test]
async fn an_action_sets_namespaced_access_claims_and_id_claims_under_the_rules() {
    let (app, spa) = setup().await;
    let code = r#"
exports.onExecutePostLogin = async (event, api) => {
  api.accessToken.setCustomClaim('https://example.com/app_metadata', event.user.app_metadata);
  api.accessToken.setCustomClaim('plan', event.user.app_metadata.plan);   // not namespaced: dropped
  api.accessToken.setCustomClaim('sub', 'someone-else');                  // reserved: ignored
  api.idToken.setCustomClaim('plan', event.user.app_metadata.plan);
  api.idToken.setCustomClaim('https://example.com/client', event.client.name);
  api.user.setAppMetadata('last_login_client', event.client.client_id);
};"#;
    let file = write(&app, "action.js", code);
    let created = app.cli_json(&[
        "actions",
        "create",
        "--name",
        "claims",
        "--trigger",
        "post-login",
        "--file",
        &file,
    ]);
    assert_eq!(created["status"], "built", "not running before deploy");
    let (_, t) = login(&app, &spa).await;
    let (_, at) = verify(&app, t.unwrap()["access_token"].as_str().unwrap(), API).await;
    assert!(
        at.get("https://example.com/app_metadata").is_none(),
        "undeployed actions do not run"
    );

    app.cli_json(&["actions", "deploy", "claims"]);
    settle().await;
    let (_, t) = login(&app, &spa).await;
    let t = t.unwrap();
    let (_, at) = verify(&app, t["access_token"].as_str().unwrap(), API).await;
    assert_eq!(at["https://example.com/app_metadata"]["plan"], "gold");
    assert!(
        at.get("plan").is_none(),
        "non-namespaced claims are dropped from API tokens"
    );
    assert!(
        at["sub"].as_str().unwrap().starts_with("auth0|"),
        "reserved claims keep their value"
    );
    let (_, id) = verify(&app, t["id_token"].as_str().unwrap(), &spa).await;
    assert_eq!(id["plan"], "gold", "ID tokens allow plain names");
    assert_eq!(id["https://example.com/client"], "My SPA");
    // app_metadata written by the action is persisted.
    let user = app.cli_json(&["users", "show", EMAIL]);
    assert_eq!(user["app_metadata"]["last_login_client"], spa.as_str());
    assert_eq!(user["app_metadata"]["plan"], "gold");
}

#[tokio::test]
async fn deny_sends_access_denied_to_the_redirect() {
    let (app, spa) = setup().await;
    let code = "exports.onExecutePostLogin = async (event, api) => {\n  if (event.user.app_metadata.plan !== 'platinum') api.access.deny('Platinum members only');\n};";
    let file = write(&app, "deny.js", code);
    app.cli_json(&[
        "actions",
        "create",
        "--name",
        "gate",
        "--trigger",
        "post-login",
        "--file",
        &file,
        "--deploy",
    ]);
    settle().await;
    let (params, tokens) = login(&app, &spa).await;
    assert!(tokens.is_none());
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["error_description"], "Platinum members only");
    assert_eq!(params["state"], "s-1");
}

#[tokio::test]
async fn credentials_exchange_adds_claims_to_m2m_tokens() {
    let (app, _) = setup().await;
    let code = "exports.onExecuteCredentialsExchange = async (event, api) => {\n  api.accessToken.setCustomClaim('https://example.com/client', event.client.name + ':' + event.secrets.TIER);\n  if (event.client.name === 'blocked-svc') api.access.deny('invalid_request', 'Not this client');\n};";
    let file = write(&app, "cc.js", code);
    app.cli_json(&[
        "actions",
        "create",
        "--name",
        "cc",
        "--trigger",
        "credentials-exchange",
        "--file",
        &file,
        "--secret",
        "TIER=gold",
        "--deploy",
    ]);
    settle().await;
    let (id, secret) = app.granted_m2m(API, "read:x");
    let t = app.cc_token(&id, &secret, API).await;
    let (_, at) = verify(&app, t["access_token"].as_str().unwrap(), API).await;
    assert_eq!(at["https://example.com/client"], "svc:gold");
    let shown = app.cli_json(&["actions", "show", "cc"]);
    assert_eq!(
        shown["secrets"],
        json!([{"name": "TIER"}]),
        "secret values are never shown"
    );
    assert!(!shown.to_string().contains("gold"));
}

#[tokio::test]
async fn failing_scripts_fail_only_their_own_login() {
    let (app, spa) = setup().await;
    app.cli_json(&["tenant", "update", "--script-time-limit-ms", "300"]);
    settle().await;
    let other = app.spa(&[]);
    // Only logins to `spa` run the bad scripts; `other` logs in at the same time.
    for (name, body, needle) in [
        ("loops", "while (true) {}", "time limit (300 ms)"),
        (
            "hogs",
            "const a = []; for (;;) a.push(new Array(1e6).fill(1.5));",
            "out of memory",
        ),
        (
            "allocates",
            "const big = 'x'.repeat(200 * 1024 * 1024);",
            "memory",
        ),
        ("throws", "throw new Error('boom');", "Error: boom"),
    ] {
        let code = format!(
            "exports.onExecutePostLogin = async (event, api) => {{\n  if (event.client.client_id !== '{spa}') return;\n  {body}\n}};"
        );
        let file = write(&app, &format!("{name}.js"), &code);
        app.cli_json(&[
            "actions",
            "create",
            "--name",
            name,
            "--trigger",
            "post-login",
            "--file",
            &file,
            "--deploy",
        ]);
        settle().await;
        let (bad, good) = tokio::join!(login(&app, &spa), login(&app, &other));
        assert_eq!(bad.0["error"], "access_denied", "{name}");
        let d = &bad.0["error_description"];
        assert!(
            d.contains(&format!("'{name}' failed")) && d.contains(needle),
            "{name}: {d}"
        );
        assert!(good.1.is_some(), "{name}: the parallel login succeeds");
        app.cli_json(&["actions", "undeploy", name]);
        settle().await;
    }
    assert_eq!(
        app.http
            .get(app.url("healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn syntax_errors_are_refused_at_create_time_with_line_and_column() {
    let (app, _) = setup().await;
    let file = write(
        &app,
        "bad.js",
        "exports.onExecutePostLogin = async (event, api) => {\n  const x = ;\n};",
    );
    let out = app.cli(&[
        "actions",
        "create",
        "--name",
        "bad",
        "--trigger",
        "post-login",
        "--file",
        &file,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not compile: line 2, column"), "{err}");
    let file = write(
        &app,
        "bad_rule.js",
        "function (user, context, callback) {\n  callback(null user);\n}",
    );
    let out = app.cli(&["rules", "create", "--name", "bad", "--file", &file]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2, column"));
    assert_eq!(app.cli_json(&["actions", "list"]), json!([]));
}

#[tokio::test]
async fn actions_test_is_a_dry_run_that_shows_the_claims() {
    let (app, spa) = setup().await;
    let code = "exports.onExecutePostLogin = async (event, api) => {\n  api.accessToken.setCustomClaim('https://example.com/plan', event.user.app_metadata.plan);\n  api.accessToken.setCustomClaim('plan', 1);\n  api.user.setAppMetadata('x', 1);\n};";
    let file = write(&app, "dry.js", code);
    app.cli_json(&[
        "actions",
        "create",
        "--name",
        "dry",
        "--trigger",
        "post-login",
        "--file",
        &file,
    ]);
    let out = app.cli_json(&[
        "actions",
        "test",
        "dry",
        "--user",
        EMAIL,
        "--client",
        &spa,
        "--audience",
        API,
    ]);
    assert_eq!(
        out["access_token_claims"]["https://example.com/plan"],
        "gold"
    );
    assert_eq!(out["dropped_claims"], json!(["access token: plan"]));
    assert_eq!(out["app_metadata_changes"]["x"], 1);
    // A dry run changes nothing.
    assert!(
        app.cli_json(&["users", "show", EMAIL])["app_metadata"]
            .get("x")
            .is_none()
    );
}
