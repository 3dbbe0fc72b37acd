//! `tessera tenant show|update`: tenant settings (default audience, session and token lifetimes,
//! attack protection).

use clap::{Args, Subcommand};
use serde_json::Value;
use tessera_core::manage;

use super::{CliResult, output::Out};
use crate::boot::Install;

#[derive(Subcommand)]
pub enum TenantCmd {
    /// Show the tenant's settings
    Show,
    /// Change the tenant's settings
    Update(Box<UpdateArgs>),
}

#[derive(Args)]
pub struct UpdateArgs {
    /// The API that token requests without `audience` are for ("" clears it)
    #[arg(long)]
    pub default_audience: Option<String>,
    /// ID token lifetime, seconds (default 36000)
    #[arg(long)]
    pub id_token_lifetime: Option<i64>,
    /// Login session absolute lifetime, seconds (default 2592000, 30 days)
    #[arg(long)]
    pub session_lifetime: Option<i64>,
    /// Login session inactivity lifetime, seconds (default 259200, 3 days)
    #[arg(long)]
    pub session_idle_lifetime: Option<i64>,
    /// Refresh token absolute lifetime, seconds (default 2592000)
    #[arg(long)]
    pub refresh_token_lifetime: Option<i64>,
    /// Refresh token inactivity lifetime, seconds (default 1296000)
    #[arg(long)]
    pub refresh_token_idle_lifetime: Option<i64>,
    /// Seconds a rotated refresh token may still be used without revoking its family (default 0)
    #[arg(long)]
    pub refresh_token_reuse_interval: Option<i64>,
    /// Time limit per Action or Rule execution, milliseconds (default 500, at most 5000)
    #[arg(long)]
    pub script_time_limit_ms: Option<i64>,
    /// Brute-force protection: block an email from one IP after failed sign-ins in a row (default true)
    #[arg(long)]
    pub brute_force: Option<bool>,
    /// Failed sign-ins in a row that block an email from one IP (default 10)
    #[arg(long)]
    pub brute_force_max_attempts: Option<i64>,
    /// Suspicious-IP throttling: 429 for an IP after failed sign-ins within 24 hours (default true)
    #[arg(long)]
    pub suspicious_ip_throttling: Option<bool>,
    /// Failed sign-ins from one IP within 24 hours that throttle it (default 100)
    #[arg(long)]
    pub suspicious_ip_max_attempts: Option<i64>,
    /// Token requests per application per minute at /oauth/token; 0 turns the limit off (default 0)
    #[arg(long)]
    pub token_rate_limit: Option<i64>,
    /// Management API (/api/v2) calls per application per minute; 0 turns the limit off (default 1000)
    #[arg(long)]
    pub management_rate_limit: Option<i64>,
    /// Login transactions (sign-ins started at /authorize) one IP may start per 30 minutes before 429 (default 600)
    #[arg(long)]
    pub login_transactions_per_ip: Option<i64>,
    /// IP addresses or networks never counted nor refused by attack protection, comma-separated ("" clears)
    #[arg(long, value_delimiter = ',')]
    pub attack_allowlist: Option<Vec<String>>,
}

pub async fn run(i: &Install, out: &Out, cmd: TenantCmd) -> CliResult {
    match cmd {
        TenantCmd::Show => out.object(&shown(out, i.tenant.management_json())),
        TenantCmd::Update(args) => {
            let UpdateArgs {
                default_audience,
                id_token_lifetime,
                session_lifetime,
                session_idle_lifetime,
                refresh_token_lifetime,
                refresh_token_idle_lifetime,
                refresh_token_reuse_interval,
                script_time_limit_ms,
                brute_force,
                brute_force_max_attempts,
                suspicious_ip_throttling,
                suspicious_ip_max_attempts,
                token_rate_limit,
                management_rate_limit,
                login_transactions_per_ip,
                attack_allowlist,
            } = *args;
            let lifetimes = manage::TenantLifetimes {
                id_token_lifetime,
                session_lifetime,
                session_idle_lifetime,
                refresh_token_lifetime,
                refresh_token_idle_lifetime,
                refresh_token_reuse_interval,
                script_time_limit_ms,
            };
            let attack = manage::AttackSettings {
                brute_force,
                brute_force_max_attempts,
                suspicious_ip_throttling,
                suspicious_ip_max_attempts,
                token_rate_limit_per_minute: token_rate_limit,
                management_rate_limit_per_minute: management_rate_limit,
                login_transactions_per_ip,
                allowlist: attack_allowlist.as_deref().map(super::split_list),
            };
            // One write: a bad value anywhere changes nothing.
            let t = i
                .manager()
                .update_settings(&manage::TenantSettings {
                    default_audience,
                    lifetimes,
                    attack,
                })
                .await?;
            out.object(&shown(out, t.management_json()));
        }
    }
    Ok(())
}

/// "36000 s (10 h)": a duration with its unit, and in a larger one when it divides evenly.
fn duration(n: i64, unit_secs: i64, unit: &str) -> String {
    let secs = n * unit_secs;
    let larger = [(86_400, "days"), (3_600, "h"), (60, "min")]
        .into_iter()
        .find(|(u, _)| *u > unit_secs && secs >= *u && secs % u == 0);
    match larger {
        Some((86_400, _)) if secs == 86_400 => format!("{n} {unit} (1 day)"),
        Some((u, name)) => format!("{n} {unit} ({} {name})", secs / u),
        None => format!("{n} {unit}"),
    }
}

/// The tenant as the text output shows it: lifetimes with their units (the JSON output keeps
/// Auth0's numbers: session lifetimes in hours, token lifetimes in seconds).
fn shown(out: &Out, mut v: Value) -> Value {
    if out.json {
        return v;
    }
    let with_unit = |v: &mut Value, key: &str, unit_secs: i64, unit: &str| {
        if let Some(n) = v.get(key).and_then(Value::as_i64) {
            v[key] = Value::String(duration(n, unit_secs, unit));
        }
    };
    with_unit(&mut v, "id_token_lifetime", 1, "s");
    with_unit(&mut v, "session_lifetime", 3_600, "h");
    with_unit(&mut v, "idle_session_lifetime", 3_600, "h");
    with_unit(&mut v, "script_time_limit_ms", 0, "ms");
    if let Some(rt) = v.get_mut("refresh_token") {
        for key in ["token_lifetime", "idle_token_lifetime", "leeway"] {
            with_unit(rt, key, 1, "s");
        }
    }
    v
}
