//! `/api/v2`: Auth0's Management API over [`tessera_core::manage`]. Here: the router, the
//! caller (a bearer token of the tenant's Management API, see `manage::auth`), Auth0's error
//! body, page and `fields` parameters. Each resource's handlers are in a file of their own
//! and only extract, call the layer and shape the answer.

mod actions;
mod client_grants;
mod clients;
mod connections;
mod logs;
mod resource_servers;
mod roles;
mod rules;
mod settings;
mod users;

use std::{collections::HashMap, sync::Arc};

use axum::{
    Json, Router,
    extract::{FromRequestParts, Query},
    http::{StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};
use tessera_core::{
    manage::{self, Actor, DEFAULT_PER_PAGE, ManageError, Manager, Page, PageRequest},
    model::{LogEvent, codes},
};

use crate::state::{AppState, Snapshot};

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/clients", get(clients::list).post(clients::create))
        .route(
            "/clients/{id}",
            get(clients::get)
                .patch(clients::update)
                .delete(clients::delete),
        )
        .route("/clients/{id}/rotate-secret", post(clients::rotate_secret))
        .route(
            "/resource-servers",
            get(resource_servers::list).post(resource_servers::create),
        )
        .route(
            "/resource-servers/{id}",
            get(resource_servers::get)
                .patch(resource_servers::update)
                .delete(resource_servers::delete),
        )
        .route(
            "/client-grants",
            get(client_grants::list).post(client_grants::create),
        )
        .route(
            "/client-grants/{id}",
            axum::routing::patch(client_grants::update).delete(client_grants::delete),
        )
        .route("/users", get(users::list).post(users::create))
        .route(
            "/users/{id}",
            get(users::get).patch(users::update).delete(users::delete),
        )
        .route("/users-by-email", get(users::by_email))
        .route(
            "/users/{id}/roles",
            get(users::roles)
                .post(users::assign_roles)
                .delete(users::remove_roles),
        )
        .route("/users/{id}/permissions", get(users::permissions))
        .route("/roles", get(roles::list).post(roles::create))
        .route(
            "/roles/{id}",
            get(roles::get).patch(roles::update).delete(roles::delete),
        )
        .route(
            "/roles/{id}/permissions",
            get(roles::permissions)
                .post(roles::add_permissions)
                .delete(roles::remove_permissions),
        )
        .route(
            "/roles/{id}/users",
            get(roles::users).post(roles::assign_users),
        )
        .route(
            "/tenants/settings",
            get(settings::get).patch(settings::update),
        )
        .route("/actions/actions", get(actions::list).post(actions::create))
        .route(
            "/actions/actions/{id}",
            get(actions::get)
                .patch(actions::update)
                .delete(actions::delete),
        )
        .route("/actions/actions/{id}/deploy", post(actions::deploy))
        .route("/actions/actions/{id}/versions", get(actions::versions))
        .route("/actions/triggers", get(actions::triggers))
        .route(
            "/actions/triggers/{trigger}/bindings",
            get(actions::bindings).patch(actions::set_bindings),
        )
        .route("/rules", get(rules::list).post(rules::create))
        .route(
            "/rules/{id}",
            get(rules::get).patch(rules::update).delete(rules::delete),
        )
        .route("/connections", get(connections::list))
        .route("/connections/{id}", get(connections::get))
        .route("/connections/{id}/clients", get(connections::clients))
        .route(
            "/user-blocks",
            get(connections::blocks_by_identifier).delete(connections::clear_by_identifier),
        )
        .route(
            "/user-blocks/{id}",
            get(connections::blocks).delete(connections::clear),
        )
        .route("/logs", get(logs::list))
        .route("/logs/{id}", get(logs::get))
        .route("/keys/signing", get(settings::keys))
        .route("/keys/signing/rotate", post(settings::rotate))
        .route("/keys/signing/{kid}", get(settings::key))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state, authenticate))
}

async fn not_found() -> ApiError {
    ApiError(ManageError::NotFound("Not Found".into()))
}

/// Who is calling, from `Authorization: Bearer …`, and the snapshot it was checked against
/// ([`authenticate`] puts it in the request).
#[derive(Clone)]
pub struct Caller {
    snap: Arc<Snapshot>,
    actor: Actor,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError(ManageError::Unauthorized("Missing authentication".into())))
    }
}

