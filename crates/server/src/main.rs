//! The `tessera` binary: parse the command line, set up logs, run, exit with the right code.

use clap::Parser;
use tessera::cli::{Cli, Command, run};

fn main() {
    let cli = Cli::parse();
    let default_log = if matches!(cli.command, Command::Serve { .. }) {
        "info"
    } else {
        "warn"
    };
    tessera::telemetry::init_logs(default_log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(cli)) {
        eprintln!("error: {}", e.message);
        std::process::exit(e.code);
    }
}
