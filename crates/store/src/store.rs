//! `SqlStore`: every `Store` trait implemented once, for SQLite and PostgreSQL alike. The SQL
//! is one text for both (`$1` placeholders; PostgreSQL tables carry a `rowid` identity column
//! where SQLite has its implicit one), so a behaviour cannot differ between backends unless a
//! migration makes it.

use std::{fmt, path::PathBuf, str::FromStr, time::Duration};

use async_trait::async_trait;
use sqlx::{
    Connection, PgConnection, PgPool, SqlitePool,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use tessera_core::{
    StoreError,
    model::{
        Artifact, ArtifactKind, Client, ClientGrant, KeyStatus, ResourceServer, Role, Script,
        ScriptKind, SigningAlg, SigningKeyRecord, Tenant, User, Versioned, email_key,
    },
    store::*,
};

use crate::{
    decode, encode, map_err,
    sql::{Arg, Pooled, RowRead, Tx},
};

/// Where an installation's database is: `sqlite://PATH` (the embedded default, a file in the
/// data folder) or `postgres://USER@HOST:PORT/DB` (several nodes on one database).
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(url: &str) -> Result<Self, String> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let (path, query) = path.split_once('?').unwrap_or((path, ""));
            if path.is_empty() {
                return Err(format!(
                    "{url}: the SQLite URL has no file path (sqlite://PATH)"
                ));
            }
            if path == ":memory:" || query.contains("mode=memory") {
                return Err(format!(
                    "{url}: an in-memory SQLite database vanishes with the process and cannot hold an installation; give a file path"
                ));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // The driver logs a parameter it does not know with its value: refuse any other
            // password-like parameter before it gets there.
            if let Ok(u) = url::Url::parse(url)
                && let Some((k, _)) = u
                    .query_pairs()
                    .find(|(k, _)| k.to_ascii_lowercase().contains("password") && k != "password")
            {
                return Err(format!(
                    "{}: the parameter {k} is not supported; give the password as password=… or in the URL's user part",
                    redact(url)
                ));
            }
            PgConnectOptions::from_str(url)
                .map_err(|e| format!("{}: not a usable PostgreSQL URL: {e}", redact(url)))?;
            return Ok(Self::Postgres(url.to_owned()));
        }
        Err(format!(
            "{}: unsupported database URL; use sqlite://PATH or postgres://USER@HOST:PORT/DATABASE",
            redact(url)
        ))
    }
}

