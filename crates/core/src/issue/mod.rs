//! What a signed-in user's grant receives, whichever flow carries it (implicit and hybrid at
//! `/authorize`; the code, refresh-token and password grants at `/oauth/token`): the access
//! token in the format the audience decides (AUTH0-BEHAVIOR.md, "The decision the seed asks
//! about"), the ID token (OpenID Connect Core §2, §3.3.2.11) and the refresh token.

use aws_lc_rs::digest;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::{
    ErrorCode, OAuthError,
    context::Ctx,
    keys::{Signer, sign_compact},
    model::{Artifact, ArtifactKind, Client, GrantType, ResourceServer, SigningAlg, User},
    rbac,
    secret::{Secret, random_bytes},
};

mod access_token;

pub use access_token::{AccessTokenClaims, AccessTokenFacts, mint_access_token};

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

/// Opaque access tokens live a day (two hours from the front channel), as on Auth0.
pub const OPAQUE_LIFETIME: i64 = 86_400;
pub const OPAQUE_LIFETIME_FOR_WEB: i64 = 7_200;
/// Authorization codes: 60 s, single use (RFC 6749 §4.1.2 recommends at most 10 minutes).
pub const CODE_LIFETIME: i64 = 60;

/// OpenID Connect scopes that are the identity provider's, not an API's.
const OIDC_SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
];

/// What the user agreed to and how they signed in, decided once at `/authorize` (or the password
/// grant) and carried by the code and every refresh token of the grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserGrant {
    /// The family: every code and token of this grant is revoked together.
    pub grant_id: String,
    pub client_id: String,
    pub user_id: String,
    /// The API identifier (a JWT access token), or `None` for an opaque one.
    pub audience: Option<String>,
    /// The scopes granted (see [`granted_scopes`]).
    pub scopes: Vec<String>,
    #[serde(default)]
    pub nonce: Option<String>,
    pub auth_time: i64,
    #[serde(default)]
    pub sid: Option<String>,
    /// Custom claims the post-login scripts set, already filtered by the claim rules.
    #[serde(default)]
    pub access_claims: Map<String, Value>,
    #[serde(default)]
    pub id_claims: Map<String, Value>,
    /// Why `offline_access` was asked for and not granted (no refresh token), for the token
    /// response's `Tessera-Refresh-Token` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_refused: Option<String>,
}

impl UserGrant {
    pub fn new_id() -> String {
        hex::encode(random_bytes(16))
    }

    pub fn has_scope(&self, s: &str) -> bool {
        self.scopes.iter().any(|x| x == s)
    }
}

/// The requested scopes a user's token carries: the OpenID Connect ones, and those the API
/// defines. `offline_access` only where a refresh token may be issued.
pub fn granted_scopes(
    requested: &[String],
    client: &Client,
    api: Option<&ResourceServer>,
) -> Vec<String> {
    requested
        .iter()
        .filter(|s| match s.as_str() {
            "offline_access" => refresh_allowed(client, api),
            s if OIDC_SCOPES.contains(&s) => true,
            s => api.is_some_and(|a| a.has_scope(s)),
        })
        .cloned()
        .collect()
}

/// Refresh tokens need the app's `refresh_token` grant type and an API that allows offline
/// access (the `/userinfo` audience always does).
pub fn refresh_allowed(client: &Client, api: Option<&ResourceServer>) -> bool {
    refresh_refusal(client, api).is_none()
}

/// Why this client gets no refresh token for this API, if it does not, with what to change.
pub fn refresh_refusal(client: &Client, api: Option<&ResourceServer>) -> Option<String> {
    if !client.allows_grant(GrantType::RefreshToken) {
        return Some(format!(
            "offline_access not granted: the application does not have the refresh_token grant type (tessera apps update {} --grant-types ...,refresh_token)",
            client.client_id
        ));
    }
    match api {
        Some(a) if !a.allow_offline_access => Some(format!(
            "offline_access not granted: the API {} does not allow offline access (tessera apis update {} --offline-access)",
            a.identifier, a.identifier
        )),
        _ => None,
    }
}

/// The note for a request that asked for `offline_access` and will get no refresh token: said
/// in the log now, and in the token response's `Tessera-Refresh-Token` header later.
pub fn offline_access_note(
    requested: &[String],
    client: &Client,
    api: Option<&ResourceServer>,
) -> Option<String> {
    if !requested.iter().any(|s| s == "offline_access") {
        return None;
    }
    let why = refresh_refusal(client, api)?;
    tracing::info!(client_id = %client.client_id, "{why}");
    Some(why)
}

/// An access token, with what the response says about it.
pub struct IssuedAccessToken {
    pub token: String,
    pub expires_in: i64,
    /// The scopes the token carries (the grant's, less what RBAC withholds).
    pub scopes: Vec<String>,
    pub format: TokenFormat,
    /// An opaque token's row, for the caller to commit with the rest of its grant (a JWT has
    /// none: it carries what `/userinfo` needs and is checked by its signature).
    pub row: Option<Artifact>,
}

