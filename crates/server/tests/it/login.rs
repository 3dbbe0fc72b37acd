//! The hosted login and the tenant session: wrong passwords, blocked users, CSRF, single
//! sign-on, `prompt=none|login`, `max_age`, logout.

use crate::{
    browser::{Browser, CB, CHALLENGE, EMAIL, PASSWORD, callback, hidden, location},
    support::{TestApp, spawn_app, verify},
};

async fn setup() -> (TestApp, String) {
    let app = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    let spa = app.spa(&["--logout-urls", "https://app.example.com/bye"]);
    (app, spa)
}

fn implicit(client_id: &str) -> Vec<(&str, &str)> {
    vec![
        ("client_id", client_id),
        ("redirect_uri", CB),
        ("response_type", "id_token token"),
        ("scope", "openid profile email"),
        ("nonce", "n-1"),
        ("state", "s-1"),
    ]
}

fn with<'a>(
    mut p: Vec<(&'a str, &'a str)>,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    p.extend_from_slice(extra);
    p
}

#[tokio::test]
async fn the_login_page_is_an_accessible_form_naming_the_app() {
    let (app, spa) = setup().await;
    let b = Browser::new(&app);
    let (_, html) = b
        .to_login_page(&with(implicit(&spa), &[("login_hint", "ann@example.com")]))
        .await;
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("My SPA"));
    assert!(html.contains("<label for=\"username\">") && html.contains("<label for=\"password\">"));
    assert!(
        html.contains("name=\"username\"") && html.contains("autocomplete=\"current-password\"")
    );
    assert!(hidden(&html, "csrf").is_some_and(|c| c.len() >= 32));
    assert!(
        html.contains("value=\"ann@example.com\""),
        "login_hint prefills the email"
    );
}

#[tokio::test]
async fn a_wrong_password_shows_a_readable_error_and_the_form_again() {
    let (app, spa) = setup().await;
    let b = Browser::new(&app);
    let (_, html) = b.to_login_page(&implicit(&spa)).await;
    let r = b.post_login(&html, EMAIL, "wrong password").await;
    assert_eq!(r.status(), 401);
    let page = r.text().await.unwrap();
    assert!(page.contains("role=\"alert\"") && page.contains("Wrong email or password."));
    // Unknown emails get the same words.
    let r = b.post_login(&page, "nobody@example.com", PASSWORD).await;
    assert!(r.text().await.unwrap().contains("Wrong email or password."));
    // The transaction survives a wrong password: the right one still works.
    let cb = callback(b.post_login(&page, EMAIL, PASSWORD).await).await;
    assert!(cb.params.contains_key("access_token"), "{:?}", cb.params);
}

#[tokio::test]
async fn blocked_users_cannot_sign_in() {
    let (app, spa) = setup().await;
    app.cli(&["users", "block", EMAIL]);
    let b = Browser::new(&app);
    let (_, html) = b.to_login_page(&implicit(&spa)).await;
    let r = b.post_login(&html, EMAIL, PASSWORD).await;
    assert_eq!(r.status(), 403);
    assert!(location(&r).is_empty());
    assert!(r.text().await.unwrap().contains("blocked"));
}

