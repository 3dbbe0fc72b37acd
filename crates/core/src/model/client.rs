//! An application (OAuth client), with Auth0's app types and their default grant types and
//! token endpoint authentication methods (RFC 6749 §2, RFC 7591 §2).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::secret::SecretHash;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppType {
    Spa,
    Native,
    RegularWeb,
    /// Machine-to-machine.
    NonInteractive,
}

impl AppType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spa => "spa",
            Self::Native => "native",
            Self::RegularWeb => "regular_web",
            Self::NonInteractive => "non_interactive",
        }
    }

    /// Accepts the CLI's short names (`regular`, `m2m`) and Auth0's (`regular_web`, `non_interactive`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "spa" => Some(Self::Spa),
            "native" => Some(Self::Native),
            "regular" | "regular_web" => Some(Self::RegularWeb),
            "m2m" | "non_interactive" => Some(Self::NonInteractive),
            _ => None,
        }
    }

    /// Public clients cannot keep a secret (RFC 6749 §2.1).
    pub fn is_public(self) -> bool {
        matches!(self, Self::Spa | Self::Native)
    }

    /// Auth0's defaults for a new application of this type.
    pub fn default_grant_types(self) -> Vec<GrantType> {
        use GrantType::*;
        match self {
            Self::Spa | Self::Native => vec![AuthorizationCode, Implicit, RefreshToken],
            Self::RegularWeb => vec![AuthorizationCode, Implicit, RefreshToken, ClientCredentials],
            Self::NonInteractive => vec![ClientCredentials],
        }
    }

    pub fn default_auth_method(self) -> AuthMethod {
        if self.is_public() {
            AuthMethod::None
        } else {
            AuthMethod::ClientSecretPost
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GrantType {
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
    #[serde(rename = "implicit")]
    Implicit,
    #[serde(rename = "refresh_token")]
    RefreshToken,
    #[serde(rename = "client_credentials")]
    ClientCredentials,
    #[serde(rename = "password")]
    Password,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::Implicit => "implicit",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::Password => "password",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "authorization_code" => Self::AuthorizationCode,
            "implicit" => Self::Implicit,
            "refresh_token" => Self::RefreshToken,
            "client_credentials" => Self::ClientCredentials,
            "password" => Self::Password,
            _ => return None,
        })
    }

    pub const ALL: [GrantType; 5] = [
        Self::AuthorizationCode,
        Self::Implicit,
        Self::RefreshToken,
        Self::ClientCredentials,
        Self::Password,
    ];
}

/// `token_endpoint_auth_method` (RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    None,
    ClientSecretPost,
    ClientSecretBasic,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretPost => "client_secret_post",
            Self::ClientSecretBasic => "client_secret_basic",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "client_secret_post" => Some(Self::ClientSecretPost),
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    pub tenant_id: String,
    pub client_id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub app_type: AppType,
    #[serde(default)]
    pub callbacks: Vec<String>,
    #[serde(default)]
    pub allowed_logout_urls: Vec<String>,
    #[serde(default)]
    pub web_origins: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub token_endpoint_auth_method: AuthMethod,
    /// `false` for legacy (pre-OIDC) applications.
    pub oidc_conformant: bool,
    pub is_first_party: bool,
    /// SHA-256 of the client secret; `None` for public clients. The secret itself is shown once.
    #[serde(default)]
    pub client_secret_hash: Option<SecretHash>,
    #[serde(default)]
    pub client_metadata: Map<String, Value>,
    /// Accept PKCE `code_challenge_method=plain` (RFC 7636 §4.2) as well as S256. Off by default.
    #[serde(default)]
    pub allow_pkce_plain: bool,
    /// A disabled application gets nothing: no login, no tokens (not even from its refresh
    /// tokens), no userinfo for its access tokens.
    #[serde(default)]
    pub disabled: bool,
    /// Accept only the registered `token_endpoint_auth_method`. Off by default: an application
    /// with a secret may send it by HTTP Basic or in the body, as RFC 6749 §2.3.1 lets clients
    /// choose (libraries differ in their default).
    #[serde(default)]
    pub strict_auth_method: bool,
    /// How many times the object was written: a write names the version it read and fails
    /// with `StoreError::Stale` if another write came between (see `store`).
    #[serde(default)]
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Client {
    /// Is `origin` (`scheme://host[:port]`, as a browser sends it in `Origin`) one of the
    /// application's allowed web origins? A disabled application allows none.
    pub fn allows_web_origin(&self, origin: &str) -> bool {
        !self.disabled
            && self
                .web_origins
                .iter()
                .any(|w| w.trim_end_matches('/') == origin)
    }

    /// Is `url` one of the allowed logout URLs (exact match)?
    pub fn allows_logout_url(&self, url: &str) -> bool {
        self.allowed_logout_urls.iter().any(|u| u == url)
    }

    pub fn allows_grant(&self, g: GrantType) -> bool {
        self.grant_types.contains(&g)
    }

    /// A client that does not authenticate at the token endpoint (a SPA, a native app, or any
    /// app set to `none`): its codes need PKCE (RFC 9700 §2.1.1).
    pub fn is_public(&self) -> bool {
        self.app_type.is_public() || self.token_endpoint_auth_method == AuthMethod::None
    }

    /// The Management API shape. `client_secret` is added by the caller only at creation or
    /// rotation, the one time it exists in the clear.
    pub fn management_json(&self) -> Value {
        json!({
            "tenant": self.tenant_id,
            "client_id": self.client_id,
            "name": self.name,
            "description": self.description,
            "app_type": self.app_type.as_str(),
            "callbacks": self.callbacks,
            "allowed_logout_urls": self.allowed_logout_urls,
            "web_origins": self.web_origins,
            "grant_types": self.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
            "token_endpoint_auth_method": self.token_endpoint_auth_method.as_str(),
            "oidc_conformant": self.oidc_conformant,
            "is_first_party": self.is_first_party,
            "client_metadata": self.client_metadata,
            "allow_pkce_plain": self.allow_pkce_plain,
            "disabled": self.disabled,
            "strict_auth_method": self.strict_auth_method,
            "jwt_configuration": { "alg": "RS256", "lifetime_in_seconds": 36000 },
            "created_at": crate::time::rfc3339(self.created_at),
            "updated_at": crate::time::rfc3339(self.updated_at),
        })
    }
}
