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
    respond(&st, bearer(&headers)).await
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
    respond(&st, token).await
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

async fn respond(st: &AppState, token: Option<Result<String, OAuthError>>) -> Response {
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
            return r;
        }
        Some(Err(e)) => return challenge(&e),
        Some(Ok(t)) => t,
    };
    let snap = st.snapshot();
    match userinfo::userinfo(&st.ctx(&snap), &token).await {
        Ok(claims) => {
            let mut r = Json(claims).into_response();
            crate::web::no_store(r.headers_mut());
            r
        }
        Err(e) => challenge(&e),
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
