//! Logs (tracing; filter from `TESSERA_LOG`, JSON lines when `TESSERA_LOG_FORMAT=json`) and the
//! process-wide Prometheus recorder.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::{EnvFilter, fmt};

mod log_writer;

pub use log_writer::LogGuard;

/// Installs the log subscriber once; `default` is the filter when `TESSERA_LOG` is unset.
/// Lines go to stderr through the batched writer (`log_writer`): a request never waits for a
/// system call to log. Keep the guard until the process ends: dropping it writes every line
/// still buffered.
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
