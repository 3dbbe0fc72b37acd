//! A tenant log event, shaped like Auth0's (`GET /api/v2/logs`): what happened (`type`, Auth0's
//! codes), when, to which application and user, from where. Never a password, secret or token.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Auth0's event type codes for what Tessera does.
pub mod codes {
    /// Successful login / failed login (wrong password) / failed login (unknown user) / failed.
    pub const SUCCESS_LOGIN: &str = "s";
    pub const FAILED_LOGIN: &str = "f";
    pub const FAILED_LOGIN_PASSWORD: &str = "fp";
    pub const FAILED_LOGIN_USER: &str = "fu";
    /// Blocked by brute-force protection (an email from an IP) / suspicious IP throttled.
    pub const BLOCKED_ACCOUNT: &str = "limit_wc";
    pub const BLOCKED_IP: &str = "limit_mu";
    /// Exchanges at the token endpoint: success / failure per grant.
    pub const CODE_EXCHANGE: &str = "seacft";
    pub const CODE_EXCHANGE_FAILED: &str = "feacft";
    pub const REFRESH_EXCHANGE: &str = "sertft";
    pub const REFRESH_EXCHANGE_FAILED: &str = "fertft";
    pub const CREDENTIALS_EXCHANGE: &str = "seccft";
    pub const CREDENTIALS_EXCHANGE_FAILED: &str = "feccft";
    pub const PASSWORD_EXCHANGE: &str = "sepft";
    pub const PASSWORD_EXCHANGE_FAILED: &str = "fepft";
    /// Logout.
    pub const LOGOUT: &str = "slo";
    /// Management API: a change made / refused.
    pub const API_OPERATION: &str = "sapi";
    pub const API_OPERATION_FAILED: &str = "fapi";

    /// The code of a token-endpoint exchange, by grant type and outcome.
    pub fn for_grant(grant_type: &str, ok: bool) -> Option<&'static str> {
        Some(match (grant_type, ok) {
            ("client_credentials", true) => CREDENTIALS_EXCHANGE,
            ("client_credentials", false) => CREDENTIALS_EXCHANGE_FAILED,
            ("authorization_code", true) => CODE_EXCHANGE,
            ("authorization_code", false) => CODE_EXCHANGE_FAILED,
            ("refresh_token", true) => REFRESH_EXCHANGE,
            ("refresh_token", false) => REFRESH_EXCHANGE_FAILED,
            ("password" | "http://auth0.com/oauth/grant-type/password-realm", true) => {
                PASSWORD_EXCHANGE
            }
            ("password" | "http://auth0.com/oauth/grant-type/password-realm", false) => {
                PASSWORD_EXCHANGE_FAILED
            }
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEvent {
    pub tenant_id: String,
    /// Sortable: later events have greater ids.
    pub log_id: String,
    /// Milliseconds since the epoch.
    pub date: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_name: Option<String>,
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub connection: Option<String>,
    #[serde(default)]
    pub details: Value,
}

impl LogEvent {
    /// A new event of `kind` now, with a fresh sortable id (time first, then randomness).
    pub fn new(tenant: &str, kind: &str, description: impl Into<String>, date_ms: i64) -> Self {
        let random = hex::encode(crate::secret::random_bytes(6));
        Self {
            tenant_id: tenant.to_owned(),
            log_id: format!("{date_ms:013x}{random}"),
            date: date_ms,
            kind: kind.to_owned(),
            description: description.into(),
            client_id: None,
            client_name: None,
            ip: None,
            user_agent: None,
            user_id: None,
            user_name: None,
            connection: None,
            details: Value::Null,
        }
    }

    /// Auth0's shape.
    pub fn management_json(&self) -> Value {
        let secs = self.date.div_euclid(1000);
        // `rfc3339` ends in `.000Z`: put the milliseconds there.
        let whole = crate::time::rfc3339(secs);
        let date = format!(
            "{}{:03}Z",
            whole.trim_end_matches("000Z"),
            self.date.rem_euclid(1000)
        );
        let mut v = json!({
            "log_id": self.log_id,
            "_id": self.log_id,
            "date": date,
            "type": self.kind,
            "description": self.description,
        });
        let o = v.as_object_mut().expect("an object");
        for (k, val) in [
            ("client_id", &self.client_id),
            ("client_name", &self.client_name),
            ("ip", &self.ip),
            ("user_agent", &self.user_agent),
            ("user_id", &self.user_id),
            ("user_name", &self.user_name),
            ("connection", &self.connection),
        ] {
            if let Some(s) = val {
                o.insert(k.to_owned(), Value::String(s.clone()));
            }
        }
        if !self.details.is_null() {
            o.insert("details".into(), self.details.clone());
        }
        v
    }
}

/// Which events: by type, user, application, date range (ms, inclusive), in a page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogQuery {
    pub kinds: Vec<String>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub from_date: Option<i64>,
    pub to_date: Option<i64>,
    /// Checkpoint: events after this log id, oldest first; otherwise newest first.
    pub after: Option<String>,
    pub offset: u64,
    pub limit: u64,
}

impl LogQuery {
    pub fn matches(&self, e: &LogEvent) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&e.kind))
            && self
                .user_id
                .as_ref()
                .is_none_or(|u| e.user_id.as_ref() == Some(u))
            && self
                .client_id
                .as_ref()
                .is_none_or(|c| e.client_id.as_ref() == Some(c))
            && self.from_date.is_none_or(|d| e.date >= d)
            && self.to_date.is_none_or(|d| e.date <= d)
            && self.after.as_ref().is_none_or(|a| e.log_id > *a)
    }
}
