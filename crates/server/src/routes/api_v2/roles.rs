//! `/api/v2/roles`: roles (`name_filter`, pages), one role, create and delete.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    response::Response,
};
use serde_json::Value;
use tessera_core::manage::{ManageError, Page, RoleBody};

use super::{ApiResult, Caller, ListQuery, body, created, deleted};
use crate::state::AppState;

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let page = q.page()?;
    let filter = q.get("name_filter").map(str::to_lowercase);
    let all = caller
        .manager(&state)
        .list_roles()
        .await?
        .into_iter()
        .filter(|r| {
            filter
                .as_ref()
                .is_none_or(|f| r.name.to_lowercase().contains(f))
        })
        .collect();
    q.list("roles", &page, Page::of(all, &page)?, |r| {
        r.management_json()
    })
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        caller
            .manager(&state)
            .get_role(&id)
            .await?
            .management_json(),
    ))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    bytes: Bytes,
) -> ApiResult<Response> {
    let b = body::<RoleBody>(&bytes)?;
    let name = b.name.ok_or_else(|| ManageError::required("name"))?;
    let r = caller
        .manager(&state)
        .create_role(&name, b.description.as_deref())
        .await?;
    Ok(created(r.management_json()))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.manager(&state).delete_role(&id).await?;
    Ok(deleted())
}
