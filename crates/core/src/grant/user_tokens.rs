//! The token response for a user's grant, shared by the code, refresh-token and password
//! grants: the access token, an ID token when `openid` was granted, and a refresh token when
//! `offline_access` was (OIDC Core §3.1.3.3, §12.2; RFC 6749 §5.1).

use super::{Ctx, TokenResponse};
use crate::{
    OAuthError,
    issue::{self, UserGrant},
    model::{ResourceServer, User},
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
/// scopes (RFC 6749 §6).
pub async fn user_token_response(
    ctx: &Ctx<'_>,
    grant: &UserGrant,
    narrowed: Option<Vec<String>>,
    user: &User,
    api: Option<&ResourceServer>,
    family: RefreshFamily,
    grant_type: &'static str,
) -> Result<TokenResponse, OAuthError> {
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
    let at = issue::access_token(ctx, token_grant, user, api, false).await?;
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
    let refresh_token = if grant.has_scope("offline_access") {
        let created_at = match family {
            RefreshFamily::New => ctx.clock.now(),
            RefreshFamily::Rotate { created_at } => created_at,
        };
        Some(issue::refresh_token(ctx, grant, created_at).await?)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token: at.token,
        id_token,
        refresh_token,
        scope: (!at.scopes.is_empty()).then(|| crate::scope::join(&at.scopes)),
        expires_in: at.expires_in,
        token_type: "Bearer",
        format: at.format,
        grant_type,
        refresh_refused: grant.refresh_refused.clone(),
    })
}

/// After issuing from a consumed code or refresh token: a replay racing with this request may
/// have revoked the family before the new tokens were stored, and so missed them. The consumed
/// row goes with the family, so its absence says so; then the new tokens are revoked too.
///
/// The request that consumed the code still answers with its tokens: it was the one
/// redemption that succeeded, and the outcome is the same as if the replay had come just after
/// it (RFC 6749 §4.1.2: the replay is refused and revokes what the code gave). `true` if so.
pub async fn revoke_if_replayed(
    ctx: &Ctx<'_>,
    kind: crate::model::ArtifactKind,
    id_hash: &str,
    family: &str,
) -> Result<bool, OAuthError> {
    let tenant = &ctx.tenant.id;
    if ctx.store.artifact(tenant, kind, id_hash).await?.is_some() {
        return Ok(false);
    }
    let revoked = ctx.store.delete_family(tenant, family).await?;
    tracing::warn!(
        kind = kind.as_str(),
        revoked,
        "replayed while being redeemed: the tokens just issued are revoked"
    );
    Ok(true)
}
