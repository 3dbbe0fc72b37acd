//! `/api/v2/client-grants`: which APIs an application may get tokens for (client
//! credentials), with which scopes.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    response::Response,
};
use serde_json::Value;
use tessera_core::manage::{ClientGrantBody, ClientGrantPatch};

use super::{ApiResult, Caller, ListQuery, body, created, deleted};
use crate::state::AppState;

/// `GET /client-grants` (`audience`, `client_id` filters; pages).
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let page = q.page()?;
    let found = caller
        .manager(&state)
        .list_client_grants(q.get("audience"), q.get("client_id"), &page)
        .await?;
    q.list("client_grants", &page, found, |g| g.management_json())
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    bytes: Bytes,
) -> ApiResult<Response> {
    let b = body::<ClientGrantBody>(&bytes)?;
    let g = caller.manager(&state).create_client_grant(&b).await?;
    Ok(created(g.management_json()))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<Json<Value>> {
    let b = body::<ClientGrantPatch>(&bytes)?;
    let g = caller
        .manager(&state)
        .update_client_grant(&id, &b.scope)
        .await?;
    Ok(Json(g.management_json()))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.manager(&state).delete_client_grant(&id).await?;
    Ok(deleted())
}
