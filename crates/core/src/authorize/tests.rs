//! Authorization request validation against the in-memory store.

use super::*;
use crate::manage::Manager;
use crate::{FixedClock, keys::MasterKey, manage, memory::MemoryStore};

const CB: &str = "https://app.example.com/callback";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct W {
    store: MemoryStore,
    master: MasterKey,
    tenant: Tenant,
    spa: String,
    web: String,
}

async fn world() -> W {
    let store = MemoryStore::new();
    let master = MasterKey::generate();
    let clock = FixedClock::new(1_800_000_000);
    let tenant = manage::ensure_tenant(
        &store,
        &master,
        &clock,
        "default",
        Some("https://id.example.com"),
        "x",
        false,
    )
    .await
    .unwrap();
    let app = |name: &str, t: &str| manage::AppSpec {
        name: Some(name.into()),
        app_type: Some(t.into()),
        callbacks: Some(vec![CB.into(), "https://app.example.com/other".into()]),
        ..Default::default()
    };
    let (spa, _) = Manager::operator(&store, &clock, &master, "default")
        .create_app(&app("spa", "spa"))
        .await
        .unwrap();
    let (web, _) = Manager::operator(&store, &clock, &master, "default")
        .create_app(&app("web", "regular"))
        .await
        .unwrap();
    let api = manage::ApiSpec {
        name: Some("API".into()),
        identifier: Some("https://api.example.com".into()),
        ..Default::default()
    };
    Manager::operator(&store, &clock, &master, "default")
        .create_api(&api)
        .await
        .unwrap();
    W {
        store,
        master,
        tenant,
        spa: spa.client_id,
        web: web.client_id,
    }
}

impl W {
    async fn run(&self, pairs: &[(&str, &str)]) -> Result<AuthorizeRequest, AuthorizeError> {
        let p: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        validate(&self.store, None, &self.tenant, &p).await
    }
}

fn page_code(r: Result<AuthorizeRequest, AuthorizeError>) -> ErrorCode {
    match r {
        Err(AuthorizeError::Page(e)) => e.code,
        other => panic!("expected an error page, got {other:?}"),
    }
}

fn redirect_err(
    r: Result<AuthorizeRequest, AuthorizeError>,
) -> (ResponseMode, Option<String>, OAuthError) {
    match r {
        Err(AuthorizeError::Redirect {
            redirect_uri,
            mode,
            state,
            error,
        }) => {
            assert_eq!(redirect_uri, CB);
            (mode, state, error)
        }
        other => panic!("expected a redirect, got {other:?}"),
    }
}

#[test]
fn response_types_parse_in_any_order_without_repeats() {
    for s in [
        "code",
        "token",
        "id_token",
        "id_token token",
        "code id_token",
        "code token",
        "code id_token token",
        "token code",
    ] {
        assert!(ResponseType::parse(s).is_some(), "{s}");
    }
    for s in ["", "none", "code code", "code foo", "Code"] {
        assert!(ResponseType::parse(s).is_none(), "{s}");
    }
}

#[tokio::test]
async fn unknown_clients_and_callbacks_get_a_page_never_a_redirect() {
    let w = world().await;
    assert_eq!(
        page_code(w.run(&[("response_type", "code")]).await),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        page_code(w.run(&[("client_id", "ghost"), ("redirect_uri", CB)]).await),
        ErrorCode::InvalidRequest
    );
    for bad in [
        "https://app.example.com/callback/",
        "https://APP.example.com/callback",
        "https://app.example.com/callback?x=1",
        "https://evil.example/callback",
    ] {
        let r = w
            .run(&[
                ("client_id", &w.web),
                ("redirect_uri", bad),
                ("response_type", "code"),
            ])
            .await;
        assert_eq!(page_code(r), ErrorCode::InvalidRequest, "{bad}");
    }
    // Two callbacks registered: the redirect_uri cannot be guessed.
    assert_eq!(
        page_code(
            w.run(&[("client_id", &w.web), ("response_type", "code")])
                .await
        ),
        ErrorCode::InvalidRequest
    );
}

