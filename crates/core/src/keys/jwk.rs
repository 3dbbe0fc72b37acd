//! Private signing keys (RSA-2048, P-256, Ed25519 via aws-lc-rs), kept parsed in memory, and
//! their public JWKs (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2) with RFC 7638 thumbprints as `kid`.

use aws_lc_rs::{
    digest,
    encoding::AsDer,
    rsa::KeySize,
    signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
        RsaKeyPair,
    },
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::model::SigningAlg;

/// A parsed private key, ready to sign.
pub enum PrivateKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({})", self.alg().as_str())
    }
}

impl PrivateKey {
    /// A fresh key for an asymmetric algorithm; `None` for HS256.
    pub fn generate(alg: SigningAlg) -> Option<Self> {
        Some(match alg {
            SigningAlg::RS256 => Self::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).ok()?),
            SigningAlg::ES256 => {
                Self::Ec(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).ok()?)
            }
            SigningAlg::EdDSA => Self::Ed(Ed25519KeyPair::generate().ok()?),
            SigningAlg::HS256 => return None,
        })
    }

    pub fn from_pkcs8(alg: SigningAlg, der: &[u8]) -> Option<Self> {
        Some(match alg {
            SigningAlg::RS256 => Self::Rsa(RsaKeyPair::from_pkcs8(der).ok()?),
            SigningAlg::ES256 => {
                Self::Ec(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).ok()?)
            }
            SigningAlg::EdDSA => Self::Ed(Ed25519KeyPair::from_pkcs8(der).ok()?),
            SigningAlg::HS256 => return None,
        })
    }

    pub fn to_pkcs8(&self) -> Vec<u8> {
        // Serialising a key we hold only fails on allocation failure.
        match self {
            Self::Rsa(k) => AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(k)
                .expect("RSA PKCS#8")
                .as_ref()
                .to_vec(),
            Self::Ec(k) => k.to_pkcs8v1().expect("EC PKCS#8").as_ref().to_vec(),
            Self::Ed(k) => k.to_pkcs8().expect("Ed25519 PKCS#8").as_ref().to_vec(),
        }
    }

    pub fn alg(&self) -> SigningAlg {
        match self {
            Self::Rsa(_) => SigningAlg::RS256,
            Self::Ec(_) => SigningAlg::ES256,
            Self::Ed(_) => SigningAlg::EdDSA,
        }
    }

    /// The JWS signature over `msg` (RFC 7518 §3.3, §3.4 fixed-width R‖S; RFC 8037 §3.1).
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        // Signing with a valid in-memory key only fails on allocation failure.
        match self {
            Self::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, msg, &mut sig)
                    .expect("RSA signature");
                sig
            }
            Self::Ec(k) => k
                .sign(&rng, msg)
                .expect("ECDSA signature")
                .as_ref()
                .to_vec(),
            Self::Ed(k) => k.sign(msg).as_ref().to_vec(),
        }
    }

    /// The public key as aws-lc-rs verifies it: DER RSAPublicKey, an uncompressed P-256 point,
    /// or the 32 Ed25519 bytes.
    pub fn public_key_bytes(&self) -> Vec<u8> {
        match self {
            Self::Rsa(k) => k.public_key().as_ref().to_vec(),
            Self::Ec(k) => k.public_key().as_ref().to_vec(),
            Self::Ed(k) => k.public_key().as_ref().to_vec(),
        }
    }

    /// The RFC 7638 required members, in lexicographic order, base64url values.
    fn required_members(&self) -> Vec<(&'static str, String)> {
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        match self {
            Self::Rsa(k) => {
                let pk = k.public_key();
                vec![
                    ("e", b64(pk.exponent().big_endian_without_leading_zero())),
                    ("kty", "RSA".into()),
                    ("n", b64(pk.modulus().big_endian_without_leading_zero())),
                ]
            }
            Self::Ec(k) => {
                // Uncompressed point: 0x04 ‖ X(32) ‖ Y(32).
                let point = k.public_key().as_ref();
                vec![
                    ("crv", "P-256".into()),
                    ("kty", "EC".into()),
                    ("x", b64(&point[1..33])),
                    ("y", b64(&point[33..65])),
                ]
            }
            Self::Ed(k) => vec![
                ("crv", "Ed25519".into()),
                ("kty", "OKP".into()),
                ("x", b64(k.public_key().as_ref())),
            ],
        }
    }

    /// The RFC 7638 thumbprint: the `kid` Tessera gives this key.
    pub fn kid(&self) -> String {
        thumbprint(&self.required_members())
    }

    /// The public JWK as published: `kty`, `use`, `alg`, `kid` and the key members.
    pub fn public_jwk(&self) -> String {
        let mut obj = serde_json::Map::new();
        let members = self.required_members();
        let kty = members
            .iter()
            .find(|(k, _)| *k == "kty")
            .map(|(_, v)| v.clone());
        obj.insert("kty".into(), kty.unwrap_or_default().into());
        obj.insert("use".into(), "sig".into());
        obj.insert("alg".into(), self.alg().as_str().into());
        obj.insert("kid".into(), self.kid().into());
        for (k, v) in members.into_iter().filter(|(k, _)| *k != "kty") {
            obj.insert(k.into(), v.into());
        }
        serde_json::Value::Object(obj).to_string()
    }
}

/// SHA-256 over the canonical JSON of the required members (RFC 7638 §3), base64url.
pub fn thumbprint(members: &[(&str, String)]) -> String {
    let body: Vec<String> = members
        .iter()
        .map(|(k, v)| {
            format!(
                "{}:{}",
                serde_json::Value::from(*k),
                serde_json::Value::from(v.as_str())
            )
        })
        .collect();
    let canonical = format!("{{{}}}", body.join(","));
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1's example key.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let members = [
            ("e", "AQAB".to_string()),
            ("kty", "RSA".to_string()),
            ("n", n.to_string()),
        ];
        assert_eq!(
            thumbprint(&members),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn keys_round_trip_through_pkcs8_with_the_same_kid() {
        for alg in SigningAlg::ASYMMETRIC {
            let k = PrivateKey::generate(alg).unwrap();
            let again = PrivateKey::from_pkcs8(alg, &k.to_pkcs8()).unwrap();
            assert_eq!(k.kid(), again.kid());
            assert_eq!(k.public_jwk(), again.public_jwk());
            let jwk: serde_json::Value = serde_json::from_str(&k.public_jwk()).unwrap();
            assert_eq!(jwk["alg"], alg.as_str());
            assert_eq!(jwk["kid"], k.kid());
        }
        assert!(PrivateKey::generate(SigningAlg::HS256).is_none());
        assert!(PrivateKey::from_pkcs8(SigningAlg::RS256, b"garbage").is_none());
    }
}
