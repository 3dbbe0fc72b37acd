//! The resource owner password grant (RFC 6749 §4.3), off unless the application enables the
//! `password` grant type, and Auth0's `password-realm` variant, which names the connection in
//! `realm`. Same audience decision, attack protection, Actions and claims as a login; the
//! audience is given here, at the token endpoint, since there is no `/authorize` step.

use super::{
    ClientCredentials, Ctx, TokenRequest, TokenResponse, token_client,
    user_tokens::{RefreshFamily, user_token_response},
};
use crate::{
    ErrorCode, OAuthError,
    issue::{self, UserGrant},
    login::{self, LoginFailure},
    model::{DATABASE_CONNECTION, GrantType},
    scope,
};

/// `grant_type=http://auth0.com/oauth/grant-type/password-realm`: the password grant against the
/// connection `realm` names. The tenant has one, `Username-Password-Authentication`.
pub async fn exchange_realm(
    ctx: &Ctx<'_>,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let realm = req.require("realm")?;
    if realm != DATABASE_CONNECTION {
        return Err(OAuthError::invalid_request(format!(
            "Unknown realm '{}': the connections of this tenant are {DATABASE_CONNECTION}.",
            realm.escape_default()
        )));
    }
    exchange(ctx, req).await
}

pub async fn exchange(ctx: &Ctx<'_>, req: &TokenRequest) -> Result<TokenResponse, OAuthError> {
    let creds = ClientCredentials::from_request(req)?;
    let client = token_client(ctx, &creds).await?;
    if !client.allows_grant(GrantType::Password) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "Grant type 'password' not allowed for the client: enable it with \
             `tessera apps update CLIENT_ID --grant-types ...,password`.",
        ));
    }
    let username = req.require("username")?;
    let password = req.require("password")?;
    let requested = scope::parse(req.get("scope").unwrap_or(""))
        .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e))?;
    let audience = req
        .get("audience")
        .or(ctx.tenant.default_audience.as_deref());
    let api = issue::api_for_audience(ctx.store, ctx.config, ctx.tenant, audience).await?;

    let now = ctx.clock.now();
    let checked = login::sign_in(
        ctx.store,
        ctx.tenant,
        username,
        password,
        &ctx.request.ip,
        now,
    )
    .await;
    let mut user = match checked {
        Ok(u) => u,
        Err(LoginFailure::WrongCredentials) => {
            return Err(OAuthError::new(
                ErrorCode::InvalidGrant,
                "Wrong email or password.",
            ));
        }
        Err(LoginFailure::Blocked) => {
            return Err(OAuthError::new(ErrorCode::InvalidGrant, "user is blocked"));
        }
        Err(LoginFailure::Refused(r)) => return Err(r.oauth_error()),
        Err(LoginFailure::Store(e)) => return Err(e.into()),
    };
    let mut grant = UserGrant {
        grant_id: UserGrant::new_id(),
        client_id: client.client_id.clone(),
        user_id: user.user_id.clone(),
        audience: audience.map(str::to_owned),
        scopes: issue::granted_scopes(&requested, &client, api.as_ref()),
        nonce: None,
        auth_time: now,
        sid: None,
        access_claims: Default::default(),
        id_claims: Default::default(),
        refresh_refused: issue::offline_access_note(&requested, &client, api.as_ref()),
    };
    crate::scripts::apply_post_login(
        ctx,
        &client,
        &mut user,
        api.as_ref(),
        &requested,
        "oauth2-resource-owner",
        &mut grant,
    )
    .await?;
    let response = user_token_response(
        ctx,
        &grant,
        None,
        &user,
        api.as_ref(),
        RefreshFamily::New,
        "password",
        None,
    )
    .await?;
    // With nothing to redeem, the commit always lands.
    response.ok_or_else(|| OAuthError::server_error("the password grant's tokens were not stored"))
}
