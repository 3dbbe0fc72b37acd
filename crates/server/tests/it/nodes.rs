//! Real `tessera serve` processes for the multi-node and crash tests: each node is the release
//! binary's sibling (`CARGO_BIN_EXE_tessera`) on its own port, sharing one database and one
//! master key with the others, and can be killed with SIGKILL.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use tessera_core::keys::MasterKey;
use tessera_store::scratch::ScratchSchema;
pub use tessera_store::scratch::test_database_url as pg_url;

use crate::support::TestApp;

/// The issuer every node of a test installation shares.
pub const ISSUER: &str = "http://tessera.test/";

/// What the nodes of one installation have in common.
pub struct Installation {
    /// Operator fixtures (`user`, `spa`, `cli_json`…) run the CLI against this installation.
    pub operator: TestApp,
    database_url: Option<String>,
    master_key: String,
    scratch: Option<ScratchSchema>,
}

impl Installation {
    /// An installation on a fresh PostgreSQL schema. Panics with one line if PostgreSQL is
    /// unreachable.
    pub async fn postgres(base_url: &str) -> Self {
        let scratch = ScratchSchema::create(base_url)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let url = match &scratch.url {
            tessera_store::DatabaseUrl::Postgres(u) => u.clone(),
            other => unreachable!("{other}"),
        };
        Self::new(Some(url), Some(scratch))
    }

    /// An installation on SQLite in the operator's data folder, made at once (`tessera
    /// migrate`), so the operator's CLI works before any node starts.
    pub fn sqlite() -> Self {
        let inst = Self::new(None, None);
        let out = inst.operator.cli(&["migrate"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        inst
    }

    /// A SQLite data folder with no installation yet (the target of a `db copy`).
    pub fn empty_sqlite() -> Self {
        Self::new(None, None)
    }

    fn new(database_url: Option<String>, scratch: Option<ScratchSchema>) -> Self {
        let master_key = MasterKey::generate().to_base64();
        let mut cli_env = vec![
            ("TESSERA_MASTER_KEY", master_key.clone()),
            ("TESSERA_ISSUER", ISSUER.to_owned()),
        ];
        if let Some(url) = &database_url {
            cli_env.push(("TESSERA_DATABASE_URL", url.clone()));
        }
        Self {
            operator: TestApp {
                server: None,
                dir: tempfile::tempdir().expect("temp dir"),
                http: reqwest::Client::new(),
                cli_env,
            },
            database_url,
            master_key,
            scratch,
        }
    }

    /// The same installation's master key as `other` (a copy of it, moved to this database).
    pub fn sharing_key_with(mut self, other: &Installation) -> Self {
        self.master_key = other.master_key.clone();
        for (k, v) in &mut self.operator.cli_env {
            if *k == "TESSERA_MASTER_KEY" {
                *v = other.master_key.clone();
            }
        }
        self
    }

    /// The database URL nodes and the CLI use.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.clone(),
            None => format!(
                "sqlite://{}",
                self.operator.dir.path().join("tessera.db").display()
            ),
        }
    }

    /// Starts a node and waits until it answers `/healthz`.
    pub async fn start_node(&self, name: &str) -> Node {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("a free port");
            l.local_addr().unwrap().port()
        };
        let log = self.operator.dir.path().join(format!("{name}-{port}.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
        cmd.arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--issuer")
            .arg(ISSUER)
            .env_remove("TESSERA_CONFIG")
            .env_remove("TESSERA_DATABASE_URL")
            .env("TESSERA_DATA_DIR", self.operator.dir.path())
            .env("TESSERA_MASTER_KEY", &self.master_key)
            .env("TESSERA_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("node log file"));
        if let Some(url) = &self.database_url {
            cmd.env("TESSERA_DATABASE_URL", url);
        }
        let child = cmd.spawn().expect("start tessera serve");
        let mut node = Node {
            child,
            base: format!("http://127.0.0.1:{port}/"),
            log,
        };
        node.wait_ready().await;
        node
    }

    /// Drops the PostgreSQL schema, if any.
    pub async fn remove(self) {
        if let Some(s) = self.scratch {
            s.drop().await;
        }
    }
}

pub struct Node {
    child: Child,
    /// `http://127.0.0.1:PORT/`
    pub base: String,
    log: PathBuf,
}

impl Node {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }

    async fn wait_ready(&mut self) {
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the node exited ({status}) before serving: {}",
                    self.log_text()
                );
            }
            if let Ok(r) = http.get(self.url("healthz")).send().await
                && r.status() == 200
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the node did not answer /healthz within 30 s: {}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The node's published JWKS document.
    pub async fn jwks(&self) -> String {
        reqwest::get(self.url(".well-known/jwks.json"))
            .await
            .expect("the JWKS")
            .text()
            .await
            .expect("the JWKS body")
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no shutdown, no flushing, as in a power cut of the process.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}
