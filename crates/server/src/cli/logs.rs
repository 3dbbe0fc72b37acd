//! `tessera logs [--type T] [--user ID] [--client ID] [--follow]`: the tenant log events, as
//! `GET /api/v2/logs` answers them; `--follow` keeps printing new ones as they are stored.

use std::time::Duration;

use clap::Args;
use serde_json::Value;
use tessera_core::manage::PageRequest;

use super::{CliResult, output::Out};
use crate::boot::Install;

#[derive(Args)]
pub struct LogsArgs {
    /// Only events of these types (Auth0's codes: f, fp, seccft, sapi, …), comma-separated
    #[arg(long = "type", value_delimiter = ',')]
    types: Vec<String>,
    /// Only events of this user
    #[arg(long)]
    user: Option<String>,
    /// Only events of this application
    #[arg(long)]
    client: Option<String>,
    /// How many of the newest events to show (1 to 100)
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=100))]
    last: u64,
    /// Keep printing new events as they are stored (Ctrl-C stops)
    #[arg(long)]
    follow: bool,
}

impl LogsArgs {
    fn q(&self) -> String {
        let mut terms: Vec<String> = self.types.iter().map(|t| format!("type:{t}")).collect();
        terms.extend(self.user.iter().map(|u| format!("user_id:\"{u}\"")));
        terms.extend(self.client.iter().map(|c| format!("client_id:{c}")));
        terms.join(" AND ")
    }
}

const COLUMNS: &[&str] = &["date", "type", "description", "client_id", "user_id", "ip"];

pub async fn run(i: &Install, out: &Out, args: LogsArgs) -> CliResult {
    let m = i.manager();
    let q = args.q();
    let newest = PageRequest::Offset {
        page: 0,
        per_page: args.last,
        include_totals: false,
    };
    let mut events = m.list_logs(&q, &newest).await?.items;
    events.reverse();
    let mut after = events.last().map(|e| e.log_id.clone());
    let rows: Vec<Value> = events.iter().map(|e| e.management_json()).collect();
    out.list(&rows, COLUMNS);
    if !args.follow {
        return Ok(());
    }
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let page = PageRequest::Checkpoint {
            from: after.clone().or_else(|| Some(String::new())),
            take: 100,
        };
        let found = m.list_logs(&q, &page).await?.items;
        if let Some(last) = found.last() {
            after = Some(last.log_id.clone());
            let rows: Vec<Value> = found.iter().map(|e| e.management_json()).collect();
            out.list(&rows, COLUMNS);
        }
    }
}
