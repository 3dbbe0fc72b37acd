//! `POST /oauth/token` (RFC 6749 §3.2): a form or JSON body, client credentials in the body or
//! a Basic header. Answers carry `Cache-Control: no-store` (§5.1) and `Tessera-Token-Format`,
//! which says why the access token is a JWT or opaque.

use axum::{
    Json,
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use tessera_core::{
    OAuthError,
    grant::{self, Ctx, TokenRequest},
};

use crate::{http_error::json_error, state::AppState};

pub async fn token(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            // Too large (413) or unreadable: still an RFC 6749 JSON error.
            let e = OAuthError::invalid_request(format!(
                "The request body could not be read (at most {} bytes).",
                grant::MAX_BODY
            ))
            .with_cause(&rejection);
            let mut resp = json_error(&e);
            *resp.status_mut() = rejection.status();
            return resp;
        }
    };
    let req = match parse(&headers, &body) {
        Ok(r) => r,
        Err(e) => return json_error(&e),
    };
    let snap = st.snapshot();
    let ctx = Ctx {
        store: st.store.as_ref(),
        clock: st.clock.as_ref(),
        keys: &snap.keys,
        master: &st.master,
        tenant: &snap.tenant,
    };
    match grant::token(&ctx, &req).await {
        Ok(t) => {
            let format = t.format.header_value();
            tracing::info!(grant_type = t.grant_type, token_format = %format, "token issued");
            metrics::counter!("tessera_tokens_issued_total", "grant_type" => t.grant_type, "format" => if t.format.jwt { "jwt" } else { "opaque" }).increment(1);
            let mut resp = Json(&t).into_response();
            let h = resp.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            if let Ok(v) = HeaderValue::from_str(&format) {
                h.insert("tessera-token-format", v);
            }
            resp
        }
        Err(e) => json_error(&e),
    }
}

fn parse(headers: &HeaderMap, body: &[u8]) -> Result<TokenRequest, OAuthError> {
    let authorization = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| {
                    OAuthError::invalid_client(
                        "The Authorization header is not valid Basic credentials.",
                    )
                })?
                .to_owned(),
        ),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    match content_type.as_str() {
        "application/json" => TokenRequest::from_json(body, authorization),
        "application/x-www-form-urlencoded" | "" => TokenRequest::from_form(body, authorization),
        other => Err(OAuthError::invalid_request(format!(
            "Unsupported Content-Type '{}': send application/x-www-form-urlencoded or application/json.",
            other.escape_default()
        ))),
    }
}
