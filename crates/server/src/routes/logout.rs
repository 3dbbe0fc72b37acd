//! `GET|POST /v2/logout` (Auth0) and `GET|POST /oidc/logout` (OpenID Connect RP-Initiated
//! Logout 1.0): end the tenant session, clear its cookie, then redirect to an allowed logout URL
//! or show the "signed out" page. A GET that another site sent the browser to
//! (`Sec-Fetch-Site: cross-site`) without naming its application (`client_id` for `/v2/logout`,
//! an `id_token_hint` for `/oidc/logout`) first asks the user to confirm: a link on any site
//! must not be a sign-out button.

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{RawQuery, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use minijinja::context;
use tessera_core::{
    OAuthError,
    login::{self, SESSION_COOKIE},
    logout::{self, LogoutOutcome},
};

use super::authorize::form_params;
use crate::{
    state::AppState,
    web::{cookie, set_cookie},
};

pub async fn v2_get(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    v2(
        &st,
        &headers,
        form_params(q.unwrap_or_default().as_bytes()),
        true,
    )
    .await
}

/// The confirmation page's answer.
pub async fn v2_post(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    v2(&st, &headers, form_params(&body), false).await
}

async fn v2(
    st: &AppState,
    headers: &HeaderMap,
    p: Result<HashMap<String, String>, OAuthError>,
    get_request: bool,
) -> Response {
    let snap = st.snapshot();
    let ctx = st.ctx(&snap);
    let outcome = match &p {
        Ok(p) => {
            let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());
            logout::v2(&ctx, get("returnTo"), get("client_id")).await
        }
        Err(e) => Err(e.clone()),
    };
    let asked = Asked {
        params: p,
        get_request,
        naming: "client_id",
        action: "/v2/logout",
    };
    finish_or_confirm(st, headers, asked, outcome).await
}

pub async fn oidc_get(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    oidc(
        &st,
        &headers,
        form_params(q.unwrap_or_default().as_bytes()),
        true,
    )
    .await
}

pub async fn oidc_post(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    oidc(&st, &headers, form_params(&body), false).await
}

/// What a logout request asked, for deciding whether it needs the user's confirmation.
struct Asked {
    params: Result<HashMap<String, String>, OAuthError>,
    get_request: bool,
    /// The parameter that names the application (`client_id`, `id_token_hint`).
    naming: &'static str,
    /// Where the confirmation form posts.
    action: &'static str,
}

/// Ends the session ([`finish`]), unless another site sent the browser here with a GET that
/// names no application it proved: then "Sign out?" first.
async fn finish_or_confirm(
    st: &AppState,
    headers: &HeaderMap,
    asked: Asked,
    outcome: Result<LogoutOutcome, OAuthError>,
) -> Response {
    let named = outcome.is_ok()
        && asked
            .params
            .as_ref()
            .is_ok_and(|p| p.get(asked.naming).is_some_and(|v| !v.is_empty()));
    if asked.get_request && !named && needs_confirmation(st, headers) {
        return confirm(st, asked.action, asked.params.ok());
    }
    finish(st, headers, outcome).await
}

/// A GET from another site to a browser that has a session. (A cross-site POST carries no
/// session cookie at all: the cookie is `SameSite=Lax`.)
fn needs_confirmation(st: &AppState, headers: &HeaderMap) -> bool {
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"));
    let secure = crate::web::https(&st.snapshot().tenant);
    cross_site && cookie(headers, SESSION_COOKIE, secure).is_some()
}

/// "Sign out?": a form that posts the same parameters back from this site. Nothing ends yet.
fn confirm(st: &AppState, action: &str, p: Option<HashMap<String, String>>) -> Response {
    tracing::info!(
        action,
        "cross-site logout without a named application: asking the user"
    );
    let mut fields: Vec<(String, String)> = p.unwrap_or_default().into_iter().collect();
    fields.sort();
    st.pages.page(
        StatusCode::OK,
        "logout_confirm.html",
        context! { action => action, fields => fields },
    )
}

async fn oidc(
    st: &AppState,
    headers: &HeaderMap,
    p: Result<HashMap<String, String>, OAuthError>,
    get_request: bool,
) -> Response {
    let snap = st.snapshot();
    let ctx = st.ctx(&snap);
    let outcome = match &p {
        Ok(p) => {
            let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());
            logout::oidc(
                &ctx,
                get("id_token_hint"),
                get("post_logout_redirect_uri"),
                get("client_id"),
                get("state"),
            )
            .await
        }
        Err(e) => Err(e.clone()),
    };
    let asked = Asked {
        params: p,
        get_request,
        naming: "id_token_hint",
        action: "/oidc/logout",
    };
    finish_or_confirm(st, headers, asked, outcome).await
}

/// Ends this browser's session whatever else happens, then redirects or shows a page. The
/// session an `id_token_hint` names is not ended from another browser: a leaked ID token must
/// not be a remote sign-out button (RP-Initiated Logout §2).
async fn finish(
    st: &AppState,
    headers: &HeaderMap,
    outcome: Result<LogoutOutcome, OAuthError>,
) -> Response {
    let snap = st.snapshot();
    let tenant = &snap.tenant;
    let secure = crate::web::https(tenant);
    if let Some(c) = cookie(headers, SESSION_COOKIE, secure)
        && let Err(e) = login::end_session(st.store.as_ref(), tenant, &c).await
    {
        tracing::warn!(error = %e, "could not end the session");
    }
    let mut r = match outcome {
        Ok(LogoutOutcome {
            redirect: Some(url),
            ..
        }) => Redirect::to(&url).into_response(),
        Ok(_) => st
            .pages
            .page(StatusCode::OK, "logged_out.html", context! {}),
        Err(e) => st
            .pages
            .error_page_titled(&e, "This sign-out request is not valid"),
    };
    tracing::info!("session ended by logout");
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", secure, Some(0)),
    );
    r
}
