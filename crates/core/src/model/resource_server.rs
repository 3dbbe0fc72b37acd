//! An API (resource server): the audience of JWT access tokens, its scopes, signing algorithm,
//! lifetimes and token dialect (Auth0's dialects and the RFC 9068 profile).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    RS256,
    ES256,
    EdDSA,
    HS256,
}

impl SigningAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
            Self::HS256 => "HS256",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RS256" => Some(Self::RS256),
            "ES256" => Some(Self::ES256),
            "EdDSA" => Some(Self::EdDSA),
            "HS256" => Some(Self::HS256),
            _ => None,
        }
    }

    /// Algorithms signed by a key-ring key (asymmetric, published in the JWKS).
    pub const ASYMMETRIC: [SigningAlg; 3] = [Self::RS256, Self::ES256, Self::EdDSA];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenDialect {
    AccessToken,
    AccessTokenAuthz,
    Rfc9068Profile,
    Rfc9068ProfileAuthz,
}

impl TokenDialect {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessToken => "access_token",
            Self::AccessTokenAuthz => "access_token_authz",
            Self::Rfc9068Profile => "rfc9068_profile",
            Self::Rfc9068ProfileAuthz => "rfc9068_profile_authz",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "access_token" => Some(Self::AccessToken),
            "access_token_authz" => Some(Self::AccessTokenAuthz),
            "rfc9068_profile" => Some(Self::Rfc9068Profile),
            "rfc9068_profile_authz" => Some(Self::Rfc9068ProfileAuthz),
            _ => None,
        }
    }

    /// RFC 9068: `typ: at+jwt`, `client_id` and `jti`, no `azp`/`gty`.
    pub fn is_rfc9068(self) -> bool {
        matches!(self, Self::Rfc9068Profile | Self::Rfc9068ProfileAuthz)
    }

    /// The `_authz` dialects carry a `permissions` array.
    pub fn has_permissions(self) -> bool {
        matches!(self, Self::AccessTokenAuthz | Self::Rfc9068ProfileAuthz)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeDef {
    pub value: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceServer {
    pub tenant_id: String,
    pub id: String,
    pub name: String,
    /// The audience. Immutable once created, as on Auth0.
    pub identifier: String,
    pub scopes: Vec<ScopeDef>,
    pub signing_alg: SigningAlg,
    /// HS256 only: the API's own secret, encrypted with the master key (base64).
    #[serde(default)]
    pub signing_secret_enc: Option<String>,
    pub token_lifetime: i64,
    pub token_lifetime_for_web: i64,
    pub allow_offline_access: bool,
    pub enforce_policies: bool,
    pub token_dialect: TokenDialect,
    pub skip_consent_for_verifiable_first_party_clients: bool,
    /// The tenant's own Management API: created with the tenant, never changed or deleted.
    #[serde(default)]
    pub is_system: bool,
    /// How many times the object was written: a write names the version it read and fails
    /// with `StoreError::Stale` if another write came between (see `store`).
    #[serde(default)]
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ResourceServer {
    pub const DEFAULT_TOKEN_LIFETIME: i64 = 86_400;
    pub const DEFAULT_TOKEN_LIFETIME_FOR_WEB: i64 = 7_200;
    pub const MAX_TOKEN_LIFETIME: i64 = 2_592_000;

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s.value == scope)
    }

    /// The Management API shape. `signing_secret` (HS256) is added by the caller, decrypted.
    pub fn management_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "identifier": self.identifier,
            "scopes": self.scopes,
            "signing_alg": self.signing_alg.as_str(),
            "token_lifetime": self.token_lifetime,
            "token_lifetime_for_web": self.token_lifetime_for_web,
            "allow_offline_access": self.allow_offline_access,
            "enforce_policies": self.enforce_policies,
            "token_dialect": self.token_dialect.as_str(),
            "skip_consent_for_verifiable_first_party_clients":
                self.skip_consent_for_verifiable_first_party_clients,
            "is_system": self.is_system,
        })
    }
}
