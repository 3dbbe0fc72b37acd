//! Secrets: newtypes with a redacted `Debug` and no `Clone`, random generation, and the
//! hash-then-compare-in-constant-time rule for client secrets and opaque tokens.

use std::fmt;

use aws_lc_rs::{digest, rand::SecureRandom};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use subtle::ConstantTimeEq;

/// A secret in the clear (a client secret at creation, a password, a token). Never logged.
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// `bytes` random bytes, base64url without padding.
    pub fn random(bytes: usize) -> Self {
        Self(URL_SAFE_NO_PAD.encode(random_bytes(bytes)))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SHA-256 of the secret, the only form that is stored.
    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The stored form of a high-entropy secret: lowercase hex SHA-256.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct SecretHash(String);

impl SecretHash {
    pub fn of(secret: &str) -> Self {
        Self(hex::encode(digest::digest(
            &digest::SHA256,
            secret.as_bytes(),
        )))
    }

    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Does `candidate` hash to this value? Constant time in the compared bytes.
    pub fn matches(&self, candidate: &str) -> bool {
        let other = Self::of(candidate);
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(<redacted>)")
    }
}

/// Cryptographically random bytes from the system generator.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // The system RNG only fails if the OS has no entropy source at all; nothing can go on then.
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut buf)
        .expect("the operating system's random number generator failed");
    buf
}

/// A random identifier of `n` characters from `[a-zA-Z0-9]`, like Auth0's client ids.
pub fn random_alphanumeric(n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // 248 = 4 * 62: rejecting bytes >= 248 keeps the distribution uniform.
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in random_bytes(n * 2) {
            if b < 248 && out.len() < n {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_only_its_secret() {
        let s = Secret::random(32);
        let h = s.hash();
        assert!(h.matches(s.expose()));
        assert!(!h.matches("something else"));
        assert_eq!(h.as_str().len(), 64);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{:?}", s.hash()).contains(s.hash().as_str()));
    }

    #[test]
    fn alphanumeric_ids_have_the_asked_length_and_alphabet() {
        let id = random_alphanumeric(32);
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(id, random_alphanumeric(32));
    }
}
