//! `Authorization: Basic` parsing at the token endpoint (RFC 6749 §2.3.1).
//!
//! Properties: a parsed client id is never empty, and any (id, secret) written the way
//! RFC 6749 says (form-encode each, join with `:`, base64) parses back to itself.
#![no_main]

use base64::{Engine, engine::general_purpose::STANDARD};
use libfuzzer_sys::fuzz_target;
use tessera_core::grant::parse_basic_auth;

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok((id, secret)) = parse_basic_auth(s) {
        assert!(!id.is_empty(), "empty client id from {s:?}");
        let _ = secret.expose();
    }

    // Round trip: the input split at its first NUL is an (id, secret) pair.
    let (id, secret) = s.split_once('\0').unwrap_or((s, ""));
    let header = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", encode(id), encode(secret)))
    );
    match parse_basic_auth(&header) {
        Ok((got_id, got_secret)) => {
            assert_eq!(got_id, id);
            assert_eq!(got_secret.expose(), secret);
        }
        Err(_) => assert!(id.is_empty(), "well-formed credentials refused: {header:?}"),
    }
});
