//! The SQLite store: one file in the data folder, WAL mode (readers never block the writer, and
//! a CLI process can write while the server runs), foreign keys on, a busy timeout instead of
//! "database is locked" errors.

use std::{path::Path, time::Duration};

use async_trait::async_trait;
use sqlx::{
    Row, SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use tessera_core::{
    StoreError,
    model::{
        Artifact, ArtifactKind, Client, ClientGrant, KeyStatus, ResourceServer, Role, Script,
        ScriptKind, SigningAlg, SigningKeyRecord, Tenant, User,
    },
    store::*,
};

use crate::{decode, encode, map_err};

#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        Self::with_options(opts).await
    }

    async fn with_options(opts: SqliteConnectOptions) -> Result<Self, StoreError> {
        let opts = opts
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode loses nothing when the process dies; only an OS crash can
            // roll back the last transactions.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Backend(format!("cannot open the SQLite database: {e}")))?;
        crate::migrate::sqlite(&pool).await?;
        Ok(Self { pool })
    }

    /// The schema version recorded in the database.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM tessera_migrations")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err("schema version"))
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn fetch_data<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        sql: &'static str,
        binds: &[&str],
    ) -> StoreResult<Option<T>> {
        let mut q = sqlx::query_scalar::<_, String>(sql);
        for b in binds {
            q = q.bind(*b);
        }
        let row = q.fetch_optional(&self.pool).await.map_err(map_err(what))?;
        row.map(|d| decode(what, &d)).transpose()
    }

    async fn fetch_all_data<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        sql: &'static str,
        binds: &[&str],
    ) -> StoreResult<Vec<T>> {
        let mut q = sqlx::query_scalar::<_, String>(sql);
        for b in binds {
            q = q.bind(*b);
        }
        let rows = q.fetch_all(&self.pool).await.map_err(map_err(what))?;
        rows.iter().map(|d| decode(what, d)).collect()
    }

    /// Runs a statement that must touch one row; `NotFound` otherwise.
    async fn exec_one(&self, what: &str, sql: &'static str, binds: &[&str]) -> StoreResult<()> {
        if self.exec(what, sql, binds).await? == 0 {
            return Err(StoreError::NotFound(what.to_owned()));
        }
        Ok(())
    }

    async fn exec(&self, what: &str, sql: &'static str, binds: &[&str]) -> StoreResult<u64> {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(*b);
        }
        let r = q.execute(&self.pool).await.map_err(map_err(what))?;
        Ok(r.rows_affected())
    }
}

#[async_trait]
impl TenantStore for SqliteStore {
    async fn tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
        self.fetch_data("tenant", "SELECT data FROM tenants WHERE id = ?", &[id])
            .await
    }
    async fn insert_tenant(&self, t: &Tenant) -> StoreResult<()> {
        let what = format!("tenant {}", t.id);
        self.exec(
            &what,
            "INSERT INTO tenants (id, data) VALUES (?, ?)",
            &[&t.id, &encode(t)?],
        )
        .await?;
        Ok(())
    }
    async fn update_tenant(&self, t: &Tenant) -> StoreResult<()> {
        let sql = "UPDATE tenants SET data = ?, config_version = config_version + 1 WHERE id = ?";
        self.exec_one(&format!("tenant {}", t.id), sql, &[&encode(t)?, &t.id])
            .await
    }
    async fn config_version(&self, tenant: &str) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT config_version FROM tenants WHERE id = ?")
            .bind(tenant)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err("config version"))?
            .ok_or_else(|| StoreError::NotFound(format!("tenant {tenant}")))
    }
}

