//! The hosted login's protocol side: login transactions (an `/authorize` request parked while
//! the user types a password, with its CSRF token), the password check, and tenant sessions
//! (the cookie that gives single sign-on and `prompt=none`). Cookies and forms are the server's
//! business; this module deals in secrets and artifacts.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    OAuthError, StoreError, attack,
    model::{Artifact, ArtifactKind, LOGIN_TRANSACTION_LIFETIME, Tenant, User},
    password,
    secret::{Secret, SecretHash, random_bytes},
    store::Store,
};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tessera_session";
/// The cookie that binds a login form to the browser that opened it (double-submit CSRF).
pub const CSRF_COOKIE: &str = "tessera_csrf";

/// An `/authorize` request waiting at the login page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginTransaction {
    /// The original `/authorize` parameters, validated again when the login finishes.
    pub params: HashMap<String, String>,
    pub csrf: String,
    /// SHA-256 of the browser's CSRF cookie: only the browser that started the login may finish
    /// it (a login CSRF defence).
    pub browser: String,
}

/// The `/authorize` parameters a login transaction keeps: the ones Tessera reads, and Auth0's
/// `ext-*` custom parameters (which Actions see in `event.request.query`). Others are dropped.
const PARKED_PARAMS: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "scope",
    "state",
    "nonce",
    "audience",
    "prompt",
    "max_age",
    "login_hint",
    "code_challenge",
    "code_challenge_method",
    "connection",
    "organization",
    "invitation",
    "screen_hint",
    "ui_locales",
    "acr_values",
    "display",
];

/// The most a login transaction's parameters may take, names and values: far more than any
/// real request needs, and a bound on what an anonymous request can make the server store.
pub const MAX_PARKED_BYTES: usize = 8 * 1024;

/// What a login transaction keeps of `params`; `invalid_request` if that is over
/// [`MAX_PARKED_BYTES`].
pub fn parked_params(
    mut params: HashMap<String, String>,
) -> Result<HashMap<String, String>, OAuthError> {
    params.retain(|k, _| PARKED_PARAMS.contains(&k.as_str()) || k.starts_with("ext-"));
    let size: usize = params.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > MAX_PARKED_BYTES {
        return Err(OAuthError::invalid_request(format!(
            "The authorization request is too large: its parameters take {size} bytes, more \
             than {MAX_PARKED_BYTES}."
        )));
    }
    Ok(params)
}

/// Parks `params` (what [`parked_params`] keeps of them) and returns the transaction handle
/// (the login page's `state`) and its CSRF token. `ip` may park only so many
/// ([`attack::login_transaction_started`]).
pub async fn start_transaction(
    store: &dyn Store,
    tenant: &Tenant,
    params: HashMap<String, String>,
    browser_cookie: &str,
    ip: &str,
    now: i64,
) -> Result<(Secret, LoginTransaction), OAuthError> {
    let params = parked_params(params)?;
    attack::login_transaction_started(store, tenant, ip, now).await?;
    let handle = Secret::random(24);
    let tx = LoginTransaction {
        params,
        csrf: hex::encode(random_bytes(16)),
        browser: SecretHash::of(browser_cookie).as_str().to_owned(),
    };
    store
        .insert_artifact(&Artifact {
            tenant_id: tenant.id.clone(),
            kind: ArtifactKind::LoginTransaction,
            id_hash: handle.hash().as_str().to_owned(),
            family: hex::encode(random_bytes(8)),
            client_id: tx.params.get("client_id").cloned(),
            user_id: None,
            payload: serde_json::to_value(&tx).map_err(OAuthError::server_error)?,
            created_at: now,
            expires_at: now + LOGIN_TRANSACTION_LIFETIME,
            consumed_at: None,
        })
        .await?;
    Ok((handle, tx))
}

/// The live transaction `handle` names, if any.
pub async fn find_transaction(
    store: &dyn Store,
    tenant: &Tenant,
    handle: &str,
    now: i64,
) -> Result<Option<LoginTransaction>, StoreError> {
    let hash = SecretHash::of(handle);
    let found = store
        .artifact(&tenant.id, ArtifactKind::LoginTransaction, hash.as_str())
        .await?;
    Ok(found
        .filter(|a| a.is_live(now))
        .and_then(|a| serde_json::from_value(a.payload).ok()))
}

