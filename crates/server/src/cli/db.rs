//! `tessera migrate`, `tessera db check` and `tessera db copy`: the database itself. These run
//! before (and without) opening the installation, so they work on an empty or outdated
//! database and never create a tenant or a key.

use clap::Subcommand;
use tessera_store::{DatabaseUrl, SCHEMA_VERSION, SqlStore};

use super::{CliError, CliResult};
use crate::settings::Settings;

#[derive(Subcommand)]
pub enum DbCmd {
    /// Check that the database's schema is the one this binary expects (exit 1 if not)
    Check,
    /// Copy a whole installation (configuration, users, keys, sessions, tokens) into an empty database
    Copy {
        /// Source database URL [default: the configured database]
        #[arg(long)]
        from: Option<String>,
        /// Target database URL, e.g. postgres://postgres@db:5432/tessera or sqlite://PATH
        #[arg(long)]
        to: String,
    },
}

fn parse(url: &str) -> Result<DatabaseUrl, CliError> {
    url.parse().map_err(CliError::usage)
}

fn configured(settings: &Settings) -> Result<DatabaseUrl, CliError> {
    settings.database().map_err(CliError::usage)
}

async fn connect(url: &DatabaseUrl) -> Result<SqlStore, CliError> {
    SqlStore::connect(url)
        .await
        .map_err(|e| CliError::failure(e.to_string()))
}

/// For reading only: a SQLite path that does not exist is a mistake, not a new database.
async fn connect_existing(url: &DatabaseUrl) -> Result<SqlStore, CliError> {
    SqlStore::connect_existing(url).await.map_err(|e| match e {
        tessera_core::StoreError::NotFound(m) => CliError::usage(m),
        other => CliError::failure(other.to_string()),
    })
}

pub async fn migrate(settings: &Settings) -> CliResult {
    let url = configured(settings)?;
    let store = connect(&url).await?;
    let m = store
        .migrate()
        .await
        .map_err(|e| CliError::failure(e.to_string()))?;
    store.close().await;
    if m.from == m.to {
        println!("{url}: schema version {} is up to date", m.to);
    } else {
        println!("{url}: migrated from schema version {} to {}", m.from, m.to);
    }
    // On the embedded default (no --database-url), `migrate` also makes the installation (the default tenant, its
    // signing key and the master key file), as `serve` would, so the CLI can be used at once.
    if settings.database_url.is_none() {
        let install = crate::boot::open(settings, false)
            .await
            .map_err(|e| CliError::failure(e.to_string()))?;
        println!(
            "installation ready: tenant {}, issuer {}",
            install.tenant.id, install.tenant.issuer
        );
        install.sql.close().await;
    }
    Ok(())
}

pub async fn run(settings: &Settings, cmd: DbCmd) -> CliResult {
    match cmd {
        DbCmd::Check => {
            let url = configured(settings)?;
            let store = connect_existing(&url).await?;
            let found = store
                .schema_version()
                .await
                .map_err(|e| CliError::failure(e.to_string()))?;
            store.close().await;
            match found.cmp(&SCHEMA_VERSION) {
                std::cmp::Ordering::Equal => {
                    println!("{url}: schema version {found}, as this binary expects");
                    Ok(())
                }
                std::cmp::Ordering::Less => Err(CliError::failure(format!(
                    "{url}: schema version {found}, this binary needs {SCHEMA_VERSION}: run `tessera migrate` (or start the server, which migrates)"
                ))),
                std::cmp::Ordering::Greater => Err(CliError::failure(format!(
                    "{url}: schema version {found} is newer than this binary's {SCHEMA_VERSION}: upgrade Tessera"
                ))),
            }
        }
        DbCmd::Copy { from, to } => {
            let from = match from {
                Some(u) => parse(&u)?,
                None => configured(settings)?,
            };
            let to = parse(&to)?;
            if from == to {
                return Err(CliError::usage("--from and --to are the same database"));
            }
            let (src, dst) = (connect_existing(&from).await?, connect(&to).await?);
            let copied = tessera_store::copy(&src, &dst).await;
            src.close().await;
            dst.close().await;
            let copied = copied?;
            println!("copied {from} to {to}:");
            for (table, n) in &copied.tables {
                println!("  {table}: {n}");
            }
            println!(
                "Signing keys and secrets stay encrypted under the source's master key: start the new installation with the same key (TESSERA_MASTER_KEY or master.key)."
            );
            Ok(())
        }
    }
}
