//! `/authorize` query strings: the form parser, the legacy `/login` mapping and the full
//! request validation against an in-memory tenant.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::authorize::{self, AuthorizeError};
use tessera_fuzz::{ISSUER, WORLD, form_params};

fuzz_target!(|data: &[u8]| {
    let w = &*WORLD;
    let Ok(params) = form_params(data) else {
        return;
    };
    // The legacy hosted-page link keeps every parameter but `client` and `protocol`.
    let legacy = authorize::from_legacy_login(params.clone());
    assert!(!legacy.contains_key("protocol"));
    assert!(!legacy.contains_key("client"));
    if let Some(id) = params.get("client_id") {
        assert_eq!(legacy.get("client_id"), Some(id));
    } else if let Some(c) = params.get("client") {
        assert_eq!(legacy.get("client_id"), Some(c));
    }

    // Validate the mapped parameters: the same as the original unless it used `client`.
    let mut params = legacy;
    w.resolve_client_id(&mut params);
    let result =
        w.rt.block_on(authorize::validate(&w.store, None, &w.tenant, &params));
    if std::env::var_os("FUZZ_DEBUG").is_some() {
        eprintln!("{result:?}");
    }
    match &result {
        Ok(req) => {
            // Only a proven redirect URI comes out: a registered one, or the only one.
            let client = w.client(&req.client.client_id).expect("known client");
            assert!(
                authorize::client_redirect_allowed(&client, &req.redirect_uri)
                    || (!req.redirect_uri_given && client.callbacks == [req.redirect_uri.clone()]),
                "unregistered redirect_uri accepted: {:?}",
                req.redirect_uri
            );
            if req.response_type.code && client.is_public() {
                assert!(req.code_challenge.is_some(), "public client without PKCE");
            }
            if let Some((c, _)) = &req.code_challenge {
                assert!(authorize::pkce_well_formed(c));
            }
            if req.response_type.id_token {
                assert!(req.nonce.is_some() && req.scopes.iter().any(|s| s == "openid"));
            }
            let _ = req
                .error(tessera_core::OAuthError::invalid_request("x"))
                .delivery(ISSUER);
        }
        Err(e @ AuthorizeError::Page(_)) => assert!(e.delivery(ISSUER).is_none()),
        Err(e @ AuthorizeError::Redirect { redirect_uri, .. }) => {
            // Errors are only ever redirected to a callback of the named client.
            let id = params.get("client_id").map(String::as_str).unwrap_or("");
            let client = w.client(id).expect("redirect for an unknown client");
            assert!(
                authorize::client_redirect_allowed(&client, redirect_uri)
                    || client.callbacks == [redirect_uri.clone()],
                "error redirected to an unregistered URI: {redirect_uri:?}"
            );
            assert!(e.delivery(ISSUER).is_some());
        }
    }
});