#[tokio::test]
async fn defaults_for_a_code_request() {
    let w = world().await;
    let r = w
        .run(&[
            ("client_id", &w.web),
            ("redirect_uri", CB),
            ("response_type", "code"),
            ("scope", "openid profile"),
            ("state", "s1"),
            ("unknown", "ignored"),
        ])
        .await
        .unwrap();
    assert_eq!(r.response_mode, ResponseMode::Query);
    assert_eq!(r.scopes, ["openid", "profile"]);
    assert_eq!(r.state.as_deref(), Some("s1"));
    assert!(r.api.is_none(), "no audience: an opaque token");
}

#[tokio::test]
async fn token_responses_default_to_fragment_and_refuse_query() {
    let w = world().await;
    let base = [
        ("client_id", w.web.as_str()),
        ("redirect_uri", CB),
        ("state", "xyz"),
    ];
    let mut p = base.to_vec();
    p.extend([
        ("response_type", "id_token token"),
        ("scope", "openid"),
        ("nonce", "n"),
    ]);
    assert_eq!(
        w.run(&p).await.unwrap().response_mode,
        ResponseMode::Fragment
    );
    p.push(("response_mode", "query"));
    let (mode, state, e) = redirect_err(w.run(&p).await);
    assert_eq!(
        (mode, state.as_deref(), e.code),
        (
            ResponseMode::Fragment,
            Some("xyz"),
            ErrorCode::InvalidRequest
        )
    );
    let mut fp = base.to_vec();
    fp.extend([("response_type", "code"), ("response_mode", "form_post")]);
    assert_eq!(
        w.run(&fp).await.unwrap().response_mode,
        ResponseMode::FormPost
    );
}

#[tokio::test]
async fn proven_redirects_carry_the_errors() {
    let w = world().await;
    let base = [("client_id", w.web.as_str()), ("redirect_uri", CB)];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut p = base.to_vec();
        p.extend_from_slice(extra);
        p
    };
    let (_, _, e) = redirect_err(w.run(&with(&[("response_type", "magic")])).await);
    assert_eq!(e.code, ErrorCode::UnsupportedResponseType);
    let (_, _, e) = redirect_err(w.run(&with(&[])).await);
    assert_eq!(e.code, ErrorCode::InvalidRequest);
    let (_, _, e) = redirect_err(
        w.run(&with(&[("response_type", "id_token"), ("scope", "openid")]))
            .await,
    );
    assert!(e.description.contains("nonce"));
    let (_, _, e) = redirect_err(
        w.run(&with(&[("response_type", "id_token"), ("nonce", "n")]))
            .await,
    );
    assert!(e.description.contains("openid"));
    let (_, _, e) = redirect_err(
        w.run(&with(&[("response_type", "code"), ("scope", "bad\"scope")]))
            .await,
    );
    assert_eq!(e.code, ErrorCode::InvalidScope);
    let (_, _, e) = redirect_err(
        w.run(&with(&[
            ("response_type", "code"),
            ("prompt", "none login"),
        ]))
        .await,
    );
    assert_eq!(e.code, ErrorCode::InvalidRequest);
    let (_, _, e) = redirect_err(
        w.run(&with(&[("response_type", "code"), ("max_age", "-1")]))
            .await,
    );
    assert_eq!(e.code, ErrorCode::InvalidRequest);
    let (_, _, e) = redirect_err(
        w.run(&with(&[
            ("response_type", "code"),
            ("response_mode", "made_up"),
        ]))
        .await,
    );
    assert_eq!(e.code, ErrorCode::InvalidRequest);
    // Request objects are refused, not silently dropped (OIDC Core §6.1, §6.2).
    for (param, code) in [
        ("request", ErrorCode::RequestNotSupported),
        ("request_uri", ErrorCode::RequestUriNotSupported),
    ] {
        let (_, _, e) = redirect_err(
            w.run(&with(&[("response_type", "code"), (param, "x")]))
                .await,
        );
        assert_eq!(e.code, code);
    }
}

