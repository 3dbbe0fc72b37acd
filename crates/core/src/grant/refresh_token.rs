//! The refresh token grant (RFC 6749 §6) with rotation (RFC 9700 §4.14.2): every use consumes
//! the token and returns a new one in the same family; presenting a consumed token revokes the
//! whole family, except within the tenant's reuse interval. The scope may be narrowed, never
//! widened. Lifetimes: idle per token, absolute per family.

use serde::Deserialize;

use super::{
    ClientCredentials, Ctx, TokenRequest, TokenResponse, authenticate_client,
    user_tokens::{RefreshFamily, user_token_response},
};
use crate::{
    ErrorCode, OAuthError,
    issue::{self, UserGrant},
    model::{ArtifactKind, GrantType},
    scope,
    secret::SecretHash,
};

#[derive(Deserialize)]
struct RefreshPayload {
    grant: UserGrant,
    family_created_at: i64,
}

fn invalid_grant(msg: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, msg)
}

pub async fn exchange(ctx: &Ctx<'_>, req: &TokenRequest) -> Result<TokenResponse, OAuthError> {
    let creds = ClientCredentials::from_request(req)?;
    let client = authenticate_client(ctx, &creds).await?;
    if !client.allows_grant(GrantType::RefreshToken) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "Grant type 'refresh_token' not allowed for the client.",
        ));
    }
    let token = req.require("refresh_token")?;
    let hash = SecretHash::of(token);
    let now = ctx.clock.now();
    let tenant = &ctx.tenant.id;

    let artifact = match ctx
        .store
        .consume_artifact(tenant, ArtifactKind::RefreshToken, hash.as_str(), now)
        .await?
    {
        Some(a) => a,
        None => {
            let seen = ctx
                .store
                .artifact(tenant, ArtifactKind::RefreshToken, hash.as_str())
                .await?
                .filter(|a| a.client_id.as_deref() == Some(&client.client_id));
            match seen {
                // Inside the reuse interval a retry gets a fresh pair, the family lives on.
                Some(a)
                    if a.consumed_at
                        .is_some_and(|c| now - c < ctx.tenant.refresh_token_reuse_interval)
                        && a.expires_at > now =>
                {
                    a
                }
                Some(a) if a.consumed_at.is_some() => {
                    let revoked = ctx.store.delete_family(tenant, &a.family).await?;
                    tracing::warn!(
                        client_id = %client.client_id,
                        revoked,
                        "refresh token reused: its family is revoked"
                    );
                    return Err(invalid_grant(
                        "The refresh token has already been used; every token of its grant is revoked.",
                    ));
                }
                Some(_) => return Err(invalid_grant("The refresh token has expired.")),
                None => return Err(invalid_grant("Unknown or invalid refresh token.")),
            }
        }
    };
    let p: RefreshPayload = serde_json::from_value(artifact.payload)
        .map_err(|e| OAuthError::server_error(format!("corrupt refresh token payload: {e}")))?;
    if p.grant.client_id != client.client_id {
        return Err(invalid_grant(
            "The refresh token was issued to another client.",
        ));
    }

    // A refreshed ID token carries no nonce (OIDC Core §12.2).
    let mut grant = p.grant;
    grant.nonce = None;
    // Narrow the scope if asked; never widen it (RFC 6749 §6).
    if let Some(s) = req.get("scope") {
        let requested = scope::parse(s).map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e))?;
        if let Some(extra) = requested.iter().find(|r| !grant.has_scope(r)) {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                format!("The scope '{extra}' was not granted to this refresh token."),
            ));
        }
        // The narrowed token keeps offline_access, or the family would end here.
        grant.scopes = grant
            .scopes
            .iter()
            .filter(|g| requested.contains(g) || *g == "offline_access")
            .cloned()
            .collect();
    }
    let user = issue::active_user(ctx, &grant.user_id).await?;
    let api = issue::grant_api(ctx, &grant).await?;
    user_token_response(
        ctx,
        &grant,
        &user,
        api.as_ref(),
        RefreshFamily::Rotate {
            created_at: p.family_created_at,
        },
        "refresh_token",
    )
    .await
}