#[async_trait]
impl ClientStore for SqliteStore {
    async fn insert_client(&self, c: &Client) -> StoreResult<()> {
        let sql = "INSERT INTO clients (tenant_id, client_id, data) VALUES (?, ?, ?)";
        let what = format!("client {}", c.client_id);
        self.exec(&what, sql, &[&c.tenant_id, &c.client_id, &encode(c)?])
            .await?;
        Ok(())
    }
    async fn client(&self, tenant: &str, id: &str) -> StoreResult<Option<Client>> {
        let sql = "SELECT data FROM clients WHERE tenant_id = ? AND client_id = ?";
        self.fetch_data("client", sql, &[tenant, id]).await
    }
    async fn clients(&self, tenant: &str) -> StoreResult<Vec<Client>> {
        let sql = "SELECT data FROM clients WHERE tenant_id = ? ORDER BY rowid";
        self.fetch_all_data("client", sql, &[tenant]).await
    }
    async fn update_client(&self, c: &Client) -> StoreResult<()> {
        let sql = "UPDATE clients SET data = ? WHERE tenant_id = ? AND client_id = ?";
        self.exec_one(
            &format!("client {}", c.client_id),
            sql,
            &[&encode(c)?, &c.tenant_id, &c.client_id],
        )
        .await
    }
    async fn delete_client(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM clients WHERE tenant_id = ? AND client_id = ?";
        Ok(self.exec("client", sql, &[tenant, id]).await? > 0)
    }
}

#[async_trait]
impl ResourceServerStore for SqliteStore {
    async fn insert_resource_server(&self, rs: &ResourceServer) -> StoreResult<()> {
        let sql =
            "INSERT INTO resource_servers (tenant_id, id, identifier, data) VALUES (?, ?, ?, ?)";
        let what = format!("API {}", rs.identifier);
        self.exec(
            &what,
            sql,
            &[&rs.tenant_id, &rs.id, &rs.identifier, &encode(rs)?],
        )
        .await?;
        Ok(())
    }
    async fn resource_server(&self, tenant: &str, id: &str) -> StoreResult<Option<ResourceServer>> {
        let sql = "SELECT data FROM resource_servers WHERE tenant_id = ? AND id = ?";
        self.fetch_data("API", sql, &[tenant, id]).await
    }
    async fn resource_server_by_identifier(
        &self,
        tenant: &str,
        identifier: &str,
    ) -> StoreResult<Option<ResourceServer>> {
        let sql = "SELECT data FROM resource_servers WHERE tenant_id = ? AND identifier = ?";
        self.fetch_data("API", sql, &[tenant, identifier]).await
    }
    async fn resource_servers(&self, tenant: &str) -> StoreResult<Vec<ResourceServer>> {
        let sql = "SELECT data FROM resource_servers WHERE tenant_id = ? ORDER BY rowid";
        self.fetch_all_data("API", sql, &[tenant]).await
    }
    async fn update_resource_server(&self, rs: &ResourceServer) -> StoreResult<()> {
        // The identifier is immutable: it is not written here.
        let sql = "UPDATE resource_servers SET data = ? WHERE tenant_id = ? AND id = ? AND identifier = ?";
        let binds = [
            encode(rs)?,
            rs.tenant_id.clone(),
            rs.id.clone(),
            rs.identifier.clone(),
        ];
        let binds: Vec<&str> = binds.iter().map(String::as_str).collect();
        self.exec_one(&format!("API {}", rs.id), sql, &binds).await
    }
    async fn delete_resource_server(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM resource_servers WHERE tenant_id = ? AND id = ?";
        Ok(self.exec("API", sql, &[tenant, id]).await? > 0)
    }
}

