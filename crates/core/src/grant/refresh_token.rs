//! The refresh token grant (RFC 6749 §6) with rotation (RFC 9700 §4.14.2): every use consumes
//! the token and returns a new one in the same family; presenting a consumed token revokes the
//! whole family, except within the tenant's reuse interval. The scope may be narrowed, never
//! widened. Lifetimes: idle per token, absolute per family.

use serde::Deserialize;

use super::{
    ClientCredentials, Ctx, TokenRequest, TokenResponse, token_client,
    user_tokens::{RefreshFamily, revoke_reused, user_token_response},
};
use crate::{
    ErrorCode, OAuthError,
    issue::{self, UserGrant},
    model::{ArtifactKind, GrantType},
    scope,
    secret::SecretHash,
    store::{Redeem, RedeemHow},
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
    let client = token_client(ctx, &creds).await?;
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

    let kind = ArtifactKind::RefreshToken;
    let requested = req
        .get("scope")
        .map(|s| scope::parse(s).map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e)))
        .transpose()?;

    // The token, if it is this client's. Everything that can be refused is checked before it
    // is consumed, so a refused request does not burn it.
    let seen = ctx
        .store
        .artifact(tenant, kind, hash.as_str())
        .await?
        .filter(|a| a.client_id.as_deref() == Some(client.client_id.as_str()))
        .ok_or_else(|| invalid_grant("Unknown or invalid refresh token."))?;
    if seen.consumed_at.is_none() && seen.expires_at <= now {
        return Err(invalid_grant("The refresh token has expired."));
    }
    let stored: RefreshPayload = serde_json::from_value(seen.payload.clone())
        .map_err(|e| OAuthError::server_error(format!("corrupt refresh token payload: {e}")))?;
    // Narrow the scope if asked; never widen it (RFC 6749 §6).
    let narrowed = match requested {
        None => None,
        Some(requested) => {
            if let Some(extra) = requested.iter().find(|r| !stored.grant.has_scope(r)) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    format!("The scope '{extra}' was not granted to this refresh token."),
                ));
            }
            Some(scope::intersect(&stored.grant.scopes, &requested))
        }
    };

    // A blocked or deleted user gets nothing (a block also deletes the user's tokens; this
    // catches a token that a rotation committed as the block was made).
    let user = issue::active_user(ctx, &stored.grant.user_id).await?;

    // A consumed token is a replay, forgiven only inside the tenant's reuse interval.
    let how = match seen.consumed_at {
        None => RedeemHow::Consume,
        // A request that began (and read the clock) just before a racing one consumed the
        // token can see `consumed_at` a second ahead of its own `now`: that is no time at all,
        // not a negative time that would slip under a zero interval.
        Some(c) if (now - c).max(0) < ctx.tenant.refresh_token_reuse_interval => RedeemHow::Reuse,
        Some(_) => return Err(revoke_reused(ctx, &client, kind, &seen.family).await),
    };

    // A refreshed ID token carries no nonce (OIDC Core §12.2).
    let mut grant = stored.grant;
    grant.nonce = None;
    let api = issue::grant_api(ctx, &grant).await?;
    // The new tokens commit with the consumption of this one: exactly one of racing requests
    // gets them.
    let redeem = Redeem {
        kind,
        id_hash: hash.as_str(),
        how,
        now,
    };
    let response = user_token_response(
        ctx,
        &grant,
        narrowed,
        &user,
        api.as_ref(),
        RefreshFamily::Rotate {
            created_at: stored.family_created_at,
        },
        "refresh_token",
        Some(redeem),
    )
    .await?;
    match response {
        Some(r) => Ok(r),
        // Consumed by a racing request, expired or revoked meanwhile.
        None => Err(revoke_reused(ctx, &client, kind, &seen.family).await),
    }
}
