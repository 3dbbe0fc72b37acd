//! Logs (tracing; filter from `TESSERA_LOG`, JSON lines when `TESSERA_LOG_FORMAT=json`) and the
//! process-wide Prometheus recorder.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::{EnvFilter, fmt};

/// Installs the log subscriber once; `default` is the filter when `TESSERA_LOG` is unset.
///
/// Lines are formatted where they are logged and written by a thread of their own, which takes
/// every line waiting in its queue and writes them with one system call: a request never waits
/// for stderr. The queue holds 128k lines; when it is full, the caller waits rather than lose
/// a line. Keep the returned guard until the process ends: dropping it writes out the lines
/// still queued.
pub fn init_logs(default: &str) -> LogGuard {
    let filter = EnvFilter::try_from_env("TESSERA_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let json = std::env::var("TESSERA_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    // Colours only for a person at a terminal: a file or journald gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (writer, guard) = log_writer::start(std::io::stderr());
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.compact().try_init()
    };
    guard
}

pub use log_writer::LogGuard;

/// The log writer: formatted lines go through a bounded queue to one thread, which writes every
/// line waiting with one system call and flushes when the queue is empty.
mod log_writer {
    use std::{
        io::Write,
        sync::mpsc::{Receiver, SyncSender, sync_channel},
        thread::JoinHandle,
    };

    use tracing_subscriber::fmt::MakeWriter;

    /// Lines the queue holds; beyond that a logging thread waits (no line is ever dropped).
    const QUEUE: usize = 128 * 1024;

    enum Msg {
        Line(Vec<u8>),
        Shutdown,
    }

    /// Hands formatted events to the writer thread.
    #[derive(Clone)]
    pub struct QueueWriter(SyncSender<Msg>);

    /// One event being formatted; queued, whole, when the formatter is done with it.
    pub struct Line {
        buf: Vec<u8>,
        queue: SyncSender<Msg>,
    }

    impl Write for Line {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.buf.extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Drop for Line {
        fn drop(&mut self) {
            if !self.buf.is_empty() {
                // Fails only once the writer has stopped, at the very end of the process.
                let _ = self.queue.send(Msg::Line(std::mem::take(&mut self.buf)));
            }
        }
    }

    impl<'a> MakeWriter<'a> for QueueWriter {
        type Writer = Line;
        fn make_writer(&'a self) -> Line {
            Line {
                buf: Vec::with_capacity(256),
                queue: self.0.clone(),
            }
        }
    }

    /// Keep it until the process ends: dropping it waits until every queued line is written.
    #[must_use = "dropping the guard stops the log writer"]
    pub struct LogGuard {
        queue: SyncSender<Msg>,
        thread: Option<JoinHandle<()>>,
    }

    impl Drop for LogGuard {
        fn drop(&mut self) {
            // The queue is in order: the writer reaches this after every line sent before it.
            if self.queue.send(Msg::Shutdown).is_ok()
                && let Some(t) = self.thread.take()
            {
                let _ = t.join();
            }
        }
    }

    pub fn start<W: Write + Send + 'static>(out: W) -> (QueueWriter, LogGuard) {
        let (tx, rx) = sync_channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("tessera-log".into())
            .spawn(move || write_lines(&rx, out))
            .ok();
        let guard = LogGuard {
            queue: tx.clone(),
            thread,
        };
        (QueueWriter(tx), guard)
    }

    fn write_lines<W: Write>(rx: &Receiver<Msg>, out: W) {
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
        while let Ok(first) = rx.recv() {
            let mut next = Some(first);
            // Everything waiting now goes out together.
            while let Some(msg) = next {
                match msg {
                    Msg::Line(l) => {
                        let _ = out.write_all(&l);
                    }
                    Msg::Shutdown => {
                        let _ = out.flush();
                        return;
                    }
                }
                next = rx.try_recv().ok();
            }
            let _ = out.flush();
        }
        let _ = out.flush();
    }
}

/// How often the recorder folds recorded samples into its summaries.
const METRICS_UPKEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// The Prometheus recorder, installed on first use (one per process, shared by every server
/// the process runs, as in tests). A thread runs its upkeep every 5 s: without it every
/// request's latency sample is kept until the next scrape, and memory grows with traffic on a
/// server nobody scrapes.
pub fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(h) => {
                let upkeep = h.clone();
                let spawned = std::thread::Builder::new()
                    .name("tessera-metrics".into())
                    .spawn(move || {
                        loop {
                            std::thread::sleep(METRICS_UPKEEP);
                            upkeep.run_upkeep();
                        }
                    });
                if let Err(e) = spawned {
                    tracing::warn!(error = %e, "metrics upkeep thread not started: metrics memory grows until scraped");
                }
                Some(h)
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics disabled");
                None
            }
        })
        .clone()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn the_metrics_recorder_has_an_upkeep_thread() {
        assert!(super::metrics_handle().is_some());
        // A new thread names itself once it runs: give it a moment.
        let thread_names = || -> Vec<String> {
            std::fs::read_dir("/proc/self/task")
                .unwrap()
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .collect()
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while !thread_names().iter().any(|n| n.trim() == "tessera-metrics") {
            assert!(
                std::time::Instant::now() < deadline,
                "threads: {:?}",
                thread_names()
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
