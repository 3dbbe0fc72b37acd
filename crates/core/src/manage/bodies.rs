//! Management API request bodies in Auth0's names, and how they become the layer's specs.
//! A body is read with the path of any wrong field ([`parse_body`]), so a 400 names it; fields
//! Tessera does not keep are accepted and ignored (the Deploy CLI sends Auth0's whole object).

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{AppSpec, ManageError, ManageResult};
use crate::model::DATABASE_CONNECTION;

/// Reads a JSON body into `T`; a malformed body or a wrong field is a 400 that names it.
pub fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> ManageResult<T> {
    if body.is_empty() {
        return Err(ManageError::invalid("the request needs a JSON body"));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path.is_empty() || path == "." {
            ManageError::invalid(format!(
                "the body is not valid JSON for this request: {inner}"
            ))
        } else {
            ManageError::Invalid {
                field: None,
                message: format!("{path}: {inner}"),
            }
        }
    })?;
    de.end()
        .map_err(|e| ManageError::invalid(format!("the body has more after its JSON: {e}")))?;
    Ok(value)
}

/// `POST /clients`, `PATCH /clients/{id}`.
#[derive(Debug, Default, Deserialize)]
pub struct ClientBody {
    pub name: Option<String>,
    pub app_type: Option<String>,
    pub callbacks: Option<Vec<String>>,
    pub allowed_logout_urls: Option<Vec<String>>,
    pub web_origins: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    pub oidc_conformant: Option<bool>,
}

impl ClientBody {
    /// The spec of a new client: Auth0 makes a regular web application when no type is given.
    pub fn into_create_spec(self) -> AppSpec {
        let mut spec = self.into_update_spec();
        spec.app_type.get_or_insert_with(|| "regular_web".into());
        spec
    }

    pub fn into_update_spec(self) -> AppSpec {
        AppSpec {
            name: self.name,
            app_type: self.app_type,
            callbacks: self.callbacks,
            logout_urls: self.allowed_logout_urls,
            web_origins: self.web_origins,
            grant_types: self.grant_types,
            auth_method: self.token_endpoint_auth_method,
            legacy: self.oidc_conformant.map(|c| !c),
            ..Default::default()
        }
    }
}

/// A scope of a resource server: `{value, description}`.
#[derive(Debug, Deserialize)]
pub struct ScopeBody {
    pub value: String,
    #[serde(default)]
    pub description: String,
}

/// `POST /resource-servers`, `PATCH /resource-servers/{id}`.
#[derive(Debug, Default, Deserialize)]
pub struct ResourceServerBody {
    pub name: Option<String>,
    pub identifier: Option<String>,
    pub scopes: Option<Vec<ScopeBody>>,
    pub signing_alg: Option<String>,
    pub token_lifetime: Option<i64>,
    pub token_lifetime_for_web: Option<i64>,
    pub token_dialect: Option<String>,
    pub allow_offline_access: Option<bool>,
    pub enforce_policies: Option<bool>,
}

impl ResourceServerBody {
    pub fn into_spec(self) -> super::ApiSpec {
        super::ApiSpec {
            name: self.name,
            identifier: self.identifier,
            scopes: self
                .scopes
                .map(|v| v.into_iter().map(|s| s.value).collect()),
            signing_alg: self.signing_alg,
            token_lifetime: self.token_lifetime,
            token_lifetime_for_web: self.token_lifetime_for_web,
            token_dialect: self.token_dialect,
            allow_offline_access: self.allow_offline_access,
            enforce_policies: self.enforce_policies,
        }
    }
}

/// `POST /client-grants`.
#[derive(Debug, Deserialize)]
pub struct ClientGrantBody {
    pub client_id: String,
    pub audience: String,
    #[serde(default)]
    pub scope: Vec<String>,
}

/// `PATCH /client-grants/{id}`.
#[derive(Debug, Deserialize)]
pub struct ClientGrantPatch {
    pub scope: Vec<String>,
}

/// `POST /users`, `PATCH /users/{id}`.
#[derive(Debug, Default, Deserialize)]
pub struct UserBody {
    pub email: Option<String>,
    pub password: Option<String>,
    pub name: Option<String>,
    pub email_verified: Option<bool>,
    pub blocked: Option<bool>,
    pub app_metadata: Option<Map<String, Value>>,
    pub user_metadata: Option<Map<String, Value>>,
    pub connection: Option<String>,
}

