//! Client authentication at the token and revocation endpoints (RFC 6749 §2.3.1):
//! `client_secret_basic` (HTTP Basic with form-encoded id and secret) or `client_secret_post`,
//! never both at once (§2.3). An application with a secret may use either, whatever its
//! registered method says — the RFC makes Basic a MUST for the server, and client libraries
//! differ in their default — unless it opts into `strict_auth_method`. Secrets are compared by
//! SHA-256 in constant time; an unknown client and a wrong secret give the same answer.

use base64::{Engine, engine::general_purpose::STANDARD};

use super::{Ctx, TokenRequest};
use crate::{
    OAuthError,
    model::{AuthMethod, Client},
    secret::Secret,
};

/// What the request presented.
#[derive(Debug)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Option<Secret>,
    /// The method the request used.
    pub method: AuthMethod,
}

/// Parses `Basic base64(urlencode(id) ":" urlencode(secret))`.
pub fn parse_basic_auth(header: &str) -> Result<(String, Secret), OAuthError> {
    let bad =
        || OAuthError::invalid_client("The Authorization header is not valid Basic credentials.");
    let (scheme, rest) = header.trim().split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = STANDARD.decode(rest.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| form_decode(s).ok_or_else(bad);
    let id = unescape(id)?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok((id, Secret::new(unescape(secret)?)))
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a space, `%XX` a byte.
fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

impl ClientCredentials {
    pub fn from_request(req: &TokenRequest) -> Result<Self, OAuthError> {
        let basic = match req.authorization.as_deref() {
            Some(h)
                if h.trim_start()
                    .get(..6)
                    .is_some_and(|s| s.eq_ignore_ascii_case("basic ")) =>
            {
                Some(parse_basic_auth(h)?)
            }
            _ => None,
        };
        let post_secret = req.get("client_secret");
        match basic {
            Some((id, secret)) => {
                if post_secret.is_some() {
                    return Err(OAuthError::invalid_client(
                        "The client authenticated with more than one method (Basic and client_secret): use one.",
                    ));
                }
                if req.get("client_id").is_some_and(|body_id| body_id != id) {
                    return Err(OAuthError::invalid_request(
                        "The client_id in the body differs from the one in the Authorization header.",
                    ));
                }
                Ok(Self {
                    client_id: id,
                    secret: Some(secret),
                    method: AuthMethod::ClientSecretBasic,
                })
            }
            None => Ok(Self {
                client_id: req.require("client_id")?.to_owned(),
                secret: post_secret.map(Secret::new),
                method: if post_secret.is_some() {
                    AuthMethod::ClientSecretPost
                } else {
                    AuthMethod::None
                },
            }),
        }
    }
}

/// Looks the client up and checks its secret. Confidential clients must present their secret;
/// public clients present none.
pub async fn authenticate_client(
    ctx: &Ctx<'_>,
    creds: &ClientCredentials,
) -> Result<Client, OAuthError> {
    let denied = || OAuthError::invalid_client("Unknown client or wrong client credentials.");
    let client = ctx.client(&creds.client_id).await?;
    let Some(client) = client else {
        // Same work as a real check, so timing does not tell which client ids exist.
        if let Some(s) = &creds.secret {
            let _ = crate::secret::SecretHash::of("").matches(s.expose());
        }
        return Err(denied().with_cause(format!("no client {}", creds.client_id)));
    };
    check_secret(&client, creds)?;
    if client.disabled {
        // Said only to a caller that proved the secret (or to a public client's caller).
        return Err(OAuthError::invalid_client(
            "The application is disabled: enable it with `tessera apps update CLIENT_ID --disabled false`.",
        ));
    }
    Ok(client)
}

/// The secret (or its absence) is the registered one, and so is the method for a strict
/// application.
fn check_secret(client: &Client, creds: &ClientCredentials) -> Result<(), OAuthError> {
    let denied = || OAuthError::invalid_client("Unknown client or wrong client credentials.");
    match (&client.client_secret_hash, &creds.secret) {
        // A strict application uses the method it registered (OIDC Core §9). Said only once the
        // secret is proven, so it tells a stranger nothing.
        (Some(hash), Some(secret)) if hash.matches(secret.expose()) => {
            let registered = client.token_endpoint_auth_method;
            if client.strict_auth_method && creds.method != registered {
                return Err(OAuthError::invalid_client(format!(
                    "This application accepts only its registered method, {} ({}), not {}.",
                    registered.as_str(),
                    if registered == AuthMethod::ClientSecretBasic {
                        "the Authorization header"
                    } else {
                        "client_secret in the body"
                    },
                    creds.method.as_str(),
                )));
            }
            Ok(())
        }
        (Some(_), Some(_)) => Err(denied().with_cause("wrong client secret")),
        (Some(_), None) => Err(OAuthError::invalid_client(
            "Client authentication is required: send client_secret, or Basic credentials.",
        )),
        (None, None) => Ok(()),
        (None, Some(_)) => Err(denied().with_cause("public client sent a secret")),
    }
}

/// A token request's client: authenticated, then counted against the tenant's per-application
/// token rate limit (after authentication, so nobody can spend another application's quota).
pub async fn token_client(ctx: &Ctx<'_>, creds: &ClientCredentials) -> Result<Client, OAuthError> {
    let client = authenticate_client(ctx, creds).await?;
    crate::attack::token_request(ctx.store, ctx.tenant, &client.client_id, ctx.clock.now()).await?;
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn basic(s: &str) -> String {
        format!("Basic {}", STANDARD.encode(s))
    }

    #[test]
    fn basic_auth_is_form_decoded() {
        let (id, secret) = parse_basic_auth(&basic("my%20id:p%3Ass+word")).unwrap();
        assert_eq!(id, "my id");
        assert_eq!(secret.expose(), "p:ss word");
        let (_, s) = parse_basic_auth(&basic("id:a:b&c=d")).unwrap();
        assert_eq!(s.expose(), "a:b&c=d");
    }

    #[test]
    fn malformed_basic_is_invalid_client() {
        for h in [
            "Basic !!!",
            "Basic",
            &basic("no-colon"),
            &basic(":secret"),
            "Bearer abc",
        ] {
            assert_eq!(
                parse_basic_auth(h).unwrap_err().code,
                ErrorCode::InvalidClient,
                "{h}"
            );
        }
    }

    #[test]
    fn two_methods_at_once_are_refused() {
        let req = TokenRequest::from_pairs(
            [("client_secret".to_string(), "x".to_string())],
            Some(basic("id:secret")),
        )
        .unwrap();
        assert_eq!(
            ClientCredentials::from_request(&req).unwrap_err().code,
            ErrorCode::InvalidClient
        );
    }
}
