//! The context of one protocol request: the store, the clock, the keys, the tenant, and the
//! node's cached configuration (applications, APIs, client grants and scripts as of one config
//! version), with the lookups that go through that cache and fall back to the store.

pub mod config;
pub mod scripts;

pub use config::ConfigCache;
pub use scripts::ScriptSet;

use crate::{
    Clock, Store,
    keys::{KeyRing, MasterKey},
    model::{Client, ClientGrant, ResourceServer, Tenant},
    store::StoreResult,
};

/// Everything a protocol step needs, borrowed for one request.
pub struct Ctx<'a> {
    pub store: &'a dyn Store,
    pub clock: &'a dyn Clock,
    pub keys: &'a KeyRing,
    pub master: &'a MasterKey,
    pub tenant: &'a Tenant,
    /// Runs Actions and Rules; `None` runs none.
    pub hooks: Option<&'a dyn crate::hooks::ClaimsHook>,
    /// Facts about the HTTP request that scripts see as `event.request`.
    pub request: crate::hooks::RequestInfo,
    /// The tenant's scripts, cached; `None` reads them from the store.
    pub scripts: Option<&'a ScriptSet>,
    /// The tenant's applications, APIs and client grants, cached; `None` reads them from the
    /// store.
    pub config: Option<&'a ConfigCache>,
}

/// Configuration lookups through the context's cache when it has one, else from the store.
impl Ctx<'_> {
    pub async fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        config::client(self.store, self.config, &self.tenant.id, client_id).await
    }

    pub async fn api(&self, identifier: &str) -> StoreResult<Option<ResourceServer>> {
        config::api(self.store, self.config, &self.tenant.id, identifier).await
    }

    pub async fn client_grant(
        &self,
        client_id: &str,
        audience: &str,
    ) -> StoreResult<Option<ClientGrant>> {
        let cached = self
            .config
            .and_then(|c| c.grants.get(&(client_id.to_owned(), audience.to_owned())));
        match cached {
            Some(g) => Ok(Some(ClientGrant::clone(g))),
            None => {
                self.store
                    .client_grant(&self.tenant.id, client_id, audience)
                    .await
            }
        }
    }
}
