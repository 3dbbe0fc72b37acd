//! Operations: `GET /` (a page naming the tenant, its discovery document and keys), `GET /healthz` (the database answers; the `Tessera-Config` header says whether
//! this node serves the latest configuration), `GET /metrics` (Prometheus text) and the
//! middleware that counts requests by route and status.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::state::AppState;

/// `GET /`: what this server is, for whoever opens its address in a browser.
pub async fn home(State(st): State<AppState>) -> Response {
    let snap = st.snapshot();
    let t = &snap.tenant;
    st.pages.page(
        StatusCode::OK,
        "home.html",
        minijinja::context! {
            tenant => t.id,
            issuer => t.issuer,
            discovery => t.endpoint(".well-known/openid-configuration"),
            jwks => t.endpoint(".well-known/jwks.json"),
        },
    )
}

pub async fn healthz(State(st): State<AppState>) -> Response {
    let snap = st.snapshot();
    match st.store.config_version(&snap.tenant.id).await {
        // `current`, or `loading` for the moment between a change and this node's next poll.
        Ok(v) => {
            let config = if v == snap.version {
                format!("current; version={v}")
            } else {
                format!("loading; version={}; stored={v}", snap.version)
            };
            (StatusCode::OK, [("tessera-config", config)], "ok\n").into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "health check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

pub async fn metrics(State(st): State<AppState>) -> Response {
    match &st.metrics {
        Some(h) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            h.render(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "metrics are disabled\n").into_response(),
    }
}

pub async fn record_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // A fixed set: any other method name would mint a new series per request.
    let method: &'static str = match req.method().as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        _ => "other",
    };
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("tessera_http_requests_total", "method" => method, "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("tessera_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    resp
}
