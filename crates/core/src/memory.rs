//! An in-memory [`Store`] for unit tests and experiments: the same contract as the SQL stores
//! (conflicts, cascades, ordering), none of the durability.

use std::sync::Mutex;

use async_trait::async_trait;

use crate::model::{
    Artifact, Client, ClientGrant, KeyStatus, ResourceServer, Role, Script, ScriptKind,
    SigningKeyRecord, SortKey, Tenant, User, UserPage, UserQuery, Versioned, email_key,
};
use crate::store::*;

#[derive(Default)]
struct Inner {
    tenants: Vec<(Tenant, i64)>,
    clients: Vec<Client>,
    apis: Vec<ResourceServer>,
    grants: Vec<ClientGrant>,
    users: Vec<User>,
    keys: Vec<SigningKeyRecord>,
    artifacts: Vec<Artifact>,
    roles: Vec<Role>,
    /// (tenant, user, role, position): the role assignments.
    user_roles: Vec<(String, String, String, i64)>,
    logs: Vec<crate::model::LogEvent>,
    scripts: Vec<Script>,
    counters: std::collections::HashMap<(String, CounterKind, String, String), Counter>,
}

impl Inner {
    fn bump(&mut self, tenant: &str) {
        if let Some((_, v)) = self.tenants.iter_mut().find(|(t, _)| t.id == tenant) {
            *v += 1;
        }
    }
}

/// Writes `new` over the stored object if that still has the version `new` was read with; the
/// stored copy gets the next version. The SQL stores' `WHERE version = …`.
fn replace<T: Versioned>(
    slot: Option<&mut T>,
    new: &T,
    what: impl Fn() -> String,
) -> StoreResult<()> {
    let slot = slot.ok_or_else(|| StoreError::NotFound(what()))?;
    if slot.version() != new.version() {
        return Err(StoreError::Stale(what()));
    }
    *slot = new.clone();
    slot.set_version(new.version() + 1);
    Ok(())
}

#[derive(Default)]
pub struct MemoryStore(Mutex<Inner>);

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl TenantStore for MemoryStore {
    async fn tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
        Ok(self
            .lock()
            .tenants
            .iter()
            .find(|(t, _)| t.id == id)
            .map(|(t, _)| t.clone()))
    }
    async fn insert_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        let mut g = self.lock();
        if g.tenants.iter().any(|(t, _)| t.id == tenant.id) {
            return Err(StoreError::Conflict(format!("tenant {}", tenant.id)));
        }
        g.tenants.push((tenant.clone(), 0));
        Ok(())
    }
    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        let mut g = self.lock();
        let slot = g.tenants.iter_mut().find(|(t, _)| t.id == tenant.id);
        let what = || format!("tenant {}", tenant.id);
        let (t, v) = slot.ok_or_else(|| StoreError::NotFound(what()))?;
        replace(Some(t), tenant, what)?;
        *v += 1;
        Ok(())
    }
    async fn config_version(&self, tenant: &str) -> StoreResult<i64> {
        let g = self.lock();
        let found = g.tenants.iter().find(|(t, _)| t.id == tenant);
        found
            .map(|(_, v)| *v)
            .ok_or_else(|| StoreError::NotFound(format!("tenant {tenant}")))
    }
}

#[async_trait]
impl ClientStore for MemoryStore {
    async fn insert_client(&self, c: &Client) -> StoreResult<()> {
        let mut g = self.lock();
        if g.clients
            .iter()
            .any(|x| x.tenant_id == c.tenant_id && x.client_id == c.client_id)
        {
            return Err(StoreError::Conflict(format!("client {}", c.client_id)));
        }
        g.clients.push(c.clone());
        g.bump(&c.tenant_id);
        Ok(())
    }
    async fn client(&self, tenant: &str, id: &str) -> StoreResult<Option<Client>> {
        Ok(self
            .lock()
            .clients
            .iter()
            .find(|c| c.tenant_id == tenant && c.client_id == id)
            .cloned())
    }
    async fn clients(&self, tenant: &str) -> StoreResult<Vec<Client>> {
        Ok(self
            .lock()
            .clients
            .iter()
            .filter(|c| c.tenant_id == tenant)
            .cloned()
            .collect())
    }
    async fn update_client(&self, c: &Client) -> StoreResult<()> {
        let mut g = self.lock();
        let slot = g
            .clients
            .iter_mut()
            .find(|x| x.tenant_id == c.tenant_id && x.client_id == c.client_id);
        replace(slot, c, || format!("client {}", c.client_id))?;
        g.bump(&c.tenant_id);
        Ok(())
    }
    async fn delete_client(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let mut g = self.lock();
        let before = g.clients.len();
        g.clients
            .retain(|c| !(c.tenant_id == tenant && c.client_id == id));
        g.grants
            .retain(|x| !(x.tenant_id == tenant && x.client_id == id));
        let deleted = g.clients.len() != before;
        if deleted {
            g.bump(tenant);
        }
        Ok(deleted)
    }
}

