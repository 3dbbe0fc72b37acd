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
    let e = engine
        .check(
            ScriptKind::Action,
            "exports.onExecutePostLogin = async () => {\n  if (true) {\n};",
        )
        .unwrap_err();
    assert!(e.contains("at the end of the script"), "{e}");
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

// Isolation: every run starts from pristine built-ins and an empty global object. These run
// on the test's own thread, one request after another, as one worker thread of the blocking
// pool would: whatever the engine keeps per thread, these runs share.

fn event_for(email: &str) -> Value {
    let mut e = event();
    e["user"]["email"] = json!(email);
    e
}

fn run_here(scripts: Vec<HookScript>, event: Value) -> Result<HookOutcome, HookError> {
    run_blocking(
        HookRequest {
            trigger: Trigger::PostLogin,
            scripts: scripts.into(),
            event,
            time_limit: Duration::from_millis(300),
        },
        DEFAULT_MEMORY_LIMIT,
    )
}

#[test]
fn state_kept_in_globals_does_not_reach_the_next_run() {
    let code = r#"
var seen = typeof seen === 'undefined' ? [] : seen;
globalThis.seen = globalThis.seen || [];
exports.onExecutePostLogin = async (event, api) => {
  globalThis.seen.push(event.user.email);
  seen.push(event.user.email);
  api.idToken.setCustomClaim('https://example.com/seen', globalThis.seen.concat(seen).join(','));
};"#;
    let s = || vec![script("memo", ScriptKind::Action, code)];
    let first = run_here(s(), event_for("ann@example.com")).unwrap();
    assert_eq!(
        first.id_claims[0].value,
        json!("ann@example.com,ann@example.com")
    );
    let second = run_here(s(), event_for("bob@example.com")).unwrap();
    assert_eq!(
        second.id_claims[0].value,
        json!("bob@example.com,bob@example.com"),
        "the second user's token must not carry the first user's email"
    );
}

/// Records every text JSON.parse sees, and adds what it saw to every result it stringifies.
const PARSE_SPY: &str = r#"
const parse = JSON.parse, stringify = JSON.stringify;
globalThis.stolen = globalThis.stolen || [];
JSON.parse = function (text) { globalThis.stolen.push(String(text)); return parse.apply(this, arguments); };
JSON.stringify = function (value) {
  if (value && Array.isArray(value.id)) { value.id.push(['https://example.com/stolen', globalThis.stolen.join('|')]); }
  return stringify.apply(this, arguments);
};
exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('https://example.com/stolen', globalThis.stolen.join('|'));
};"#;

#[test]
fn a_patched_json_parse_sees_no_other_actions_secrets() {
    let victim = || {
        let code = "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('https://example.com/n', event.secrets.KEY.length); };";
        let mut s = script("victim", ScriptKind::Action, code);
        s.secrets
            .insert("KEY".into(), json!("s3cret-of-the-victim"));
        s
    };
    let rule_victim = || {
        let code = "function (user, context, callback) { context.idToken['https://example.com/m'] = configuration.KEY.length; callback(null, user, context); }";
        let mut s = script("rule-victim", ScriptKind::Rule, code);
        s.secrets.insert("KEY".into(), json!("s3cret-of-the-rule"));
        s
    };
    let spy = || script("spy", ScriptKind::Action, PARSE_SPY);
    let requests = [
        vec![spy(), victim(), rule_victim()],
        vec![spy()],
        vec![victim()],
        vec![rule_victim()],
        vec![spy()],
    ];
    for (i, scripts) in requests.into_iter().enumerate() {
        let out = run_here(scripts, event()).unwrap();
        let text = serde_json::to_string(&out).unwrap();
        assert!(!text.contains("s3cret"), "request {i} leaked: {text}");
    }
}

/// Ways an action could break another action's checks or the decoding of its result.
const PATCHES: &[(&str, &str)] = &[
    (
        "JSON.stringify",
        r#"JSON.stringify = function () { return '{"deny":null}'; };"#,
    ),
    (
        "Object.prototype.toJSON",
        "Object.prototype.toJSON = function () { if (this && this.deny) { this.deny = null; } return this; };",
    ),
    (
        "Array.prototype.push",
        "Array.prototype.push = function () { return this.length; };",
    ),
    (
        "Promise.prototype.then",
        r#"Promise.prototype.then = function () { return Promise.resolve('{"deny":null}'); };"#,
    ),
    ("String", "String = function () { return ''; };"),
];

#[test]
fn a_patched_builtin_cannot_undo_another_actions_deny() {
    let gate = || {
        let code = "exports.onExecutePostLogin = async (event, api) => {\n  const reasons = [];\n  reasons.push('blocked');\n  if (reasons.length > 0) { api.access.deny(reasons.join(', ')); }\n};";
        script("gate", ScriptKind::Action, code)
    };
    for (what, patch) in PATCHES {
        let patcher = script(
            "patcher",
            ScriptKind::Action,
            &format!("{patch}\nexports.onExecutePostLogin = async () => {{}};"),
        );
        // The same request, then a later one when the patcher is no longer deployed.
        for scripts in [vec![patcher, gate()], vec![gate()]] {
            let out = run_here(scripts, event()).unwrap_or_else(|e| panic!("{what}: {e}"));
            let d = out
                .deny
                .unwrap_or_else(|| panic!("{what}: the gate's deny was lost"));
            assert_eq!(
                (d.script.as_str(), d.reason.as_str()),
                ("gate", "blocked"),
                "{what}"
            );
        }
    }
}

