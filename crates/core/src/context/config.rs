//! The tenant's applications, APIs and client grants as of one config version: what a node
//! caches with its configuration snapshot, so a token request reads no configuration rows.
//!
//! Every write to these tables bumps the tenant's `config_version` (database triggers), and a
//! node reloads its snapshot when the version moves, so a change reaches every node within the
//! poll interval. A lookup that misses the cache asks the store: an application or API created
//! a moment ago works at once, and an unknown client id costs what it always did.

use std::{collections::HashMap, sync::Arc};

use crate::{
    Store,
    model::{Client, ClientGrant, ResourceServer},
    store::StoreResult,
};

#[derive(Debug, Default)]
pub struct ConfigCache {
    clients: HashMap<String, Arc<Client>>,
    apis: HashMap<String, Arc<ResourceServer>>,
    /// By (client id, API identifier).
    pub(super) grants: HashMap<(String, String), Arc<ClientGrant>>,
}

impl ConfigCache {
    pub async fn load(store: &dyn Store, tenant: &str) -> StoreResult<Self> {
        let clients = store.clients(tenant).await?;
        let apis = store.resource_servers(tenant).await?;
        let grants = store.tenant_client_grants(tenant).await?;
        Ok(Self {
            clients: clients
                .into_iter()
                .map(|c| (c.client_id.clone(), Arc::new(c)))
                .collect(),
            apis: apis
                .into_iter()
                .map(|a| (a.identifier.clone(), Arc::new(a)))
                .collect(),
            grants: grants
                .into_iter()
                .map(|g| ((g.client_id.clone(), g.audience.clone()), Arc::new(g)))
                .collect(),
        })
    }

    /// Does any application allow `origin` (what a CORS preflight, which names no application,
    /// is checked against)?
    pub fn allows_web_origin(&self, origin: &str) -> bool {
        self.clients.values().any(|c| c.allows_web_origin(origin))
    }

    /// Does any application allow the password grant (so discovery lists it)?
    pub fn any_client_allows(&self, g: crate::model::GrantType) -> bool {
        self.clients.values().any(|c| c.allows_grant(g))
    }

    /// Is `url` an allowed logout URL of some application?
    pub fn any_logout_url(&self, url: &str) -> bool {
        self.clients.values().any(|c| c.allows_logout_url(url))
    }

    /// The tenant's Management API (the one `is_system` API), if it has one.
    pub fn system_api(&self) -> Option<&ResourceServer> {
        self.apis.values().map(|a| a.as_ref()).find(|a| a.is_system)
    }

    pub fn len(&self) -> usize {
        self.clients.len() + self.apis.len() + self.grants.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The API with this identifier: from the cache when there is one and it knows it, else from
/// the store.
pub async fn api(
    store: &dyn Store,
    config: Option<&ConfigCache>,
    tenant: &str,
    identifier: &str,
) -> StoreResult<Option<ResourceServer>> {
    match config.and_then(|c| c.apis.get(identifier)) {
        Some(a) => Ok(Some(ResourceServer::clone(a))),
        None => {
            store
                .resource_server_by_identifier(tenant, identifier)
                .await
        }
    }
}

/// The application with this client id: from the cache when there is one and it knows it, else
/// from the store.
pub async fn client(
    store: &dyn Store,
    config: Option<&ConfigCache>,
    tenant: &str,
    client_id: &str,
) -> StoreResult<Option<Client>> {
    match config.and_then(|c| c.clients.get(client_id)) {
        Some(c) => Ok(Some(Client::clone(c))),
        None => store.client(tenant, client_id).await,
    }
}
