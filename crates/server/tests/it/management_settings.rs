//! `/api/v2` beyond the first resources: a role's permissions and users (both page styles),
//! the tenant's settings (one write: a bad value changes nothing) and the signing keys.

use reqwest::Method;
use serde_json::json;

use crate::management::{ALL, call, token};
use crate::support::*;

#[tokio::test]
async fn role_permissions_and_members() {
    let app = spawn_app().await;
    let t = token(
        &app,
        &format!("{ALL},update:roles,read:role_members,create:role_members"),
    )
    .await;
    app.api("https://orders.example/", &[]);
    let (_, role) = call(
        &app,
        &t,
        Method::POST,
        "/roles",
        Some(json!({"name": "reader"})),
    )
    .await;
    let rid = role["id"].as_str().unwrap().to_owned();
    let perm = json!({"permissions": [{"permission_name": "read:x", "resource_server_identifier": "https://orders.example/"}]});
    let (s, b) = call(
        &app,
        &t,
        Method::POST,
        &format!("/roles/{rid}/permissions"),
        Some(perm.clone()),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (_, perms) = call(
        &app,
        &t,
        Method::GET,
        &format!("/roles/{rid}/permissions"),
        None,
    )
    .await;
    assert_eq!(
        perms,
        json!([{"permission_name": "read:x", "resource_server_identifier": "https://orders.example/"}])
    );
    let bad = json!({"permissions": [{"permission_name": "fly", "resource_server_identifier": "https://orders.example/"}]});
    let (s, _) = call(
        &app,
        &t,
        Method::POST,
        &format!("/roles/{rid}/permissions"),
        Some(bad),
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = call(
        &app,
        &t,
        Method::DELETE,
        &format!("/roles/{rid}/permissions"),
        Some(perm),
    )
    .await;
    assert_eq!(s, 204);
    let (_, perms) = call(
        &app,
        &t,
        Method::GET,
        &format!("/roles/{rid}/permissions"),
        None,
    )
    .await;
    assert_eq!(perms, json!([]));
    let (s, r) = call(
        &app,
        &t,
        Method::PATCH,
        &format!("/roles/{rid}"),
        Some(json!({"description": "Reads"})),
    )
    .await;
    assert_eq!(
        (s.as_u16(), &r["description"], &r["name"]),
        (200, &json!("Reads"), &json!("reader"))
    );

    let mut ids = Vec::new();
    for i in 0..3 {
        let (_, u) = call(
            &app,
            &t,
            Method::POST,
            "/users",
            Some(
                json!({"email": format!("m{i}@example.com"), "password": "correct horse battery"}),
            ),
        )
        .await;
        ids.push(u["user_id"].as_str().unwrap().to_owned());
    }
    let (s, _) = call(
        &app,
        &t,
        Method::POST,
        &format!("/roles/{rid}/users"),
        Some(json!({"users": ids})),
    )
    .await;
    assert_eq!(s, 201);
    let (_, page) = call(
        &app,
        &t,
        Method::GET,
        &format!("/roles/{rid}/users?per_page=2&include_totals=true"),
        None,
    )
    .await;
    assert_eq!(
        (
            page["total"].as_u64(),
            page["users"].as_array().unwrap().len()
        ),
        (Some(3), 2)
    );
    let (_, first) = call(
        &app,
        &t,
        Method::GET,
        &format!("/roles/{rid}/users?take=2"),
        None,
    )
    .await;
    let next = first["next"].as_str().unwrap().to_owned();
    let (_, rest) = call(
        &app,
        &t,
        Method::GET,
        &format!("/roles/{rid}/users?take=2&from={next}"),
        None,
    )
    .await;
    assert_eq!(rest["users"].as_array().unwrap().len(), 1);
    assert!(rest.get("next").is_none(), "{rest}");
    let (s, _) = call(
        &app,
        &t,
        Method::POST,
        &format!("/roles/{rid}/users"),
        Some(json!({"users": ["auth0|nobody"]})),
    )
    .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn tenant_settings_and_signing_keys() {
    let app = spawn_app().await;
    let t = token(
        &app,
        "read:tenant_settings,update:tenant_settings,read:signing_keys,create:signing_keys",
    )
    .await;
    let (s, before) = call(&app, &t, Method::GET, "/tenants/settings", None).await;
    assert_eq!(s, 200, "{before}");
    let (s, after) = call(
        &app,
        &t,
        Method::PATCH,
        "/tenants/settings",
        Some(json!({"session_lifetime": 200, "refresh_token": {"leeway": 5}})),
    )
    .await;
    assert_eq!(s, 200, "{after}");
    assert_eq!(
        (
            &after["session_lifetime"],
            &after["refresh_token"]["leeway"]
        ),
        (&json!(200), &json!(5))
    );
    // One bad value: nothing of the request is stored.
    let (s, b) = call(
        &app,
        &t,
        Method::PATCH,
        "/tenants/settings",
        Some(json!({"session_lifetime": 300, "id_token_lifetime": -1})),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    assert!(
        b["message"].as_str().unwrap().contains("id_token_lifetime"),
        "{b}"
    );
    let (_, now) = call(
        &app,
        &t,
        Method::GET,
        "/tenants/settings?fields=session_lifetime",
        None,
    )
    .await;
    assert_eq!(now, json!({"session_lifetime": 200}));
    let (s, _) = call(
        &app,
        &t,
        Method::PATCH,
        "/tenants/settings",
        Some(json!({"default_audience": "https://nowhere.example/"})),
    )
    .await;
    assert_eq!(s, 400, "an API that does not exist");

    let (_, keys) = call(&app, &t, Method::GET, "/keys/signing", None).await;
    let current: Vec<_> = keys
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["current"] == true)
        .collect();
    assert_eq!(current.len(), 1, "{keys}");
    let old = current[0]["kid"].as_str().unwrap().to_owned();
    let (s, rotated) = call(&app, &t, Method::POST, "/keys/signing/rotate", None).await;
    assert_eq!(s, 201);
    let new = rotated["kid"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let (_, k) = call(&app, &t, Method::GET, &format!("/keys/signing/{old}"), None).await;
    assert_eq!(
        (&k["current"], &k["previous"], &k["published"]),
        (&json!(false), &json!(true), &json!(true))
    );
    let (s, _) = call(&app, &t, Method::GET, "/keys/signing/nope", None).await;
    assert_eq!(s, 404);
    // The new key reaches the JWKS within a second.
    app.wait_for_jwks(|set| set.find(&new).is_some()).await;
}

#[tokio::test]
async fn calls_are_counted_per_application_with_auth0s_headers() {
    let app = spawn_app().await;
    app.cli_json(&["tenant", "update", "--management-rate-limit", "3"]);
    let t = token(&app, "read:clients").await;
    let other = token(&app, "read:clients").await;
    app.config_settled().await;
    let get = |tok: String| {
        let url = app.url("/api/v2/clients");
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(tok)
                .send()
                .await
                .unwrap()
        }
    };
    let header = |r: &reqwest::Response, name: &str| -> i64 {
        r.headers()[name].to_str().unwrap().parse().unwrap()
    };
    for remaining in [2, 1, 0] {
        let r = get(t.clone()).await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "x-ratelimit-limit"), 3);
        assert_eq!(header(&r, "x-ratelimit-remaining"), remaining);
        assert!(header(&r, "x-ratelimit-reset") > 1_700_000_000);
    }
    let r = get(t.clone()).await;
    assert_eq!(r.status(), 429);
    let wait = header(&r, "retry-after");
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(header(&r, "x-ratelimit-remaining"), 0);
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (&b["statusCode"], &b["errorCode"]),
        (&json!(429), &json!("too_many_requests"))
    );
    // Another application has a count of its own.
    assert_eq!(get(other).await.status(), 200);
}

