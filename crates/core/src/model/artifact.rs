//! Short-lived grant artifacts: login transactions, sessions, authorization codes, opaque access
//! tokens and refresh tokens. One shape for all of them (after node-oidc-provider's adapter): a
//! row named by the SHA-256 of its secret (the secret itself is never stored, after fosite), a
//! family that is revoked as one (the grant, or the session), an expiry and a consumed mark for
//! single use.

use serde_json::Value;

/// How long a user may take on the login page: a login transaction's lifetime.
pub const LOGIN_TRANSACTION_LIFETIME: i64 = 30 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArtifactKind {
    /// An `/authorize` request waiting for the user at the login page.
    LoginTransaction,
    /// A browser's sign-in at the tenant (the session cookie).
    Session,
    AuthorizationCode,
    /// An opaque access token (for `/userinfo`).
    AccessToken,
    RefreshToken,
}

impl ArtifactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginTransaction => "login_transaction",
            Self::Session => "session",
            Self::AuthorizationCode => "authorization_code",
            Self::AccessToken => "access_token",
            Self::RefreshToken => "refresh_token",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "login_transaction" => Self::LoginTransaction,
            "session" => Self::Session,
            "authorization_code" => Self::AuthorizationCode,
            "access_token" => Self::AccessToken,
            "refresh_token" => Self::RefreshToken,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    pub tenant_id: String,
    pub kind: ArtifactKind,
    /// Lowercase hex SHA-256 of the secret that names the artifact.
    pub id_hash: String,
    /// The grant (for codes and tokens) or session id (for sessions): revoked together.
    pub family: String,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    /// Kind-specific facts (scopes, nonce, PKCE challenge, …) as JSON.
    pub payload: Value,
    pub created_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
}

impl Artifact {
    pub fn is_live(&self, now: i64) -> bool {
        self.consumed_at.is_none() && self.expires_at > now
    }
}