#[tokio::test]
async fn a_login_post_without_its_csrf_token_or_cookie_is_rejected() {
    let (app, spa) = setup().await;
    let b = Browser::new(&app);
    let (_, html) = b.to_login_page(&implicit(&spa)).await;
    let state = hidden(&html, "state").unwrap();
    let post = |http: &reqwest::Client, form: Vec<(&'static str, String)>| {
        http.post(b.url("u/login")).form(&form).send()
    };
    // No csrf field.
    let r = post(
        &b.http,
        vec![
            ("state", state.clone()),
            ("username", EMAIL.into()),
            ("password", PASSWORD.into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    // The right token from another browser (no CSRF cookie): login CSRF.
    let other = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = post(
        &other,
        vec![
            ("state", state.clone()),
            ("csrf", hidden(&html, "csrf").unwrap()),
            ("username", EMAIL.into()),
            ("password", PASSWORD.into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.headers().get("set-cookie").is_none(),
        "no session was created"
    );
}

#[tokio::test]
async fn the_session_cookie_signs_in_a_second_app_silently_and_prompt_none_works() {
    let (app, spa) = setup().await;
    let other = app.spa(&[]);
    let b = Browser::new(&app);

    // prompt=none before any login: login_required back to the app.
    let cb = callback(
        b.authorize(&with(implicit(&spa), &[("prompt", "none")]))
            .await,
    )
    .await;
    assert_eq!(cb.params["error"], "login_required");
    assert_eq!(cb.params["state"], "s-1");

    let (_, html) = b.to_login_page(&implicit(&spa)).await;
    let r = b.post_login(&html, EMAIL, PASSWORD).await;
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("tessera_session="))
        .expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "http issuer: no Secure flag");
    let first = callback(r).await;
    let (_, first_id) = verify(&app, &first.params["id_token"], &spa).await;

    // The second app: no login page, same session, same auth_time.
    for p in [
        implicit(&other),
        with(implicit(&other), &[("prompt", "none")]),
    ] {
        let cb = callback(b.authorize(&p).await).await;
        assert!(cb.params.contains_key("access_token"), "{:?}", cb.params);
        let (_, id) = verify(&app, &cb.params["id_token"], &other).await;
        assert_eq!(id["sid"], first_id["sid"]);
        assert_eq!(id["auth_time"], first_id["auth_time"]);
    }
}

#[tokio::test]
async fn prompt_login_and_max_age_force_a_fresh_password() {
    let (app, spa) = setup().await;
    let b = Browser::new(&app);
    let first = b.login(&implicit(&spa), EMAIL, PASSWORD).await;
    let (_, first_id) = verify(&app, &first.params["id_token"], &spa).await;

    for extra in [[("prompt", "login")], [("max_age", "0")]] {
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let p = with(implicit(&spa), &extra);
        let r = b.authorize(&p).await;
        assert!(
            location(&r).starts_with("/u/login"),
            "{extra:?} asks for the password again"
        );
        let cb = b.login(&p, EMAIL, PASSWORD).await;
        let (_, id) = verify(&app, &cb.params["id_token"], &spa).await;
        assert!(
            id["auth_time"].as_i64() > first_id["auth_time"].as_i64(),
            "auth_time is the new password check"
        );
    }
    // max_age=0 with prompt=none cannot be satisfied silently.
    let cb = callback(
        b.authorize(&with(
            implicit(&spa),
            &[("prompt", "none"), ("max_age", "0")],
        ))
        .await,
    )
    .await;
    assert_eq!(cb.params["error"], "login_required");
    // A generous max_age is satisfied by the session.
    let cb = callback(
        b.authorize(&with(implicit(&spa), &[("max_age", "3600")]))
            .await,
    )
    .await;
    assert!(cb.params.contains_key("id_token"));
}

#[tokio::test]
async fn logout_ends_the_session_and_redirects_only_to_allowed_urls() {
    let (app, spa) = setup().await;
    let b = Browser::new(&app);
    let none = with(implicit(&spa), &[("prompt", "none")]);

    // /v2/logout with an allowed returnTo.
    b.login(&implicit(&spa), EMAIL, PASSWORD).await;
    let r = b
        .get(&format!(
            "v2/logout?client_id={spa}&returnTo=https%3A%2F%2Fapp.example.com%2Fbye"
        ))
        .await;
    assert_eq!(location(&r), "https://app.example.com/bye");
    let cb = callback(b.authorize(&none).await).await;
    assert_eq!(cb.params["error"], "login_required", "the session is over");

    // A returnTo that is not allowed: error page, no redirect (and still logged out).
    b.login(&implicit(&spa), EMAIL, PASSWORD).await;
    let r = b
        .get(&format!(
            "v2/logout?client_id={spa}&returnTo=https%3A%2F%2Fevil.example%2F"
        ))
        .await;
    assert_eq!(r.status(), 400);
    assert!(location(&r).is_empty());
    let cb = callback(b.authorize(&none).await).await;
    assert_eq!(cb.params["error"], "login_required");

    // RP-initiated logout with id_token_hint, post_logout_redirect_uri and state.
    let cb = b.login(&implicit(&spa), EMAIL, PASSWORD).await;
    let q = serde_urlencoded::to_string([
        ("id_token_hint", cb.params["id_token"].as_str()),
        ("post_logout_redirect_uri", "https://app.example.com/bye"),
        ("state", "bye-1"),
    ])
    .unwrap();
    let r = b.get(&format!("oidc/logout?{q}")).await;
    assert_eq!(location(&r), "https://app.example.com/bye?state=bye-1");
    let cb = callback(b.authorize(&none).await).await;
    assert_eq!(cb.params["error"], "login_required");

    // Without a redirect: the signed-out page.
    let r = b.get("oidc/logout").await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("signed out"));
}

#[tokio::test]
async fn a_public_app_must_use_pkce_and_gets_a_code() {
    let (app, spa) = setup().await;
    let b = Browser::new(&app);
    b.login(&implicit(&spa), EMAIL, PASSWORD).await;
    let base = [
        ("client_id", spa.as_str()),
        ("redirect_uri", CB),
        ("response_type", "code"),
    ];
    let cb = callback(b.authorize(&base).await).await;
    assert_eq!(cb.params["error"], "invalid_request");
    let mut p = base.to_vec();
    p.extend([
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let cb = callback(b.authorize(&p).await).await;
    assert!(cb.params["code"].len() >= 40);
    assert!(cb.url == CB && !cb.params.contains_key("access_token"));
}

const PLAIN: &str = "plain-verifier-plain-verifier-plain-verifier-0123";

fn plain_params(client: &str) -> Vec<(&str, &str)> {
    vec![
        ("client_id", client),
        ("redirect_uri", CB),
        ("response_type", "code"),
        ("code_challenge", PLAIN),
        ("code_challenge_method", "plain"),
        ("ui_locales", "fr"),
        ("screen_hint", "signup"),
        ("x-made-up", "ignored"),
    ]
}

#[tokio::test]
async fn unknown_parameters_are_ignored_and_plain_pkce_needs_the_apps_consent() {
    let (app, _) = setup().await;
    let plain_ok = app.spa(&["--allow-pkce-plain"]);
    let s256_only = app.spa(&[]);
    let b = Browser::new(&app);
    let verifier = PLAIN;
    let cb = callback(b.authorize(&plain_params(&s256_only)).await).await;
    assert_eq!(cb.params["error"], "invalid_request");
    assert!(cb.params["error_description"].contains("S256"));

    let cb = b.login(&plain_params(&plain_ok), EMAIL, PASSWORD).await;
    let code = cb
        .params
        .get("code")
        .expect("unknown parameters are ignored");
    let r = app
        .token_form(&[
            ("grant_type", "authorization_code"),
            ("client_id", &plain_ok),
            ("code", code),
            ("redirect_uri", CB),
            ("code_verifier", verifier),
        ])
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
}

#[tokio::test]
async fn cookies_are_secure_when_the_issuer_is_https() {
    let dir = tempfile::tempdir().unwrap();
    let settings = tessera::settings::Settings {
        data_dir: dir.path().to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        issuer: Some("https://id.example.com".into()),
        ..Default::default()
    };
    let server = tessera::app::spawn(settings).await.unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "apps",
            "create",
            "--name",
            "s",
            "--type",
            "spa",
            "--callbacks",
            CB,
            "--json",
        ])
        .env("TESSERA_LOG", "error")
        .output()
        .unwrap();
    let app: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let q = serde_urlencoded::to_string([
        ("client_id", app["client_id"].as_str().unwrap()),
        ("response_type", "token"),
        ("redirect_uri", CB),
    ])
    .unwrap();
    let r = http
        .get(server.url(&format!("authorize?{q}")))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    // __Host-: browsers take it only with Secure, Path=/ and no Domain.
    assert!(cookie.starts_with("__Host-tessera_csrf="), "{cookie}");
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly") && cookie.contains("; Path=/;"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
    server.stop().await;
}

#[tokio::test]
async fn a_tenant_can_override_the_login_page_template() {
    let (app, spa) = setup().await;
    let dir = app.dir.path().join("templates").join("default");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("login.html"),
        r#"<h1>Welcome to ACME, {{ app_name }}</h1>
<form method="post" action="{{ action }}">
<input type="hidden" name="state" value="{{ state }}">
<input type="hidden" name="csrf" value="{{ csrf }}">
<input name="username"><input name="password" type="password"></form>"#,
    )
    .unwrap();
    let b = Browser::new(&app);
    let (_, html) = b.to_login_page(&implicit(&spa)).await;
    assert!(html.contains("Welcome to ACME, My SPA"), "{html}");
    let cb = callback(b.post_login(&html, EMAIL, PASSWORD).await).await;
    assert!(cb.params.contains_key("access_token"));
}

#[tokio::test]
async fn web_message_posts_the_response_to_an_allowed_web_origin() {
    let (app, _) = setup().await;
    let spa = app.spa(&["--web-origins", "https://app.example.com"]);
    let no_origins = app.spa(&[]);
    let b = Browser::new(&app);
    let silent = |client: &str| {
        vec![
            ("client_id", client.to_owned()),
            ("redirect_uri", CB.to_owned()),
            ("response_type", "code".to_owned()),
            ("response_mode", "web_message".to_owned()),
            ("prompt", "none".to_owned()),
            ("state", "wm-1".to_owned()),
            ("code_challenge", CHALLENGE.to_owned()),
            ("code_challenge_method", "S256".to_owned()),
        ]
    };
    let get = |p: Vec<(&'static str, String)>| {
        let q = serde_urlencoded::to_string(p).unwrap();
        b.get_owned(format!("authorize?{q}"))
    };
    // No session: the error goes back by message too, so the SDK does not wait for a timeout.
    let r = get(silent(&spa)).await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors https://app.example.com"),
        "{csp}"
    );
    assert!(r.headers().get("x-frame-options").is_none());
    let html = r.text().await.unwrap();
    assert!(
        html.contains(r#"var targetOrigin = "https://app.example.com";"#),
        "{html}"
    );
    assert!(html.contains(r#""error":"login_required""#), "{html}");
    assert!(html.contains(r#""state":"wm-1""#));
    assert!(html.contains(r#"type: "authorization_response""#));

    // With a session: the code, by message.
    b.login(&implicit(&spa), EMAIL, PASSWORD).await;
    let html = get(silent(&spa)).await.text().await.unwrap();
    assert!(html.contains(r#""code":""#), "{html}");

    // An app without that web origin: a page, no message to anyone.
    let r = get(silent(&no_origins)).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("allowed web origins"));

    // An early error (no response_type) for that app goes back by query, not by message.
    let mut early = silent(&no_origins);
    early.retain(|(k, _)| *k != "response_type");
    let r = get(early).await;
    let loc = location(&r);
    assert!(
        loc.starts_with(CB) && loc.contains("error=invalid_request"),
        "{} {loc}",
        r.status()
    );
    assert!(!r.text().await.unwrap().contains("postMessage"));
    // For the app that allows the origin, the early error does come by message.
    let mut early = silent(&spa);
    early.retain(|(k, _)| *k != "response_type");
    let html = get(early).await.text().await.unwrap();
    assert!(html.contains(r#""error":"invalid_request""#), "{html}");
}

#[tokio::test]
async fn an_access_token_is_not_an_id_token_hint() {
    let (app, spa) = setup().await;
    app.api("https://api.example.com", &[]);
    let other = app.spa(&["--logout-urls", "https://other.example.com/bye"]);
    let b = Browser::new(&app);
    // A user's JWT access token (`aud` = [API, userinfo]) and an m2m one (`aud` = the API).
    let cb = b
        .login(
            &with(implicit(&spa), &[("audience", "https://api.example.com")]),
            EMAIL,
            PASSWORD,
        )
        .await;
    let user_at = cb.params["access_token"].clone();
    assert_eq!(user_at.matches('.').count(), 2, "a JWT");
    let (m2m, secret) = app.granted_m2m("https://api.example.com", "read:x");
    let m2m_at = app.cc_token(&m2m, &secret, "https://api.example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for hint in [&user_at, &m2m_at] {
        let q = serde_urlencoded::to_string([
            ("id_token_hint", hint.as_str()),
            ("client_id", other.as_str()),
            ("post_logout_redirect_uri", "https://other.example.com/bye"),
        ])
        .unwrap();
        let r = b.get(&format!("oidc/logout?{q}")).await;
        assert_eq!(
            r.status(),
            400,
            "an access token is refused as id_token_hint"
        );
        assert!(location(&r).is_empty(), "no redirect");
        assert!(r.text().await.unwrap().contains("not an ID token"));
    }
    // The user's ID token is accepted (and names its own application).
    let q = serde_urlencoded::to_string([
        ("id_token_hint", cb.params["id_token"].as_str()),
        ("post_logout_redirect_uri", "https://app.example.com/bye"),
    ])
    .unwrap();
    let r = b.get(&format!("oidc/logout?{q}")).await;
    assert_eq!(location(&r), "https://app.example.com/bye");
}
