//! Discovery, JWKS stability across restarts, key rotation, health and metrics.

use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn discovery_names_the_issuer_and_endpoints() {
    let app = spawn_app().await;
    let d = app.discovery().await;
    let issuer = app.issuer();
    assert!(issuer.ends_with('/'), "issuer keeps Auth0's trailing slash");
    assert_eq!(d["issuer"], issuer.as_str());
    assert_eq!(d["token_endpoint"], format!("{issuer}oauth/token"));
    assert_eq!(d["jwks_uri"], format!("{issuer}.well-known/jwks.json"));
    assert_eq!(d["authorization_endpoint"], format!("{issuer}authorize"));
    assert_eq!(d["userinfo_endpoint"], format!("{issuer}userinfo"));
    assert_eq!(d["revocation_endpoint"], format!("{issuer}oauth/revoke"));
    assert_eq!(d["end_session_endpoint"], format!("{issuer}oidc/logout"));
    let grants: Vec<&str> = d["grant_types_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for g in [
        "authorization_code",
        "implicit",
        "refresh_token",
        "client_credentials",
    ] {
        assert!(grants.contains(&g), "{g}");
    }
    // The password grants appear once an application allows them.
    assert!(!grants.contains(&"password"), "{grants:?}");
    app.web_app(&["--grant-types", "authorization_code,password"]);
    app.config_settled().await;
    let d = app.discovery().await;
    for g in [
        "password",
        "http://auth0.com/oauth/grant-type/password-realm",
    ] {
        assert!(
            d["grant_types_supported"]
                .as_array()
                .unwrap()
                .contains(&g.into()),
            "{g}"
        );
    }
    assert_eq!(d["response_types_supported"].as_array().unwrap().len(), 7);
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    for field in [
        "response_types_supported",
        "grant_types_supported",
        "scopes_supported",
        "claims_supported",
        "id_token_signing_alg_values_supported",
        "code_challenge_methods_supported",
        "token_endpoint_auth_methods_supported",
    ] {
        assert!(
            d[field].as_array().is_some_and(|a| !a.is_empty()),
            "{field}"
        );
    }
    assert!(
        d["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&"client_secret_basic".into())
    );
}

#[tokio::test]
async fn first_start_creates_an_rs256_key_and_a_private_master_key() {
    let app = spawn_app().await;
    let set: Value = serde_json::from_str(&app.jwks().await).unwrap();
    let keys = set["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["alg"], "RS256");
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["use"], "sig");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(app.dir.path().join("master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let db = std::fs::read(app.dir.path().join("tessera.db")).unwrap();
    let pem_marker = b"PRIVATE KEY";
    assert!(!db.windows(pem_marker.len()).any(|w| w == pem_marker));
}

#[tokio::test]
async fn jwks_is_byte_identical_across_a_restart() {
    let mut app = spawn_app().await;
    app.api("urn:es", &["--signing-alg", "ES256"]);
    let before = app.wait_for_jwks(|s| s.keys.len() == 2).await;
    let bytes_before = app.jwks().await;
    app.restart().await;
    let bytes_after = app.jwks().await;
    assert_eq!(bytes_before, bytes_after);
    assert_eq!(before.keys.len(), 2);
}

#[tokio::test]
async fn a_rotated_key_is_published_next_to_the_old_one_and_signs() {
    let app = spawn_app().await;
    app.api("urn:api", &[]);
    let (id, secret) = app.granted_m2m("urn:api", "read:x");
    let old_token = app.cc_token(&id, &secret, "urn:api").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let old_kid = jsonwebtoken::decode_header(&old_token)
        .unwrap()
        .kid
        .unwrap();

    let rotated = app.cli_json(&["keys", "rotate", "--alg", "RS256"]);
    let new_kid = rotated["kid"].as_str().unwrap().to_owned();
    assert_ne!(new_kid, old_kid);
    let set = app.wait_for_jwks(|s| s.keys.len() == 2).await;
    assert!(set.find(&old_kid).is_some() && set.find(&new_kid).is_some());

    let new_token = app.cc_token(&id, &secret, "urn:api").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        jsonwebtoken::decode_header(&new_token)
            .unwrap()
            .kid
            .unwrap(),
        new_kid
    );
    verify(&app, &old_token, "urn:api").await;
    verify(&app, &new_token, "urn:api").await;

    let keys = app.cli_json(&["keys", "list"]);
    let flags: Vec<(bool, bool)> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["current"].as_bool().unwrap(),
                k["published"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(flags, vec![(true, true), (false, true)]);
}

#[tokio::test]
async fn healthz_and_metrics_answer() {
    let app = spawn_app().await;
    let r = app.http.get(app.url("healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let config = r.headers()["tessera-config"].to_str().unwrap();
    assert!(config.starts_with("current; version="), "{config}");
    // A CLI change: the node says so until it has loaded it (within a second).
    app.api("urn:settle", &[]);
    app.config_settled().await;
    app.http
        .get(app.url(".well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    let text = app
        .http
        .get(app.url("metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("tessera_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/.well-known/jwks.json\""));
}