/// The URL with every password it can carry replaced, for messages and logs: the user-info
/// part (`postgres://user:PASSWORD@host`) and any query parameter whose name contains
/// "password" (libpq's `password`, `sslpassword`). Of text that does not parse as a URL, only
/// the scheme is shown.
pub(crate) fn redact(url: &str) -> String {
    const HIDDEN: &str = "***";
    let Ok(mut u) = url::Url::parse(url) else {
        // Unparseable: show the scheme only, since a password may sit anywhere in the rest.
        return match url.find("://") {
            Some(i) => format!("{}{HIDDEN}", &url[..i + 3]),
            None => HIDDEN.to_owned(),
        };
    };
    if u.password().is_some() {
        let _ = u.set_password(Some(HIDDEN));
    }
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let secret = k.to_ascii_lowercase().contains("password");
                let v = if secret {
                    HIDDEN.to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(p) => write!(f, "sqlite://{}", p.display()),
            Self::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[derive(Clone, Debug)]
enum Pool {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres(PgPool),
}

/// The store on a connection pool of either backend. Cloning shares the pool.
#[derive(Clone, Debug)]
pub struct SqlStore {
    pool: Pool,
}

/// How long to wait for PostgreSQL to answer before saying it is unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl SqlStore {
    /// Connects and brings the schema up to date (see [`SqlStore::migrate`]).
    pub async fn open(url: &DatabaseUrl) -> Result<Self, StoreError> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// The embedded default: a SQLite file, created if missing, migrated.
    pub async fn open_sqlite(path: &std::path::Path) -> Result<Self, StoreError> {
        Self::open(&DatabaseUrl::Sqlite(path.to_path_buf())).await
    }

    /// Connects without touching the schema (`tessera db check`). A SQLite file is created if
    /// missing; an unreachable PostgreSQL is an error after five seconds, never a hang.
    pub async fn connect(url: &DatabaseUrl) -> Result<Self, StoreError> {
        let pool = match url {
            DatabaseUrl::Sqlite(path) => {
                create_private_file(path).map_err(|e| {
                    StoreError::Backend(format!("cannot create the SQLite database {url}: {e}"))
                })?;
                let opts = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // NORMAL in WAL mode loses nothing when the process dies; only an OS crash
                    // can roll back the last transactions.
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5));
                let open = |n: u32| {
                    SqlitePoolOptions::new()
                        .max_connections(n)
                        .acquire_timeout(Duration::from_secs(10))
                        // A local file has no connection to lose, and the check is a round
                        // trip to the connection's thread before every query.
                        .test_before_acquire(false)
                        .connect_with(opts.clone())
                };
                let failed = |e: sqlx::Error| {
                    StoreError::Backend(format!("cannot open the SQLite database {url}: {e}"))
                };
                // SQLite has one writer at a time. Writers in this process queue for the one
                // write connection (in order, without sleeping) instead of meeting at the
                // file lock, where the busy handler would sleep in growing steps.
                let write = open(1).await.map_err(failed)?;
                let read = open(8).await.map_err(failed)?;
                Pool::Sqlite { read, write }
            }
            DatabaseUrl::Postgres(raw) => {
                let (opts, first) = pg_connect(raw).await?;
                // One connection first, so a wrong host or password is reported as such
                // (a pool would only say it timed out).
                let _ = first.close().await;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_lazy_with(opts);
                Pool::Postgres(pool)
            }
        };
        Ok(Self { pool })
    }

    /// Like [`SqlStore::connect`], but a SQLite file that does not exist is an error (`NotFound`)
    /// rather than created: for commands that only read (`db check`, the source of `db copy`).
    pub async fn connect_existing(url: &DatabaseUrl) -> Result<Self, StoreError> {
        if let DatabaseUrl::Sqlite(path) = url
            && !path.exists()
        {
            return Err(StoreError::NotFound(format!(
                "the SQLite database {} does not exist",
                path.display()
            )));
        }
        Self::connect(url).await
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite { .. } => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite { read, write } => {
                write.close().await;
                read.close().await;
            }
            Pool::Postgres(p) => p.close().await,
        }
    }

    /// Adds a key as its algorithm's current one, demoting the previous current key, in one
    /// transaction; with `only_first`, only if the algorithm has no current key (`false` then).
    async fn add_key(&self, k: &SigningKeyRecord, only_first: bool) -> StoreResult<bool> {
        let what = format!("signing key {}", k.kid);
        let mut tx = self.begin(&what, true).await?;
        // Lock the tenant's row first, so that two nodes adding a key at once (two first starts
        // on an empty PostgreSQL database, two `keys rotate`) take turns: the second demotes the
        // first's key instead of both inserting a current one.
        tx.conn()
            .execute(
                &what,
                "UPDATE tenants SET config_version = config_version + 1 WHERE id = $1",
                &[Text(&k.tenant_id)],
            )
            .await?;
        if only_first {
            let sql = "SELECT COUNT(*) AS n FROM signing_keys WHERE tenant_id = $1 AND alg = $2 AND status = 'current'";
            let args = [Text(&k.tenant_id), Text(k.alg.as_str())];
            let n = tx
                .conn()
                .fetch_optional(&what, sql, &args, |r| r.int("n"))
                .await?;
            if n.unwrap_or_default() > 0 {
                return Ok(false);
            }
        }
        tx.conn()
            .execute(
                &what,
                "UPDATE signing_keys SET status = 'previous', rotated_at = $1 WHERE tenant_id = $2 AND alg = $3 AND status = 'current'",
                &[Int(k.created_at), Text(&k.tenant_id), Text(k.alg.as_str())],
            )
            .await?;
        tx.conn()
            .execute(
                &what,
                "INSERT INTO signing_keys (tenant_id, kid, alg, status, created_at, rotated_at, private_enc, public_jwk) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    Text(&k.tenant_id),
                    Text(&k.kid),
                    Text(k.alg.as_str()),
                    Text(k.status.as_str()),
                    Int(k.created_at),
                    Arg::OptInt(k.rotated_at),
                    Arg::Bytes(&k.private_enc),
                    Text(&k.public_jwk),
                ],
            )
            .await?;
        tx.commit(&what).await?;
        Ok(true)
    }

    /// A pooled connection for one operation; `write` if it may change anything.
    pub(crate) async fn pooled(&self, what: &str, write: bool) -> StoreResult<Pooled> {
        match &self.pool {
            Pool::Sqlite { write: w, .. } if write => w.acquire().await.map(Pooled::Sqlite),
            Pool::Sqlite { read, .. } => read.acquire().await.map(Pooled::Sqlite),
            Pool::Postgres(p) => p.acquire().await.map(Pooled::Postgres),
        }
        .map_err(map_err(what))
    }

    /// A transaction. `write`: on SQLite, take the write lock at once (`BEGIN IMMEDIATE`), so
    /// two writers queue instead of one failing to upgrade its read lock.
    pub(crate) async fn begin(&self, what: &str, write: bool) -> StoreResult<Tx> {
        match &self.pool {
            Pool::Sqlite { write: w, .. } if write => {
                w.begin_with("BEGIN IMMEDIATE").await.map(Tx::Sqlite)
            }
            Pool::Sqlite { read, .. } => read.begin().await.map(Tx::Sqlite),
            Pool::Postgres(p) => p.begin().await.map(Tx::Postgres),
        }
        .map_err(map_err(what))
    }

    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self.pool, Pool::Postgres(_))
    }

    async fn exec(&self, what: &str, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
        if has_nul(args) {
            return Err(StoreError::Backend(format!(
                "{what}: text with a NUL character cannot be stored"
            )));
        }
        self.pooled(what, true)
            .await?
            .conn()
            .execute(what, sql, args)
            .await
    }

    /// Runs a versioned update (`… SET data = …, version = … WHERE <key> AND version = …`) that
    /// must touch one row. When none matched, `exists` (the row by its key alone) tells
    /// `Stale` (someone wrote it since it was read) from `NotFound`.
    async fn exec_versioned(
        &self,
        what: &str,
        sql: &str,
        args: &[Arg<'_>],
        exists: &str,
        key: &[Arg<'_>],
    ) -> StoreResult<()> {
        if self.exec(what, sql, args).await? > 0 {
            return Ok(());
        }
        let found = self
            .fetch_one_row(what, false, exists, key, |_| Ok(()))
            .await?;
        Err(match found {
            Some(()) => StoreError::Stale(what.to_owned()),
            None => StoreError::NotFound(what.to_owned()),
        })
    }

    /// One row of a query; `write` for a statement that changes data (`… RETURNING`).
    async fn fetch_one_row<T>(
        &self,
        what: &str,
        write: bool,
        sql: &str,
        args: &[Arg<'_>],
        read: impl Fn(&dyn RowRead) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        if has_nul(args) {
            return Ok(None);
        }
        let mut c = self.pooled(what, write).await?;
        c.conn().fetch_optional(what, sql, args, read).await
    }

    async fn fetch_rows<T>(
        &self,
        what: &str,
        sql: &str,
        args: &[Arg<'_>],
        read: impl Fn(&dyn RowRead) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        if has_nul(args) {
            return Ok(Vec::new());
        }
        let mut c = self.pooled(what, false).await?;
        c.conn().fetch_all(what, sql, args, read).await
    }

    /// The JSON document in the first column `data`, if a row matches.
    async fn fetch_data<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        sql: &str,
        args: &[Arg<'_>],
    ) -> StoreResult<Option<T>> {
        self.fetch_one_row(what, false, sql, args, |r| decode(what, &r.text("data")?))
            .await
    }

    async fn fetch_all_data<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        sql: &str,
        args: &[Arg<'_>],
    ) -> StoreResult<Vec<T>> {
        self.fetch_rows(what, sql, args, |r| decode(what, &r.text("data")?))
            .await
    }
}

/// Creates a missing SQLite file empty (a valid database) and readable by its owner only: it
/// holds password hashes and personal data. SQLite gives the `-wal` and `-shm` files it
/// creates beside it the same mode, whatever the umask.
fn create_private_file(path: &std::path::Path) -> std::io::Result<()> {
    // A new installation's folder (`db copy --to sqlite://new-dir/tessera.db`): made, private.
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && !dir.exists()
    {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// One connection to the PostgreSQL server `url` names, within five seconds, or an error that
/// says which server and why (one line), never a hang.
pub(crate) async fn pg_connect(url: &str) -> Result<(PgConnectOptions, PgConnection), StoreError> {
    let unreachable = |e: &dyn fmt::Display| {
        StoreError::Backend(format!(
            "cannot connect to PostgreSQL at {}: {e}",
            redact(url)
        ))
    };
    let opts = PgConnectOptions::from_str(url).map_err(|e| unreachable(&e))?;
    let conn = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&opts))
        .await
        .map_err(|_| unreachable(&"no answer within 5 seconds"))?
        .map_err(|e| unreachable(&e))?;
    Ok((opts, conn))
}

use Arg::{Int, Text};

/// What an update writes: the object's document as its next version, and that version.
fn next_version<T: Versioned + serde::Serialize>(obj: &T) -> StoreResult<(String, i64)> {
    let mut next = obj.clone();
    next.set_version(obj.version() + 1);
    Ok((encode(&next)?, next.version()))
}

/// Whether any text argument holds a NUL character. PostgreSQL cannot store one (and refuses
/// the statement); so that both backends answer alike, nothing with a NUL is stored and a key
/// with one matches nothing, instead of a client's `client_id=%00` becoming a server error.
fn has_nul(args: &[Arg<'_>]) -> bool {
    args.iter().any(|a| match a {
        Arg::Text(s) | Arg::OptText(Some(s)) => s.contains('\0'),
        _ => false,
    })
}

#[async_trait]
impl TenantStore for SqlStore {
    async fn tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
        let sql = "SELECT data FROM tenants WHERE id = $1";
        self.fetch_data("tenant", sql, &[Text(id)]).await
    }
    async fn insert_tenant(&self, t: &Tenant) -> StoreResult<()> {
        let sql = "INSERT INTO tenants (id, data) VALUES ($1, $2)";
        let what = format!("tenant {}", t.id);
        self.exec(&what, sql, &[Text(&t.id), Text(&encode(t)?)])
            .await?;
        Ok(())
    }
    async fn update_tenant(&self, t: &Tenant) -> StoreResult<()> {
        let sql = "UPDATE tenants SET data = $1, version = $2, config_version = config_version + 1 WHERE id = $3 AND version = $4";
        let what = format!("tenant {}", t.id);
        let (data, next) = next_version(t)?;
        let args = [Text(&data), Int(next), Text(&t.id), Int(t.version)];
        let exists = "SELECT 1 FROM tenants WHERE id = $1";
        self.exec_versioned(&what, sql, &args, exists, &[Text(&t.id)])
            .await
    }
    async fn config_version(&self, tenant: &str) -> StoreResult<i64> {
        let sql = "SELECT config_version FROM tenants WHERE id = $1";
        self.fetch_one_row("config version", false, sql, &[Text(tenant)], |r| {
            r.int("config_version")
        })
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("tenant {tenant}")))
    }
}

#[async_trait]
impl ClientStore for SqlStore {
    async fn insert_client(&self, c: &Client) -> StoreResult<()> {
        let sql = "INSERT INTO clients (tenant_id, client_id, data) VALUES ($1, $2, $3)";
        let what = format!("client {}", c.client_id);
        let data = encode(c)?;
        self.exec(
            &what,
            sql,
            &[Text(&c.tenant_id), Text(&c.client_id), Text(&data)],
        )
        .await?;
        Ok(())
    }
    async fn client(&self, tenant: &str, id: &str) -> StoreResult<Option<Client>> {
        let sql = "SELECT data FROM clients WHERE tenant_id = $1 AND client_id = $2";
        self.fetch_data("client", sql, &[Text(tenant), Text(id)])
            .await
    }
    async fn clients(&self, tenant: &str) -> StoreResult<Vec<Client>> {
        let sql = "SELECT data FROM clients WHERE tenant_id = $1 ORDER BY rowid";
        self.fetch_all_data("client", sql, &[Text(tenant)]).await
    }
    async fn update_client(&self, c: &Client) -> StoreResult<()> {
        let sql = "UPDATE clients SET data = $1, version = $2 WHERE tenant_id = $3 AND client_id = $4 AND version = $5";
        let what = format!("client {}", c.client_id);
        let (data, next) = next_version(c)?;
        let key = [Text(&c.tenant_id), Text(&c.client_id)];
        let args = [Text(&data), Int(next), key[0], key[1], Int(c.version)];
        let exists = "SELECT 1 FROM clients WHERE tenant_id = $1 AND client_id = $2";
        self.exec_versioned(&what, sql, &args, exists, &key).await
    }
    async fn delete_client(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM clients WHERE tenant_id = $1 AND client_id = $2";
        Ok(self.exec("client", sql, &[Text(tenant), Text(id)]).await? > 0)
    }
}

#[async_trait]
impl ResourceServerStore for SqlStore {
    async fn insert_resource_server(&self, rs: &ResourceServer) -> StoreResult<()> {
        let sql = "INSERT INTO resource_servers (tenant_id, id, identifier, data) VALUES ($1, $2, $3, $4)";
        let what = format!("API {}", rs.identifier);
        let data = encode(rs)?;
        let args = [
            Text(&rs.tenant_id),
            Text(&rs.id),
            Text(&rs.identifier),
            Text(&data),
        ];
        self.exec(&what, sql, &args).await?;
        Ok(())
    }
    async fn resource_server(&self, tenant: &str, id: &str) -> StoreResult<Option<ResourceServer>> {
        let sql = "SELECT data FROM resource_servers WHERE tenant_id = $1 AND id = $2";
        self.fetch_data("API", sql, &[Text(tenant), Text(id)]).await
    }
    async fn resource_server_by_identifier(
        &self,
        tenant: &str,
        identifier: &str,
    ) -> StoreResult<Option<ResourceServer>> {
        let sql = "SELECT data FROM resource_servers WHERE tenant_id = $1 AND identifier = $2";
        self.fetch_data("API", sql, &[Text(tenant), Text(identifier)])
            .await
    }
    async fn resource_servers(&self, tenant: &str) -> StoreResult<Vec<ResourceServer>> {
        let sql = "SELECT data FROM resource_servers WHERE tenant_id = $1 ORDER BY rowid";
        self.fetch_all_data("API", sql, &[Text(tenant)]).await
    }
    async fn update_resource_server(&self, rs: &ResourceServer) -> StoreResult<()> {
        // The identifier is immutable: it is not written here.
        let sql = "UPDATE resource_servers SET data = $1, version = $2 WHERE tenant_id = $3 AND id = $4 AND identifier = $5 AND version = $6";
        let (data, next) = next_version(rs)?;
        let key = [Text(&rs.tenant_id), Text(&rs.id), Text(&rs.identifier)];
        let args = [
            Text(&data),
            Int(next),
            key[0],
            key[1],
            key[2],
            Int(rs.version),
        ];
        let exists =
            "SELECT 1 FROM resource_servers WHERE tenant_id = $1 AND id = $2 AND identifier = $3";
        let what = format!("API {}", rs.id);
        self.exec_versioned(&what, sql, &args, exists, &key).await
    }
    async fn delete_resource_server(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM resource_servers WHERE tenant_id = $1 AND id = $2";
        Ok(self.exec("API", sql, &[Text(tenant), Text(id)]).await? > 0)
    }
}

#[async_trait]
impl ClientGrantStore for SqlStore {
    async fn insert_client_grant(&self, g: &ClientGrant) -> StoreResult<()> {
        let sql = "INSERT INTO client_grants (tenant_id, id, client_id, audience, data) VALUES ($1, $2, $3, $4, $5)";
        let what = format!("client grant {} -> {}", g.client_id, g.audience);
        let data = encode(g)?;
        let args = [
            Text(&g.tenant_id),
            Text(&g.id),
            Text(&g.client_id),
            Text(&g.audience),
            Text(&data),
        ];
        self.exec(&what, sql, &args).await?;
        Ok(())
    }
    async fn update_client_grant(&self, g: &ClientGrant) -> StoreResult<()> {
        let sql = "UPDATE client_grants SET data = $1, version = $2 WHERE tenant_id = $3 AND id = $4 AND version = $5";
        let (data, next) = next_version(g)?;
        let key = [Text(&g.tenant_id), Text(&g.id)];
        let args = [Text(&data), Int(next), key[0], key[1], Int(g.version)];
        let exists = "SELECT 1 FROM client_grants WHERE tenant_id = $1 AND id = $2";
        let what = format!("client grant {}", g.id);
        self.exec_versioned(&what, sql, &args, exists, &key).await
    }
    async fn client_grant(
        &self,
        tenant: &str,
        client_id: &str,
        audience: &str,
    ) -> StoreResult<Option<ClientGrant>> {
        let sql = "SELECT data FROM client_grants WHERE tenant_id = $1 AND client_id = $2 AND audience = $3";
        self.fetch_data(
            "client grant",
            sql,
            &[Text(tenant), Text(client_id), Text(audience)],
        )
        .await
    }
    async fn client_grants(&self, tenant: &str, client_id: &str) -> StoreResult<Vec<ClientGrant>> {
        let sql =
            "SELECT data FROM client_grants WHERE tenant_id = $1 AND client_id = $2 ORDER BY rowid";
        self.fetch_all_data("client grant", sql, &[Text(tenant), Text(client_id)])
            .await
    }
    async fn tenant_client_grants(&self, tenant: &str) -> StoreResult<Vec<ClientGrant>> {
        let sql = "SELECT data FROM client_grants WHERE tenant_id = $1 ORDER BY rowid";
        self.fetch_all_data("client grant", sql, &[Text(tenant)])
            .await
    }
    async fn delete_client_grant(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM client_grants WHERE tenant_id = $1 AND id = $2";
        Ok(self
            .exec("client grant", sql, &[Text(tenant), Text(id)])
            .await?
            > 0)
    }
}

#[async_trait]
impl UserStore for SqlStore {
    async fn insert_user(&self, u: &User) -> StoreResult<()> {
        let sql = "INSERT INTO users (tenant_id, user_id, email, data) VALUES ($1, $2, $3, $4)";
        let what = format!("user {}", u.email);
        let (email, data) = (email_key(&u.email), encode(u)?);
        let args = [
            Text(&u.tenant_id),
            Text(&u.user_id),
            Text(&email),
            Text(&data),
        ];
        self.exec(&what, sql, &args).await?;
        Ok(())
    }
    async fn user(&self, tenant: &str, id: &str) -> StoreResult<Option<User>> {
        let sql = "SELECT data FROM users WHERE tenant_id = $1 AND user_id = $2";
        self.fetch_data("user", sql, &[Text(tenant), Text(id)])
            .await
    }
    async fn user_by_email(&self, tenant: &str, email: &str) -> StoreResult<Option<User>> {
        let sql = "SELECT data FROM users WHERE tenant_id = $1 AND email = $2";
        self.fetch_data("user", sql, &[Text(tenant), Text(&email_key(email))])
            .await
    }
    async fn users(&self, tenant: &str) -> StoreResult<Vec<User>> {
        let sql = "SELECT data FROM users WHERE tenant_id = $1 ORDER BY rowid";
        self.fetch_all_data("user", sql, &[Text(tenant)]).await
    }
    async fn update_user(&self, u: &User) -> StoreResult<()> {
        let sql = "UPDATE users SET email = $1, data = $2, version = $3 WHERE tenant_id = $4 AND user_id = $5 AND version = $6";
        let what = format!("user {}", u.user_id);
        let (email, (data, next)) = (email_key(&u.email), next_version(u)?);
        let key = [Text(&u.tenant_id), Text(&u.user_id)];
        let args = [
            Text(&email),
            Text(&data),
            Int(next),
            key[0],
            key[1],
            Int(u.version),
        ];
        let exists = "SELECT 1 FROM users WHERE tenant_id = $1 AND user_id = $2";
        self.exec_versioned(&what, sql, &args, exists, &key).await
    }
    async fn modify_user(
        &self,
        tenant: &str,
        user_id: &str,
        change: &UserChange<'_>,
    ) -> StoreResult<Option<User>> {
        let key = [Text(tenant), Text(user_id)];
        if has_nul(&key) {
            return Ok(None);
        }
        let what = format!("user {user_id}");
        let mut tx = self.begin(&what, true).await?;
        // SQLite's BEGIN IMMEDIATE already holds the database's write lock; on PostgreSQL the
        // row lock makes other writers of this user wait for the commit.
        let sql = if self.is_postgres() {
            "SELECT data FROM users WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE"
        } else {
            "SELECT data FROM users WHERE tenant_id = $1 AND user_id = $2"
        };
        let found = tx
            .conn()
            .fetch_optional(&what, sql, &key, |r| {
                decode::<User>(&what, &r.text("data")?)
            })
            .await?;
        let Some(mut u) = found else {
            return Ok(None);
        };
        if !change(&mut u) {
            return Ok(Some(u));
        }
        u.version += 1;
        let (email, data) = (email_key(&u.email), encode(&u)?);
        let sql = "UPDATE users SET email = $1, data = $2, version = $3 WHERE tenant_id = $4 AND user_id = $5";
        let args = [Text(&email), Text(&data), Int(u.version), key[0], key[1]];
        tx.conn().execute(&what, sql, &args).await?;
        tx.commit(&what).await?;
        Ok(Some(u))
    }
    async fn delete_user(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM users WHERE tenant_id = $1 AND user_id = $2";
        Ok(self.exec("user", sql, &[Text(tenant), Text(id)]).await? > 0)
    }
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn add_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<()> {
        self.add_key(k, false).await.map(drop)
    }

    async fn add_first_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<bool> {
        self.add_key(k, true).await
    }

    async fn signing_keys(&self, tenant: &str) -> StoreResult<Vec<SigningKeyRecord>> {
        let sql = "SELECT tenant_id, kid, alg, status, created_at, rotated_at, private_enc, public_jwk FROM signing_keys WHERE tenant_id = $1 ORDER BY created_at, rowid";
        self.fetch_rows("signing keys", sql, &[Text(tenant)], |r| {
            let kid = r.text("kid")?;
            let corrupt = || StoreError::Backend(format!("corrupt signing key row {kid}"));
            Ok(SigningKeyRecord {
                tenant_id: r.text("tenant_id")?,
                alg: SigningAlg::parse(&r.text("alg")?).ok_or_else(corrupt)?,
                status: KeyStatus::parse(&r.text("status")?).ok_or_else(corrupt)?,
                created_at: r.int("created_at")?,
                rotated_at: r.opt_int("rotated_at")?,
                private_enc: r.bytes("private_enc")?,
                public_jwk: r.text("public_jwk")?,
                kid,
            })
        })
        .await
    }
}

/// The artifact columns, in the order `artifact_args` binds them.
macro_rules! artifact_columns {
    () => {
        "tenant_id, kind, id_hash, family, client_id, user_id, payload, created_at, expires_at, consumed_at"
    };
}

fn read_artifact(r: &dyn RowRead) -> StoreResult<Artifact> {
    let kind = r.text("kind")?;
    Ok(Artifact {
        tenant_id: r.text("tenant_id")?,
        kind: ArtifactKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("corrupt artifact kind {kind}")))?,
        id_hash: r.text("id_hash")?,
        family: r.text("family")?,
        client_id: r.opt_text("client_id")?,
        user_id: r.opt_text("user_id")?,
        payload: decode("artifact", &r.text("payload")?)?,
        created_at: r.int("created_at")?,
        expires_at: r.int("expires_at")?,
        consumed_at: r.opt_int("consumed_at")?,
    })
}