#[async_trait]
impl ResourceServerStore for MemoryStore {
    async fn insert_resource_server(&self, rs: &ResourceServer) -> StoreResult<()> {
        let mut g = self.lock();
        if g.apis.iter().any(|x| {
            x.tenant_id == rs.tenant_id && (x.identifier == rs.identifier || x.id == rs.id)
        }) {
            return Err(StoreError::Conflict(format!("API {}", rs.identifier)));
        }
        g.apis.push(rs.clone());
        g.bump(&rs.tenant_id);
        Ok(())
    }
    async fn resource_server(&self, tenant: &str, id: &str) -> StoreResult<Option<ResourceServer>> {
        Ok(self
            .lock()
            .apis
            .iter()
            .find(|x| x.tenant_id == tenant && x.id == id)
            .cloned())
    }
    async fn resource_server_by_identifier(
        &self,
        tenant: &str,
        identifier: &str,
    ) -> StoreResult<Option<ResourceServer>> {
        Ok(self
            .lock()
            .apis
            .iter()
            .find(|x| x.tenant_id == tenant && x.identifier == identifier)
            .cloned())
    }
    async fn resource_servers(&self, tenant: &str) -> StoreResult<Vec<ResourceServer>> {
        Ok(self
            .lock()
            .apis
            .iter()
            .filter(|x| x.tenant_id == tenant)
            .cloned()
            .collect())
    }
    async fn update_resource_server(&self, rs: &ResourceServer) -> StoreResult<()> {
        let mut g = self.lock();
        let slot = g.apis.iter_mut().find(|x| {
            x.tenant_id == rs.tenant_id && x.id == rs.id && x.identifier == rs.identifier
        });
        replace(slot, rs, || format!("API {}", rs.id))?;
        g.bump(&rs.tenant_id);
        Ok(())
    }
    async fn delete_resource_server(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let mut g = self.lock();
        let Some(pos) = g
            .apis
            .iter()
            .position(|x| x.tenant_id == tenant && x.id == id)
        else {
            return Ok(false);
        };
        let rs = g.apis.remove(pos);
        g.grants
            .retain(|x| !(x.tenant_id == tenant && x.audience == rs.identifier));
        g.bump(tenant);
        Ok(true)
    }
}

