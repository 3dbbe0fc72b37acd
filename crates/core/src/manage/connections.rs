//! Connections and user blocks. A tenant has one connection, the database connection
//! `Username-Password-Authentication` (`strategy: auth0`), which every application uses; and
//! brute-force protection's blocks of a user (`/user-blocks`), listed and cleared.

use super::*;
use crate::model::DATABASE_CONNECTION;

/// The database connection's id: stable per tenant.
pub fn connection_id(tenant: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, tenant.as_bytes());
    format!("con_{}", &hex::encode(d.as_ref())[..16])
}

impl Manager<'_> {
    /// The tenant's connections (the database connection), Auth0-shaped.
    pub async fn list_connections(&self) -> ManageResult<Vec<Value>> {
        self.actor.require(&["read:connections"])?;
        Ok(vec![self.database_connection().await?])
    }

    pub async fn get_connection(&self, id: &str) -> ManageResult<Value> {
        self.actor.require(&["read:connections"])?;
        if id != connection_id(self.tenant) {
            return Err(ManageError::NotFound(format!(
                "no connection with id '{id}'"
            )));
        }
        self.database_connection().await
    }

    /// The applications that may use a connection: all of them.
    pub async fn connection_clients(&self, id: &str) -> ManageResult<Vec<Client>> {
        self.actor.require(&["read:connections"])?;
        if id != connection_id(self.tenant) {
            return Err(ManageError::NotFound(format!(
                "no connection with id '{id}'"
            )));
        }
        Ok(self.store.clients(self.tenant).await?)
    }

    async fn database_connection(&self) -> ManageResult<Value> {
        let clients: Vec<String> = self
            .store
            .clients(self.tenant)
            .await?
            .into_iter()
            .map(|c| c.client_id)
            .collect();
        Ok(serde_json::json!({
            "id": connection_id(self.tenant),
            "name": DATABASE_CONNECTION,
            "display_name": DATABASE_CONNECTION,
            "strategy": "auth0",
            "enabled_clients": clients,
            "realms": [DATABASE_CONNECTION],
            "is_domain_connection": false,
            "options": {
                "brute_force_protection": true,
                "disable_signup": true,
                "requires_username": false,
            },
        }))
    }

    /// The IPs from which a user (by id or email) is blocked by brute-force protection now.
    pub async fn user_blocks(&self, user: &str) -> ManageResult<(User, Vec<String>)> {
        self.actor.require(&["read:users"])?;
        let u = find_user(self.store, self.tenant, user).await?;
        let tenant = self
            .store
            .tenant(self.tenant)
            .await?
            .ok_or_else(|| ManageError::NotFound(format!("tenant {}", self.tenant)))?;
        let ips =
            crate::attack::user_blocks(self.store, &tenant, &u.email, self.clock.now()).await?;
        Ok((u, ips))
    }

    /// Lifts a user's brute-force blocks from every IP.
    pub async fn clear_user_blocks(&self, user: &str) -> ManageResult<()> {
        self.actor.require(&["update:users"])?;
        let u = find_user(self.store, self.tenant, user).await?;
        crate::attack::clear_user_blocks(self.store, self.tenant, &u.email).await?;
        Ok(())
    }
}
