//! The storage interfaces. Narrow traits, one per object family (after fosite); every method
//! takes the tenant. Implementations live in `tessera-store` (SQLite, PostgreSQL) and in
//! [`crate::memory`] for unit tests.
//!
//! Objects that are read, changed and written back (tenants, applications, APIs, client
//! grants, users, roles, scripts) carry a `version`. `update_*` writes only if the stored
//! version is still the one the object was read with, and stores the next one; otherwise it
//! fails with [`StoreError::Stale`] and changes nothing, so a slow writer can never undo a
//! change that came in between (callers read again and retry: `manage::retry_stale`). Changes
//! made on the sign-in path, where a password check or a script run separates the read from
//! the write, use [`UserStore::modify_user`], which applies a change to the row as it is now,
//! inside one transaction.

use async_trait::async_trait;

use crate::model::{
    Artifact, ArtifactKind, Client, ClientGrant, LogEvent, LogQuery, ResourceServer, Role, Script,
    ScriptKind, SigningKeyRecord, Tenant, User, UserPage, UserQuery,
};

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A unique key is taken (duplicate identifier, email, grant…). The text names it.
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// The object changed since it was read (its version moved on): nothing was written.
    #[error("{0} was changed by someone else meanwhile; read it again")]
    Stale(String),
    /// The backend failed (I/O, connection, corrupt row).
    #[error("storage backend: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait TenantStore: Send + Sync {
    async fn tenant(&self, id: &str) -> StoreResult<Option<Tenant>>;
    /// Fails with `Conflict` if the tenant exists.
    async fn insert_tenant(&self, tenant: &Tenant) -> StoreResult<()>;
    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<()>;
    /// A counter that grows with every change to the tenant's configuration (tenant settings,
    /// applications, APIs, client grants, signing keys). Nodes poll it to refresh their caches.
    async fn config_version(&self, tenant: &str) -> StoreResult<i64>;
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn insert_client(&self, client: &Client) -> StoreResult<()>;
    async fn client(&self, tenant: &str, client_id: &str) -> StoreResult<Option<Client>>;
    /// In creation order.
    async fn clients(&self, tenant: &str) -> StoreResult<Vec<Client>>;
    /// Fails with `NotFound` if the client does not exist.
    async fn update_client(&self, client: &Client) -> StoreResult<()>;
    /// Also deletes the client's grants. `false` if there was nothing to delete.
    async fn delete_client(&self, tenant: &str, client_id: &str) -> StoreResult<bool>;
}

#[async_trait]
pub trait ResourceServerStore: Send + Sync {
    /// Fails with `Conflict` if the identifier is taken.
    async fn insert_resource_server(&self, rs: &ResourceServer) -> StoreResult<()>;
    async fn resource_server(&self, tenant: &str, id: &str) -> StoreResult<Option<ResourceServer>>;
    async fn resource_server_by_identifier(
        &self,
        tenant: &str,
        identifier: &str,
    ) -> StoreResult<Option<ResourceServer>>;
    async fn resource_servers(&self, tenant: &str) -> StoreResult<Vec<ResourceServer>>;
    async fn update_resource_server(&self, rs: &ResourceServer) -> StoreResult<()>;
    /// Also deletes the client grants for its audience.
    async fn delete_resource_server(&self, tenant: &str, id: &str) -> StoreResult<bool>;
}

#[async_trait]
pub trait ClientGrantStore: Send + Sync {
    /// Fails with `Conflict` if the client already has a grant for the audience, `NotFound` if the
    /// client or the API does not exist.
    async fn insert_client_grant(&self, grant: &ClientGrant) -> StoreResult<()>;
    async fn update_client_grant(&self, grant: &ClientGrant) -> StoreResult<()>;
    async fn client_grant(
        &self,
        tenant: &str,
        client_id: &str,
        audience: &str,
    ) -> StoreResult<Option<ClientGrant>>;
    async fn client_grants(&self, tenant: &str, client_id: &str) -> StoreResult<Vec<ClientGrant>>;
    /// Every client grant of the tenant (what a node caches with its configuration).
    async fn tenant_client_grants(&self, tenant: &str) -> StoreResult<Vec<ClientGrant>>;
    async fn delete_client_grant(&self, tenant: &str, id: &str) -> StoreResult<bool>;
}

