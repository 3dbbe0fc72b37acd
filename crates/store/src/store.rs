//! `SqlStore`: every `Store` trait implemented once, for SQLite and PostgreSQL alike. The SQL
//! is one text for both (`$1` placeholders; PostgreSQL tables carry a `rowid` identity column
//! where SQLite has its implicit one), so a behaviour cannot differ between backends unless a
//! migration makes it. This file has the URL, the pools and the query helpers; the trait
//! implementations are in `config`, `users` and `artifacts`.

use std::{fmt, path::PathBuf, str::FromStr, time::Duration};

use async_trait::async_trait;
use sqlx::{
    Connection, PgConnection, PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
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
    decode, encode,
    lite::{self, Lite},
    map_err,
    sql::{Arg, Pooled, RowRead, SqliteTx, Tx},
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
    Sqlite(std::sync::Arc<Lite>),
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
                // SQLite has one writer at a time: writes in this process queue for one
                // writer, which commits every write waiting in one transaction (`lite`).
                Pool::Sqlite(Lite::open(path)?)
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

    /// SQLite's group-commit figures (transactions and the writes they held); `None` on
    /// PostgreSQL, where each write commits on its own connection.
    pub fn write_batches(&self) -> Option<&lite::WriteBatches> {
        self.lite().map(|l| &*l.batches)
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(lite) => lite.close().await,
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
            Pool::Sqlite(lite) if write => Ok(Pooled::SqliteWrite(lite.writer_conn().await)),
            // A point read: on the write connection when it is free (its cache is warm).
            Pool::Sqlite(lite) => match lite.idle_writer() {
                Some(w) => Ok(Pooled::SqliteWrite(w)),
                None => lite.reader().map(Pooled::Sqlite),
            },
            Pool::Postgres(p) => p
                .acquire()
                .await
                .map(Pooled::Postgres)
                .map_err(map_err(what)),
        }
    }

    /// A transaction. `write`: on SQLite, take the write lock at once (`BEGIN IMMEDIATE`), so
    /// two writers queue instead of one failing to upgrade its read lock.
    pub(crate) async fn begin(&self, what: &str, write: bool) -> StoreResult<Tx> {
        match &self.pool {
            Pool::Sqlite(lite) if write => {
                let mut holder = lite.writer_conn().await;
                lite::begin_immediate(&mut holder)
                    .await
                    .map_err(lite::map_err(what))?;
                Ok(Tx::SqliteWrite(SqliteTx { holder, open: true }))
            }
            Pool::Sqlite(lite) => {
                let mut holder = lite.reader()?;
                holder
                    .conn()
                    .execute_batch("BEGIN")
                    .map_err(lite::map_err(what))?;
                Ok(Tx::SqliteRead(SqliteTx { holder, open: true }))
            }
            Pool::Postgres(p) => p.begin().await.map(Tx::Postgres).map_err(map_err(what)),
        }
    }

    /// The SQLite engine, when that is the backend.
    pub(crate) fn lite(&self) -> Option<&std::sync::Arc<Lite>> {
        match &self.pool {
            Pool::Sqlite(lite) => Some(lite),
            Pool::Postgres(_) => None,
        }
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
        if let Some(lite) = self.lite() {
            return lite.write_statement(what, sql, args, lite::execute).await;
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
        if let (Some(lite), true) = (self.lite(), write) {
            let rows = lite
                .write_statement(what, sql, args, |c, sql, args| lite::query(c, sql, args, 1))
                .await?;
            return rows.first().map(|r| read(r)).transpose();
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

/// Creates a missing folder (and its parents) readable by its owner only; an existing one is
/// left as it is.
pub fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// Creates a missing SQLite file empty (a valid database) and readable by its owner only: it
/// holds password hashes and personal data. SQLite gives the `-wal` and `-shm` files it
/// creates beside it the same mode, whatever the umask.
fn create_private_file(path: &std::path::Path) -> std::io::Result<()> {
    // A new installation's folder (`db copy --to sqlite://new-dir/tessera.db`): made, private.
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        create_private_dir(dir)?;
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

mod artifacts;
mod config;
mod logs;
mod roles;
mod user_search;
mod users;
