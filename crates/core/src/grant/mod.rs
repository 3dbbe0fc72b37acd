//! The token endpoint (RFC 6749 §3.2): request parsing, client authentication and the grants.
//! Each grant is a readable list of steps returning a [`TokenResponse`] or an [`OAuthError`].

pub mod authorization_code;
mod client_auth;
pub mod client_credentials;
pub mod password;
pub mod refresh_token;
mod request;
mod user_tokens;

pub use client_auth::{ClientCredentials, authenticate_client, parse_basic_auth, token_client};
pub use request::{MAX_BODY, TokenRequest};

use serde::Serialize;

use crate::{OAuthError, context::Ctx, error::ErrorCode, issue::TokenFormat};

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
