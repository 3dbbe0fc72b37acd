//! `GET /.well-known/openid-configuration` (OIDC Discovery §4, RFC 8414 §3) and
//! `GET /.well-known/jwks.json` (RFC 7517 §5).

use axum::{
    Json,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};

use crate::state::AppState;

pub async fn openid_configuration(State(st): State<AppState>) -> Response {
    let snap = st.snapshot();
    let password = snap
        .config
        .any_client_allows(tessera_core::model::GrantType::Password);
    let doc = tessera_core::discovery::openid_configuration(&snap.tenant, password);
    ([(header::CACHE_CONTROL, "public, max-age=60")], Json(doc)).into_response()
}

pub async fn jwks(State(st): State<AppState>) -> Response {
    let body = st.snapshot().keys.jwks_json().to_owned();
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        body,
    )
        .into_response()
}
