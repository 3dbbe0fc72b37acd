//! Role-based access control through the CLI and real logins: with `enforce_policies`, a user's
//! access token carries the requested scopes the user holds; the `_authz` dialects add the
//! `permissions` array; a role change shows at the next refresh.

use serde_json::Value;

use crate::{
    browser::{Browser, CB, CHALLENGE, EMAIL, PASSWORD, VERIFIER},
    support::{TestApp, spawn_app, verify},
};

const API: &str = "https://api.example.com";

/// Signs in with the code flow and returns the token response.
async fn login(app: &TestApp, spa: &str, scope: &str) -> Value {
    let b = Browser::new(app);
    let cb = b
        .login(
            &[
                ("client_id", spa),
                ("redirect_uri", CB),
                ("response_type", "code"),
                ("scope", scope),
                ("audience", API),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ],
            EMAIL,
            PASSWORD,
        )
        .await;
    let r = app
        .token_form(&[
            ("grant_type", "authorization_code"),
            ("client_id", spa),
            ("code", &cb.params["code"]),
            ("redirect_uri", CB),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn enforced_policies_keep_only_the_users_permissions() {
    let app = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    let spa = app.spa(&[]);
    app.api(
        API,
        &[
            "--enforce-policies",
            "--token-dialect",
            "access_token_authz",
            "--offline-access",
        ],
    );
    app.cli_json(&["roles", "create", "--name", "reader"]);
    app.cli_json(&[
        "roles",
        "add-permissions",
        "reader",
        "--api",
        API,
        "--permissions",
        "read:x",
    ]);
    let roles = app.cli_json(&["users", "assign-roles", EMAIL, "reader"]);
    assert_eq!(roles[0]["name"], "reader");
    let perms = app.cli_json(&["users", "permissions", EMAIL]);
    assert_eq!(perms[0]["permission_name"], "read:x");

    let t = login(&app, &spa, "openid read:x write:x offline_access").await;
    let (_, claims) = verify(&app, t["access_token"].as_str().unwrap(), API).await;
    assert_eq!(
        claims["scope"], "openid read:x offline_access",
        "write:x is not held"
    );
    assert_eq!(claims["permissions"], serde_json::json!(["read:x"]));
    assert_eq!(t["scope"], "openid read:x offline_access");

    // The role goes: the next refresh has neither the scope nor the permission.
    app.cli_json(&["users", "remove-roles", EMAIL, "reader"]);
    let r = app
        .token_form(&[
            ("grant_type", "refresh_token"),
            ("client_id", &spa),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ])
        .await;
    let t2: Value = r.json().await.unwrap();
    let (_, claims) = verify(&app, t2["access_token"].as_str().unwrap(), API).await;
    assert_eq!(claims["scope"], "openid offline_access");
    assert_eq!(claims["permissions"], serde_json::json!([]));
}

#[tokio::test]
async fn without_enforcement_scopes_are_not_filtered_and_dialects_differ() {
    let app = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    let spa = app.spa(&[]);
    app.api(API, &["--token-dialect", "rfc9068_profile_authz"]);
    app.cli_json(&["roles", "create", "--name", "writer"]);
    app.cli_json(&[
        "roles",
        "add-permissions",
        "writer",
        "--api",
        API,
        "--permissions",
        "write:x",
    ]);
    app.cli_json(&["users", "assign-roles", EMAIL, "writer"]);
    let t = login(&app, &spa, "read:x").await;
    let (header, claims) = verify(&app, t["access_token"].as_str().unwrap(), API).await;
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(
        claims["scope"], "read:x",
        "no enforcement: the requested API scopes"
    );
    assert_eq!(claims["permissions"], serde_json::json!(["write:x"]));
    assert!(claims["client_id"].is_string() && claims["jti"].is_string());

    // The plain dialect has no permissions claim.
    app.cli_json(&["apis", "update", API, "--token-dialect", "access_token"]);
    app.config_settled().await;
    let t = login(&app, &spa, "read:x").await;
    let (_, claims) = verify(&app, t["access_token"].as_str().unwrap(), API).await;
    assert!(claims.get("permissions").is_none());
}

#[tokio::test]
async fn role_commands_refuse_what_makes_no_sense() {
    let app = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    app.api(API, &[]);
    app.cli_json(&["roles", "create", "--name", "admin"]);
    for (args, needle) in [
        (vec!["roles", "create", "--name", "admin"], "already exists"),
        (
            vec![
                "roles",
                "add-permissions",
                "admin",
                "--api",
                API,
                "--permissions",
                "delete:everything",
            ],
            "has no scope 'delete:everything'",
        ),
        (
            vec!["users", "assign-roles", EMAIL, "ghost"],
            "no role with id or name 'ghost'",
        ),
        (
            vec![
                "roles",
                "add-permissions",
                "admin",
                "--api",
                "https://nope",
                "--permissions",
                "read:x",
            ],
            "nope",
        ),
    ] {
        let out = app.cli(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // Deleting a role takes it off its users.
    app.cli_json(&["users", "assign-roles", EMAIL, "admin"]);
    assert!(app.cli(&["roles", "delete", "admin"]).status.success());
    assert_eq!(
        app.cli_json(&["users", "roles", EMAIL]),
        serde_json::json!([])
    );
}

#[tokio::test]
async fn a_scope_the_api_drops_is_no_permission_any_more() {
    let app = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    let spa = app.spa(&[]);
    app.api(
        API,
        &[
            "--enforce-policies",
            "--token-dialect",
            "access_token_authz",
        ],
    );
    app.cli_json(&["roles", "create", "--name", "rw"]);
    app.cli_json(&[
        "roles",
        "add-permissions",
        "rw",
        "--api",
        API,
        "--permissions",
        "read:x,write:x",
    ]);
    app.cli_json(&["users", "assign-roles", EMAIL, "rw"]);
    app.cli_json(&["apis", "update", API, "--scopes", "write:x"]);
    app.config_settled().await;
    let t = login(&app, &spa, "read:x write:x").await;
    let (_, claims) = verify(&app, t["access_token"].as_str().unwrap(), API).await;
    assert_eq!(claims["scope"], "write:x");
    assert_eq!(claims["permissions"], serde_json::json!(["write:x"]));
}