#[async_trait]
impl ClientGrantStore for SqliteStore {
    async fn insert_client_grant(&self, g: &ClientGrant) -> StoreResult<()> {
        let sql = "INSERT INTO client_grants (tenant_id, id, client_id, audience, data) VALUES (?, ?, ?, ?, ?)";
        let what = format!("client grant {} -> {}", g.client_id, g.audience);
        self.exec(
            &what,
            sql,
            &[&g.tenant_id, &g.id, &g.client_id, &g.audience, &encode(g)?],
        )
        .await?;
        Ok(())
    }
    async fn update_client_grant(&self, g: &ClientGrant) -> StoreResult<()> {
        let sql = "UPDATE client_grants SET data = ? WHERE tenant_id = ? AND id = ?";
        self.exec_one(
            &format!("client grant {}", g.id),
            sql,
            &[&encode(g)?, &g.tenant_id, &g.id],
        )
        .await
    }
    async fn client_grant(
        &self,
        tenant: &str,
        client_id: &str,
        audience: &str,
    ) -> StoreResult<Option<ClientGrant>> {
        let sql =
            "SELECT data FROM client_grants WHERE tenant_id = ? AND client_id = ? AND audience = ?";
        self.fetch_data("client grant", sql, &[tenant, client_id, audience])
            .await
    }
    async fn client_grants(&self, tenant: &str, client_id: &str) -> StoreResult<Vec<ClientGrant>> {
        let sql =
            "SELECT data FROM client_grants WHERE tenant_id = ? AND client_id = ? ORDER BY rowid";
        self.fetch_all_data("client grant", sql, &[tenant, client_id])
            .await
    }
    async fn delete_client_grant(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM client_grants WHERE tenant_id = ? AND id = ?";
        Ok(self.exec("client grant", sql, &[tenant, id]).await? > 0)
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn insert_user(&self, u: &User) -> StoreResult<()> {
        let sql = "INSERT INTO users (tenant_id, user_id, email, data) VALUES (?, ?, ?, ?)";
        let what = format!("user {}", u.email);
        self.exec(
            &what,
            sql,
            &[
                &u.tenant_id,
                &u.user_id,
                &u.email.to_lowercase(),
                &encode(u)?,
            ],
        )
        .await?;
        Ok(())
    }
    async fn user(&self, tenant: &str, id: &str) -> StoreResult<Option<User>> {
        let sql = "SELECT data FROM users WHERE tenant_id = ? AND user_id = ?";
        self.fetch_data("user", sql, &[tenant, id]).await
    }
    async fn user_by_email(&self, tenant: &str, email: &str) -> StoreResult<Option<User>> {
        let sql = "SELECT data FROM users WHERE tenant_id = ? AND email = ?";
        self.fetch_data("user", sql, &[tenant, &email.to_lowercase()])
            .await
    }
    async fn users(&self, tenant: &str) -> StoreResult<Vec<User>> {
        let sql = "SELECT data FROM users WHERE tenant_id = ? ORDER BY rowid";
        self.fetch_all_data("user", sql, &[tenant]).await
    }
    async fn update_user(&self, u: &User) -> StoreResult<()> {
        let sql = "UPDATE users SET email = ?, data = ? WHERE tenant_id = ? AND user_id = ?";
        let what = format!("user {}", u.user_id);
        self.exec_one(
            &what,
            sql,
            &[
                &u.email.to_lowercase(),
                &encode(u)?,
                &u.tenant_id,
                &u.user_id,
            ],
        )
        .await
    }
    async fn delete_user(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM users WHERE tenant_id = ? AND user_id = ?";
        Ok(self.exec("user", sql, &[tenant, id]).await? > 0)
    }
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn add_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<()> {
        let what = format!("signing key {}", k.kid);
        let mut tx = self.pool.begin().await.map_err(map_err(&what))?;
        sqlx::query(
            "UPDATE signing_keys SET status = 'previous', rotated_at = ? WHERE tenant_id = ? AND alg = ? AND status = 'current'",
        )
        .bind(k.created_at)
        .bind(&k.tenant_id)
        .bind(k.alg.as_str())
        .execute(&mut *tx)
        .await
        .map_err(map_err(&what))?;
        sqlx::query(
            "INSERT INTO signing_keys (tenant_id, kid, alg, status, created_at, rotated_at, private_enc, public_jwk) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&k.tenant_id)
        .bind(&k.kid)
        .bind(k.alg.as_str())
        .bind(k.status.as_str())
        .bind(k.created_at)
        .bind(k.rotated_at)
        .bind(&k.private_enc)
        .bind(&k.public_jwk)
        .execute(&mut *tx)
        .await
        .map_err(map_err(&what))?;
        tx.commit().await.map_err(map_err(&what))
    }

    async fn signing_keys(&self, tenant: &str) -> StoreResult<Vec<SigningKeyRecord>> {
        let rows = sqlx::query(
            "SELECT tenant_id, kid, alg, status, created_at, rotated_at, private_enc, public_jwk FROM signing_keys WHERE tenant_id = ? ORDER BY created_at, rowid",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err("signing keys"))?;
        rows.iter()
            .map(|r| {
                let alg: String = r.get("alg");
                let status: String = r.get("status");
                let kid: String = r.get("kid");
                let corrupt = || StoreError::Backend(format!("corrupt signing key row {kid}"));
                Ok(SigningKeyRecord {
                    tenant_id: r.get("tenant_id"),
                    alg: SigningAlg::parse(&alg).ok_or_else(corrupt)?,
                    status: KeyStatus::parse(&status).ok_or_else(corrupt)?,
                    created_at: r.get("created_at"),
                    rotated_at: r.get("rotated_at"),
                    private_enc: r.get("private_enc"),
                    public_jwk: r.get("public_jwk"),
                    kid,
                })
            })
            .collect()
    }
}

const ARTIFACT_COLUMNS: &str = "tenant_id, kind, id_hash, family, client_id, user_id, payload, created_at, expires_at, consumed_at";

fn artifact_from_row(r: &sqlx::sqlite::SqliteRow) -> StoreResult<Artifact> {
    let kind: String = r.get("kind");
    let payload: String = r.get("payload");
    Ok(Artifact {
        tenant_id: r.get("tenant_id"),
        kind: ArtifactKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("corrupt artifact kind {kind}")))?,
        id_hash: r.get("id_hash"),
        family: r.get("family"),
        client_id: r.get("client_id"),
        user_id: r.get("user_id"),
        payload: decode("artifact", &payload)?,
        created_at: r.get("created_at"),
        expires_at: r.get("expires_at"),
        consumed_at: r.get("consumed_at"),
    })
}

