//! The hosted login page, `GET|POST /u/login?state=…`: shows the form for a parked
//! `/authorize` request, checks the password, starts the tenant session and finishes the
//! authorization. The form carries a CSRF token, and only the browser that started the login
//! (its CSRF cookie) can post it.

use axum::{
    body::Bytes,
    extract::{ConnectInfo, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::Response,
};
use minijinja::context;
use serde::Deserialize;
use tessera_core::{
    OAuthError,
    authorize::{self, SignedIn},
    login::{self, CSRF_COOKIE, LoginFailure, LoginTransaction, SESSION_COOKIE},
    model::Client,
};

use super::authorize::{form_params, grant, refuse};
use crate::{
    state::{AppState, Snapshot},
    web::{cookie, set_cookie},
};

#[derive(Deserialize)]
pub struct LoginQuery {
    state: Option<String>,
}

fn expired(st: &AppState) -> Response {
    st.pages.page(
        StatusCode::BAD_REQUEST,
        "error.html",
        context! {
            title => "This sign-in link has expired",
            description => "The sign-in request is over or was already used. Go back to the application and sign in again.",
        },
    )
}

const ENTER_EMAIL: &str = "Enter your email address.";

fn form(
    st: &AppState,
    status: StatusCode,
    app: &Client,
    handle: &str,
    tx: &LoginTransaction,
    username: &str,
    error: Option<&str>,
) -> Response {
    // The field to type in next: the email while there is none (or it is what is wrong), else
    // the password (after a wrong password, or with `login_hint`).
    let focus = if username.is_empty() || error == Some(ENTER_EMAIL) {
        "username"
    } else {
        "password"
    };
    st.pages.form_page(
        status,
        "login.html",
        context! {
            app_name => app.name,
            action => "/u/login",
            state => handle,
            csrf => tx.csrf,
            username => username,
            error => error,
            focus => focus,
        },
        &app.callbacks,
    )
}

/// The parked transaction and its application.
async fn load(
    st: &AppState,
    snap: &Snapshot,
    handle: &str,
) -> Result<(LoginTransaction, Client), Response> {
    let now = st.clock.now();
    let tx = match login::find_transaction(st.store.as_ref(), &snap.tenant, handle, now).await {
        Ok(Some(tx)) => tx,
        Ok(None) => return Err(expired(st)),
        Err(e) => return Err(st.pages.error_page(&e.into())),
    };
    let client_id = tx.params.get("client_id").cloned().unwrap_or_default();
    match st.ctx(snap).client(&client_id).await {
        Ok(Some(c)) => Ok((tx, c)),
        Ok(None) => Err(st.pages.error_page(&OAuthError::invalid_request(
            "The application of this sign-in no longer exists.",
        ))),
        Err(e) => Err(st.pages.error_page(&e.into())),
    }
}

pub async fn show(State(st): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    let Some(handle) = q.state else {
        return expired(&st);
    };
    let snap = st.snapshot();
    match load(&st, &snap, &handle).await {
        Ok((tx, app)) => {
            let hint = tx.params.get("login_hint").cloned().unwrap_or_default();
            form(&st, StatusCode::OK, &app, &handle, &tx, &hint, None)
        }
        Err(r) => r,
    }
}

pub async fn submit(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = match form_params(&body) {
        Ok(p) => p,
        Err(e) => return st.pages.error_page(&e),
    };
    let field = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    let handle = field("state");
    let snap = st.snapshot();
    let (tx, app) = match load(&st, &snap, handle).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let secure = crate::web::https(&snap.tenant);
    let browser = cookie(&headers, CSRF_COOKIE, secure).unwrap_or_default();
    if !tx.csrf_ok(field("csrf"), &browser) {
        tracing::warn!("login form refused: CSRF token or browser cookie missing or wrong");
        return st.pages.page(
            StatusCode::FORBIDDEN,
            "error.html",
            context! {
                title => "This sign-in form cannot be accepted",
                description => "The form was not sent by the browser that opened it, or it is missing its security token. Go back to the application and sign in again.",
            },
        );
    }
    let mut ctx = st.ctx(&snap);
    ctx.request = crate::web::request_info(&st, &headers, peer, &tx.params);
    let username = field("username").trim();
    // An empty field says what is missing; it is no failed sign-in (nothing to count or hash).
    let missing = if username.is_empty() {
        Some(ENTER_EMAIL)
    } else if field("password").is_empty() {
        Some("Enter your password.")
    } else {
        None
    };
    if let Some(msg) = missing {
        return form(
            &st,
            StatusCode::BAD_REQUEST,
            &app,
            handle,
            &tx,
            username,
            Some(msg),
        );
    }
    let now = ctx.clock.now();
    // The user as stored when the check ends must still accept this password (a block or a
    // new password may have come in during it); the login is counted on that user.
    let checked = login::sign_in(
        ctx.store,
        ctx.tenant,
        username,
        field("password"),
        &ctx.request.ip,
        now,
    )
    .await;
    let user = match checked {
        Ok(u) => u,
        Err(LoginFailure::WrongCredentials) => {
            tracing::info!(
                client_id = tx.params.get("client_id").map(String::as_str).unwrap_or(""),
                "login failed: wrong email or password"
            );
            let msg = "Wrong email or password.";
            return form(
                &st,
                StatusCode::UNAUTHORIZED,
                &app,
                handle,
                &tx,
                username,
                Some(msg),
            );
        }
        Err(LoginFailure::Blocked) => {
            tracing::info!("login refused: the user is blocked");
            let msg = "Your account is blocked. Contact the application's administrator.";
            return form(
                &st,
                StatusCode::FORBIDDEN,
                &app,
                handle,
                &tx,
                username,
                Some(msg),
            );
        }
        Err(LoginFailure::Refused(r)) => {
            tracing::info!(ip = %ctx.request.ip, "login refused by attack protection");
            let mut resp = form(
                &st,
                StatusCode::TOO_MANY_REQUESTS,
                &app,
                handle,
                &tx,
                username,
                Some(r.message()),
            );
            resp.headers_mut()
                .insert(header::RETRY_AFTER, r.retry_after().into());
            return resp;
        }
        Err(LoginFailure::Store(e)) => return st.pages.error_page(&e.into()),
    };

    // The password is right: this transaction is spent, a new session starts.
    match login::finish_transaction(ctx.store, ctx.tenant, handle, now).await {
        Ok(Some(_)) => {}
        Ok(None) => return expired(&st),
        Err(e) => return st.pages.error_page(&e.into()),
    }
    if let Some(old) = cookie(&headers, SESSION_COOKIE, secure)
        && let Err(e) = login::end_session(ctx.store, ctx.tenant, &old).await
    {
        tracing::warn!(error = %e, "could not end the previous session");
    }
    let (cookie_value, session) =
        match login::create_session(ctx.store, ctx.tenant, &user.user_id, now).await {
            Ok(s) => s,
            Err(e) => return st.pages.error_page(&e.into()),
        };
    // The request is checked again: the application may have changed meanwhile.
    let granted = match authorize::validate(ctx.store, ctx.config, ctx.tenant, &tx.params).await {
        Ok(req) => grant(&st, &ctx, &req, &SignedIn { user, session }).await,
        Err(e) => Err(e),
    };
    match granted {
        Ok(mut resp) => {
            let set = set_cookie(
                SESSION_COOKIE,
                cookie_value.expose(),
                secure,
                Some(ctx.tenant.session_lifetime),
            );
            resp.headers_mut().append(header::SET_COOKIE, set);
            resp
        }
        // Refused (an Action denied the login, say): no session outlives the refusal.
        Err(e) => {
            if let Err(err) = login::end_session(ctx.store, ctx.tenant, cookie_value.expose()).await
            {
                tracing::warn!(error = %err, "could not end the session of a refused sign-in");
            }
            refuse(&st, &ctx, &e)
        }
    }
}
