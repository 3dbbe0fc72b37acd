//! Start-up of an installation: the database (SQLite in the data folder, or PostgreSQL), the
//! master key (a 0600 file in the data folder, or `TESSERA_MASTER_KEY`), the default tenant
//! and its RS256 key. The first start creates them; later starts, other nodes on the same
//! PostgreSQL database, and CLI commands, reuse them.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
};

use tessera_core::{
    Clock, Store, SystemClock,
    keys::MasterKey,
    manage::{self, ManageError},
    model::{DEFAULT_TENANT, Tenant},
};
use tessera_store::{DatabaseUrl, SqlStore, create_private_dir};

use crate::settings::Settings;

/// An opened installation.
pub struct Install {
    pub store: Arc<dyn Store>,
    pub sql: SqlStore,
    pub master: Arc<MasterKey>,
    pub clock: Arc<dyn Clock>,
    pub tenant: Tenant,
    pub data_dir: PathBuf,
}

impl Install {
    /// The management layer for this installation's tenant, acting as the CLI.
    pub fn manager(&self) -> tessera_core::manage::Manager<'_> {
        tessera_core::manage::Manager::operator(
            self.store.as_ref(),
            self.clock.as_ref(),
            &self.master,
            &self.tenant.id,
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error("data folder {0}: {1}")]
    DataDir(String, std::io::Error),
    #[error("database: {0}")]
    Database(String),
    #[error("master key: {0}")]
    MasterKey(String),
    #[error("{0}")]
    Store(#[from] tessera_core::StoreError),
    #[error("{0}")]
    Admin(#[from] ManageError),
}

/// `serving`: the server is starting. On SQLite it may replace an issuer that was only a
/// default with its listen address; nodes sharing PostgreSQL never do, or they would take turns
/// rewriting it: they are given one `--issuer`.
pub async fn open(settings: &Settings, serving: bool) -> Result<Install, BootError> {
    let dir = &settings.data_dir;
    let url = settings.database().map_err(BootError::Database)?;
    let embedded = matches!(url, DatabaseUrl::Sqlite(_));
    // The folder holds the SQLite file and the master key file; a PostgreSQL node given its
    // master key in the environment needs no folder at all.
    if embedded || settings.master_key.is_none() {
        create_private_dir(dir).map_err(|e| BootError::DataDir(dir.display().to_string(), e))?;
    }
    let sql = SqlStore::open(&url).await?;
    if let DatabaseUrl::Sqlite(file) = &url {
        let beside = |suffix: &str| {
            let mut name = file.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        };
        for p in [dir.clone(), file.clone(), beside("-wal"), beside("-shm")] {
            warn_if_readable_by_others(&p);
        }
    }
    let store: Arc<dyn Store> = Arc::new(sql.clone());
    let installed = store.tenant(DEFAULT_TENANT).await?.is_some();
    let (master, created) = load_master_key(
        settings.master_key.as_deref(),
        &dir.join("master.key"),
        installed,
    )?;
    if created && !embedded {
        tracing::warn!(
            path = %dir.join("master.key").display(),
            "created the master key for a new PostgreSQL installation: give every other node the same key (TESSERA_MASTER_KEY)"
        );
    }
    let master = Arc::new(master);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let tenant = manage::ensure_tenant(
        store.as_ref(),
        &master,
        clock.as_ref(),
        DEFAULT_TENANT,
        settings.issuer.as_deref(),
        &settings.default_issuer(),
        serving && embedded,
    )
    .await?;
    if !embedded && tenant.issuer_is_default && settings.issuer.is_none() {
        tracing::warn!(issuer = %tenant.issuer, "no issuer is configured: set TESSERA_ISSUER to the public URL every node serves, the same on all of them");
    }
    Ok(Install {
        store,
        sql,
        master,
        clock,
        tenant,
        data_dir: dir.clone(),
    })
}

/// From the setting if given; else from the file, created (mode 0600, atomically) if missing
/// and the database holds no installation yet. An installed database without its key is an
/// error, never a new key. `true` with the key when it was just created.
fn load_master_key(
    configured: Option<&str>,
    file: &Path,
    installed: bool,
) -> Result<(MasterKey, bool), BootError> {
    if let Some(b64) = configured {
        return MasterKey::from_base64(b64)
            .map(|k| (k, false))
            .map_err(|e| BootError::MasterKey(format!("TESSERA_MASTER_KEY: {e}")));
    }
    let read = |p: &Path| -> Result<MasterKey, BootError> {
        let text = fs::read_to_string(p)
            .map_err(|e| BootError::MasterKey(format!("{}: {e}", p.display())))?;
        MasterKey::from_base64(&text)
            .map_err(|e| BootError::MasterKey(format!("{}: {e}", p.display())))
    };
    if file.exists() {
        warn_if_readable_by_others(file);
        return read(file).map(|k| (k, false));
    }
    if installed {
        return Err(BootError::MasterKey(format!(
            "{} is missing but the database exists: set TESSERA_MASTER_KEY to the installation's key, or restore the file",
            file.display()
        )));
    }
    // Write a temporary file, then hard-link it into place: the link fails if another process
    // won the race, and nobody ever reads a half-written key.
    let key = MasterKey::generate();
    let tmp = file.with_extension(format!("tmp.{}", std::process::id()));
    let io = |e: std::io::Error| BootError::MasterKey(format!("{}: {e}", file.display()));
    {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&tmp).map_err(io)?;
        f.write_all(key.to_base64().as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    let linked = fs::hard_link(&tmp, file);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            tracing::info!(path = %file.display(), "created the master key; back it up: without it the signing keys cannot be read");
            Ok((key, true))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(file).map(|k| (k, false)),
        Err(e) => Err(io(e)),
    }
}

/// The data folder, the database files and the master key hold password hashes, personal data
/// and the key to the signing keys: a warning for each that other users may open.
fn warn_if_readable_by_others(file: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = fs::metadata(file)
            && meta.permissions().mode() & 0o077 != 0
        {
            let fix = if meta.is_dir() {
                "chmod 700"
            } else {
                "chmod 600"
            };
            tracing::warn!(path = %file.display(), "readable by other users, and it holds secrets or personal data: {fix} it");
        }
    }
}
