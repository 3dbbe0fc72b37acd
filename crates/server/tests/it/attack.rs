//! Attack protection over HTTP (issue 7): brute-force blocks and suspicious-IP throttling at the
//! login page and the password grant, `X-Forwarded-For` only from trusted proxies, the token
//! rate limit, CORS only for an application's web origins, and disabled applications. The
//! rules' timing (30 days, 24 hours, one minute) is tested with a fixed clock in
//! `tessera-core`'s `attack::tests`.

use reqwest::Response;
use serde_json::Value;

use crate::{
    browser::{Browser, CB, EMAIL, PASSWORD, callback, hidden, location},
    support::{TestApp, spawn_app, spawn_app_with},
};

const API: &str = "https://api.example.com";
const SPA_ORIGIN: &str = "https://app.example.com";

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

/// Posts the login form as if from `ip` behind a proxy (the header only counts when the peer is
/// a trusted proxy).
async fn post_login_from(
    b: &Browser,
    html: &str,
    ip: &str,
    email: &str,
    password: &str,
) -> Response {
    let form = [
        ("state", hidden(html, "state").expect("state field")),
        ("csrf", hidden(html, "csrf").expect("csrf field")),
        ("username", email.to_owned()),
        ("password", password.to_owned()),
    ];
    b.http
        .post(b.url("u/login"))
        .header("x-forwarded-for", ip)
        .form(&form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn ten_wrong_passwords_block_the_email_from_that_ip_until_an_admin_unblocks_it() {
    let app = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    let spa = app.spa(&[]);
    let b = Browser::new(&app);
    let (_, mut html) = b.to_login_page(&implicit(&spa)).await;
    for i in 0..10 {
        let r = b.post_login(&html, EMAIL, "wrong password").await;
        assert_eq!(r.status(), 401, "failure {i}");
        html = r.text().await.unwrap();
        assert!(html.contains("Wrong email or password."));
    }
    // Now even the right password is refused, with a page that says why and when.
    let r = b.post_login(&html, EMAIL, PASSWORD).await;
    assert_eq!(r.status(), 429);
    assert!(location(&r).is_empty());
    let retry: i64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((30 * 86_400 - 60..=30 * 86_400).contains(&retry), "{retry}");
    let page = r.text().await.unwrap();
    assert!(page.contains("Too many failed sign-in attempts"), "{page}");
    assert!(page.contains("role=\"alert\""));

    // The same pair through the password grant: 429 too_many_attempts.
    let (web, secret) = app.web_app(&["--grant-types", "authorization_code,password"]);
    app.config_settled().await;
    let r = app
        .token_form(&[
            ("grant_type", "password"),
            ("client_id", &web),
            ("client_secret", &secret),
            ("username", EMAIL),
            ("password", PASSWORD),
        ])
        .await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"], "too_many_attempts");

    // `tessera users unblock` lifts it.
    let out = app.cli(&["users", "unblock", EMAIL]);
    assert!(out.status.success());
    let cb = callback(b.post_login(&html, EMAIL, PASSWORD).await).await;
    assert!(cb.params.contains_key("access_token"), "{:?}", cb.params);
}

#[tokio::test]
async fn a_throttled_ip_gets_429_with_retry_after_and_other_ips_sign_in() {
    let app = spawn_app_with(|s| s.trusted_proxies = vec!["127.0.0.1".into()]).await;
    app.user(EMAIL, PASSWORD);
    let spa = app.spa(&[]);
    let out = app.cli_json(&["tenant", "update", "--suspicious-ip-max-attempts", "3"]);
    assert_eq!(
        out["attack_protection"]["suspicious_ip_throttling"]["max_attempts"],
        3
    );
    app.config_settled().await;
    let b = Browser::new(&app);
    let (_, html) = b.to_login_page(&implicit(&spa)).await;
    let attacker = "203.0.113.9";
    for (i, email) in ["a@example.com", "b@example.com", "c@example.com"]
        .iter()
        .enumerate()
    {
        let r = post_login_from(&b, &html, attacker, email, "guess-guess").await;
        assert_eq!(r.status(), 401, "failure {i}");
    }
    let r = post_login_from(&b, &html, attacker, EMAIL, PASSWORD).await;
    assert_eq!(r.status(), 429);
    let retry: i64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((86_400 - 60..=86_400).contains(&retry), "{retry}");
    assert!(r.text().await.unwrap().contains("from your network"));
    // A proxy chain: the rightmost untrusted hop is the client, whatever the client prepended.
    let r = post_login_from(
        &b,
        &html,
        &format!("198.51.100.1, {attacker}"),
        EMAIL,
        PASSWORD,
    )
    .await;
    assert_eq!(
        r.status(),
        429,
        "a forged left-hand hop does not escape the throttle"
    );
    // Another client IP signs in.
    let r = post_login_from(&b, &html, "198.51.100.77", EMAIL, PASSWORD).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    let spa = app.spa(&[]);
    app.cli_json(&["tenant", "update", "--suspicious-ip-max-attempts", "2"]);
    app.config_settled().await;
    let b = Browser::new(&app);
    let (_, html) = b.to_login_page(&implicit(&spa)).await;
    // Each failure claims a new IP; the peer (127.0.0.1) is what counts.
    for ip in ["203.0.113.1", "203.0.113.2"] {
        assert_eq!(
            post_login_from(&b, &html, ip, EMAIL, "nope-nope")
                .await
                .status(),
            401
        );
    }
    let r = post_login_from(&b, &html, "203.0.113.3", EMAIL, PASSWORD).await;
    assert_eq!(r.status(), 429);
}

#[tokio::test]
async fn a_bad_trusted_proxies_setting_stops_the_server_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let settings = tessera::settings::Settings {
        data_dir: dir.path().to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        trusted_proxies: vec!["10.0.0.0/33".into()],
        ..Default::default()
    };
    let err = tessera::app::spawn(settings).await.err().expect("refused");
    assert!(
        err.contains("trusted_proxies") && err.contains("10.0.0.0/33"),
        "{err}"
    );
}

#[tokio::test]
async fn the_token_rate_limit_is_off_by_default_and_counts_per_application_when_set() {
    let app = spawn_app().await;
    app.api(API, &[]);
    let (a, a_secret) = app.granted_m2m(API, "read:x");
    let (b, b_secret) = app.granted_m2m(API, "read:x");
    for _ in 0..5 {
        assert_eq!(app.cc_request(&a, &a_secret, API).await.status(), 200);
    }
    app.cli_json(&["tenant", "update", "--token-rate-limit", "3"]);
    app.config_settled().await;
    for i in 0..3 {
        assert_eq!(
            app.cc_request(&a, &a_secret, API).await.status(),
            200,
            "request {i}"
        );
    }
    let r = app.cc_request(&a, &a_secret, API).await;
    assert_eq!(r.status(), 429);
    let retry: i64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"], "too_many_requests");
    // Another application has its own quota; a wrong secret does not spend anyone's.
    assert_eq!(app.cc_request(&b, "wrong", API).await.status(), 401);
    assert_eq!(app.cc_request(&b, &b_secret, API).await.status(), 200);
    // Bad values are refused by the CLI.
    let out = app.cli(&["tenant", "update", "--token-rate-limit", "-1"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// The response's `Access-Control-Allow-Origin`, if any.
fn acao(r: &Response) -> Option<String> {
    r.headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned())
}

async fn token_from(app: &TestApp, origin: &str, params: &[(&str, &str)]) -> Response {
    app.http
        .post(app.url("oauth/token"))
        .header("origin", origin)
        .form(params)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cors_answers_only_an_applications_web_origins_and_never_on_authorize() {
    let app = spawn_app().await;
    app.api(API, &[]);
    let spa = app.spa(&["--web-origins", SPA_ORIGIN]);
    let (m2m, secret) = app.granted_m2m(API, "read:x");
    app.config_settled().await;
    let preflight = |origin: &'static str, path: &'static str| {
        let app = &app;
        async move {
            app.http
                .request(reqwest::Method::OPTIONS, app.url(path))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .send()
                .await
                .unwrap()
        }
    };
    for path in ["oauth/token", "userinfo", "oauth/revoke"] {
        let r = preflight(SPA_ORIGIN, path).await;
        assert_eq!(r.status(), 204, "{path}");
        assert_eq!(acao(&r).as_deref(), Some(SPA_ORIGIN));
        assert!(
            r.headers()["access-control-allow-methods"]
                .to_str()
                .unwrap()
                .contains("POST")
        );
        let r = preflight("https://evil.example", path).await;
        assert_eq!(r.status(), 403, "{path}");
        assert_eq!(acao(&r), None);
    }
    // /authorize: no preflight, no CORS header, whatever the origin.
    let r = preflight(SPA_ORIGIN, "authorize").await;
    assert_eq!(acao(&r), None);
    assert_ne!(r.status(), 204);
    let r = Browser::new(&app)
        .http
        .get(app.url(&format!("authorize?client_id={spa}&response_type=code")))
        .header("origin", SPA_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(acao(&r), None);

    // A token request: the requesting application's origin may read the answer (and its
    // errors); another application's origin may not.
    let bad_code = [
        ("grant_type", "authorization_code"),
        ("client_id", spa.as_str()),
        ("code", "nope"),
        ("redirect_uri", CB),
        ("code_verifier", "x"),
    ];
    let r = token_from(&app, SPA_ORIGIN, &bad_code).await;
    assert_eq!(r.status(), 400);
    assert_eq!(acao(&r).as_deref(), Some(SPA_ORIGIN));
    assert!(r.headers()["vary"].to_str().unwrap().contains("Origin"));
    let cc = [
        ("grant_type", "client_credentials"),
        ("client_id", m2m.as_str()),
        ("client_secret", secret.as_str()),
        ("audience", API),
    ];
    let r = token_from(&app, SPA_ORIGIN, &cc).await;
    assert_eq!(r.status(), 200);
    assert_eq!(acao(&r), None, "the m2m app has no web origins");
    let r = token_from(&app, "https://evil.example", &bad_code).await;
    assert_eq!(acao(&r), None);
}

#[tokio::test]
async fn userinfo_cors_follows_the_tokens_application() {
    let app = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    let spa = app.spa(&["--web-origins", SPA_ORIGIN]);
    let other = app.spa(&["--web-origins", "https://other.example.com"]);
    app.config_settled().await;
    let b = Browser::new(&app);
    let cb = b.login(&implicit(&spa), EMAIL, PASSWORD).await;
    let token = cb.params["access_token"].clone();
    let get = |origin: &'static str| {
        let (app, token) = (&app, token.clone());
        async move {
            app.http
                .get(app.url("userinfo"))
                .bearer_auth(token)
                .header("origin", origin)
                .send()
                .await
                .unwrap()
        }
    };
    let r = get(SPA_ORIGIN).await;
    assert_eq!(r.status(), 200);
    assert_eq!(acao(&r).as_deref(), Some(SPA_ORIGIN));
    assert_eq!(r.headers()["cache-control"], "no-store");
    let r = get("https://other.example.com").await;
    assert_eq!(r.status(), 200);
    assert_eq!(acao(&r), None, "another application's origin: {other}");
}

#[tokio::test]
async fn a_disabled_application_gets_no_login_no_tokens_and_no_userinfo() {
    let app = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    app.api(API, &["--offline-access"]);
    let (web, secret) = app.web_app(&[]);
    let (m2m, m2m_secret) = app.granted_m2m(API, "read:x");
    app.config_settled().await;
    // A refresh token and an opaque access token issued before the app is disabled.
    let b = Browser::new(&app);
    let params = [
        ("client_id", web.as_str()),
        ("redirect_uri", CB),
        ("response_type", "code"),
        ("scope", "openid offline_access"),
        ("audience", API),
        ("state", "s"),
    ];
    let cb = b.login(&params, EMAIL, PASSWORD).await;
    let code = cb.params["code"].clone();
    let r = app
        .token_form(&[
            ("grant_type", "authorization_code"),
            ("client_id", &web),
            ("client_secret", &secret),
            ("code", &code),
            ("redirect_uri", CB),
        ])
        .await;
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    let refresh = t["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();

    for id in [&web, &m2m] {
        let out = app.cli_json(&["apps", "update", id, "--disabled"]);
        assert_eq!(out["disabled"], true);
    }
    app.config_settled().await;

    let r = b.authorize(&params).await;
    assert_eq!(r.status(), 400);
    assert!(location(&r).is_empty());
    assert!(r.text().await.unwrap().contains("disabled"));
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("client_id", web.as_str()),
        ("client_secret", secret.as_str()),
        ("refresh_token", refresh.as_str()),
    ];
    let use_refresh = || app.token_form(&refresh_form);
    let r = use_refresh().await;
    assert_eq!(r.status(), 401);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"], "invalid_client");
    assert_eq!(app.cc_request(&m2m, &m2m_secret, API).await.status(), 401);
    // A wrong secret still hears only "wrong credentials", not that the app is disabled.
    let r = app.cc_request(&m2m, "wrong", API).await;
    let e: Value = r.json().await.unwrap();
    assert!(
        !e["error_description"]
            .as_str()
            .unwrap()
            .contains("disabled")
    );

    // Enabled again, the refresh token works (it was refused, not revoked).
    app.cli_json(&["apps", "update", &web, "--disabled", "false"]);
    app.config_settled().await;
    assert_eq!(use_refresh().await.status(), 200);
}

#[tokio::test]
async fn userinfo_refuses_tokens_of_a_disabled_application() {
    let app = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    let spa = app.spa(&[]);
    let b = Browser::new(&app);
    let cb = b.login(&implicit(&spa), EMAIL, PASSWORD).await;
    let token = cb.params["access_token"].clone();
    let ask = || app.http.get(app.url("userinfo")).bearer_auth(&token).send();
    assert_eq!(ask().await.unwrap().status(), 200);
    app.cli_json(&["apps", "update", &spa, "--disabled"]);
    app.config_settled().await;
    let r = ask().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
}

#[tokio::test]
async fn the_attack_allowlist_is_set_shown_and_checked_by_the_cli() {
    let app = spawn_app_with(|s| s.trusted_proxies = vec!["127.0.0.1".into()]).await;
    app.user(EMAIL, PASSWORD);
    let spa = app.spa(&[]);
    let out = app.cli_json(&[
        "tenant",
        "update",
        "--suspicious-ip-max-attempts",
        "1",
        "--attack-allowlist",
        "192.0.2.0/24,2001:db8::1",
    ]);
    assert_eq!(
        out["attack_protection"]["allowlist"],
        serde_json::json!(["192.0.2.0/24", "2001:db8::1"])
    );
    app.config_settled().await;
    let b = Browser::new(&app);
    let (_, html) = b.to_login_page(&implicit(&spa)).await;
    for _ in 0..3 {
        let r = post_login_from(&b, &html, "192.0.2.10", EMAIL, "nope-nope").await;
        assert_eq!(r.status(), 401, "an allowlisted network is never throttled");
    }
    let out = app.cli(&["tenant", "update", "--attack-allowlist", "192.0.2.0/99"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("192.0.2.0/99"));
}