/// The access token for a user's grant: a JWT for a registered API, opaque otherwise. Nothing
/// is stored here: an opaque token's row comes back in `row`, for the caller to commit with
/// the rest of its grant (see [`crate::store::GrantWrite`]).
/// `front_channel`: from `/authorize` (implicit and hybrid), with the shorter web lifetime.
pub async fn access_token(
    ctx: &Ctx<'_>,
    grant: &UserGrant,
    user: &User,
    api: Option<&ResourceServer>,
    front_channel: bool,
) -> Result<IssuedAccessToken, OAuthError> {
    let openid = grant.has_scope("openid");
    let Some(api) = api else {
        let lifetime = if front_channel {
            OPAQUE_LIFETIME_FOR_WEB
        } else {
            OPAQUE_LIFETIME
        };
        let token = Secret::new(crate::secret::random_alphanumeric(32));
        let now = ctx.clock.now();
        let row = Artifact {
            tenant_id: ctx.tenant.id.clone(),
            kind: ArtifactKind::AccessToken,
            id_hash: token.hash().as_str().to_owned(),
            family: grant.grant_id.clone(),
            client_id: Some(grant.client_id.clone()),
            user_id: Some(grant.user_id.clone()),
            payload: json!({ "scope": grant.scopes }),
            created_at: now,
            expires_at: now + lifetime,
            consumed_at: None,
        };
        let reason = match grant.audience.as_deref() {
            Some(a) => format!(
                "audience {a} is the /userinfo endpoint, so the access token is opaque; \
                 pass audience=<your API identifier> for a JWT"
            ),
            None => "no audience was requested and the tenant has no default audience, so the \
                     access token is opaque and only good for /userinfo; pass \
                     audience=<your API identifier> for a JWT"
                .to_owned(),
        };
        return Ok(IssuedAccessToken {
            token: token.expose().to_owned(),
            expires_in: lifetime,
            scopes: grant.scopes.clone(),
            format: TokenFormat { jwt: false, reason },
            row: Some(row),
        });
    };
    let lifetime = if front_channel {
        api.token_lifetime_for_web
    } else {
        api.token_lifetime
    };
    let aud = if openid {
        json!([api.identifier, ctx.tenant.userinfo_audience()])
    } else {
        Value::String(api.identifier.clone())
    };
    // RBAC, read at every mint so a role change shows at the next refresh: with policies
    // enforced, API scopes are those the user holds; the _authz dialects list the permissions.
    let mut scopes = grant.scopes.clone();
    let mut permissions = None;
    if api.enforce_policies || api.token_dialect.has_permissions() {
        let mut held = rbac::permissions_for(ctx.store, user, &api.identifier).await?;
        // A scope the API no longer defines is no permission any more.
        held.retain(|p| api.has_scope(p));
        if api.enforce_policies {
            scopes.retain(|s| OIDC_SCOPES.contains(&s.as_str()) || held.contains(s));
        }
        permissions = Some(held);
    }
    let token = mint_access_token(
        ctx,
        AccessTokenFacts {
            api,
            sub: grant.user_id.clone(),
            client_id: &grant.client_id,
            aud,
            scopes: &scopes,
            permissions,
            gty: None,
            lifetime,
            extra: grant.access_claims.clone(),
        },
    )?;
    Ok(IssuedAccessToken {
        token,
        expires_in: lifetime,
        scopes,
        format: TokenFormat::jwt_for(api),
        row: None,
    })
}

/// The left half of the SHA-256 of `value`, base64url: `at_hash` / `c_hash` (OIDC Core §3.3.2.11).
pub fn half_hash(value: &str) -> String {
    let d = digest::digest(&digest::SHA256, value.as_bytes());
    URL_SAFE_NO_PAD.encode(&d.as_ref()[..16])
}

/// The profile claims a scope set allows (OIDC Core §5.4): `sub` always.
pub fn profile_claims(user: &User, scopes: &[String]) -> Map<String, Value> {
    let has = |s: &str| scopes.iter().any(|x| x == s);
    let mut c = Map::new();
    c.insert("sub".into(), user.user_id.clone().into());
    if has("profile") {
        c.insert("name".into(), user.display_name().into());
        c.insert("nickname".into(), user.display_nickname().into());
        if let Some(v) = &user.given_name {
            c.insert("given_name".into(), v.clone().into());
        }
        if let Some(v) = &user.family_name {
            c.insert("family_name".into(), v.clone().into());
        }
        if let Some(v) = &user.picture {
            c.insert("picture".into(), v.clone().into());
        }
        c.insert(
            "updated_at".into(),
            crate::time::rfc3339(user.updated_at).into(),
        );
    }
    if has("email") {
        c.insert("email".into(), user.email.clone().into());
        c.insert("email_verified".into(), user.email_verified.into());
    }
    c
}

