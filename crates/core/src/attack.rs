//! Attack protection, as Auth0 has it by default, with counters in the store so that every node
//! counts the same attempts:
//!
//! - **Brute-force protection.** `brute_force_max_attempts` (10) failed sign-ins in a row for one
//!   email from one IP block that pair for 30 days, or until an administrator unblocks the user
//!   (`tessera users unblock`) or the password changes. A successful sign-in starts the count
//!   again. Emails that have no user are counted the same way, so a block reveals nothing.
//! - **Suspicious-IP throttling.** `suspicious_ip_max_attempts` (100) failed sign-ins from one
//!   IP within 24 hours (a fixed window from the first failure) make every sign-in from it
//!   answer 429 with `Retry-After` until the window ends.
//! - **Token rate limit.** Off unless `token_rate_limit_per_minute` is set: each application
//!   gets that many token requests per minute (a fixed window), then 429 with `Retry-After`.
//!
//! - **Parked logins.** Each `/authorize` that sends the browser to the login page stores a
//!   login transaction for 30 minutes; one IP may start `login_transactions_per_ip` (600) of
//!   them in that time, then gets 429 with `Retry-After`.
//!
//! A refused attempt spends no password hash and does not count again. Addresses on the
//! tenant's allowlist are never counted nor refused.

use crate::{
    ErrorCode, OAuthError, StoreError,
    model::Tenant,
    secret::SecretHash,
    store::{CounterKind, CounterRule, Store},
};

/// How long a brute-force block lasts without an unblock or a password change.
pub const BRUTE_FORCE_BLOCK: i64 = 30 * 86_400;
/// The suspicious-IP window.
pub const SUSPICIOUS_IP_WINDOW: i64 = 86_400;
/// The token rate limit's window.
pub const TOKEN_RATE_WINDOW: i64 = 60;

/// Why a sign-in was refused before its password was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The (email, IP) pair is blocked after too many failures in a row.
    BruteForce { retry_after: i64 },
    /// The IP is throttled after too many failures from it.
    SuspiciousIp { retry_after: i64 },
}

impl Refusal {
    /// Seconds until the refusal lifts by itself.
    pub fn retry_after(self) -> i64 {
        match self {
            Self::BruteForce { retry_after } | Self::SuspiciousIp { retry_after } => retry_after,
        }
    }

    /// What the login page and the password grant say.
    pub fn message(self) -> &'static str {
        match self {
            Self::BruteForce { .. } => {
                "Too many failed sign-in attempts for this email from your network: sign-in is \
                 blocked. Change the password, or ask the administrator to unblock the account."
            }
            Self::SuspiciousIp { .. } => {
                "Too many failed sign-in attempts from your network. Try again later."
            }
        }
    }

    /// The token endpoint's error (`too_many_attempts`, 429, with `Retry-After`).
    pub fn oauth_error(self) -> OAuthError {
        OAuthError::new(ErrorCode::TooManyAttempts, self.message()).retry_after(self.retry_after())
    }
}

/// The counter subject for an email: a hash of its mailbox key (`model::email_key`), so the table
/// holds no addresses (nor passwords typed into the email field).
fn email_subject(email: &str) -> String {
    SecretHash::of(&crate::model::email_key(email))
        .as_str()
        .to_owned()
}

fn brute_force_rule(tenant: &Tenant) -> CounterRule {
    CounterRule {
        window: BRUTE_FORCE_BLOCK,
        limit: tenant.attack_protection.brute_force_max_attempts,
        block: BRUTE_FORCE_BLOCK,
    }
}

fn suspicious_ip_rule(tenant: &Tenant) -> CounterRule {
    CounterRule {
        window: SUSPICIOUS_IP_WINDOW,
        limit: tenant.attack_protection.suspicious_ip_max_attempts,
        block: 0,
    }
}

/// What attack protection says before a password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Go on. `pair_counted`: the (email, IP) pair has failures on record, which a success
    /// clears.
    Open {
        pair_counted: bool,
    },
    Refused(Refusal),
}

/// Checks, before a password is hashed, that neither the IP nor the (email, IP) pair is
/// refused.
pub async fn before_sign_in(
    store: &dyn Store,
    tenant: &Tenant,
    email: &str,
    ip: &str,
    now: i64,
) -> Result<Gate, StoreError> {
    let ap = &tenant.attack_protection;
    if crate::net::listed(&ap.allowlist, ip) {
        return Ok(Gate::Open {
            pair_counted: false,
        });
    }
    if ap.suspicious_ip_throttling
        && let Some(c) = store.counter(&tenant.id, CounterKind::Ip, "", ip).await?
        && c.reached(ap.suspicious_ip_max_attempts, now)
    {
        return Ok(Gate::Refused(Refusal::SuspiciousIp {
            retry_after: c.expires_at - now,
        }));
    }
    let mut pair_counted = false;
    if ap.brute_force
        && let Some(c) = store
            .counter(&tenant.id, CounterKind::UserIp, &email_subject(email), ip)
            .await?
    {
        if c.reached(ap.brute_force_max_attempts, now) {
            return Ok(Gate::Refused(Refusal::BruteForce {
                retry_after: c.expires_at - now,
            }));
        }
        pair_counted = true;
    }
    Ok(Gate::Open { pair_counted })
}

