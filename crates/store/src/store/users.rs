//! Users (with the versioned update and the transactional `modify_user`) and scripts.

use super::*;
use tessera_core::model::{UserPage, UserQuery};

#[async_trait]
impl UserStore for SqlStore {
    async fn insert_user(&self, u: &User) -> StoreResult<()> {
        let sql = "INSERT INTO users (tenant_id, user_id, email, data) VALUES ($1, $2, $3, $4)";
        let what = format!("user {}", u.email);
        let (email, data) = (email_key(&u.email), encode(u)?);
        let args = [
            Text(&u.tenant_id),
            Text(&u.user_id),
            Text(&email),
            Text(&data),
        ];
        self.exec(&what, sql, &args).await?;
        Ok(())
    }
    async fn user(&self, tenant: &str, id: &str) -> StoreResult<Option<User>> {
        let sql = "SELECT data FROM users WHERE tenant_id = $1 AND user_id = $2";
        self.fetch_data("user", sql, &[Text(tenant), Text(id)])
            .await
    }
    async fn user_by_email(&self, tenant: &str, email: &str) -> StoreResult<Option<User>> {
        let sql = "SELECT data FROM users WHERE tenant_id = $1 AND email = $2";
        self.fetch_data("user", sql, &[Text(tenant), Text(&email_key(email))])
            .await
    }
    async fn users(&self, tenant: &str) -> StoreResult<Vec<User>> {
        let sql = "SELECT data FROM users WHERE tenant_id = $1 ORDER BY rowid";
        self.fetch_all_data("user", sql, &[Text(tenant)]).await
    }
    async fn search_users(&self, tenant: &str, q: &UserQuery) -> StoreResult<UserPage> {
        self.search_users_sql(tenant, q).await
    }
    async fn update_user(&self, u: &User) -> StoreResult<()> {
        let sql = "UPDATE users SET email = $1, data = $2, version = $3 WHERE tenant_id = $4 AND user_id = $5 AND version = $6";
        let what = format!("user {}", u.user_id);
        let (email, (data, next)) = (email_key(&u.email), next_version(u)?);
        let key = [Text(&u.tenant_id), Text(&u.user_id)];
        let args = [
            Text(&email),
            Text(&data),
            Int(next),
            key[0],
            key[1],
            Int(u.version),
        ];
        let exists = "SELECT 1 FROM users WHERE tenant_id = $1 AND user_id = $2";
        self.exec_versioned(&what, sql, &args, exists, &key).await
    }
    async fn modify_user(
        &self,
        tenant: &str,
        user_id: &str,
        change: &UserChange<'_>,
    ) -> StoreResult<Option<User>> {
        let key = [Text(tenant), Text(user_id)];
        if has_nul(&key) {
            return Ok(None);
        }
        let what = format!("user {user_id}");
        let mut tx = self.begin(&what, true).await?;
        // SQLite's BEGIN IMMEDIATE already holds the database's write lock; on PostgreSQL the
        // row lock makes other writers of this user wait for the commit.
        let sql = if self.is_postgres() {
            "SELECT data FROM users WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE"
        } else {
            "SELECT data FROM users WHERE tenant_id = $1 AND user_id = $2"
        };
        let found = tx
            .conn()
            .fetch_optional(&what, sql, &key, |r| {
                decode::<User>(&what, &r.text("data")?)
            })
            .await?;
        let Some(mut u) = found else {
            return Ok(None);
        };
        if !change(&mut u) {
            return Ok(Some(u));
        }
        u.version += 1;
        let (email, data) = (email_key(&u.email), encode(&u)?);
        let sql = "UPDATE users SET email = $1, data = $2, version = $3 WHERE tenant_id = $4 AND user_id = $5";
        let args = [Text(&email), Text(&data), Int(u.version), key[0], key[1]];
        tx.conn().execute(&what, sql, &args).await?;
        tx.commit(&what).await?;
        Ok(Some(u))
    }
    async fn delete_user(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM users WHERE tenant_id = $1 AND user_id = $2";
        Ok(self.exec("user", sql, &[Text(tenant), Text(id)]).await? > 0)
    }
}

#[async_trait]
impl ScriptStore for SqlStore {
    async fn insert_script(&self, sc: &Script) -> StoreResult<()> {
        let what = format!("{} {}", sc.kind.as_str(), sc.name);
        let sql = "INSERT INTO scripts (tenant_id, id, kind, name, ord, data) VALUES ($1, $2, $3, $4, $5, $6)";
        let data = encode(sc)?;
        let args = [
            Text(&sc.tenant_id),
            Text(&sc.id),
            Text(sc.kind.as_str()),
            Text(&sc.name),
            Int(sc.order),
            Text(&data),
        ];
        self.exec(&what, sql, &args).await?;
        Ok(())
    }
    async fn script(&self, tenant: &str, id: &str) -> StoreResult<Option<Script>> {
        let sql = "SELECT data FROM scripts WHERE tenant_id = $1 AND id = $2";
        self.fetch_data("script", sql, &[Text(tenant), Text(id)])
            .await
    }
    async fn script_by_name(
        &self,
        tenant: &str,
        kind: ScriptKind,
        name: &str,
    ) -> StoreResult<Option<Script>> {
        let sql = "SELECT data FROM scripts WHERE tenant_id = $1 AND kind = $2 AND name = $3";
        self.fetch_data(
            "script",
            sql,
            &[Text(tenant), Text(kind.as_str()), Text(name)],
        )
        .await
    }
    async fn scripts(&self, tenant: &str, kind: ScriptKind) -> StoreResult<Vec<Script>> {
        let sql = "SELECT data FROM scripts WHERE tenant_id = $1 AND kind = $2 ORDER BY ord, rowid";
        self.fetch_all_data("script", sql, &[Text(tenant), Text(kind.as_str())])
            .await
    }
    async fn update_script(&self, sc: &Script) -> StoreResult<()> {
        let what = format!("{} {}", sc.kind.as_str(), sc.name);
        let sql = "UPDATE scripts SET name = $1, ord = $2, data = $3, version = $4 WHERE tenant_id = $5 AND id = $6 AND version = $7";
        let (data, next) = next_version(sc)?;
        let key = [Text(&sc.tenant_id), Text(&sc.id)];
        let args = [
            Text(&sc.name),
            Int(sc.order),
            Text(&data),
            Int(next),
            key[0],
            key[1],
            Int(sc.version),
        ];
        let exists = "SELECT 1 FROM scripts WHERE tenant_id = $1 AND id = $2";
        self.exec_versioned(&what, sql, &args, exists, &key).await
    }
    async fn delete_script(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM scripts WHERE tenant_id = $1 AND id = $2";
        Ok(self.exec("script", sql, &[Text(tenant), Text(id)]).await? > 0)
    }
}