impl LoginTransaction {
    /// Did this browser start the transaction, and does the form carry its CSRF token?
    /// Constant time in both comparisons.
    pub fn csrf_ok(&self, form_csrf: &str, browser_cookie: &str) -> bool {
        use subtle::ConstantTimeEq;
        let form: bool = form_csrf.as_bytes().ct_eq(self.csrf.as_bytes()).into();
        let cookie_hash = SecretHash::of(browser_cookie);
        let browser: bool = cookie_hash
            .as_str()
            .as_bytes()
            .ct_eq(self.browser.as_bytes())
            .into();
        form & browser
    }
}

/// Ends a transaction once its login succeeded: it cannot be replayed.
pub async fn finish_transaction(
    store: &dyn Store,
    tenant: &Tenant,
    handle: &str,
    now: i64,
) -> Result<Option<LoginTransaction>, StoreError> {
    let hash = SecretHash::of(handle);
    let found = store
        .consume_artifact(
            &tenant.id,
            ArtifactKind::LoginTransaction,
            hash.as_str(),
            now,
        )
        .await?;
    Ok(found.and_then(|a| serde_json::from_value(a.payload).ok()))
}

/// Why a sign-in failed. The page shows one message for both unknown email and wrong password.
#[derive(Debug)]
pub enum LoginFailure {
    WrongCredentials,
    Blocked,
    /// Attack protection refused the attempt before the password was checked.
    Refused(attack::Refusal),
    Store(StoreError),
}

impl From<StoreError> for LoginFailure {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// Checks an email and password, from `ip`, against the tenant's database connection.
///
/// Attack protection first: a throttled IP or a blocked (email, IP) pair is refused without a
/// hash. Otherwise one argon2id hash is spent whether or not the user exists, and a failure
/// counts against the IP and the pair either way, so neither the answer, its timing nor a
/// later block tells whether the email has an account. A blocked user is refused after the
/// password matched, so that refusal reveals nothing to someone without the password.
pub async fn check_password(
    store: &dyn Store,
    tenant: &Tenant,
    email: &str,
    password: &str,
    ip: &str,
    now: i64,
) -> Result<User, LoginFailure> {
    let pair_counted = match attack::before_sign_in(store, tenant, email, ip, now).await? {
        attack::Gate::Refused(refusal) => return Err(LoginFailure::Refused(refusal)),
        attack::Gate::Open { pair_counted } => pair_counted,
    };
    let user = if password.is_empty() || password.len() > password::MAX_LENGTH {
        None
    } else {
        let user = store.user_by_email(&tenant.id, email.trim()).await?;
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        if password::verify_pooled(stored, password.to_owned()).await {
            user
        } else {
            None
        }
    };
    let Some(user) = user else {
        attack::sign_in_failed(store, tenant, email, ip, now).await?;
        return Err(LoginFailure::WrongCredentials);
    };
    if user.blocked {
        return Err(LoginFailure::Blocked);
    }
    if pair_counted {
        attack::sign_in_succeeded(store, tenant, email, ip).await?;
    }
    Ok(user)
}

/// A whole password sign-in: [`check_password`], then [`record_login`] on the user as stored.
pub async fn sign_in(
    store: &dyn Store,
    tenant: &Tenant,
    email: &str,
    password: &str,
    ip: &str,
    now: i64,
) -> Result<User, LoginFailure> {
    let mut user = check_password(store, tenant, email, password, ip, now).await?;
    record_login(store, &mut user, now).await?;
    Ok(user)
}

/// Records a successful login on the user (`logins_count`, `last_login`), and confirms it: the
/// user read by [`check_password`] is tens of milliseconds old by now, so the login stands only
/// if the stored user is still unblocked and still has the password that was checked. Only the
/// two bookkeeping fields are written, to the user as stored now, so a sign-in can never undo
/// a block or a password change that came in meanwhile. `user` becomes the stored user.
async fn record_login(store: &dyn Store, user: &mut User, now: i64) -> Result<(), LoginFailure> {
    let checked = user.password_hash.clone();
    let bookkeeping = |u: &mut User| {
        if u.blocked || u.password_hash != checked {
            return false;
        }
        u.logins_count += 1;
        u.last_login = Some(now);
        true
    };
    let Some(stored) = store
        .modify_user(&user.tenant_id, &user.user_id, &bookkeeping)
        .await?
    else {
        tracing::info!("login refused: the user was deleted during the sign-in");
        return Err(LoginFailure::WrongCredentials);
    };
    if stored.blocked {
        return Err(LoginFailure::Blocked);
    }
    if stored.password_hash != checked {
        tracing::info!("login refused: the password changed during the sign-in");
        return Err(LoginFailure::WrongCredentials);
    }
    *user = stored;
    Ok(())
}

/// A browser's sign-in at the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Public session id: the ID token's `sid` claim (OIDC Front-Channel Logout §3).
    pub sid: String,
    pub user_id: String,
    /// When the password was checked: the ID token's `auth_time`.
    pub auth_time: i64,
    pub created_at: i64,
}