#[async_trait]
impl ClientGrantStore for MemoryStore {
    async fn insert_client_grant(&self, cg: &ClientGrant) -> StoreResult<()> {
        let mut g = self.lock();
        let t = &cg.tenant_id;
        if !g
            .clients
            .iter()
            .any(|c| &c.tenant_id == t && c.client_id == cg.client_id)
            || !g
                .apis
                .iter()
                .any(|a| &a.tenant_id == t && a.identifier == cg.audience)
        {
            return Err(StoreError::NotFound(format!(
                "client {} or API {}",
                cg.client_id, cg.audience
            )));
        }
        if g.grants
            .iter()
            .any(|x| &x.tenant_id == t && x.client_id == cg.client_id && x.audience == cg.audience)
        {
            return Err(StoreError::Conflict(format!(
                "grant {} -> {}",
                cg.client_id, cg.audience
            )));
        }
        g.grants.push(cg.clone());
        g.bump(t);
        Ok(())
    }
    async fn update_client_grant(&self, cg: &ClientGrant) -> StoreResult<()> {
        let mut g = self.lock();
        let slot = g
            .grants
            .iter_mut()
            .find(|x| x.tenant_id == cg.tenant_id && x.id == cg.id);
        replace(slot, cg, || format!("grant {}", cg.id))?;
        g.bump(&cg.tenant_id);
        Ok(())
    }
    async fn client_grant(
        &self,
        tenant: &str,
        client_id: &str,
        audience: &str,
    ) -> StoreResult<Option<ClientGrant>> {
        let g = self.lock();
        Ok(g.grants
            .iter()
            .find(|x| x.tenant_id == tenant && x.client_id == client_id && x.audience == audience)
            .cloned())
    }
    async fn client_grants(&self, tenant: &str, client_id: &str) -> StoreResult<Vec<ClientGrant>> {
        let g = self.lock();
        Ok(g.grants
            .iter()
            .filter(|x| x.tenant_id == tenant && x.client_id == client_id)
            .cloned()
            .collect())
    }
    async fn tenant_client_grants(&self, tenant: &str) -> StoreResult<Vec<ClientGrant>> {
        let g = self.lock();
        Ok(g.grants
            .iter()
            .filter(|x| x.tenant_id == tenant)
            .cloned()
            .collect())
    }
    async fn delete_client_grant(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let mut g = self.lock();
        let before = g.grants.len();
        g.grants.retain(|x| !(x.tenant_id == tenant && x.id == id));
        let deleted = g.grants.len() != before;
        if deleted {
            g.bump(tenant);
        }
        Ok(deleted)
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn insert_user(&self, u: &User) -> StoreResult<()> {
        let mut g = self.lock();
        if g.users.iter().any(|x| {
            x.tenant_id == u.tenant_id
                && (x.user_id == u.user_id || email_key(&x.email) == email_key(&u.email))
        }) {
            return Err(StoreError::Conflict(format!("user {}", u.email)));
        }
        g.users.push(u.clone());
        Ok(())
    }
    async fn user(&self, tenant: &str, id: &str) -> StoreResult<Option<User>> {
        Ok(self
            .lock()
            .users
            .iter()
            .find(|x| x.tenant_id == tenant && x.user_id == id)
            .cloned())
    }
    async fn user_by_email(&self, tenant: &str, email: &str) -> StoreResult<Option<User>> {
        let key = email_key(email);
        Ok(self
            .lock()
            .users
            .iter()
            .find(|x| x.tenant_id == tenant && email_key(&x.email) == key)
            .cloned())
    }
    async fn users(&self, tenant: &str) -> StoreResult<Vec<User>> {
        Ok(self
            .lock()
            .users
            .iter()
            .filter(|x| x.tenant_id == tenant)
            .cloned()
            .collect())
    }
    async fn search_users(&self, tenant: &str, q: &UserQuery) -> StoreResult<UserPage> {
        let g = self.lock();
        let mut all: Vec<&User> = g
            .users
            .iter()
            .filter(|u| u.tenant_id == tenant)
            .filter(|u| q.filter.as_ref().is_none_or(|f| f.matches(u)))
            .collect();
        match q.sort.by {
            SortKey::Created => {}
            SortKey::Email => all.sort_by_key(|u| email_key(&u.email)),
            SortKey::UserId => all.sort_by(|a, b| a.user_id.cmp(&b.user_id)),
        }
        if q.sort.descending {
            all.reverse();
        }
        let total = q.total.then_some(all.len() as u64);
        let users = all
            .into_iter()
            .skip(usize::try_from(q.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(q.limit).unwrap_or(usize::MAX))
            .cloned()
            .collect();
        Ok(UserPage { users, total })
    }
    async fn update_user(&self, u: &User) -> StoreResult<()> {
        let mut g = self.lock();
        if g.users.iter().any(|x| {
            x.tenant_id == u.tenant_id
                && x.user_id != u.user_id
                && email_key(&x.email) == email_key(&u.email)
        }) {
            return Err(StoreError::Conflict(format!("user {}", u.email)));
        }
        let slot = g
            .users
            .iter_mut()
            .find(|x| x.tenant_id == u.tenant_id && x.user_id == u.user_id);
        replace(slot, u, || format!("user {}", u.user_id))?;
        Ok(())
    }
    async fn modify_user(
        &self,
        tenant: &str,
        user_id: &str,
        change: &UserChange<'_>,
    ) -> StoreResult<Option<User>> {
        let mut g = self.lock();
        let Some(slot) = g
            .users
            .iter_mut()
            .find(|x| x.tenant_id == tenant && x.user_id == user_id)
        else {
            return Ok(None);
        };
        let mut u = slot.clone();
        if change(&mut u) {
            u.version += 1;
            *slot = u.clone();
        }
        Ok(Some(u))
    }
    async fn delete_user(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let mut g = self.lock();
        let before = g.users.len();
        g.users
            .retain(|x| !(x.tenant_id == tenant && x.user_id == id));
        g.user_roles
            .retain(|(t, u, _, _)| !(t == tenant && u == id));
        Ok(g.users.len() != before)
    }
}

#[async_trait]
impl KeyStore for MemoryStore {
    async fn add_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        let mut g = self.lock();
        if g.keys
            .iter()
            .any(|k| k.tenant_id == key.tenant_id && k.kid == key.kid)
        {
            return Err(StoreError::Conflict(format!("key {}", key.kid)));
        }
        for k in g.keys.iter_mut().filter(|k| {
            k.tenant_id == key.tenant_id && k.alg == key.alg && k.status == KeyStatus::Current
        }) {
            k.status = KeyStatus::Previous;
            k.rotated_at = Some(key.created_at);
        }
        g.keys.push(key.clone());
        g.bump(&key.tenant_id);
        Ok(())
    }
    async fn signing_keys(&self, tenant: &str) -> StoreResult<Vec<SigningKeyRecord>> {
        Ok(self
            .lock()
            .keys
            .iter()
            .filter(|k| k.tenant_id == tenant)
            .cloned()
            .collect())
    }
}

#[async_trait]
impl ScriptStore for MemoryStore {
    async fn insert_script(&self, sc: &Script) -> StoreResult<()> {
        let mut g = self.lock();
        if g.scripts.iter().any(|x| {
            x.tenant_id == sc.tenant_id
                && (x.id == sc.id || (x.kind == sc.kind && x.name == sc.name))
        }) {
            return Err(StoreError::Conflict(format!(
                "{} {}",
                sc.kind.as_str(),
                sc.name
            )));
        }
        g.scripts.push(sc.clone());
        Ok(())
    }
    async fn script(&self, tenant: &str, id: &str) -> StoreResult<Option<Script>> {
        let g = self.lock();
        Ok(g.scripts
            .iter()
            .find(|x| x.tenant_id == tenant && x.id == id)
            .cloned())
    }
    async fn script_by_name(
        &self,
        tenant: &str,
        kind: ScriptKind,
        name: &str,
    ) -> StoreResult<Option<Script>> {
        let g = self.lock();
        Ok(g.scripts
            .iter()
            .find(|x| x.tenant_id == tenant && x.kind == kind && x.name == name)
            .cloned())
    }
    async fn scripts(&self, tenant: &str, kind: ScriptKind) -> StoreResult<Vec<Script>> {
        let g = self.lock();
        let mut out: Vec<Script> = g
            .scripts
            .iter()
            .filter(|x| x.tenant_id == tenant && x.kind == kind)
            .cloned()
            .collect();
        out.sort_by_key(|x| x.order);
        Ok(out)
    }
    async fn update_script(&self, sc: &Script) -> StoreResult<()> {
        let mut g = self.lock();
        if g.scripts.iter().any(|x| {
            x.tenant_id == sc.tenant_id && x.kind == sc.kind && x.name == sc.name && x.id != sc.id
        }) {
            return Err(StoreError::Conflict(format!(
                "{} {}",
                sc.kind.as_str(),
                sc.name
            )));
        }
        let slot = g
            .scripts
            .iter_mut()
            .find(|x| x.tenant_id == sc.tenant_id && x.id == sc.id);
        replace(slot, sc, || format!("script {}", sc.id))?;
        Ok(())
    }
    async fn delete_script(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let mut g = self.lock();
        let before = g.scripts.len();
        g.scripts.retain(|x| !(x.tenant_id == tenant && x.id == id));
        Ok(g.scripts.len() != before)
    }
}

mod artifacts;
mod logs;
mod roles;
