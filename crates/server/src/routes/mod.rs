//! The HTTP surface, one module per area. Each handler extracts, calls core, maps the result.

mod discovery;
mod ops;
mod token;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post},
};

use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route("/.well-known/jwks.json", get(discovery::jwks))
        .route("/oauth/token", post(token::token))
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .layer(axum::middleware::from_fn(ops::record_metrics))
        .layer(DefaultBodyLimit::max(tessera_core::grant::MAX_BODY))
        .with_state(state)
}
