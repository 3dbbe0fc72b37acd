//! The HTTP surface, one module per area. Each handler extracts, calls core, maps the result.

mod api_v2;
mod authorize;
mod discovery;
mod login;
mod logout;
mod ops;
mod token;
mod userinfo;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post},
};

use crate::state::AppState;

/// Every route. With `metrics_apart`, `/metrics` is left out: [`metrics_router`] serves it on
/// its own listener.
pub fn router(state: AppState, metrics_apart: bool) -> Router {
    let mut r = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route("/.well-known/jwks.json", get(discovery::jwks))
        .route("/authorize", get(authorize::get).post(authorize::post))
        .route("/login", get(authorize::legacy_login))
        .route("/u/login", get(login::show).post(login::submit))
        .route("/oauth/token", post(token::token).options(token::preflight))
        .route(
            "/oauth/revoke",
            post(token::revoke).options(token::preflight),
        )
        .route(
            "/userinfo",
            get(userinfo::get)
                .post(userinfo::post)
                .options(userinfo::preflight),
        )
        .route("/v2/logout", get(logout::v2_get).post(logout::v2_post))
        .route(
            "/oidc/logout",
            get(logout::oidc_get).post(logout::oidc_post),
        )
        .nest("/api/v2", api_v2::router(state.clone()))
        .route("/", get(ops::home))
        .route("/healthz", get(ops::healthz));
    if !metrics_apart {
        r = r.route("/metrics", get(ops::metrics));
    }
    r.layer(axum::middleware::from_fn(ops::record_metrics))
        .layer(DefaultBodyLimit::max(tessera_core::grant::MAX_BODY))
        .with_state(state)
}

/// `/metrics` alone, for `--metrics-listen`.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(ops::metrics))
        .with_state(state)
}
