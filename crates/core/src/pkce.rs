//! Proof Key for Code Exchange (RFC 7636): the challenge methods and the verifier check, used
//! when `/authorize` takes a challenge and when the token endpoint redeems the code.

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PkceMethod {
    S256,
    #[serde(rename = "plain")]
    Plain,
}

impl PkceMethod {
    /// Does `verifier` answer `challenge` (RFC 7636 §4.6)? Constant time.
    pub fn verify(self, challenge: &str, verifier: &str) -> bool {
        use subtle::ConstantTimeEq;
        let computed = match self {
            Self::S256 => {
                use base64::Engine;
                let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref())
            }
            Self::Plain => verifier.to_owned(),
        };
        computed.as_bytes().ct_eq(challenge.as_bytes()).into()
    }
}

/// A code verifier or challenge: 43 to 128 characters of `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
pub fn pkce_well_formed(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}
