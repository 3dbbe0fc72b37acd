//! The command line, mirroring the Auth0 CLI's nouns: `serve`, `apis`, `apps`, `users`, `keys`.
//! Commands work on the installation's database directly; a running server sees their changes
//! within a second. Operator mistakes exit with code 2 and one line on stderr.

mod apis;
mod apps;
mod db;
pub mod help;
mod keys;
mod limits;
mod logs;
mod output;
mod roles;
mod scripts;
mod tenant;
mod users;

use std::{net::SocketAddr, path::PathBuf};

use clap::{Parser, Subcommand};
use tessera_core::manage::ManageError;

use crate::{
    boot,
    settings::{Overrides, Settings},
};

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "An Auth0-compatible OAuth 2.0 / OpenID Connect identity provider"
)]
pub struct Cli {
    /// Data folder (SQLite database and master key) [env: TESSERA_DATA_DIR] [default: ./tessera-data]
    #[arg(long, global = true, help_heading = "Global options")]
    pub data_dir: Option<PathBuf>,
    /// Database: postgres://USER@HOST:PORT/DB or sqlite://PATH [env: TESSERA_DATABASE_URL] [default: SQLite in the data folder]
    #[arg(long, global = true, help_heading = "Global options")]
    pub database_url: Option<String>,
    /// Settings file (TOML) [env: TESSERA_CONFIG]
    #[arg(long, global = true, help_heading = "Global options")]
    pub config: Option<PathBuf>,
    /// Print objects as JSON, shaped like the Auth0 Management API's
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server
    Serve {
        /// Address to listen on [env: TESSERA_LISTEN] [default: 127.0.0.1:3000]
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Issuer URL, e.g. https://id.example.com/ [env: TESSERA_ISSUER]
        #[arg(long)]
        issuer: Option<String>,
        /// Serve /metrics on this address only, not on --listen, e.g. 127.0.0.1:9100 [env: TESSERA_METRICS_LISTEN]
        #[arg(long)]
        metrics_listen: Option<SocketAddr>,
        /// The server prints no objects: --json does nothing here (hidden)
        #[arg(long, hide = true)]
        json: bool,
    },
    /// Manage APIs (resource servers): the audiences of JWT access tokens
    Apis {
        #[command(subcommand)]
        cmd: apis::ApisCmd,
    },
    /// Manage applications (clients) and their grants to APIs
    Apps {
        #[command(subcommand)]
        cmd: apps::AppsCmd,
    },
    /// Manage users of the database connection
    Users {
        #[command(subcommand)]
        cmd: users::UsersCmd,
    },
    /// Manage Actions: JavaScript that shapes tokens at login and client-credentials time
    Actions {
        #[command(subcommand)]
        cmd: scripts::ActionsCmd,
    },
    /// Manage Rules (legacy): function (user, context, callback), run before Actions
    Rules {
        #[command(subcommand)]
        cmd: scripts::RulesCmd,
    },
    /// Manage roles (RBAC): sets of API permissions assigned to users
    Roles {
        #[command(subcommand)]
        cmd: roles::RolesCmd,
    },
    /// Show or change tenant settings
    Tenant {
        #[command(subcommand)]
        cmd: tenant::TenantCmd,
    },
    /// Manage signing keys
    Keys {
        #[command(subcommand)]
        cmd: keys::KeysCmd,
    },
    /// Show the tenant log events (sign-in failures, token exchanges, Management API changes)
    Logs(logs::LogsArgs),
    /// Bring the database schema up to date (`serve` also does on start)
    Migrate,
    /// Time the raw operations on this machine (signing per algorithm with this installation's
    /// keys, one password check): the ceiling for token and login rates
    BenchLimits {
        /// Seconds spent timing each operation
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
    },
    /// Check the database's schema, or copy a whole installation between databases
    Db {
        #[command(subcommand)]
        cmd: db::DbCmd,
    },
}

/// A failed command: the message and the exit code (2 for the operator's mistake, 1 otherwise).
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub code: i32,
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 2,
        }
    }

    pub fn failure(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 1,
        }
    }
}

/// The flag that sets a management field: `--name` for `name`, `--type` for `app_type`, ….
fn flag(field: &str) -> String {
    let renamed = match field {
        "app_type" => "type",
        "allowed_logout_urls" => "logout-urls",
        "code" => "file",
        "token_rate_limit_per_minute" => "token-rate-limit",
        "management_rate_limit_per_minute" => "management-rate-limit",
        "allowlist" => "attack-allowlist",
        other => return format!("--{}", other.replace('_', "-")),
    };
    format!("--{renamed}")
}

impl From<ManageError> for CliError {
    fn from(e: ManageError) -> Self {
        match e {
            ManageError::Invalid {
                field: Some(field),
                message,
            } => Self::usage(tessera_core::manage::field_text(
                Some(&flag(field)),
                &message,
            )),
            ManageError::Invalid { field: None, .. }
            | ManageError::NotFound(_)
            | ManageError::Conflict(_)
            | ManageError::InsufficientScope(_)
            | ManageError::Unauthorized(_)
            | ManageError::Forbidden(_) => Self::usage(e.to_string()),
            ManageError::Failed(_)
            | ManageError::Store(_)
            | ManageError::Keys(_)
            | ManageError::WrongMasterKey => Self::failure(e.to_string()),
        }
    }
}

