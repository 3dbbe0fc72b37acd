//! JWT access tokens for an API, in its dialect: Auth0's `access_token` / `access_token_authz`
//! (`typ: JWT`, `azp`, `gty`) or the RFC 9068 profile (`typ: at+jwt`, `client_id`, `jti`).

use serde::Serialize;

use crate::{
    OAuthError,
    context::Ctx,
    keys::{Signer, hs256_secret, sign_compact},
    model::{ResourceServer, SigningAlg},
};

/// Claims in the order Auth0 writes them; absent ones are skipped.
#[derive(Debug, Serialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: serde_json::Value,
    pub iat: i64,
    pub exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gty: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// Custom claims from scripts (filtered: never a reserved name).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// What a token is about, independent of dialect.
pub struct AccessTokenFacts<'a> {
    pub api: &'a ResourceServer,
    pub sub: String,
    pub client_id: &'a str,
    pub aud: serde_json::Value,
    pub scopes: &'a [String],
    pub permissions: Option<Vec<String>>,
    pub gty: Option<&'static str>,
    pub lifetime: i64,
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Builds the dialect's claims and signs them with the API's algorithm.
pub fn mint_access_token(ctx: &Ctx<'_>, f: AccessTokenFacts<'_>) -> Result<String, OAuthError> {
    let now = ctx.clock.now();
    let dialect = f.api.token_dialect;
    let rfc9068 = dialect.is_rfc9068();
    let scope = (!f.scopes.is_empty()).then(|| crate::scope::join(f.scopes));
    let claims = AccessTokenClaims {
        iss: ctx.tenant.issuer.clone(),
        sub: f.sub,
        aud: f.aud,
        iat: now,
        exp: now + f.lifetime,
        jti: rfc9068.then(|| hex::encode(crate::secret::random_bytes(16))),
        client_id: rfc9068.then(|| f.client_id.to_owned()),
        scope,
        gty: if rfc9068 { None } else { f.gty },
        azp: (!rfc9068).then(|| f.client_id.to_owned()),
        permissions: if dialect.has_permissions() {
            Some(f.permissions.unwrap_or_default())
        } else {
            None
        },
        extra: f.extra,
    };
    let typ = if rfc9068 { "at+jwt" } else { "JWT" };
    let signed = match f.api.signing_alg {
        SigningAlg::HS256 => {
            let secret = hs256_secret(ctx.master, f.api).map_err(OAuthError::server_error)?;
            sign_compact(Signer::Hmac(&secret), typ, None, &claims)
        }
        alg => {
            let (kid, key) = ctx.keys.signer(alg).ok_or_else(|| {
                OAuthError::server_error(format!("no current {} signing key", alg.as_str()))
            })?;
            sign_compact(Signer::Key(key), typ, Some(kid), &claims)
        }
    };
    signed.map_err(OAuthError::server_error)
}
