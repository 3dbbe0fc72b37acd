//! Actions and Rules as configuration: create (after the engine compiles the code), update,
//! deploy or enable, order; their secrets sealed with the master key.

use super::*;
use crate::{
    context::scripts::{aad, secrets},
    model::{Script, ScriptKind, Trigger},
};

fn invalid(e: impl Into<String>) -> ManageError {
    ManageError::Invalid(e.into())
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
) -> ManageResult<Script> {
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
            ManageError::NotFound(format!(
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
) -> ManageResult<Script> {
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
        crate::StoreError::Conflict(_) => ManageError::Conflict(format!(
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
) -> ManageResult<Script> {
    retry_stale(async || {
        // Each try changes the script as stored now.
        let mut s = store
            .script(&found.tenant_id, &found.id)
            .await?
            .ok_or_else(|| {
                ManageError::NotFound(format!("{} {}", found.kind.as_str(), found.name))
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
) -> ManageResult<Script> {
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
) -> ManageResult<Vec<Script>> {
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
