//! The SQLite engine of the embedded default. Statements run on the calling thread: a point
//! query or a small write costs SQLite a few microseconds, less than handing it to another
//! thread and back (which is what an async driver does for every statement, measured at about
//! two thirds of a refresh rotation's database time). Writes go through one writer task that
//! takes every write waiting in its queue into one transaction and commits once (group commit),
//! then answers each; a write is acknowledged only after the commit that holds it. When one
//! write of a batch fails, the batch is rolled back and each write runs again on its own, so
//! the failure leaves the others intact.
//! The writer's connection never checkpoints inside a commit: a blocking thread copies the WAL
//! back into the database file (see `Checkpointer`).

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use rusqlite::{
    Connection, OpenFlags, Statement,
    ffi::ErrorCode,
    types::{ToSqlOutput, Value as LiteValue, ValueRef},
};
use tessera_core::StoreError;
use tokio::sync::{OwnedMutexGuard, mpsc, oneshot};

use crate::sql::{Arg, RowRead, Value};

mod checkpoint;
use checkpoint::{Checkpointer, pages_written};

type StoreResult<T> = Result<T, StoreError>;

/// Idle read connections kept open; more are opened when several threads read at once.
const READ_IDLE: usize = 8;
/// The most writes one transaction takes from the queue.
const MAX_BATCH: usize = 256;
/// Writes waiting beyond this make the next writer wait for room (never a dropped write).
const QUEUE: usize = 4096;
/// How long a write waits for another process's write lock (a CLI command) before failing.
const BUSY_WAIT: Duration = Duration::from_secs(5);
/// The write connection's page cache, in KiB (it also serves point reads while idle).
const WRITER_CACHE_KIB: i64 = 8 * 1024;

/// One queued write: runs inside the batch's transaction, answered after its commit.
trait Job: Send {
    /// Runs the write (again, if its batch was rolled back); `false` if it failed.
    fn run(&mut self, c: &Connection) -> bool;
    /// Sends the outcome: the write's own result, or `failed` when it did not commit.
    fn answer(self: Box<Self>, failed: Option<StoreError>);
}

struct TypedJob<T, F> {
    work: F,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T: Send, F: Fn(&Connection) -> StoreResult<T> + Send> Job for TypedJob<T, F> {
    fn run(&mut self, c: &Connection) -> bool {
        let r = (self.work)(c);
        let ok = r.is_ok();
        self.result = Some(r);
        ok
    }

    fn answer(self: Box<Self>, failed: Option<StoreError>) {
        let outcome = match (failed, self.result) {
            (Some(e), _) => Err(e),
            (None, Some(r)) => r,
            (None, None) => Err(StoreError::Backend("a queued write did not run".into())),
        };
        // The asker may have gone (its request was cancelled): the write stands regardless.
        let _ = self.reply.send(outcome);
    }
}

/// Group-commit figures since the store opened: how many transactions the writer committed
/// and how many writes they held, with a histogram of batch sizes.
#[derive(Debug, Default)]
pub struct WriteBatches {
    pub commits: AtomicU64,
    pub writes: AtomicU64,
    pub largest: AtomicU64,
    /// Batches of 1, 2–3, 4–7, 8–15, 16–31, 32 and more writes.
    pub sizes: [AtomicU64; 6],
}

impl WriteBatches {
    fn record(&self, n: usize) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.writes.fetch_add(n as u64, Ordering::Relaxed);
        self.largest.fetch_max(n as u64, Ordering::Relaxed);
        let bucket = (usize::BITS - n.leading_zeros()).saturating_sub(1).min(5) as usize;
        self.sizes[bucket].fetch_add(1, Ordering::Relaxed);
        metrics::histogram!("tessera_sqlite_writes_per_commit").record(n as f64);
    }

    /// `commits, writes, largest, sizes` as plain numbers.
    pub fn snapshot(&self) -> (u64, u64, u64, [u64; 6]) {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        (
            get(&self.commits),
            get(&self.writes),
            get(&self.largest),
            std::array::from_fn(|i| get(&self.sizes[i])),
        )
    }
}

