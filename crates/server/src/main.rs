//! The `tessera` binary: parse the command line, set up logs, run, exit with the right code.

use clap::FromArgMatches;
use tessera::cli::{Cli, Command, help, run};

/// glibc raises its mmap threshold after a large block is freed, so 19 MiB argon2id blocks would
/// then come from per-thread heap arenas and stay resident: `python3 bench/login_flow.py` saw
/// peak RSS 126 MiB after 100 logins. A fixed threshold keeps large blocks on mmap, returned to
/// the system on free (31 MiB with the hashing threads' reused memory, see `password.rs`).
fn keep_large_allocations_on_mmap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts allocator tuning; called once, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

fn main() {
    keep_large_allocations_on_mmap();
    let cli = match Cli::from_arg_matches(&help::command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let default_log = if matches!(cli.command, Command::Serve { .. }) {
        "info"
    } else {
        "warn"
    };
    let logs = tessera::telemetry::init_logs(default_log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            drop(logs);
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(run(cli));
    drop(runtime);
    // Every buffered log line is written before the process ends (`exit` runs no drops).
    drop(logs);
    if let Err(e) = result {
        eprintln!("error: {}", e.message);
        std::process::exit(e.code);
    }
}