#[async_trait]
impl ArtifactStore for SqliteStore {
    async fn insert_artifact(&self, a: &Artifact) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO artifacts ({ARTIFACT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        );
        sqlx::query(&sql)
            .bind(&a.tenant_id)
            .bind(a.kind.as_str())
            .bind(&a.id_hash)
            .bind(&a.family)
            .bind(&a.client_id)
            .bind(&a.user_id)
            .bind(encode(&a.payload)?)
            .bind(a.created_at)
            .bind(a.expires_at)
            .bind(a.consumed_at)
            .execute(&self.pool)
            .await
            .map_err(map_err(a.kind.as_str()))?;
        Ok(())
    }

    async fn artifact(
        &self,
        tenant: &str,
        kind: ArtifactKind,
        id_hash: &str,
    ) -> StoreResult<Option<Artifact>> {
        let sql = format!(
            "SELECT {ARTIFACT_COLUMNS} FROM artifacts WHERE tenant_id = ? AND kind = ? AND id_hash = ?"
        );
        let row = sqlx::query(&sql)
            .bind(tenant)
            .bind(kind.as_str())
            .bind(id_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err(kind.as_str()))?;
        row.as_ref().map(artifact_from_row).transpose()
    }

    async fn consume_artifact(
        &self,
        tenant: &str,
        kind: ArtifactKind,
        id_hash: &str,
        now: i64,
    ) -> StoreResult<Option<Artifact>> {
        let sql = format!(
            "UPDATE artifacts SET consumed_at = ? WHERE tenant_id = ? AND kind = ? AND id_hash = ? \
             AND consumed_at IS NULL AND expires_at > ? RETURNING {ARTIFACT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(now)
            .bind(tenant)
            .bind(kind.as_str())
            .bind(id_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err(kind.as_str()))?;
        row.as_ref().map(artifact_from_row).transpose()
    }

    async fn extend_artifact(
        &self,
        tenant: &str,
        kind: ArtifactKind,
        id_hash: &str,
        expires_at: i64,
    ) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE artifacts SET expires_at = ? WHERE tenant_id = ? AND kind = ? AND id_hash = ?",
        )
        .bind(expires_at)
        .bind(tenant)
        .bind(kind.as_str())
        .bind(id_hash)
        .execute(&self.pool)
        .await
        .map_err(map_err(kind.as_str()))?;
        Ok(r.rows_affected() > 0)
    }

    async fn delete_artifact(
        &self,
        tenant: &str,
        kind: ArtifactKind,
        id_hash: &str,
    ) -> StoreResult<bool> {
        let sql = "DELETE FROM artifacts WHERE tenant_id = ? AND kind = ? AND id_hash = ?";
        Ok(self
            .exec(kind.as_str(), sql, &[tenant, kind.as_str(), id_hash])
            .await?
            > 0)
    }

    async fn delete_family(&self, tenant: &str, family: &str) -> StoreResult<u64> {
        let sql = "DELETE FROM artifacts WHERE tenant_id = ? AND family = ?";
        self.exec("artifact family", sql, &[tenant, family]).await
    }

    async fn purge_artifacts(&self, before: i64) -> StoreResult<u64> {
        let r = sqlx::query("DELETE FROM artifacts WHERE expires_at < ?")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(map_err("artifact purge"))?;
        Ok(r.rows_affected())
    }
}

