//! Signing keys: the current key of each algorithm, made when first needed.

use super::*;

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
