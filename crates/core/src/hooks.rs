//! The claims hook: where scripts shape tokens. Core collects the scripts and builds the
//! event; an implementation (tessera-actions, JavaScript on QuickJS) runs them; core then
//! applies the outcome under Auth0's claim rules (AUTH0-BEHAVIOR.md, "Custom claims"):
//! on access tokens for an API, custom claims must be namespaced with an `http(s)://` URL;
//! reserved claims are never overwritten; all custom claims together are capped at 100 KB;
//! a dropped claim is logged with the script's name and never fails the login.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{ScriptKind, Trigger};

/// What scripts see of the HTTP request (`event.request`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestInfo {
    pub ip: String,
    pub hostname: String,
    pub user_agent: String,
    #[serde(default)]
    pub query: Map<String, Value>,
}

/// One script to run, with its secrets decrypted.
#[derive(Debug, Clone)]
pub struct HookScript {
    pub name: String,
    pub kind: ScriptKind,
    pub code: String,
    pub secrets: Map<String, Value>,
}

/// A trigger's scripts in run order, shared: a login hands the cached list to the engine
/// without copying the code.
pub type Scripts = std::sync::Arc<[HookScript]>;

/// A trigger's run: its scripts in order (rules first), and the event they see.
#[derive(Debug, Clone)]
pub struct HookRequest {
    pub trigger: Trigger,
    pub scripts: Scripts,
    /// Auth0's `event` for Actions (`user`, `client`, `request`, `resource_server`, …); rules
    /// get `user` and a `context` built from the same facts.
    pub event: Value,
    /// Per script.
    pub time_limit: Duration,
}

/// A claim a script set, with the script's name for the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetClaim {
    pub script: String,
    pub name: String,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Denial {
    pub script: String,
    /// `api.access.deny(code, reason)` in credentials-exchange; `None` means `access_denied`.
    pub code: Option<String>,
    pub reason: String,
}

/// What the scripts asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HookOutcome {
    pub access_claims: Vec<SetClaim>,
    pub id_claims: Vec<SetClaim>,
    pub add_scopes: Vec<String>,
    pub remove_scopes: Vec<String>,
    pub deny: Option<Denial>,
    /// Keys to set on the user's metadata (`null` deletes), persisted after the trigger.
    pub app_metadata: Map<String, Value>,
    pub user_metadata: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HookError {
    /// The script threw, ran out of time or memory, or never finished.
    #[error("{script}: {message}")]
    Script { script: String, message: String },
    #[error("script runtime: {0}")]
    Internal(String),
}

#[async_trait]
pub trait ClaimsHook: Send + Sync {
    async fn run(&self, req: HookRequest) -> Result<HookOutcome, HookError>;
    /// Compiles a script without running it: `Err("line L, column C: …")` for a syntax error.
    fn check(&self, kind: ScriptKind, code: &str) -> Result<(), String>;
}

/// Claims only the server sets (RFC 7519, OIDC Core, RFC 9068, Auth0's own).
pub const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "azp",
    "scope",
    "scp",
    "gty",
    "permissions",
    "client_id",
    "auth_time",
    "nonce",
    "at_hash",
    "c_hash",
    "sid",
    "acr",
    "amr",
    "typ",
    "cnf",
    "org_id",
    "org_name",
    "act",
    "may_act",
];

/// Total size of a token's custom claims, as JSON.
pub const MAX_CUSTOM_CLAIMS_BYTES: usize = 100 * 1024;

/// Namespaces that belong to Auth0 and are refused there too.
const FORBIDDEN_NAMESPACES: &[&str] = &["auth0.com", "webtask.io", "webtask.run"];

fn is_namespaced(name: &str) -> bool {
    name.strip_prefix("https://")
        .or_else(|| name.strip_prefix("http://"))
        .is_some_and(|rest| !rest.is_empty())
}

/// Applies the claim rules and returns the claims to add. `for_api_access_token`: the token is
/// an access token for a registered API (namespaces required); otherwise an ID token.
pub fn accepted_claims(claims: &[SetClaim], for_api_access_token: bool) -> Map<String, Value> {
    let token = if for_api_access_token {
        "access token"
    } else {
        "ID token"
    };
    let mut out = Map::new();
    let mut size = 0usize;
    for c in claims {
        let refuse = |why: &str| {
            tracing::warn!(script = %c.script, claim = %c.name, token, "custom claim dropped: {why}");
        };
        if RESERVED_CLAIMS.contains(&c.name.as_str()) {
            refuse("reserved claims cannot be set");
            continue;
        }
        if for_api_access_token && !is_namespaced(&c.name) {
            refuse(
                "claims on an API's access token must be namespaced, e.g. https://example.com/claim",
            );
            continue;
        }
        if FORBIDDEN_NAMESPACES.iter().any(|d| c.name.contains(d)) {
            refuse("auth0.com, webtask.io and webtask.run namespaces are not allowed");
            continue;
        }
        if c.name.is_empty() {
            refuse("empty claim name");
            continue;
        }
        let bytes = c.name.len() + serde_json::to_string(&c.value).map_or(0, |s| s.len());
        let replaced = out
            .get(&c.name)
            .map_or(0, |v| c.name.len() + v.to_string().len());
        if size - replaced + bytes > MAX_CUSTOM_CLAIMS_BYTES {
            refuse("custom claims are limited to 100 KB per token");
            continue;
        }
        size = size - replaced + bytes;
        out.insert(c.name.clone(), c.value.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claim(name: &str, value: Value) -> SetClaim {
        SetClaim {
            script: "test".into(),
            name: name.into(),
            value,
        }
    }

    #[test]
    fn access_tokens_for_apis_need_namespaces_and_reserved_claims_are_kept() {
        let claims = [
            claim("https://example.com/app_metadata", json!({"plan": "gold"})),
            claim("http://NAMESPACE", json!(1)),
            claim("plan", json!("gold")),
            claim("sub", json!("someone-else")),
            claim("https://", json!(1)),
            claim("https://x.auth0.com/claim", json!(1)),
        ];
        let at = accepted_claims(&claims, true);
        let names: Vec<&str> = at.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            ["http://NAMESPACE", "https://example.com/app_metadata"]
        );
        let id = accepted_claims(&claims, false);
        assert!(id.contains_key("plan"), "ID tokens allow plain names");
        assert!(!id.contains_key("sub"));
    }

    #[test]
    fn custom_claims_are_capped_at_100_kb() {
        let big = "x".repeat(60 * 1024);
        let claims = [
            claim("https://a.example/1", json!(big)),
            claim("https://a.example/2", json!(big)),
            claim("https://a.example/3", json!("small")),
        ];
        let at = accepted_claims(&claims, true);
        assert!(at.contains_key("https://a.example/1"));
        assert!(!at.contains_key("https://a.example/2"), "over the cap");
        assert!(at.contains_key("https://a.example/3"));
    }
}
