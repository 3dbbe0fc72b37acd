//! `/api/v2/tenants/settings` and `/api/v2/keys/signing`: the tenant's settings (one write per
//! `PATCH`: a bad value changes nothing) and its signing keys (list, one, rotate).

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    response::Response,
};
use serde_json::Value;
use tessera_core::{
    manage::{ManageError, TenantSettingsBody},
    model::SigningAlg,
};

use super::{ApiResult, Caller, ListQuery, body, created};
use crate::state::AppState;

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let t = caller.manager(&state).get_settings().await?;
    Ok(Json(q.shape(t.management_json())?))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    bytes: Bytes,
) -> ApiResult<Json<Value>> {
    let settings = body::<TenantSettingsBody>(&bytes)?.into_settings()?;
    let t = caller.manager(&state).update_settings(&settings).await?;
    Ok(Json(t.management_json()))
}

/// `GET /keys/signing`: a bare array, newest first.
pub async fn keys(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let now = state.clock.now();
    let keys = caller.manager(&state).list_signing_keys().await?;
    Ok(Json(Value::Array(
        keys.iter().rev().map(|k| k.management_json(now)).collect(),
    )))
}

pub async fn key(
    State(state): State<AppState>,
    caller: Caller,
    Path(kid): Path<String>,
) -> ApiResult<Json<Value>> {
    let now = state.clock.now();
    let k = caller
        .manager(&state)
        .list_signing_keys()
        .await?
        .into_iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| ManageError::NotFound(format!("no signing key with kid '{kid}'")))?;
    Ok(Json(k.management_json(now)))
}

/// `POST /keys/signing/rotate`: a new current RS256 key (the ID tokens' key); the previous one
/// stays published. Answers `{cert, kid}` as Auth0 does (no certificate here).
pub async fn rotate(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    let k = caller
        .manager(&state)
        .rotate_signing_key(SigningAlg::RS256)
        .await?;
    Ok(created(serde_json::json!({ "kid": k.kid })))
}
