//! Settings, layered with figment: defaults → TOML file (`--config` / `TESSERA_CONFIG`) →
//! `TESSERA_*` environment → command-line flags.

use std::{net::SocketAddr, path::PathBuf};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};
use tessera_store::DatabaseUrl;

#[derive(Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Where the SQLite database and the master key file live.
    pub data_dir: PathBuf,
    /// `postgres://…` (or `sqlite://PATH`); when unset, SQLite at `DATA_DIR/tessera.db`.
    pub database_url: Option<String>,
    /// The address `serve` listens on.
    pub listen: SocketAddr,
    /// When set, `/metrics` is served on this address only (a private port), not on `listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// The issuer; when unset, the stored one (or, on first start, `http://LISTEN/`).
    pub issuer: Option<String>,
    /// The master key (base64 of 32 bytes); when unset, `DATA_DIR/master.key`.
    pub master_key: Option<String>,
    /// How often (ms) a node checks the database for configuration changes.
    pub config_poll_ms: u64,
    /// Reverse proxies (IP addresses or networks such as `10.0.0.0/8`) whose
    /// `X-Forwarded-For` names the client. Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<String>,
    /// Store tenant log events (`/api/v2/logs`). Off only to measure what writing them costs.
    pub tenant_logs: bool,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database().ok())
            .field("listen", &self.listen)
            .field("metrics_listen", &self.metrics_listen)
            .field("issuer", &self.issuer)
            .field(
                "master_key",
                &self.master_key.as_ref().map(|_| "<redacted>"),
            )
            .field("config_poll_ms", &self.config_poll_ms)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("tenant_logs", &self.tenant_logs)
            .finish()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("tessera-data"),
            database_url: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            metrics_listen: None,
            issuer: None,
            master_key: None,
            config_poll_ms: 250,
            trusted_proxies: Vec::new(),
            tenant_logs: true,
        }
    }
}

/// What flags can set; `None` leaves the lower layers alone.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<SocketAddr>,
}

impl Settings {
    pub fn load(config_file: Option<&std::path::Path>, flags: &Overrides) -> Result<Self, String> {
        let mut fig = Figment::from(Serialized::defaults(Settings::default()));
        let file = config_file
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("TESSERA_CONFIG").map(PathBuf::from));
        if let Some(path) = file {
            if !path.exists() {
                return Err(format!("config file {} does not exist", path.display()));
            }
            fig = fig.merge(Toml::file(path));
        }
        fig.merge(Env::prefixed("TESSERA_").only(&[
            "data_dir",
            "database_url",
            "listen",
            "metrics_listen",
            "issuer",
            "master_key",
            "config_poll_ms",
            "trusted_proxies",
            "tenant_logs",
        ]))
        .merge(Serialized::defaults(flags))
        .extract()
        .map_err(|e| format!("invalid settings: {e}"))
    }

    /// The database this installation runs on.
    pub fn database(&self) -> Result<DatabaseUrl, String> {
        match &self.database_url {
            Some(url) => url.parse(),
            None => Ok(DatabaseUrl::Sqlite(self.data_dir.join("tessera.db"))),
        }
    }

    /// The issuer a fresh install gets when none is configured.
    pub fn default_issuer(&self) -> String {
        let mut addr = self.listen;
        if addr.ip().is_unspecified() {
            addr.set_ip([127, 0, 0, 1].into());
        }
        format!("http://{addr}/")
    }
}