fn caller_of(state: &AppState, headers: &axum::http::HeaderMap) -> Result<Caller, ApiError> {
    let unauthorized = |m: &str| ApiError(ManageError::Unauthorized(m.into()));
    let header = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("Missing authentication"))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthorized("Bad HTTP authentication header format"))?;
    let snap = state.snapshot();
    let audience = snap
        .config
        .system_api()
        .map(|a| a.identifier.clone())
        .ok_or_else(|| unauthorized("This tenant has no Management API"))?;
    let actor = manage::actor_from_token(
        &snap.keys,
        &snap.tenant,
        &audience,
        token,
        state.clock.now(),
    )
    .map_err(ApiError)?;
    Ok(Caller { snap, actor })
}

/// Every `/api/v2` request: the bearer token becomes the [`Caller`], the call is counted
/// against the tenant's per-application limit, and every answer carries Auth0's
/// `x-ratelimit-*` headers (429 with `Retry-After` past the limit).
async fn authenticate(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let caller = match caller_of(&state, req.headers()) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let now = state.clock.now();
    let client_id = match &caller.actor.who {
        manage::Who::Client(id) => id.clone(),
        manage::Who::Cli => String::new(),
    };
    let rate = match manage::count_call(state.store.as_ref(), &caller.snap.tenant, &client_id, now)
        .await
    {
        Ok(r) => r,
        Err(e) => return ApiError(e).into_response(),
    };
    let mut resp = match rate {
        Some(r) if r.exceeded() => {
            let body = json!({
                "statusCode": 429,
                "error": "Too Many Requests",
                "message": format!("Global limit has been reached: {} calls per minute for this application", r.limit),
                "errorCode": "too_many_requests",
            });
            let mut resp = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
            resp.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from((r.reset - now).max(1)),
            );
            resp
        }
        _ => {
            let method = req.method().clone();
            let path = req.uri().path().to_owned();
            let ip = req
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| {
                    crate::web::client_ip(req.headers(), c.0.ip(), &state.trusted_proxies)
                        .to_string()
                });
            let tenant = caller.snap.tenant.id.clone();
            req.extensions_mut().insert(caller);
            let resp = next.run(req).await;
            // Changes are tenant log events (`sapi`, or `fapi` when refused); reads are not.
            if method != axum::http::Method::GET {
                let ok = resp.status().is_success();
                let code = if ok {
                    codes::API_OPERATION
                } else {
                    codes::API_OPERATION_FAILED
                };
                let mut e = LogEvent::new(
                    &tenant,
                    code,
                    format!("{method} /api/v2{path}"),
                    crate::web::now_ms(),
                );
                e.client_id = Some(client_id.clone()).filter(|c| !c.is_empty());
                e.ip = ip;
                e.details = json!({ "request": { "method": method.as_str(), "path": format!("/api/v2{path}") },
                                    "response": { "statusCode": resp.status().as_u16() } });
                state.logs.emit(e);
            }
            resp
        }
    };
    if let Some(r) = rate {
        let h = resp.headers_mut();
        h.insert("x-ratelimit-limit", header::HeaderValue::from(r.limit));
        h.insert(
            "x-ratelimit-remaining",
            header::HeaderValue::from(r.remaining.max(0)),
        );
        h.insert("x-ratelimit-reset", header::HeaderValue::from(r.reset));
    }
    resp
}

impl Caller {
    pub fn manager<'a>(&'a self, state: &'a AppState) -> Manager<'a> {
        Manager {
            store: state.store.as_ref(),
            clock: state.clock.as_ref(),
            master: &state.master,
            tenant: &self.snap.tenant.id,
            actor: &self.actor,
        }
    }
}

/// A Management API error: `{statusCode, error, message, errorCode}`.
pub struct ApiError(pub ManageError);

