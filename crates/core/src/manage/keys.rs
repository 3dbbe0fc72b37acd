//! Signing keys: the current key of each algorithm, made when first needed; listing and
//! rotating them.

use super::*;
use crate::model::SigningKeyRecord;

/// Makes sure a current key exists for `alg` (no-op for HS256, which uses the API's secret).
pub async fn ensure_signing_key(
    store: &dyn Store,
    master: &MasterKey,
    clock: &dyn Clock,
    tenant: &str,
    alg: SigningAlg,
) -> ManageResult<()> {
    if alg == SigningAlg::HS256 {
        return Ok(());
    }
    let keys = store.signing_keys(tenant).await?;
    if !keys
        .iter()
        .any(|k| k.alg == alg && k.status == KeyStatus::Current)
    {
        // Nodes starting together on an empty database: one key, whichever node makes it.
        let key = crate::keys::new_key_record(tenant, alg, master, clock.now())?;
        store.add_first_signing_key(&key).await?;
    }
    Ok(())
}

impl Manager<'_> {
    /// The tenant's signing keys, oldest first.
    pub async fn list_signing_keys(&self) -> ManageResult<Vec<SigningKeyRecord>> {
        self.actor.require(&["read:signing_keys"])?;
        Ok(self.store.signing_keys(self.tenant).await?)
    }

    /// A new current key for `alg`; the previous one stays published (see
    /// [`crate::model::PUBLISH_AFTER_ROTATION`]).
    pub async fn rotate_signing_key(&self, alg: SigningAlg) -> ManageResult<SigningKeyRecord> {
        self.actor
            .require(&["create:signing_keys", "update:signing_keys"])?;
        if alg == SigningAlg::HS256 {
            return Err(invalid(
                "HS256 has no signing key: an HS256 API signs with its own secret".into(),
            ));
        }
        Ok(
            crate::keys::rotate_key(self.store, self.master, self.tenant, alg, self.clock.now())
                .await?,
        )
    }
}