/// What the writer task and the readers share.
#[derive(Debug)]
pub(crate) struct Lite {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    write: Arc<tokio::sync::Mutex<Connection>>,
    jobs: mpsc::Sender<Box<dyn Job>>,
    pub(crate) batches: Arc<WriteBatches>,
}

fn open_conn(path: &Path, write: bool) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let c = Connection::open_with_flags(path, flags)?;
    // NORMAL in WAL mode loses nothing when the process dies; only an OS crash can roll back
    // the last transactions.
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", "NORMAL")?;
    c.pragma_update(None, "foreign_keys", "ON")?;
    // A batch's statement journal (the pages each statement may have to put back) stays in
    // memory: past 64 KiB SQLite would otherwise spill it to a temporary file, opened, written
    // and closed in every large commit.
    c.pragma_update(None, "temp_store", "MEMORY")?;
    c.set_prepared_statement_cache_capacity(64);
    if write {
        // The writer touches every index's pages: a page cache of WRITER_CACHE_KIB (instead
        // of SQLite's 2 MiB) keeps their working set out of `pread`.
        c.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        // The writer waits for another process's lock asynchronously (see `begin_immediate`),
        // never by sleeping its thread; and it never checkpoints inside a commit.
        c.busy_timeout(Duration::ZERO)?;
        c.pragma_update(None, "wal_autocheckpoint", 0)?;
    } else {
        c.busy_timeout(BUSY_WAIT)?;
    }
    Ok(c)
}

impl Lite {
    /// Opens the file (which must exist or be creatable) and starts the writer task.
    pub(crate) fn open(path: &Path) -> StoreResult<Arc<Self>> {
        let failed = |e: rusqlite::Error| {
            StoreError::Backend(format!(
                "cannot open the SQLite database {}: {e}",
                path.display()
            ))
        };
        let write = open_conn(path, true).map_err(failed)?;
        let reader = open_conn(path, false).map_err(failed)?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let lite = Arc::new(Self {
            path: path.to_path_buf(),
            idle: Mutex::new(vec![reader]),
            write: Arc::new(tokio::sync::Mutex::new(write)),
            jobs: tx,
            batches: Arc::default(),
        });
        tokio::spawn(writer(
            lite.path.clone(),
            lite.write.clone(),
            lite.batches.clone(),
            rx,
        ));
        Ok(lite)
    }

    /// A read connection for as long as the guard lives.
    pub(crate) fn reader(self: &Arc<Self>) -> StoreResult<ReadConn> {
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let conn = match idle {
            Some(c) => c,
            None => open_conn(&self.path, false).map_err(map_err("read connection"))?,
        };
        Ok(ReadConn {
            conn: Some(conn),
            home: self.clone(),
        })
    }

    /// The write connection for a read, if nobody is using it: its page cache is never made
    /// stale by a commit (it made them all), where a read connection must read the pages a
    /// commit changed again.
    pub(crate) fn idle_writer(&self) -> Option<OwnedMutexGuard<Connection>> {
        self.write.clone().try_lock_owned().ok()
    }

    /// The write connection, exclusively (a transaction), once the writer has finished its
    /// current batch.
    pub(crate) async fn writer_conn(&self) -> OwnedMutexGuard<Connection> {
        self.write.clone().lock_owned().await
    }

