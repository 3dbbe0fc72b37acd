//! Running the server: open the installation, bind, serve until shutdown. `spawn` is what the
//! integration tests call (port 0, a fresh data folder).

use std::{net::SocketAddr, time::Duration};

use tokio::net::TcpListener;

use crate::{boot, settings::Settings, state::AppState};

pub struct Running {
    pub addr: SocketAddr,
    /// Where `/metrics` is served when `metrics_listen` is set.
    pub metrics_addr: Option<SocketAddr>,
    pub issuer: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, finishes in-flight requests, and waits for the server to end.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.addr, path.trim_start_matches('/'))
    }
}

/// Binds `settings.listen` (port 0 picks one) and serves in the background. When no issuer is
/// configured on a fresh install, the bound address becomes the issuer.
pub async fn spawn(mut settings: Settings) -> Result<Running, String> {
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    settings.listen = addr;
    let metrics_listener = match settings.metrics_listen {
        Some(a) => Some(
            TcpListener::bind(a)
                .await
                .map_err(|e| format!("cannot listen on {a} (--metrics-listen): {e}"))?,
        ),
        None => None,
    };
    let metrics_addr = match &metrics_listener {
        Some(l) => Some(l.local_addr().map_err(|e| e.to_string())?),
        None => None,
    };
    let trusted_proxies = crate::web::trusted_proxies(&settings.trusted_proxies)?;
    let install = boot::open(&settings, true)
        .await
        .map_err(|e| e.to_string())?;
    let state = AppState::new(
        install.store.clone(),
        install.master.clone(),
        install.clock.clone(),
        &install.tenant.id,
        crate::telemetry::metrics_handle(),
    )
    .await
    .map_err(|e| e.to_string())?
    .with_template_overrides(install.data_dir.join("templates").join(&install.tenant.id))
    .with_trusted_proxies(trusted_proxies)
    .with_tenant_logs(settings.tenant_logs);
    let refresher = state.spawn_refresher(Duration::from_millis(settings.config_poll_ms.max(10)));
    let purger = state.spawn_purger(Duration::from_secs(600));
    let metrics_task = metrics_listener.map(|l| {
        let app = crate::routes::metrics_router(state.clone());
        if let Some(addr) = metrics_addr {
            tracing::info!(%addr, "metrics are served on their own listener");
        }
        tokio::spawn(async move {
            if let Err(e) = axum::serve(l, app).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        })
    });
    let logs = state.logs.clone();
    let app = crate::routes::router(state, metrics_addr.is_some());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let issuer = install.tenant.issuer.clone();
    tracing::info!(%addr, %issuer, database = %settings.database().map(|d| d.to_string()).unwrap_or_default(), "tessera is listening");
    let task = tokio::spawn(async move {
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx.await;
        })
        .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "server stopped with an error");
        }
        refresher.abort();
        purger.abort();
        if let Some(t) = metrics_task {
            t.abort();
        }
        // Tenant log events still queued are stored before the database closes.
        logs.close().await;
        if let Some(b) = install.sql.write_batches() {
            let (commits, writes, largest, sizes) = b.snapshot();
            tracing::info!(
                commits,
                writes,
                largest,
                "1" = sizes[0],
                "2-3" = sizes[1],
                "4-7" = sizes[2],
                "8-15" = sizes[3],
                "16-31" = sizes[4],
                "32+" = sizes[5],
                "SQLite group commit since start: writes per transaction"
            );
        }
        install.sql.close().await;
    });
    Ok(Running {
        addr,
        metrics_addr,
        issuer,
        shutdown: Some(tx),
        task,
    })
}

/// `tessera serve`: run until Ctrl-C or SIGTERM.
pub async fn serve(settings: Settings) -> Result<(), String> {
    let running = spawn(settings).await?;
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
