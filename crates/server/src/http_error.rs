//! Maps the protocol's `OAuthError` onto HTTP: RFC 6749 §5.2 JSON for the token endpoint, with
//! `WWW-Authenticate` for `invalid_client` (§5.2) and `no-store` caching. Causes are logged,
//! never sent.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;
use tessera_core::{ErrorCode, OAuthError};

/// Logs the error at the level it deserves and renders the JSON body.
pub fn json_error(e: &OAuthError) -> Response {
    if e.code == ErrorCode::ServerError {
        tracing::error!(
            error = e.code.as_str(),
            cause = e.cause.as_deref().unwrap_or(""),
            "request failed"
        );
    } else {
        tracing::info!(error = e.code.as_str(), description = %e.description, cause = ?e.cause, "request refused");
    }
    let status = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = (
        status,
        Json(json!({ "error": e.code.as_str(), "error_description": e.description })),
    )
        .into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if let Some(secs) = e.retry_after {
        h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if e.code == ErrorCode::InvalidClient {
        h.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"tessera\", charset=\"UTF-8\""),
        );
    }
    resp
}
