//! The token endpoint's user grants and their attacks: code reuse, PKCE, redirect URI binding,
//! refresh-token rotation and reuse, revocation, the password grant; and `/authorize`'s refusals
//! of modified redirect URIs.

use serde_json::Value;

use crate::{
    browser::{Browser, CB, CHALLENGE, EMAIL, PASSWORD, VERIFIER, callback, location},
    support::{TestApp, spawn_app, verify},
};

const API: &str = "https://api.example.com";

/// Signs in through a browser and returns a fresh code for `client_id`.
async fn code_for(app: &TestApp, b: &Browser, client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut p = vec![
        ("client_id", client_id),
        ("redirect_uri", CB),
        ("response_type", "code"),
        ("state", "s"),
    ];
    p.extend_from_slice(extra);
    let _ = app;
    let r = b.authorize(&p).await;
    let loc = location(&r);
    let cb = if loc.starts_with("/u/login") {
        let page = b.get(&loc).await.text().await.unwrap();
        callback(b.post_login(&page, EMAIL, PASSWORD).await).await
    } else {
        callback(r).await
    };
    cb.params
        .get("code")
        .unwrap_or_else(|| panic!("no code: {:?}", cb.params))
        .clone()
}

const PKCE: [(&str, &str); 2] = [
    ("code_challenge", CHALLENGE),
    ("code_challenge_method", "S256"),
];

async fn redeem(
    app: &TestApp,
    client_id: &str,
    code: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut p = vec![
        ("grant_type", "authorization_code"),
        ("client_id", client_id),
        ("code", code),
        ("redirect_uri", CB),
    ];
    p.extend_from_slice(extra);
    app.token_form(&p).await
}

async fn error_of(r: reqwest::Response) -> (u16, String, String) {
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    (
        status,
        v["error"].as_str().unwrap().to_owned(),
        v["error_description"].as_str().unwrap_or("").to_owned(),
    )
}

async fn setup() -> (TestApp, String, Browser) {
    let app = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    let spa = app.spa(&[]);
    let b = Browser::new(&app);
    (app, spa, b)
}

async fn refresh(app: &TestApp, client_id: &str, rt: &str) -> reqwest::Response {
    app.token_form(&[
        ("grant_type", "refresh_token"),
        ("client_id", client_id),
        ("refresh_token", rt),
    ])
    .await
}

