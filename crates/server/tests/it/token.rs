//! `POST /oauth/token` with client credentials: verification against the JWKS, each
//! algorithm and dialect, both body formats and both client authentication methods, and every
//! error with its code and status.

use base64::Engine;
use serde_json::{Value, json};

use crate::support::*;

const API: &str = "https://api.example.com";

#[tokio::test]
async fn client_credentials_rs256_token_verifies_against_the_jwks() {
    let app = spawn_app().await;
    app.api(API, &[]);
    let (id, secret) = app.granted_m2m(API, "read:x");
    let r = app.cc_request(&id, &secret, API).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let why = r.headers()["tessera-token-format"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(why.starts_with("jwt;") && why.contains(API), "{why}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 86_400);
    assert_eq!(body["scope"], "read:x");
    let (header, claims) = verify(&app, body["access_token"].as_str().unwrap(), API).await;
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(claims["sub"], format!("{id}@clients"));
    assert_eq!(claims["azp"], id.as_str());
    assert_eq!(claims["gty"], "client-credentials");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        86_400
    );
}

#[tokio::test]
async fn es256_and_eddsa_apis_sign_with_their_own_keys() {
    let app = spawn_app().await;
    for (identifier, alg, jalg) in [
        ("urn:es", "ES256", jsonwebtoken::Algorithm::ES256),
        ("urn:ed", "EdDSA", jsonwebtoken::Algorithm::EdDSA),
    ] {
        app.api(
            identifier,
            &["--signing-alg", alg, "--token-lifetime", "600"],
        );
        app.wait_for_jwks(|set| {
            set.keys
                .iter()
                .any(|k| k.common.key_algorithm.map(|a| format!("{a:?}")) == Some(alg.to_string()))
        })
        .await;
        let (id, secret) = app.granted_m2m(identifier, "write:x");
        let body = app.cc_token(&id, &secret, identifier).await;
        assert_eq!(body["expires_in"], 600);
        let (header, claims) =
            verify(&app, body["access_token"].as_str().unwrap(), identifier).await;
        assert_eq!(header.alg, jalg);
        assert_eq!(claims["scope"], "write:x");
    }
}

#[tokio::test]
async fn hs256_api_signs_with_its_own_secret() {
    let app = spawn_app().await;
    let api = app.api("urn:hs", &["--signing-alg", "HS256"]);
    let secret_of_api = api["signing_secret"]
        .as_str()
        .expect("HS256 API shows its signing secret")
        .to_owned();
    let (id, secret) = app.granted_m2m("urn:hs", "read:x");
    let body = app.cc_token(&id, &secret, "urn:hs").await;
    let token = body["access_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::HS256);
    assert!(header.kid.is_none());
    let claims = verify_hs256(token, &secret_of_api, "urn:hs", &app.issuer());
    assert_eq!(claims["sub"], format!("{id}@clients"));
}

#[tokio::test]
async fn each_dialect_has_its_exact_claim_set() {
    let app = spawn_app().await;
    let cases = [
        (
            "access_token",
            "JWT",
            vec!["aud", "azp", "exp", "gty", "iat", "iss", "scope", "sub"],
        ),
        (
            "access_token_authz",
            "JWT",
            vec![
                "aud",
                "azp",
                "exp",
                "gty",
                "iat",
                "iss",
                "permissions",
                "scope",
                "sub",
            ],
        ),
        (
            "rfc9068_profile",
            "at+jwt",
            vec![
                "aud",
                "client_id",
                "exp",
                "iat",
                "iss",
                "jti",
                "scope",
                "sub",
            ],
        ),
        (
            "rfc9068_profile_authz",
            "at+jwt",
            vec![
                "aud",
                "client_id",
                "exp",
                "iat",
                "iss",
                "jti",
                "permissions",
                "scope",
                "sub",
            ],
        ),
    ];
    for (dialect, typ, expected) in cases {
        let identifier = format!("urn:{dialect}");
        app.api(&identifier, &["--token-dialect", dialect]);
        let (id, secret) = app.granted_m2m(&identifier, "read:x,write:x");
        let body = app.cc_token(&id, &secret, &identifier).await;
        let (header, claims) =
            verify(&app, body["access_token"].as_str().unwrap(), &identifier).await;
        assert_eq!(header.typ.as_deref(), Some(typ), "{dialect}");
        assert_eq!(claim_names(&claims), expected, "{dialect}");
        assert_eq!(claims["sub"], format!("{id}@clients"), "{dialect}");
        assert_eq!(claims["aud"], identifier.as_str(), "{dialect}");
        assert_eq!(claims["scope"], "read:x write:x", "{dialect}");
        if dialect.ends_with("_authz") {
            assert_eq!(
                claims["permissions"],
                json!(["read:x", "write:x"]),
                "{dialect}"
            );
        }
        if dialect.starts_with("rfc9068") {
            assert_eq!(claims["client_id"], id.as_str());
        } else {
            assert_eq!(claims["gty"], "client-credentials");
        }
    }
}

#[tokio::test]
async fn json_body_basic_auth_and_scope_intersection() {
    let app = spawn_app().await;
    app.api(API, &[]);
    let (id, secret) = app.granted_m2m(API, "read:x,write:x");

    // JSON body, as Auth0's SDKs send it.
    let r = app
        .http
        .post(app.url("oauth/token"))
        .json(&json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret, "audience": API, "scope": "write:x admin:all"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["scope"], "write:x",
        "requested scopes are intersected with the grant"
    );

    // client_secret_basic with a form body, for an app registered for it.
    let basic_app = app.cli_json(&[
        "apps",
        "create",
        "--name",
        "basic",
        "--type",
        "m2m",
        "--auth-method",
        "client_secret_basic",
    ]);
    let (bid, bsecret) = (
        basic_app["client_id"].as_str().unwrap(),
        basic_app["client_secret"].as_str().unwrap(),
    );
    app.cli_json(&[
        "apps",
        "grant",
        bid,
        "--audience",
        API,
        "--scopes",
        "read:x",
    ]);
    let send_basic = |cid: &str, sec: &str| {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{cid}:{sec}"));
        app.http
            .post(app.url("oauth/token"))
            .header("authorization", format!("Basic {basic}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=client_credentials&audience={}",
                urlencode(API)
            ))
            .send()
    };
    let r = send_basic(bid, bsecret).await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    verify(&app, body["access_token"].as_str().unwrap(), API).await;

    // Either way works for either registration (RFC 6749 §2.3.1); `client_auth` tests the
    // whole matrix and the strict switch.
    assert_eq!(send_basic(&id, &secret).await.unwrap().status(), 200);
    assert_eq!(app.cc_request(bid, bsecret, API).await.status(), 200);
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap()[2..].to_owned()
}

async fn expect_error(
    r: reqwest::Response,
    status: u16,
    code: &str,
) -> (reqwest::header::HeaderMap, String) {
    assert_eq!(r.status(), status);
    let headers = r.headers().clone();
    assert_eq!(headers["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], code, "{body}");
    (
        headers,
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn every_error_has_its_code_and_status() {
    let app = spawn_app().await;
    app.api(API, &[]);
    app.api("urn:ungranted", &[]);
    let (id, secret) = app.granted_m2m(API, "read:x");
    let cc = ("grant_type", "client_credentials");

    // Wrong secret and unknown client: 401 invalid_client with WWW-Authenticate.
    for (cid, sec) in [(id.as_str(), "wrong"), ("no-such-client", "x")] {
        let r = app.cc_request(cid, sec, API).await;
        let (h, _) = expect_error(r, 401, "invalid_client").await;
        assert!(h["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    }
    // Malformed Basic header.
    let r = app
        .http
        .post(app.url("oauth/token"))
        .header("authorization", "Basic %%%")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    expect_error(r, 401, "invalid_client").await;

    // Unknown audience: access_denied that says how to register the API.
    let r = app.cc_request(&id, &secret, "https://nope.example").await;
    let (_, d) = expect_error(r, 403, "access_denied").await;
    assert!(
        d.contains("Service not found: https://nope.example") && d.contains("tessera apis create"),
        "{d}"
    );

    // A registered API the app has no grant for.
    let r = app.cc_request(&id, &secret, "urn:ungranted").await;
    let (_, d) = expect_error(r, 403, "access_denied").await;
    assert!(d.contains("tessera apps grant"), "{d}");

    // An app whose grant types exclude client_credentials.
    let web = app.cli_json(&[
        "apps",
        "create",
        "--name",
        "web",
        "--type",
        "regular",
        "--callbacks",
        "https://app.example/cb",
        "--grant-types",
        "authorization_code",
    ]);
    let r = app
        .token_form(&[
            cc,
            ("client_id", web["client_id"].as_str().unwrap()),
            ("client_secret", web["client_secret"].as_str().unwrap()),
            ("audience", API),
        ])
        .await;
    expect_error(r, 403, "unauthorized_client").await;

    // Unsupported grant type; missing grant type; missing audience.
    let r = app
        .token_form(&[("grant_type", "urn:example:magic"), ("client_id", &id)])
        .await;
    expect_error(r, 400, "unsupported_grant_type").await;
    let r = app
        .token_form(&[("client_id", &id), ("client_secret", &secret)])
        .await;
    let (_, d) = expect_error(r, 400, "invalid_request").await;
    assert!(d.contains("grant_type"));
    let r = app
        .token_form(&[cc, ("client_id", &id), ("client_secret", &secret)])
        .await;
    let (_, d) = expect_error(r, 400, "invalid_request").await;
    assert!(d.contains("audience"));

    // Malformed bodies: bad JSON, a JSON array, a repeated parameter, an unknown content type.
    let post = |ct: &'static str, body: &'static str| {
        app.http
            .post(app.url("oauth/token"))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    expect_error(
        post("application/json", "{\"grant_type\":").await.unwrap(),
        400,
        "invalid_request",
    )
    .await;
    expect_error(
        post("application/json", "[1]").await.unwrap(),
        400,
        "invalid_request",
    )
    .await;
    expect_error(
        post(
            "application/x-www-form-urlencoded",
            "grant_type=a&grant_type=b",
        )
        .await
        .unwrap(),
        400,
        "invalid_request",
    )
    .await;
    expect_error(
        post("text/plain", "grant_type=client_credentials")
            .await
            .unwrap(),
        400,
        "invalid_request",
    )
    .await;

    // Two authentication methods at once.
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let r = app
        .http
        .post(app.url("oauth/token"))
        .header("authorization", format!("Basic {basic}"))
        .body(format!(
            "grant_type=client_credentials&client_secret={secret}&audience={}",
            urlencode(API)
        ))
        .send()
        .await
        .unwrap();
    expect_error(r, 401, "invalid_client").await;

    // Wrong method, oversized body: client errors, never 500.
    let r = app.http.get(app.url("oauth/token")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let r = app
        .http
        .post(app.url("oauth/token"))
        .body("a=".repeat(40_000))
        .send()
        .await
        .unwrap();
    expect_error(r, 413, "invalid_request").await;
}

#[tokio::test]
async fn a_scope_the_api_no_longer_defines_is_no_longer_granted() {
    let app = spawn_app().await;
    app.api(API, &[]);
    let (id, secret) = app.granted_m2m(API, "read:x,write:x");
    app.cli_json(&["apis", "update", API, "--scopes", "read:x"]);
    app.config_settled().await;
    let body = app.cc_token(&id, &secret, API).await;
    assert_eq!(body["scope"], "read:x");
    let (_, claims) = verify(&app, body["access_token"].as_str().unwrap(), API).await;
    assert_eq!(claims["scope"], "read:x");
}
