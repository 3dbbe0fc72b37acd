//! The CLI against a running server: changes served within a second, Management-API shapes
//! with `--json`, the user lifecycle, and one-line errors with exit code 2.

use std::time::Duration;

use crate::support::*;

#[tokio::test]
async fn a_cli_change_is_served_by_the_running_server_within_a_second() {
    let app = spawn_app().await;
    // Everything below is created after the server started.
    app.api("urn:late", &["--token-lifetime", "120"]);
    let (id, secret) = app.granted_m2m("urn:late", "read:x");
    let body = ok_within_a_second(|| app.cc_request(&id, &secret, "urn:late")).await;
    assert_eq!(body["expires_in"], 120);
    // An update, and a secret rotation, take effect too.
    app.cli_json(&["apis", "update", "urn:late", "--token-lifetime", "60"]);
    let rotated = app.cli_json(&["apps", "rotate-secret", &id]);
    let new_secret = rotated["client_secret"].as_str().unwrap();
    let body = ok_within_a_second(|| app.cc_request(&id, new_secret, "urn:late")).await;
    assert_eq!(body["expires_in"], 60);
    status_within_a_second(401, || app.cc_request(&id, &secret, "urn:late")).await;
}

#[tokio::test]
async fn bench_limits_times_signing_and_one_password_check() {
    let app = spawn_app().await;
    let limits = app.cli_json(&["bench-limits", "--seconds", "0.05"]);
    for key in [
        "rs256_sign_per_s",
        "es256_sign_per_s",
        "eddsa_sign_per_s",
        "argon2id_verify_per_s",
    ] {
        assert!(limits[key].as_f64().unwrap() > 0.0, "{key}: {limits}");
    }
    // The installation's password parameters.
    assert_eq!(limits["argon2id_params"], "m=19456,t=2,p=1");
    let text = app.cli(&["bench-limits", "--seconds", "0.05"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("RS256") && text.contains("(installation key)"),
        "{text}"
    );
    let bad = app.cli(&["bench-limits", "--seconds", "0"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--seconds"));
}

#[tokio::test]
async fn json_output_is_shaped_like_the_management_api() {
    let app = spawn_app().await;
    let api = app.api("https://api.example.com", &["--offline-access"]);
    for field in [
        "id",
        "name",
        "identifier",
        "scopes",
        "signing_alg",
        "token_lifetime",
        "token_lifetime_for_web",
        "allow_offline_access",
        "token_dialect",
    ] {
        assert!(api.get(field).is_some(), "API lacks {field}");
    }
    assert_eq!(api["allow_offline_access"], true);
    assert_eq!(api["scopes"][0]["value"], "read:x");

    let spa = app.cli_json(&[
        "apps",
        "create",
        "--name",
        "SPA",
        "--type",
        "spa",
        "--callbacks",
        "http://localhost:3000/cb",
        "--web-origins",
        "http://localhost:3000",
    ]);
    assert_eq!(spa["app_type"], "spa");
    assert_eq!(spa["token_endpoint_auth_method"], "none");
    assert!(
        spa.get("client_secret").is_none(),
        "public apps have no secret"
    );
    assert_eq!(spa["oidc_conformant"], true);
    assert_eq!(
        spa["grant_types"],
        serde_json::json!(["authorization_code", "implicit", "refresh_token"])
    );

    let m2m = app.cli_json(&[
        "apps",
        "create",
        "--name",
        "svc",
        "--type",
        "m2m",
        "--auth-method",
        "client_secret_basic",
    ]);
    let id = m2m["client_id"].as_str().unwrap();
    assert_eq!(m2m["app_type"], "non_interactive");
    assert_eq!(m2m["client_secret"].as_str().unwrap().len(), 64);
    let shown = app.cli_json(&["apps", "show", id]);
    assert!(
        shown.get("client_secret").is_none(),
        "the secret is printed once, at creation"
    );
    let legacy = app.cli_json(&[
        "apps", "create", "--name", "old", "--type", "regular", "--legacy",
    ]);
    assert_eq!(legacy["oidc_conformant"], false);

    let grant = app.cli_json(&[
        "apps",
        "grant",
        id,
        "--audience",
        "https://api.example.com",
        "--scopes",
        "read:x",
    ]);
    assert_eq!(grant["scope"], serde_json::json!(["read:x"]));
    let grants = app.cli_json(&["apps", "grants", id]);
    assert_eq!(grants.as_array().unwrap().len(), 1);
    assert_eq!(app.cli_json(&["apps", "list"]).as_array().unwrap().len(), 3);
    // The operator's API, and the tenant's own Management API.
    let apis = app.cli_json(&["apis", "list"]);
    let system: Vec<bool> = apis
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["is_system"] == true)
        .collect();
    assert_eq!(system, [true, false]);
}

#[tokio::test]
async fn user_lifecycle() {
    let app = spawn_app().await;
    let u = app.cli_json(&[
        "users",
        "create",
        "--email",
        "Ann@Example.com",
        "--password",
        "correct horse",
        "--name",
        "Ann",
        "--app-metadata",
        r#"{"plan":"pro"}"#,
    ]);
    let uid = u["user_id"].as_str().unwrap().to_owned();
    assert!(uid.starts_with("auth0|") && uid.len() == 30);
    assert_eq!(u["email"], "ann@example.com");
    assert_eq!(u["app_metadata"]["plan"], "pro");
    assert_eq!(
        u["identities"][0]["connection"],
        "Username-Password-Authentication"
    );
    assert!(
        u.get("password_hash").is_none(),
        "hashes never leave the store"
    );

    assert_eq!(app.cli_json(&["users", "block", &uid])["blocked"], true);
    assert_eq!(
        app.cli_json(&["users", "unblock", "ann@example.com"])["blocked"],
        false
    );
    let upd = app.cli_json(&[
        "users",
        "update",
        &uid,
        "--user-metadata",
        r#"{"theme":"dark"}"#,
    ]);
    assert_eq!(upd["user_metadata"]["theme"], "dark");
    assert_eq!(
        app.cli_json(&["users", "list"]).as_array().unwrap().len(),
        1
    );
    assert!(app.cli(&["users", "delete", &uid]).status.success());
    assert_eq!(
        app.cli_json(&["users", "list"]).as_array().unwrap().len(),
        0
    );
}

#[tokio::test]
async fn bad_arguments_give_one_line_and_exit_code_2() {
    let app = spawn_app().await;
    app.api("urn:api", &[]);
    app.cli_json(&[
        "users",
        "create",
        "--email",
        "a@example.com",
        "--password",
        "longenough",
    ]);
    let cases: &[&[&str]] = &[
        &["apis", "create", "--name", "x", "--identifier", "not a uri"],
        &["apis", "create", "--name", "x", "--identifier", "urn:api"],
        &[
            "apis",
            "create",
            "--name",
            "x",
            "--identifier",
            "urn:y",
            "--signing-alg",
            "RS999",
        ],
        &[
            "apis",
            "create",
            "--name",
            "x",
            "--identifier",
            "urn:y",
            "--token-lifetime",
            "0",
        ],
        &[
            "apis",
            "create",
            "--name",
            "x",
            "--identifier",
            "urn:y",
            "--token-dialect",
            "jwt",
        ],
        &["apis", "show", "urn:nope"],
        &["apps", "create", "--name", "x", "--type", "robot"],
        &[
            "apps",
            "create",
            "--name",
            "x",
            "--type",
            "spa",
            "--callbacks",
            "not a url",
        ],
        &[
            "apps",
            "create",
            "--name",
            "x",
            "--type",
            "spa",
            "--callbacks",
            "javascript:alert(1)",
        ],
        &[
            "apps",
            "create",
            "--name",
            "x",
            "--type",
            "spa",
            "--web-origins",
            "https://x.example/path",
        ],
        &[
            "apps",
            "create",
            "--name",
            "x",
            "--type",
            "m2m",
            "--grant-types",
            "magic",
        ],
        &[
            "apps",
            "create",
            "--name",
            "x",
            "--type",
            "regular",
            "--callbacks",
            "http://app.example.com/callback",
        ],
        &["apps", "show", "nope"],
        &["apps", "grant", "nope", "--audience", "urn:api"],
        &["apps", "rotate-secret", "nope"],
        &[
            "users",
            "create",
            "--email",
            "b@example.com",
            "--password",
            "longenough",
            "--app-metadata",
            "{oops",
        ],
        &[
            "users",
            "create",
            "--email",
            "b@example.com",
            "--password",
            "longenough",
            "--user-metadata",
            "[1]",
        ],
        &[
            "users",
            "create",
            "--email",
            "a@example.com",
            "--password",
            "longenough",
        ],
        &[
            "users",
            "create",
            "--email",
            "not-an-email",
            "--password",
            "longenough",
        ],
        &[
            "users",
            "create",
            "--email",
            "c@example.com",
            "--password",
            "short",
        ],
        &["users", "block", "ghost@example.com"],
        &["keys", "rotate", "--alg", "HS256"],
        &["apis", "create", "--name", "x"],
        &["no-such-command"],
    ];
    for args in cases {
        let out = app.cli(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        if args[0] != "no-such-command" {
            assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
            assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        }
    }
    // Nothing was half-created (the Management API and the one API made above).
    assert_eq!(app.cli_json(&["apis", "list"]).as_array().unwrap().len(), 2);
    assert_eq!(app.cli_json(&["apps", "list"]).as_array().unwrap().len(), 0);
    assert_eq!(
        app.cli_json(&["users", "list"]).as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn a_tenant_default_audience_set_by_the_cli_is_used_within_a_second() {
    let app = spawn_app().await;
    app.api("urn:default", &[]);
    let (id, secret) = app.granted_m2m("urn:default", "read:x");
    let without_audience = [
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    assert_eq!(app.token_form(&without_audience).await.status(), 400);

    let t = app.cli_json(&["tenant", "update", "--default-audience", "urn:default"]);
    assert_eq!(t["default_audience"], "urn:default");
    let body = ok_within_a_second(|| app.token_form(&without_audience)).await;
    let (_, claims) = verify(&app, body["access_token"].as_str().unwrap(), "urn:default").await;
    assert_eq!(claims["aud"], "urn:default");

    assert_eq!(
        app.cli(&["tenant", "update", "--default-audience", "not a uri"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        app.cli_json(&["tenant", "update", "--default-audience", ""])["default_audience"],
        ""
    );
}

#[tokio::test]
async fn a_wrong_or_missing_master_key_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let jwks_before = app.jwks().await;
    let wrong = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--data-dir")
        .arg(app.dir.path())
        .args([
            "apis",
            "create",
            "--name",
            "x",
            "--identifier",
            "urn:x",
            "--signing-alg",
            "ES256",
        ])
        .env(
            "TESSERA_MASTER_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
        .env("TESSERA_LOG", "error")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert_eq!(wrong.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("master key does not match"), "{stderr}");
    // Only the tenant's own Management API.
    assert_eq!(app.cli_json(&["apis", "list"]).as_array().unwrap().len(), 1);

    // Without master.key beside an existing database, no new key is invented.
    let key_file = app.dir.path().join("master.key");
    let saved = std::fs::read(&key_file).unwrap();
    std::fs::remove_file(&key_file).unwrap();
    let missing = app.cli(&["apis", "list"]);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("master.key is missing"), "{stderr}");
    assert!(!key_file.exists());
    std::fs::write(&key_file, saved).unwrap();

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.jwks().await,
        jwks_before,
        "the running server is unaffected"
    );
}

#[tokio::test]
async fn the_master_key_may_be_hex_or_base64() {
    let dir = tempfile::tempdir().unwrap();
    let run = |key: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(["apis", "list", "--json"])
            .env("TESSERA_MASTER_KEY", key)
            .env("TESSERA_LOG", "error")
            .env_remove("TESSERA_DATABASE_URL")
            .output()
            .unwrap()
    };
    // What `openssl rand -hex 32` prints makes the installation...
    let bytes: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(37)).collect();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let migrate = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--data-dir")
        .arg(dir.path())
        .arg("migrate")
        .env("TESSERA_MASTER_KEY", &hex)
        .env("TESSERA_LOG", "error")
        .env_remove("TESSERA_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let out = run(&hex);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ...and the same 32 bytes in base64 open it.
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &bytes);
    let out = run(&b64);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Anything else says which two forms work.
    let out = run("not a key");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("hexadecimal") && stderr.contains("base64"),
        "{stderr}"
    );
}

/// Runs the CLI with the given data folder; (exit code, stdout, stderr).
fn cli_in(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("TESSERA_LOG", "error")
        .env_remove("TESSERA_DATABASE_URL")
        .env_remove("TESSERA_MASTER_KEY")
        .env_remove("TESSERA_DATA_DIR")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_command_run_away_from_its_installation_refuses_instead_of_making_one() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("tessera-data");
    for args in [
        &["apps", "list"][..],
        &["users", "list"],
        &["tenant", "show"],
    ] {
        let (code, _, stderr) = cli_in(&elsewhere, args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("no installation in") && stderr.contains("--data-dir"),
            "{stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
    assert!(!elsewhere.exists(), "nothing was created");
    // `migrate` makes the installation; then the same command works.
    let (code, stdout, stderr) = cli_in(&elsewhere, &["migrate"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("installation ready"), "{stdout}");
    let (code, _, stderr) = cli_in(&elsewhere, &["apps", "list"]);
    assert_eq!(code, Some(0), "{stderr}");
}

#[tokio::test]
async fn the_cli_refuses_or_warns_about_likely_mistakes() {
    let app = spawn_app().await;
    let dir = app.dir.path();
    // A callback without its scheme: refused, with the likely fix.
    let (code, _, stderr) = cli_in(
        dir,
        &[
            "apps",
            "create",
            "--name",
            "x",
            "--type",
            "spa",
            "--callbacks",
            "localhost:8080/callback",
        ],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("did you mean http://localhost:8080/callback"),
        "{stderr}"
    );

    // A default audience that names no API: refused (every request without an audience
    // would fail); once the API exists, accepted.
    let (code, _, stderr) = cli_in(
        dir,
        &[
            "tenant",
            "update",
            "--default-audience",
            "https://nope.example",
        ],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no API has the identifier"), "{stderr}");
    app.api("https://api.example.com", &[]);
    let t = app.cli_json(&[
        "tenant",
        "update",
        "--default-audience",
        "https://api.example.com",
    ]);
    assert_eq!(t["default_audience"], "https://api.example.com");

    // A client grant for an app that cannot use client credentials: made, with a warning.
    let (web, _) = app.web_app(&["--grant-types", "authorization_code"]);
    let (code, _, stderr) = cli_in(
        dir,
        &[
            "apps",
            "grant",
            &web,
            "--audience",
            "https://api.example.com",
            "--scopes",
            "read:x",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("cannot use client credentials"), "{stderr}");
    let m2m = app.cli_json(&["apps", "create", "--name", "svc", "--type", "m2m"]);
    let m2m = m2m["client_id"].as_str().unwrap();
    let (_, _, stderr) = cli_in(
        dir,
        &[
            "apps",
            "grant",
            m2m,
            "--audience",
            "https://api.example.com",
            "--scopes",
            "read:x",
        ],
    );
    assert!(!stderr.contains("warning"), "{stderr}");

    // --add-logout-url and --add-callback keep what is there; --logout-urls replaces it.
    let spa = app.spa(&["--logout-urls", "https://app.example.com/bye"]);
    let shown = app.cli_json(&[
        "apps",
        "update",
        &spa,
        "--add-logout-url",
        "https://app.example.com/see-you",
        "--add-callback",
        "https://app.example.com/other",
    ]);
    assert_eq!(
        shown["allowed_logout_urls"],
        serde_json::json!([
            "https://app.example.com/bye",
            "https://app.example.com/see-you"
        ])
    );
    assert_eq!(shown["callbacks"].as_array().unwrap().len(), 2, "{shown}");
    let shown = app.cli_json(&[
        "apps",
        "update",
        &spa,
        "--logout-urls",
        "https://app.example.com/only",
    ]);
    assert_eq!(
        shown["allowed_logout_urls"],
        serde_json::json!(["https://app.example.com/only"])
    );
}

#[tokio::test]
async fn tenant_show_gives_lifetimes_with_their_units_and_help_gives_examples() {
    let app = spawn_app().await;
    let (code, stdout, stderr) = cli_in(app.dir.path(), &["tenant", "show"]);
    assert_eq!(code, Some(0), "{stderr}");
    for line in [
        "id_token_lifetime: 36000 s (10 h)",
        "session_lifetime: 720 h (30 days)",
        "idle_session_lifetime: 72 h (3 days)",
        "script_time_limit_ms: 500 ms",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    // JSON keeps Auth0's numbers.
    assert_eq!(app.cli_json(&["tenant", "show"])["session_lifetime"], 720);
    // --help: descriptions, the global options apart, one example; serve has no --json.
    let (_, help, _) = cli_in(app.dir.path(), &["apps", "grant", "--help"]);
    assert!(help.contains("The application's client_id"), "{help}");
    assert!(
        help.contains("Global options:") && help.contains("Example:\n  tessera apps grant"),
        "{help}"
    );
    let (_, help, _) = cli_in(app.dir.path(), &["serve", "--help"]);
    assert!(!help.contains("--json"), "{help}");
}
