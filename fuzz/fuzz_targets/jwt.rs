//! JWS compact tokens: `jwt_header`, `verify_hmac` and `verify_with` against a key ring of
//! freshly generated RS256, ES256 and EdDSA keys (made once per process).
//!
//! Input: byte 0 picks a mode, the rest is the material.
//! - mode 0: the rest is the token, as is. Nothing may verify.
//! - mode 1: a token with a real header (`alg` and `kid` of one of the ring's keys, or HS256),
//!   the payload and the signature from the input (split at the first `\n`). Nothing may
//!   verify.
//! - mode 2: a genuine token with some bytes overwritten from the input. It may only verify
//!   if it is still exactly the genuine token.
#![no_main]

use std::sync::LazyLock;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use libfuzzer_sys::fuzz_target;
use tessera_core::{
    keys::{
        JwtError, KeyRing, MasterKey, Signer, jwt_header, new_key_record, sign_compact,
        verify_hmac, verify_with,
    },
    model::SigningAlg,
};
use tessera_fuzz::split_once;

const HMAC_SECRET: &[u8] = b"secret";

struct Keys {
    ring: KeyRing,
    /// (alg, kid) of every key in the ring.
    kids: Vec<(&'static str, String)>,
    /// Tokens the ring (or the HMAC secret) really signed.
    genuine: Vec<String>,
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    let master = MasterKey::generate();
    let recs: Vec<_> = SigningAlg::ASYMMETRIC
        .iter()
        .map(|a| new_key_record("t", *a, &master, 1).expect("key"))
        .collect();
    let ring = KeyRing::load(&recs, &master, 1).expect("ring");
    let claims =
        serde_json::json!({"sub": "user", "aud": "https://api.example.com", "exp": 2_000_000_000});
    let mut kids = Vec::new();
    let mut genuine = Vec::new();
    for alg in SigningAlg::ASYMMETRIC {
        let (kid, key) = ring.signer(alg).expect("signer");
        kids.push((alg.as_str(), kid.to_owned()));
        genuine.push(sign_compact(Signer::Key(key), "JWT", Some(kid), &claims).expect("sign"));
    }
    genuine.push(sign_compact(Signer::Hmac(HMAC_SECRET), "JWT", None, &claims).expect("sign"));
    Keys {
        ring,
        kids,
        genuine,
    }
});

/// Runs all three functions; returns whether either verifier accepted the token.
fn check(keys: &Keys, token: &str) -> bool {
    let header = jwt_header(token);
    let with = verify_with(&keys.ring, token);
    let hmac = verify_hmac(HMAC_SECRET, token);
    if header.is_err() {
        // No header, nothing to verify against.
        assert_eq!(with, Err(JwtError::Malformed));
        assert_eq!(hmac, Err(JwtError::Malformed));
    }
    if let Ok(claims) = with.as_ref().or(hmac.as_ref()) {
        assert!(claims.is_object());
    }
    with.is_ok() || hmac.is_ok()
}

fuzz_target!(|data: &[u8]| {
    let keys = &*KEYS;
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            let token = String::from_utf8_lossy(rest);
            assert!(!check(keys, &token), "a random token verified: {token:?}");
        }
        1 => {
            let Some((&pick, rest)) = rest.split_first() else {
                return;
            };
            let (payload, sig) = split_once(rest, b'\n');
            let header = match keys.kids.get(pick as usize % (keys.kids.len() + 1)) {
                Some((alg, kid)) => format!(r#"{{"alg":"{alg}","kid":"{kid}","typ":"JWT"}}"#),
                None => r#"{"alg":"HS256","typ":"JWT"}"#.to_owned(),
            };
            let token = format!(
                "{}.{}.{}",
                URL_SAFE_NO_PAD.encode(header),
                URL_SAFE_NO_PAD.encode(payload),
                URL_SAFE_NO_PAD.encode(sig.unwrap_or_default())
            );
            assert!(!check(keys, &token), "a forged token verified: {token:?}");
        }
        _ => {
            // pick, offset (2 bytes), then the replacement bytes.
            let [pick, hi, lo, patch @ ..] = rest else {
                return;
            };
            let original = &keys.genuine[*pick as usize % keys.genuine.len()];
            let mut bytes = original.as_bytes().to_vec();
            let at = (usize::from(*hi) << 8 | usize::from(*lo)) % bytes.len();
            for (i, b) in patch.iter().enumerate() {
                match bytes.get_mut(at + i) {
                    Some(slot) => *slot = *b,
                    None => bytes.push(*b),
                }
            }
            let token = String::from_utf8_lossy(&bytes);
            if check(keys, &token) {
                assert_eq!(&*token, original, "a tampered token verified");
            }
        }
    }
});
