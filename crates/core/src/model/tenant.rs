//! A tenant: one issuer and everything that belongs to it.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The id of the tenant a fresh install creates.
pub const DEFAULT_TENANT: &str = "default";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    /// The `iss` of every token, with a trailing slash as Auth0 has it.
    pub issuer: String,
    /// Used when a token request names no `audience`.
    #[serde(default)]
    pub default_audience: Option<String>,
    /// ID token lifetime in seconds.
    #[serde(default = "default_id_token_lifetime")]
    pub id_token_lifetime: i64,
    /// How many times the object was written: a write names the version it read and fails
    /// with `StoreError::Stale` if another write came between (see `store`).
    #[serde(default)]
    pub version: i64,
    pub created_at: i64,
    /// The issuer was derived from the listen address, not configured: `serve` may replace it.
    #[serde(default)]
    pub issuer_is_default: bool,
    /// A known value sealed with the master key, so a wrong master key is caught at start-up
    /// instead of sealing new secrets that the rest of the installation cannot read.
    #[serde(default)]
    pub master_key_check: Option<String>,
    /// Login session: absolute lifetime and idle (inactivity) lifetime, seconds.
    #[serde(default = "default_session_lifetime")]
    pub session_lifetime: i64,
    #[serde(default = "default_session_idle_lifetime")]
    pub session_idle_lifetime: i64,
    /// Refresh token family: absolute lifetime and idle lifetime, seconds.
    #[serde(default = "default_refresh_token_lifetime")]
    pub refresh_token_lifetime: i64,
    #[serde(default = "default_refresh_token_idle_lifetime")]
    pub refresh_token_idle_lifetime: i64,
    /// Seconds during which a just-rotated refresh token may be used again without revoking its
    /// family (for clients that retry after a lost response). 0: any reuse revokes.
    #[serde(default)]
    pub refresh_token_reuse_interval: i64,
    /// Time limit per Action or Rule execution, milliseconds (at most [`Tenant::MAX_SCRIPT_TIME_LIMIT_MS`]).
    #[serde(default = "default_script_time_limit_ms")]
    pub script_time_limit_ms: i64,
    /// Brute-force protection, suspicious-IP throttling and the token endpoint's rate limit.
    #[serde(default)]
    pub attack_protection: AttackProtection,
}

/// Attack protection, with Auth0's defaults. See [`crate::attack`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AttackProtection {
    /// Block an (email, IP) pair after `brute_force_max_attempts` failed sign-ins in a row.
    pub brute_force: bool,
    pub brute_force_max_attempts: i64,
    /// Answer 429 to an IP after `suspicious_ip_max_attempts` failed sign-ins in 24 hours.
    pub suspicious_ip_throttling: bool,
    pub suspicious_ip_max_attempts: i64,
    /// Token requests per application per minute; 0 leaves the token endpoint unlimited.
    pub token_rate_limit_per_minute: i64,
    /// Management API calls per application per minute (counted on every node together);
    /// 0 leaves `/api/v2` unlimited.
    pub management_rate_limit_per_minute: i64,
    /// Login transactions (`/authorize` requests parked at the login page) one IP may start
    /// within their 30-minute lifetime; then 429.
    pub login_transactions_per_ip: i64,
    /// IP addresses and networks (`10.0.0.0/8`) that brute-force protection and suspicious-IP
    /// throttling never count or refuse: an office's NAT, a monitoring probe.
    pub allowlist: Vec<String>,
}

impl Default for AttackProtection {
    fn default() -> Self {
        Self {
            brute_force: true,
            brute_force_max_attempts: 10,
            suspicious_ip_throttling: true,
            suspicious_ip_max_attempts: 100,
            token_rate_limit_per_minute: 0,
            management_rate_limit_per_minute: 1_000,
            login_transactions_per_ip: 600,
            allowlist: Vec::new(),
        }
    }
}

fn default_id_token_lifetime() -> i64 {
    36_000
}
fn default_script_time_limit_ms() -> i64 {
    500
}
fn default_session_lifetime() -> i64 {
    30 * 86_400
}
fn default_session_idle_lifetime() -> i64 {
    3 * 86_400
}
fn default_refresh_token_lifetime() -> i64 {
    2_592_000
}
fn default_refresh_token_idle_lifetime() -> i64 {
    1_296_000
}

impl Tenant {
    /// The hard cap on a script's time limit.
    pub const MAX_SCRIPT_TIME_LIMIT_MS: i64 = 5_000;

    pub fn new(id: &str, issuer: &str, now: i64) -> Self {
        Self {
            id: id.to_owned(),
            issuer: normalize_issuer(issuer),
            default_audience: None,
            id_token_lifetime: default_id_token_lifetime(),
            version: 0,
            created_at: now,
            issuer_is_default: false,
            master_key_check: None,
            session_lifetime: default_session_lifetime(),
            session_idle_lifetime: default_session_idle_lifetime(),
            refresh_token_lifetime: default_refresh_token_lifetime(),
            refresh_token_idle_lifetime: default_refresh_token_idle_lifetime(),
            refresh_token_reuse_interval: 0,
            script_time_limit_ms: default_script_time_limit_ms(),
            attack_protection: AttackProtection::default(),
        }
    }

    /// An absolute URL under the issuer, e.g. `endpoint("oauth/token")`.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path.trim_start_matches('/'))
    }

    /// The audience that names the `/userinfo` endpoint (an opaque-token audience).
    pub fn userinfo_audience(&self) -> String {
        self.endpoint("userinfo")
    }

    pub fn management_json(&self) -> Value {
        json!({
            "tenant": self.id,
            "issuer": self.issuer,
            "default_audience": self.default_audience.clone().unwrap_or_default(),
            "id_token_lifetime": self.id_token_lifetime,
            "script_time_limit_ms": self.script_time_limit_ms,
            "idle_session_lifetime": self.session_idle_lifetime / 3600,
            "session_lifetime": self.session_lifetime / 3600,
            "refresh_token": {
                "rotation_type": "rotating",
                "leeway": self.refresh_token_reuse_interval,
                "token_lifetime": self.refresh_token_lifetime,
                "idle_token_lifetime": self.refresh_token_idle_lifetime,
            },
            "attack_protection": {
                "brute_force_protection": {
                    "enabled": self.attack_protection.brute_force,
                    "max_attempts": self.attack_protection.brute_force_max_attempts,
                },
                "suspicious_ip_throttling": {
                    "enabled": self.attack_protection.suspicious_ip_throttling,
                    "max_attempts": self.attack_protection.suspicious_ip_max_attempts,
                },
                "token_rate_limit_per_minute": self.attack_protection.token_rate_limit_per_minute,
                "management_rate_limit_per_minute": self.attack_protection.management_rate_limit_per_minute,
                "login_transactions_per_ip": self.attack_protection.login_transactions_per_ip,
                "allowlist": self.attack_protection.allowlist,
            },
        })
    }
}

/// Issuers end with exactly one `/`, as Auth0's do (`https://TENANT.auth0.com/`).
pub fn normalize_issuer(issuer: &str) -> String {
    format!("{}/", issuer.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_gets_one_trailing_slash_and_endpoints_hang_off_it() {
        let t = Tenant::new("default", "http://127.0.0.1:3000", 0);
        assert_eq!(t.issuer, "http://127.0.0.1:3000/");
        assert_eq!(
            t.endpoint("/oauth/token"),
            "http://127.0.0.1:3000/oauth/token"
        );
        assert_eq!(
            normalize_issuer("https://x.example//"),
            "https://x.example/"
        );
    }
}
