//! The client-credentials grant (RFC 6749 §4.4) for machine-to-machine applications:
//! authenticate the client, resolve the API from `audience` (or the tenant default), require a
//! client grant for it, intersect scopes, mint a JWT in the API's dialect.

use super::{ClientCredentials, Ctx, TokenFormat, TokenRequest, TokenResponse, token_client};
use crate::{
    ErrorCode, OAuthError,
    issue::{AccessTokenFacts, mint_access_token, service_not_found},
    model::GrantType,
    scope,
};

pub async fn exchange(ctx: &Ctx<'_>, req: &TokenRequest) -> Result<TokenResponse, OAuthError> {
    // 1. Who is asking.
    let creds = ClientCredentials::from_request(req)?;
    if creds.secret.is_none() {
        return Err(OAuthError::invalid_client(
            "The client_credentials grant needs a confidential client: send client_secret, or Basic credentials.",
        ));
    }
    let client = token_client(ctx, &creds).await?;
    if !client.allows_grant(GrantType::ClientCredentials) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "Grant type 'client_credentials' not allowed for the client.",
        ));
    }

    // 2. For which API.
    let audience = match req
        .get("audience")
        .or(ctx.tenant.default_audience.as_deref())
    {
        Some(a) => a,
        None => {
            return Err(OAuthError::invalid_request(
                "Missing required parameter: audience (name the API identifier, or set a tenant default audience).",
            ));
        }
    };
    let api = ctx
        .api(audience)
        .await?
        .ok_or_else(|| service_not_found(audience))?;

    // 3. Is the client granted that API, and with which scopes.
    let grant = ctx
        .client_grant(&client.client_id, &api.identifier)
        .await?
        .ok_or_else(|| {
            OAuthError::access_denied(format!(
                "Client is not authorized to access '{}'. Create a client grant for it: \
                 tessera apps grant {} --audience {} --scopes ...",
                api.identifier, client.client_id, api.identifier
            ))
        })?;
    // A scope the API no longer defines is not granted any more.
    let granted: Vec<String> = grant
        .scope
        .iter()
        .filter(|s| api.has_scope(s))
        .cloned()
        .collect();
    let scopes = match req.get("scope") {
        Some(s) => {
            let requested =
                scope::parse(s).map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e))?;
            scope::intersect(&granted, &requested)
        }
        None => granted,
    };

    // 4. The credentials-exchange Actions: claims, or a denial.
    let hooked = crate::scripts::credentials_exchange(ctx, &client, &api, &scopes).await?;
    if let Some(d) = &hooked.deny {
        return Err(crate::scripts::denial_error(d));
    }
    let extra = crate::hooks::accepted_claims(&hooked.access_claims, true);

    // 5. Mint.
    let access_token = mint_access_token(
        ctx,
        AccessTokenFacts {
            api: &api,
            sub: format!("{}@clients", client.client_id),
            client_id: &client.client_id,
            aud: serde_json::Value::String(api.identifier.clone()),
            scopes: &scopes,
            permissions: Some(scopes.clone()),
            gty: Some("client-credentials"),
            lifetime: api.token_lifetime,
            extra,
        },
    )?;
    Ok(TokenResponse {
        access_token,
        id_token: None,
        refresh_token: None,
        scope: (!scopes.is_empty()).then(|| scope::join(&scopes)),
        expires_in: api.token_lifetime,
        token_type: "Bearer",
        format: TokenFormat::jwt_for(&api),
        grant_type: "client_credentials",
        refresh_refused: None,
    })
}
