//! The engine against real scripts: the seed's rule, Actions' api, failures that must stay
//! contained, and syntax errors reported at the user's line.

use std::time::Duration;

use serde_json::json;
use tessera_core::{
    hooks::{ClaimsHook, HookError, HookRequest},
    model::{ScriptKind, Trigger},
};

use super::*;

fn event() -> Value {
    json!({
        "user": {
            "user_id": "auth0|0123456789abcdef01234567",
            "email": "ann@example.com",
            "app_metadata": { "plan": "gold", "roles": ["admin"] },
            "user_metadata": {},
        },
        "client": { "client_id": "abc", "name": "My SPA", "metadata": {} },
        "request": { "ip": "127.0.0.1", "hostname": "id.example.com", "query": {}, "user_agent": "test" },
        "resource_server": { "identifier": "https://api.example.com" },
        "authorization": { "roles": [] },
        "transaction": { "requested_scopes": ["openid"], "protocol": "oidc-basic-profile" },
    })
}

async fn run(scripts: Vec<HookScript>) -> Result<HookOutcome, HookError> {
    Engine::default()
        .run(HookRequest {
            trigger: Trigger::PostLogin,
            scripts: scripts.into(),
            event: event(),
            time_limit: Duration::from_millis(300),
        })
        .await
}

#[tokio::test]
async fn the_seeds_rule_puts_app_metadata_in_the_access_token() {
    let rule = "function (user, context, callback) {\n  context.accessToken['http://NAMESPACE'] = user.app_metadata;\n  callback(null, user, context);\n}";
    let out = run(vec![script("seed", ScriptKind::Rule, rule)])
        .await
        .unwrap();
    assert_eq!(out.access_claims.len(), 1);
    assert_eq!(out.access_claims[0].name, "http://NAMESPACE");
    assert_eq!(
        out.access_claims[0].value,
        json!({ "plan": "gold", "roles": ["admin"] })
    );
    assert_eq!(out.access_claims[0].script, "seed");
}

#[tokio::test]
async fn actions_use_auth0s_api() {
    let code = r#"
exports.onExecutePostLogin = async (event, api) => {
  const ns = 'https://example.com';
  api.accessToken.setCustomClaim(`${ns}/app_metadata`, event.user.app_metadata);
  api.idToken.setCustomClaim('plan', event.user.app_metadata.plan);
  api.accessToken.addScope('read:extra');
  api.accessToken.removeScope('write:x');
  api.user.setAppMetadata('last_client', event.client.name);
  api.user.setUserMetadata('seen', true);
  api.idToken.setCustomClaim('secret_len', event.secrets.KEY.length);
};"#;
    let mut s = script("claims", ScriptKind::Action, code);
    s.secrets.insert("KEY".into(), json!("s3cret"));
    let out = run(vec![s]).await.unwrap();
    assert_eq!(
        out.access_claims[0].name,
        "https://example.com/app_metadata"
    );
    assert_eq!(out.id_claims[0].value, json!("gold"));
    assert_eq!(out.id_claims[1].value, json!(6));
    assert_eq!(out.add_scopes, ["read:extra"]);
    assert_eq!(out.remove_scopes, ["write:x"]);
    assert_eq!(out.app_metadata["last_client"], json!("My SPA"));
    assert_eq!(out.user_metadata["seen"], json!(true));
}

#[tokio::test]
async fn rules_run_before_actions_and_see_each_others_context() {
    let r1 = "function (user, context, callback) { context.idToken.a = 1; callback(null, user, context); }";
    let r2 = "function (user, context, callback) { context.idToken.b = context.idToken.a + 1; return callback(null, user, context); };";
    let a = "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('c', 3); };";
    let out = run(vec![
        script("r1", ScriptKind::Rule, r1),
        script("r2", ScriptKind::Rule, r2),
        script("a", ScriptKind::Action, a),
    ])
    .await
    .unwrap();
    let names: Vec<(&str, &str)> = out
        .id_claims
        .iter()
        .map(|c| (c.script.as_str(), c.name.as_str()))
        .collect();
    assert_eq!(names, [("r1", "a"), ("r2", "b"), ("a", "c")]);
    assert_eq!(out.id_claims[1].value, json!(2));
}

