//! Who calls the Management API: a bearer JWT that this tenant's key ring signed for the
//! tenant's own Management API audience (`{issuer}api/v2/`), by client credentials, not
//! expired. Its `scope` claim is what the caller may do (see [`Actor::require`]).

use serde_json::Value;

use super::{Actor, ManageError, ManageResult};
use crate::{
    keys::{KeyRing, verify_with},
    model::Tenant,
};

/// The audience of a tenant's Management API: `{issuer}api/v2/`, as on Auth0.
pub fn management_audience(tenant: &Tenant) -> String {
    format!("{}api/v2/", tenant.issuer)
}

/// The actor a Management API bearer token stands for, or `Unauthorized` saying why not.
/// `audience` is the identifier of the tenant's system API (made from the issuer the tenant
/// had when it was created).
pub fn actor_from_token(
    keys: &KeyRing,
    tenant: &Tenant,
    audience: &str,
    token: &str,
    now: i64,
) -> ManageResult<Actor> {
    let bad = |why: &str| ManageError::Unauthorized(why.to_owned());
    let claims = verify_with(keys, token).map_err(|_| bad("Invalid token"))?;
    if claims["iss"].as_str() != Some(tenant.issuer.as_str()) {
        return Err(bad("Invalid token"));
    }
    if claims["exp"].as_i64().is_none_or(|e| e <= now) {
        return Err(bad("Expired token received for JSON Web Token validation"));
    }
    let aud_ok = match &claims["aud"] {
        Value::String(s) => s == audience,
        Value::Array(a) => a.iter().any(|v| v.as_str() == Some(audience)),
        _ => false,
    };
    if !aud_ok {
        return Err(bad("Bad audience"));
    }
    // `azp` in Auth0's dialect, `client_id` in RFC 9068's.
    let client_id = claims["azp"]
        .as_str()
        .or(claims["client_id"].as_str())
        .ok_or_else(|| bad("Invalid token"))?;
    let scopes = claims["scope"]
        .as_str()
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    Ok(Actor::client(client_id, scopes))
}

/// Where an application stands against the tenant's Management API rate limit: Auth0's
/// `x-ratelimit-limit`, `x-ratelimit-remaining` and `x-ratelimit-reset` (epoch seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: i64,
    pub remaining: i64,
    pub reset: i64,
}

impl RateLimit {
    pub fn exceeded(&self) -> bool {
        self.remaining < 0
    }
}

/// Counts one Management API call of `client_id` (a database counter, so every node counts
/// the same calls); `None` when the tenant sets no limit.
pub async fn count_call(
    store: &dyn crate::Store,
    tenant: &Tenant,
    client_id: &str,
    now: i64,
) -> ManageResult<Option<RateLimit>> {
    let limit = tenant.attack_protection.management_rate_limit_per_minute;
    if limit <= 0 {
        return Ok(None);
    }
    let rule = crate::store::CounterRule {
        window: 60,
        limit,
        block: 0,
    };
    // The token endpoint counts `client_id` under the same kind; this subject cannot be one.
    let subject = format!("api/v2 {client_id}");
    let c = store
        .hit_counter(
            &tenant.id,
            crate::store::CounterKind::Client,
            &subject,
            "",
            rule,
            now,
        )
        .await?;
    Ok(Some(RateLimit {
        limit,
        remaining: limit - c.count,
        reset: c.expires_at,
    }))
}
