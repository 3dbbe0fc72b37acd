//! Client authentication as client libraries send it (RFC 6749 §2.3.1): an application with a
//! secret may send it by HTTP Basic or in the body, whatever its registered method says, at
//! `/oauth/token` (client credentials and code exchange) and `/oauth/revoke`; two methods at
//! once, a secret for a public application, a missing or wrong secret are `invalid_client`
//! (401); `--strict-auth-method` holds an application to its registered method.

use base64::Engine;
use serde_json::Value;

use crate::{
    browser::{Browser, CB, EMAIL, PASSWORD},
    support::{TestApp, spawn_app},
};

const API: &str = "https://api.example.com";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Way {
    /// `client_secret` in the body.
    Post,
    /// `Authorization: Basic`.
    Basic,
    /// Both at once.
    Both,
    /// `client_id` alone.
    NoSecret,
}

async fn send(
    app: &TestApp,
    path: &str,
    id: &str,
    secret: &str,
    way: Way,
    params: &[(&str, &str)],
) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = params.to_vec();
    let mut req = app.http.post(app.url(path));
    if matches!(way, Way::Basic | Way::Both) {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        req = req.header("authorization", format!("Basic {basic}"));
    } else {
        form.push(("client_id", id));
    }
    if matches!(way, Way::Post | Way::Both) {
        form.push(("client_secret", secret));
    }
    req.form(&form).send().await.unwrap()
}

/// A code for `web` from a signed-in browser.
async fn code_for(app: &TestApp, web: &str) -> String {
    let b = Browser::new(app);
    let params = [
        ("client_id", web),
        ("redirect_uri", CB),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "s"),
    ];
    let cb = b.login(&params, EMAIL, PASSWORD).await;
    cb.params
        .get("code")
        .unwrap_or_else(|| panic!("no code: {:?}", cb.params))
        .clone()
}

async fn status_and_error(r: reqwest::Response) -> (u16, String, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or_default();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// A regular web app and an m2m app registered with `method`: (id, secret) each.
fn apps(app: &TestApp, method: &str) -> ((String, String), (String, String)) {
    let web = app.web_app(&["--auth-method", method]);
    let m2m = app.cli_json(&[
        "apps",
        "create",
        "--name",
        "svc",
        "--type",
        "m2m",
        "--auth-method",
        method,
    ]);
    let m2m = (
        m2m["client_id"].as_str().unwrap().to_owned(),
        m2m["client_secret"].as_str().unwrap().to_owned(),
    );
    app.cli_json(&[
        "apps",
        "grant",
        &m2m.0,
        "--audience",
        API,
        "--scopes",
        "read:x",
    ]);
    (web, m2m)
}

#[tokio::test]
async fn an_app_with_a_secret_may_send_it_either_way_whatever_its_registered_method() {
    let app = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    app.api(API, &[]);
    for method in ["client_secret_post", "client_secret_basic"] {
        let (web, m2m) = apps(&app, method);
        app.config_settled().await;
        for way in [Way::Post, Way::Basic] {
            let what = format!("registered {method}, sent {way:?}");
            let cc = [("grant_type", "client_credentials"), ("audience", API)];
            let r = send(&app, "oauth/token", &m2m.0, &m2m.1, way, &cc).await;
            assert_eq!(r.status(), 200, "client credentials, {what}");

            let code = code_for(&app, &web.0).await;
            let exchange = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", CB),
            ];
            let r = send(&app, "oauth/token", &web.0, &web.1, way, &exchange).await;
            assert_eq!(r.status(), 200, "code exchange, {what}");
            let tokens: Value = r.json().await.unwrap();
            let at = tokens["access_token"].as_str().unwrap();

            let revoke = [("token", at)];
            let r = send(&app, "oauth/revoke", &web.0, &web.1, way, &revoke).await;
            assert_eq!(r.status(), 200, "revocation, {what}");
        }
        // What is refused, at both endpoints: 401 invalid_client.
        let cc = [("grant_type", "client_credentials"), ("audience", API)];
        for (path, params) in [
            ("oauth/token", &cc[..]),
            ("oauth/revoke", &[("token", "x")][..]),
        ] {
            for (way, secret, why) in [
                (Way::Both, m2m.1.as_str(), "two methods at once"),
                (Way::NoSecret, m2m.1.as_str(), "no secret"),
                (Way::Post, "wrong", "a wrong secret in the body"),
                (Way::Basic, "wrong", "a wrong secret by Basic"),
            ] {
                let r = send(&app, path, &m2m.0, secret, way, params).await;
                let (status, error, _) = status_and_error(r).await;
                assert_eq!(
                    (status, error.as_str()),
                    (401, "invalid_client"),
                    "{path}, registered {method}: {why}"
                );
            }
        }
    }
    // A public application (auth method none) sending a secret.
    let spa = app.spa(&[]);
    app.config_settled().await;
    for way in [Way::Post, Way::Basic] {
        for (path, params) in [
            (
                "oauth/token",
                &[("grant_type", "refresh_token"), ("refresh_token", "x")][..],
            ),
            ("oauth/revoke", &[("token", "x")][..]),
        ] {
            let r = send(&app, path, &spa, "a-secret", way, params).await;
            let (status, error, _) = status_and_error(r).await;
            assert_eq!(
                (status, error.as_str()),
                (401, "invalid_client"),
                "{path} {way:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_strict_app_accepts_only_its_registered_method() {
    let app = spawn_app().await;
    app.api(API, &[]);
    for (method, other) in [
        ("client_secret_post", Way::Basic),
        ("client_secret_basic", Way::Post),
    ] {
        let (_, m2m) = apps(&app, method);
        let shown = app.cli_json(&["apps", "update", &m2m.0, "--strict-auth-method"]);
        assert_eq!(shown["strict_auth_method"], true);
        app.config_settled().await;
        let cc = [("grant_type", "client_credentials"), ("audience", API)];
        let registered = if other == Way::Basic {
            Way::Post
        } else {
            Way::Basic
        };
        let r = send(&app, "oauth/token", &m2m.0, &m2m.1, registered, &cc).await;
        assert_eq!(r.status(), 200, "{method}");
        for (path, params) in [
            ("oauth/token", &cc[..]),
            ("oauth/revoke", &[("token", "x")][..]),
        ] {
            let r = send(&app, path, &m2m.0, &m2m.1, other, params).await;
            let (status, error, description) = status_and_error(r).await;
            assert_eq!(
                (status, error.as_str()),
                (401, "invalid_client"),
                "{path} {method}"
            );
            assert!(description.contains(method), "{path}: {description}");
        }
        // Off again: either way.
        app.cli_json(&["apps", "update", &m2m.0, "--strict-auth-method", "false"]);
        app.config_settled().await;
        let r = send(&app, "oauth/token", &m2m.0, &m2m.1, other, &cc).await;
        assert_eq!(r.status(), 200, "{method}, not strict");
    }
}