/// Creates a session for a password check that happened at `now`. Returns the cookie value.
pub async fn create_session(
    store: &dyn Store,
    tenant: &Tenant,
    user_id: &str,
    now: i64,
) -> Result<(Secret, Session), StoreError> {
    let cookie = Secret::random(32);
    let session = Session {
        sid: hex::encode(random_bytes(16)),
        user_id: user_id.to_owned(),
        auth_time: now,
        created_at: now,
    };
    store
        .insert_artifact(&Artifact {
            tenant_id: tenant.id.clone(),
            kind: ArtifactKind::Session,
            id_hash: cookie.hash().as_str().to_owned(),
            family: session.sid.clone(),
            client_id: None,
            user_id: Some(user_id.to_owned()),
            payload: json!({ "auth_time": now }),
            created_at: now,
            expires_at: session_expiry(tenant, now, now),
            consumed_at: None,
        })
        .await?;
    Ok((cookie, session))
}

fn session_expiry(tenant: &Tenant, created_at: i64, now: i64) -> i64 {
    (now + tenant.session_idle_lifetime).min(created_at + tenant.session_lifetime)
}

/// The live session the cookie names, with its idle window moved forward.
pub async fn find_session(
    store: &dyn Store,
    tenant: &Tenant,
    cookie: &str,
    now: i64,
) -> Result<Option<Session>, StoreError> {
    let hash = SecretHash::of(cookie);
    let Some(a) = store
        .artifact(&tenant.id, ArtifactKind::Session, hash.as_str())
        .await?
        .filter(|a| a.is_live(now))
    else {
        return Ok(None);
    };
    let Some(user_id) = a.user_id.clone() else {
        return Ok(None);
    };
    let expiry = session_expiry(tenant, a.created_at, now);
    if expiry > a.expires_at {
        store
            .extend_artifact(&tenant.id, ArtifactKind::Session, hash.as_str(), expiry)
            .await?;
    }
    Ok(Some(Session {
        sid: a.family,
        user_id,
        auth_time: a.payload["auth_time"].as_i64().unwrap_or(a.created_at),
        created_at: a.created_at,
    }))
}

/// Ends the session the cookie names. `true` if there was one.
pub async fn end_session(
    store: &dyn Store,
    tenant: &Tenant,
    cookie: &str,
) -> Result<bool, StoreError> {
    let hash = SecretHash::of(cookie);
    store
        .delete_artifact(&tenant.id, ArtifactKind::Session, hash.as_str())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_transaction_keeps_only_the_parameters_tessera_reads_and_ext() {
        let kept = parked_params(params(&[
            ("client_id", "abc"),
            ("state", "s"),
            ("ext-campaign", "spring"),
            ("x-junk", &"j".repeat(60_000)),
            ("utm_source", "mail"),
        ]))
        .unwrap();
        let mut keys: Vec<_> = kept.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["client_id", "ext-campaign", "state"]);
    }

    #[test]
    fn a_transaction_over_the_size_cap_is_refused() {
        let at_cap = "s".repeat(MAX_PARKED_BYTES - "state".len());
        assert!(parked_params(params(&[("state", &at_cap)])).is_ok());
        let over = format!("{at_cap}s");
        let e = parked_params(params(&[("state", &over)])).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::InvalidRequest);
        assert!(e.description.contains("too large"), "{}", e.description);
    }
}
