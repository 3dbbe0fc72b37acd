//! `/api/v2/rules`: legacy Rules, run before Actions at sign-in. New code is compiled by the
//! engine before it is stored.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    response::Response,
};
use serde_json::Value;
use tessera_core::{
    manage::{Page, RuleBody},
    model::ScriptKind,
};

use super::{ApiResult, Caller, ListQuery, body, created, deleted};
use crate::state::AppState;
use tessera_core::hooks::ClaimsHook;

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let page = q.page()?;
    let all = caller
        .manager(&state)
        .list_scripts(ScriptKind::Rule)
        .await?;
    q.list("rules", &page, Page::of(all, &page)?, |s| {
        s.management_json(&[])
    })
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let s = caller
        .manager(&state)
        .get_script(ScriptKind::Rule, &id)
        .await?;
    Ok(Json(q.shape(s.management_json(&[]))?))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    bytes: Bytes,
) -> ApiResult<Response> {
    let b = body::<RuleBody>(&bytes)?;
    let m = caller.manager(&state);
    let check = |k: ScriptKind, c: &str| state.engine.check(k, c);
    let mut s = m
        .create_script(ScriptKind::Rule, &b.to_spec(), &check)
        .await?;
    if b.enabled == Some(false) {
        s = m.set_enabled(ScriptKind::Rule, &s.id, false).await?;
    }
    Ok(created(s.management_json(&[])))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<Json<Value>> {
    let b = body::<RuleBody>(&bytes)?;
    let m = caller.manager(&state);
    let found = m.get_script(ScriptKind::Rule, &id).await?;
    let check = |k: ScriptKind, c: &str| state.engine.check(k, c);
    let mut s = m.update_script(found, &b.to_spec(), &check).await?;
    if let Some(e) = b.enabled.filter(|e| *e != s.enabled) {
        s = m.set_enabled(ScriptKind::Rule, &s.id, e).await?;
    }
    Ok(Json(s.management_json(&[])))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller
        .manager(&state)
        .delete_script(ScriptKind::Rule, &id)
        .await?;
    Ok(deleted())
}
