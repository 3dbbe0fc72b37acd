//! The second half of `/authorize`: whether the browser's session answers the request silently
//! (SSO, `prompt=none`) or the user must type a password (`prompt=login`, `max_age`), and the
//! authorization response itself: a code (RFC 6749 §4.1.2), tokens in the front channel
//! (§4.2.2), or both (OpenID Connect Core §3.3, hybrid).

use serde_json::json;

use super::{AuthorizeError, AuthorizeRequest, Delivery, Prompt, deliver};
use crate::{
    ErrorCode, OAuthError,
    context::Ctx,
    issue::TokenFormat,
    issue::{self, CODE_LIFETIME, UserGrant},
    login::Session,
    model::{Artifact, ArtifactKind, User},
    secret::Secret,
    store::GrantWrite,
};

/// A user with a session, ready to be answered.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub session: Session,
}

/// The response to send, and why the access token (if any) has its format.
#[derive(Debug)]
pub struct Authorized {
    pub delivery: Delivery,
    pub format: Option<TokenFormat>,
    pub user_id: String,
}

/// Can the existing session answer? `Some` to answer silently, `None` to show the login page;
/// with `prompt=none` a needed login is the error `login_required` (OIDC Core §3.1.2.6).
pub async fn decide(
    ctx: &Ctx<'_>,
    req: &AuthorizeRequest,
    session: Option<Session>,
) -> Result<Option<SignedIn>, AuthorizeError> {
    let now = ctx.clock.now();
    let fail = |e: OAuthError| req.error(e);
    let mut signed_in = None;
    if let Some(session) = session.filter(|_| !req.prompt.contains(&Prompt::Login)) {
        // max_age=0 always asks for the password, like prompt=login (OIDC Core §3.1.2.1).
        let fresh_enough = req
            .max_age
            .is_none_or(|m| m > 0 && now - session.auth_time <= m);
        let user = ctx
            .store
            .user(&ctx.tenant.id, &session.user_id)
            .await
            .map_err(|e| fail(e.into()))?;
        if let Some(user) = user.filter(|u| !u.blocked && fresh_enough) {
            signed_in = Some(SignedIn { user, session });
        }
    }
    if signed_in.is_none() && req.prompt.contains(&Prompt::None) {
        return Err(fail(OAuthError::new(
            ErrorCode::LoginRequired,
            "Login required: there is no session at this tenant (or it is too old for max_age).",
        )));
    }
    Ok(signed_in)
}

/// Issues what `response_type` asks for and encodes it for the response mode.
pub async fn respond(
    ctx: &Ctx<'_>,
    req: &AuthorizeRequest,
    who: &SignedIn,
) -> Result<Authorized, AuthorizeError> {
    let fail = |e: OAuthError| req.error(e);
    let now = ctx.clock.now();
    let rt = req.response_type;
    let mut grant = UserGrant {
        grant_id: UserGrant::new_id(),
        client_id: req.client.client_id.clone(),
        user_id: who.user.user_id.clone(),
        audience: req.audience.clone(),
        scopes: issue::granted_scopes(&req.scopes, &req.client, req.api.as_ref()),
        nonce: req.nonce.clone(),
        auth_time: who.session.auth_time,
        sid: Some(who.session.sid.clone()),
        access_claims: Default::default(),
        id_claims: Default::default(),
        refresh_refused: issue::offline_access_note(&req.scopes, &req.client, req.api.as_ref()),
    };
    // Rules and post-login Actions: custom claims, scope changes, metadata, or a denial.
    let protocol = match (rt.code, rt.front_channel_tokens()) {
        (true, false) => "oidc-basic-profile",
        (false, true) => "oidc-implicit-profile",
        _ => "oidc-hybrid-profile",
    };
    let mut user = who.user.clone();
    crate::scripts::apply_post_login(
        ctx,
        &req.client,
        &mut user,
        req.api.as_ref(),
        &req.scopes,
        protocol,
        &mut grant,
    )
    .await
    .map_err(fail)?;
    let mut params: Vec<(&str, String)> = Vec::new();
    // What this response stores (a code, an opaque access token), committed together below.
    let mut rows = Vec::new();

    // The code (RFC 6749 §4.1.2), bound to client, redirect URI and PKCE challenge.
    let code = if rt.code {
        let code = Secret::random(32);
        let (challenge, method) = req.code_challenge.clone().unzip();
        rows.push(Artifact {
            tenant_id: ctx.tenant.id.clone(),
            kind: ArtifactKind::AuthorizationCode,
            id_hash: code.hash().as_str().to_owned(),
            family: grant.grant_id.clone(),
            client_id: Some(grant.client_id.clone()),
            user_id: Some(grant.user_id.clone()),
            payload: json!({
                "grant": grant,
                "redirect_uri": req.redirect_uri,
                "redirect_uri_given": req.redirect_uri_given,
                "code_challenge": challenge,
                "code_challenge_method": method,
            }),
            created_at: now,
            expires_at: now + CODE_LIFETIME,
            consumed_at: None,
        });
        params.push(("code", code.expose().to_owned()));
        Some(code)
    } else {
        None
    };

    // The access token in the front channel (implicit and hybrid).
    let mut format = None;
    let access = if rt.token {
        // No refresh token comes from the front channel, so its token does not claim one.
        let front = UserGrant {
            scopes: grant
                .scopes
                .iter()
                .filter(|s| *s != "offline_access")
                .cloned()
                .collect(),
            ..grant.clone()
        };
        let mut at = issue::access_token(ctx, &front, &user, req.api.as_ref(), true)
            .await
            .map_err(fail)?;
        rows.extend(at.row.take());
        params.push(("access_token", at.token.clone()));
        params.push(("token_type", "Bearer".into()));
        params.push(("expires_in", at.expires_in.to_string()));
        params.push(("scope", crate::scope::join(&at.scopes)));
        format = Some(at.format);
        Some(at.token)
    } else {
        None
    };

    // The ID token: asked for, or a legacy app's `token` with `openid` (AUTH0-BEHAVIOR.md, 4).
    // Only with a nonce: an ID token in the front channel without one could be replayed
    // (RFC 9700 §4.5.3, OIDC Core §3.2.2.1), so a legacy request without a nonce gets its
    // access token and no ID token.
    let mut legacy_id_token = rt.token && !req.client.oidc_conformant && grant.has_scope("openid");
    if legacy_id_token && req.nonce.is_none() {
        tracing::info!(
            client_id = %req.client.client_id,
            "ID token left out: a legacy application asked response_type=token with openid but sent no nonce"
        );
        legacy_id_token = false;
    }
    if rt.id_token || legacy_id_token {
        let code_hash = if rt.id_token { code.as_ref() } else { None };
        let id = issue::id_token(
            ctx,
            &grant,
            &user,
            access.as_deref(),
            code_hash.map(|c| c.expose()),
        )
        .map_err(fail)?;
        params.push(("id_token", id));
    }
    let write = GrantWrite {
        tenant: &ctx.tenant.id,
        redeem: None,
        issue: &rows,
    };
    ctx.store
        .commit_grant(&write)
        .await
        .map_err(|e| fail(e.into()))?;
    if let Some(s) = &req.state {
        params.push(("state", s.clone()));
    }
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Ok(Authorized {
        delivery: deliver(
            &req.redirect_uri,
            req.response_mode,
            &pairs,
            &ctx.tenant.issuer,
        ),
        format,
        user_id: grant.user_id,
    })
}