/// A change to a user, applied by [`UserStore::modify_user`] to the user as stored; `true` if
/// it changed anything that must be written.
pub type UserChange<'a> = dyn for<'u> Fn(&'u mut User) -> bool + Send + Sync + 'a;

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Fails with `Conflict` if the email is taken.
    async fn insert_user(&self, user: &User) -> StoreResult<()>;
    async fn user(&self, tenant: &str, user_id: &str) -> StoreResult<Option<User>>;
    /// `email` is matched case-insensitively.
    async fn user_by_email(&self, tenant: &str, email: &str) -> StoreResult<Option<User>>;
    async fn users(&self, tenant: &str) -> StoreResult<Vec<User>>;
    /// One page of the users a search matches, in the query's order, and (when asked) how
    /// many match in all. Never reads more users than the page holds.
    async fn search_users(&self, tenant: &str, q: &UserQuery) -> StoreResult<UserPage>;
    /// Fails with `Stale` if the stored version is not `user.version`, `NotFound` if the user
    /// does not exist, `Conflict` if the new email is taken.
    async fn update_user(&self, user: &User) -> StoreResult<()>;
    /// Applies `change` to the user as stored now, in one transaction that other writers wait
    /// for, and writes the result with the next version if `change` returns `true`. The user
    /// as it is afterwards (written or not); `None` if there is no such user. For changes that
    /// touch a few fields of a user read long before (a login's bookkeeping after the password
    /// check, the metadata scripts set), so that they cannot write back anything stale.
    async fn modify_user(
        &self,
        tenant: &str,
        user_id: &str,
        change: &UserChange<'_>,
    ) -> StoreResult<Option<User>>;
    async fn delete_user(&self, tenant: &str, user_id: &str) -> StoreResult<bool>;
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Adds a key as the current one for its algorithm and, in the same transaction, marks the
    /// algorithm's previous current key `Previous` with `rotated_at = key.created_at`.
    async fn add_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()>;
    /// Adds `key` as its algorithm's current key only if there is none yet (an installation's
    /// first start); `false` if another process got there first. The SQL stores decide under
    /// the same lock as `add_signing_key`, so nodes starting together end with one key.
    async fn add_first_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<bool> {
        let keys = self.signing_keys(&key.tenant_id).await?;
        if keys
            .iter()
            .any(|k| k.alg == key.alg && k.status == crate::model::KeyStatus::Current)
        {
            return Ok(false);
        }
        self.add_signing_key(key).await.map(|()| true)
    }
    /// Oldest first.
    async fn signing_keys(&self, tenant: &str) -> StoreResult<Vec<SigningKeyRecord>>;
}

#[async_trait]
pub trait RoleStore: Send + Sync {
    /// Fails with `Conflict` if the name is taken.
    async fn insert_role(&self, role: &Role) -> StoreResult<()>;
    async fn role(&self, tenant: &str, id: &str) -> StoreResult<Option<Role>>;
    async fn role_by_name(&self, tenant: &str, name: &str) -> StoreResult<Option<Role>>;
    /// In creation order.
    async fn roles(&self, tenant: &str) -> StoreResult<Vec<Role>>;
    /// Fails with `NotFound` if the role does not exist, `Conflict` if the new name is taken.
    async fn update_role(&self, role: &Role) -> StoreResult<()>;
    /// Deletes the role and every assignment of it.
    async fn delete_role(&self, tenant: &str, id: &str) -> StoreResult<bool>;
    /// The roles assigned to a user, in the order they were assigned.
    async fn user_roles(&self, tenant: &str, user_id: &str) -> StoreResult<Vec<Role>>;
    /// Assigns roles to a user (those it holds already keep their place). Fails with
    /// `NotFound` if the user or a role does not exist.
    async fn assign_roles(
        &self,
        tenant: &str,
        user_id: &str,
        role_ids: &[String],
    ) -> StoreResult<()>;
    /// A page of the users holding a role, by user id.
    async fn role_users(
        &self,
        tenant: &str,
        role_id: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Vec<User>>;
    /// How many users hold a role.
    async fn count_role_users(&self, tenant: &str, role_id: &str) -> StoreResult<u64>;
    /// Takes roles off a user; ids it does not hold are ignored.
    async fn unassign_roles(
        &self,
        tenant: &str,
        user_id: &str,
        role_ids: &[String],
    ) -> StoreResult<()>;
}

#[async_trait]
pub trait ScriptStore: Send + Sync {
    /// Fails with `Conflict` if a script of that kind has the name.
    async fn insert_script(&self, script: &Script) -> StoreResult<()>;
    async fn script(&self, tenant: &str, id: &str) -> StoreResult<Option<Script>>;
    async fn script_by_name(
        &self,
        tenant: &str,
        kind: ScriptKind,
        name: &str,
    ) -> StoreResult<Option<Script>>;
    /// By `order`, then creation.
    async fn scripts(&self, tenant: &str, kind: ScriptKind) -> StoreResult<Vec<Script>>;
    async fn update_script(&self, script: &Script) -> StoreResult<()>;
    async fn delete_script(&self, tenant: &str, id: &str) -> StoreResult<bool>;
}

/// What one grant writes, committed together: the code or refresh token it redeems, and the
/// artifacts it issues (an opaque access token, a refresh token, a code).
#[derive(Debug, Clone, Copy)]
pub struct GrantWrite<'a> {
    pub tenant: &'a str,
    pub redeem: Option<Redeem<'a>>,
    pub issue: &'a [Artifact],
}

