//! Roles: named sets of API permissions, assigned to users (see [`crate::rbac`] for what they
//! mean for tokens).

use super::*;
use crate::model::{Role, RolePermission};

fn invalid(e: impl Into<String>) -> ManageError {
    ManageError::invalid(e)
}

/// A role by id (`rol_…`) or name.
pub(crate) async fn find_role(
    store: &dyn Store,
    tenant: &str,
    id_or_name: &str,
) -> ManageResult<Role> {
    if let Some(r) = store.role(tenant, id_or_name).await? {
        return Ok(r);
    }
    store
        .role_by_name(tenant, id_or_name)
        .await?
        .ok_or_else(|| ManageError::NotFound(format!("no role with id or name '{id_or_name}'")))
}

impl Manager<'_> {
    pub async fn create_role(&self, name: &str, description: Option<&str>) -> ManageResult<Role> {
        self.actor.require(&["create:roles"])?;
        let store = self.store;
        let clock = self.clock;
        let tenant = self.tenant;
        validate::name(name).map_err(|e| ManageError::field("name", e))?;
        let now = clock.now();
        let role = Role {
            tenant_id: tenant.to_owned(),
            id: Role::new_id(),
            name: name.trim().to_owned(),
            description: description.unwrap_or("").to_owned(),
            permissions: Vec::new(),
            version: 0,
            created_at: now,
            updated_at: now,
        };
        store.insert_role(&role).await.map_err(|e| match e {
            crate::StoreError::Conflict(_) => {
                ManageError::Conflict(format!("a role named '{}' already exists", role.name))
            }
            e => e.into(),
        })?;
        Ok(role)
    }
    /// Deletes a role; its assignments to users go with it.
    pub async fn delete_role(&self, id_or_name: &str) -> ManageResult<Role> {
        self.actor.require(&["delete:roles"])?;
        let role = find_role(self.store, self.tenant, id_or_name).await?;
        self.store.delete_role(self.tenant, &role.id).await?;
        Ok(role)
    }
    /// Adds (`add = true`) or removes permissions of one API. Added ones must be scopes the API
    /// defines.
    pub async fn change_permissions(
        &self,
        id_or_name: &str,
        api: &str,
        permissions: &[String],
        add: bool,
    ) -> ManageResult<Role> {
        self.actor.require(&["update:roles"])?;
        let store = self.store;
        let clock = self.clock;
        let tenant = self.tenant;
        retry_stale(move || async move {
        let mut role = find_role(store, tenant, id_or_name).await?;
        let api = find_api(store, tenant, api).await?;
        if permissions.is_empty() {
            return Err(ManageError::field("permissions", "name at least one"));
        }
        for p in permissions {
            let held = role.permissions.iter().position(|x| {
                x.resource_server_identifier == api.identifier && &x.permission_name == p
            });
            match (add, held) {
                (true, None) => {
                    if !api.has_scope(p) {
                        return Err(invalid(format!(
                            "the API {} has no scope '{p}': add it with `tessera apis update {} --scopes …`",
                            api.identifier, api.identifier
                        )));
                    }
                    role.permissions.push(RolePermission {
                        resource_server_identifier: api.identifier.clone(),
                        permission_name: p.clone(),
                    });
                }
                (false, Some(i)) => {
                    role.permissions.remove(i);
                }
                _ => {}
            }
        }
        role.updated_at = clock.now();
        store.update_role(&role).await?;
        role.version += 1;
        Ok(role)
        })
        .await
    }
    /// Assigns (`assign = true`) or removes roles of a user; returns the user.
    pub async fn change_user_roles(
        &self,
        user: &str,
        roles: &[String],
        assign: bool,
    ) -> ManageResult<User> {
        self.actor.require(&["update:users"])?;
        let u = find_user(self.store, self.tenant, user).await?;
        if roles.is_empty() {
            return Err(invalid("name at least one role"));
        }
        let mut ids = Vec::with_capacity(roles.len());
        for r in roles {
            ids.push(find_role(self.store, self.tenant, r).await?.id);
        }
        if assign {
            self.store
                .assign_roles(self.tenant, &u.user_id, &ids)
                .await?;
        } else {
            self.store
                .unassign_roles(self.tenant, &u.user_id, &ids)
                .await?;
        }
        Ok(u)
    }
}

