//! The in-memory store's roles and their assignments to users.

use async_trait::async_trait;

use super::{MemoryStore, replace};
use crate::model::Role;
use crate::store::*;

#[async_trait]
impl RoleStore for MemoryStore {
    async fn insert_role(&self, r: &Role) -> StoreResult<()> {
        let mut g = self.lock();
        if g.roles
            .iter()
            .any(|x| x.tenant_id == r.tenant_id && (x.id == r.id || x.name == r.name))
        {
            return Err(StoreError::Conflict(format!("role {}", r.name)));
        }
        g.roles.push(r.clone());
        Ok(())
    }
    async fn role(&self, tenant: &str, id: &str) -> StoreResult<Option<Role>> {
        let g = self.lock();
        Ok(g.roles
            .iter()
            .find(|r| r.tenant_id == tenant && r.id == id)
            .cloned())
    }
    async fn role_by_name(&self, tenant: &str, name: &str) -> StoreResult<Option<Role>> {
        let g = self.lock();
        Ok(g.roles
            .iter()
            .find(|r| r.tenant_id == tenant && r.name == name)
            .cloned())
    }
    async fn roles(&self, tenant: &str) -> StoreResult<Vec<Role>> {
        let g = self.lock();
        Ok(g.roles
            .iter()
            .filter(|r| r.tenant_id == tenant)
            .cloned()
            .collect())
    }
    async fn update_role(&self, r: &Role) -> StoreResult<()> {
        let mut g = self.lock();
        if g.roles
            .iter()
            .any(|x| x.tenant_id == r.tenant_id && x.name == r.name && x.id != r.id)
        {
            return Err(StoreError::Conflict(format!("role {}", r.name)));
        }
        let slot = g
            .roles
            .iter_mut()
            .find(|x| x.tenant_id == r.tenant_id && x.id == r.id);
        replace(slot, r, || format!("role {}", r.id))?;
        Ok(())
    }
    async fn delete_role(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let mut g = self.lock();
        let before = g.roles.len();
        g.roles.retain(|r| !(r.tenant_id == tenant && r.id == id));
        g.user_roles
            .retain(|(t, _, r, _)| !(t == tenant && r == id));
        Ok(g.roles.len() != before)
    }
    async fn user_roles(&self, tenant: &str, user_id: &str) -> StoreResult<Vec<Role>> {
        let g = self.lock();
        let mut held: Vec<&(String, String, String, i64)> = g
            .user_roles
            .iter()
            .filter(|(t, u, _, _)| t == tenant && u == user_id)
            .collect();
        held.sort_by_key(|(_, _, _, pos)| *pos);
        Ok(held
            .iter()
            .filter_map(|(_, _, r, _)| {
                g.roles
                    .iter()
                    .find(|x| x.tenant_id == tenant && &x.id == r)
                    .cloned()
            })
            .collect())
    }
    async fn assign_roles(
        &self,
        tenant: &str,
        user_id: &str,
        role_ids: &[String],
    ) -> StoreResult<()> {
        let mut g = self.lock();
        if !g
            .users
            .iter()
            .any(|u| u.tenant_id == tenant && u.user_id == user_id)
        {
            return Err(StoreError::NotFound(format!("user {user_id}")));
        }
        if let Some(missing) = role_ids.iter().find(|id| {
            !g.roles
                .iter()
                .any(|r| r.tenant_id == tenant && &r.id == *id)
        }) {
            return Err(StoreError::NotFound(format!("role {missing}")));
        }
        for id in role_ids {
            let held =
                |x: &(String, String, String, i64)| x.0 == tenant && x.1 == user_id && &x.2 == id;
            if !g.user_roles.iter().any(held) {
                let next = g
                    .user_roles
                    .iter()
                    .filter(|(t, u, _, _)| t == tenant && u == user_id)
                    .map(|x| x.3)
                    .max()
                    .unwrap_or(0)
                    + 1;
                g.user_roles
                    .push((tenant.to_owned(), user_id.to_owned(), id.clone(), next));
            }
        }
        Ok(())
    }
    async fn role_users(
        &self,
        tenant: &str,
        role_id: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Vec<crate::model::User>> {
        let g = self.lock();
        let mut ids: Vec<&String> = g
            .user_roles
            .iter()
            .filter(|(t, _, r, _)| t == tenant && r == role_id)
            .map(|(_, u, _, _)| u)
            .collect();
        ids.sort();
        Ok(ids
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .filter_map(|id| {
                g.users
                    .iter()
                    .find(|u| u.tenant_id == tenant && &u.user_id == id)
                    .cloned()
            })
            .collect())
    }
    async fn count_role_users(&self, tenant: &str, role_id: &str) -> StoreResult<u64> {
        Ok(self
            .lock()
            .user_roles
            .iter()
            .filter(|(t, _, r, _)| t == tenant && r == role_id)
            .count() as u64)
    }
    async fn unassign_roles(
        &self,
        tenant: &str,
        user_id: &str,
        role_ids: &[String],
    ) -> StoreResult<()> {
        self.lock()
            .user_roles
            .retain(|(t, u, r, _)| !(t == tenant && u == user_id && role_ids.contains(r)));
        Ok(())
    }
}