/// An ID token for the client (RS256). `access_token` / `code` add `at_hash` / `c_hash`.
pub fn id_token(
    ctx: &Ctx<'_>,
    grant: &UserGrant,
    user: &User,
    access_token: Option<&str>,
    code: Option<&str>,
) -> Result<String, OAuthError> {
    let now = ctx.clock.now();
    let mut claims = Map::new();
    claims.insert("iss".into(), ctx.tenant.issuer.clone().into());
    for (k, v) in profile_claims(user, &grant.scopes) {
        claims.insert(k, v);
    }
    claims.insert("aud".into(), grant.client_id.clone().into());
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), (now + ctx.tenant.id_token_lifetime).into());
    claims.insert("auth_time".into(), grant.auth_time.into());
    if let Some(sid) = &grant.sid {
        claims.insert("sid".into(), sid.clone().into());
    }
    if let Some(n) = &grant.nonce {
        claims.insert("nonce".into(), n.clone().into());
    }
    if let Some(at) = access_token {
        claims.insert("at_hash".into(), half_hash(at).into());
    }
    if let Some(c) = code {
        claims.insert("c_hash".into(), half_hash(c).into());
    }
    // Custom claims never replace what the server set.
    for (k, v) in &grant.id_claims {
        claims.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let (kid, key) = ctx.keys.signer(SigningAlg::RS256).ok_or_else(|| {
        OAuthError::server_error("no current RS256 signing key for ID tokens".to_owned())
    })?;
    sign_compact(Signer::Key(key), "JWT", Some(kid), &Value::Object(claims))
        .map_err(OAuthError::server_error)
}

/// A refresh token in the grant's family, and its row for the caller to commit with the rest
/// of its grant. `family_created_at` bounds the absolute lifetime across rotations.
pub fn refresh_token(
    ctx: &Ctx<'_>,
    grant: &UserGrant,
    family_created_at: i64,
) -> Result<(String, Artifact), OAuthError> {
    let now = ctx.clock.now();
    let expires_at = (now + ctx.tenant.refresh_token_idle_lifetime)
        .min(family_created_at + ctx.tenant.refresh_token_lifetime);
    if expires_at <= now {
        return Err(OAuthError::new(
            ErrorCode::InvalidGrant,
            "The refresh token's absolute lifetime is over: sign in again.",
        ));
    }
    let token = Secret::random(32);
    let row = Artifact {
        tenant_id: ctx.tenant.id.clone(),
        kind: ArtifactKind::RefreshToken,
        id_hash: token.hash().as_str().to_owned(),
        family: grant.grant_id.clone(),
        client_id: Some(grant.client_id.clone()),
        user_id: Some(grant.user_id.clone()),
        payload: json!({ "grant": grant, "family_created_at": family_created_at }),
        created_at: now,
        expires_at,
        consumed_at: None,
    };
    Ok((token.expose().to_owned(), row))
}

/// The API an audience names (AUTH0-BEHAVIOR.md, "The decision the seed asks about"): `None`
/// for no audience or the `/userinfo` audience (an opaque token); `access_denied` "Service not
/// found" when no API has that identifier.
pub async fn api_for_audience(
    store: &dyn crate::Store,
    config: Option<&crate::context::ConfigCache>,
    tenant: &crate::model::Tenant,
    audience: Option<&str>,
) -> Result<Option<ResourceServer>, OAuthError> {
    match audience {
        None => Ok(None),
        Some(a) if a == tenant.userinfo_audience() => Ok(None),
        Some(a) => crate::context::config::api(store, config, &tenant.id, a)
            .await?
            .map(Some)
            .ok_or_else(|| service_not_found(a)),
    }
}

/// The API a stored grant names, if it still exists.
pub async fn grant_api(
    ctx: &Ctx<'_>,
    grant: &UserGrant,
) -> Result<Option<ResourceServer>, OAuthError> {
    let audience = grant.audience.as_deref();
    api_for_audience(ctx.store, ctx.config, ctx.tenant, audience)
        .await
        .map_err(|e| match (e.code, audience) {
            (ErrorCode::AccessDenied, Some(a)) => OAuthError::new(
                ErrorCode::InvalidGrant,
                format!("The API {a} this grant was for no longer exists."),
            ),
            _ => e,
        })
}

/// A user that may still get tokens: exists and is not blocked.
pub async fn active_user(ctx: &Ctx<'_>, user_id: &str) -> Result<User, OAuthError> {
    match ctx.store.user(&ctx.tenant.id, user_id).await? {
        Some(u) if !u.blocked => Ok(u),
        Some(_) => Err(OAuthError::new(
            ErrorCode::InvalidGrant,
            "The user is blocked.",
        )),
        None => Err(OAuthError::new(
            ErrorCode::InvalidGrant,
            "The user no longer exists.",
        )),
    }
}

/// Auth0's "Service not found", with the command that fixes it.
pub fn service_not_found(audience: &str) -> OAuthError {
    OAuthError::access_denied(format!(
        "Service not found: {audience}. No API has this identifier; register one with \
         `tessera apis create --name NAME --identifier {audience}`."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_hash_matches_the_oidc_example() {
        // OpenID Connect Core, Appendix A.3's access token and at_hash.
        assert_eq!(
            half_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