/// The artifact a grant redeems.
#[derive(Debug, Clone, Copy)]
pub struct Redeem<'a> {
    pub kind: ArtifactKind,
    pub id_hash: &'a str,
    pub how: RedeemHow,
    pub now: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedeemHow {
    /// Marks it consumed: it must be neither consumed nor expired (single use).
    Consume,
    /// A consumed refresh token presented again inside the tenant's reuse interval: it must
    /// still be there (not revoked with its family) and not expired.
    Reuse,
}

/// Login transactions, sessions, codes, opaque access tokens and refresh tokens: one narrow
/// adapter for every short-lived grant artifact.
#[async_trait]
pub trait ArtifactStore: Send + Sync {
    /// Commits a grant in one transaction: redeems its source and inserts what it issues.
    /// `false`, with nothing written, when the source cannot be redeemed (a racing request
    /// consumed it, it expired, or its family was revoked). Of racing commits that consume the
    /// same artifact, exactly one gets `true`; a revocation of the family that races with a
    /// commit either comes first (the commit then writes nothing) or removes what it issued.
    async fn commit_grant(&self, grant: &GrantWrite<'_>) -> StoreResult<bool>;
    /// Fails with `Conflict` if an artifact of that kind already has this hash.
    async fn insert_artifact(&self, a: &Artifact) -> StoreResult<()>;
    /// The artifact whether or not it is consumed or expired: callers decide what that means.
    async fn artifact(
        &self,
        tenant: &str,
        kind: ArtifactKind,
        id_hash: &str,
    ) -> StoreResult<Option<Artifact>>;
    /// Marks the artifact consumed at `now` if it is neither consumed nor expired, in one
    /// conditional statement, and returns it to that one caller. Of any number of racing calls,
    /// exactly one gets `Some`.
    async fn consume_artifact(
        &self,
        tenant: &str,
        kind: ArtifactKind,
        id_hash: &str,
        now: i64,
    ) -> StoreResult<Option<Artifact>>;
    /// Moves a live artifact's expiry (a session's idle window). `false` if it is gone.
    async fn extend_artifact(
        &self,
        tenant: &str,
        kind: ArtifactKind,
        id_hash: &str,
        expires_at: i64,
    ) -> StoreResult<bool>;
    async fn delete_artifact(
        &self,
        tenant: &str,
        kind: ArtifactKind,
        id_hash: &str,
    ) -> StoreResult<bool>;
    /// Deletes every artifact of a family (revocation of a grant or a session). The count.
    async fn delete_family(&self, tenant: &str, family: &str) -> StoreResult<u64>;
    /// Deletes every artifact of a user: sessions, codes, opaque access tokens, refresh tokens
    /// (a password change, a block, a deletion). The count.
    async fn delete_user_artifacts(&self, tenant: &str, user_id: &str) -> StoreResult<u64>;
    /// Deletes, in every tenant, artifacts that expired before `before`. The count.
    async fn purge_artifacts(&self, before: i64) -> StoreResult<u64>;
}

/// What an attack-protection counter counts (see [`crate::attack`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CounterKind {
    /// Failed sign-ins for one email from one IP (brute-force protection).
    UserIp,
    /// Failed sign-ins from one IP, any email (suspicious-IP throttling).
    Ip,
    /// Token requests of one application (the per-client rate limit).
    Client,
}