    /// Queues `work` for the next group commit and waits for that commit.
    pub(crate) async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(TypedJob {
            work,
            result: None,
            reply,
        });
        self.jobs
            .send(job)
            .await
            .map_err(|_| StoreError::Backend("the SQLite writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("the SQLite writer has stopped".into()))?
    }

    /// Runs one statement (`execute`, or `query` for `… RETURNING`) as a write of the next
    /// group commit.
    pub(crate) async fn write_statement<T: Send + 'static>(
        &self,
        what: &str,
        sql: &str,
        args: &[Arg<'_>],
        run: fn(&Connection, &str, &[Arg<'_>]) -> rusqlite::Result<T>,
    ) -> StoreResult<T> {
        let (what, sql) = (what.to_owned(), sql.to_owned());
        let values: Vec<Value> = args.iter().map(Value::from).collect();
        self.write(move |c| {
            let args: Vec<Arg<'_>> = values.iter().map(Value::arg).collect();
            run(c, &sql, &args).map_err(map_err(&what))
        })
        .await
    }

    /// At close: copies the WAL back into the database file and empties it, once the writer
    /// has finished (best effort: a reader still busy leaves it for the next start).
    pub(crate) async fn close(&self) {
        let writer = self.write.lock().await;
        // Waiting here is fine: a background checkpoint may still be finishing.
        let _ = writer.busy_timeout(Duration::from_secs(2));
        checkpoint::run(&writer, "TRUNCATE");
        let _ = writer.busy_timeout(Duration::ZERO);
    }
}

/// A read connection, back to the idle set when dropped.
pub(crate) struct ReadConn {
    conn: Option<Connection>,
    home: Arc<Lite>,
}

impl ReadConn {
    pub(crate) fn conn(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("present until dropped")
    }
}

impl Drop for ReadConn {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take()
            && c.is_autocommit()
            && let Ok(mut idle) = self.home.idle.lock()
            && idle.len() < READ_IDLE
        {
            idle.push(c);
        }
    }
}

/// Takes the write lock with `BEGIN IMMEDIATE`, waiting without blocking the thread while
/// another process holds it, up to [`BUSY_WAIT`].
pub(crate) async fn begin_immediate(
    lock: &mut OwnedMutexGuard<Connection>,
) -> Result<(), rusqlite::Error> {
    let deadline = Instant::now() + BUSY_WAIT;
    let mut pause = Duration::from_micros(500);
    loop {
        match lock.execute_batch("BEGIN IMMEDIATE") {
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

async fn writer(
    path: PathBuf,
    conn: Arc<tokio::sync::Mutex<Connection>>,
    batches: Arc<WriteBatches>,
    mut rx: mpsc::Receiver<Box<dyn Job>>,
) {
    let mut checkpoint = Checkpointer::new(path);
    let mut batch: Vec<Box<dyn Job>> = Vec::new();
    while let Some(first) = rx.recv().await {
        batch.push(first);
        // Let the requests that are ready to run reach their writes too: on a busy core they
        // join this transaction instead of each paying for a commit of its own.
        tokio::task::yield_now().await;
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let mut lock = conn.clone().lock_owned().await;
        checkpoint.copy_tail(&lock);
        let outcome = match begin_immediate(&mut lock).await {
            Ok(()) => run_batch(&lock, &mut batch),
            Err(e) => Err(map_err("write")(e)),
        };
        let pages = pages_written(&lock);
        drop(lock);
        if outcome.is_ok() && !batch.is_empty() {
            batches.record(batch.len());
        }
        for job in batch.drain(..) {
            job.answer(outcome.as_ref().err().cloned());
        }
        checkpoint.after_commit(pages);
    }
}

/// One transaction around every job. When one fails, the transaction is rolled back and each
/// job runs again in a transaction of its own, so the failure is that job's alone (a write that
/// fails is rare: a duplicate key, a full disk). `Err` when the batch did not commit (the caller
/// answers every job with it); jobs run again alone are answered here, and `batch` is then
/// empty.
fn run_batch(c: &Connection, batch: &mut Vec<Box<dyn Job>>) -> StoreResult<()> {
    let all_ok = batch.iter_mut().all(|job| job.run(c));
    if all_ok {
        return finish(c, true, "write batch");
    }
    if !c.is_autocommit() {
        c.execute_batch("ROLLBACK")
            .map_err(map_err("write batch"))?;
    }
    for mut job in batch.drain(..) {
        let alone = c
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(map_err("write"))
            .and_then(|()| {
                let ok = job.run(c);
                finish(c, ok, "write")
            });
        job.answer(alone.err());
    }
    Ok(())
}

/// Ends the open transaction: `COMMIT` when `commit`, else `ROLLBACK`; a failed `COMMIT`
/// leaves nothing open behind it.
fn finish(c: &Connection, commit: bool, what: &str) -> StoreResult<()> {
    let ended = c
        .execute_batch(if commit { "COMMIT" } else { "ROLLBACK" })
        .map_err(map_err(what));
    if ended.is_err() && !c.is_autocommit() {
        let _ = c.execute_batch("ROLLBACK");
    }
    ended
}

// ---------------------------------------------------------------------------------------------
// Statements

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Arg::Text(s) | Arg::OptText(Some(s)) => ValueRef::Text(s.as_bytes()),
            Arg::OptText(None) | Arg::OptInt(None) => ValueRef::Null,
            Arg::Int(i) | Arg::OptInt(Some(i)) => ValueRef::Integer(i),
            Arg::Bytes(b) => ValueRef::Blob(b),
        }))
    }
}