impl UserBody {
    /// The layer's spec; `merge` for a `PATCH` (metadata merged one level deep).
    pub fn to_spec(&self, merge: bool) -> super::UserSpec {
        let json = |m: &Option<Map<String, Value>>| {
            m.as_ref().map(|m| Value::Object(m.clone()).to_string())
        };
        super::UserSpec {
            email: self.email.clone(),
            password: self.password.as_deref().map(crate::secret::Secret::new),
            name: self.name.clone(),
            email_verified: self.email_verified,
            app_metadata: json(&self.app_metadata),
            user_metadata: json(&self.user_metadata),
            merge_metadata: merge,
        }
    }

    /// Only the one database connection exists.
    pub fn check_connection(&self) -> ManageResult<()> {
        match self.connection.as_deref() {
            None | Some(DATABASE_CONNECTION) => Ok(()),
            Some(other) => Err(ManageError::field(
                "connection",
                format!(
                    "no connection named '{}': the only one is {DATABASE_CONNECTION}",
                    other.escape_default()
                ),
            )),
        }
    }
}

/// `POST /roles`, `PATCH /roles/{id}`.
#[derive(Debug, Default, Deserialize)]
pub struct RoleBody {
    pub name: Option<String>,
    pub description: Option<String>,
}

/// `{roles: [...]}` of `POST|DELETE /users/{id}/roles`.
#[derive(Debug, Deserialize)]
pub struct RolesBody {
    pub roles: Vec<String>,
}

/// `{users: [...]}` of `POST /roles/{id}/users`.
#[derive(Debug, Deserialize)]
pub struct UsersBody {
    pub users: Vec<String>,
}

/// `{permissions: [{permission_name, resource_server_identifier}]}`.
#[derive(Debug, Deserialize)]
pub struct PermissionsBody {
    pub permissions: Vec<PermissionBody>,
}

