//! Verification of JWS compact tokens Tessera signed itself (RFC 7515 §5.2): the ID token in an
//! `id_token_hint`, a JWT access token at `/userinfo`. The algorithm comes from the key, never
//! from the token's header alone (no `alg: none`, no RS/HS confusion).

use aws_lc_rs::{hmac, signature};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::Value;

use super::KeyRing;
use crate::model::SigningAlg;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the token is not a well-formed JWS")]
    Malformed,
    #[error("the token was not signed by a key of this tenant")]
    UnknownKey,
    #[error("the token's signature does not verify")]
    BadSignature,
}

/// The header's `alg` and `kid`, unverified.
pub fn jwt_header(token: &str) -> Result<(String, Option<String>), JwtError> {
    let header = token.split('.').next().ok_or(JwtError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| JwtError::Malformed)?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)?;
    let alg = v["alg"].as_str().ok_or(JwtError::Malformed)?.to_owned();
    Ok((alg, v["kid"].as_str().map(str::to_owned)))
}

/// Splits into the signed part, the decoded signature and the decoded claims.
fn parts(token: &str) -> Result<(&str, Vec<u8>, Value), JwtError> {
    let (signed, sig) = token.rsplit_once('.').ok_or(JwtError::Malformed)?;
    let (_, payload) = signed.split_once('.').ok_or(JwtError::Malformed)?;
    if payload.contains('.') {
        return Err(JwtError::Malformed);
    }
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| JwtError::Malformed)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| JwtError::Malformed)?;
    let claims: Value = serde_json::from_slice(&payload).map_err(|_| JwtError::Malformed)?;
    if !claims.is_object() {
        return Err(JwtError::Malformed);
    }
    Ok((signed, sig, claims))
}

/// Verifies a token signed by one of the ring's keys (chosen by `kid`) and returns its claims.
/// Claims (`iss`, `exp`, `aud`) are the caller's to check.
pub fn verify_with(ring: &KeyRing, token: &str) -> Result<Value, JwtError> {
    let (alg, kid) = jwt_header(token)?;
    let (key_alg, public) = kid
        .as_deref()
        .and_then(|k| ring.verifier(k))
        .ok_or(JwtError::UnknownKey)?;
    if alg != key_alg.as_str() {
        return Err(JwtError::BadSignature);
    }
    let (signed, sig, claims) = parts(token)?;
    let algorithm: &dyn signature::VerificationAlgorithm = match key_alg {
        SigningAlg::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        SigningAlg::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
        SigningAlg::EdDSA => &signature::ED25519,
        SigningAlg::HS256 => return Err(JwtError::UnknownKey),
    };
    signature::UnparsedPublicKey::new(algorithm, public)
        .verify(signed.as_bytes(), &sig)
        .map_err(|_| JwtError::BadSignature)?;
    Ok(claims)
}

/// Verifies an HS256 token with an API's secret.
pub fn verify_hmac(secret: &[u8], token: &str) -> Result<Value, JwtError> {
    let (alg, _) = jwt_header(token)?;
    if alg != "HS256" {
        return Err(JwtError::BadSignature);
    }
    let (signed, sig, claims) = parts(token)?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    hmac::verify(&key, signed.as_bytes(), &sig).map_err(|_| JwtError::BadSignature)?;
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{MasterKey, Signer, new_key_record, sign_compact};
    use serde_json::json;

    fn ring() -> KeyRing {
        let master = MasterKey::generate();
        let recs: Vec<_> = SigningAlg::ASYMMETRIC
            .iter()
            .map(|a| new_key_record("t", *a, &master, 1).unwrap())
            .collect();
        KeyRing::load(&recs, &master, 1).unwrap()
    }

    #[test]
    fn own_tokens_verify_and_tampering_is_caught() {
        let ring = ring();
        for alg in SigningAlg::ASYMMETRIC {
            let (kid, key) = ring.signer(alg).unwrap();
            let t = sign_compact(Signer::Key(key), "JWT", Some(kid), &json!({"sub": "u"})).unwrap();
            assert_eq!(verify_with(&ring, &t).unwrap()["sub"], "u");
            let (signed, _) = t.rsplit_once('.').unwrap();
            let (header, _) = signed.split_once('.').unwrap();
            let forged = format!(
                "{header}.{}.{}",
                URL_SAFE_NO_PAD.encode(br#"{"sub":"admin"}"#),
                t.rsplit_once('.').unwrap().1
            );
            assert_eq!(verify_with(&ring, &forged), Err(JwtError::BadSignature));
        }
    }

    #[test]
    fn foreign_keys_alg_none_and_hmac_confusion_are_refused() {
        let ring = ring();
        let other = self::ring();
        let (kid, key) = other.signer(SigningAlg::ES256).unwrap();
        let t = sign_compact(Signer::Key(key), "JWT", Some(kid), &json!({"sub": "u"})).unwrap();
        assert_eq!(verify_with(&ring, &t), Err(JwtError::UnknownKey));

        let (kid, _) = ring.signer(SigningAlg::RS256).unwrap();
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","kid":"{kid}"}}"#)),
            URL_SAFE_NO_PAD.encode(br#"{"sub":"u"}"#)
        );
        assert_eq!(verify_with(&ring, &none), Err(JwtError::BadSignature));
        let hs = sign_compact(Signer::Hmac(b"k"), "JWT", Some(kid), &json!({"sub": "u"})).unwrap();
        assert_eq!(verify_with(&ring, &hs), Err(JwtError::BadSignature));
        assert_eq!(verify_hmac(b"k", &hs).unwrap()["sub"], "u");
        assert_eq!(verify_hmac(b"other", &hs), Err(JwtError::BadSignature));
        assert_eq!(verify_with(&ring, "a.b"), Err(JwtError::Malformed));
    }
}
