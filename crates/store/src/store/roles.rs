//! Roles and their assignments to users (`user_roles`, one row per assignment, in order).

use super::*;

#[async_trait]
impl RoleStore for SqlStore {
    async fn insert_role(&self, r: &Role) -> StoreResult<()> {
        let what = format!("role {}", r.name);
        let sql = "INSERT INTO roles (tenant_id, id, name, data) VALUES ($1, $2, $3, $4)";
        let data = encode(r)?;
        let args = [Text(&r.tenant_id), Text(&r.id), Text(&r.name), Text(&data)];
        self.exec(&what, sql, &args).await?;
        Ok(())
    }
    async fn role(&self, tenant: &str, id: &str) -> StoreResult<Option<Role>> {
        let sql = "SELECT data FROM roles WHERE tenant_id = $1 AND id = $2";
        self.fetch_data("role", sql, &[Text(tenant), Text(id)])
            .await
    }
    async fn role_by_name(&self, tenant: &str, name: &str) -> StoreResult<Option<Role>> {
        let sql = "SELECT data FROM roles WHERE tenant_id = $1 AND name = $2";
        self.fetch_data("role", sql, &[Text(tenant), Text(name)])
            .await
    }
    async fn roles(&self, tenant: &str) -> StoreResult<Vec<Role>> {
        let sql = "SELECT data FROM roles WHERE tenant_id = $1 ORDER BY rowid";
        self.fetch_all_data("role", sql, &[Text(tenant)]).await
    }
    async fn update_role(&self, r: &Role) -> StoreResult<()> {
        let what = format!("role {}", r.name);
        let sql = "UPDATE roles SET name = $1, data = $2, version = $3 WHERE tenant_id = $4 AND id = $5 AND version = $6";
        let (data, next) = next_version(r)?;
        let key = [Text(&r.tenant_id), Text(&r.id)];
        let args = [
            Text(&r.name),
            Text(&data),
            Int(next),
            key[0],
            key[1],
            Int(r.version),
        ];
        let exists = "SELECT 1 FROM roles WHERE tenant_id = $1 AND id = $2";
        self.exec_versioned(&what, sql, &args, exists, &key).await
    }
    async fn delete_role(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        // Its assignments go with it (ON DELETE CASCADE).
        let sql = "DELETE FROM roles WHERE tenant_id = $1 AND id = $2";
        Ok(self.exec("role", sql, &[Text(tenant), Text(id)]).await? > 0)
    }
    async fn user_roles(&self, tenant: &str, user_id: &str) -> StoreResult<Vec<Role>> {
        let sql = "SELECT r.data FROM user_roles ur \
                   JOIN roles r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id \
                   WHERE ur.tenant_id = $1 AND ur.user_id = $2 ORDER BY ur.position";
        self.fetch_all_data("user roles", sql, &[Text(tenant), Text(user_id)])
            .await
    }
    async fn assign_roles(
        &self,
        tenant: &str,
        user_id: &str,
        role_ids: &[String],
    ) -> StoreResult<()> {
        let what = format!("roles of user {user_id}");
        let user = [Text(tenant), Text(user_id)];
        if has_nul(&user) {
            return Err(StoreError::NotFound(format!("user {user_id}")));
        }
        let mut tx = self.begin(&what, true).await?;
        let exists = "SELECT 1 AS one FROM users WHERE tenant_id = $1 AND user_id = $2";
        if tx
            .conn()
            .fetch_optional(&what, exists, &user, |_| Ok(()))
            .await?
            .is_none()
        {
            return Err(StoreError::NotFound(format!("user {user_id}")));
        }
        for id in role_ids {
            let role = [Text(tenant), Text(id)];
            let exists = "SELECT 1 AS one FROM roles WHERE tenant_id = $1 AND id = $2";
            if has_nul(&role)
                || tx
                    .conn()
                    .fetch_optional(&what, exists, &role, |_| Ok(()))
                    .await?
                    .is_none()
            {
                return Err(StoreError::NotFound(format!("role {id}")));
            }
            // Next in the user's order; a role the user holds keeps its place.
            let sql = "INSERT INTO user_roles (tenant_id, user_id, role_id, position) \
                       SELECT $1, $2, $3, COALESCE(MAX(position), 0) + 1 FROM user_roles \
                       WHERE tenant_id = $1 AND user_id = $2 \
                       ON CONFLICT (tenant_id, user_id, role_id) DO NOTHING";
            tx.conn()
                .execute(&what, sql, &[user[0], user[1], Text(id)])
                .await?;
        }
        tx.commit(&what).await
    }
    async fn role_users(
        &self,
        tenant: &str,
        role_id: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Vec<User>> {
        let sql = "SELECT u.data FROM user_roles ur \
                   JOIN users u ON u.tenant_id = ur.tenant_id AND u.user_id = ur.user_id \
                   WHERE ur.tenant_id = $1 AND ur.role_id = $2 ORDER BY ur.user_id \
                   LIMIT $3 OFFSET $4";
        let window = |n: u64| Int(i64::try_from(n).unwrap_or(i64::MAX));
        let args = [Text(tenant), Text(role_id), window(limit), window(offset)];
        self.fetch_all_data("role users", sql, &args).await
    }
    async fn count_role_users(&self, tenant: &str, role_id: &str) -> StoreResult<u64> {
        let sql = "SELECT COUNT(*) AS n FROM user_roles WHERE tenant_id = $1 AND role_id = $2";
        let n = self
            .fetch_rows("role users", sql, &[Text(tenant), Text(role_id)], |r| {
                r.int("n")
            })
            .await?;
        Ok(n.first().copied().unwrap_or(0).max(0) as u64)
    }
    async fn unassign_roles(
        &self,
        tenant: &str,
        user_id: &str,
        role_ids: &[String],
    ) -> StoreResult<()> {
        if role_ids.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = (0..role_ids.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "DELETE FROM user_roles WHERE tenant_id = $1 AND user_id = $2 AND role_id IN ({})",
            list.join(", ")
        );
        let mut args = vec![Text(tenant), Text(user_id)];
        args.extend(role_ids.iter().map(|r| Text(r)));
        if has_nul(&args) {
            return Ok(());
        }
        self.exec("roles of a user", &sql, &args).await?;
        Ok(())
    }
}
