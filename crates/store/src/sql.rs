//! The few primitives every query goes through, written once for both backends: bind
//! arguments, run a statement, read rows. Queries are one text for SQLite and PostgreSQL
//! (`$1`-style placeholders, which `lite` binds by number on SQLite); a connection is
//! either kind, and the match on it is here and nowhere else (SQLite's statements themselves
//! are in `lite`).

use sqlx::{
    ColumnIndex, Database, Decode, Encode, PgConnection, Type, pool::PoolConnection,
    postgres::Postgres, query::Query,
};
use tessera_core::StoreError;
use tokio::sync::OwnedMutexGuard;

use crate::{lite, map_err};

/// One bound argument, borrowed from the caller.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Arg<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    Int(i64),
    OptInt(Option<i64>),
    Bytes(&'a [u8]),
}

/// One column value, owned (what `db copy` moves between backends).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Bytes(Vec<u8>),
}

impl Value {
    pub(crate) fn arg(&self) -> Arg<'_> {
        match self {
            Value::Text(s) => Arg::OptText(s.as_deref()),
            Value::Int(i) => Arg::OptInt(*i),
            Value::Bytes(b) => Arg::Bytes(b),
        }
    }
}

/// An argument, owned (to travel to the SQLite writer with its statement).
impl From<&Arg<'_>> for Value {
    fn from(a: &Arg<'_>) -> Self {
        match *a {
            Arg::Text(s) => Value::Text(Some(s.to_owned())),
            Arg::OptText(s) => Value::Text(s.map(str::to_owned)),
            Arg::Int(i) => Value::Int(Some(i)),
            Arg::OptInt(i) => Value::Int(i),
            Arg::Bytes(b) => Value::Bytes(b.to_vec()),
        }
    }
}

/// The column kinds `Value` can hold, to read a row whose shape is known.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    Text,
    Int,
    Bytes,
}

fn bind<'q, DB>(sql: &'q str, args: &[Arg<'q>]) -> Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    &'q [u8]: Encode<'q, DB> + Type<DB>,
{
    let mut q = sqlx::query::<DB>(sql);
    for a in args {
        q = match *a {
            Arg::Text(s) => q.bind(s),
            Arg::OptText(s) => q.bind(s),
            Arg::Int(i) => q.bind(i),
            Arg::OptInt(i) => q.bind(i),
            Arg::Bytes(b) => q.bind(b),
        };
    }
    q
}

/// Reads a result row by column name, whichever backend produced it.
pub(crate) trait RowRead {
    fn text(&self, col: &str) -> Result<String, StoreError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;
    fn bytes(&self, col: &str) -> Result<Vec<u8>, StoreError>;

    /// The column as a `Value` of the given kind.
    fn value(&self, col: &str, kind: Kind) -> Result<Value, StoreError> {
        Ok(match kind {
            Kind::Text => Value::Text(self.opt_text(col)?),
            Kind::Int => Value::Int(self.opt_int(col)?),
            Kind::Bytes => Value::Bytes(self.bytes(col)?),
        })
    }
}

impl<R> RowRead for R
where
    R: sqlx::Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    fn text(&self, col: &str) -> Result<String, StoreError> {
        self.try_get(col).map_err(corrupt(col))
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        self.try_get(col).map_err(corrupt(col))
    }
    fn int(&self, col: &str) -> Result<i64, StoreError> {
        self.try_get(col).map_err(corrupt(col))
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        self.try_get(col).map_err(corrupt(col))
    }
    fn bytes(&self, col: &str) -> Result<Vec<u8>, StoreError> {
        self.try_get(col).map_err(corrupt(col))
    }
}

fn corrupt(col: &str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
    move |e| StoreError::Backend(format!("cannot read column {col}: {e}"))
}

/// A connection of either backend, borrowed from a pool or a transaction. SQLite's runs its
/// statements on the calling thread (see `lite`); the `async` is PostgreSQL's.
pub(crate) enum Conn<'c> {
    Sqlite(&'c mut rusqlite::Connection),
    Postgres(&'c mut PgConnection),
}

/// A connection taken for one operation.
pub(crate) enum Pooled {
    Sqlite(lite::ReadConn),
    SqliteWrite(OwnedMutexGuard<rusqlite::Connection>),
    Postgres(PoolConnection<Postgres>),
}

impl Pooled {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            Pooled::Sqlite(c) => Conn::Sqlite(c.conn()),
            Pooled::SqliteWrite(c) => Conn::Sqlite(c),
            Pooled::Postgres(c) => Conn::Postgres(c),
        }
    }
}