#[test]
fn an_action_that_denies_still_denies_whatever_it_patches() {
    for (what, patch) in PATCHES {
        for code in [
            format!(
                "exports.onExecutePostLogin = async (event, api) => {{\n  api.access.deny('no');\n  {patch}\n}};"
            ),
            format!(
                "exports.onExecutePostLogin = async (event, api) => {{\n  {patch}\n  api.access.deny('no');\n}};"
            ),
        ] {
            let out = run_here(vec![script("gate", ScriptKind::Action, &code)], event())
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let d = out
                .deny
                .unwrap_or_else(|| panic!("{what}: the deny was lost:\n{code}"));
            assert_eq!(d.reason, "no", "{what}");
        }
    }
}

#[test]
fn jobs_a_run_leaves_behind_do_not_run_in_the_next() {
    let spin = "exports.onExecutePostLogin = async () => {\n  const spin = () => { Promise.resolve().then(spin); for (;;) {} };\n  Promise.resolve().then(spin);\n};";
    // Work enough to meet the interrupt handler: with the spinner still queued ahead of it,
    // that would find this run's time used up.
    let next = "exports.onExecutePostLogin = async (event, api) => {\n  await null;\n  let n = 0;\n  for (let i = 0; i < 100000; i++) { n += i; }\n  api.idToken.setCustomClaim('ok', n > 0);\n};";
    // One thread for all three runs; a hang fails the test instead of stalling it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = run_here(vec![script("spin", ScriptKind::Action, spin)], event());
        for _ in 0..2 {
            let r = run_here(vec![script("next", ScriptKind::Action, next)], event());
            if tx.send(r).is_err() {
                return;
            }
        }
    });
    for _ in 0..2 {
        let out = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the next run finished")
            .unwrap();
        assert_eq!(out.id_claims[0].value, json!(true));
    }
}

#[test]
fn a_run_that_keeps_queueing_jobs_stops_at_its_time_limit() {
    let code = "exports.onExecutePostLogin = async () => {\n  const spin = () => { Promise.resolve().then(spin); for (let i = 0; i < 1000; i++) {} };\n  spin();\n  await new Promise(() => {});\n};";
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(run_here(
            vec![script("spin", ScriptKind::Action, code)],
            event(),
        ));
    });
    let e = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the run stopped")
        .unwrap_err();
    assert!(e.to_string().contains("time limit (300 ms)"), "{e}");
}

#[test]
fn console_lines_come_back_capped_whatever_the_script_patches() {
    let code = "exports.onExecutePostLogin = async (event, api) => {\n  JSON.stringify = () => 'forged';\n  String.prototype.slice = () => 'forged';\n  String = () => 'forged';\n  console.log('login by', event.user.email, { n: 1 }, undefined);\n  for (let i = 0; i < 150; i++) console.warn('x'.repeat(3000));\n};";
    let ops = exec::execute(
        &wrap::action(code),
        [&event().to_string(), "{}", "\"onExecutePostLogin\""],
        DEFAULT_MEMORY_LIMIT,
        Duration::from_millis(300),
    )
    .unwrap();
    assert_eq!(ops.len(), MAX_LOG_LINES);
    assert_eq!(
        (ops[0].kind.as_str(), &ops[0].a, &ops[0].b),
        (
            "log",
            &json!("info"),
            &json!("login by ann@example.com {\"n\":1} undefined")
        )
    );
    assert_eq!(ops[1].a, json!("warn"));
}

#[test]
fn an_action_that_breaks_out_of_its_wrapper_only_shapes_its_own_result() {
    // Closes the wrapper's functions and puts its own function where the wrapper's was.
    let escape = |body: &str| {
        format!(
            "}}; }}, function (r) {{ {body} return Promise.resolve(); }}, function () {{ return function () {{"
        )
    };
    // A rule's op from an action, a malformed op: ignored; a claim: its own; after a gap: not read.
    let forged = escape(
        "r[0] = { 0: 'rule', 1: '{\"x\":1}', 2: '{\"y\":1}' }; r[1] = { 0: 'id', 1: 7, 2: 1 }; r[2] = { 0: 'id', 1: 'z', 2: 1 }; r[1e9] = { 0: 'id', 1: 'far', 2: 1 };",
    );
    let out = run_here(vec![script("x", ScriptKind::Action, &forged)], event()).unwrap();
    assert!(out.access_claims.is_empty());
    assert_eq!(out.id_claims.len(), 1);
    assert_eq!(
        (
            out.id_claims[0].script.as_str(),
            out.id_claims[0].name.as_str()
        ),
        ("x", "z")
    );
}

#[test]
fn a_result_is_bounded_by_the_scripts_memory_limit() {
    // 100 console lines of a 4 MB string: each cut to 2,000 characters in the script's heap.
    let logs = "exports.onExecutePostLogin = async (event, api) => {\n  const s = 'x'.repeat(4e6);\n  for (let i = 0; i < 200; i++) console.log(s);\n  api.idToken.setCustomClaim('ok', true);\n};";
    let out = run_here(vec![script("logs", ScriptKind::Action, logs)], event()).unwrap();
    assert_eq!(out.id_claims[0].value, json!(true));
    // One 4 MB value in 10,000 claims: 40 GB of JSON, which the run's heap cannot hold.
    let claims = "exports.onExecutePostLogin = async (event, api) => {\n  const s = 'x'.repeat(4e6);\n  for (let i = 0; i < 10000; i++) api.idToken.setCustomClaim('c' + i, s);\n};";
    let e = run_here(vec![script("claims", ScriptKind::Action, claims)], event()).unwrap_err();
    assert!(e.to_string().contains("memory"), "{e}");
}
