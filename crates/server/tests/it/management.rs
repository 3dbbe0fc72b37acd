//! `/api/v2`, the Management API, driven over HTTP with tokens got by client credentials for
//! the tenant's system API: authentication and scopes (Auth0's exact 401/403 bodies), each
//! resource's create/read/update/delete, both pagination styles, `fields`, and bad input
//! (4xx, nothing stored).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

pub(crate) const ALL: &str = "read:clients,create:clients,update:clients,delete:clients,update:client_keys,\
read:resource_servers,create:resource_servers,update:resource_servers,delete:resource_servers,\
read:client_grants,create:client_grants,update:client_grants,delete:client_grants,\
read:users,create:users,update:users,delete:users,read:roles,create:roles,delete:roles";

/// A Management API token with `scopes` (comma-separated).
pub(crate) async fn token(app: &TestApp, scopes: &str) -> String {
    // The system API's identifier: `{issuer}api/v2/` as the tenant was created.
    let apis = app.cli_json(&["apis", "list"]);
    let audience = apis
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["is_system"] == true)
        .and_then(|a| a["identifier"].as_str())
        .unwrap()
        .to_owned();
    let (id, secret) = app.granted_m2m(&audience, scopes);
    let t = ok_within_a_second(|| app.cc_request(&id, &secret, &audience)).await;
    t["access_token"].as_str().unwrap().to_owned()
}

pub(crate) async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .request(method, app.url(&format!("/api/v2{path}")))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn error_body(status: u16, error: &str, message: &str, code: &str) -> Value {
    json!({"statusCode": status, "error": error, "message": message, "errorCode": code})
}

#[tokio::test]
async fn tokens_and_scopes_guard_every_call() {
    let app = spawn_app().await;
    // The system API is listed and cannot be changed.
    let apis = app.cli_json(&["apis", "list"]);
    let system: Vec<&Value> = apis
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["is_system"] == true)
        .collect();
    assert_eq!(system.len(), 1, "{apis}");
    assert_eq!(system[0]["identifier"], format!("{}api/v2/", app.issuer()));

    let url = app.url("/api/v2/clients");
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        error_body(
            401,
            "Unauthorized",
            "Missing authentication",
            "invalid_token"
        )
    );
    let (s, b) = call(&app, "not.a.jwt", Method::GET, "/clients", None).await;
    assert_eq!((s.as_u16(), &b["message"]), (401, &json!("Invalid token")));
    // A token for another API is not a Management API token.
    app.api("https://other.example", &[]);
    let (id, secret) = app.granted_m2m("https://other.example", "read:x");
    let other = ok_within_a_second(|| app.cc_request(&id, &secret, "https://other.example")).await;
    let (s, b) = call(
        &app,
        other["access_token"].as_str().unwrap(),
        Method::GET,
        "/clients",
        None,
    )
    .await;
    assert_eq!((s.as_u16(), &b["message"]), (401, &json!("Bad audience")));

    let reader = token(&app, "read:clients").await;
    let (s, list) = call(&app, &reader, Method::GET, "/clients", None).await;
    assert_eq!(s, 200);
    let before = list.as_array().unwrap().len();
    let (s, b) = call(
        &app,
        &reader,
        Method::POST,
        "/clients",
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(
        b,
        error_body(
            403,
            "Forbidden",
            "Insufficient scope, expected any of: create:clients",
            "insufficient_scope"
        )
    );
    let (_, list) = call(&app, &reader, Method::GET, "/clients", None).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        before,
        "nothing was created"
    );
    let (s, b) = call(&app, &reader, Method::GET, "/users", None).await;
    assert_eq!(
        (s.as_u16(), &b["message"]),
        (
            403,
            &json!("Insufficient scope, expected any of: read:users")
        )
    );
    // Answers that read nothing still check the scope.
    let (s, _) = call(
        &app,
        &reader,
        Method::GET,
        "/users?connection=google-oauth2",
        None,
    )
    .await;
    assert_eq!(s, 403);
    let (s, b) = call(&app, &reader, Method::GET, "/actions/triggers", None).await;
    assert_eq!(
        (s.as_u16(), &b["message"]),
        (
            403,
            &json!("Insufficient scope, expected any of: read:actions")
        )
    );
    // Unknown paths under /api/v2 answer in the same shape.
    let (s, b) = call(&app, &reader, Method::GET, "/nothing-here", None).await;
    assert_eq!((s.as_u16(), &b["statusCode"]), (404, &json!(404)));
}