/// An open transaction of either backend; rolled back if dropped uncommitted.
pub(crate) enum Tx {
    /// SQLite's write connection, held from `BEGIN IMMEDIATE` to the end.
    SqliteWrite(SqliteTx<OwnedMutexGuard<rusqlite::Connection>>),
    /// A read connection in a deferred transaction: one snapshot for every read.
    SqliteRead(SqliteTx<lite::ReadConn>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// A SQLite connection inside `BEGIN`: `ROLLBACK` when dropped before `COMMIT`.
pub(crate) struct SqliteTx<C: SqliteHolder> {
    pub(crate) holder: C,
    pub(crate) open: bool,
}

/// What can lend a SQLite connection for a transaction.
pub(crate) trait SqliteHolder {
    fn connection(&mut self) -> &mut rusqlite::Connection;
}

impl SqliteHolder for OwnedMutexGuard<rusqlite::Connection> {
    fn connection(&mut self) -> &mut rusqlite::Connection {
        self
    }
}

impl SqliteHolder for lite::ReadConn {
    fn connection(&mut self) -> &mut rusqlite::Connection {
        self.conn()
    }
}

impl<C: SqliteHolder> SqliteTx<C> {
    fn commit(mut self, what: &str) -> Result<(), StoreError> {
        self.open = false;
        self.holder
            .connection()
            .execute_batch("COMMIT")
            .map_err(lite::map_err(what))
    }
}

impl<C: SqliteHolder> Drop for SqliteTx<C> {
    fn drop(&mut self) {
        let c = self.holder.connection();
        if self.open && !c.is_autocommit() {
            let _ = c.execute_batch("ROLLBACK");
        }
    }
}

impl Tx {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::SqliteWrite(t) => Conn::Sqlite(t.holder.connection()),
            Tx::SqliteRead(t) => Conn::Sqlite(t.holder.connection()),
            Tx::Postgres(t) => Conn::Postgres(t),
        }
    }

    pub(crate) async fn commit(self, what: &str) -> Result<(), StoreError> {
        match self {
            Tx::SqliteWrite(t) => t.commit(what),
            Tx::SqliteRead(t) => t.commit(what),
            Tx::Postgres(t) => t.commit().await.map_err(map_err(what)),
        }
    }
}

impl Conn<'_> {
    /// Runs a statement; the number of rows it touched.
    pub(crate) async fn execute(
        &mut self,
        what: &str,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Result<u64, StoreError> {
        match self {
            Conn::Sqlite(c) => lite::execute(c, sql, args).map_err(lite::map_err(what)),
            Conn::Postgres(c) => bind::<Postgres>(sql, args)
                .execute(&mut **c)
                .await
                .map(|r| r.rows_affected())
                .map_err(map_err(what)),
        }
    }

    /// Runs statements without arguments, several per text (migrations).
    pub(crate) async fn execute_script(&mut self, what: &str, sql: &str) -> Result<(), StoreError> {
        match self {
            Conn::Sqlite(c) => c.execute_batch(sql).map_err(lite::map_err(what)),
            Conn::Postgres(c) => sqlx::raw_sql(sql)
                .execute(&mut **c)
                .await
                .map(drop)
                .map_err(map_err(what)),
        }
    }

    /// Every row, each read by `read`.
    pub(crate) async fn fetch_all<T>(
        &mut self,
        what: &str,
        sql: &str,
        args: &[Arg<'_>],
        read: impl Fn(&dyn RowRead) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        match self {
            Conn::Sqlite(c) => {
                let rows = lite::query(c, sql, args, usize::MAX).map_err(lite::map_err(what))?;
                rows.iter().map(|r| read(r)).collect()
            }
            Conn::Postgres(c) => {
                let rows = bind::<Postgres>(sql, args)
                    .fetch_all(&mut **c)
                    .await
                    .map_err(map_err(what))?;
                rows.iter().map(|r| read(r)).collect()
            }
        }
    }

    /// The first row if there is one, read by `read`.
    pub(crate) async fn fetch_optional<T>(
        &mut self,
        what: &str,
        sql: &str,
        args: &[Arg<'_>],
        read: impl Fn(&dyn RowRead) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        match self {
            Conn::Sqlite(c) => lite::query(c, sql, args, 1)
                .map_err(lite::map_err(what))?
                .first()
                .map(|r| read(r))
                .transpose(),
            Conn::Postgres(c) => bind::<Postgres>(sql, args)
                .fetch_optional(&mut **c)
                .await
                .map_err(map_err(what))?
                .map(|r| read(&r))
                .transpose(),
        }
    }
}
