//! Tenant logs: token exchanges and Management API changes become events with Auth0's type
//! codes, written off the request path and never with a secret; `/api/v2/logs` finds them by
//! type, pages them both ways, and a clean shutdown stores what was still queued.

use reqwest::Method;
use serde_json::{Value, json};

use crate::management::{call, token};
use crate::support::*;

async fn logs_within_a_second(app: &TestApp, t: &str, q: &str, want: usize) -> Value {
    for _ in 0..40 {
        let (_, found) = call(app, t, Method::GET, &format!("/logs?q={q}"), None).await;
        if found.as_array().is_some_and(|a| a.len() >= want) {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {want} events for {q} after two seconds");
}

#[tokio::test]
async fn exchanges_and_changes_are_logged_and_found() {
    let mut app = spawn_app().await;
    let t = token(&app, "read:logs,create:clients").await;
    app.api("https://orders.example/", &[]);
    let (id, secret) = app.granted_m2m("https://orders.example/", "read:x");
    ok_within_a_second(|| app.cc_request(&id, &secret, "https://orders.example/")).await;
    let bad = app
        .cc_request(&id, "wrong-secret", "https://orders.example/")
        .await;
    assert_eq!(bad.status(), 401);
    let (s, _) = call(
        &app,
        &t,
        Method::POST,
        "/clients",
        Some(json!({"name": "logged"})),
    )
    .await;
    assert_eq!(s, 201);
    let (s, _) = call(&app, &t, Method::DELETE, "/clients/nope", None).await;
    assert_eq!(s, 403, "no delete:clients");

    let failed = logs_within_a_second(&app, &t, "type%3Afeccft", 1).await;
    assert_eq!(failed[0]["client_id"], id.as_str());
    assert_eq!(failed[0]["ip"], "127.0.0.1");
    let api = logs_within_a_second(&app, &t, "type%3Asapi", 1).await;
    assert_eq!(api[0]["description"], "POST /api/v2/clients");
    assert_eq!(api[0]["details"]["response"]["statusCode"], 201);
    let refused = logs_within_a_second(&app, &t, "type%3Afapi", 1).await;
    assert_eq!(refused[0]["details"]["response"]["statusCode"], 403);

    // Never a secret: neither the client's nor the token.
    let (_, all) = call(&app, &t, Method::GET, "/logs?per_page=100", None).await;
    let text = all.to_string();
    assert!(!text.contains(&secret) && !text.contains(&t), "{text}");
    // Newest first; one event by id; pages both ways.
    let ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["log_id"].as_str().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted);
    let (s, one) = call(&app, &t, Method::GET, &format!("/logs/{}", ids[0]), None).await;
    assert_eq!((s.as_u16(), one["log_id"].as_str()), (200, Some(ids[0])));
    let (_, page) = call(
        &app,
        &t,
        Method::GET,
        "/logs?per_page=1&include_totals=true",
        None,
    )
    .await;
    assert_eq!(page["total"].as_u64(), Some(ids.len() as u64));
    let (_, first) = call(&app, &t, Method::GET, "/logs?take=2&from=0", None).await;
    assert_eq!(first["logs"].as_array().unwrap().len(), 2, "{first}");
    assert!(first["next"].is_string());
    let (s, b) = call(&app, &t, Method::GET, "/logs?q=password%3Ax", None).await;
    assert_eq!(s, 400, "{b}");

    // The CLI reads the same store, oldest of the newest first.
    let cli = app.cli_json(&["logs", "--type", "feccft,fapi", "--last", "5"]);
    let kinds: Vec<&str> = cli
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 2, "{cli}");
    assert!(
        kinds.contains(&"feccft") && kinds.contains(&"fapi"),
        "{cli}"
    );
    let by_client = app.cli_json(&["logs", "--client", &id]);
    assert!(
        by_client
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["client_id"] == id.as_str())
    );

    // Successful client credentials are not logged yet (see the token route).
    let (_, none) = call(&app, &t, Method::GET, "/logs?q=type%3Aseccft", None).await;
    assert_eq!(none, json!([]));

    // A clean shutdown stores what is still queued: a failure just before the restart.
    let bad = app
        .cc_request(&id, "wrong-again", "https://orders.example/")
        .await;
    assert_eq!(bad.status(), 401);
    app.restart().await;
    let t = token(&app, "read:logs").await;
    let after = logs_within_a_second(&app, &t, "type%3Afeccft", 2).await;
    assert_eq!(after.as_array().unwrap().len(), 2, "{after}");
}
