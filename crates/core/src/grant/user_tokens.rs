//! The token response for a user's grant, shared by the code, refresh-token and password
//! grants: the access token, an ID token when `openid` was granted, and a refresh token when
//! `offline_access` was (OIDC Core §3.1.3.3, §12.2; RFC 6749 §5.1). Everything the response
//! stores commits in one transaction with the redemption of the code or refresh token it came
//! from, so a client is told of tokens only once they and the redemption are durable, and a
//! revocation of the family either precedes the commit (which then writes nothing) or removes
//! what it issued.

use super::{Ctx, TokenResponse};
use crate::{
    ErrorCode, OAuthError,
    issue::{self, UserGrant},
    model::{ArtifactKind, Client, ResourceServer, User},
    store::{GrantWrite, Redeem},
};

/// How the refresh token of this response relates to earlier ones.
pub enum RefreshFamily {
    /// A new grant: the family starts now.
    New,
    /// A rotation: the family keeps its start, which bounds the absolute lifetime.
    Rotate { created_at: i64 },
}

/// `narrowed`: the scopes of this response's access and ID tokens when the client asked for
/// fewer than the grant has (a refresh with `scope`); the refresh token keeps the grant's
/// scopes (RFC 6749 §6). `redeem`: the code or refresh token this response spends. `None`
/// when it cannot be redeemed any more (a racing request spent it, or its family was revoked):
/// nothing was stored then.
#[allow(clippy::too_many_arguments)]
pub async fn user_token_response(
    ctx: &Ctx<'_>,
    grant: &UserGrant,
    narrowed: Option<Vec<String>>,
    user: &User,
    api: Option<&ResourceServer>,
    family: RefreshFamily,
    grant_type: &'static str,
    redeem: Option<Redeem<'_>>,
) -> Result<Option<TokenResponse>, OAuthError> {
    let narrowed_grant;
    let token_grant = match narrowed {
        Some(scopes) => {
            narrowed_grant = UserGrant {
                scopes,
                ..grant.clone()
            };
            &narrowed_grant
        }
        None => grant,
    };
    let mut at = issue::access_token(ctx, token_grant, user, api, false).await?;
    let id_token = if token_grant.has_scope("openid") {
        Some(issue::id_token(
            ctx,
            token_grant,
            user,
            Some(&at.token),
            None,
        )?)
    } else {
        None
    };
    let refresh = if grant.has_scope("offline_access") {
        let created_at = match family {
            RefreshFamily::New => ctx.clock.now(),
            RefreshFamily::Rotate { created_at } => created_at,
        };
        Some(issue::refresh_token(ctx, grant, created_at)?)
    } else {
        None
    };
    let (refresh_token, refresh_row) = refresh.unzip();
    let rows: Vec<_> = at.row.take().into_iter().chain(refresh_row).collect();
    let write = GrantWrite {
        tenant: &ctx.tenant.id,
        redeem,
        issue: &rows,
    };
    if !ctx.store.commit_grant(&write).await? {
        return Ok(None);
    }
    Ok(Some(TokenResponse {
        access_token: at.token,
        id_token,
        refresh_token,
        scope: (!at.scopes.is_empty()).then(|| crate::scope::join(&at.scopes)),
        expires_in: at.expires_in,
        token_type: "Bearer",
        format: at.format,
        grant_type,
        refresh_refused: grant.refresh_refused.clone(),
    }))
}

/// A code or refresh token presented again: everything its grant issued is revoked (RFC 6749
/// §4.1.2, RFC 9700 §4.14.2), and the error says so.
pub async fn revoke_reused(
    ctx: &Ctx<'_>,
    client: &Client,
    kind: ArtifactKind,
    family: &str,
) -> OAuthError {
    let (logged, described) = if kind == ArtifactKind::AuthorizationCode {
        (
            "authorization code reused: its grant's tokens are revoked",
            "The authorization code has already been used; the tokens it gave are revoked.",
        )
    } else {
        (
            "refresh token reused: its family is revoked",
            "The refresh token has already been used; every token of its grant is revoked.",
        )
    };
    match ctx.store.delete_family(&ctx.tenant.id, family).await {
        Ok(revoked) => tracing::warn!(client_id = %client.client_id, revoked, "{logged}"),
        Err(e) => return e.into(),
    }
    OAuthError::new(ErrorCode::InvalidGrant, described)
}