impl From<tessera_core::StoreError> for CliError {
    fn from(e: tessera_core::StoreError) -> Self {
        ManageError::from(e).into()
    }
}

pub type CliResult = Result<(), CliError>;

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> CliResult {
    let mut flags = Overrides {
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
        ..Default::default()
    };
    if let Command::Serve {
        listen,
        issuer,
        metrics_listen,
        ..
    } = &cli.command
    {
        flags.listen = *listen;
        flags.issuer = issuer.clone();
        flags.metrics_listen = *metrics_listen;
    }
    let settings = Settings::load(cli.config.as_deref(), &flags).map_err(CliError::usage)?;
    match cli.command {
        Command::Serve { .. } => {
            return crate::app::serve(settings).await.map_err(CliError::failure);
        }
        Command::Migrate => return db::migrate(&settings).await,
        Command::Db { cmd } => return db::run(&settings, cmd).await,
        _ => {}
    }
    refuse_missing_installation(&settings)?;
    let install = boot::open(&settings, false)
        .await
        .map_err(|e| CliError::failure(e.to_string()))?;
    let out = output::Out { json: cli.json };
    match cli.command {
        Command::Serve { .. } | Command::Migrate | Command::Db { .. } => Ok(()),
        Command::Apis { cmd } => apis::run(&install, &out, cmd).await,
        Command::Apps { cmd } => apps::run(&install, &out, cmd).await,
        Command::Users { cmd } => users::run(&install, &out, cmd).await,
        Command::Roles { cmd } => roles::run(&install, &out, cmd).await,
        Command::Logs(args) => logs::run(&install, &out, args).await,
        Command::Actions { cmd } => scripts::run_actions(&install, &out, cmd).await,
        Command::Rules { cmd } => scripts::run_rules(&install, &out, cmd).await,
        Command::Keys { cmd } => keys::run(&install, &out, cmd).await,
        Command::Tenant { cmd } => tenant::run(&install, &out, cmd).await,
        Command::BenchLimits { seconds } => limits::run(&install, &out, seconds).await,
    }
}

/// Every command but `serve` and `migrate` works on an existing installation: run from the
/// wrong folder, it must not make a new, empty one and answer "(none)".
fn refuse_missing_installation(settings: &Settings) -> CliResult {
    if let Ok(tessera_store::DatabaseUrl::Sqlite(file)) = settings.database()
        && !file.exists()
    {
        return Err(CliError::usage(format!(
            "no installation in {}: pass --data-dir or set TESSERA_DATA_DIR to the folder `tessera serve` uses (`tessera serve` or `tessera migrate` creates one)",
            settings.data_dir.display()
        )));
    }
    Ok(())
}

/// Splits `a,b,c` (and repeated flags) into a list.
pub fn split_list(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod help_tests {
    use super::help::command;

    /// Every leaf command's path (`apps create`) with the command.
    fn leaves(cmd: &clap::Command, path: &str, out: &mut Vec<(String, clap::Command)>) {
        let mut subs = cmd.get_subcommands().peekable();
        if subs.peek().is_none() {
            out.push((path.trim().to_owned(), cmd.clone()));
        }
        for sc in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            leaves(sc, &format!("{path} {}", sc.get_name()), out);
        }
    }

    #[test]
    fn every_command_and_argument_explains_itself_with_an_example() {
        let mut cmd = command();
        cmd.build();
        let mut all = Vec::new();
        leaves(&cmd, "", &mut all);
        let mut missing = Vec::new();
        for (path, c) in &all {
            if c.get_about().is_none() {
                missing.push(format!("{path}: no description"));
            }
            let example = c
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            if !example.contains("Example:") || !example.contains(&format!("tessera {path}")) {
                missing.push(format!("{path}: no example"));
            }
            for a in c.get_arguments() {
                let id = a.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                if a.get_help().is_none() && a.get_long_help().is_none() {
                    missing.push(format!("{path}: argument {id} has no description"));
                }
            }
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }

    #[test]
    fn global_options_are_listed_apart_and_serve_offers_no_json() {
        let mut cmd = command();
        cmd.build();
        let apps_list = cmd
            .find_subcommand("apps")
            .and_then(|a| a.find_subcommand("list"))
            .unwrap();
        for global in ["data_dir", "database_url", "config", "json"] {
            let a = apps_list
                .get_arguments()
                .find(|a| a.get_id() == global)
                .unwrap();
            assert_eq!(a.get_help_heading(), Some("Global options"), "{global}");
        }
        let mut serve = cmd.find_subcommand("serve").unwrap().clone();
        let help = serve.render_help().to_string();
        assert!(!help.contains("--json"), "{help}");
        assert!(help.contains("--data-dir"), "{help}");
    }
}
