//! Logout: Auth0's `GET /v2/logout?returnTo=&client_id=` and OpenID Connect RP-Initiated Logout
//! 1.0 (`GET /oidc/logout?id_token_hint=&post_logout_redirect_uri=&state=`). The session ends
//! either way; the browser is redirected only to a URL in the application's allowed logout URLs
//! (exact match), otherwise it sees a "signed out" page.

use crate::{OAuthError, context::Ctx, keys::verify_with, model::Client};

/// Where the browser goes, and which session an `id_token_hint` named (for the log).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LogoutOutcome {
    pub redirect: Option<String>,
    pub sid: Option<String>,
}

async fn client(ctx: &Ctx<'_>, client_id: &str) -> Result<Client, OAuthError> {
    ctx.client(client_id)
        .await?
        .ok_or_else(|| OAuthError::invalid_request("Unknown client_id."))
}

fn allowed(client: &Client, url: &str) -> Result<(), OAuthError> {
    if client.allows_logout_url(url) {
        Ok(())
    } else {
        Err(OAuthError::invalid_request(format!(
            "The logout URL '{url}' is not one of the allowed logout URLs of the application {}. \
             Add it with `tessera apps update {} --add-logout-url {url}`.",
            client.client_id, client.client_id
        )))
    }
}

/// `GET /v2/logout`: `returnTo` must be an allowed logout URL of `client_id`'s application, or,
/// without `client_id`, of some application of the tenant.
pub async fn v2(
    ctx: &Ctx<'_>,
    return_to: Option<&str>,
    client_id: Option<&str>,
) -> Result<LogoutOutcome, OAuthError> {
    let Some(url) = return_to else {
        return Ok(LogoutOutcome::default());
    };
    match client_id {
        Some(id) => allowed(&client(ctx, id).await?, url)?,
        None => {
            let known = match ctx.config {
                Some(c) => c.any_logout_url(url),
                None => ctx
                    .store
                    .clients(&ctx.tenant.id)
                    .await?
                    .iter()
                    .any(|c| c.allows_logout_url(url)),
            };
            if !known {
                return Err(OAuthError::invalid_request(format!(
                    "The returnTo URL '{url}' is not an allowed logout URL of any application; \
                     send client_id, and add the URL to that application's allowed logout URLs."
                )));
            }
        }
    }
    Ok(LogoutOutcome {
        redirect: Some(url.to_owned()),
        sid: None,
    })
}

fn not_an_id_token() -> OAuthError {
    OAuthError::invalid_request("id_token_hint is not an ID token issued by this tenant.")
}

/// The application an ID token of this tenant was issued to. Anything else the tenant signed
/// is refused: an access token names an API in `aud` (an array for a user's token, so it
/// would otherwise name no application at all and skip the `client_id` check) and carries
/// `scope`; an ID token's `aud` is one application of the tenant (and `azp`, if present, the
/// same one).
async fn id_token_client(ctx: &Ctx<'_>, claims: &serde_json::Value) -> Result<String, OAuthError> {
    let aud = match &claims["aud"] {
        serde_json::Value::String(a) => a.as_str(),
        serde_json::Value::Array(a) if a.len() == 1 => a[0].as_str().unwrap_or_default(),
        _ => return Err(not_an_id_token()),
    };
    let azp_differs = claims
        .get("azp")
        .is_some_and(|azp| azp.as_str() != Some(aud));
    if aud.is_empty() || azp_differs || claims.get("scope").is_some() {
        return Err(not_an_id_token());
    }
    match ctx.client(aud).await? {
        Some(c) => Ok(c.client_id),
        None => Err(not_an_id_token()),
    }
}

/// `GET|POST /oidc/logout` (RP-Initiated Logout §2–3). An expired `id_token_hint` is accepted
/// (§2); a forged one is not, nor any token of this tenant that is not an ID token.
pub async fn oidc(
    ctx: &Ctx<'_>,
    id_token_hint: Option<&str>,
    post_logout_redirect_uri: Option<&str>,
    client_id: Option<&str>,
    state: Option<&str>,
) -> Result<LogoutOutcome, OAuthError> {
    let mut sid = None;
    let mut hinted_client = None;
    if let Some(hint) = id_token_hint {
        let claims = verify_with(ctx.keys, hint).map_err(|_| not_an_id_token())?;
        if claims["iss"].as_str() != Some(&ctx.tenant.issuer) {
            return Err(OAuthError::invalid_request(
                "id_token_hint was issued by another issuer.",
            ));
        }
        let client = id_token_client(ctx, &claims).await?;
        sid = claims["sid"].as_str().map(str::to_owned);
        hinted_client = Some(client);
    }
    if let (Some(a), Some(b)) = (&hinted_client, client_id)
        && a != b
    {
        return Err(OAuthError::invalid_request(
            "client_id does not match the audience of id_token_hint.",
        ));
    }
    let Some(url) = post_logout_redirect_uri else {
        return Ok(LogoutOutcome {
            redirect: None,
            sid,
        });
    };
    let Some(id) = hinted_client.as_deref().or(client_id) else {
        return Err(OAuthError::invalid_request(
            "post_logout_redirect_uri needs id_token_hint or client_id to name the application.",
        ));
    };
    allowed(&client(ctx, id).await?, url)?;
    let redirect = match state {
        Some(s) => {
            let q = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("state", s)
                .finish();
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}{q}")
        }
        None => url.to_owned(),
    };
    Ok(LogoutOutcome {
        redirect: Some(redirect),
        sid,
    })
}