#[tokio::test]
async fn the_database_connection_and_user_blocks() {
    let app = spawn_app().await;
    let t = token(
        &app,
        "read:connections,read:users,update:users,read:clients",
    )
    .await;
    let (s, conns) = call(&app, &t, Method::GET, "/connections?strategy=auth0", None).await;
    assert_eq!(s, 200, "{conns}");
    assert_eq!(conns[0]["name"], "Username-Password-Authentication");
    let id = conns[0]["id"].as_str().unwrap().to_owned();
    let (_, one) = call(&app, &t, Method::GET, &format!("/connections/{id}"), None).await;
    assert_eq!(one["strategy"], "auth0");
    let (_, clients) = call(
        &app,
        &t,
        Method::GET,
        &format!("/connections/{id}/clients"),
        None,
    )
    .await;
    assert_eq!(
        clients["clients"].as_array().unwrap().len(),
        1,
        "the token's app: {clients}"
    );
    let (s, _) = call(&app, &t, Method::GET, "/connections/con_nope", None).await;
    assert_eq!(s, 404);
    let (_, none) = call(
        &app,
        &t,
        Method::GET,
        "/connections?strategy=google-oauth2",
        None,
    )
    .await;
    assert_eq!(none, json!([]));

    // Two wrong passwords block the email from this IP (limit set to 2).
    app.cli_json(&["tenant", "update", "--brute-force-max-attempts", "2"]);
    app.user("ann@example.com", "correct horse battery");
    let (web, secret) = app.web_app(&["--grant-types", "authorization_code,password"]);
    app.config_settled().await;
    let attempt = |password: &'static str| {
        let (web, secret) = (web.clone(), secret.clone());
        let app = &app;
        async move {
            app.token_form(&[
                ("grant_type", "password"),
                ("client_id", &web),
                ("client_secret", &secret),
                ("username", "ann@example.com"),
                ("password", password),
            ])
            .await
            .status()
        }
    };
    assert_eq!(attempt("wrong").await, 400);
    assert_eq!(attempt("wrong").await, 400);
    assert_eq!(attempt("correct horse battery").await, 429);
    let (s, blocks) = call(
        &app,
        &t,
        Method::GET,
        "/user-blocks?identifier=ann%40example.com",
        None,
    )
    .await;
    assert_eq!(s, 200, "{blocks}");
    assert_eq!(
        blocks["blocked_for"],
        json!([{"identifier": "ann@example.com", "ip": "127.0.0.1"}])
    );
    let (s, _) = call(
        &app,
        &t,
        Method::DELETE,
        "/user-blocks?identifier=ann%40example.com",
        None,
    )
    .await;
    assert_eq!(s, 204);
    assert_eq!(attempt("correct horse battery").await, 200);
    let (_, blocks) = call(
        &app,
        &t,
        Method::GET,
        "/user-blocks?identifier=ann%40example.com",
        None,
    )
    .await;
    assert_eq!(blocks["blocked_for"], json!([]));
    let (s, _) = call(&app, &t, Method::GET, "/user-blocks", None).await;
    assert_eq!(s, 400, "identifier is required");
}
