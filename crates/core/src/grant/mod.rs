//! The token endpoint (RFC 6749 §3.2): request parsing, client authentication and the grants.
//! Each grant is a readable list of steps returning a [`TokenResponse`] or an [`OAuthError`].

mod access_token;
pub mod authorization_code;
mod client_auth;
pub mod client_credentials;
pub mod password;
pub mod refresh_token;
mod request;
mod user_tokens;

pub use access_token::{
    AccessTokenClaims, AccessTokenFacts, hs256_aad, hs256_secret, mint_access_token,
};
pub use client_auth::{ClientCredentials, authenticate_client, parse_basic_auth, token_client};
pub use request::{MAX_BODY, TokenRequest};

use serde::Serialize;

use crate::{
    Clock, OAuthError, Store,
    error::ErrorCode,
    keys::{KeyRing, MasterKey},
    model::Tenant,
};

/// Everything a protocol step needs, borrowed for one request.
pub struct Ctx<'a> {
    pub store: &'a dyn Store,
    pub clock: &'a dyn Clock,
    pub keys: &'a KeyRing,
    pub master: &'a MasterKey,
    pub tenant: &'a Tenant,
    /// Runs Actions and Rules; `None` runs none.
    pub hooks: Option<&'a dyn crate::hooks::ClaimsHook>,
    /// Facts about the HTTP request that scripts see as `event.request`.
    pub request: crate::hooks::RequestInfo,
    /// The tenant's scripts, cached; `None` reads them from the store.
    pub scripts: Option<&'a crate::scripts::ScriptSet>,
    /// The tenant's applications, APIs and client grants, cached; `None` reads them from the
    /// store.
    pub config: Option<&'a crate::config::ConfigCache>,
}

/// Why an access token has the format it has: the answer to "why is my token not a JWT?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFormat {
    pub jwt: bool,
    pub reason: String,
}

impl TokenFormat {
    /// A JWT because the audience is a registered API.
    pub fn jwt_for(api: &crate::model::ResourceServer) -> Self {
        Self {
            jwt: true,
            reason: format!(
                "audience {} is a registered API (alg {}, dialect {})",
                api.identifier,
                api.signing_alg.as_str(),
                api.token_dialect.as_str()
            ),
        }
    }

    /// The `Tessera-Token-Format` header value, e.g. `jwt; audience=https://api (RS256, access_token)`.
    pub fn header_value(&self) -> String {
        let kind = if self.jwt { "jwt" } else { "opaque" };
        // Header values are visible ASCII; identifiers are validated ASCII already.
        let reason: String = self
            .reason
            .chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .collect();
        format!("{kind}; {reason}")
    }
}

/// RFC 6749 §5.1.
#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub expires_in: i64,
    pub token_type: &'static str,
    #[serde(skip)]
    pub format: TokenFormat,
    /// Why no refresh token came although `offline_access` was asked for: the
    /// `Tessera-Refresh-Token` header.
    #[serde(skip)]
    pub refresh_refused: Option<String>,
    #[serde(skip)]
    pub grant_type: &'static str,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("scope", &self.scope)
            .field("expires_in", &self.expires_in)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// `POST /oauth/token`: dispatch on `grant_type`.
pub async fn token(ctx: &Ctx<'_>, req: &TokenRequest) -> Result<TokenResponse, OAuthError> {
    match req.grant_type()? {
        "client_credentials" => client_credentials::exchange(ctx, req).await,
        "authorization_code" => authorization_code::exchange(ctx, req).await,
        "refresh_token" => refresh_token::exchange(ctx, req).await,
        "password" => password::exchange(ctx, req).await,
        crate::discovery::PASSWORD_REALM => password::exchange_realm(ctx, req).await,
        other => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!("Unsupported grant type: {}", other.escape_default()),
        )),
    }
}

#[cfg(test)]
mod tests;
