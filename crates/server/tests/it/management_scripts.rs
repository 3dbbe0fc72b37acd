//! `/api/v2/actions` and `/api/v2/rules`: code is compiled before it is stored, a deployed
//! action runs at the token endpoint, bindings set which actions a trigger runs and in which
//! order, a bound action is deleted only with `force=true`.

use reqwest::Method;
use serde_json::json;

use crate::management::{call, token};
use crate::support::*;

const SCOPES: &str = "read:actions,create:actions,update:actions,delete:actions,\
read:rules,create:rules,update:rules,delete:rules";

#[tokio::test]
async fn actions_deploy_bind_run_and_delete() {
    let app = spawn_app().await;
    let t = token(&app, SCOPES).await;
    let code = "exports.onExecuteCredentialsExchange = async (event, api) => { api.accessToken.setCustomClaim('https://example.com/tier', 'gold'); };";
    let body = json!({"name": "tier", "supported_triggers": [{"id": "credentials-exchange", "version": "v2"}], "code": code,
                      "secrets": [{"name": "KEY", "value": "s3cret"}], "runtime": "node18"});
    let (s, a) = call(&app, &t, Method::POST, "/actions/actions", Some(body)).await;
    assert_eq!(s, 201, "{a}");
    assert_eq!(
        (&a["deployed"], &a["secrets"]),
        (&json!(false), &json!([{"name": "KEY"}])),
        "{a}"
    );
    let id = a["id"].as_str().unwrap().to_owned();
    let (s, b) = call(&app, &t, Method::POST, "/actions/actions", Some(json!({"name": "broken", "supported_triggers": [{"id": "post-login"}], "code": "exports.onExecutePostLogin = async (event, api) => {"}))).await;
    assert_eq!(s, 400, "{b}");
    let (_, list) = call(&app, &t, Method::GET, "/actions/actions", None).await;
    assert_eq!(
        (&list["total"], list["actions"].as_array().unwrap().len()),
        (&json!(1), 1),
        "the broken one was not stored"
    );

    let (_, triggers) = call(&app, &t, Method::GET, "/actions/triggers", None).await;
    assert_eq!(
        (
            &triggers["triggers"][0]["id"],
            &triggers["triggers"][1]["id"]
        ),
        (&json!("post-login"), &json!("credentials-exchange"))
    );
    let (_, none) = call(
        &app,
        &t,
        Method::GET,
        "/actions/triggers/credentials-exchange/bindings",
        None,
    )
    .await;
    assert_eq!(none["bindings"], json!([]));
    let (s, bound) = call(&app, &t, Method::PATCH, "/actions/triggers/credentials-exchange/bindings",
        Some(json!({"bindings": [{"ref": {"type": "action_name", "value": "tier"}, "display_name": "tier"}]}))).await;
    assert_eq!(s, 200, "{bound}");
    assert_eq!(bound["bindings"][0]["action"]["id"], id);
    // Bound means deployed: the action runs for client credentials.
    app.api("https://orders.example/", &[]);
    let (cid, secret) = app.granted_m2m("https://orders.example/", "read:x");
    app.config_settled().await;
    let tok = ok_within_a_second(|| app.cc_request(&cid, &secret, "https://orders.example/")).await;
    let (_, claims) = verify(
        &app,
        tok["access_token"].as_str().unwrap(),
        "https://orders.example/",
    )
    .await;
    assert_eq!(claims["https://example.com/tier"], "gold", "{claims}");
    let (s, b) = call(
        &app,
        &t,
        Method::GET,
        "/actions/triggers/pre-user-registration/bindings",
        None,
    )
    .await;
    assert_eq!(s, 404, "{b}");

    let (s, b) = call(
        &app,
        &t,
        Method::DELETE,
        &format!("/actions/actions/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 409, "a bound action needs force=true: {b}");
    let (s, _) = call(
        &app,
        &t,
        Method::DELETE,
        &format!("/actions/actions/{id}?force=true"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = call(
        &app,
        &t,
        Method::GET,
        &format!("/actions/actions/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn rules_create_list_disable_delete() {
    let app = spawn_app().await;
    let t = token(&app, SCOPES).await;
    let script = "function (user, context, callback) { callback(null, user, context); }";
    let (s, r) = call(
        &app,
        &t,
        Method::POST,
        "/rules",
        Some(json!({"name": "noop", "script": script, "order": 1, "enabled": true})),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(
        (&r["enabled"], &r["stage"]),
        (&json!(true), &json!("login_success"))
    );
    let id = r["id"].as_str().unwrap().to_owned();
    let (s, _) = call(
        &app,
        &t,
        Method::POST,
        "/rules",
        Some(json!({"name": "bad", "script": "function (user, context, callback) {"})),
    )
    .await;
    assert_eq!(s, 400);
    let (_, page) = call(&app, &t, Method::GET, "/rules?include_totals=true", None).await;
    assert_eq!(page["total"], 1);
    let (s, r) = call(
        &app,
        &t,
        Method::PATCH,
        &format!("/rules/{id}"),
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!((s.as_u16(), &r["enabled"]), (200, &json!(false)));
    let (s, _) = call(&app, &t, Method::DELETE, &format!("/rules/{id}"), None).await;
    assert_eq!(s, 204);
    let (_, all) = call(&app, &t, Method::GET, "/rules", None).await;
    assert_eq!(all, json!([]));
}