#[tokio::test]
async fn audience_picks_the_api_or_says_how_to_register_it() {
    let w = world().await;
    let base = [
        ("client_id", w.web.as_str()),
        ("redirect_uri", CB),
        ("response_type", "code"),
    ];
    let mut p = base.to_vec();
    p.push(("audience", "https://api.example.com"));
    assert_eq!(
        w.run(&p).await.unwrap().api.unwrap().identifier,
        "https://api.example.com"
    );
    let mut u = base.to_vec();
    u.push(("audience", "https://id.example.com/userinfo"));
    assert!(
        w.run(&u).await.unwrap().api.is_none(),
        "the userinfo audience is opaque"
    );
    let mut n = base.to_vec();
    n.push(("audience", "https://nope.example"));
    let (_, _, e) = redirect_err(w.run(&n).await);
    assert_eq!(e.code, ErrorCode::AccessDenied);
    assert!(
        e.description.contains("Service not found")
            && e.description.contains("tessera apis create")
    );
}

#[tokio::test]
async fn pkce_is_s256_only_and_required_of_public_clients() {
    let w = world().await;
    let spa = [
        ("client_id", w.spa.as_str()),
        ("redirect_uri", CB),
        ("response_type", "code"),
    ];
    let (_, _, e) = redirect_err(w.run(&spa).await);
    assert!(e.description.contains("PKCE"));
    let mut ok = spa.to_vec();
    ok.extend([
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    assert_eq!(
        w.run(&ok).await.unwrap().code_challenge,
        Some((CHALLENGE.to_owned(), PkceMethod::S256))
    );
    for (c, m) in [
        (CHALLENGE, "plain"),
        (CHALLENGE, ""),
        ("short", "S256"),
        (
            "has space and is long enough to pass the length check xx",
            "S256",
        ),
    ] {
        let mut p = spa.to_vec();
        p.push(("code_challenge", c));
        if !m.is_empty() {
            p.push(("code_challenge_method", m));
        }
        let (_, _, e) = redirect_err(w.run(&p).await);
        assert_eq!(e.code, ErrorCode::InvalidRequest, "{c} {m}");
    }
}

#[tokio::test]
async fn apps_without_the_grant_type_are_refused() {
    let w = world().await;
    let clock = FixedClock::new(1);
    let spec = manage::AppSpec {
        name: Some("svc".into()),
        app_type: Some("regular".into()),
        callbacks: Some(vec![CB.into()]),
        grant_types: Some(vec!["authorization_code".into()]),
        ..Default::default()
    };
    let (c, _) = Manager::operator(&w.store, &clock, &w.master, "default")
        .create_app(&spec)
        .await
        .unwrap();
    let p = [
        ("client_id", c.client_id.as_str()),
        ("response_type", "token"),
    ];
    let (_, _, e) = redirect_err(w.run(&p).await);
    assert_eq!(e.code, ErrorCode::UnauthorizedClient);
    let ok = [
        ("client_id", c.client_id.as_str()),
        ("response_type", "code"),
    ];
    assert_eq!(
        w.run(&ok).await.unwrap().redirect_uri,
        CB,
        "a single callback is the default"
    );
}

#[test]
fn the_legacy_login_link_maps_onto_authorize() {
    let p: HashMap<String, String> = [
        ("client", "abc"),
        ("protocol", "oauth2"),
        ("response_type", "token"),
        ("scope", "email profile"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let m = from_legacy_login(p);
    assert_eq!(m.get("client_id").map(String::as_str), Some("abc"));
    assert!(!m.contains_key("client") && !m.contains_key("protocol"));
    assert_eq!(m.get("scope").map(String::as_str), Some("email profile"));
}

#[test]
fn responses_are_encoded_for_each_mode_with_iss() {
    let iss = "https://id.example.com/";
    let p = [("code", "abc"), ("state", "a b&c")];
    assert_eq!(
        deliver("https://app/cb", ResponseMode::Query, &p, iss),
        Delivery::Redirect(
            "https://app/cb?code=abc&state=a+b%26c&iss=https%3A%2F%2Fid.example.com%2F".into()
        )
    );
    assert_eq!(
        deliver("https://app/cb?tenant=1", ResponseMode::Query, &p, iss),
        Delivery::Redirect(
            "https://app/cb?tenant=1&code=abc&state=a+b%26c&iss=https%3A%2F%2Fid.example.com%2F"
                .into()
        )
    );
    assert_eq!(
        deliver(
            "https://app/cb",
            ResponseMode::Fragment,
            &[("access_token", "t")],
            iss
        ),
        Delivery::Redirect(
            "https://app/cb#access_token=t&iss=https%3A%2F%2Fid.example.com%2F".into()
        )
    );
    match deliver("https://app/cb", ResponseMode::FormPost, &p, iss) {
        Delivery::FormPost { action, fields } => {
            assert_eq!(action, "https://app/cb");
            assert_eq!(
                fields.last().unwrap(),
                &("iss".to_string(), iss.to_string())
            );
            assert_eq!(fields[1], ("state".to_string(), "a b&c".to_string()));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn errors_are_delivered_to_proven_redirects_only() {
    let w = world().await;
    let r = w
        .run(&[
            ("client_id", &w.web),
            ("redirect_uri", CB),
            ("response_type", "magic"),
            ("state", "s"),
        ])
        .await;
    let Err(e) = r else {
        panic!("expected an error")
    };
    match e.delivery("https://id.example.com/") {
        Some(Delivery::Redirect(url)) => {
            assert!(
                url.starts_with(&format!(
                    "{CB}?error=unsupported_response_type&error_description="
                )),
                "{url}"
            );
            assert!(url.contains("&state=s&iss="), "{url}");
        }
        other => panic!("{other:?}"),
    }
    let page = w.run(&[("client_id", "ghost")]).await.unwrap_err();
    assert!(page.delivery("https://id.example.com/").is_none());
    assert_eq!(page.error().code, ErrorCode::InvalidRequest);
}

#[test]
fn redirect_uris_match_exactly_except_a_loopback_port() {
    let cbs = vec![
        "https://app.example.com/callback".to_owned(),
        "http://127.0.0.1/cb".to_owned(),
        "http://127.0.0.1:3000/cb2".to_owned(),
        "http://localhost/cb".to_owned(),
    ];
    for ok in [
        "https://app.example.com/callback",
        "http://127.0.0.1/cb",
        "http://127.0.0.1:49152/cb",
        "http://127.0.0.1:3000/cb2",
        "http://127.0.0.1:4000/cb2",
        "http://localhost/cb",
    ] {
        assert!(redirect_uri_allowed(&cbs, ok), "{ok}");
    }
    for no in [
        "https://app.example.com:8443/callback",
        "https://app.example.com/callback/",
        // RFC 8252 §8.3: only IP literals get the port exception, not the name localhost.
        "http://localhost:49152/cb",
        "http://127.0.0.1:49152/cb/",
        "http://127.0.0.1:49152/CB",
        "http://127.0.0.1:49152/cb?x",
        "http://127.1:49152/cb",
        "http://127.0.0.1:049152/cb",
        "http://127.0.0.1:80/cb",
        "https://127.0.0.1:49152/cb",
        "http://user@127.0.0.1:49152/cb",
        "http://127.0.0.1:49152/x/../cb",
    ] {
        assert!(!redirect_uri_allowed(&cbs, no), "{no}");
    }
}
