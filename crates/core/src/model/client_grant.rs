//! A client grant: authorizes an application to ask for tokens for one API, with a set of scopes
//! (needed by the client-credentials grant, RFC 6749 §4.4).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientGrant {
    pub tenant_id: String,
    pub id: String,
    pub client_id: String,
    /// The API identifier.
    pub audience: String,
    pub scope: Vec<String>,
    /// How many times the object was written: a write names the version it read and fails
    /// with `StoreError::Stale` if another write came between (see `store`).
    #[serde(default)]
    pub version: i64,
    pub created_at: i64,
}

impl ClientGrant {
    pub fn management_json(&self) -> Value {
        json!({
            "id": self.id,
            "client_id": self.client_id,
            "audience": self.audience,
            "scope": self.scope,
        })
    }
}
