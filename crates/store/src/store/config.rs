//! The configuration a node caches: the tenant, applications, APIs, client grants and signing
//! keys.

use super::*;

#[async_trait]
impl TenantStore for SqlStore {
    async fn tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
        let sql = "SELECT data FROM tenants WHERE id = $1";
        self.fetch_data("tenant", sql, &[Text(id)]).await
    }
    async fn insert_tenant(&self, t: &Tenant) -> StoreResult<()> {
        let sql = "INSERT INTO tenants (id, data) VALUES ($1, $2)";
        let what = format!("tenant {}", t.id);
        self.exec(&what, sql, &[Text(&t.id), Text(&encode(t)?)])
            .await?;
        Ok(())
    }
    async fn update_tenant(&self, t: &Tenant) -> StoreResult<()> {
        let sql = "UPDATE tenants SET data = $1, version = $2, config_version = config_version + 1 WHERE id = $3 AND version = $4";
        let what = format!("tenant {}", t.id);
        let (data, next) = next_version(t)?;
        let args = [Text(&data), Int(next), Text(&t.id), Int(t.version)];
        let exists = "SELECT 1 FROM tenants WHERE id = $1";
        self.exec_versioned(&what, sql, &args, exists, &[Text(&t.id)])
            .await
    }
    async fn config_version(&self, tenant: &str) -> StoreResult<i64> {
        let sql = "SELECT config_version FROM tenants WHERE id = $1";
        self.fetch_one_row("config version", false, sql, &[Text(tenant)], |r| {
            r.int("config_version")
        })
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("tenant {tenant}")))
    }
}

#[async_trait]
impl ClientStore for SqlStore {
    async fn insert_client(&self, c: &Client) -> StoreResult<()> {
        let sql = "INSERT INTO clients (tenant_id, client_id, data) VALUES ($1, $2, $3)";
        let what = format!("client {}", c.client_id);
        let data = encode(c)?;
        self.exec(
            &what,
            sql,
            &[Text(&c.tenant_id), Text(&c.client_id), Text(&data)],
        )
        .await?;
        Ok(())
    }
    async fn client(&self, tenant: &str, id: &str) -> StoreResult<Option<Client>> {
        let sql = "SELECT data FROM clients WHERE tenant_id = $1 AND client_id = $2";
        self.fetch_data("client", sql, &[Text(tenant), Text(id)])
            .await
    }
    async fn clients(&self, tenant: &str) -> StoreResult<Vec<Client>> {
        let sql = "SELECT data FROM clients WHERE tenant_id = $1 ORDER BY rowid";
        self.fetch_all_data("client", sql, &[Text(tenant)]).await
    }
    async fn update_client(&self, c: &Client) -> StoreResult<()> {
        let sql = "UPDATE clients SET data = $1, version = $2 WHERE tenant_id = $3 AND client_id = $4 AND version = $5";
        let what = format!("client {}", c.client_id);
        let (data, next) = next_version(c)?;
        let key = [Text(&c.tenant_id), Text(&c.client_id)];
        let args = [Text(&data), Int(next), key[0], key[1], Int(c.version)];
        let exists = "SELECT 1 FROM clients WHERE tenant_id = $1 AND client_id = $2";
        self.exec_versioned(&what, sql, &args, exists, &key).await
    }
    async fn delete_client(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM clients WHERE tenant_id = $1 AND client_id = $2";
        Ok(self.exec("client", sql, &[Text(tenant), Text(id)]).await? > 0)
    }
}

#[async_trait]
impl ResourceServerStore for SqlStore {
    async fn insert_resource_server(&self, rs: &ResourceServer) -> StoreResult<()> {
        let sql = "INSERT INTO resource_servers (tenant_id, id, identifier, data) VALUES ($1, $2, $3, $4)";
        let what = format!("API {}", rs.identifier);
        let data = encode(rs)?;
        let args = [
            Text(&rs.tenant_id),
            Text(&rs.id),
            Text(&rs.identifier),
            Text(&data),
        ];
        self.exec(&what, sql, &args).await?;
        Ok(())
    }
    async fn resource_server(&self, tenant: &str, id: &str) -> StoreResult<Option<ResourceServer>> {
        let sql = "SELECT data FROM resource_servers WHERE tenant_id = $1 AND id = $2";
        self.fetch_data("API", sql, &[Text(tenant), Text(id)]).await
    }
    async fn resource_server_by_identifier(
        &self,
        tenant: &str,
        identifier: &str,
    ) -> StoreResult<Option<ResourceServer>> {
        let sql = "SELECT data FROM resource_servers WHERE tenant_id = $1 AND identifier = $2";
        self.fetch_data("API", sql, &[Text(tenant), Text(identifier)])
            .await
    }
    async fn resource_servers(&self, tenant: &str) -> StoreResult<Vec<ResourceServer>> {
        let sql = "SELECT data FROM resource_servers WHERE tenant_id = $1 ORDER BY rowid";
        self.fetch_all_data("API", sql, &[Text(tenant)]).await
    }
    async fn update_resource_server(&self, rs: &ResourceServer) -> StoreResult<()> {
        // The identifier is immutable: it is not written here.
        let sql = "UPDATE resource_servers SET data = $1, version = $2 WHERE tenant_id = $3 AND id = $4 AND identifier = $5 AND version = $6";
        let (data, next) = next_version(rs)?;
        let key = [Text(&rs.tenant_id), Text(&rs.id), Text(&rs.identifier)];
        let args = [
            Text(&data),
            Int(next),
            key[0],
            key[1],
            key[2],
            Int(rs.version),
        ];
        let exists =
            "SELECT 1 FROM resource_servers WHERE tenant_id = $1 AND id = $2 AND identifier = $3";
        let what = format!("API {}", rs.id);
        self.exec_versioned(&what, sql, &args, exists, &key).await
    }
    async fn delete_resource_server(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM resource_servers WHERE tenant_id = $1 AND id = $2";
        Ok(self.exec("API", sql, &[Text(tenant), Text(id)]).await? > 0)
    }
}

