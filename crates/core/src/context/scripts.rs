//! The tenant's Actions and Rules as a login runs them: every trigger's scripts, in order, with
//! their secrets decrypted, cached per configuration version like the rest of a node's snapshot.

use serde_json::{Map, Value};

use super::Ctx;
use crate::{
    OAuthError,
    hooks::{HookScript, Scripts},
    keys::MasterKey,
    model::{Script, ScriptKind, Trigger},
    store::Store,
};

/// The associated data a script's sealed secrets are bound to.
pub(crate) fn aad(tenant: &str, id: &str) -> String {
    format!("script-secrets:{tenant}:{id}")
}

/// A script's secrets, decrypted.
pub fn secrets(master: &MasterKey, s: &Script) -> Result<Map<String, Value>, String> {
    let Some(sealed) = &s.secrets_enc else {
        return Ok(Map::new());
    };
    let bytes = master
        .decrypt_base64(sealed, &aad(&s.tenant_id, &s.id))
        .map_err(|e| format!("secrets of {}: {e}", s.name))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("secrets of {}: {e}", s.name))
}

/// Every trigger's scripts, decrypted and in order: what a node caches with its configuration
/// snapshot (script changes bump the tenant's config version), so a login reads no script
/// rows.
#[derive(Debug, Clone, Default)]
pub struct ScriptSet {
    pub post_login: Scripts,
    pub credentials_exchange: Scripts,
}

impl ScriptSet {
    pub async fn load(
        store: &dyn Store,
        master: &MasterKey,
        tenant: &str,
    ) -> Result<Self, OAuthError> {
        Ok(Self {
            post_login: scripts_for(store, master, tenant, Trigger::PostLogin)
                .await?
                .into(),
            credentials_exchange: scripts_for(store, master, tenant, Trigger::CredentialsExchange)
                .await?
                .into(),
        })
    }
}

/// A trigger's scripts: from the cached set when the context has one, else from the store.
impl Ctx<'_> {
    pub async fn trigger_scripts(&self, trigger: Trigger) -> Result<Scripts, OAuthError> {
        match (self.scripts, trigger) {
            (Some(set), Trigger::PostLogin) => Ok(set.post_login.clone()),
            (Some(set), Trigger::CredentialsExchange) => Ok(set.credentials_exchange.clone()),
            (None, t) => Ok(scripts_for(self.store, self.master, &self.tenant.id, t)
                .await?
                .into()),
        }
    }
}

/// The scripts a trigger runs: enabled rules (post-login only) then deployed actions, in order.
pub async fn scripts_for(
    store: &dyn Store,
    master: &MasterKey,
    tenant: &str,
    trigger: Trigger,
) -> Result<Vec<HookScript>, OAuthError> {
    let mut all = Vec::new();
    if trigger == Trigger::PostLogin {
        all.extend(
            store
                .scripts(tenant, ScriptKind::Rule)
                .await?
                .into_iter()
                .filter(|s| s.enabled),
        );
    }
    all.extend(
        store
            .scripts(tenant, ScriptKind::Action)
            .await?
            .into_iter()
            .filter(|s| s.enabled && s.trigger == Some(trigger)),
    );
    all.into_iter()
        .map(|s| {
            Ok(HookScript {
                secrets: secrets(master, &s).map_err(OAuthError::server_error)?,
                name: s.name,
                kind: s.kind,
                code: s.code,
            })
        })
        .collect()
}