#[derive(Debug, Deserialize)]
pub struct PermissionBody {
    pub permission_name: String,
    pub resource_server_identifier: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_fields_are_named_and_unknown_ones_ignored() {
        let e = parse_body::<ClientBody>(br#"{"name": 5}"#).unwrap_err();
        assert!(e.to_string().starts_with("name: invalid type"), "{e}");
        let e = parse_body::<ClientBody>(br#"{"callbacks": ["a", 1]}"#).unwrap_err();
        assert!(
            e.to_string().starts_with("callbacks[1]: invalid type"),
            "{e}"
        );
        assert!(parse_body::<ClientBody>(b"not json").is_err());
        assert!(parse_body::<ClientBody>(b"").is_err());
        assert!(parse_body::<ClientBody>(b"{} {}").is_err());
        assert!(parse_body::<ClientBody>(b"[]").is_err());
        let ok =
            parse_body::<ClientBody>(br#"{"name":"x","sso":true,"jwt_configuration":{}}"#).unwrap();
        assert_eq!(ok.name.as_deref(), Some("x"));
        let e = parse_body::<ClientGrantBody>(br#"{"client_id":"c"}"#).unwrap_err();
        assert!(e.to_string().contains("audience"), "{e}");
    }
}

/// `PATCH /tenants/settings`: the shape `GET` answers; session lifetimes in hours, as on
/// Auth0, the rest in seconds.
#[derive(Debug, Default, Deserialize)]
pub struct TenantSettingsBody {
    pub default_audience: Option<String>,
    pub id_token_lifetime: Option<i64>,
    pub script_time_limit_ms: Option<i64>,
    pub session_lifetime: Option<f64>,
    pub idle_session_lifetime: Option<f64>,
    pub refresh_token: Option<RefreshTokenSettings>,
    pub attack_protection: Option<AttackProtectionBody>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RefreshTokenSettings {
    pub leeway: Option<i64>,
    pub token_lifetime: Option<i64>,
    pub idle_token_lifetime: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct AttackProtectionBody {
    pub brute_force_protection: Option<Toggle>,
    pub suspicious_ip_throttling: Option<Toggle>,
    pub token_rate_limit_per_minute: Option<i64>,
    pub management_rate_limit_per_minute: Option<i64>,
    pub login_transactions_per_ip: Option<i64>,
    pub allowlist: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Toggle {
    pub enabled: Option<bool>,
    pub max_attempts: Option<i64>,
}

impl TenantSettingsBody {
    pub fn into_settings(self) -> ManageResult<super::TenantSettings> {
        let hours = |field: &'static str, h: Option<f64>| -> ManageResult<Option<i64>> {
            match h {
                None => Ok(None),
                Some(h) if h.is_finite() && h > 0.0 && h <= 8_760.0 => {
                    Ok(Some((h * 3600.0).round() as i64))
                }
                Some(_) => Err(ManageError::field(
                    field,
                    "must be between 0 and 8760 hours",
                )),
            }
        };
        let rt = self.refresh_token.unwrap_or_default();
        let ap = self.attack_protection.unwrap_or_default();
        let bf = ap.brute_force_protection.unwrap_or_default();
        let ip = ap.suspicious_ip_throttling.unwrap_or_default();
        Ok(super::TenantSettings {
            default_audience: self.default_audience,
            lifetimes: super::TenantLifetimes {
                id_token_lifetime: self.id_token_lifetime,
                session_lifetime: hours("session_lifetime", self.session_lifetime)?,
                session_idle_lifetime: hours("idle_session_lifetime", self.idle_session_lifetime)?,
                refresh_token_lifetime: rt.token_lifetime,
                refresh_token_idle_lifetime: rt.idle_token_lifetime,
                refresh_token_reuse_interval: rt.leeway,
                script_time_limit_ms: self.script_time_limit_ms,
            },
            attack: super::AttackSettings {
                brute_force: bf.enabled,
                brute_force_max_attempts: bf.max_attempts,
                suspicious_ip_throttling: ip.enabled,
                suspicious_ip_max_attempts: ip.max_attempts,
                token_rate_limit_per_minute: ap.token_rate_limit_per_minute,
                management_rate_limit_per_minute: ap.management_rate_limit_per_minute,
                login_transactions_per_ip: ap.login_transactions_per_ip,
                allowlist: ap.allowlist,
            },
        })
    }
}

/// A trigger an action is for: `{id: "post-login", version: "v3"}`.
#[derive(Debug, Deserialize)]
pub struct TriggerRef {
    pub id: String,
}

/// An action's secret: `{name, value}` (Auth0 never shows values back).
#[derive(Debug, Deserialize)]
pub struct SecretBody {
    pub name: String,
    pub value: Option<String>,
}

/// `POST /actions/actions`, `PATCH /actions/actions/{id}`.
#[derive(Debug, Default, Deserialize)]
pub struct ActionBody {
    pub name: Option<String>,
    pub supported_triggers: Option<Vec<TriggerRef>>,
    pub code: Option<String>,
    pub secrets: Option<Vec<SecretBody>>,
}

impl ActionBody {
    pub fn into_spec(self) -> ManageResult<super::ScriptSpec> {
        let trigger = match self.supported_triggers.as_deref() {
            None => None,
            Some([one]) => Some(one.id.clone()),
            Some(_) => {
                return Err(ManageError::field(
                    "supported_triggers",
                    "name exactly one trigger",
                ));
            }
        };
        Ok(super::ScriptSpec {
            name: self.name,
            trigger,
            code: self.code,
            secrets: self
                .secrets
                .unwrap_or_default()
                .into_iter()
                .filter_map(|s| s.value.map(|v| (s.name, v)))
                .collect(),
            order: None,
        })
    }
}

/// `POST /rules`, `PATCH /rules/{id}`.
#[derive(Debug, Default, Deserialize)]
pub struct RuleBody {
    pub name: Option<String>,
    pub script: Option<String>,
    pub order: Option<i64>,
    pub enabled: Option<bool>,
}

impl RuleBody {
    pub fn to_spec(&self) -> super::ScriptSpec {
        super::ScriptSpec {
            name: self.name.clone(),
            trigger: None,
            code: self.script.clone(),
            secrets: Vec::new(),
            order: self.order,
        }
    }
}

/// `PATCH /actions/triggers/{trigger}/bindings`.
#[derive(Debug, Deserialize)]
pub struct BindingsBody {
    pub bindings: Vec<BindingBody>,
}

#[derive(Debug, Deserialize)]
pub struct BindingBody {
    #[serde(rename = "ref")]
    pub reference: BindingRefBody,
}

#[derive(Debug, Deserialize)]
pub struct BindingRefBody {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

impl BindingsBody {
    pub fn refs(&self) -> ManageResult<Vec<super::ActionRef>> {
        self.bindings
            .iter()
            .map(|b| match b.reference.kind.as_str() {
                "action_id" => Ok(super::ActionRef::Id(b.reference.value.clone())),
                "action_name" => Ok(super::ActionRef::Name(b.reference.value.clone())),
                other => Err(ManageError::field(
                    "bindings",
                    format!(
                        "ref type '{}': use action_id or action_name",
                        other.escape_default()
                    ),
                )),
            })
            .collect()
    }
}
