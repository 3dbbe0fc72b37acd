//! The management layer: every change an operator makes to a tenant, one file per Auth0
//! resource, shared by the CLI, the Management API (`/api/v2`) and the dashboard. Each
//! operation validates, fills Auth0's defaults and stores; secrets exist in the clear only in
//! its return value. This file has what the resources share: the error type, [`retry_stale`]
//! and list cleaning.

use serde_json::{Map, Value};

use crate::{
    Clock, Store, StoreError,
    keys::hs256_aad,
    keys::{KeyRingError, MasterKey},
    model::{
        AppType, AuthMethod, Client, ClientGrant, GrantType, KeyStatus, ResourceServer, ScopeDef,
        SigningAlg, Tenant, TokenDialect, User,
    },
    password,
    secret::{Secret, random_alphanumeric, random_bytes},
    validate,
};

#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    /// The operator's input is wrong; the text says how.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Keys(#[from] KeyRingError),
    #[error(
        "the master key does not match the one this installation was created with: \
         set TESSERA_MASTER_KEY to the installation's key, or restore its master.key file"
    )]
    WrongMasterKey,
}

impl From<StoreError> for ManageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => Self::Conflict(m),
            StoreError::NotFound(m) => Self::NotFound(m),
            other => Self::Store(other),
        }
    }
}

pub type ManageResult<T> = Result<T, ManageError>;

/// How many times [`retry_stale`] runs a change before it gives up.
const STALE_TRIES: usize = 20;

/// Runs a read-change-write `attempt` again while its write finds that the object changed
/// since it was read (`StoreError::Stale`: a sign-in's bookkeeping, another operator, another
/// node): each try applies the change to what is stored now, never over it.
pub async fn retry_stale<T>(mut attempt: impl AsyncFnMut() -> ManageResult<T>) -> ManageResult<T> {
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(ManageError::Store(StoreError::Stale(what))) if tries < STALE_TRIES => {
                tracing::debug!(%what, tries, "changed meanwhile; reading it again");
                tries += 1;
            }
            other => return other,
        }
    }
}

fn invalid(e: String) -> ManageError {
    ManageError::Invalid(e)
}

fn clean_list(list: &[String]) -> Vec<String> {
    list.iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

mod actions;
mod client_grants;
mod clients;
mod keys;
mod resource_servers;
mod roles;
mod tenant;
mod users;

pub use actions::*;
pub use client_grants::*;
pub use clients::*;
pub use keys::*;
use resource_servers::parse_scopes;
pub use resource_servers::*;
pub use roles::*;
pub use tenant::*;
pub use users::*;

#[cfg(test)]
mod tests;