#[async_trait]
impl RoleStore for SqliteStore {
    async fn insert_role(&self, r: &Role) -> StoreResult<()> {
        let what = format!("role {}", r.name);
        let sql = "INSERT INTO roles (tenant_id, id, name, data) VALUES (?, ?, ?, ?)";
        self.exec(&what, sql, &[&r.tenant_id, &r.id, &r.name, &encode(r)?])
            .await?;
        Ok(())
    }
    async fn role(&self, tenant: &str, id: &str) -> StoreResult<Option<Role>> {
        let sql = "SELECT data FROM roles WHERE tenant_id = ? AND id = ?";
        self.fetch_data("role", sql, &[tenant, id]).await
    }
    async fn role_by_name(&self, tenant: &str, name: &str) -> StoreResult<Option<Role>> {
        let sql = "SELECT data FROM roles WHERE tenant_id = ? AND name = ?";
        self.fetch_data("role", sql, &[tenant, name]).await
    }
    async fn roles(&self, tenant: &str) -> StoreResult<Vec<Role>> {
        let sql = "SELECT data FROM roles WHERE tenant_id = ? ORDER BY rowid";
        self.fetch_all_data("role", sql, &[tenant]).await
    }
    async fn update_role(&self, r: &Role) -> StoreResult<()> {
        let what = format!("role {}", r.name);
        let sql = "UPDATE roles SET name = ?, data = ? WHERE tenant_id = ? AND id = ?";
        self.exec_one(&what, sql, &[&r.name, &encode(r)?, &r.tenant_id, &r.id])
            .await
    }
    async fn delete_role(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM roles WHERE tenant_id = ? AND id = ?";
        Ok(self.exec("role", sql, &[tenant, id]).await? > 0)
    }
}

#[async_trait]
impl ScriptStore for SqliteStore {
    async fn insert_script(&self, sc: &Script) -> StoreResult<()> {
        let what = format!("{} {}", sc.kind.as_str(), sc.name);
        let sql =
            "INSERT INTO scripts (tenant_id, id, kind, name, ord, data) VALUES (?, ?, ?, ?, ?, ?)";
        sqlx::query(sql)
            .bind(&sc.tenant_id)
            .bind(&sc.id)
            .bind(sc.kind.as_str())
            .bind(&sc.name)
            .bind(sc.order)
            .bind(encode(sc)?)
            .execute(&self.pool)
            .await
            .map_err(map_err(&what))?;
        Ok(())
    }
    async fn script(&self, tenant: &str, id: &str) -> StoreResult<Option<Script>> {
        let sql = "SELECT data FROM scripts WHERE tenant_id = ? AND id = ?";
        self.fetch_data("script", sql, &[tenant, id]).await
    }
    async fn script_by_name(
        &self,
        tenant: &str,
        kind: ScriptKind,
        name: &str,
    ) -> StoreResult<Option<Script>> {
        let sql = "SELECT data FROM scripts WHERE tenant_id = ? AND kind = ? AND name = ?";
        self.fetch_data("script", sql, &[tenant, kind.as_str(), name])
            .await
    }
    async fn scripts(&self, tenant: &str, kind: ScriptKind) -> StoreResult<Vec<Script>> {
        let sql = "SELECT data FROM scripts WHERE tenant_id = ? AND kind = ? ORDER BY ord, rowid";
        self.fetch_all_data("script", sql, &[tenant, kind.as_str()])
            .await
    }
    async fn update_script(&self, sc: &Script) -> StoreResult<()> {
        let what = format!("{} {}", sc.kind.as_str(), sc.name);
        let r = sqlx::query(
            "UPDATE scripts SET name = ?, ord = ?, data = ? WHERE tenant_id = ? AND id = ?",
        )
        .bind(&sc.name)
        .bind(sc.order)
        .bind(encode(sc)?)
        .bind(&sc.tenant_id)
        .bind(&sc.id)
        .execute(&self.pool)
        .await
        .map_err(map_err(&what))?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(what));
        }
        Ok(())
    }
    async fn delete_script(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM scripts WHERE tenant_id = ? AND id = ?";
        Ok(self.exec("script", sql, &[tenant, id]).await? > 0)
    }
}
