//! A node's shared state: the store, the master key, and a cached snapshot of the tenant, its
//! key ring, scripts, applications, APIs and client grants. A background task polls the tenant's `config_version` and reloads the
//! snapshot when it moves, so a change made by the CLI or another node is served within
//! `config_poll_ms` (250 ms by default).

use std::{
    sync::{Arc, RwLock},
    time::Duration,
};

use tessera_core::{Clock, Store, keys::KeyRing, keys::MasterKey, model::Tenant};

/// The tenant and key ring as of one config version.
pub struct Snapshot {
    pub tenant: Tenant,
    pub keys: KeyRing,
    /// Actions and Rules, decrypted and in run order.
    pub scripts: tessera_core::context::ScriptSet,
    /// Applications, APIs and client grants.
    pub config: tessera_core::context::ConfigCache,
    pub version: i64,
}

/// How long tenant log events are kept: 30 days, as on Auth0's paid plans.
pub const LOG_RETENTION: i64 = 30 * 86_400;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub master: Arc<MasterKey>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// The hosted pages (login, errors, form_post), with the tenant's template overrides.
    pub pages: Arc<crate::web::Pages>,
    /// Runs Actions and Rules.
    pub engine: Arc<tessera_actions::Engine>,
    /// Proxies whose `X-Forwarded-For` names the client (the `trusted_proxies` setting).
    pub trusted_proxies: Arc<[tessera_core::net::IpNet]>,
    /// Tenant log events, written in batches off the request path.
    pub logs: crate::tenant_logs::TenantLogs,
    snapshot: Arc<RwLock<Arc<Snapshot>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Store(#[from] tessera_core::StoreError),
    #[error(transparent)]
    Keys(#[from] tessera_core::keys::KeyRingError),
    #[error("tenant {0} does not exist")]
    NoTenant(String),
    #[error("scripts: {0}")]
    Scripts(String),
}

async fn load_snapshot(
    store: &dyn Store,
    master: &MasterKey,
    clock: &dyn Clock,
    tenant_id: &str,
) -> Result<Snapshot, LoadError> {
    // Read the version first: a change racing with this load is picked up by the next poll.
    let version = store.config_version(tenant_id).await?;
    let tenant = store
        .tenant(tenant_id)
        .await?
        .ok_or_else(|| LoadError::NoTenant(tenant_id.to_owned()))?;
    let records = store.signing_keys(tenant_id).await?;
    let keys = KeyRing::load(&records, master, clock.now())?;
    let scripts = tessera_core::context::ScriptSet::load(store, master, tenant_id)
        .await
        .map_err(|e| LoadError::Scripts(e.cause.unwrap_or(e.description)))?;
    let config = tessera_core::context::ConfigCache::load(store, tenant_id).await?;
    Ok(Snapshot {
        tenant,
        keys,
        scripts,
        config,
        version,
    })
}

impl AppState {
    pub async fn new(
        store: Arc<dyn Store>,
        master: Arc<MasterKey>,
        clock: Arc<dyn Clock>,
        tenant_id: &str,
        metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    ) -> Result<Self, LoadError> {
        let snap = load_snapshot(store.as_ref(), &master, clock.as_ref(), tenant_id).await?;
        Ok(Self {
            logs: crate::tenant_logs::TenantLogs::start(store.clone()),
            store,
            master,
            clock,
            metrics,
            pages: Arc::new(crate::web::Pages::new(None)),
            engine: Arc::new(tessera_actions::Engine::default()),
            trusted_proxies: Arc::new([]),
            snapshot: Arc::new(RwLock::new(Arc::new(snap))),
        })
    }

    /// Uses the templates in `dir` (when it exists) in place of the embedded ones.
    pub fn with_template_overrides(mut self, dir: std::path::PathBuf) -> Self {
        self.pages = Arc::new(crate::web::Pages::new(Some(dir)));
        self
    }

    /// Believes `X-Forwarded-For` from these proxies.
    /// With `on = false`, tenant log events are not stored (the `tenant_logs` setting).
    pub fn with_tenant_logs(mut self, on: bool) -> Self {
        if !on {
            self.logs = self.logs.off();
        }
        self
    }

    pub fn with_trusted_proxies(mut self, proxies: Vec<tessera_core::net::IpNet>) -> Self {
        self.trusted_proxies = proxies.into();
        self
    }

    /// The borrowed context core's protocol functions take.
    pub fn ctx<'a>(&'a self, snap: &'a Snapshot) -> tessera_core::context::Ctx<'a> {
        tessera_core::context::Ctx {
            store: self.store.as_ref(),
            clock: self.clock.as_ref(),
            keys: &snap.keys,
            master: &self.master,
            tenant: &snap.tenant,
            hooks: Some(self.engine.as_ref()),
            request: Default::default(),
            scripts: Some(&snap.scripts),
            config: Some(&snap.config),
        }
    }

    /// Deletes expired artifacts and attack-protection counters every `every`, keeping consumed codes and tokens for an hour
    /// past their expiry so a late replay is still recognised as reuse.
    pub fn spawn_purger(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let st = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                match st.store.purge_artifacts(st.clock.now() - 3600).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(purged = n, "expired artifacts purged"),
                    Err(e) => tracing::warn!(error = %e, "purging expired artifacts failed"),
                }
                let month_ago_ms = (st.clock.now() - LOG_RETENTION) * 1000;
                match st.store.purge_logs(month_ago_ms).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(purged = n, "tenant log events past retention purged"),
                    Err(e) => tracing::warn!(error = %e, "purging tenant log events failed"),
                }
                match st.store.purge_counters(st.clock.now()).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::debug!(purged = n, "expired attack-protection counters purged")
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "purging attack-protection counters failed")
                    }
                }
            }
        })
    }

    /// The current tenant and key ring (cheap: an `Arc` clone).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reloads if the stored config version differs from the cached one, or always with `force`.
    pub async fn refresh(&self, force: bool) -> Result<bool, LoadError> {
        let current = self.snapshot();
        let version = self.store.config_version(&current.tenant.id).await?;
        if version == current.version && !force {
            return Ok(false);
        }
        let snap = load_snapshot(
            self.store.as_ref(),
            &self.master,
            self.clock.as_ref(),
            &current.tenant.id,
        )
        .await?;
        if version != current.version {
            tracing::info!(
                version = snap.version,
                "configuration changed; reloaded tenant and keys"
            );
        }
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snap);
        Ok(true)
    }

    /// Polls for configuration changes until the returned task is aborted. Also reloads once an
    /// hour regardless, so rotated-out keys leave the JWKS when their time is up.
    pub fn spawn_refresher(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_full = tokio::time::Instant::now();
            loop {
                tick.tick().await;
                let force = last_full.elapsed() > Duration::from_secs(3600);
                if force {
                    last_full = tokio::time::Instant::now();
                }
                let result = state.refresh(force).await;
                if let Err(e) = result {
                    tracing::warn!(error = %e, "configuration refresh failed; serving the cached configuration");
                }
            }
        })
    }
}
