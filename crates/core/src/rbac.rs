//! Role-based access control: roles of API permissions, assigned to users, and what they mean
//! for tokens. With an API's `enforce_policies` on, a user's access token carries only the
//! requested scopes the user holds as permissions; the `_authz` dialects add the `permissions`
//! array (AUTH0-BEHAVIOR.md, "Token contents").

use std::collections::BTreeSet;

use crate::{
    model::{Role, RolePermission, User},
    store::{Store, StoreResult},
};

/// The user's roles, in assignment order.
pub async fn user_roles(store: &dyn Store, user: &User) -> StoreResult<Vec<Role>> {
    store.user_roles(&user.tenant_id, &user.user_id).await
}

/// Every permission the user holds through roles, as (API, permission), sorted.
pub async fn user_permissions(store: &dyn Store, user: &User) -> StoreResult<Vec<RolePermission>> {
    let mut set = BTreeSet::new();
    for r in user_roles(store, user).await? {
        for p in r.permissions {
            set.insert((p.resource_server_identifier, p.permission_name));
        }
    }
    Ok(set
        .into_iter()
        .map(|(api, p)| RolePermission {
            resource_server_identifier: api,
            permission_name: p,
        })
        .collect())
}

/// The user's permissions for one API, sorted, without repeats.
pub async fn permissions_for(
    store: &dyn Store,
    user: &User,
    api: &str,
) -> StoreResult<Vec<String>> {
    let mut set = BTreeSet::new();
    for r in user_roles(store, user).await? {
        set.extend(r.permissions_for(api).map(str::to_owned));
    }
    Ok(set.into_iter().collect())
}
