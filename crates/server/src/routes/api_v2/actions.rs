//! `/api/v2/actions`: Actions (create, change, deploy, delete; a trigger's bindings). New code
//! is compiled by the engine before it is stored.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    response::Response,
};
use serde_json::{Value, json};
use tessera_core::{
    manage::{ActionBody, BindingsBody, ManageError, Manager, Page, PageRequest},
    model::{Script, ScriptKind, Trigger},
};

use super::{ApiResult, Caller, ListQuery, body, created, deleted};
use crate::state::AppState;
use tessera_core::hooks::ClaimsHook;

fn view(m: &Manager<'_>, s: &Script) -> ApiResult<Value> {
    Ok(s.management_json(&m.secret_names(s)?))
}

/// Actions' lists answer `{actions, total, page, per_page}` whatever is asked, as on Auth0.
fn actions_page(
    m: &Manager<'_>,
    key: &str,
    all: Vec<Script>,
    q: &ListQuery,
) -> ApiResult<Json<Value>> {
    let page = q.page()?;
    let (n, per_page) = match page {
        PageRequest::Offset { page, per_page, .. } => (page, per_page),
        PageRequest::Checkpoint { take, .. } => (0, take),
    };
    let total = all.len();
    let found = Page::of(all, &page)?;
    let items = found
        .items
        .iter()
        .map(|s| view(m, s))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(
        json!({ key: items, "total": total, "page": n, "per_page": per_page }),
    ))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let m = caller.manager(&state);
    let trigger = q.get("triggerId");
    let name = q.get("actionName");
    let deployed = q.get("deployed").map(|d| d == "true");
    let all: Vec<Script> = m
        .list_scripts(ScriptKind::Action)
        .await?
        .into_iter()
        .filter(|s| trigger.is_none_or(|t| s.trigger.map(Trigger::as_str) == Some(t)))
        .filter(|s| name.is_none_or(|n| s.name == n))
        .filter(|s| deployed.is_none_or(|d| s.enabled == d))
        .collect();
    actions_page(&m, "actions", all, &q)
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let m = caller.manager(&state);
    let s = m.get_script(ScriptKind::Action, &id).await?;
    Ok(Json(view(&m, &s)?))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    bytes: Bytes,
) -> ApiResult<Response> {
    let spec = body::<ActionBody>(&bytes)?.into_spec()?;
    let m = caller.manager(&state);
    let check = |k: ScriptKind, c: &str| state.engine.check(k, c);
    let s = m.create_script(ScriptKind::Action, &spec, &check).await?;
    Ok(created(view(&m, &s)?))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<Json<Value>> {
    let spec = body::<ActionBody>(&bytes)?.into_spec()?;
    let m = caller.manager(&state);
    let found = m.get_script(ScriptKind::Action, &id).await?;
    if spec
        .trigger
        .as_deref()
        .is_some_and(|t| found.trigger.map(Trigger::as_str) != Some(t))
    {
        return Err(
            ManageError::field("supported_triggers", "an action's trigger cannot change").into(),
        );
    }
    let check = |k: ScriptKind, c: &str| state.engine.check(k, c);
    let s = m.update_script(found, &spec, &check).await?;
    Ok(Json(view(&m, &s)?))
}

/// A deployed action is bound to its trigger: deleting it needs `force=true`.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> ApiResult<Response> {
    let m = caller.manager(&state);
    let s = m.get_script(ScriptKind::Action, &id).await?;
    if s.enabled && q.get("force") != Some("true") {
        return Err(ManageError::Conflict(format!(
            "the action {} is bound to its trigger: undeploy it first, or delete with force=true",
            s.name
        ))
        .into());
    }
    m.delete_script(ScriptKind::Action, &s.id).await?;
    Ok(deleted())
}

pub async fn deploy(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let m = caller.manager(&state);
    let s = m.set_enabled(ScriptKind::Action, &id, true).await?;
    Ok(created(view(&m, &s)?))
}

/// One version: the action as deployed (Tessera keeps no history).
pub async fn versions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let m = caller.manager(&state);
    let s = m.get_script(ScriptKind::Action, &id).await?;
    let deployed = if s.enabled { vec![s] } else { Vec::new() };
    actions_page(&m, "versions", deployed, &q)
}

pub async fn triggers(caller: Caller) -> ApiResult<Json<Value>> {
    // A fixed list: only the scope is checked, nothing is read.
    caller.actor.require(&["read:actions"])?;
    let t = |id: &str| json!({"id": id, "version": "v3", "status": "CURRENT", "runtimes": ["node18"], "default_runtime": "node18"});
    Ok(Json(
        json!({ "triggers": [t("post-login"), t("credentials-exchange")] }),
    ))
}

fn bindings_view(m: &Manager<'_>, trigger: &str, bound: &[Script]) -> ApiResult<Json<Value>> {
    let items = bound
        .iter()
        .map(|s| {
            Ok(json!({
                "id": format!("bnd_{}", s.id),
                "trigger_id": trigger,
                "display_name": s.name,
                "action": view(m, s)?,
                "created_at": tessera_core::time::rfc3339(s.created_at),
                "updated_at": tessera_core::time::rfc3339(s.updated_at),
            }))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let n = items.len();
    Ok(Json(
        json!({ "bindings": items, "total": n, "page": 0, "per_page": n.max(1) }),
    ))
}

pub async fn bindings(
    State(state): State<AppState>,
    caller: Caller,
    Path(trigger): Path<String>,
) -> ApiResult<Json<Value>> {
    let m = caller.manager(&state);
    let bound = m.bindings(&trigger).await?;
    bindings_view(&m, &trigger, &bound)
}

pub async fn set_bindings(
    State(state): State<AppState>,
    caller: Caller,
    Path(trigger): Path<String>,
    bytes: Bytes,
) -> ApiResult<Json<Value>> {
    let refs = body::<BindingsBody>(&bytes)?.refs()?;
    let m = caller.manager(&state);
    let bound = m.set_bindings(&trigger, &refs).await?;
    bindings_view(&m, &trigger, &bound)
}
