//! The management layer: every change an operator makes to a tenant, one file per Auth0
//! resource, shared by the CLI, the Management API (`/api/v2`) and the dashboard. Each
//! operation validates, fills Auth0's defaults and stores; secrets exist in the clear only in
//! its return value. This file has what the resources share: the error type, [`retry_stale`]
//! and list cleaning.

use std::collections::BTreeSet;

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
    /// The operation ran and failed (a dry run's script threw, or ran out of time).
    #[error("{0}")]
    Failed(String),
    /// The actor lacks every scope the operation accepts (Auth0's 403 `insufficient_scope`).
    #[error("Insufficient scope, expected any of: {}", .0.join(","))]
    InsufficientScope(Vec<&'static str>),
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

/// Who is acting, and with which Management API scopes: a Management API token's client, the
/// CLI on the server's machine (every scope), later a dashboard user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub who: Who,
    /// `None`: every scope (the operator at the machine).
    scopes: Option<BTreeSet<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// `tessera …` on the server's machine.
    Cli,
    /// An application with a Management API token.
    Client(String),
}

impl Actor {
    /// The operator at the machine: every scope.
    pub const CLI: Actor = Actor {
        who: Who::Cli,
        scopes: None,
    };

    pub fn client(client_id: &str, scopes: impl IntoIterator<Item = String>) -> Self {
        Self {
            who: Who::Client(client_id.to_owned()),
            scopes: Some(scopes.into_iter().collect()),
        }
    }

    /// Ok when the actor holds at least one of `any_of`.
    pub fn require(&self, any_of: &[&'static str]) -> ManageResult<()> {
        match &self.scopes {
            None => Ok(()),
            Some(held) if any_of.iter().any(|s| held.contains(*s)) => Ok(()),
            Some(_) => Err(ManageError::InsufficientScope(any_of.to_vec())),
        }
    }
}

/// The operator's actor, for [`Manager::operator`].
static OPERATOR: Actor = Actor::CLI;

/// One tenant's management, by one actor: every operation is a method, which checks the
/// actor's scope before it reads or changes anything.
#[derive(Clone, Copy)]
pub struct Manager<'a> {
    pub store: &'a dyn Store,
    pub clock: &'a dyn Clock,
    pub master: &'a MasterKey,
    pub tenant: &'a str,
    pub actor: &'a Actor,
}

impl<'a> Manager<'a> {
    /// The operator at the machine (every scope): the CLI, start-up, tests.
    pub fn operator(
        store: &'a dyn Store,
        clock: &'a dyn Clock,
        master: &'a MasterKey,
        tenant: &'a str,
    ) -> Self {
        Self {
            store,
            clock,
            master,
            tenant,
            actor: &OPERATOR,
        }
    }
}

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
pub use tenant::*;
pub use users::*;

#[cfg(test)]
mod tests;
