//! The authorization code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636 §4.5–4.6): the code is
//! checked against the client, the redirect URI and the challenge it was bound to, then
//! consumed in the transaction that stores its tokens (a failed check spends it too). A second
//! redemption is an attack or a bug: it fails with `invalid_grant` and revokes everything the
//! first one issued (RFC 6749 §4.1.2, RFC 9700 §4.2.4).

use serde::Deserialize;

use super::{
    ClientCredentials, Ctx, TokenRequest, TokenResponse, token_client,
    user_tokens::{RefreshFamily, revoke_reused, user_token_response},
};
use crate::{
    ErrorCode, OAuthError,
    issue::{self, UserGrant},
    model::{ArtifactKind, Client, GrantType},
    pkce::{PkceMethod, pkce_well_formed},
    secret::SecretHash,
    store::{Redeem, RedeemHow},
};

#[derive(Deserialize)]
struct CodePayload {
    grant: UserGrant,
    redirect_uri: String,
    redirect_uri_given: bool,
    code_challenge: Option<String>,
    code_challenge_method: Option<PkceMethod>,
}

fn invalid_grant(msg: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, msg)
}

pub async fn exchange(ctx: &Ctx<'_>, req: &TokenRequest) -> Result<TokenResponse, OAuthError> {
    // 1. Who is asking: confidential clients with their secret, public ones with PKCE alone.
    let creds = ClientCredentials::from_request(req)?;
    let client = token_client(ctx, &creds).await?;
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "Grant type 'authorization_code' not allowed for the client.",
        ));
    }
    let code = req.require("code")?;
    let verifier = req.get("code_verifier");
    if verifier.is_some_and(|v| !pkce_well_formed(v)) {
        return Err(OAuthError::invalid_request(
            "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~].",
        ));
    }

    // 2. The code, if it is this client's, neither used nor expired.
    let hash = SecretHash::of(code);
    let now = ctx.clock.now();
    let tenant = &ctx.tenant.id;
    let kind = ArtifactKind::AuthorizationCode;
    let seen = ctx
        .store
        .artifact(tenant, kind, hash.as_str())
        .await?
        .filter(|a| a.client_id.as_deref() == Some(client.client_id.as_str()))
        .ok_or_else(|| invalid_grant("Invalid authorization code."))?;
    if seen.consumed_at.is_some() {
        return Err(revoke_reused(ctx, &client, kind, &seen.family).await);
    }
    if seen.expires_at <= now {
        return Err(invalid_grant("The authorization code has expired."));
    }
    let p: CodePayload = serde_json::from_value(seen.payload)
        .map_err(|e| OAuthError::server_error(format!("corrupt code payload: {e}")))?;

    // 3. The code's bindings (RFC 6749 §4.1.3; RFC 7636 §4.6; RFC 9700 §2.1.1 downgrade). A
    // redemption that fails them spends the code all the same.
    if let Err(refused) = check_bindings(&p, req, &client, verifier) {
        if ctx
            .store
            .consume_artifact(tenant, kind, hash.as_str(), now)
            .await?
            .is_none()
        {
            return Err(revoke_reused(ctx, &client, kind, &seen.family).await);
        }
        return Err(refused);
    }

    // 4. Tokens, as the implicit flow would have given them (but with back-channel lifetimes),
    // committed with the code's consumption: exactly one redemption wins.
    let user = issue::active_user(ctx, &p.grant.user_id).await?;
    let api = issue::grant_api(ctx, &p.grant).await?;
    let redeem = Redeem {
        kind,
        id_hash: hash.as_str(),
        how: RedeemHow::Consume,
        now,
    };
    let response = user_token_response(
        ctx,
        &p.grant,
        None,
        &user,
        api.as_ref(),
        RefreshFamily::New,
        "authorization_code",
        Some(redeem),
    )
    .await?;
    match response {
        Some(r) => Ok(r),
        // Used just now by a racing request, expired or revoked meanwhile.
        None => Err(revoke_reused(ctx, &client, kind, &seen.family).await),
    }
}

/// The code's bindings: the redirect URI and the PKCE challenge of its authorization request.
fn check_bindings(
    p: &CodePayload,
    req: &TokenRequest,
    client: &Client,
    verifier: Option<&str>,
) -> Result<(), OAuthError> {
    match req.get("redirect_uri") {
        Some(r) if r != p.redirect_uri => {
            return Err(invalid_grant(
                "redirect_uri does not match the one of the authorization request.",
            ));
        }
        None if p.redirect_uri_given => {
            return Err(invalid_grant(
                "redirect_uri is required: repeat the one of the authorization request.",
            ));
        }
        _ => {}
    }
    match (&p.code_challenge, verifier) {
        (Some(challenge), Some(v)) => {
            let method = p.code_challenge_method.unwrap_or(PkceMethod::S256);
            if !method.verify(challenge, v) {
                return Err(invalid_grant(
                    "The code_verifier does not match the code_challenge.",
                ));
            }
            Ok(())
        }
        (Some(_), None) => Err(invalid_grant(
            "code_verifier is required: the authorization request had a code_challenge.",
        )),
        (None, Some(_)) => Err(invalid_grant(
            "code_verifier sent, but the authorization request had no code_challenge.",
        )),
        (None, None) if client.is_public() => {
            Err(invalid_grant("Public applications must use PKCE."))
        }
        (None, None) => Ok(()),
    }
}
