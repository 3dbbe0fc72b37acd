//! The dashboard model: tenants, applications (clients), APIs (resource servers), client grants,
//! users and signing keys. Each object can render itself shaped like Auth0's Management API v2
//! (`management_json`), which is what the CLI prints with `--json`.

mod artifact;
mod client;
mod client_grant;
mod log_event;
mod resource_server;
mod role;
mod script;
mod signing_key;
mod tenant;
mod user;
mod user_query;

pub use artifact::{Artifact, ArtifactKind, LOGIN_TRANSACTION_LIFETIME};
pub use client::{AppType, AuthMethod, Client, GrantType};
pub use client_grant::ClientGrant;
pub use log_event::{LogEvent, LogQuery, codes};
pub use resource_server::{ResourceServer, ScopeDef, SigningAlg, TokenDialect};
pub use role::{Role, RolePermission};
pub use script::{Script, ScriptKind, Trigger};
pub use signing_key::{KeyStatus, PUBLISH_AFTER_ROTATION, SigningKeyRecord};
pub use tenant::{AttackProtection, DEFAULT_TENANT, Tenant, normalize_issuer};
pub use user::{DATABASE_CONNECTION, User, email_key, normalize_email};
pub use user_query::{Match, SortKey, UserField, UserFilter, UserPage, UserQuery, UserSort};

/// The objects that are read, changed and written back, each with a `version` that counts its
/// writes (optimistic concurrency; see [`crate::store`]).
pub trait Versioned: Clone {
    fn version(&self) -> i64;
    fn set_version(&mut self, version: i64);
}

macro_rules! versioned {
    ($($t:ty),*) => {$(
        impl Versioned for $t {
            fn version(&self) -> i64 {
                self.version
            }
            fn set_version(&mut self, version: i64) {
                self.version = version;
            }
        }
    )*};
}

versioned!(
    Tenant,
    Client,
    ResourceServer,
    ClientGrant,
    User,
    Role,
    Script
);
