//! `/api/v2/roles`: roles (`name_filter`, pages), one role, create and delete.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    response::Response,
};
use serde_json::Value;
use tessera_core::manage::{ManageError, Page, PermissionsBody, RoleBody, UsersBody};

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

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<Json<Value>> {
    let b = body::<RoleBody>(&bytes)?;
    let r = caller
        .manager(&state)
        .update_role(&id, b.name.as_deref(), b.description.as_deref())
        .await?;
    Ok(Json(r.management_json()))
}

pub async fn permissions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let page = q.page()?;
    let all = caller.manager(&state).role_permissions(&id).await?;
    q.list("permissions", &page, Page::of(all, &page)?, |p| {
        serde_json::to_value(p).unwrap_or_default()
    })
}

pub async fn add_permissions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<Response> {
    change_permissions(&state, &caller, &id, &bytes, true).await?;
    Ok(created(Value::Object(Default::default())))
}

pub async fn remove_permissions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<Response> {
    change_permissions(&state, &caller, &id, &bytes, false).await?;
    Ok(deleted())
}

/// `{permissions: [...]}` added to or taken off the role.
async fn change_permissions(
    state: &AppState,
    caller: &Caller,
    id: &str,
    bytes: &[u8],
    add: bool,
) -> ApiResult<()> {
    let b = body::<PermissionsBody>(bytes)?;
    caller
        .manager(state)
        .change_role_permissions(id, &b.permissions, add)
        .await?;
    Ok(())
}

/// `GET /roles/{id}/users`: `{user_id, email, name, picture}` of each, both page styles.
pub async fn users(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let page = q.page()?;
    let found = caller.manager(&state).role_users(&id, &page).await?;
    q.list("users", &page, found, |u| {
        serde_json::json!({
            "user_id": u.user_id,
            "email": u.email,
            "name": u.display_name(),
            "picture": u.picture,
        })
    })
}

pub async fn assign_users(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<Response> {
    let b = body::<UsersBody>(&bytes)?;
    caller
        .manager(&state)
        .assign_role_users(&id, &b.users)
        .await?;
    Ok(created(Value::Object(Default::default())))
}
