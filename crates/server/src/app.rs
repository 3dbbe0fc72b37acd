//! Running the server: open the installation, bind, serve until shutdown. `spawn` is what the
//! integration tests call (port 0, a fresh data folder).

use std::{net::SocketAddr, time::Duration};

use tokio::net::TcpListener;

use crate::{boot, settings::Settings, state::AppState};

pub struct Running {
    pub addr: SocketAddr,
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
    .with_trusted_proxies(trusted_proxies);
    let refresher = state.spawn_refresher(Duration::from_millis(settings.config_poll_ms.max(10)));
    let purger = state.spawn_purger(Duration::from_secs(600));
    let app = crate::routes::router(state);
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
        install.sql.close().await;
    });
    Ok(Running {
        addr,
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