/// A refresh token for `spa` and the API, through a code + PKCE login with `scope`.
async fn refresh_token_for(app: &TestApp, b: &Browser, spa: &str, scope: &str) -> String {
    let mut extra = PKCE.to_vec();
    extra.extend([("scope", scope), ("audience", API)]);
    let code = code_for(app, b, spa, &extra).await;
    let t: Value = redeem(app, spa, &code, &[("code_verifier", VERIFIER)])
        .await
        .json()
        .await
        .unwrap();
    t["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned()
}

async fn userinfo_status(app: &TestApp, token: &str) -> u16 {
    app.http
        .get(app.url("userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_reused_code_is_invalid_grant_and_revokes_what_the_first_redemption_gave() {
    let (app, spa, b) = setup().await;
    let mut extra = PKCE.to_vec();
    extra.push(("scope", "openid offline_access"));
    let code = code_for(&app, &b, &spa, &extra).await;
    let r = redeem(&app, &spa, &code, &[("code_verifier", VERIFIER)]).await;
    assert_eq!(r.status(), 200);
    let first: Value = r.json().await.unwrap();
    let at = first["access_token"].as_str().unwrap();
    let rt = first["refresh_token"]
        .as_str()
        .expect("offline_access gives a refresh token");
    assert_eq!(userinfo_status(&app, at).await, 200);

    let (status, err, desc) =
        error_of(redeem(&app, &spa, &code, &[("code_verifier", VERIFIER)]).await).await;
    assert_eq!((status, err.as_str()), (400, "invalid_grant"));
    assert!(desc.contains("already been used"), "{desc}");
    assert_eq!(
        userinfo_status(&app, at).await,
        401,
        "the first access token is revoked"
    );
    let (_, err, _) = error_of(refresh(&app, &spa, rt).await).await;
    assert_eq!(err, "invalid_grant", "and so is the refresh token");
}

#[tokio::test]
async fn pkce_is_enforced_at_the_token_endpoint() {
    let (app, spa, b) = setup().await;
    // Wrong verifier.
    let code = code_for(&app, &b, &spa, &PKCE).await;
    let wrong = "x".repeat(43);
    let (_, err, desc) =
        error_of(redeem(&app, &spa, &code, &[("code_verifier", &wrong)]).await).await;
    assert_eq!(err, "invalid_grant");
    assert!(desc.contains("code_verifier"), "{desc}");
    // No verifier.
    let code = code_for(&app, &b, &spa, &PKCE).await;
    let (_, err, _) = error_of(redeem(&app, &spa, &code, &[]).await).await;
    assert_eq!(err, "invalid_grant");
    // A verifier for a code that had no challenge (a confidential app may skip PKCE).
    let (web, secret) = app.web_app(&[]);
    let code = code_for(&app, &b, &web, &[]).await;
    let (_, err, desc) = error_of(
        redeem(
            &app,
            &web,
            &code,
            &[("client_secret", &secret), ("code_verifier", VERIFIER)],
        )
        .await,
    )
    .await;
    assert_eq!(err, "invalid_grant");
    assert!(desc.contains("no code_challenge"), "{desc}");
    // The same app without a verifier, with its secret: fine.
    let code = code_for(&app, &b, &web, &[]).await;
    let r = redeem(&app, &web, &code, &[("client_secret", &secret)]).await;
    assert_eq!(r.status(), 200);
    // Without its secret: invalid_client.
    let code = code_for(&app, &b, &web, &[]).await;
    let (status, err, _) = error_of(redeem(&app, &web, &code, &[]).await).await;
    assert_eq!((status, err.as_str()), (401, "invalid_client"));
    // A regular web app that authenticates with nothing is public: PKCE is required.
    let public_web = app.cli_json(&[
        "apps",
        "create",
        "--name",
        "No secret",
        "--type",
        "regular",
        "--callbacks",
        CB,
        "--auth-method",
        "none",
        "--grant-types",
        "authorization_code",
    ])["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cb = callback(
        b.authorize(&[
            ("client_id", public_web.as_str()),
            ("redirect_uri", CB),
            ("response_type", "code"),
        ])
        .await,
    )
    .await;
    assert_eq!(cb.params["error"], "invalid_request");
    assert!(cb.params["error_description"].contains("PKCE"));
}

#[tokio::test]
async fn a_code_is_bound_to_its_client_and_redirect_uri() {
    let (app, spa, b) = setup().await;
    let other = app.spa(&[
        "--callbacks",
        &format!("{CB},https://app.example.com/other"),
    ]);
    let code = code_for(&app, &b, &spa, &PKCE).await;
    let (_, err, _) =
        error_of(redeem(&app, &other, &code, &[("code_verifier", VERIFIER)]).await).await;
    assert_eq!(err, "invalid_grant", "another client");
    let code = code_for(&app, &b, &spa, &PKCE).await;
    let r = app
        .token_form(&[
            ("grant_type", "authorization_code"),
            ("client_id", &spa),
            ("code", &code),
            ("redirect_uri", "https://app.example.com/other"),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_eq!(error_of(r).await.1, "invalid_grant", "another redirect_uri");
    let r = redeem(&app, &spa, "not-a-code", &[("code_verifier", VERIFIER)]).await;
    assert_eq!(error_of(r).await.1, "invalid_grant");
}

#[tokio::test]
async fn a_modified_redirect_uri_gets_an_error_page_never_a_redirect() {
    let (_app, spa, b) = setup().await;
    for bad in [
        "https://app.example.com/callback/",
        "https://app.example.com/callback/extra",
        "https://app.example.com/callback?x=1",
        "https://app.example.com:8443/callback",
        "http://app.example.com/callback",
        "https://evil.example.com/callback",
    ] {
        let r = b
            .authorize(&[
                ("client_id", spa.as_str()),
                ("redirect_uri", bad),
                ("response_type", "token"),
            ])
            .await;
        assert_eq!(r.status(), 400, "{bad}");
        assert!(location(&r).is_empty(), "{bad}: never redirected");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(r.text().await.unwrap().contains("callback URLs"), "{bad}");
    }
    let r = b
        .authorize(&[
            ("client_id", "unknown"),
            ("redirect_uri", CB),
            ("response_type", "token"),
        ])
        .await;
    assert_eq!(r.status(), 400);
    assert!(location(&r).is_empty());
}

#[tokio::test]
async fn an_id_token_from_the_front_channel_needs_a_nonce() {
    let (app, spa, b) = setup().await;
    let _ = app;
    for rt in ["id_token", "id_token token", "code id_token"] {
        let cb = callback(
            b.authorize(&[
                ("client_id", spa.as_str()),
                ("redirect_uri", CB),
                ("response_type", rt),
                ("scope", "openid"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ])
            .await,
        )
        .await;
        assert_eq!(cb.params["error"], "invalid_request", "{rt}");
        assert!(cb.params["error_description"].contains("nonce"), "{rt}");
    }
}

#[tokio::test]
async fn hybrid_flows_give_c_hash_and_the_code_still_redeems() {
    let (app, spa, b) = setup().await;
    app.api(API, &["--offline-access"]);
    let p = [
        ("client_id", spa.as_str()),
        ("redirect_uri", CB),
        ("response_type", "code id_token token"),
        ("scope", "openid read:x"),
        ("audience", API),
        ("nonce", "n-h"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let cb = b.login(&p, EMAIL, PASSWORD).await;
    let (_, id) = verify(&app, &cb.params["id_token"], &spa).await;
    assert!(id["c_hash"].is_string() && id["at_hash"].is_string());
    let (_, at) = verify(&app, &cb.params["access_token"], API).await;
    assert_eq!(
        at["exp"].as_i64().unwrap() - at["iat"].as_i64().unwrap(),
        7200,
        "token_lifetime_for_web"
    );
    let r = redeem(
        &app,
        &spa,
        &cb.params["code"],
        &[("code_verifier", VERIFIER)],
    )
    .await;
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    assert_eq!(
        t["expires_in"], 86400,
        "the back channel gets the API's token_lifetime"
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let (app, spa, b) = setup().await;
    app.api(API, &["--offline-access"]);
    let rt1 = refresh_token_for(&app, &b, &spa, "openid read:x write:x offline_access").await;

    let refresh = |rt: String, scope: Option<&'static str>| {
        let app = &app;
        let spa = spa.clone();
        async move {
            let mut p = vec![
                ("grant_type", "refresh_token"),
                ("client_id", spa.as_str()),
                ("refresh_token", rt.as_str()),
            ];
            if let Some(s) = scope {
                p.push(("scope", s));
            }
            app.token_form(&p).await
        }
    };
    // Rotation, with a narrowed scope.
    let r = refresh(rt1.clone(), Some("openid read:x")).await;
    assert_eq!(r.status(), 200);
    let t2: Value = r.json().await.unwrap();
    let rt2 = t2["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2);
    let (_, at) = verify(&app, t2["access_token"].as_str().unwrap(), API).await;
    assert_eq!(at["scope"], "openid read:x");
    assert_eq!(t2["scope"], "openid read:x");
    assert!(t2["id_token"].is_string());
    // Widening is refused, and the refusal does not use the token up.
    let (_, err, _) = error_of(refresh(rt2.clone(), Some("openid admin")).await).await;
    assert_eq!(err, "invalid_scope");
    // The rotated refresh token still carries the whole grant (RFC 6749 §6).
    let r = refresh(rt2, None).await;
    assert_eq!(r.status(), 200);
    let t3: Value = r.json().await.unwrap();
    assert_eq!(t3["scope"], "openid read:x write:x offline_access");
    let rt3 = t3["refresh_token"].as_str().unwrap().to_owned();

    // Reusing rt1 revokes the family: the newest token stops working too.
    let (_, err, desc) = error_of(refresh(rt1, None).await).await;
    assert_eq!(err, "invalid_grant");
    assert!(desc.contains("already been used"), "{desc}");
    let (_, err, _) = error_of(refresh(rt3, None).await).await;
    assert_eq!(err, "invalid_grant", "the whole family is revoked");
}

#[tokio::test]
async fn refresh_tokens_need_an_api_that_allows_offline_access() {
    let (app, spa, b) = setup().await;
    app.api(API, &[]);
    let mut extra = PKCE.to_vec();
    extra.extend([("scope", "openid offline_access"), ("audience", API)]);
    let code = code_for(&app, &b, &spa, &extra).await;
    let r = redeem(&app, &spa, &code, &[("code_verifier", VERIFIER)]).await;
    // The response says why: offline_access is not dropped silently.
    let why = r.headers()["tessera-refresh-token"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        why.starts_with("none; ") && why.contains(API) && why.contains("--offline-access"),
        "{why}"
    );
    let t: Value = r.json().await.unwrap();
    assert!(t.get("refresh_token").is_none(), "{t}");
    assert_eq!(t["scope"], "openid");
    // Once the API allows it, a refresh token, and no such header.
    app.cli_json(&["apis", "update", API, "--offline-access"]);
    app.config_settled().await;
    let code = code_for(&app, &b, &spa, &extra).await;
    let r = redeem(&app, &spa, &code, &[("code_verifier", VERIFIER)]).await;
    assert!(r.headers().get("tessera-refresh-token").is_none());
    let t: Value = r.json().await.unwrap();
    assert!(t["refresh_token"].is_string(), "{t}");
}

#[tokio::test]
async fn revocation_ends_refresh_tokens_and_opaque_access_tokens() {
    let (app, spa, b) = setup().await;
    let mut extra = PKCE.to_vec();
    extra.push(("scope", "openid offline_access"));
    let code = code_for(&app, &b, &spa, &extra).await;
    let t: Value = redeem(&app, &spa, &code, &[("code_verifier", VERIFIER)])
        .await
        .json()
        .await
        .unwrap();
    let at = t["access_token"].as_str().unwrap();
    let rt = t["refresh_token"].as_str().unwrap();
    let revoke = |token: &str| {
        let body =
            serde_urlencoded::to_string([("client_id", spa.as_str()), ("token", token)]).unwrap();
        app.http
            .post(app.url("oauth/revoke"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    assert_eq!(
        revoke("unknown-token").await.unwrap().status(),
        200,
        "RFC 7009 §2.2"
    );
    assert_eq!(revoke(rt).await.unwrap().status(), 200);
    let (_, err, _) = error_of(refresh(&app, &spa, rt).await).await;
    assert_eq!(err, "invalid_grant");
    assert_eq!(
        userinfo_status(&app, at).await,
        401,
        "the grant's access token goes too"
    );

    // An opaque access token alone.
    let mut extra = PKCE.to_vec();
    extra.push(("scope", "openid"));
    let code = code_for(&app, &b, &spa, &extra).await;
    let t: Value = redeem(&app, &spa, &code, &[("code_verifier", VERIFIER)])
        .await
        .json()
        .await
        .unwrap();
    let at = t["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&app, at).await, 200);
    // POST /userinfo with the token in the body (RFC 6750 §2.2) works too.
    let r = app
        .http
        .post(app.url("userinfo"))
        .form(&[("access_token", at)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.json::<Value>().await.unwrap()["sub"].is_string());
    assert_eq!(revoke(at).await.unwrap().status(), 200);
    let r = app
        .http
        .get(app.url("userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""),
        "{challenge}"
    );
}

#[tokio::test]
async fn the_password_grant_is_off_unless_the_app_enables_it() {
    let (app, _, _) = setup().await;
    app.api(API, &[]);
    let (web, secret) = app.web_app(&[]);
    let ask = |client: String, secret: String, password: &'static str| {
        let app = &app;
        async move {
            app.token_form(&[
                ("grant_type", "password"),
                ("client_id", &client),
                ("client_secret", &secret),
                ("username", EMAIL),
                ("password", password),
                ("audience", API),
                ("scope", "openid read:x"),
            ])
            .await
        }
    };
    let (status, err, _) = error_of(ask(web.clone(), secret.clone(), PASSWORD).await).await;
    assert_eq!((status, err.as_str()), (403, "unauthorized_client"));
    app.cli_json(&[
        "apps",
        "update",
        &web,
        "--grant-types",
        "authorization_code,password",
    ]);
    app.config_settled().await;
    let r = ask(web.clone(), secret.clone(), PASSWORD).await;
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    let (_, at) = verify(&app, t["access_token"].as_str().unwrap(), API).await;
    assert_eq!(at["scope"], "openid read:x");
    assert!(t["id_token"].is_string());
    let (_, err, desc) = error_of(ask(web, secret, "wrong password").await).await;
    assert_eq!(err, "invalid_grant");
    assert_eq!(desc, "Wrong email or password.");
}

#[tokio::test]
async fn userinfo_refuses_missing_malformed_and_foreign_tokens() {
    let (app, _, _) = setup().await;
    let r = app.http.get(app.url("userinfo")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    for token in ["nope", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."] {
        assert_eq!(userinfo_status(&app, token).await, 401, "{token}");
    }
    // An opaque token issued without openid: 403 insufficient_scope (RFC 6750 §3.1).
    let spa = app.spa(&[]);
    let b = Browser::new(&app);
    let code = code_for(&app, &b, &spa, &PKCE).await;
    let t: Value = redeem(&app, &spa, &code, &[("code_verifier", VERIFIER)])
        .await
        .json()
        .await
        .unwrap();
    let r = app
        .http
        .get(app.url("userinfo"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
    // A JWT for an HS256 API, even with the userinfo audience, is not accepted: the API's owner
    // holds that secret.
    app.api("https://hs.example.com", &["--signing-alg", "HS256"]);
    let mut extra = PKCE.to_vec();
    extra.extend([("scope", "openid"), ("audience", "https://hs.example.com")]);
    let code = code_for(&app, &b, &spa, &extra).await;
    let t: Value = redeem(&app, &spa, &code, &[("code_verifier", VERIFIER)])
        .await
        .json()
        .await
        .unwrap();
    let at = t["access_token"].as_str().unwrap();
    assert_eq!(at.matches('.').count(), 2, "a JWT");
    assert_eq!(userinfo_status(&app, at).await, 401);
    // An m2m JWT for an API (no userinfo audience) is refused.
    app.api(API, &[]);
    let (id, secret) = app.granted_m2m(API, "read:x");
    let t = app.cc_token(&id, &secret, API).await;
    assert_eq!(
        userinfo_status(&app, t["access_token"].as_str().unwrap()).await,
        401
    );
}

#[tokio::test]
async fn a_refresh_token_is_bound_to_its_client_and_a_block_ends_it() {
    let (app, spa, b) = setup().await;
    let other = app.spa(&[]);
    app.api(API, &["--offline-access"]);
    let rt = refresh_token_for(&app, &b, &spa, "openid offline_access").await;
    // Another application cannot use it (RFC 6749 §6, RFC 9700 §4.14).
    let (_, err, _) = error_of(refresh(&app, &other, &rt).await).await;
    assert_eq!(err, "invalid_grant");
    // A block ends the refresh token for good: unblocking does not bring it back.
    app.cli(&["users", "block", EMAIL]);
    let (_, err, _) = error_of(refresh(&app, &spa, &rt).await).await;
    assert_eq!(err, "invalid_grant");
    app.cli(&["users", "unblock", EMAIL]);
    let (_, err, _) = error_of(refresh(&app, &spa, &rt).await).await;
    assert_eq!(err, "invalid_grant");
}
