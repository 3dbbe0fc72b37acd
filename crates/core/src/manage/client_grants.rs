//! Client grants: which APIs an application may get tokens for by client credentials, with
//! which scopes.

use super::*;

/// A warning for a client grant that cannot be used: only the client-credentials flow reads
/// client grants.
pub fn grant_warning(client: &Client) -> Option<String> {
    (!client.allows_grant(GrantType::ClientCredentials)).then(|| {
        format!(
            "warning: application {} cannot use client credentials (its grant types are {}), so \
             this grant has no effect until it can: `tessera apps update {} --grant-types \
             ...,client_credentials` (public applications never can)",
            client.client_id,
            client
                .grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(","),
            client.client_id
        )
    })
}

impl Manager<'_> {
    /// Grants an application an API with scopes (replacing the scopes of an existing grant). Every
    /// scope must be one the API defines.
    pub async fn grant_app(
        &self,
        client_id: &str,
        audience: &str,
        scopes: &[String],
    ) -> ManageResult<ClientGrant> {
        self.actor
            .require(&["create:client_grants", "update:client_grants"])?;
        let store = self.store;
        let clock = self.clock;
        let tenant = self.tenant;
        retry_stale(move || async move {
            let client = find_app(store, tenant, client_id).await?;
            let api = store
                .resource_server_by_identifier(tenant, audience)
                .await?
                .ok_or_else(|| {
                    ManageError::NotFound(format!(
                        "no API with identifier '{audience}' (create it with `tessera apis create`)"
                    ))
                })?;
            let scopes: Vec<String> = parse_scopes(scopes)?.into_iter().map(|d| d.value).collect();
            if let Some(unknown) = scopes.iter().find(|s| !api.has_scope(s)) {
                return Err(invalid(format!(
                    "the API {audience} does not define the scope '{unknown}'"
                )));
            }
            if let Some(mut g) = store
                .client_grant(tenant, &client.client_id, &api.identifier)
                .await?
            {
                g.scope = scopes;
                store.update_client_grant(&g).await?;
                g.version += 1;
                return Ok(g);
            }
            let g = ClientGrant {
                tenant_id: tenant.to_owned(),
                id: format!("cgr_{}", random_alphanumeric(16)),
                client_id: client.client_id,
                audience: api.identifier,
                scope: scopes,
                version: 0,
                created_at: clock.now(),
            };
            store.insert_client_grant(&g).await?;
            Ok(g)
        })
        .await
    }
}

impl Manager<'_> {
    /// An application's client grants.
    pub async fn list_app_grants(&self, client_id: &str) -> ManageResult<Vec<ClientGrant>> {
        self.actor.require(&["read:client_grants"])?;
        find_app(self.store, self.tenant, client_id).await?;
        Ok(self.store.client_grants(self.tenant, client_id).await?)
    }

    /// Removes an application's grant for an API; returns it.
    pub async fn ungrant_app(&self, client_id: &str, audience: &str) -> ManageResult<ClientGrant> {
        self.actor.require(&["delete:client_grants"])?;
        let g = self
            .store
            .client_grant(self.tenant, client_id, audience)
            .await?
            .ok_or_else(|| {
                ManageError::NotFound(format!(
                    "application '{client_id}' has no grant for '{audience}'"
                ))
            })?;
        self.store.delete_client_grant(self.tenant, &g.id).await?;
        Ok(g)
    }
}

/// A client grant by id.
async fn find_grant(store: &dyn Store, tenant: &str, id: &str) -> ManageResult<ClientGrant> {
    store
        .tenant_client_grants(tenant)
        .await?
        .into_iter()
        .find(|g| g.id == id)
        .ok_or_else(|| ManageError::NotFound(format!("no client grant with id '{id}'")))
}

impl Manager<'_> {
    /// The tenant's client grants, optionally only those for one API or one application.
    pub async fn list_client_grants(
        &self,
        audience: Option<&str>,
        client_id: Option<&str>,
        page: &PageRequest,
    ) -> ManageResult<Page<ClientGrant>> {
        self.actor.require(&["read:client_grants"])?;
        let all: Vec<ClientGrant> = self
            .store
            .tenant_client_grants(self.tenant)
            .await?
            .into_iter()
            .filter(|g| audience.is_none_or(|a| g.audience == a))
            .filter(|g| client_id.is_none_or(|c| g.client_id == c))
            .collect();
        Page::of(all, page)
    }

    /// A new client grant (`Conflict` if the application has one for that API already).
    pub async fn create_client_grant(&self, body: &ClientGrantBody) -> ManageResult<ClientGrant> {
        self.actor.require(&["create:client_grants"])?;
        if self
            .store
            .client_grant(self.tenant, &body.client_id, &body.audience)
            .await?
            .is_some()
        {
            return Err(ManageError::Conflict(format!(
                "A client grant for client {} and audience {} already exists",
                body.client_id, body.audience
            )));
        }
        self.grant_app(&body.client_id, &body.audience, &body.scope)
            .await
    }

    /// Replaces a client grant's scopes.
    pub async fn update_client_grant(
        &self,
        id: &str,
        scope: &[String],
    ) -> ManageResult<ClientGrant> {
        self.actor.require(&["update:client_grants"])?;
        let g = find_grant(self.store, self.tenant, id).await?;
        self.grant_app(&g.client_id, &g.audience, scope).await
    }

    pub async fn delete_client_grant(&self, id: &str) -> ManageResult<()> {
        self.actor.require(&["delete:client_grants"])?;
        if !self.store.delete_client_grant(self.tenant, id).await? {
            return Err(ManageError::NotFound(format!(
                "no client grant with id '{id}'"
            )));
        }
        Ok(())
    }
}
