//! The seed's decision list, one test per row, through the implicit flow and the code flow both:
//! a user signs in on the hosted login page and the application gets what Auth0 would give it.

use serde_json::Value;

use crate::{
    browser::{Browser, CB, CHALLENGE, EMAIL, PASSWORD, VERIFIER},
    support::{TestApp, claim_names, spawn_app, verify},
};

const API: &str = "https://api.example.com";

#[derive(Clone, Copy, Debug)]
enum Flow {
    /// The implicit flow with this `response_type` (`token`, `id_token token`).
    Implicit(&'static str),
    Code,
}

const IMPLICIT: Flow = Flow::Implicit("token");

/// What the application holds at the end of a flow.
struct Got {
    access_token: String,
    id_token: Option<String>,
    expires_in: i64,
    token_format: String,
}

/// Runs `flow` for a SPA with extra `/authorize` parameters and returns the tokens.
async fn obtain(app: &TestApp, client_id: &str, flow: Flow, extra: &[(&str, &str)]) -> Got {
    let b = Browser::new(app);
    let mut params = vec![
        ("client_id", client_id),
        ("redirect_uri", CB),
        ("state", "st-1"),
        ("nonce", "n-1"),
    ];
    match flow {
        Flow::Implicit(rt) => params.push(("response_type", rt)),
        Flow::Code => params.extend([
            ("response_type", "code"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]),
    }
    params.extend_from_slice(extra);
    let cb = b.login(&params, EMAIL, PASSWORD).await;
    assert_eq!(cb.url, CB);
    assert_eq!(cb.params["state"], "st-1");
    assert_eq!(cb.params["iss"], app.issuer(), "RFC 9207 iss");
    assert!(!cb.params.contains_key("error"), "{:?}", cb.params);
    match flow {
        Flow::Implicit(_) => Got {
            access_token: cb.params["access_token"].clone(),
            id_token: cb.params.get("id_token").cloned(),
            expires_in: cb.params["expires_in"].parse().unwrap(),
            token_format: cb
                .token_format
                .expect("Tessera-Token-Format on the redirect"),
        },
        Flow::Code => {
            assert!(
                !cb.params.contains_key("access_token"),
                "no token in the front channel"
            );
            let r = app
                .token_form(&[
                    ("grant_type", "authorization_code"),
                    ("client_id", client_id),
                    ("code", &cb.params["code"]),
                    ("redirect_uri", CB),
                    ("code_verifier", VERIFIER),
                ])
                .await;
            let fmt = r
                .headers()
                .get("tessera-token-format")
                .map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(r.status(), 200, "{:?}", r.text().await);
            let t: Value = r.json().await.unwrap();
            assert_eq!(t["token_type"], "Bearer");
            Got {
                access_token: t["access_token"].as_str().unwrap().to_owned(),
                id_token: t["id_token"].as_str().map(str::to_owned),
                expires_in: t["expires_in"].as_i64().unwrap(),
                token_format: fmt.expect("Tessera-Token-Format on the token response"),
            }
        }
    }
}

async fn setup(extra_app_flags: &[&str]) -> (TestApp, String) {
    let app = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    let spa = app.spa(extra_app_flags);
    (app, spa)
}

async fn userinfo(app: &TestApp, token: &str) -> reqwest::Response {
    app.http
        .get(app.url("userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn no_audience_gives_an_opaque_token_good_at_userinfo() {
    let (app, spa) = setup(&[]).await;
    for (flow, lifetime) in [(IMPLICIT, 7200), (Flow::Code, 86400)] {
        let got = obtain(&app, &spa, flow, &[("scope", "openid profile email")]).await;
        assert_eq!(got.access_token.len(), 32, "{flow:?}");
        assert!(!got.access_token.contains('.'), "opaque, not a JWT");
        assert_eq!(got.expires_in, lifetime, "{flow:?}");
        assert!(
            got.token_format.starts_with("opaque; no audience"),
            "{}",
            got.token_format
        );
        let r = userinfo(&app, &got.access_token).await;
        assert_eq!(r.status(), 200);
        let claims: Value = r.json().await.unwrap();
        assert_eq!(claims["email"], EMAIL);
        assert_eq!(claims["name"], "Ann Example");
        assert!(claims["sub"].as_str().unwrap().starts_with("auth0|"));
    }
}

#[tokio::test]
async fn the_userinfo_audience_also_gives_an_opaque_token() {
    let (app, spa) = setup(&[]).await;
    let aud = app.url("userinfo");
    for flow in [IMPLICIT, Flow::Code] {
        let got = obtain(&app, &spa, flow, &[("scope", "openid"), ("audience", &aud)]).await;
        assert!(!got.access_token.contains('.'));
        assert!(
            got.token_format.contains("/userinfo endpoint"),
            "{}",
            got.token_format
        );
    }
}

#[tokio::test]
async fn an_api_audience_gives_a_jwt_for_that_api() {
    let (app, spa) = setup(&[]).await;
    app.api(API, &[]);
    for (flow, lifetime) in [(IMPLICIT, 7200), (Flow::Code, 86400)] {
        let got = obtain(&app, &spa, flow, &[("scope", "read:x"), ("audience", API)]).await;
        let (header, claims) = verify(&app, &got.access_token, API).await;
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
        assert_eq!(claims["aud"], API, "a string without openid");
        assert_eq!(claims["scope"], "read:x");
        assert_eq!(claims["azp"], spa.as_str());
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            lifetime
        );
        assert_eq!(got.expires_in, lifetime);
        assert!(
            got.token_format
                .starts_with("jwt; audience https://api.example.com")
        );
        assert!(got.id_token.is_none(), "no openid, no ID token");
        assert_eq!(
            claim_names(&claims),
            ["aud", "azp", "exp", "iat", "iss", "scope", "sub"]
        );
    }
}

#[tokio::test]
async fn openid_with_an_api_gives_an_aud_array_and_an_id_token() {
    let (app, spa) = setup(&[]).await;
    app.api(API, &[]);
    for flow in [Flow::Implicit("id_token token"), Flow::Code] {
        let extra = [("scope", "openid profile email read:x"), ("audience", API)];
        let got = obtain(&app, &spa, flow, &extra).await;
        let (_, at) = verify(&app, &got.access_token, API).await;
        assert_eq!(at["aud"], serde_json::json!([API, app.url("userinfo")]));
        assert_eq!(at["scope"], "openid profile email read:x");
        // The JWT is good at /userinfo too: its aud names it.
        let r = userinfo(&app, &got.access_token).await;
        assert_eq!(r.status(), 200, "{flow:?}");
        let id = got.id_token.expect("ID token");
        let (h, idc) = verify(&app, &id, &spa).await;
        assert_eq!(h.alg, jsonwebtoken::Algorithm::RS256);
        assert_eq!(idc["nonce"], "n-1");
        assert_eq!(idc["email"], EMAIL);
        assert_eq!(idc["email_verified"], true);
        assert_eq!(idc["name"], "Ann Example");
        assert!(idc["sid"].is_string() && idc["auth_time"].is_i64());
        assert_eq!(
            idc["exp"].as_i64().unwrap() - idc["iat"].as_i64().unwrap(),
            36000
        );
        assert_eq!(
            idc["at_hash"].as_str().unwrap(),
            half_hash(&got.access_token),
            "{flow:?}"
        );
    }
}

fn half_hash(s: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let d = sha2::Sha256::digest(s.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&d[..16])
}

/// Authorizes with an existing session or fails; returns the callback (error or success).
async fn callback_of(b: &Browser, params: &[(&str, &str)]) -> crate::browser::Callback {
    crate::browser::callback(b.authorize(params).await).await
}

#[tokio::test]
async fn an_audience_that_names_no_api_is_service_not_found() {
    let (app, spa) = setup(&[]).await;
    let b = Browser::new(&app);
    for rt in ["token", "code"] {
        let params = [
            ("client_id", spa.as_str()),
            ("redirect_uri", CB),
            ("response_type", rt),
            ("audience", "https://nope.example.com"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("state", "s-9"),
        ];
        let cb = callback_of(&b, &params).await;
        assert_eq!(cb.url, CB);
        assert_eq!(cb.params["error"], "access_denied");
        let d = &cb.params["error_description"];
        assert!(
            d.starts_with("Service not found: https://nope.example.com"),
            "{d}"
        );
        assert!(
            d.contains("tessera apis create"),
            "says how to register it: {d}"
        );
        assert_eq!(cb.params["state"], "s-9");
        assert_eq!(cb.params["iss"], app.issuer());
    }
}

#[tokio::test]
async fn the_tenant_default_audience_gives_a_jwt() {
    let (app, spa) = setup(&[]).await;
    app.api(API, &[]);
    app.cli_json(&["tenant", "update", "--default-audience", API]);
    // The tenant snapshot is polled; within a second the default applies.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let got = obtain(&app, &spa, Flow::Code, &[("scope", "read:x")]).await;
        if got.access_token.contains('.') {
            let (_, claims) = verify(&app, &got.access_token, API).await;
            assert_eq!(claims["aud"], API);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "default audience not applied"
        );
    }
}

#[tokio::test]
async fn legacy_apps_get_an_id_token_from_response_type_token_conformant_ones_do_not() {
    let app = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    let legacy = app.spa(&["--legacy"]);
    let conformant = app.spa(&[]);
    let extra = [("scope", "openid profile")];
    let got = obtain(&app, &legacy, IMPLICIT, &extra).await;
    let id = got
        .id_token
        .expect("a legacy app gets an ID token with response_type=token");
    let (_, claims) = verify(&app, &id, &legacy).await;
    assert_eq!(claims["name"], "Ann Example");
    assert!(
        claims.get("email").is_none(),
        "no email scope, no email claim"
    );
    let got = obtain(&app, &conformant, IMPLICIT, &extra).await;
    assert!(
        got.id_token.is_none(),
        "a conformant app gets no ID token from response_type=token"
    );
    // Without a nonce, the legacy app gets its access token and no ID token.
    let b = Browser::new(&app);
    let cb = b
        .login(
            &[
                ("client_id", legacy.as_str()),
                ("redirect_uri", CB),
                ("response_type", "token"),
                ("scope", "openid profile"),
                ("state", "no-nonce"),
            ],
            EMAIL,
            PASSWORD,
        )
        .await;
    assert!(cb.params.contains_key("access_token"), "{:?}", cb.params);
    assert!(
        !cb.params.contains_key("id_token"),
        "no nonce, no ID token in the fragment: {:?}",
        cb.params
    );
}

#[tokio::test]
async fn the_seeds_legacy_login_link_maps_onto_authorize() {
    let (app, spa) = setup(&[]).await;
    let b = Browser::new(&app);
    let q = serde_urlencoded::to_string([
        ("client", spa.as_str()),
        ("protocol", "oauth2"),
        ("redirect_uri", CB),
        ("response_type", "token"),
        ("scope", "openid profile"),
        ("state", "legacy-1"),
    ])
    .unwrap();
    let r = b.get(&format!("login?{q}")).await;
    let loc = crate::browser::location(&r);
    assert!(loc.starts_with("/u/login?state="), "{} {loc}", r.status());
    let page = b.get(&loc).await.text().await.unwrap();
    assert!(page.contains("My SPA"), "the login page names the app");
    let cb = crate::browser::callback(b.post_login(&page, EMAIL, PASSWORD).await).await;
    assert_eq!(cb.params["state"], "legacy-1");
    assert_eq!(cb.params["access_token"].len(), 32, "opaque: no audience");
    // The same link with an unknown client is an error page, not a redirect.
    let r = b
        .get("login?client=nope&protocol=oauth2&response_type=token")
        .await;
    assert_eq!(r.status(), 400);
    assert!(crate::browser::location(&r).is_empty());
}

#[tokio::test]
async fn form_post_delivers_an_auto_submitting_form() {
    let (app, spa) = setup(&[]).await;
    let b = Browser::new(&app);
    let params = [
        ("client_id", spa.as_str()),
        ("redirect_uri", CB),
        ("response_type", "id_token token"),
        ("response_mode", "form_post"),
        ("scope", "openid"),
        ("nonce", "n-2"),
        ("state", "<s&t>"),
    ];
    let (_, html) = b.to_login_page(&params).await;
    let r = b.post_login(&html, EMAIL, PASSWORD).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let cb = crate::browser::callback(r).await;
    assert_eq!(cb.url, CB);
    assert_eq!(
        cb.params["state"], "<s&t>",
        "escaped in HTML, intact after parsing"
    );
    assert!(cb.params.contains_key("id_token") && cb.params.contains_key("access_token"));
    assert_eq!(cb.params["iss"], app.issuer());
}
