//! `/userinfo` (OpenID Connect Core §5.3) and token revocation (RFC 7009). An opaque access
//! token is looked up by its hash; a JWT access token is accepted when the tenant's key ring
//! signed it (not an HS256 API secret), it has not expired and its `aud` names the userinfo
//! endpoint (Auth0's array audience). Either way the token must carry `openid`.

use serde_json::{Map, Value};

use crate::{
    ErrorCode, OAuthError,
    context::Ctx,
    grant::{ClientCredentials, TokenRequest, authenticate_client},
    issue::profile_claims,
    keys::verify_with,
    model::ArtifactKind,
    secret::SecretHash,
};

fn invalid_token(msg: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidToken, msg)
}

/// What `/userinfo` answers for a bearer token.
#[derive(Debug)]
pub struct UserInfo {
    /// `sub`, and what the token's scopes allow.
    pub claims: Map<String, Value>,
    /// The application the token was issued to (its web origins may read the answer).
    pub client: crate::model::Client,
}

/// The claims `/userinfo` returns for a bearer token. The token's user must exist and not be
/// blocked, and its application must exist and not be disabled.
pub async fn userinfo(ctx: &Ctx<'_>, token: &str) -> Result<UserInfo, OAuthError> {
    let now = ctx.clock.now();
    let (user_id, scopes, client_id) = if token.matches('.').count() == 2 {
        jwt_subject(ctx, token, now).await?
    } else {
        let hash = SecretHash::of(token);
        let a = ctx
            .store
            .artifact(&ctx.tenant.id, ArtifactKind::AccessToken, hash.as_str())
            .await?
            .filter(|a| a.is_live(now))
            .ok_or_else(|| invalid_token("The access token is invalid, expired or revoked."))?;
        let scopes = a.payload["scope"]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        (
            a.user_id.unwrap_or_default(),
            scopes,
            a.client_id.unwrap_or_default(),
        )
    };
    if !scopes.iter().any(|s| s == "openid") {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "The access token was not issued with the openid scope, which /userinfo needs.",
        ));
    }
    let user = ctx
        .store
        .user(&ctx.tenant.id, &user_id)
        .await?
        .filter(|u| !u.blocked)
        .ok_or_else(|| invalid_token("The access token's user does not exist or is blocked."))?;
    let client = ctx
        .client(&client_id)
        .await?
        .filter(|c| !c.disabled)
        .ok_or_else(|| {
            invalid_token("The access token's application does not exist or is disabled.")
        })?;
    Ok(UserInfo {
        claims: profile_claims(&user, &scopes),
        client,
    })
}

async fn jwt_subject(
    ctx: &Ctx<'_>,
    token: &str,
    now: i64,
) -> Result<(String, Vec<String>, String), OAuthError> {
    let bad = || invalid_token("The access token is not a valid token of this tenant.");
    // Only the tenant's own keys: an HS256 API's secret is held by that API's owner, who must
    // not be able to mint tokens that read any user's profile here.
    let claims = verify_with(ctx.keys, token).map_err(|_| bad())?;
    if claims["iss"].as_str() != Some(&ctx.tenant.issuer) {
        return Err(bad());
    }
    if claims["exp"].as_i64().is_none_or(|e| e <= now) {
        return Err(invalid_token("The access token has expired."));
    }
    if !audiences(&claims).contains(&ctx.tenant.userinfo_audience()) {
        return Err(invalid_token(
            "The access token's audience does not include /userinfo: request the openid scope.",
        ));
    }
    let sub = claims["sub"].as_str().ok_or_else(bad)?.to_owned();
    let scopes = claims["scope"]
        .as_str()
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    // `azp` in Auth0's dialect, `client_id` in RFC 9068's.
    let client_id = claims["azp"]
        .as_str()
        .or(claims["client_id"].as_str())
        .ok_or_else(bad)?
        .to_owned();
    Ok((sub, scopes, client_id))
}

fn audiences(claims: &Value) -> Vec<String> {
    match &claims["aud"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => vec![],
    }
}

/// `POST /oauth/revoke` (RFC 7009 §2.1): a refresh token revokes its whole grant (and the opaque
/// access tokens it gave); an opaque access token revokes itself. Unknown tokens, and tokens of
/// other clients, are answered the same way (§2.2) and left alone.
pub async fn revoke(ctx: &Ctx<'_>, req: &TokenRequest) -> Result<(), OAuthError> {
    let creds = ClientCredentials::from_request(req)?;
    let client = authenticate_client(ctx, &creds).await?;
    let token = req.require("token")?;
    let hash = SecretHash::of(token);
    let tenant = &ctx.tenant.id;
    let order = match req.get("token_type_hint") {
        Some("access_token") => [ArtifactKind::AccessToken, ArtifactKind::RefreshToken],
        _ => [ArtifactKind::RefreshToken, ArtifactKind::AccessToken],
    };
    for kind in order {
        let Some(a) = ctx.store.artifact(tenant, kind, hash.as_str()).await? else {
            continue;
        };
        if a.client_id.as_deref() != Some(&client.client_id) {
            tracing::info!(client_id = %client.client_id, "revocation of another client's token ignored");
            return Ok(());
        }
        match kind {
            ArtifactKind::RefreshToken => {
                ctx.store.delete_family(tenant, &a.family).await?;
            }
            _ => {
                ctx.store
                    .delete_artifact(tenant, kind, hash.as_str())
                    .await?;
            }
        }
        return Ok(());
    }
    Ok(())
}
