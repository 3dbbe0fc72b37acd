//! A role (RBAC): a named set of permissions, each a scope of one API, assigned to users.
//! Shaped like Auth0's Management API roles.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolePermission {
    /// The API's identifier (its audience).
    pub resource_server_identifier: String,
    /// One of the API's scopes.
    pub permission_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    pub tenant_id: String,
    /// `rol_` followed by 16 alphanumerics, like Auth0's.
    pub id: String,
    /// Unique per tenant.
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub permissions: Vec<RolePermission>,
    /// How many times the object was written: a write names the version it read and fails
    /// with `StoreError::Stale` if another write came between (see `store`).
    #[serde(default)]
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Role {
    pub fn new_id() -> String {
        format!("rol_{}", crate::secret::random_alphanumeric(16))
    }

    /// The role's permissions for one API.
    pub fn permissions_for<'a>(&'a self, api: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.permissions
            .iter()
            .filter(move |p| p.resource_server_identifier == api)
            .map(|p| p.permission_name.as_str())
    }

    pub fn management_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "permissions": self.permissions,
        })
    }
}
