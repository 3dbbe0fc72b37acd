//! `GET|POST /authorize` (RFC 6749 §3.1, OIDC Core §3.1.2.1) and the legacy hosted-page link
//! `GET /login?client=…` from the seed. Validate, then answer from the session or send the
//! browser to the login page; errors go to a page until the redirect URI is proven.

use std::{collections::HashMap, net::SocketAddr};

use axum::{
    body::Bytes,
    extract::{ConnectInfo, RawQuery, State},
    http::{HeaderMap, HeaderValue},
    response::{IntoResponse, Redirect, Response},
};
use tessera_core::{
    authorize::{self, AuthorizeError, AuthorizeRequest, SignedIn},
    context::Ctx,
    login::{self, CSRF_COOKIE, SESSION_COOKIE},
    secret::Secret,
};

use crate::{
    state::AppState,
    web::{cookie, set_cookie},
};

pub use tessera_core::authorize::form_params;

pub async fn get(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    match form_params(q.unwrap_or_default().as_bytes()) {
        Ok(p) => run(&st, peer, &headers, p).await,
        Err(e) => st.pages.error_page(&e),
    }
}

pub async fn post(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match form_params(&body) {
        Ok(p) => run(&st, peer, &headers, p).await,
        Err(e) => st.pages.error_page(&e),
    }
}

/// The seed's `/login?client=…&protocol=oauth2&…` link, mapped onto `/authorize`.
pub async fn legacy_login(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let params = match form_params(q.unwrap_or_default().as_bytes()) {
        Ok(p) => authorize::from_legacy_login(p),
        Err(e) => return st.pages.error_page(&e),
    };
    tracing::warn!(
        client_id = params.get("client_id").map(String::as_str).unwrap_or(""),
        "deprecated: /login?client=… is the legacy hosted-page link; send the user to /authorize?client_id=… instead"
    );
    run(&st, peer, &headers, params).await
}

async fn run(
    st: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    params: HashMap<String, String>,
) -> Response {
    let snap = st.snapshot();
    let mut ctx = st.ctx(&snap);
    ctx.request = crate::web::request_info(st, headers, peer, &params);
    let req = match authorize::validate(ctx.store, ctx.config, ctx.tenant, &params).await {
        Ok(r) => r,
        Err(e) => return refuse(st, &ctx, &e),
    };
    let now = ctx.clock.now();
    let secure = crate::web::https(&snap.tenant);
    let session = match cookie(headers, SESSION_COOKIE, secure) {
        Some(c) => login::find_session(ctx.store, ctx.tenant, &c, now)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "session lookup failed; asking for a login");
                None
            }),
        None => None,
    };
    match authorize::decide(&ctx, &req, session).await {
        Err(e) => refuse(st, &ctx, &e),
        Ok(Some(who)) => answer(st, &ctx, &req, &who).await,
        Ok(None) => {
            // To the login page, with this browser's CSRF cookie.
            let existing = cookie(headers, CSRF_COOKIE, secure).filter(|c| c.len() >= 32);
            let browser = existing
                .clone()
                .unwrap_or_else(|| Secret::random(24).expose().to_owned());
            let ip = &ctx.request.ip;
            match login::start_transaction(ctx.store, ctx.tenant, params, &browser, ip, now).await {
                Ok((handle, _)) => {
                    let mut r = Redirect::to(&format!("/u/login?state={}", handle.expose()))
                        .into_response();
                    crate::web::no_store(r.headers_mut());
                    if existing.is_none() {
                        r.headers_mut().append(
                            axum::http::header::SET_COOKIE,
                            set_cookie(CSRF_COOKIE, &browser, secure, None),
                        );
                    }
                    r
                }
                Err(e) => st.pages.error_page(&e),
            }
        }
    }
}

/// An error: back to the application once its redirect URI is proven, else a page.
pub fn refuse(st: &AppState, ctx: &Ctx<'_>, e: &AuthorizeError) -> Response {
    match e.delivery(&ctx.tenant.issuer) {
        Some(d) => {
            let err = e.error();
            tracing::info!(error = err.code.as_str(), description = %err.description, cause = ?err.cause, "authorization error sent to the application");
            st.pages.deliver(&d)
        }
        None => st.pages.error_page(e.error()),
    }
}

/// Issues the authorization response for a signed-in user, or the refusal.
pub async fn answer(
    st: &AppState,
    ctx: &Ctx<'_>,
    req: &AuthorizeRequest,
    who: &SignedIn,
) -> Response {
    grant(st, ctx, req, who)
        .await
        .unwrap_or_else(|e| refuse(st, ctx, &e))
}

/// The authorization response for a signed-in user; the error if the grant was refused (an
/// Action denied it, the user was blocked meanwhile…).
pub async fn grant(
    st: &AppState,
    ctx: &Ctx<'_>,
    req: &AuthorizeRequest,
    who: &SignedIn,
) -> Result<Response, AuthorizeError> {
    match authorize::respond(ctx, req, who).await {
        Ok(done) => {
            let format = done.format.as_ref().map(|f| f.header_value());
            tracing::info!(
                client_id = %req.client.client_id,
                user_id = %done.user_id,
                response_type = ?req.response_type,
                token_format = format.as_deref().unwrap_or("none (code only)"),
                "authorization granted"
            );
            let mut r = st.pages.deliver(&done.delivery);
            if let Some(v) = format.and_then(|f| HeaderValue::from_str(&f).ok()) {
                r.headers_mut().insert("tessera-token-format", v);
            }
            Ok(r)
        }
        Err(e) => Err(e),
    }
}
