//! `GET|POST /userinfo` (OIDC Core §5.3) with a Bearer token in the Authorization header
//! (RFC 6750 §2.1) or, for POST, in the form body (§2.2). Failures are 401 with
//! `WWW-Authenticate: Bearer` (§3).

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use tessera_core::{ErrorCode, OAuthError, userinfo};

use super::authorize::form_params;
use crate::{http_error::json_error, state::AppState};

pub async fn get(State(st): State<AppState>, headers: HeaderMap) -> Response {
    respond(&st, &headers, bearer(&headers)).await
}

/// `OPTIONS /userinfo`: the CORS preflight.
pub async fn preflight(State(st): State<AppState>, headers: HeaderMap) -> Response {
    crate::web::preflight(&st, &headers, "GET, POST")
}

pub async fn post(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let from_body = form_params(&body)
        .ok()
        .and_then(|mut p| p.remove("access_token"));
    let token = match (bearer(&headers), from_body) {
        (Some(Ok(_)), Some(_)) => Some(Err(OAuthError::invalid_request(
            "Send the access token once: in the Authorization header or the body, not both.",
        ))),
        (Some(h), _) => Some(h),
        (None, b) => b.map(Ok),
    };
    respond(&st, &headers, token).await
}

fn bearer(headers: &HeaderMap) -> Option<Result<String, OAuthError>> {
    let v = headers.get(header::AUTHORIZATION)?;
    let parsed = v
        .to_str()
        .ok()
        .and_then(|s| s.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    Some(parsed.ok_or_else(|| {
        OAuthError::invalid_request("The Authorization header is not a Bearer token.")
    }))
}

/// The answer, readable by a page at one of the token's application's web origins (for errors,
/// where the application is unknown: any application's).
async fn respond(
    st: &AppState,
    headers: &HeaderMap,
    token: Option<Result<String, OAuthError>>,
) -> Response {
    let snap = st.snapshot();
    let (mut resp, client) = answer(st, &snap, token).await;
    crate::web::cors(&mut resp, headers, |origin| match &client {
        Some(c) => c.allows_web_origin(origin),
        None => snap.config.allows_web_origin(origin),
    });
    resp
}

async fn answer(
    st: &AppState,
    snap: &crate::state::Snapshot,
    token: Option<Result<String, OAuthError>>,
) -> (Response, Option<tessera_core::model::Client>) {
    let token = match token {
        None => {
            // RFC 6750 §3.1: no credentials, no error code.
            let mut r = (
                StatusCode::UNAUTHORIZED,
                Json(serde_json::json!({
                    "error": "invalid_token",
                    "error_description": "Send an access token: Authorization: Bearer <token>.",
                })),
            )
                .into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tessera\""),
            );
            return (r, None);
        }
        Some(Err(e)) => return (challenge(&e), None),
        Some(Ok(t)) => t,
    };
    match userinfo::userinfo(&st.ctx(snap), &token).await {
        Ok(info) => {
            let mut r = Json(info.claims).into_response();
            crate::web::no_store(r.headers_mut());
            (r, Some(info.client))
        }
        Err(e) => (challenge(&e), None),
    }
}

/// The error with its `WWW-Authenticate: Bearer error="…"` challenge (RFC 6750 §3).
fn challenge(e: &OAuthError) -> Response {
    let mut r = json_error(e);
    if matches!(
        e.code,
        ErrorCode::InvalidToken | ErrorCode::InvalidRequest | ErrorCode::InsufficientScope
    ) {
        if e.code == ErrorCode::InvalidToken {
            *r.status_mut() = StatusCode::UNAUTHORIZED;
        }
        // Descriptions are restricted to header-safe characters by OAuthError::new.
        let v = format!(
            "Bearer realm=\"tessera\", error=\"{}\", error_description=\"{}\"",
            e.code.as_str(),
            e.description
        );
        if let Ok(v) = HeaderValue::from_str(&v) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
    }
    r
}
