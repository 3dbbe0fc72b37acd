//! `/oauth/token` bodies: form or JSON, with an optional `Authorization` header, then the
//! client credentials the request presents.
//!
//! Input: byte 0 picks the parser (even: form, odd: JSON) and whether a header is present
//! (bit 1); with a header, the bytes up to the first `\n` are the header, the rest the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::grant::{ClientCredentials, MAX_BODY, TokenRequest};
use tessera_fuzz::split_once;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (authorization, body) = if sel & 2 != 0 {
        match split_once(rest, b'\n') {
            (h, Some(body)) => (Some(String::from_utf8_lossy(h).into_owned()), body),
            (body, None) => (None, body),
        }
    } else {
        (None, rest)
    };
    if body.len() > MAX_BODY {
        return; // the server refuses these before parsing
    }
    let parsed = if sel & 1 == 0 {
        TokenRequest::from_form(body, authorization.clone())
    } else {
        TokenRequest::from_json(body, authorization.clone())
    };
    let Ok(req) = parsed else {
        return;
    };
    assert_eq!(req.authorization, authorization);
    // Empty values count as absent.
    for name in [
        "grant_type",
        "client_id",
        "client_secret",
        "code",
        "scope",
        "audience",
    ] {
        if let Some(v) = req.get(name) {
            assert!(!v.is_empty(), "empty {name} kept");
            assert_eq!(req.require(name).ok(), Some(v));
        } else {
            assert!(req.require(name).is_err());
        }
    }
    let _ = req.grant_type();
    let _ = format!("{req:?}");
    if let Ok(creds) = ClientCredentials::from_request(&req) {
        assert!(!creds.client_id.is_empty());
        if let Some(body_id) = req.get("client_id") {
            assert_eq!(
                body_id, creds.client_id,
                "two different client ids accepted"
            );
        }
    }
});
