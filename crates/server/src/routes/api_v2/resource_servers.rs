//! `/api/v2/resource-servers`: APIs, by id or URL-encoded identifier. The tenant's own
//! Management API is listed (`is_system: true`) and refuses changes.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    response::Response,
};
use serde_json::Value;
use tessera_core::manage::{Page, ResourceServerBody};

use super::{ApiResult, Caller, ListQuery, body, created, deleted};
use crate::state::AppState;

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let page = q.page()?;
    let all = caller.manager(&state).list_apis().await?;
    q.list("resource_servers", &page, Page::of(all, &page)?, |r| {
        r.management_json()
    })
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let rs = caller.manager(&state).get_api(&id).await?;
    Ok(Json(q.shape(rs.management_json())?))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    bytes: Bytes,
) -> ApiResult<Response> {
    let spec = body::<ResourceServerBody>(&bytes)?.into_spec();
    let rs = caller.manager(&state).create_api(&spec).await?;
    Ok(created(rs.management_json()))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<Json<Value>> {
    let spec = body::<ResourceServerBody>(&bytes)?.into_spec();
    let rs = caller.manager(&state).update_api(&id, &spec).await?;
    Ok(Json(rs.management_json()))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.manager(&state).delete_api(&id).await?;
    Ok(deleted())
}
