//! HS256 APIs: each one's shared signing secret, sealed with the master key and bound to the
//! API it belongs to.

use super::MasterKey;
use crate::model::ResourceServer;

/// An HS256 API's signing secret, decrypted.
pub fn hs256_secret(master: &MasterKey, api: &ResourceServer) -> Result<Vec<u8>, String> {
    let sealed = api
        .signing_secret_enc
        .as_deref()
        .ok_or_else(|| format!("HS256 API {} has no signing secret", api.identifier))?;
    master
        .decrypt_base64(sealed, &hs256_aad(&api.tenant_id, &api.identifier))
        .map_err(|e| format!("HS256 API {}: {e}", api.identifier))
}

/// The AAD that binds an HS256 API secret to its API.
pub fn hs256_aad(tenant: &str, identifier: &str) -> String {
    format!("api-signing-secret:{tenant}:{identifier}")
}
