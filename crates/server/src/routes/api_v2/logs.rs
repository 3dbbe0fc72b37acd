//! `/api/v2/logs`: tenant log events, newest first (`page`/`per_page`, `include_totals`), or
//! after a checkpoint (`from` = a log id, `take`), found with `q` (`type:`, `user_id:`,
//! `client_id:`).

use axum::{
    Json,
    extract::{Path, State},
};
use serde_json::Value;

use super::{ApiResult, Caller, ListQuery};
use crate::state::AppState;

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let page = q.page()?;
    let found = caller
        .manager(&state)
        .list_logs(q.get("q").unwrap_or(""), &page)
        .await?;
    q.list("logs", &page, found, |e| e.management_json())
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let e = caller.manager(&state).get_log(&id).await?;
    Ok(Json(e.management_json()))
}