#[async_trait]
impl ClientGrantStore for SqlStore {
    async fn insert_client_grant(&self, g: &ClientGrant) -> StoreResult<()> {
        let sql = "INSERT INTO client_grants (tenant_id, id, client_id, audience, data) VALUES ($1, $2, $3, $4, $5)";
        let what = format!("client grant {} -> {}", g.client_id, g.audience);
        let data = encode(g)?;
        let args = [
            Text(&g.tenant_id),
            Text(&g.id),
            Text(&g.client_id),
            Text(&g.audience),
            Text(&data),
        ];
        self.exec(&what, sql, &args).await?;
        Ok(())
    }
    async fn update_client_grant(&self, g: &ClientGrant) -> StoreResult<()> {
        let sql = "UPDATE client_grants SET data = $1, version = $2 WHERE tenant_id = $3 AND id = $4 AND version = $5";
        let (data, next) = next_version(g)?;
        let key = [Text(&g.tenant_id), Text(&g.id)];
        let args = [Text(&data), Int(next), key[0], key[1], Int(g.version)];
        let exists = "SELECT 1 FROM client_grants WHERE tenant_id = $1 AND id = $2";
        let what = format!("client grant {}", g.id);
        self.exec_versioned(&what, sql, &args, exists, &key).await
    }
    async fn client_grant(
        &self,
        tenant: &str,
        client_id: &str,
        audience: &str,
    ) -> StoreResult<Option<ClientGrant>> {
        let sql = "SELECT data FROM client_grants WHERE tenant_id = $1 AND client_id = $2 AND audience = $3";
        self.fetch_data(
            "client grant",
            sql,
            &[Text(tenant), Text(client_id), Text(audience)],
        )
        .await
    }
    async fn client_grants(&self, tenant: &str, client_id: &str) -> StoreResult<Vec<ClientGrant>> {
        let sql =
            "SELECT data FROM client_grants WHERE tenant_id = $1 AND client_id = $2 ORDER BY rowid";
        self.fetch_all_data("client grant", sql, &[Text(tenant), Text(client_id)])
            .await
    }
    async fn tenant_client_grants(&self, tenant: &str) -> StoreResult<Vec<ClientGrant>> {
        let sql = "SELECT data FROM client_grants WHERE tenant_id = $1 ORDER BY rowid";
        self.fetch_all_data("client grant", sql, &[Text(tenant)])
            .await
    }
    async fn delete_client_grant(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM client_grants WHERE tenant_id = $1 AND id = $2";
        Ok(self
            .exec("client grant", sql, &[Text(tenant), Text(id)])
            .await?
            > 0)
    }
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn add_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<()> {
        self.add_key(k, false).await.map(drop)
    }

    async fn add_first_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<bool> {
        self.add_key(k, true).await
    }

    async fn signing_keys(&self, tenant: &str) -> StoreResult<Vec<SigningKeyRecord>> {
        let sql = "SELECT tenant_id, kid, alg, status, created_at, rotated_at, private_enc, public_jwk FROM signing_keys WHERE tenant_id = $1 ORDER BY created_at, rowid";
        self.fetch_rows("signing keys", sql, &[Text(tenant)], |r| {
            let kid = r.text("kid")?;
            let corrupt = || StoreError::Backend(format!("corrupt signing key row {kid}"));
            Ok(SigningKeyRecord {
                tenant_id: r.text("tenant_id")?,
                alg: SigningAlg::parse(&r.text("alg")?).ok_or_else(corrupt)?,
                status: KeyStatus::parse(&r.text("status")?).ok_or_else(corrupt)?,
                created_at: r.int("created_at")?,
                rotated_at: r.opt_int("rotated_at")?,
                private_enc: r.bytes("private_enc")?,
                public_jwk: r.text("public_jwk")?,
                kid,
            })
        })
        .await
    }
}