impl CounterKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserIp => "user_ip",
            Self::Ip => "ip",
            Self::Client => "client",
        }
    }
}

/// How a counter grows. A hit on an expired (or missing) counter starts it at 1 with
/// `expires_at = now + window`; later hits add one. The hit that reaches `limit` moves
/// `expires_at` to `now + block` if that is later, so the counter stays at or over the limit
/// until then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterRule {
    pub window: i64,
    pub limit: i64,
    pub block: i64,
}

/// A counter's state after a hit, or as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub count: i64,
    pub expires_at: i64,
}

impl Counter {
    /// Is the counter at or over `limit` and still live at `now`?
    pub fn reached(&self, limit: i64, now: i64) -> bool {
        self.count >= limit && now < self.expires_at
    }
}

/// Attack-protection counters, kept in the database so that every node counts the same
/// attempts. `subject` is a hashed email or a client id (empty for [`CounterKind::Ip`]); `ip`
/// is empty for [`CounterKind::Client`].
/// Tenant log events (Auth0's `/api/v2/logs`), written in batches off the request path.
#[async_trait]
pub trait LogStore: Send + Sync {
    /// Stores events in one transaction.
    async fn append_logs(&self, events: &[LogEvent]) -> StoreResult<()>;
    /// Newest first, or oldest first after a checkpoint (`q.after`).
    async fn logs(&self, tenant: &str, q: &LogQuery) -> StoreResult<Vec<LogEvent>>;
    /// How many events match (`offset` and `limit` aside).
    async fn count_logs(&self, tenant: &str, q: &LogQuery) -> StoreResult<u64>;
    async fn log(&self, tenant: &str, log_id: &str) -> StoreResult<Option<LogEvent>>;
    /// Deletes, in every tenant, events older than `before` (ms). The count.
    async fn purge_logs(&self, before: i64) -> StoreResult<u64>;
}

#[async_trait]
pub trait CounterStore: Send + Sync {
    /// Adds one to the counter in one atomic statement (racing hits from several nodes all
    /// count) and returns its new state.
    async fn hit_counter(
        &self,
        tenant: &str,
        kind: CounterKind,
        subject: &str,
        ip: &str,
        rule: CounterRule,
        now: i64,
    ) -> StoreResult<Counter>;
    async fn counter(
        &self,
        tenant: &str,
        kind: CounterKind,
        subject: &str,
        ip: &str,
    ) -> StoreResult<Option<Counter>>;
    /// The subject's counters still live at `now`, by IP.
    async fn subject_counters(
        &self,
        tenant: &str,
        kind: CounterKind,
        subject: &str,
        now: i64,
    ) -> StoreResult<Vec<(String, Counter)>>;
    /// Deletes the subject's counters: from one IP, or from every IP when `ip` is `None`.
    async fn clear_counters(
        &self,
        tenant: &str,
        kind: CounterKind,
        subject: &str,
        ip: Option<&str>,
    ) -> StoreResult<u64>;
    /// Deletes, in every tenant, counters that expired before `before`. The count.
    async fn purge_counters(&self, before: i64) -> StoreResult<u64>;
}

/// Everything a node needs from storage.
pub trait Store:
    TenantStore
    + ClientStore
    + ResourceServerStore
    + ClientGrantStore
    + UserStore
    + KeyStore
    + ArtifactStore
    + RoleStore
    + ScriptStore
    + CounterStore
    + LogStore
{
}

impl<T> Store for T where
    T: TenantStore
        + ClientStore
        + ResourceServerStore
        + ClientGrantStore
        + UserStore
        + KeyStore
        + ArtifactStore
        + RoleStore
        + ScriptStore
        + CounterStore
        + LogStore
{
}