#[tokio::test]
async fn clients_crud_pages_fields_and_bad_bodies() {
    let app = spawn_app().await;
    let t = token(&app, ALL).await;
    let mut ids = Vec::new();
    for (name, kind) in [
        ("one", "spa"),
        ("two", "regular_web"),
        ("three", "non_interactive"),
    ] {
        let (s, c) = call(
            &app,
            &t,
            Method::POST,
            "/clients",
            Some(
                json!({"name": name, "app_type": kind, "callbacks": ["https://app.example/cb"],
                        "sso": true, "jwt_configuration": {"alg": "RS256"}}),
            ),
        )
        .await;
        assert_eq!(s, 201, "{c}");
        assert_eq!(c["app_type"], kind);
        // A SPA is public: no secret. The others show theirs once.
        assert_eq!(c["client_secret"].is_string(), kind != "spa", "{c}");
        ids.push(c["client_id"].as_str().unwrap().to_owned());
    }
    // The token's own m2m app is there too: 4 in all.
    let (_, page) = call(
        &app,
        &t,
        Method::GET,
        "/clients?include_totals=true&per_page=3",
        None,
    )
    .await;
    assert_eq!(
        (
            page["total"].as_u64(),
            page["start"].as_u64(),
            page["limit"].as_u64()
        ),
        (Some(4), Some(0), Some(3))
    );
    assert_eq!(page["clients"].as_array().unwrap().len(), 3);
    let (_, last) = call(&app, &t, Method::GET, "/clients?page=1&per_page=3", None).await;
    assert_eq!(
        last.as_array().unwrap().len(),
        1,
        "a bare array without include_totals"
    );
    let (_, past) = call(&app, &t, Method::GET, "/clients?page=7&per_page=3", None).await;
    assert_eq!(past, json!([]));
    let (s, _) = call(&app, &t, Method::GET, "/clients?per_page=101", None).await;
    assert_eq!(s, 400);
    let (s, _) = call(&app, &t, Method::GET, "/clients?page=x", None).await;
    assert_eq!(s, 400);
    let (_, spas) = call(
        &app,
        &t,
        Method::GET,
        "/clients?app_type=spa&fields=client_id,name",
        None,
    )
    .await;
    assert_eq!(spas, json!([{"client_id": ids[0], "name": "one"}]));
    let (_, no_cb) = call(
        &app,
        &t,
        Method::GET,
        &format!("/clients/{}?fields=callbacks&include_fields=false", ids[1]),
        None,
    )
    .await;
    assert!(
        no_cb.get("callbacks").is_none() && no_cb["name"] == "two",
        "{no_cb}"
    );

    let (s, c) = call(
        &app,
        &t,
        Method::PATCH,
        &format!("/clients/{}", ids[1]),
        Some(json!({"name": "renamed", "app_type": "regular_web"})),
    )
    .await;
    assert_eq!((s.as_u16(), &c["name"]), (200, &json!("renamed")));
    let (s, c) = call(
        &app,
        &t,
        Method::POST,
        &format!("/clients/{}/rotate-secret", ids[2]),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert!(c["client_secret"].as_str().unwrap().len() >= 32);

    // Bad bodies: 400 naming the field, nothing stored.
    for (body, says) in [
        (json!({"name": 5}), "name: invalid type"),
        (json!({"name": "x", "callbacks": ["ok", 3]}), "callbacks[1]"),
        (
            json!({"name": "x", "app_type": "robot"}),
            "unknown application type",
        ),
        (
            json!({"name": "x", "callbacks": ["not a url"]}),
            "callbacks",
        ),
    ] {
        let (s, b) = call(&app, &t, Method::POST, "/clients", Some(body.clone())).await;
        assert_eq!(s, 400, "{body}: {b}");
        assert_eq!(b["statusCode"], 400);
        assert!(b["message"].as_str().unwrap().contains(says), "{body}: {b}");
    }
    let r = reqwest::Client::new()
        .post(app.url("/api/v2/clients"))
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let (_, page) = call(&app, &t, Method::GET, "/clients?include_totals=true", None).await;
    assert_eq!(page["total"], 4, "no bad body stored anything");

    let (s, _) = call(
        &app,
        &t,
        Method::DELETE,
        &format!("/clients/{}", ids[0]),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, b) = call(&app, &t, Method::GET, &format!("/clients/{}", ids[0]), None).await;
    assert_eq!(
        (s.as_u16(), &b["statusCode"], &b["error"]),
        (404, &json!(404), &json!("Not Found"))
    );
    let (s, _) = call(
        &app,
        &t,
        Method::DELETE,
        &format!("/clients/{}", ids[0]),
        None,
    )
    .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn resource_servers_and_client_grants() {
    let app = spawn_app().await;
    let t = token(&app, ALL).await;
    let (s, api) = call(
        &app,
        &t,
        Method::POST,
        "/resource-servers",
        Some(json!({"name": "Orders", "identifier": "https://orders.example/",
                    "scopes": [{"value": "read:orders", "description": "Read"}, {"value": "write:orders"}],
                    "signing_alg": "RS256", "token_lifetime": 3600})),
    )
    .await;
    assert_eq!(s, 201, "{api}");
    assert_eq!(api["token_lifetime"], 3600);
    let (s, again) = call(
        &app,
        &t,
        Method::POST,
        "/resource-servers",
        Some(json!({"name": "Dup", "identifier": "https://orders.example/"})),
    )
    .await;
    assert_eq!(s, 409, "{again}");
    // By id, and by URL-encoded identifier.
    let (s, by_id) = call(
        &app,
        &t,
        Method::GET,
        &format!("/resource-servers/{}", api["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(
        (s.as_u16(), &by_id["identifier"]),
        (200, &json!("https://orders.example/"))
    );
    let (s, by_ident) = call(
        &app,
        &t,
        Method::GET,
        "/resource-servers/https%3A%2F%2Forders.example%2F",
        None,
    )
    .await;
    assert_eq!((s.as_u16(), &by_ident["id"]), (200, &api["id"]));
    let (_, all) = call(&app, &t, Method::GET, "/resource-servers", None).await;
    let system = all
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["is_system"] == true)
        .unwrap()
        .clone();
    let sys_path = format!("/resource-servers/{}", system["id"].as_str().unwrap());
    let (s, b) = call(
        &app,
        &t,
        Method::PATCH,
        &sys_path,
        Some(json!({"name": "mine"})),
    )
    .await;
    assert_eq!(
        (s.as_u16(), &b["errorCode"]),
        (403, &json!("operation_not_supported"))
    );
    let (s, _) = call(&app, &t, Method::DELETE, &sys_path, None).await;
    assert_eq!(s, 403);

    let (s, c) = call(
        &app,
        &t,
        Method::POST,
        "/clients",
        Some(json!({"name": "svc", "app_type": "non_interactive"})),
    )
    .await;
    assert_eq!(s, 201);
    let client_id = c["client_id"].as_str().unwrap();
    let grant = json!({"client_id": client_id, "audience": "https://orders.example/", "scope": ["read:orders"]});
    let (s, g) = call(
        &app,
        &t,
        Method::POST,
        "/client-grants",
        Some(grant.clone()),
    )
    .await;
    assert_eq!(s, 201, "{g}");
    let (s, _) = call(&app, &t, Method::POST, "/client-grants", Some(grant)).await;
    assert_eq!(s, 409);
    let gid = g["id"].as_str().unwrap();
    let (s, b) = call(
        &app,
        &t,
        Method::PATCH,
        &format!("/client-grants/{gid}"),
        Some(json!({"scope": ["fly"]})),
    )
    .await;
    assert_eq!(s, 400, "a scope the API does not define: {b}");
    let (s, g2) = call(
        &app,
        &t,
        Method::PATCH,
        &format!("/client-grants/{gid}"),
        Some(json!({"scope": ["read:orders", "write:orders"]})),
    )
    .await;
    assert_eq!(
        (s.as_u16(), &g2["scope"]),
        (200, &json!(["read:orders", "write:orders"]))
    );
    // The new grant works at the token endpoint.
    let (_, rotated) = call(
        &app,
        &t,
        Method::POST,
        &format!("/clients/{client_id}/rotate-secret"),
        None,
    )
    .await;
    let secret = rotated["client_secret"].as_str().unwrap().to_owned();
    let tok =
        ok_within_a_second(|| app.cc_request(client_id, &secret, "https://orders.example/")).await;
    assert_eq!(tok["scope"], "read:orders write:orders");
    // Filters and checkpoint pages: `next` until the last page, never with it.
    let (_, mine) = call(
        &app,
        &t,
        Method::GET,
        "/client-grants?audience=https://orders.example/",
        None,
    )
    .await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let (_, first) = call(&app, &t, Method::GET, "/client-grants?take=1", None).await;
    assert_eq!(first["client_grants"].as_array().unwrap().len(), 1);
    let next = first["next"].as_str().unwrap().to_owned();
    let (_, second) = call(
        &app,
        &t,
        Method::GET,
        &format!("/client-grants?take=1&from={next}&include_totals=true"),
        None,
    )
    .await;
    assert_eq!(second["client_grants"].as_array().unwrap().len(), 1);
    assert!(
        second.get("next").is_none(),
        "the last page has no next: {second}"
    );
    let (s, _) = call(
        &app,
        &t,
        Method::DELETE,
        &format!("/client-grants/{gid}"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = call(
        &app,
        &t,
        Method::DELETE,
        &format!("/client-grants/{gid}"),
        None,
    )
    .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn users_search_metadata_and_roles() {
    let app = spawn_app().await;
    let t = token(&app, ALL).await;
    for (email, plan) in [
        ("ann@example.com", "pro"),
        ("anna@example.com", "free"),
        ("bob@example.org", "pro"),
    ] {
        let (s, u) = call(
            &app,
            &t,
            Method::POST,
            "/users",
            Some(json!({"email": email, "password": "correct horse battery", "connection": "Username-Password-Authentication",
                        "app_metadata": {"plan": plan}})),
        )
        .await;
        assert_eq!(s, 201, "{u}");
    }
    let (s, b) = call(
        &app,
        &t,
        Method::POST,
        "/users",
        Some(json!({"email": "ANN@example.com", "password": "correct horse battery"})),
    )
    .await;
    assert_eq!(s, 409, "{b}");
    let (s, _) = call(&app, &t, Method::POST, "/users", Some(json!({"email": "x@example.com", "password": "correct horse battery", "connection": "google-oauth2"}))).await;
    assert_eq!(s, 400);

    let emails = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, found) = call(
        &app,
        &t,
        Method::GET,
        "/users?q=email%3A%22ann%40example.com%22",
        None,
    )
    .await;
    assert_eq!(emails(&found), ["ann@example.com"]);
    let (_, found) = call(
        &app,
        &t,
        Method::GET,
        "/users?q=email%3Aann*%20AND%20app_metadata.plan%3Apro",
        None,
    )
    .await;
    assert_eq!(emails(&found), ["ann@example.com"]);
    let (_, page) = call(
        &app,
        &t,
        Method::GET,
        "/users?include_totals=true&per_page=2&sort=email:-1",
        None,
    )
    .await;
    assert_eq!(page["total"], 3);
    assert_eq!(
        emails(&page["users"]),
        ["bob@example.org", "anna@example.com"]
    );
    let (_, other) = call(
        &app,
        &t,
        Method::GET,
        "/users?connection=google-oauth2",
        None,
    )
    .await;
    assert_eq!(other, json!([]), "no other connection has users");
    let (s, b) = call(&app, &t, Method::GET, "/users?q=password%3Ax", None).await;
    assert_eq!(s, 400, "{b}");
    let (_, by_email) = call(
        &app,
        &t,
        Method::GET,
        "/users-by-email?email=Bob%40example.org",
        None,
    )
    .await;
    assert_eq!(emails(&by_email), ["bob@example.org"]);
    let id = by_email[0]["user_id"].as_str().unwrap().to_owned();

    // PATCH merges metadata one level deep; null removes a key.
    let (s, u) = call(
        &app,
        &t,
        Method::PATCH,
        &format!("/users/{id}"),
        Some(json!({"app_metadata": {"team": "blue"}})),
    )
    .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["app_metadata"], json!({"plan": "pro", "team": "blue"}));
    let (_, u) = call(
        &app,
        &t,
        Method::PATCH,
        &format!("/users/{id}"),
        Some(json!({"app_metadata": {"plan": null}, "blocked": true})),
    )
    .await;
    assert_eq!(
        (&u["app_metadata"], &u["blocked"]),
        (&json!({"team": "blue"}), &json!(true))
    );

    let (s, role) = call(
        &app,
        &t,
        Method::POST,
        "/roles",
        Some(json!({"name": "admin", "description": "All"})),
    )
    .await;
    assert_eq!(s, 201, "{role}");
    let role_id = role["id"].as_str().unwrap().to_owned();
    let (s, _) = call(
        &app,
        &t,
        Method::POST,
        &format!("/users/{id}/roles"),
        Some(json!({"roles": [role_id]})),
    )
    .await;
    assert_eq!(s, 204);
    let (_, held) = call(&app, &t, Method::GET, &format!("/users/{id}/roles"), None).await;
    assert_eq!(held[0]["name"], "admin");
    let (_, roles) = call(&app, &t, Method::GET, "/roles?name_filter=ADM", None).await;
    assert_eq!(roles.as_array().unwrap().len(), 1);
    let (s, _) = call(&app, &t, Method::DELETE, &format!("/roles/{role_id}"), None).await;
    assert_eq!(s, 204);
    let (_, held) = call(&app, &t, Method::GET, &format!("/users/{id}/roles"), None).await;
    assert_eq!(held, json!([]), "deleting a role takes it off its users");

    let (s, _) = call(&app, &t, Method::DELETE, &format!("/users/{id}"), None).await;
    assert_eq!(s, 204);
    let (s, _) = call(&app, &t, Method::GET, &format!("/users/{id}"), None).await;
    assert_eq!(s, 404);
}
