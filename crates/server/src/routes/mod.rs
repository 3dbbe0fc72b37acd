//! The HTTP surface, one module per area. Each handler extracts, calls core, maps the result.

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

pub fn router(state: AppState) -> Router {
    Router::new()
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
        .route("/v2/logout", get(logout::v2))
        .route(
            "/oidc/logout",
            get(logout::oidc_get).post(logout::oidc_post),
        )
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .layer(axum::middleware::from_fn(ops::record_metrics))
        .layer(DefaultBodyLimit::max(tessera_core::grant::MAX_BODY))
        .with_state(state)
}
