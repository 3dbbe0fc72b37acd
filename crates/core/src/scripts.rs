//! Actions and Rules as a step of a login or a client-credentials exchange: collect the
//! trigger's scripts, build Auth0's `event`, run them through the claims hook, and turn the
//! outcome into what the token gets. Their configuration is [`crate::manage`]'s.

use serde_json::{Value, json};

use crate::{
    ErrorCode, OAuthError,
    context::Ctx,
    context::scripts::secrets,
    hooks::{HookError, HookOutcome, HookRequest, HookScript, Scripts},
    keys::MasterKey,
    model::{Client, ResourceServer, Script, Trigger, User},
    rbac,
};

/// The user as scripts see it (Auth0's user profile, with roles out of the way).
fn event_user(user: &User) -> Value {
    user.management_json()
}

/// Runs the post-login trigger. A failing script fails this login with `access_denied` and a
/// description naming it; the server and other logins are untouched.
pub async fn post_login(
    ctx: &Ctx<'_>,
    client: &Client,
    user: &User,
    api: Option<&ResourceServer>,
    requested_scopes: &[String],
    protocol: &str,
) -> Result<HookOutcome, OAuthError> {
    if ctx.hooks.is_none() {
        return Ok(HookOutcome::default());
    }
    let scripts = ctx.trigger_scripts(Trigger::PostLogin).await?;
    post_login_with(ctx, scripts, client, user, api, requested_scopes, protocol).await
}

/// The post-login trigger with the given scripts (a dry run uses one, deployed or not).
pub async fn post_login_with(
    ctx: &Ctx<'_>,
    scripts: Scripts,
    client: &Client,
    user: &User,
    api: Option<&ResourceServer>,
    requested_scopes: &[String],
    protocol: &str,
) -> Result<HookOutcome, OAuthError> {
    let Some(hooks) = ctx.hooks else {
        return Ok(HookOutcome::default());
    };
    if scripts.is_empty() {
        return Ok(HookOutcome::default());
    }
    let roles: Vec<String> = rbac::user_roles(ctx.store, user)
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let event = json!({
        "user": event_user(user),
        "client": { "client_id": client.client_id, "name": client.name, "metadata": client.client_metadata },
        "connection": { "name": crate::model::DATABASE_CONNECTION, "strategy": "auth0" },
        "request": ctx.request,
        "resource_server": api.map(|a| json!({ "identifier": a.identifier })),
        "authorization": { "roles": roles },
        "tenant": { "id": ctx.tenant.id },
        "transaction": { "requested_scopes": requested_scopes, "protocol": protocol },
    });
    run(ctx, hooks, Trigger::PostLogin, scripts, event).await
}

/// Runs the credentials-exchange trigger for a machine-to-machine token.
pub async fn credentials_exchange(
    ctx: &Ctx<'_>,
    client: &Client,
    api: &ResourceServer,
    scopes: &[String],
) -> Result<HookOutcome, OAuthError> {
    if ctx.hooks.is_none() {
        return Ok(HookOutcome::default());
    }
    let scripts = ctx.trigger_scripts(Trigger::CredentialsExchange).await?;
    credentials_exchange_with(ctx, scripts, client, api, scopes).await
}

/// The credentials-exchange trigger with the given scripts.
pub async fn credentials_exchange_with(
    ctx: &Ctx<'_>,
    scripts: Scripts,
    client: &Client,
    api: &ResourceServer,
    scopes: &[String],
) -> Result<HookOutcome, OAuthError> {
    let Some(hooks) = ctx.hooks else {
        return Ok(HookOutcome::default());
    };
    if scripts.is_empty() {
        return Ok(HookOutcome::default());
    }
    let event = json!({
        "client": { "client_id": client.client_id, "name": client.name, "metadata": client.client_metadata },
        "request": ctx.request,
        "resource_server": { "identifier": api.identifier },
        "accessToken": { "scope": scopes },
        "tenant": { "id": ctx.tenant.id },
        "transaction": { "requested_scopes": scopes },
    });
    run(ctx, hooks, Trigger::CredentialsExchange, scripts, event).await
}

