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
    /// The input is wrong; `field` names the JSON field when one is to blame (the CLI shows
    /// its flag instead), the message says how.
    #[error("{}", field_text(*.field, .message))]
    Invalid {
        field: Option<&'static str>,
        message: String,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The operation ran and failed (a dry run's script threw, or ran out of time).
    #[error("{0}")]
    Failed(String),
    /// No bearer token, or not one this tenant issued for its Management API (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Allowed to no one (changing the system API).
    #[error("{0}")]
    Forbidden(String),
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

impl ManageError {
    /// Wrong input not tied to one field.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid {
            field: None,
            message: message.into(),
        }
    }

    /// A field's value is wrong.
    pub fn field(field: &'static str, message: impl std::fmt::Display) -> Self {
        Self::Invalid {
            field: Some(field),
            message: message.to_string(),
        }
    }

    /// A field that must be given is missing.
    pub fn required(field: &'static str) -> Self {
        Self::field(field, "is required")
    }
}

/// `name: too long`, `name is required`, or the message alone.
pub fn field_text(field: Option<&str>, message: &str) -> String {
    match field {
        None => message.to_owned(),
        Some(f) if message.starts_with("is ") => format!("{f} {message}"),
        Some(f) => format!("{f}: {message}"),
    }
}

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

/// Auth0's page size when none is asked for, and the largest it serves.
pub const DEFAULT_PER_PAGE: u64 = 50;
pub const MAX_PER_PAGE: u64 = 100;

/// Which slice of a list: Auth0's offset pages (`page`, `per_page`, `include_totals`) or its
/// checkpoint pages (`from`, `take`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageRequest {
    Offset {
        page: u64,
        per_page: u64,
        include_totals: bool,
    },
    Checkpoint {
        /// Where the previous page's `next` said to go on; `None` starts at the beginning.
        from: Option<String>,
        take: u64,
    },
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::Offset {
            page: 0,
            per_page: DEFAULT_PER_PAGE,
            include_totals: false,
        }
    }
}

impl PageRequest {
    /// The first item's position and the page size, after checking both.
    pub fn window(&self) -> ManageResult<(u64, u64)> {
        let (size, field) = match self {
            Self::Offset { per_page, .. } => (*per_page, "per_page"),
            Self::Checkpoint { take, .. } => (*take, "take"),
        };
        if !(1..=MAX_PER_PAGE).contains(&size) {
            return Err(ManageError::field(
                field,
                format!("must be between 1 and {MAX_PER_PAGE}"),
            ));
        }
        let start = match self {
            Self::Offset { page, .. } => page
                .checked_mul(size)
                .ok_or_else(|| ManageError::field("page", "is too large"))?,
            Self::Checkpoint { from: None, .. } => 0,
            Self::Checkpoint { from: Some(f), .. } => f
                .parse::<u64>()
                .map_err(|_| ManageError::field("from", "is not a checkpoint this server gave"))?,
        };
        Ok((start, size))
    }

    pub fn wants_total(&self) -> bool {
        matches!(
            self,
            Self::Offset {
                include_totals: true,
                ..
            }
        )
    }
}

/// One page of a list, with what either pagination style answers beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Position of the first item (`start`) and the page size asked for (`limit`).
    pub start: u64,
    pub limit: u64,
    /// Every match, when `include_totals` asked for it.
    pub total: Option<u64>,
    /// For checkpoint pages: where the next page starts; `None` on the last one.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// A page of `items` (already the window at `start`, at most `limit + 1` long: one more
    /// than the page says whether a checkpoint page has a successor).
    pub fn from_window(
        mut items: Vec<T>,
        req: &PageRequest,
        start: u64,
        limit: u64,
        total: Option<u64>,
    ) -> Self {
        let more = items.len() as u64 > limit;
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next = match req {
            PageRequest::Checkpoint { .. } if more => Some((start + limit).to_string()),
            _ => None,
        };
        Self {
            items,
            start,
            limit,
            total,
            next,
        }
    }

    /// A page cut from a whole list (applications, APIs, roles: a tenant has few).
    pub fn of(all: Vec<T>, req: &PageRequest) -> ManageResult<Self> {
        let (start, limit) = req.window()?;
        let total = req.wants_total().then_some(all.len() as u64);
        let window = all
            .into_iter()
            .skip(usize::try_from(start).unwrap_or(usize::MAX))
            .take(usize::try_from(limit + 1).unwrap_or(usize::MAX))
            .collect();
        Ok(Self::from_window(window, req, start, limit, total))
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
///
/// `attempt` is a `move || async move { … }` over references (they are `Copy`): a plain
/// closure returning a future keeps the handlers' futures `Send`, which an async closure does
/// not (rustc cannot prove it for every lifetime).
pub async fn retry_stale<T, F>(mut attempt: impl FnMut() -> F) -> ManageResult<T>
where
    F: std::future::Future<Output = ManageResult<T>>,
{
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
    ManageError::invalid(e)
}

fn clean_list(list: &[String]) -> Vec<String> {
    list.iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

mod actions;
mod auth;
mod bodies;
mod client_grants;
mod clients;
mod connections;
mod keys;
mod logs;
mod resource_servers;
mod roles;
mod tenant;
mod triggers;
mod user_search;
mod users;

pub use actions::*;
pub use auth::{RateLimit, actor_from_token, count_call, management_audience};
pub use bodies::*;
pub use client_grants::*;
pub use clients::*;
pub use connections::*;
pub use keys::*;
pub use logs::*;
use resource_servers::parse_scopes;
pub use resource_servers::*;
pub use tenant::*;
pub use triggers::*;
pub use user_search::parse_user_query;
pub use users::*;

#[cfg(test)]
mod tests;