impl Manager<'_> {
    /// A role by id or name.
    pub async fn get_role(&self, id_or_name: &str) -> ManageResult<Role> {
        self.actor.require(&["read:roles"])?;
        find_role(self.store, self.tenant, id_or_name).await
    }

    pub async fn list_roles(&self) -> ManageResult<Vec<Role>> {
        self.actor.require(&["read:roles"])?;
        Ok(self.store.roles(self.tenant).await?)
    }
}

impl Manager<'_> {
    /// Renames a role or changes its description.
    pub async fn update_role(
        &self,
        id_or_name: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> ManageResult<Role> {
        self.actor.require(&["update:roles"])?;
        if let Some(n) = name {
            validate::name(n).map_err(|e| ManageError::field("name", e))?;
        }
        let (store, clock, tenant) = (self.store, self.clock, self.tenant);
        retry_stale(move || async move {
            let mut role = find_role(store, tenant, id_or_name).await?;
            if let Some(n) = name {
                role.name = n.trim().to_owned();
            }
            if let Some(d) = description {
                role.description = d.to_owned();
            }
            role.updated_at = clock.now();
            store.update_role(&role).await.map_err(|e| match e {
                crate::StoreError::Conflict(_) => {
                    ManageError::Conflict(format!("a role named '{}' already exists", role.name))
                }
                e => e.into(),
            })?;
            role.version += 1;
            Ok(role)
        })
        .await
    }

    /// A role's permissions, as `{permission_name, resource_server_identifier}`.
    pub async fn role_permissions(&self, id_or_name: &str) -> ManageResult<Vec<RolePermission>> {
        self.actor.require(&["read:roles"])?;
        Ok(find_role(self.store, self.tenant, id_or_name)
            .await?
            .permissions)
    }

    /// Adds or removes permissions given as Auth0 sends them (any mix of APIs).
    pub async fn change_role_permissions(
        &self,
        id_or_name: &str,
        permissions: &[PermissionBody],
        add: bool,
    ) -> ManageResult<Role> {
        self.actor.require(&["update:roles"])?;
        if permissions.is_empty() {
            return Err(ManageError::field("permissions", "name at least one"));
        }
        let mut apis: Vec<&str> = permissions
            .iter()
            .map(|p| p.resource_server_identifier.as_str())
            .collect();
        apis.dedup();
        let mut role = find_role(self.store, self.tenant, id_or_name).await?;
        for api in apis {
            let names: Vec<String> = permissions
                .iter()
                .filter(|p| p.resource_server_identifier == api)
                .map(|p| p.permission_name.clone())
                .collect();
            role = self.change_permissions(&role.id, api, &names, add).await?;
        }
        Ok(role)
    }

    /// A page of a role's users (by user id).
    pub async fn role_users(
        &self,
        id_or_name: &str,
        page: &PageRequest,
    ) -> ManageResult<Page<User>> {
        self.actor.require(&["read:role_members", "read:users"])?;
        let role = find_role(self.store, self.tenant, id_or_name).await?;
        let (start, limit) = page.window()?;
        let users = self
            .store
            .role_users(self.tenant, &role.id, start, limit + 1)
            .await?;
        let total = if page.wants_total() {
            Some(self.store.count_role_users(self.tenant, &role.id).await?)
        } else {
            None
        };
        Ok(Page::from_window(users, page, start, limit, total))
    }

    /// Assigns a role to users.
    pub async fn assign_role_users(&self, id_or_name: &str, users: &[String]) -> ManageResult<()> {
        self.actor.require(&["create:role_members"])?;
        if users.is_empty() {
            return Err(ManageError::field("users", "name at least one"));
        }
        let role = find_role(self.store, self.tenant, id_or_name).await?;
        for u in users {
            let user = find_user(self.store, self.tenant, u).await?;
            self.store
                .assign_roles(self.tenant, &user.user_id, std::slice::from_ref(&role.id))
                .await?;
        }
        Ok(())
    }
}
