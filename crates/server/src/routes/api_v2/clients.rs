//! `/api/v2/clients`: applications. A client secret is in the answer only when it is made
//! (creation, rotation, turning an application confidential); only its hash is stored.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    response::Response,
};
use serde_json::Value;
use tessera_core::{
    manage::{ClientBody, Page},
    model::Client,
    secret::Secret,
};

use super::{ApiResult, Caller, ListQuery, body, created, deleted};
use crate::state::AppState;

fn view(c: &Client, secret: Option<&Secret>) -> Value {
    let mut v = c.management_json();
    if let Some(s) = secret {
        v["client_secret"] = Value::String(s.expose().to_owned());
    }
    v
}

/// `GET /clients` (`app_type`, `is_first_party`, `is_global` filters; `fields`; pages).
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let page = q.page()?;
    let types: Option<Vec<&str>> = q.get("app_type").map(|t| t.split(',').collect());
    let first_party = q.get("is_first_party").map(|v| v == "true");
    let all: Vec<Client> = caller
        .manager(&state)
        .list_apps()
        .await?
        .into_iter()
        .filter(|c| {
            types
                .as_ref()
                .is_none_or(|t| t.contains(&c.app_type.as_str()))
        })
        .filter(|c| first_party.is_none_or(|f| c.is_first_party == f))
        // Tessera has no global client.
        .filter(|_| q.get("is_global") != Some("true"))
        .collect();
    q.list("clients", &page, Page::of(all, &page)?, |c| view(c, None))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let c = caller.manager(&state).get_app(&id).await?;
    Ok(Json(q.shape(view(&c, None))?))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    bytes: Bytes,
) -> ApiResult<Response> {
    let spec = body::<ClientBody>(&bytes)?.into_create_spec();
    let (c, secret) = caller.manager(&state).create_app(&spec).await?;
    Ok(created(view(&c, secret.as_ref())))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<Json<Value>> {
    let mut spec = body::<ClientBody>(&bytes)?.into_update_spec();
    let m = caller.manager(&state);
    // Auth0 accepts the type it already has.
    if spec.app_type.is_some() {
        let current = m.get_app(&id).await?;
        if spec
            .app_type
            .as_deref()
            .and_then(tessera_core::model::AppType::parse)
            == Some(current.app_type)
        {
            spec.app_type = None;
        }
    }
    let (c, secret) = m.update_app(&id, &spec).await?;
    Ok(Json(view(&c, secret.as_ref())))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.manager(&state).delete_app(&id).await?;
    Ok(deleted())
}

pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (c, secret) = caller.manager(&state).rotate_app_secret(&id).await?;
    Ok(Json(view(&c, Some(&secret))))
}