/// Binds `$N` (and `?N`) placeholders by their number: SQLite numbers named parameters in
/// order of first appearance, which is not always the order of their names.
fn bind(st: &mut Statement<'_>, args: &[Arg<'_>]) -> rusqlite::Result<()> {
    for i in 1..=st.parameter_count() {
        let n = st
            .parameter_name(i)
            .and_then(|name| name.get(1..))
            .and_then(|digits| digits.parse::<usize>().ok())
            .unwrap_or(i);
        let arg = args
            .get(n.wrapping_sub(1))
            .ok_or(rusqlite::Error::InvalidParameterCount(n, args.len()))?;
        st.raw_bind_parameter(i, arg)?;
    }
    Ok(())
}

/// Runs a statement to its end; the rows it changed (for INSERT, UPDATE and DELETE).
pub(crate) fn execute(c: &Connection, sql: &str, args: &[Arg<'_>]) -> rusqlite::Result<u64> {
    let before = c.total_changes();
    let mut st = c.prepare_cached(sql)?;
    bind(&mut st, args)?;
    let mut rows = st.raw_query();
    while rows.next()?.is_some() {}
    Ok(c.total_changes() - before)
}

/// The rows of a statement, at most `limit`, each with its values owned.
pub(crate) fn query(
    c: &Connection,
    sql: &str,
    args: &[Arg<'_>],
    limit: usize,
) -> rusqlite::Result<Vec<LiteRow>> {
    let mut st = c.prepare_cached(sql)?;
    let names: Arc<[String]> = st.column_names().into_iter().map(str::to_owned).collect();
    bind(&mut st, args)?;
    let mut rows = st.raw_query();
    let mut out = Vec::new();
    while out.len() < limit {
        let Some(r) = rows.next()? else { break };
        let values = (0..names.len())
            .map(|i| r.get::<_, LiteValue>(i))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        out.push(LiteRow {
            names: names.clone(),
            values,
        });
    }
    Ok(out)
}

/// A result row with its values owned.
#[derive(Debug, Clone)]
pub(crate) struct LiteRow {
    names: Arc<[String]>,
    values: Vec<LiteValue>,
}

impl LiteRow {
    fn get(&self, col: &str) -> StoreResult<&LiteValue> {
        self.names
            .iter()
            .position(|n| n == col)
            .map(|i| &self.values[i])
            .ok_or_else(|| StoreError::Backend(format!("no column {col} in the result")))
    }
}

fn wrong_type(col: &str, v: &LiteValue) -> StoreError {
    StoreError::Backend(format!(
        "cannot read column {col}: unexpected {:?}",
        v.data_type()
    ))
}

impl RowRead for LiteRow {
    fn text(&self, col: &str) -> StoreResult<String> {
        self.opt_text(col)?
            .ok_or_else(|| wrong_type(col, &LiteValue::Null))
    }
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        match self.get(col)? {
            LiteValue::Text(s) => Ok(Some(s.clone())),
            LiteValue::Null => Ok(None),
            v => Err(wrong_type(col, v)),
        }
    }
    fn int(&self, col: &str) -> StoreResult<i64> {
        self.opt_int(col)?
            .ok_or_else(|| wrong_type(col, &LiteValue::Null))
    }
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>> {
        match self.get(col)? {
            LiteValue::Integer(i) => Ok(Some(*i)),
            LiteValue::Null => Ok(None),
            v => Err(wrong_type(col, v)),
        }
    }
    fn bytes(&self, col: &str) -> StoreResult<Vec<u8>> {
        match self.get(col)? {
            LiteValue::Blob(b) => Ok(b.clone()),
            LiteValue::Text(s) => Ok(s.as_bytes().to_vec()),
            v => Err(wrong_type(col, v)),
        }
    }
}

/// Maps a SQLite error onto the store's kinds, as `crate::map_err` does for PostgreSQL's.
pub(crate) fn map_err(what: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| {
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            match f.extended_code {
                // SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE
                1555 | 2067 => return StoreError::Conflict(what.to_owned()),
                // SQLITE_CONSTRAINT_FOREIGNKEY
                787 => {
                    return StoreError::NotFound(format!(
                        "{what}: a referenced object does not exist"
                    ));
                }
                _ => {}
            }
        }
        StoreError::Backend(format!("{what}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiting_writes_share_a_commit_and_a_failing_one_leaves_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let lite = Lite::open(&dir.path().join("t.db")).unwrap();
        lite.write(|c| {
            c.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY)")
                .map_err(map_err("create"))
        })
        .await
        .unwrap();
        let insert = |k: i64| {
            let lite = lite.clone();
            tokio::spawn(async move {
                lite.write(move |c| {
                    execute(c, "INSERT INTO t (k) VALUES ($1)", &[Arg::Int(k)])
                        .map_err(map_err("insert"))
                })
                .await
            })
        };
        // 50 writes queued at once share commits.
        let results = futures_all((1..=50).map(insert).collect()).await;
        assert!(results.iter().all(|r| r.is_ok()));
        let (commits, writes, largest, _) = lite.batches.snapshot();
        assert_eq!(writes, 51);
        assert!(
            commits < writes && largest > 1,
            "{commits} commits, largest {largest}"
        );
        // 50 more; every fifth inserts a key that is already there.
        let keys = (51..=100).map(|i| if i % 5 == 0 { 1 } else { i });
        let results = futures_all(keys.map(insert).collect()).await;
        let conflicts = results
            .iter()
            .filter(|r| matches!(r, Err(StoreError::Conflict(_))))
            .count();
        assert_eq!(conflicts, 10);
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 40);
        let mut reader = lite.reader().unwrap();
        let rows = query(reader.conn(), "SELECT COUNT(*) AS n FROM t", &[], 1).unwrap();
        assert_eq!(
            rows[0].int("n").unwrap(),
            90,
            "every write but the failed ones"
        );
    }

    #[tokio::test]
    async fn statement_journals_stay_in_memory_and_the_writer_has_a_larger_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let pragma = |c: &Connection, name: &str| -> i64 {
            c.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                .unwrap()
        };
        let writer = open_conn(&path, true).unwrap();
        let reader = open_conn(&path, false).unwrap();
        // 2 = MEMORY: no temporary file for a large batch's statement journal.
        assert_eq!(pragma(&writer, "temp_store"), 2);
        assert_eq!(pragma(&reader, "temp_store"), 2);
        assert_eq!(pragma(&writer, "cache_size"), -WRITER_CACHE_KIB);
        assert_eq!(pragma(&reader, "cache_size"), -2000, "SQLite's default");
    }

    async fn futures_all(
        handles: Vec<tokio::task::JoinHandle<StoreResult<u64>>>,
    ) -> Vec<StoreResult<u64>> {
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    }
}