/// How many expired artifacts one purge statement deletes: small enough that the write lock
/// (SQLite) or the row locks (PostgreSQL) are held for milliseconds, not the whole backlog.
const PURGE_BATCH: i64 = 500;

#[async_trait]
impl ArtifactStore for SqlStore {
    async fn insert_artifact(&self, a: &Artifact) -> StoreResult<()> {
        let sql = concat!(
            "INSERT INTO artifacts (",
            artifact_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        let payload = encode(&a.payload)?;
        let args = [
            Text(&a.tenant_id),
            Text(a.kind.as_str()),
            Text(&a.id_hash),
            Text(&a.family),
            Arg::OptText(a.client_id.as_deref()),
            Arg::OptText(a.user_id.as_deref()),
            Text(&payload),
            Int(a.created_at),
            Int(a.expires_at),
            Arg::OptInt(a.consumed_at),
        ];
        self.exec(a.kind.as_str(), sql, &args).await?;
        Ok(())
    }

    async fn artifact(
        &self,
        tenant: &str,
        kind: ArtifactKind,
        id_hash: &str,
    ) -> StoreResult<Option<Artifact>> {
        let sql = concat!(
            "SELECT ",
            artifact_columns!(),
            " FROM artifacts WHERE tenant_id = $1 AND kind = $2 AND id_hash = $3"
        );
        let args = [Text(tenant), Text(kind.as_str()), Text(id_hash)];
        self.fetch_one_row(kind.as_str(), false, sql, &args, read_artifact)
            .await
    }

    async fn consume_artifact(
        &self,
        tenant: &str,
        kind: ArtifactKind,
        id_hash: &str,
        now: i64,
    ) -> StoreResult<Option<Artifact>> {
        // One conditional statement: under PostgreSQL's READ COMMITTED a racing second UPDATE
        // waits for the first to commit, re-checks `consumed_at IS NULL` and matches nothing;
        // SQLite serializes writers outright.
        let sql = concat!(
            "UPDATE artifacts SET consumed_at = $1 WHERE tenant_id = $2 AND kind = $3 AND id_hash = $4 ",
            "AND consumed_at IS NULL AND expires_at > $1 RETURNING ",
            artifact_columns!()
        );
        let args = [Int(now), Text(tenant), Text(kind.as_str()), Text(id_hash)];
        self.fetch_one_row(kind.as_str(), true, sql, &args, read_artifact)
            .await
    }

    async fn extend_artifact(
        &self,
        tenant: &str,
        kind: ArtifactKind,
        id_hash: &str,
        expires_at: i64,
    ) -> StoreResult<bool> {
        let sql = "UPDATE artifacts SET expires_at = $1 WHERE tenant_id = $2 AND kind = $3 AND id_hash = $4";
        let args = [
            Int(expires_at),
            Text(tenant),
            Text(kind.as_str()),
            Text(id_hash),
        ];
        Ok(self.exec(kind.as_str(), sql, &args).await? > 0)
    }

    async fn delete_artifact(
        &self,
        tenant: &str,
        kind: ArtifactKind,
        id_hash: &str,
    ) -> StoreResult<bool> {
        let sql = "DELETE FROM artifacts WHERE tenant_id = $1 AND kind = $2 AND id_hash = $3";
        let args = [Text(tenant), Text(kind.as_str()), Text(id_hash)];
        Ok(self.exec(kind.as_str(), sql, &args).await? > 0)
    }

    async fn delete_user_artifacts(&self, tenant: &str, user_id: &str) -> StoreResult<u64> {
        let sql = "DELETE FROM artifacts WHERE tenant_id = $1 AND user_id = $2";
        let args = [Text(tenant), Text(user_id)];
        let mut n = self.exec("user's artifacts", sql, &args).await?;
        if self.is_postgres() {
            // As for a family: a rotation that committed while the first DELETE ran is caught
            // by the second.
            n += self.exec("user's artifacts", sql, &args).await?;
        }
        Ok(n)
    }

    async fn delete_family(&self, tenant: &str, family: &str) -> StoreResult<u64> {
        let sql = "DELETE FROM artifacts WHERE tenant_id = $1 AND family = $2";
        let args = [Text(tenant), Text(family)];
        let mut n = self.exec("artifact family", sql, &args).await?;
        if self.is_postgres() {
            // A PostgreSQL statement sees the rows committed when it started. A redemption
            // racing with this revocation may commit new tokens of the family while the first
            // DELETE runs; it then checks for its code (`revoke_if_replayed`). If that check
            // still saw the code, the first DELETE had not committed yet, so this second one
            // starts after the tokens were committed and removes them. (SQLite runs one writer
            // at a time: one statement is enough.)
            n += self.exec("artifact family", sql, &args).await?;
        }
        Ok(n)
    }

    async fn purge_artifacts(&self, before: i64) -> StoreResult<u64> {
        // In batches, yielding between them, so logins and token requests interleave with a
        // large backlog's purge instead of queueing behind one long DELETE.
        let sql = "DELETE FROM artifacts WHERE rowid IN (SELECT rowid FROM artifacts WHERE expires_at < $1 LIMIT $2)";
        let mut total = 0;
        loop {
            let n = self
                .exec("artifact purge", sql, &[Int(before), Int(PURGE_BATCH)])
                .await?;
            total += n;
            if !self.is_postgres() && n > 0 {
                // Copy the WAL back into the database file here, in the background task,
                // before it grows to SQLite's auto-checkpoint size: otherwise the commit of
                // whichever request crosses that size pays for the checkpoint (tens of ms).
                // PASSIVE never waits for, nor blocks, readers and writers.
                let mut c = self.pooled("wal checkpoint", false).await?;
                c.conn()
                    .execute("wal checkpoint", "PRAGMA wal_checkpoint(PASSIVE)", &[])
                    .await?;
            }
            if n < PURGE_BATCH as u64 {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }
}

#[async_trait]
impl RoleStore for SqlStore {
    async fn insert_role(&self, r: &Role) -> StoreResult<()> {
        let what = format!("role {}", r.name);
        let sql = "INSERT INTO roles (tenant_id, id, name, data) VALUES ($1, $2, $3, $4)";
        let data = encode(r)?;
        let args = [Text(&r.tenant_id), Text(&r.id), Text(&r.name), Text(&data)];
        self.exec(&what, sql, &args).await?;
        Ok(())
    }
    async fn role(&self, tenant: &str, id: &str) -> StoreResult<Option<Role>> {
        let sql = "SELECT data FROM roles WHERE tenant_id = $1 AND id = $2";
        self.fetch_data("role", sql, &[Text(tenant), Text(id)])
            .await
    }
    async fn role_by_name(&self, tenant: &str, name: &str) -> StoreResult<Option<Role>> {
        let sql = "SELECT data FROM roles WHERE tenant_id = $1 AND name = $2";
        self.fetch_data("role", sql, &[Text(tenant), Text(name)])
            .await
    }
    async fn roles(&self, tenant: &str) -> StoreResult<Vec<Role>> {
        let sql = "SELECT data FROM roles WHERE tenant_id = $1 ORDER BY rowid";
        self.fetch_all_data("role", sql, &[Text(tenant)]).await
    }
    async fn update_role(&self, r: &Role) -> StoreResult<()> {
        let what = format!("role {}", r.name);
        let sql = "UPDATE roles SET name = $1, data = $2, version = $3 WHERE tenant_id = $4 AND id = $5 AND version = $6";
        let (data, next) = next_version(r)?;
        let key = [Text(&r.tenant_id), Text(&r.id)];
        let args = [
            Text(&r.name),
            Text(&data),
            Int(next),
            key[0],
            key[1],
            Int(r.version),
        ];
        let exists = "SELECT 1 FROM roles WHERE tenant_id = $1 AND id = $2";
        self.exec_versioned(&what, sql, &args, exists, &key).await
    }
    async fn delete_role(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM roles WHERE tenant_id = $1 AND id = $2";
        Ok(self.exec("role", sql, &[Text(tenant), Text(id)]).await? > 0)
    }
}

#[async_trait]
impl ScriptStore for SqlStore {
    async fn insert_script(&self, sc: &Script) -> StoreResult<()> {
        let what = format!("{} {}", sc.kind.as_str(), sc.name);
        let sql = "INSERT INTO scripts (tenant_id, id, kind, name, ord, data) VALUES ($1, $2, $3, $4, $5, $6)";
        let data = encode(sc)?;
        let args = [
            Text(&sc.tenant_id),
            Text(&sc.id),
            Text(sc.kind.as_str()),
            Text(&sc.name),
            Int(sc.order),
            Text(&data),
        ];
        self.exec(&what, sql, &args).await?;
        Ok(())
    }
    async fn script(&self, tenant: &str, id: &str) -> StoreResult<Option<Script>> {
        let sql = "SELECT data FROM scripts WHERE tenant_id = $1 AND id = $2";
        self.fetch_data("script", sql, &[Text(tenant), Text(id)])
            .await
    }
    async fn script_by_name(
        &self,
        tenant: &str,
        kind: ScriptKind,
        name: &str,
    ) -> StoreResult<Option<Script>> {
        let sql = "SELECT data FROM scripts WHERE tenant_id = $1 AND kind = $2 AND name = $3";
        self.fetch_data(
            "script",
            sql,
            &[Text(tenant), Text(kind.as_str()), Text(name)],
        )
        .await
    }
    async fn scripts(&self, tenant: &str, kind: ScriptKind) -> StoreResult<Vec<Script>> {
        let sql = "SELECT data FROM scripts WHERE tenant_id = $1 AND kind = $2 ORDER BY ord, rowid";
        self.fetch_all_data("script", sql, &[Text(tenant), Text(kind.as_str())])
            .await
    }
    async fn update_script(&self, sc: &Script) -> StoreResult<()> {
        let what = format!("{} {}", sc.kind.as_str(), sc.name);
        let sql = "UPDATE scripts SET name = $1, ord = $2, data = $3, version = $4 WHERE tenant_id = $5 AND id = $6 AND version = $7";
        let (data, next) = next_version(sc)?;
        let key = [Text(&sc.tenant_id), Text(&sc.id)];
        let args = [
            Text(&sc.name),
            Int(sc.order),
            Text(&data),
            Int(next),
            key[0],
            key[1],
            Int(sc.version),
        ];
        let exists = "SELECT 1 FROM scripts WHERE tenant_id = $1 AND id = $2";
        self.exec_versioned(&what, sql, &args, exists, &key).await
    }
    async fn delete_script(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM scripts WHERE tenant_id = $1 AND id = $2";
        Ok(self.exec("script", sql, &[Text(tenant), Text(id)]).await? > 0)
    }
}

fn read_counter(r: &dyn RowRead) -> StoreResult<Counter> {
    Ok(Counter {
        count: r.int("hits")?,
        expires_at: r.int("expires_at")?,
    })
}

#[async_trait]
impl CounterStore for SqlStore {
    async fn hit_counter(
        &self,
        tenant: &str,
        kind: CounterKind,
        subject: &str,
        ip: &str,
        rule: CounterRule,
        now: i64,
    ) -> StoreResult<Counter> {
        // One upsert, so hits racing from several nodes all count. $5 now, $6 limit, $7 the
        // window's end, $8 the block's end.
        let sql = "INSERT INTO attack_counters (tenant_id, kind, subject, ip, hits, expires_at) \
            VALUES ($1, $2, $3, $4, 1, CASE WHEN $6 <= 1 AND $8 > $7 THEN $8 ELSE $7 END) \
            ON CONFLICT (tenant_id, kind, subject, ip) DO UPDATE SET \
            hits = CASE WHEN attack_counters.expires_at <= $5 THEN 1 ELSE attack_counters.hits + 1 END, \
            expires_at = CASE \
                WHEN attack_counters.expires_at <= $5 THEN (CASE WHEN $6 <= 1 AND $8 > $7 THEN $8 ELSE $7 END) \
                WHEN attack_counters.hits + 1 = $6 AND $8 > attack_counters.expires_at THEN $8 \
                ELSE attack_counters.expires_at END \
            RETURNING hits, expires_at";
        let args = [
            Text(tenant),
            Text(kind.as_str()),
            Text(subject),
            Text(ip),
            Int(now),
            Int(rule.limit),
            Int(now.saturating_add(rule.window)),
            Int(now.saturating_add(rule.block)),
        ];
        self.fetch_one_row("attack counter", true, sql, &args, read_counter)
            .await?
            .ok_or_else(|| StoreError::Backend("the counter upsert returned no row".into()))
    }

    async fn counter(
        &self,
        tenant: &str,
        kind: CounterKind,
        subject: &str,
        ip: &str,
    ) -> StoreResult<Option<Counter>> {
        let sql = "SELECT hits, expires_at FROM attack_counters \
            WHERE tenant_id = $1 AND kind = $2 AND subject = $3 AND ip = $4";
        let args = [Text(tenant), Text(kind.as_str()), Text(subject), Text(ip)];
        self.fetch_one_row("attack counter", false, sql, &args, read_counter)
            .await
    }

    async fn clear_counters(
        &self,
        tenant: &str,
        kind: CounterKind,
        subject: &str,
        ip: Option<&str>,
    ) -> StoreResult<u64> {
        match ip {
            Some(ip) => {
                let sql = "DELETE FROM attack_counters \
                    WHERE tenant_id = $1 AND kind = $2 AND subject = $3 AND ip = $4";
                let args = [Text(tenant), Text(kind.as_str()), Text(subject), Text(ip)];
                self.exec("attack counter", sql, &args).await
            }
            None => {
                let sql = "DELETE FROM attack_counters \
                    WHERE tenant_id = $1 AND kind = $2 AND subject = $3";
                let args = [Text(tenant), Text(kind.as_str()), Text(subject)];
                self.exec("attack counter", sql, &args).await
            }
        }
    }

    async fn purge_counters(&self, before: i64) -> StoreResult<u64> {
        // In batches, like the artifacts: a credential-stuffing run can leave many rows.
        let sql = "DELETE FROM attack_counters WHERE rowid IN \
            (SELECT rowid FROM attack_counters WHERE expires_at < $1 LIMIT $2)";
        let mut total = 0;
        loop {
            let n = self
                .exec(
                    "attack counter purge",
                    sql,
                    &[Int(before), Int(PURGE_BATCH)],
                )
                .await?;
            total += n;
            if n < PURGE_BATCH as u64 {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }
}
