//! Scripts that shape tokens: Auth0-style Actions (`exports.onExecutePostLogin`,
//! `exports.onExecuteCredentialsExchange`) and legacy Rules (`function (user, context,
//! callback)`). Their secrets are stored sealed with the master key.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptKind {
    Action,
    Rule,
}

impl ScriptKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Action => "action",
            Self::Rule => "rule",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Trigger {
    #[serde(rename = "post-login")]
    PostLogin,
    #[serde(rename = "credentials-exchange")]
    CredentialsExchange,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PostLogin => "post-login",
            Self::CredentialsExchange => "credentials-exchange",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "post-login" => Some(Self::PostLogin),
            "credentials-exchange" => Some(Self::CredentialsExchange),
            _ => None,
        }
    }

    /// The export an Action implements for this trigger.
    pub fn export_name(self) -> &'static str {
        match self {
            Self::PostLogin => "onExecutePostLogin",
            Self::CredentialsExchange => "onExecuteCredentialsExchange",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Script {
    pub tenant_id: String,
    /// `act_…` or `rul_…`.
    pub id: String,
    pub kind: ScriptKind,
    /// Unique per tenant and kind.
    pub name: String,
    /// Actions only; rules always run at login.
    #[serde(default)]
    pub trigger: Option<Trigger>,
    pub code: String,
    /// The secrets (`event.secrets`, or a rule's `configuration`) as a JSON object, sealed with
    /// the master key (base64).
    #[serde(default)]
    pub secrets_enc: Option<String>,
    /// A rule that is enabled, or an action that is deployed: it runs.
    pub enabled: bool,
    /// Run order within its kind (and trigger), lowest first.
    pub order: i64,
    /// How many times the object was written: a write names the version it read and fails
    /// with `StoreError::Stale` if another write came between (see `store`).
    #[serde(default)]
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Script {
    pub fn new_id(kind: ScriptKind) -> String {
        let prefix = match kind {
            ScriptKind::Action => "act",
            ScriptKind::Rule => "rul",
        };
        format!("{prefix}_{}", crate::secret::random_alphanumeric(16))
    }

    /// The Management API shape; secrets are listed by name only.
    pub fn management_json(&self, secret_names: &[String]) -> Value {
        let mut v = json!({
            "id": self.id,
            "name": self.name,
            "order": self.order,
            "script": self.code,
            "created_at": crate::time::rfc3339(self.created_at),
            "updated_at": crate::time::rfc3339(self.updated_at),
        });
        match self.kind {
            ScriptKind::Rule => {
                v["enabled"] = self.enabled.into();
                v["stage"] = "login_success".into();
            }
            ScriptKind::Action => {
                v["supported_triggers"] =
                    json!([{ "id": self.trigger.map(Trigger::as_str), "version": "v3" }]);
                v["status"] = (if self.enabled { "deployed" } else { "built" }).into();
                v["code"] = self.code.clone().into();
                v["deployed"] = self.enabled.into();
                v["all_changes_deployed"] = self.enabled.into();
                v["runtime"] = "node18".into();
                v["dependencies"] = json!([]);
                v["secrets"] = secret_names
                    .iter()
                    .map(|n| json!({ "name": n }))
                    .collect::<Vec<_>>()
                    .into();
            }
        }
        v
    }
}
