//! Actions and Rules as configuration (create, update, deploy, order; secrets sealed with the
//! master key) and as a step of a login or a client-credentials exchange: collect the
//! trigger's scripts, build Auth0's `event`, run them through the claims hook, and turn the
//! outcome into what the token gets.

use serde_json::{Map, Value, json};

use crate::{
    Clock, ErrorCode, OAuthError,
    admin::{AdminError, AdminResult, retry_stale},
    context::Ctx,
    context::scripts::{aad, secrets},
    hooks::{HookError, HookOutcome, HookRequest, HookScript, Scripts},
    keys::MasterKey,
    model::{Client, ResourceServer, Script, ScriptKind, Trigger, User},
    rbac,
    store::Store,
    validate,
};

fn invalid(e: impl Into<String>) -> AdminError {
    AdminError::Invalid(e.into())
}

fn seal(master: &MasterKey, s: &mut Script, secrets: &Map<String, Value>) {
    s.secrets_enc = (!secrets.is_empty()).then(|| {
        master.encrypt_to_base64(
            Value::Object(secrets.clone()).to_string().as_bytes(),
            &aad(&s.tenant_id, &s.id),
        )
    });
}

/// A script by id or by name within its kind.
pub async fn find_script(
    store: &dyn Store,
    tenant: &str,
    kind: ScriptKind,
    id_or_name: &str,
) -> AdminResult<Script> {
    if let Some(s) = store
        .script(tenant, id_or_name)
        .await?
        .filter(|s| s.kind == kind)
    {
        return Ok(s);
    }
    store
        .script_by_name(tenant, kind, id_or_name)
        .await?
        .ok_or_else(|| {
            AdminError::NotFound(format!(
                "no {} with id or name '{id_or_name}'",
                kind.as_str()
            ))
        })
}

/// What the operator gives for a new or changed script.
#[derive(Debug, Default, Clone)]
pub struct ScriptSpec {
    pub name: Option<String>,
    pub trigger: Option<String>,
    pub code: Option<String>,
    /// Secrets to set (`KEY=VALUE`); merged into the existing ones.
    pub secrets: Vec<(String, String)>,
    pub order: Option<i64>,
}

/// Creates a script after `check` (the engine's compiler) accepts it. Rules are enabled at
/// once; actions wait for `deploy`, as on Auth0.
pub async fn create_script(
    store: &dyn Store,
    master: &MasterKey,
    clock: &dyn Clock,
    tenant: &str,
    kind: ScriptKind,
    spec: &ScriptSpec,
    check: &dyn Fn(ScriptKind, &str) -> Result<(), String>,
) -> AdminResult<Script> {
    let name = spec
        .name
        .as_deref()
        .ok_or_else(|| invalid("--name is required"))?;
    validate::name(name).map_err(|e| invalid(format!("--name: {e}")))?;
    let code = spec
        .code
        .as_deref()
        .ok_or_else(|| invalid("--file is required"))?;
    let trigger = match (kind, spec.trigger.as_deref()) {
        (ScriptKind::Rule, _) => None,
        (ScriptKind::Action, Some(t)) => Some(Trigger::parse(t).ok_or_else(|| {
            invalid(format!(
                "unknown trigger '{t}': use post-login or credentials-exchange"
            ))
        })?),
        (ScriptKind::Action, None) => return Err(invalid("--trigger is required")),
    };
    check(kind, code).map_err(|e| invalid(format!("the script does not compile: {e}")))?;
    let existing = store.scripts(tenant, kind).await?;
    let order = spec
        .order
        .unwrap_or_else(|| existing.iter().map(|s| s.order).max().unwrap_or(0) + 1);
    let now = clock.now();
    let mut s = Script {
        tenant_id: tenant.to_owned(),
        id: Script::new_id(kind),
        kind,
        name: name.trim().to_owned(),
        trigger,
        code: code.to_owned(),
        secrets_enc: None,
        enabled: kind == ScriptKind::Rule,
        order,
        version: 0,
        created_at: now,
        updated_at: now,
    };
    let secrets: Map<String, Value> = spec
        .secrets
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    seal(master, &mut s, &secrets);
    store.insert_script(&s).await.map_err(|e| match e {
        crate::StoreError::Conflict(_) => AdminError::Conflict(format!(
            "a {} named '{}' already exists",
            kind.as_str(),
            s.name
        )),
        e => e.into(),
    })?;
    Ok(s)
}

