//! The batched log writer. A logged line is appended to a shared buffer under a lock (a copy,
//! no system call, no thread switch); a thread of its own writes the buffer out at most every
//! 20 ms, at once when 64 KiB were waiting, in one system call. No line is dropped: when the
//! output cannot keep up and 8 MiB are waiting, the logger waits for room. Dropping the
//! [`LogGuard`] (a clean shutdown) writes everything still buffered before it returns, and a
//! panic writes the buffer out before its own message.

use std::{
    io::Write,
    sync::{Arc, Condvar, Mutex, MutexGuard},
    thread::JoinHandle,
    time::Duration,
};

use tracing_subscriber::fmt::MakeWriter;

/// How long lines gather before they are written (the delay a line can have in the output).
const GATHER: Duration = Duration::from_millis(20);
/// Waiting lines that are written at once, without the gathering delay.
const HIGH_WATER: usize = 64 * 1024;
/// Waiting lines beyond which a logger waits for the writer (never a dropped line).
const CAP: usize = 8 * 1024 * 1024;

#[derive(Default)]
struct State {
    buf: Vec<u8>,
    /// The writer thread waits for the first line (so a logger must wake it).
    idle: bool,
    /// Loggers waiting for room.
    blocked: usize,
    stopping: bool,
    /// Once the writer has stopped, lines are written where they are logged.
    stopped: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    room: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn append(&self, data: &[u8]) {
        let mut st = self.lock();
        while st.buf.len() >= CAP && !st.stopped {
            st.blocked += 1;
            st = self.room.wait(st).unwrap_or_else(|e| e.into_inner());
            st.blocked -= 1;
        }
        if st.stopped {
            let _ = std::io::stderr().write_all(data);
            return;
        }
        st.buf.extend_from_slice(data);
        if st.idle {
            st.idle = false;
            self.wake.notify_one();
        }
    }
}

/// Hands each formatted event to the shared buffer.
#[derive(Clone)]
pub struct BatchWriter(Arc<Shared>);

/// One event's writer (the formatter writes an event with one `write_all`).
pub struct EventWriter<'a>(&'a Shared);

impl Write for EventWriter<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.append(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = EventWriter<'a>;
    fn make_writer(&'a self) -> EventWriter<'a> {
        EventWriter(&self.0)
    }
}

/// Keep it until the process ends: dropping it writes every buffered line, then stops the
/// writer thread.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        {
            let mut st = self.shared.lock();
            st.stopping = true;
            self.shared.wake.notify_one();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // Without a writer thread (it could not start), nothing was buffered for long; write
        // what there is.
        let mut st = self.shared.lock();
        st.stopped = true;
        let rest = std::mem::take(&mut st.buf);
        let _ = std::io::stderr().write_all(&rest);
        self.shared.room.notify_all();
    }
}

/// Starts the writer thread over `out`.
pub fn start<W: Write + Send + 'static>(out: W) -> (BatchWriter, LogGuard) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        wake: Condvar::new(),
        room: Condvar::new(),
    });
    let writer = shared.clone();
    let thread = std::thread::Builder::new()
        .name("tessera-log".into())
        .spawn(move || write_out(&writer, out))
        .ok();
    if thread.is_none() {
        shared.lock().stopped = true;
    }
    let on_panic = shared.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // The lines before the panic first (a panic while the lock is held skips them).
        if let Ok(mut st) = on_panic.state.try_lock() {
            let lines = std::mem::take(&mut st.buf);
            let _ = std::io::stderr().write_all(&lines);
        }
        previous(info);
    }));
    (BatchWriter(shared.clone()), LogGuard { shared, thread })
}

fn write_out<W: Write>(shared: &Shared, mut out: W) {
    let mut spare = Vec::new();
    loop {
        let mut st = shared.lock();
        while st.buf.is_empty() && !st.stopping {
            st.idle = true;
            st = shared.wake.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        st.idle = false;
        if st.buf.is_empty() {
            return; // stopping, and everything is written
        }
        if !st.stopping && st.buf.len() < HIGH_WATER {
            // Let lines gather: one write for all of them.
            drop(st);
            std::thread::sleep(GATHER);
            st = shared.lock();
        }
        std::mem::swap(&mut st.buf, &mut spare);
        if st.blocked > 0 {
            shared.room.notify_all();
        }
        drop(st);
        let _ = out.write_all(&spare);
        let _ = out.flush();
        spare.clear();
        if spare.capacity() > HIGH_WATER * 4 {
            spare = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// An output that takes its time, like a pipe nobody reads quickly.
    #[derive(Clone, Default)]
    struct Slow(Arc<Mutex<Vec<u8>>>);

    impl Write for Slow {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            std::thread::sleep(Duration::from_millis(2));
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_once_in_order_by_the_time_the_guard_is_dropped() {
        let out = Slow::default();
        let (writer, guard) = start(out.clone());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..5_000 {
                        let line = format!("thread {t} line {i}\n");
                        writer.make_writer().write_all(line.as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 20_000);
        for t in 0..4 {
            let mine: Vec<usize> = text
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("thread {t} line ")))
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(mine, (0..5_000).collect::<Vec<_>>(), "thread {t}'s lines");
        }
    }

    #[test]
    fn lines_are_written_without_a_shutdown_too() {
        let out = Slow::default();
        let (writer, _guard) = start(out.clone());
        writer.make_writer().write_all(b"hello\n").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while out.0.lock().unwrap().is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the line was never written"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(&*out.0.lock().unwrap(), b"hello\n");
    }
}