/// Counts a failed sign-in against the IP and the (email, IP) pair.
pub async fn sign_in_failed(
    store: &dyn Store,
    tenant: &Tenant,
    email: &str,
    ip: &str,
    now: i64,
) -> Result<(), StoreError> {
    let ap = &tenant.attack_protection;
    if crate::net::listed(&ap.allowlist, ip) {
        return Ok(());
    }
    if ap.suspicious_ip_throttling {
        let c = store
            .hit_counter(
                &tenant.id,
                CounterKind::Ip,
                "",
                ip,
                suspicious_ip_rule(tenant),
                now,
            )
            .await?;
        if c.count == ap.suspicious_ip_max_attempts {
            tracing::warn!(ip, "suspicious IP throttled after failed sign-ins");
        }
    }
    if ap.brute_force {
        let c = store
            .hit_counter(
                &tenant.id,
                CounterKind::UserIp,
                &email_subject(email),
                ip,
                brute_force_rule(tenant),
                now,
            )
            .await?;
        if c.count == ap.brute_force_max_attempts {
            tracing::warn!(
                ip,
                "sign-in blocked for an email from this IP (brute force)"
            );
        }
    }
    Ok(())
}

/// A successful sign-in: the pair's failures are no longer "in a row". The IP's count stays,
/// so one valid account does not reset an attacker's throttle.
pub async fn sign_in_succeeded(
    store: &dyn Store,
    tenant: &Tenant,
    email: &str,
    ip: &str,
) -> Result<(), StoreError> {
    if tenant.attack_protection.brute_force {
        store
            .clear_counters(
                &tenant.id,
                CounterKind::UserIp,
                &email_subject(email),
                Some(ip),
            )
            .await?;
    }
    Ok(())
}

/// Lifts every brute-force block on an email, from every IP (an administrator's unblock, a
/// password change). The number of blocked or counting pairs removed.
pub async fn clear_user_blocks(
    store: &dyn Store,
    tenant: &str,
    email: &str,
) -> Result<u64, StoreError> {
    store
        .clear_counters(tenant, CounterKind::UserIp, &email_subject(email), None)
        .await
}

/// The IPs from which an email is blocked now by brute-force protection.
pub async fn user_blocks(
    store: &dyn Store,
    tenant: &Tenant,
    email: &str,
    now: i64,
) -> Result<Vec<String>, StoreError> {
    let limit = tenant.attack_protection.brute_force_max_attempts;
    Ok(store
        .subject_counters(&tenant.id, CounterKind::UserIp, &email_subject(email), now)
        .await?
        .into_iter()
        .filter(|(_, c)| c.reached(limit, now))
        .map(|(ip, _)| ip)
        .collect())
}

/// The subject under which [`CounterKind::Ip`] counts login transactions (suspicious-IP
/// throttling counts under the empty subject).
const LOGIN_TRANSACTIONS: &str = "login_transactions";

/// Counts a login transaction that `ip` is about to park; refused beyond the tenant's limit,
/// so that anonymous requests cannot fill the database.
pub async fn login_transaction_started(
    store: &dyn Store,
    tenant: &Tenant,
    ip: &str,
    now: i64,
) -> Result<(), OAuthError> {
    let ap = &tenant.attack_protection;
    if crate::net::listed(&ap.allowlist, ip) {
        return Ok(());
    }
    let limit = ap.login_transactions_per_ip;
    let rule = CounterRule {
        window: crate::model::LOGIN_TRANSACTION_LIFETIME,
        limit,
        block: 0,
    };
    let c = store
        .hit_counter(
            &tenant.id,
            CounterKind::Ip,
            LOGIN_TRANSACTIONS,
            ip,
            rule,
            now,
        )
        .await?;
    if c.count > limit {
        if c.count == limit + 1 {
            tracing::warn!(
                ip,
                limit,
                "login transactions refused for an IP that started too many"
            );
        }
        return Err(OAuthError::new(
            ErrorCode::TooManyRequests,
            "Too many sign-in attempts were started from your network. Try again later.",
        )
        .retry_after(c.expires_at - now));
    }
    Ok(())
}

/// Counts a token request of an authenticated application against the tenant's rate limit.
pub async fn token_request(
    store: &dyn Store,
    tenant: &Tenant,
    client_id: &str,
    now: i64,
) -> Result<(), OAuthError> {
    let limit = tenant.attack_protection.token_rate_limit_per_minute;
    if limit <= 0 {
        return Ok(());
    }
    let rule = CounterRule {
        window: TOKEN_RATE_WINDOW,
        limit,
        block: 0,
    };
    let c = store
        .hit_counter(&tenant.id, CounterKind::Client, client_id, "", rule, now)
        .await?;
    if c.count > limit {
        return Err(OAuthError::new(
            ErrorCode::TooManyRequests,
            format!(
                "The application made more than {limit} token requests this minute. Try again \
                 in {} s.",
                c.expires_at - now
            ),
        )
        .retry_after(c.expires_at - now));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