/// Changes a script (found with [`find_script`]): code, name, order or secrets. New code is compiled first; an action
/// with new code must be deployed again.
pub async fn update_script(
    store: &dyn Store,
    master: &MasterKey,
    clock: &dyn Clock,
    found: Script,
    spec: &ScriptSpec,
    check: &dyn Fn(ScriptKind, &str) -> Result<(), String>,
) -> AdminResult<Script> {
    retry_stale(async || {
        // Each try changes the script as stored now.
        let mut s = store
            .script(&found.tenant_id, &found.id)
            .await?
            .ok_or_else(|| {
                AdminError::NotFound(format!("{} {}", found.kind.as_str(), found.name))
            })?;
        let kind = s.kind;
        if let Some(n) = &spec.name {
            validate::name(n).map_err(|e| invalid(format!("--name: {e}")))?;
            s.name = n.trim().to_owned();
        }
        if let Some(code) = &spec.code {
            check(kind, code).map_err(|e| invalid(format!("the script does not compile: {e}")))?;
            s.code = code.clone();
            if kind == ScriptKind::Action {
                s.enabled = false;
            }
        }
        if let Some(o) = spec.order {
            s.order = o;
        }
        if !spec.secrets.is_empty() {
            let mut all = secrets(master, &s).map_err(invalid)?;
            for (k, v) in &spec.secrets {
                all.insert(k.clone(), Value::String(v.clone()));
            }
            seal(master, &mut s, &all);
        }
        s.updated_at = clock.now();
        store.update_script(&s).await?;
        s.version += 1;
        Ok(s)
    })
    .await
}

/// Deploys (actions) or enables (rules); or the reverse.
pub async fn set_enabled(
    store: &dyn Store,
    clock: &dyn Clock,
    tenant: &str,
    kind: ScriptKind,
    id_or_name: &str,
    enabled: bool,
) -> AdminResult<Script> {
    retry_stale(async || {
        let mut s = find_script(store, tenant, kind, id_or_name).await?;
        s.enabled = enabled;
        s.updated_at = clock.now();
        store.update_script(&s).await?;
        s.version += 1;
        Ok(s)
    })
    .await
}

/// Sets the run order of a trigger's actions: the named ones first, in the given order.
pub async fn order_actions(
    store: &dyn Store,
    clock: &dyn Clock,
    tenant: &str,
    trigger: &str,
    names: &[String],
) -> AdminResult<Vec<Script>> {
    retry_stale(async || {
        let trigger = Trigger::parse(trigger)
            .ok_or_else(|| invalid(format!("unknown trigger '{trigger}'")))?;
        let mut ordered = Vec::new();
        for n in names {
            let s = find_script(store, tenant, ScriptKind::Action, n).await?;
            if s.trigger != Some(trigger) {
                return Err(invalid(format!(
                    "the action '{}' is not for the {} trigger",
                    s.name,
                    trigger.as_str()
                )));
            }
            ordered.push(s);
        }
        let rest: Vec<Script> = store
            .scripts(tenant, ScriptKind::Action)
            .await?
            .into_iter()
            .filter(|s| s.trigger == Some(trigger) && !ordered.iter().any(|o| o.id == s.id))
            .collect();
        let mut out = Vec::new();
        for (i, mut s) in ordered.into_iter().chain(rest).enumerate() {
            s.order = i as i64 + 1;
            s.updated_at = clock.now();
            store.update_script(&s).await?;
            s.version += 1;
            out.push(s);
        }
        Ok(out)
    })
    .await
}

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