impl From<ManageError> for ApiError {
    fn from(e: ManageError) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self.0 {
            ManageError::Invalid { .. } => (StatusCode::BAD_REQUEST, "invalid_body"),
            ManageError::Failed(_) => (StatusCode::BAD_REQUEST, "operation_failed"),
            ManageError::NotFound(_) => (StatusCode::NOT_FOUND, "inexistent_resource"),
            ManageError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ManageError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "invalid_token"),
            ManageError::InsufficientScope(_) => (StatusCode::FORBIDDEN, "insufficient_scope"),
            ManageError::Forbidden(_) => (StatusCode::FORBIDDEN, "operation_not_supported"),
            ManageError::Store(_) | ManageError::Keys(_) | ManageError::WrongMasterKey => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
            }
        };
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self.0, "management request failed");
            "Internal error".to_owned()
        } else {
            tracing::info!(error = %self.0, status = status.as_u16(), "management request refused");
            self.0.to_string()
        };
        let body = json!({
            "statusCode": status.as_u16(),
            "error": status.canonical_reason().unwrap_or(""),
            "message": message,
            "errorCode": code,
        });
        let mut resp = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"tessera\""),
            );
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The query string as Auth0's list endpoints read it (unknown parameters are ignored).
pub struct ListQuery(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(q) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError(ManageError::invalid(format!("query string: {e}"))))?;
        Ok(Self(q))
    }
}

fn query_error(name: &'static str, message: &str) -> ApiError {
    ApiError(ManageError::field(name, message))
}

impl ListQuery {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn number(&self, name: &'static str) -> ApiResult<Option<u64>> {
        self.get(name)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| query_error(name, "must be a whole number"))
            })
            .transpose()
    }

    fn flag(&self, name: &'static str) -> ApiResult<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(query_error(name, "must be true or false")),
        }
    }

    /// `take` (+`from`) asks for checkpoint pages; otherwise `page`/`per_page`.
    pub fn page(&self) -> ApiResult<PageRequest> {
        if let Some(take) = self.number("take")? {
            return Ok(PageRequest::Checkpoint {
                from: self.get("from").map(str::to_owned),
                take,
            });
        }
        Ok(PageRequest::Offset {
            page: self.number("page")?.unwrap_or(0),
            per_page: self.number("per_page")?.unwrap_or(DEFAULT_PER_PAGE),
            include_totals: self.flag("include_totals")?.unwrap_or(false),
        })
    }

    /// `fields=a,b` with `include_fields=true` (the default) keeps only those fields of each
    /// object; with `include_fields=false` it drops them.
    pub fn shape(&self, mut v: Value) -> ApiResult<Value> {
        let Some(fields) = self.get("fields") else {
            return Ok(v);
        };
        let include = self.flag("include_fields")?.unwrap_or(true);
        let named: Vec<&str> = fields.split(',').map(str::trim).collect();
        if let Value::Object(m) = &mut v {
            m.retain(|k, _| named.contains(&k.as_str()) == include);
        }
        Ok(v)
    }

    /// A list answer: a bare array, `{key: [...], start, limit, total}` with
    /// `include_totals`, or `{key: [...], next}` for checkpoint pages (no `next` on the last).
    pub fn list<T>(
        &self,
        key: &str,
        page: &PageRequest,
        found: Page<T>,
        view: impl Fn(&T) -> Value,
    ) -> ApiResult<Json<Value>> {
        let items = found
            .items
            .iter()
            .map(|x| self.shape(view(x)))
            .collect::<ApiResult<Vec<Value>>>()?;
        Ok(Json(match page {
            PageRequest::Checkpoint { .. } => {
                let mut o = json!({ key: items });
                if let Some(next) = found.next {
                    o["next"] = Value::String(next);
                }
                o
            }
            PageRequest::Offset {
                include_totals: true,
                ..
            } => json!({
                key: items,
                "start": found.start,
                "limit": found.limit,
                "total": found.total.unwrap_or(0),
            }),
            PageRequest::Offset { .. } => Value::Array(items),
        }))
    }
}

/// The request body, read by [`manage::parse_body`] (its 400 names a wrong field).
pub fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    manage::parse_body(bytes).map_err(ApiError)
}

/// 201 with the created object.
pub fn created(v: Value) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

/// 204, nothing.
pub fn deleted() -> Response {
    StatusCode::NO_CONTENT.into_response()
}
