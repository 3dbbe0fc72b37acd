//! `/api/v2/users`: the database connection's users (search with `q`, pages, totals), one
//! user, its roles and permissions, and `/users-by-email`.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    response::Response,
};
use serde_json::Value;
use tessera_core::{
    manage::{Page, PageRequest, RolesBody, UserBody},
    model::DATABASE_CONNECTION,
    password,
};

use super::{ApiResult, Caller, ListQuery, body, created, deleted};
use crate::state::AppState;

fn hash(p: String) -> String {
    password::hash(&p)
}

/// `GET /users`: `q` (Auth0's search syntax), `sort`, `connection`, `fields`, pages.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let page = q.page()?;
    let m = caller.manager(&state);
    let found = match q.get("connection") {
        Some(c) if c != DATABASE_CONNECTION => {
            // No such connection has users; the scope is still checked, and nothing is read.
            caller.actor.require(&["read:users"])?;
            Page::of(Vec::new(), &page)?
        }
        _ => {
            m.list_users(q.get("q").unwrap_or(""), q.get("sort"), &page)
                .await?
        }
    };
    q.list("users", &page, found, |u| u.management_json())
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let u = caller.manager(&state).get_user(&id).await?;
    Ok(Json(q.shape(u.management_json())?))
}

/// `GET /users-by-email?email=`: an array of the user with that email (or none).
pub async fn by_email(
    State(state): State<AppState>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let email = q.get("email").unwrap_or("");
    let escaped = email.replace('\\', "\\\\").replace('"', "\\\"");
    let page = PageRequest::default();
    let found = caller
        .manager(&state)
        .list_users(&format!("email:\"{escaped}\""), None, &page)
        .await?;
    let items = found
        .items
        .iter()
        .map(|u| q.shape(u.management_json()))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(Value::Array(items)))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    bytes: Bytes,
) -> ApiResult<Response> {
    let b = body::<UserBody>(&bytes)?;
    b.check_connection()?;
    let m = caller.manager(&state);
    let mut u = m.create_user(&b.to_spec(false), hash).await?;
    if b.blocked == Some(true) {
        u = m.set_user_blocked(&u.user_id, true).await?;
    }
    Ok(created(u.management_json()))
}

/// `PATCH /users/{id}`: metadata is merged one level deep, as on Auth0.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<Json<Value>> {
    let b = body::<UserBody>(&bytes)?;
    b.check_connection()?;
    let m = caller.manager(&state);
    let spec = b.to_spec(true);
    let mut u = m.update_user(&id, &spec, hash).await?;
    if let Some(blocked) = b.blocked {
        u = m.set_user_blocked(&u.user_id, blocked).await?;
    }
    Ok(Json(u.management_json()))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    caller.manager(&state).delete_user(&id).await?;
    Ok(deleted())
}

pub async fn roles(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let page = q.page()?;
    let all = caller.manager(&state).user_roles(&id).await?;
    q.list("roles", &page, Page::of(all, &page)?, |r| {
        r.management_json()
    })
}

pub async fn assign_roles(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<Response> {
    change_roles(&state, &caller, &id, &bytes, true).await
}

pub async fn remove_roles(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<Response> {
    change_roles(&state, &caller, &id, &bytes, false).await
}

/// `{roles: [...]}` assigned to or taken off the user: 204 either way.
async fn change_roles(
    state: &AppState,
    caller: &Caller,
    id: &str,
    bytes: &[u8],
    assign: bool,
) -> ApiResult<Response> {
    let b = body::<RolesBody>(bytes)?;
    caller
        .manager(state)
        .change_user_roles(id, &b.roles, assign)
        .await?;
    Ok(deleted())
}

pub async fn permissions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let page = q.page()?;
    let all = caller.manager(&state).user_permissions(&id).await?;
    q.list("permissions", &page, Page::of(all, &page)?, |p| {
        serde_json::to_value(p).unwrap_or_default()
    })
}