async fn run(
    ctx: &Ctx<'_>,
    hooks: &dyn crate::hooks::ClaimsHook,
    trigger: Trigger,
    scripts: Scripts,
    event: Value,
) -> Result<HookOutcome, OAuthError> {
    let limit = ctx
        .tenant
        .script_time_limit_ms
        .clamp(1, crate::model::Tenant::MAX_SCRIPT_TIME_LIMIT_MS) as u64;
    let req = HookRequest {
        trigger,
        scripts,
        event,
        time_limit: std::time::Duration::from_millis(limit),
    };
    match hooks.run(req).await {
        Ok(out) => Ok(out),
        Err(HookError::Script { script, message }) => {
            tracing::warn!(trigger = trigger.as_str(), script = %script, error = %message, "script failed");
            Err(OAuthError::access_denied(format!(
                "The {} script '{script}' failed: {message}",
                trigger.as_str()
            )))
        }
        Err(HookError::Internal(e)) => Err(OAuthError::server_error(e)),
    }
}

/// The error a denial becomes: `access_denied` with the script's reason, or the code an
/// Action chose in credentials-exchange.
pub fn denial_error(d: &crate::hooks::Denial) -> OAuthError {
    tracing::info!(script = %d.script, reason = %d.reason, "access denied by a script");
    let code = match d.code.as_deref() {
        Some("invalid_scope") => ErrorCode::InvalidScope,
        Some("invalid_request") => ErrorCode::InvalidRequest,
        Some("unauthorized_client") => ErrorCode::UnauthorizedClient,
        Some("server_error") => ErrorCode::ServerError,
        _ => ErrorCode::AccessDenied,
    };
    OAuthError::new(code, d.reason.clone())
}

/// Writes the metadata the scripts set (`null` deletes a key): only those keys, to the user as
/// stored now (a script may run for seconds; nothing else the user read before it is written
/// back). `user` becomes the stored user.
pub async fn persist_metadata(
    ctx: &Ctx<'_>,
    user: &mut User,
    out: &HookOutcome,
) -> Result<(), OAuthError> {
    if out.app_metadata.is_empty() && out.user_metadata.is_empty() {
        return Ok(());
    }
    let now = ctx.clock.now();
    let patch = |u: &mut User| {
        for (target, changes) in [
            (&mut u.app_metadata, &out.app_metadata),
            (&mut u.user_metadata, &out.user_metadata),
        ] {
            for (k, v) in changes {
                if v.is_null() {
                    target.remove(k);
                } else {
                    target.insert(k.clone(), v.clone());
                }
            }
        }
        u.updated_at = now;
        true
    };
    match ctx
        .store
        .modify_user(&user.tenant_id, &user.user_id, &patch)
        .await?
    {
        Some(stored) => *user = stored,
        None => {
            return Err(OAuthError::new(
                ErrorCode::AccessDenied,
                "the user was deleted during the sign-in",
            ));
        }
    }
    Ok(())
}

/// The post-login step of a user grant: runs the scripts, applies a denial, scope changes,
/// filtered custom claims and metadata.
pub async fn apply_post_login(
    ctx: &Ctx<'_>,
    client: &Client,
    user: &mut User,
    api: Option<&ResourceServer>,
    requested_scopes: &[String],
    protocol: &str,
    grant: &mut crate::issue::UserGrant,
) -> Result<(), OAuthError> {
    let out = post_login(ctx, client, user, api, requested_scopes, protocol).await?;
    if let Some(d) = &out.deny {
        return Err(denial_error(d));
    }
    for s in &out.remove_scopes {
        grant.scopes.retain(|g| g != s);
    }
    for s in &out.add_scopes {
        if !grant.has_scope(s) && crate::scope::is_scope_token(s) {
            grant.scopes.push(s.clone());
        }
    }
    if api.is_some() {
        grant.access_claims = crate::hooks::accepted_claims(&out.access_claims, true);
    } else if !out.access_claims.is_empty() {
        tracing::info!(
            "custom access token claims ignored: the access token is opaque (no audience)"
        );
    }
    grant.id_claims = crate::hooks::accepted_claims(&out.id_claims, false);
    persist_metadata(ctx, user, &out).await
}

/// One script as a hook runs it (for a dry run).
pub fn hook_script(master: &MasterKey, s: &Script) -> Result<HookScript, OAuthError> {
    Ok(HookScript {
        secrets: secrets(master, s).map_err(OAuthError::server_error)?,
        name: s.name.clone(),
        kind: s.kind,
        code: s.code.clone(),
    })
}