#[tokio::test]
async fn deny_stops_the_login_with_the_reason() {
    let a = "exports.onExecutePostLogin = async (event, api) => { api.access.deny('Only gold members'); };";
    let later = "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('x', 1); };";
    let out = run(vec![
        script("gate", ScriptKind::Action, a),
        script("later", ScriptKind::Action, later),
    ])
    .await
    .unwrap();
    let d = out.deny.unwrap();
    assert_eq!(
        (d.script.as_str(), d.reason.as_str()),
        ("gate", "Only gold members")
    );
    assert!(out.id_claims.is_empty(), "nothing runs after a denial");

    let rule = "function (user, context, callback) { callback(new UnauthorizedError('No access for ' + user.email)); }";
    let out = run(vec![script("r", ScriptKind::Rule, rule)])
        .await
        .unwrap();
    assert_eq!(out.deny.unwrap().reason, "No access for ann@example.com");
}

#[tokio::test]
async fn loops_allocations_throws_and_hangs_fail_alone_with_clear_errors() {
    let cases = [
        (
            "loop",
            "exports.onExecutePostLogin = async () => { while (true) {} };",
            "time limit (300 ms)",
        ),
        (
            "hog",
            "exports.onExecutePostLogin = async () => { const a = []; for (;;) a.push(new Array(1e6).fill(1.5)); };",
            "out of memory",
        ),
        (
            "big",
            "exports.onExecutePostLogin = async () => { 'x'.repeat(200 * 1024 * 1024); };",
            "memory",
        ),
        (
            "throws",
            "exports.onExecutePostLogin = async () => { throw new TypeError('nope'); };",
            "TypeError: nope",
        ),
        (
            "hangs",
            "exports.onExecutePostLogin = () => new Promise(() => {});",
            "never finished",
        ),
    ];
    for (name, code, needle) in cases {
        let e = run(vec![script(name, ScriptKind::Action, code)])
            .await
            .unwrap_err();
        let HookError::Script { script, message } = e else {
            panic!("{name}: {e:?}")
        };
        assert_eq!(script, name);
        assert!(message.contains(needle), "{name}: {message}");
    }
    let rule = "function (user, context, callback) { /* forgets callback */ }";
    let e = run(vec![script("r", ScriptKind::Rule, rule)])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("never finished"), "{e}");
    // The same worker threads still run good scripts.
    let ok = "exports.onExecutePostLogin = async (e, api) => { api.idToken.setCustomClaim('ok', true); };";
    for _ in 0..4 {
        assert!(
            run(vec![script("ok", ScriptKind::Action, ok)])
                .await
                .is_ok()
        );
    }
}

#[tokio::test]
async fn scripts_cannot_reach_the_host() {
    let a = r#"exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('kinds', [typeof require, typeof process, typeof fetch, typeof os, typeof std, typeof XMLHttpRequest].join(','));
};"#;
    let out = run(vec![script("probe", ScriptKind::Action, a)])
        .await
        .unwrap();
    assert_eq!(
        out.id_claims[0].value,
        json!("function,undefined,undefined,undefined,undefined,undefined")
    );
    let a = "exports.onExecutePostLogin = async () => { require('fs'); };";
    let e = run(vec![script("req", ScriptKind::Action, a)])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("require() is not available"), "{e}");
}

#[test]
fn syntax_errors_name_the_users_line_and_column() {
    let engine = Engine::default();
    assert!(
        engine
            .check(
                ScriptKind::Action,
                "exports.onExecutePostLogin = async () => {};"
            )
            .is_ok()
    );
    let e = engine
        .check(
            ScriptKind::Action,
            "exports.onExecutePostLogin = async () => {\n  const x = ;\n};",
        )
        .unwrap_err();
    assert!(e.starts_with("line 2, column "), "{e}");
    let e = engine
        .check(
            ScriptKind::Rule,
            "function (user, context, callback) {\n\n  callback(null user);\n}",
        )
        .unwrap_err();
    assert!(e.starts_with("line 3, column "), "{e}");
    assert!(
        engine
            .check(
                ScriptKind::Rule,
                "function (user, context, callback) { callback(null, user, context); }"
            )
            .is_ok()
    );
}

#[tokio::test]
async fn console_works_in_actions_and_rules() {
    let a = "exports.onExecutePostLogin = async (event, api) => {\n  console.log('login by', event.user.email, { n: 1 });\n  console.error('careful');\n  api.idToken.setCustomClaim('ok', true);\n};";
    let r = "function (user, context, callback) {\n  console.log('rule for', user.email);\n  global.seen = true;\n  callback(null, user, context);\n}";
    let out = run(vec![
        script("r", ScriptKind::Rule, r),
        script("a", ScriptKind::Action, a),
    ])
    .await
    .unwrap();
    assert_eq!(out.id_claims[0].name, "ok");
}
