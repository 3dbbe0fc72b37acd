//! Auth0's `password-realm` grant (`grant_type=http://auth0.com/oauth/grant-type/password-realm`
//! with `realm` = the connection), what auth0-python's `GetToken.login(…, realm=…)` and
//! auth0.js send: the password grant's rules exactly, with the connection named.

use serde_json::Value;

use crate::{
    browser::{EMAIL, PASSWORD},
    support::{TestApp, spawn_app, verify},
};

const API: &str = "https://api.example.com";
const REALM_GRANT: &str = "http://auth0.com/oauth/grant-type/password-realm";
const REALM: &str = "Username-Password-Authentication";

async fn realm_login(
    app: &TestApp,
    web: &(String, String),
    realm: &str,
    password: &str,
) -> (u16, Value) {
    let r = app
        .token_form(&[
            ("grant_type", REALM_GRANT),
            ("client_id", &web.0),
            ("client_secret", &web.1),
            ("username", EMAIL),
            ("password", password),
            ("realm", realm),
            ("audience", API),
            ("scope", "openid read:x"),
        ])
        .await;
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn setup() -> (TestApp, (String, String)) {
    let app = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    app.api(API, &[]);
    let web = app.web_app(&["--grant-types", "authorization_code,password"]);
    app.cli_json(&["tenant", "update", "--brute-force-max-attempts", "3"]);
    app.config_settled().await;
    (app, web)
}

#[tokio::test]
async fn password_realm_signs_in_like_the_password_grant() {
    let (app, web) = setup().await;
    // Success with an audience: a JWT access token for the API, and an ID token.
    let (status, body) = realm_login(&app, &web, REALM, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let (_, claims) = verify(&app, body["access_token"].as_str().unwrap(), API).await;
    assert_eq!(claims["scope"], "openid read:x");
    assert!(claims["sub"].as_str().unwrap().starts_with("auth0|"));
    assert!(body["id_token"].is_string());

    // An unknown realm names the connections that exist.
    let (status, body) = realm_login(&app, &web, "google-oauth2", PASSWORD).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    assert!(
        body["error_description"].as_str().unwrap().contains(REALM),
        "{body}"
    );
    // No realm at all.
    let r = app
        .token_form(&[
            ("grant_type", REALM_GRANT),
            ("client_id", &web.0),
            ("client_secret", &web.1),
            ("username", EMAIL),
            ("password", PASSWORD),
        ])
        .await;
    assert_eq!(r.status(), 400);

    // A wrong password.
    let (status, body) = realm_login(&app, &web, REALM, "wrong password").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );

    // A blocked user.
    app.cli(&["users", "block", EMAIL]);
    let (status, body) = realm_login(&app, &web, REALM, PASSWORD).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("blocked")
    );
    app.cli(&["users", "unblock", EMAIL]);

    // Brute-force protection: 3 failures in a row (the tenant's limit here), then 429.
    for _ in 0..3 {
        let (status, _) = realm_login(&app, &web, REALM, "wrong password").await;
        assert_eq!(status, 400);
    }
    let (status, body) = realm_login(&app, &web, REALM, PASSWORD).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("too_many_attempts")),
        "{body}"
    );
}

#[tokio::test]
async fn password_realm_needs_the_password_grant_on_the_app() {
    let app = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    app.api(API, &[]);
    let web = app.web_app(&[]);
    app.config_settled().await;
    let (status, body) = realm_login(&app, &web, REALM, PASSWORD).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("unauthorized_client")),
        "{body}"
    );
}
