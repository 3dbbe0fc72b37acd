//! The protocol's one error type: an RFC 6749 §5.2 / §4.1.2.1 error code, a description that is
//! safe to show the client, and a private cause that is logged and never sent.

use std::fmt;

/// Error codes from RFC 6749 §4.1.2.1 and §5.2, OpenID Connect Core §3.1.2.6 and RFC 6750 §3.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    AccessDenied,
    UnsupportedResponseType,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    InvalidToken,
    InsufficientScope,
    ServerError,
    TemporarilyUnavailable,
    /// Sign-ins refused by attack protection (Auth0's code), 429.
    TooManyAttempts,
    /// The token endpoint's per-application rate limit (Auth0's code), 429.
    TooManyRequests,
}

impl ErrorCode {
    /// The wire name, e.g. `"invalid_grant"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::TooManyAttempts => "too_many_attempts",
            Self::TooManyRequests => "too_many_requests",
        }
    }

    /// The HTTP status a JSON endpoint answers with. RFC 6749 §5.2 gives 400 (401 for
    /// `invalid_client`); like Auth0, authorization refusals (`access_denied`,
    /// `unauthorized_client`) answer 403.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::AccessDenied | Self::UnauthorizedClient | Self::InsufficientScope => 403,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            Self::TooManyAttempts | Self::TooManyRequests => 429,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol error. `description` goes to the client; `cause` only to the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: String,
    pub cause: Option<String>,
    /// Seconds after which the request may succeed (`Retry-After`), for 429 answers.
    pub retry_after: Option<i64>,
}

impl OAuthError {
    /// The description is cut down to RFC 6749 §5.2's characters (printable ASCII without `"`
    /// and `\`), so client-supplied text echoed in it can break neither JSON, headers nor logs.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        let description = description
            .into()
            .chars()
            .map(|c| match c {
                '"' => '\'',
                '\\' => '/',
                ' '..='~' => c,
                _ => '?',
            })
            .collect();
        Self {
            code,
            description,
            cause: None,
            retry_after: None,
        }
    }

    /// Attach a private cause (logged, never sent).
    pub fn with_cause(mut self, cause: impl fmt::Display) -> Self {
        self.cause = Some(cause.to_string());
        self
    }

    /// Sets `Retry-After` (at least one second).
    pub fn retry_after(mut self, seconds: i64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    pub fn access_denied(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::AccessDenied, description)
    }

    /// An internal failure: the client sees a generic description, the log sees the cause.
    pub fn server_error(cause: impl fmt::Display) -> Self {
        Self::new(
            ErrorCode::ServerError,
            "The server could not complete the request.",
        )
        .with_cause(cause)
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)?;
        if let Some(cause) = &self.cause {
            write!(f, " ({cause})")?;
        }
        Ok(())
    }
}

impl std::error::Error for OAuthError {}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::server_error(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_wire_names_and_statuses() {
        assert_eq!(ErrorCode::InvalidGrant.as_str(), "invalid_grant");
        assert_eq!(ErrorCode::InvalidClient.http_status(), 401);
        assert_eq!(ErrorCode::AccessDenied.http_status(), 403);
        assert_eq!(ErrorCode::UnsupportedGrantType.http_status(), 400);
        assert_eq!(ErrorCode::ServerError.http_status(), 500);
    }

    #[test]
    fn descriptions_keep_to_the_rfc_6749_character_set() {
        let e = OAuthError::invalid_request("bad \"x\" \\ caf\u{e9}\nline");
        assert_eq!(e.description, "bad 'x' / caf??line");
    }

    #[test]
    fn server_error_hides_its_cause_from_the_description() {
        let e = OAuthError::server_error("disk on fire");
        assert!(!e.description.contains("disk"));
        assert_eq!(e.cause.as_deref(), Some("disk on fire"));
    }
}
