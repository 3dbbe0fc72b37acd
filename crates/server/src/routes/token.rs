//! `POST /oauth/token` (RFC 6749 §3.2): a form or JSON body, client credentials in the body or
//! a Basic header. Answers carry `Cache-Control: no-store` (§5.1) and `Tessera-Token-Format`,
//! which says why the access token is a JWT or opaque.

use axum::{
    Json,
    body::Bytes,
    extract::{ConnectInfo, State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use tessera_core::{
    OAuthError,
    grant::{self, TokenRequest},
    model::{LogEvent, codes},
};

use crate::{http_error::json_error, state::AppState};

pub async fn token(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req = match read(&headers, body) {
        Ok(r) => r,
        Err(resp) => return with_cors(&st, &headers, *resp, None).await,
    };
    let snap = st.snapshot();
    let mut ctx = st.ctx(&snap);
    ctx.request = crate::web::request_info(&st, &headers, peer, &Default::default());
    let result = grant::token(&ctx, &req).await;
    log_exchange(&st, &snap.tenant.id, &req, &ctx.request, &result);
    let resp = match result {
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
            if let Some(why) = &t.refresh_refused
                && let Ok(v) = HeaderValue::from_str(&format!("none; {why}"))
            {
                h.insert("tessera-refresh-token", v);
            }
            resp
        }
        Err(e) => json_error(&e),
    };
    with_cors(&st, &headers, resp, Some(&req)).await
}

/// A tenant log event for the exchange (`seccft`, `feacft`, …): the application, the IP, the
/// outcome; never a secret or a token.
fn log_exchange(
    st: &AppState,
    tenant: &str,
    req: &TokenRequest,
    request: &tessera_core::hooks::RequestInfo,
    result: &Result<grant::TokenResponse, OAuthError>,
) {
    let Ok(grant_type) = req.grant_type() else {
        return;
    };
    // Not yet for successful client credentials: at 20,000 exchanges a second on one core, a
    // row per event cost 40 % of the rate (bench/README.md, "Tenant logs"); they wait for a
    // store that writes a batch of events as one row.
    if grant_type == "client_credentials" && result.is_ok() {
        return;
    }
    let Some(code) = codes::for_grant(grant_type, result.is_ok()) else {
        return;
    };
    let description = match result {
        Ok(_) => format!("{grant_type} exchange"),
        Err(e) => e.description.clone(),
    };
    let mut e = LogEvent::new(tenant, code, description, crate::web::now_ms());
    e.client_id = grant::ClientCredentials::from_request(req)
        .ok()
        .map(|c| c.client_id);
    e.ip = Some(request.ip.clone()).filter(|ip| !ip.is_empty());
    e.user_agent = Some(request.user_agent.clone()).filter(|ua| !ua.is_empty());
    st.logs.emit(e);
}

/// `OPTIONS /oauth/token` and `/oauth/revoke`: the CORS preflight.
pub async fn preflight(State(st): State<AppState>, headers: HeaderMap) -> Response {
    crate::web::preflight(&st, &headers, "POST")
}

/// Lets a browser page read the answer when its origin is one of the requesting application's
/// web origins (or, when the request named no application, any application's).
async fn with_cors(
    st: &AppState,
    headers: &HeaderMap,
    mut resp: Response,
    req: Option<&TokenRequest>,
) -> Response {
    if !headers.contains_key(header::ORIGIN) {
        return resp;
    }
    let snap = st.snapshot();
    let client_id = req
        .and_then(|r| grant::ClientCredentials::from_request(r).ok())
        .map(|c| c.client_id);
    let client = match &client_id {
        Some(id) => st.ctx(&snap).client(id).await.ok().flatten(),
        None => None,
    };
    crate::web::cors(&mut resp, headers, |origin| match (&client_id, &client) {
        (_, Some(c)) => c.allows_web_origin(origin),
        (Some(_), None) => false,
        (None, _) => snap.config.allows_web_origin(origin),
    });
    resp
}

/// `POST /oauth/revoke` (RFC 7009): 200 with an empty body, whether or not the token existed.
pub async fn revoke(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req = match read(&headers, body) {
        Ok(r) => r,
        Err(resp) => return with_cors(&st, &headers, *resp, None).await,
    };
    let snap = st.snapshot();
    let resp = match tessera_core::userinfo::revoke(&st.ctx(&snap), &req).await {
        Ok(()) => {
            let mut r = axum::http::StatusCode::OK.into_response();
            crate::web::no_store(r.headers_mut());
            r
        }
        Err(e) => json_error(&e),
    };
    with_cors(&st, &headers, resp, Some(&req)).await
}

/// The body as a token-endpoint request, or the error response.
fn read(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<TokenRequest, Box<Response>> {
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
            return Err(Box::new(resp));
        }
    };
    parse(headers, &body).map_err(|e| Box::new(json_error(&e)))
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
