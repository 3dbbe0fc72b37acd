//! Logout: Auth0's `GET /v2/logout?returnTo=&client_id=` and OpenID Connect RP-Initiated Logout
//! 1.0 (`GET /oidc/logout?id_token_hint=&post_logout_redirect_uri=&state=`). The session ends
//! either way; the browser is redirected only to a URL in the application's allowed logout URLs
//! (exact match), otherwise it sees a "signed out" page.

use crate::{OAuthError, grant::Ctx, keys::verify_with, model::Client};

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
    if client.allowed_logout_urls.iter().any(|u| u == url) {
        Ok(())
    } else {
        Err(OAuthError::invalid_request(format!(
            "The logout URL is not one of the application's allowed logout URLs. Add it with \
             `tessera apps update {} --logout-urls {url}`.",
            client.client_id
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
            let apps = ctx.store.clients(&ctx.tenant.id).await?;
            if !apps
                .iter()
                .any(|c| c.allowed_logout_urls.iter().any(|u| u == url))
            {
                return Err(OAuthError::invalid_request(
                    "The returnTo URL is not an allowed logout URL of any application; send \
                     client_id, and add the URL to that application's allowed logout URLs.",
                ));
            }
        }
    }
    Ok(LogoutOutcome {
        redirect: Some(url.to_owned()),
        sid: None,
    })
}

/// `GET|POST /oidc/logout` (RP-Initiated Logout §2–3). An expired `id_token_hint` is accepted
/// (§2); a forged one is not.
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
        let claims = verify_with(ctx.keys, hint).map_err(|_| {
            OAuthError::invalid_request("id_token_hint is not an ID token issued by this tenant.")
        })?;
        if claims["iss"].as_str() != Some(&ctx.tenant.issuer) {
            return Err(OAuthError::invalid_request(
                "id_token_hint was issued by another issuer.",
            ));
        }
        sid = claims["sid"].as_str().map(str::to_owned);
        hinted_client = claims["aud"].as_str().map(str::to_owned);
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
