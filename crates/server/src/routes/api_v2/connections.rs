//! `/api/v2/connections` (the database connection and its applications) and
//! `/api/v2/user-blocks` (brute-force blocks of a user: list, clear).

use axum::{
    Json,
    extract::{Path, State},
    response::Response,
};
use serde_json::{Value, json};
use tessera_core::manage::{ManageError, Page};

use super::{ApiResult, Caller, ListQuery, deleted};
use crate::state::AppState;

/// `GET /connections` (`strategy`, `name` filters; pages).
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let page = q.page()?;
    let all: Vec<Value> = caller
        .manager(&state)
        .list_connections()
        .await?
        .into_iter()
        .filter(|c| {
            q.get("strategy")
                .is_none_or(|s| s.split(',').any(|s| c["strategy"] == s))
        })
        .filter(|c| q.get("name").is_none_or(|n| c["name"] == n))
        .collect();
    q.list("connections", &page, Page::of(all, &page)?, Value::clone)
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let c = caller.manager(&state).get_connection(&id).await?;
    Ok(Json(q.shape(c)?))
}

/// `GET /connections/{id}/clients`: `{clients: [{client_id}], next}` (checkpoint pages).
pub async fn clients(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let take = q
        .get("take")
        .map(|t| t.parse::<u64>())
        .transpose()
        .map_err(|_| ManageError::field("take", "must be a whole number"))?;
    let page = tessera_core::manage::PageRequest::Checkpoint {
        from: q.get("from").map(str::to_owned),
        take: take.unwrap_or(50),
    };
    let all = caller.manager(&state).connection_clients(&id).await?;
    q.list(
        "clients",
        &page,
        Page::of(all, &page)?,
        |c| json!({ "client_id": c.client_id }),
    )
}

fn blocks_view(ips: &[String], identifier: &str) -> Value {
    json!({
        "blocked_for": ips
            .iter()
            .map(|ip| json!({ "identifier": identifier, "ip": ip }))
            .collect::<Vec<_>>(),
    })
}

/// `GET /user-blocks?identifier=EMAIL`.
pub async fn blocks_by_identifier(
    State(state): State<AppState>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let who = q
        .get("identifier")
        .ok_or_else(|| ManageError::required("identifier"))?;
    let (u, ips) = caller.manager(&state).user_blocks(who).await?;
    Ok(Json(blocks_view(&ips, &u.email)))
}

pub async fn clear_by_identifier(
    State(state): State<AppState>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Response> {
    let who = q
        .get("identifier")
        .ok_or_else(|| ManageError::required("identifier"))?;
    caller.manager(&state).clear_user_blocks(who).await?;
    Ok(deleted())
}

/// `GET /user-blocks/{user_id}`.
pub async fn blocks(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (u, ips) = caller.manager(&state).user_blocks(&id).await?;
    Ok(Json(blocks_view(&ips, &u.email)))
}

pub async fn clear(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.manager(&state).clear_user_blocks(&id).await?;
    Ok(deleted())
}
