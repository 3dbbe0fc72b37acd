//! Checkpoints of the SQLite writer's WAL: copied back into the database file beside the
//! writer, never inside a commit, and started over before it grows past a few thousand pages.

use std::{
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use rusqlite::Connection;

use super::open_conn;

/// The longest the WAL goes without a checkpoint while writes arrive.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Copies the WAL back into the database file, on a blocking thread (a checkpoint ends with an
/// fsync, which no request should wait for), once [`CHECKPOINT_PAGES`] pages were written since
/// the last one, or a second after it. Those run beside the writer, which keeps appending, so
/// the WAL is never quite all copied when the next write begins, and SQLite starts the WAL over
/// only then. So once [`RESTART_PAGES`] pages were written since it last started over, the
/// writer itself copies the few pages written during the background pass before its next
/// transaction, which then starts the WAL from the beginning instead of growing it.
pub(super) struct Checkpointer {
    path: PathBuf,
    conn: Arc<Mutex<Option<Connection>>>,
    running: Arc<AtomicBool>,
    /// A restart is due: the writer copies the last pages before its next transaction.
    tail: Arc<AtomicBool>,
    since_checkpoint: u64,
    since_restart: u64,
    last: Instant,
}

/// WAL pages written between checkpoints, at most.
const CHECKPOINT_PAGES: u64 = 2_000;
/// WAL pages (4 KiB each) after which a checkpoint starts it over (SQLite's own default is
/// 1,000; more pages between restarts mean fewer waits for the writer, a 16 MiB WAL at most).
const RESTART_PAGES: u64 = 4_000;

impl Checkpointer {
    pub(super) fn new(path: PathBuf) -> Self {
        Self {
            path,
            conn: Arc::default(),
            running: Arc::default(),
            tail: Arc::default(),
            since_checkpoint: 0,
            since_restart: 0,
            last: Instant::now(),
        }
    }

    /// `pages`: what the commit wrote to the WAL.
    pub(super) fn after_commit(&mut self, pages: u64) {
        self.since_checkpoint += pages;
        self.since_restart += pages;
        if self.since_checkpoint < CHECKPOINT_PAGES && self.last.elapsed() < CHECKPOINT_EVERY {
            return;
        }
        if self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        self.since_checkpoint = 0;
        self.last = Instant::now();
        let restart = self.since_restart >= RESTART_PAGES;
        if restart {
            self.since_restart = 0;
        }
        let (path, conn, running) = (self.path.clone(), self.conn.clone(), self.running.clone());
        let tail = self.tail.clone();
        tokio::task::spawn_blocking(move || {
            if let Ok(mut slot) = conn.lock() {
                if slot.is_none() {
                    *slot = open_conn(&path, false).ok();
                }
                if let Some(c) = slot.as_ref() {
                    run(c, "PASSIVE");
                }
            }
            if restart {
                tail.store(true, Ordering::Release);
            }
            running.store(false, Ordering::Release);
        });
    }

    /// Before the writer's next transaction: when a restart is due, copies the pages written
    /// since the background pass (a few; on the writer's own connection, so no other write
    /// can come between), which lets that transaction start the WAL over.
    pub(super) fn copy_tail(&self, c: &Connection) {
        if self.tail.swap(false, Ordering::AcqRel) {
            run(c, "PASSIVE");
        }
    }
}

/// A checkpoint in `mode` (`PASSIVE`, `TRUNCATE`); best effort: one that cannot finish now is
/// left to the next.
pub(super) fn run(c: &Connection, mode: &str) {
    let _ = c.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()));
}

/// Pages the connection wrote since the last call (to the WAL, in WAL mode).
pub(super) fn pages_written(c: &Connection) -> u64 {
    let (mut current, mut highest) = (0, 0);
    // SAFETY: the handle is the live connection's own, used on this thread only for the call;
    // sqlite3_db_status reads (and resets) a counter of that connection.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_db_status(
            c.handle(),
            rusqlite::ffi::SQLITE_DBSTATUS_CACHE_WRITE,
            &mut current,
            &mut highest,
            1,
        )
    };
    if rc == 0 { current.max(0) as u64 } else { 0 }
}
