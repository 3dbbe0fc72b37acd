//! The key ring of one tenant: the current key per algorithm (parsed, ready to sign) and the
//! published JWKS. Rotation adds a new current key; the old one stays published for
//! [`PUBLISH_AFTER_ROTATION`] so every token it signed can still be verified.

use std::collections::HashMap;

use super::{MasterKey, PrivateKey};
pub use crate::model::PUBLISH_AFTER_ROTATION;
use crate::model::{KeyStatus, SigningAlg, SigningKeyRecord};
use crate::store::{KeyStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    #[error("signing key {0} could not be decrypted: is this the master key it was made with?")]
    Decrypt(String),
    #[error("signing key {0} is corrupt")]
    Corrupt(String),
    #[error("{0} keys are not kept in the key ring")]
    Unsupported(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Current {
    kid: String,
    key: PrivateKey,
}

pub struct KeyRing {
    current: HashMap<SigningAlg, Current>,
    /// Every published key's public part by `kid`, to verify tokens Tessera itself signed
    /// (`/userinfo` JWTs, `id_token_hint`).
    verifiers: HashMap<String, (SigningAlg, Vec<u8>)>,
    jwks: String,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<_> = self.current.values().map(|c| c.kid.as_str()).collect();
        f.debug_struct("KeyRing")
            .field("current", &kids)
            .finish_non_exhaustive()
    }
}

fn aad(rec_tenant: &str, kid: &str) -> String {
    format!("signing-key:{rec_tenant}:{kid}")
}

impl KeyRing {
    /// Decrypts the current keys and renders the JWKS from the stored public JWKs, newest first,
    /// so the same rows always give the same bytes.
    pub fn load(
        records: &[SigningKeyRecord],
        master: &MasterKey,
        now: i64,
    ) -> Result<Self, KeyRingError> {
        let mut current = HashMap::new();
        let mut verifiers = HashMap::new();
        for rec in records
            .iter()
            .filter(|r| r.status == KeyStatus::Current || r.is_published(now))
        {
            let der = master
                .decrypt(&rec.private_enc, &aad(&rec.tenant_id, &rec.kid))
                .map_err(|_| KeyRingError::Decrypt(rec.kid.clone()))?;
            let key = PrivateKey::from_pkcs8(rec.alg, &der)
                .ok_or_else(|| KeyRingError::Corrupt(rec.kid.clone()))?;
            verifiers.insert(rec.kid.clone(), (rec.alg, key.public_key_bytes()));
            if rec.status != KeyStatus::Current {
                continue;
            }
            current.insert(
                rec.alg,
                Current {
                    kid: rec.kid.clone(),
                    key,
                },
            );
        }
        let mut published: Vec<&SigningKeyRecord> =
            records.iter().filter(|r| r.is_published(now)).collect();
        published.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.kid.cmp(&b.kid)));
        let body: Vec<&str> = published.iter().map(|r| r.public_jwk.as_str()).collect();
        let jwks = format!("{{\"keys\":[{}]}}", body.join(","));
        Ok(Self {
            current,
            verifiers,
            jwks,
        })
    }

    /// The key that signs new tokens for `alg`, with its `kid`.
    pub fn signer(&self, alg: SigningAlg) -> Option<(&str, &PrivateKey)> {
        self.current.get(&alg).map(|c| (c.kid.as_str(), &c.key))
    }

    /// The public key that verifies tokens signed by `kid`, with its algorithm.
    pub fn verifier(&self, kid: &str) -> Option<(SigningAlg, &[u8])> {
        self.verifiers.get(kid).map(|(a, k)| (*a, k.as_slice()))
    }

    /// The JWKS document (RFC 7517 §5).
    pub fn jwks_json(&self) -> &str {
        &self.jwks
    }
}

/// Builds a new key record for `alg`, private part sealed with the master key.
pub fn new_key_record(
    tenant: &str,
    alg: SigningAlg,
    master: &MasterKey,
    now: i64,
) -> Result<SigningKeyRecord, KeyRingError> {
    let key = PrivateKey::generate(alg).ok_or(KeyRingError::Unsupported(alg.as_str()))?;
    let kid = key.kid();
    Ok(SigningKeyRecord {
        tenant_id: tenant.to_owned(),
        private_enc: master.encrypt(&key.to_pkcs8(), &aad(tenant, &kid)),
        public_jwk: key.public_jwk(),
        kid,
        alg,
        status: KeyStatus::Current,
        created_at: now,
        rotated_at: None,
    })
}

/// Generates a key for `alg` and makes it the current one (the previous stays published).
pub async fn rotate_key(
    store: &dyn KeyStore,
    master: &MasterKey,
    tenant: &str,
    alg: SigningAlg,
    now: i64,
) -> Result<SigningKeyRecord, KeyRingError> {
    let rec = new_key_record(tenant, alg, master, now)?;
    store.add_signing_key(&rec).await?;
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use crate::store::KeyStore;

    #[tokio::test]
    async fn rotation_publishes_old_and_new_and_signs_with_new() {
        let store = MemoryStore::new();
        let master = MasterKey::generate();
        let first = rotate_key(&store, &master, "t", SigningAlg::RS256, 100)
            .await
            .unwrap();
        let second = rotate_key(&store, &master, "t", SigningAlg::RS256, 200)
            .await
            .unwrap();
        let recs = store.signing_keys("t").await.unwrap();
        let ring = KeyRing::load(&recs, &master, 300).unwrap();
        assert_eq!(ring.signer(SigningAlg::RS256).unwrap().0, second.kid);
        let jwks: serde_json::Value = serde_json::from_str(ring.jwks_json()).unwrap();
        let kids: Vec<_> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].clone())
            .collect();
        assert_eq!(kids, vec![second.kid.clone(), first.kid.clone()]);

        // Long after the rotation, the old key leaves the JWKS.
        let later = KeyRing::load(&recs, &master, 200 + PUBLISH_AFTER_ROTATION + 1).unwrap();
        assert!(!later.jwks_json().contains(&first.kid));
        assert!(later.jwks_json().contains(&second.kid));
    }

    #[tokio::test]
    async fn same_rows_give_the_same_jwks_bytes() {
        let store = MemoryStore::new();
        let master = MasterKey::generate();
        for alg in SigningAlg::ASYMMETRIC {
            rotate_key(&store, &master, "t", alg, 100).await.unwrap();
        }
        let recs = store.signing_keys("t").await.unwrap();
        let a = KeyRing::load(&recs, &master, 100).unwrap();
        let b = KeyRing::load(&recs, &master, 100).unwrap();
        assert_eq!(a.jwks_json(), b.jwks_json());
        assert!(a.signer(SigningAlg::ES256).is_some() && a.signer(SigningAlg::EdDSA).is_some());
    }

    #[tokio::test]
    async fn a_wrong_master_key_is_a_clear_error() {
        let store = MemoryStore::new();
        rotate_key(&store, &MasterKey::generate(), "t", SigningAlg::EdDSA, 1)
            .await
            .unwrap();
        let recs = store.signing_keys("t").await.unwrap();
        let err = KeyRing::load(&recs, &MasterKey::generate(), 1).unwrap_err();
        assert!(matches!(err, KeyRingError::Decrypt(_)));
    }
}
