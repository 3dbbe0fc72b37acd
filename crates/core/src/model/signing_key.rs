//! A stored signing key: the private key encrypted with the master key, the public JWK in the
//! clear (so the published JWKS is the same bytes on every start).

use serde::{Deserialize, Serialize};

use super::{ResourceServer, SigningAlg};

/// How long a rotated-out key stays in the JWKS: the longest lifetime any token can have.
pub const PUBLISH_AFTER_ROTATION: i64 = ResourceServer::MAX_TOKEN_LIFETIME;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// Signs new tokens for its algorithm.
    Current,
    /// Rotated out: still published so tokens it signed keep verifying.
    Previous,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Previous => "previous",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "current" => Some(Self::Current),
            "previous" => Some(Self::Previous),
            _ => None,
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub tenant_id: String,
    /// RFC 7638 JWK thumbprint.
    pub kid: String,
    pub alg: SigningAlg,
    pub status: KeyStatus,
    pub created_at: i64,
    /// When it stopped being current.
    pub rotated_at: Option<i64>,
    /// PKCS#8 DER, AES-256-GCM under the master key.
    pub private_enc: Vec<u8>,
    /// The public JWK as published (a JSON object).
    pub public_jwk: String,
}

impl SigningKeyRecord {
    /// The Management API shape (`/api/v2/keys/signing`); Tessera's keys carry no X.509
    /// certificate, so `cert`, `pkcs7` and `fingerprint` are absent.
    pub fn management_json(&self, now: i64) -> serde_json::Value {
        serde_json::json!({
            "kid": self.kid,
            "alg": self.alg.as_str(),
            "thumbprint": self.kid,
            "current": self.status == KeyStatus::Current,
            "next": false,
            "previous": self.status == KeyStatus::Previous,
            "revoked": false,
            "published": self.is_published(now),
            "current_since": crate::time::rfc3339(self.created_at),
            "current_until": self.rotated_at.map(crate::time::rfc3339),
        })
    }

    /// Is the key in the JWKS at `now`? Current keys are; a rotated-out key stays for
    /// [`PUBLISH_AFTER_ROTATION`] so every token it signed can still be verified.
    pub fn is_published(&self, now: i64) -> bool {
        match self.status {
            KeyStatus::Current => true,
            KeyStatus::Previous => {
                self.rotated_at.unwrap_or(self.created_at) + PUBLISH_AFTER_ROTATION > now
            }
        }
    }
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("tenant_id", &self.tenant_id)
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("status", &self.status)
            .field("created_at", &self.created_at)
            .field("rotated_at", &self.rotated_at)
            .finish_non_exhaustive()
    }
}
