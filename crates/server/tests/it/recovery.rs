//! An administrator's recovery actions: a block or a new password made while sign-ins race is
//! never undone by them, and a new password, a block or a deletion ends the user's sessions and
//! refresh tokens on every node. On SQLite and PostgreSQL, with real `tessera serve` processes
//! and the real CLI.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::{
    browser::{Browser, EMAIL, PASSWORD, callback},
    cluster::{authorize_params, redeem, refresh},
    nodes::{Installation, Node, pg_url},
};

const NEW_PASSWORD: &str = "a brand new passphrase";
/// Sign-ins running at once, as in the review's reproduction.
const RACERS: usize = 4;

/// One password-grant sign-in: its HTTP status.
async fn sign_in(http: &reqwest::Client, node: &Node, app: &(String, String), pw: &str) -> u16 {
    sign_in_at(http, &node.url("oauth/token"), app, pw).await
}

async fn sign_in_at(
    http: &reqwest::Client,
    token_url: &str,
    app: &(String, String),
    pw: &str,
) -> u16 {
    http.post(token_url)
        .form(&[
            ("grant_type", "password"),
            ("client_id", &app.0),
            ("client_secret", &app.1),
            ("username", EMAIL),
            ("password", pw),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Sign-ins with `pw` looping on `RACERS` tasks until `stop`: (when each started, its status).
fn race(
    node: &Node,
    app: &(String, String),
    pw: &'static str,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<(Instant, u16)>>> {
    (0..RACERS)
        .map(|_| {
            let (http, stop) = (reqwest::Client::new(), stop.clone());
            let (url, app) = (node.url("oauth/token"), app.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    seen.push((started, sign_in_at(&http, &url, &app, pw).await));
                }
                seen
            })
        })
        .collect()
}

/// Lets the racers run on for a second after `changed`, stops them, and checks that every
/// sign-in that started after the change failed, and that some did.
async fn settle(
    racers: Vec<tokio::task::JoinHandle<Vec<(Instant, u16)>>>,
    stop: &AtomicBool,
    changed: Instant,
    what: &str,
) {
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut before, mut after) = (0, 0);
    for r in racers {
        for (started, status) in r.await.unwrap() {
            if started < changed {
                before += usize::from(status == 200);
            } else {
                assert_ne!(status, 200, "a sign-in that started after {what} succeeded");
                after += 1;
            }
        }
    }
    assert!(before > 0, "the sign-ins succeeded before {what}");
    assert!(after > 0, "sign-ins ran after {what}");
}

async fn racing_sign_ins_cannot_undo_recovery(inst: Installation) {
    let node = inst.start_node("a").await;
    let op = &inst.operator;
    op.user(EMAIL, PASSWORD);
    let app = op.web_app(&["--grant-types", "password"]);
    // The racers' failures must not trip attack protection, which would hide what is tested.
    op.cli_json(&[
        "tenant",
        "update",
        "--brute-force",
        "false",
        "--suspicious-ip-throttling",
        "false",
    ]);
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let http = reqwest::Client::new();
    assert_eq!(sign_in(&http, &node, &app, PASSWORD).await, 200);

    // A block while four sign-ins loop.
    let stop = Arc::new(AtomicBool::new(false));
    let racers = race(&node, &app, PASSWORD, &stop);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(op.cli(&["users", "block", EMAIL]).status.success());
    let blocked_at = Instant::now();
    settle(racers, &stop, blocked_at, "the block").await;
    let shown = op.cli_json(&["users", "show", EMAIL]);
    assert_eq!(shown["blocked"], true, "the block stays: {shown}");
    assert_ne!(sign_in(&http, &node, &app, PASSWORD).await, 200);
    assert!(op.cli(&["users", "unblock", EMAIL]).status.success());
    assert_eq!(sign_in(&http, &node, &app, PASSWORD).await, 200);

    // A new password while four sign-ins with the old one loop.
    let stop = Arc::new(AtomicBool::new(false));
    let racers = race(&node, &app, PASSWORD, &stop);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let out = op.cli(&["users", "update", EMAIL, "--password", NEW_PASSWORD]);
    assert!(out.status.success(), "{out:?}");
    let changed_at = Instant::now();
    settle(racers, &stop, changed_at, "the password change").await;
    assert_ne!(sign_in(&http, &node, &app, PASSWORD).await, 200);
    assert_eq!(sign_in(&http, &node, &app, NEW_PASSWORD).await, 200);
    inst.remove().await;
}

#[tokio::test]
async fn racing_sign_ins_cannot_undo_a_block_or_a_new_password_on_sqlite() {
    racing_sign_ins_cannot_undo_recovery(Installation::sqlite()).await;
}

#[tokio::test]
async fn racing_sign_ins_cannot_undo_a_block_or_a_new_password_on_postgres() {
    let Some(url) = pg_url() else { return };
    racing_sign_ins_cannot_undo_recovery(Installation::postgres(&url).await).await;
}

/// A signed-in browser at node A and the refresh token it got there.
async fn signed_in(a: &Node, spa: &str, email: &str) -> (Browser, String) {
    let mut browser = Browser::at(&a.base);
    let (_, html) = browser
        .to_login_page(&authorize_params(spa, "openid offline_access"))
        .await;
    let cb = callback(browser.post_login(&html, email, PASSWORD).await).await;
    let r = redeem(&browser.http, a, spa, &cb.params["code"]).await;
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    let rt = tokens["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no refresh token: {tokens}"))
        .to_owned();
    browser.switch_to(&a.base);
    (browser, rt)
}

/// A silent authorization (`prompt=none`) with the browser's session, at its node: the
/// callback's parameters.
async fn silent(browser: &Browser, spa: &str) -> std::collections::HashMap<String, String> {
    let mut p = authorize_params(spa, "openid");
    p.push(("prompt", "none"));
    callback(browser.authorize(&p).await).await.params
}

async fn recovery_ends_access_on_every_node(inst: Installation) {
    let (a, b) = tokio::join!(inst.start_node("a"), inst.start_node("b"));
    let op = &inst.operator;
    let spa = op.spa(&[]);
    let actions: [(&str, &[&str]); 3] = [
        (
            "a new password",
            &["users", "update", "{}", "--password", NEW_PASSWORD],
        ),
        ("a block", &["users", "block", "{}"]),
        ("a deletion", &["users", "delete", "{}"]),
    ];
    for (i, (what, args)) in actions.iter().enumerate() {
        let email = format!("user{i}@example.com");
        op.user(&email, PASSWORD);
        let (mut browser, rt) = signed_in(&a, &spa, &email).await;
        // Before: node B refreshes and signs in silently.
        browser.switch_to(&b.base);
        assert!(silent(&browser, &spa).await.contains_key("code"), "{what}");
        let r = refresh(&browser.http, &b, &spa, &rt).await;
        assert_eq!(r.status(), 200, "{what}");
        let rotated: Value = r.json().await.unwrap();
        let rt = rotated["refresh_token"].as_str().unwrap().to_owned();

        let args: Vec<String> = args.iter().map(|x| x.replace("{}", &email)).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = op.cli(&args);
        assert!(out.status.success(), "{what}: {out:?}");

        // After, on both nodes: no refresh, no silent sign-in.
        for node in [&a, &b] {
            browser.switch_to(&node.base);
            let r = refresh(&browser.http, node, &spa, &rt).await;
            assert_eq!(r.status(), 400, "{what}: refresh at {}", node.base);
            let e: Value = r.json().await.unwrap();
            assert_eq!(e["error"], "invalid_grant", "{what}");
            let params = silent(&browser, &spa).await;
            assert_eq!(
                params.get("error").map(String::as_str),
                Some("login_required"),
                "{what}: silent sign-in at {}: {params:?}",
                node.base
            );
        }
    }
    inst.remove().await;
}

#[tokio::test]
async fn a_new_password_a_block_or_a_deletion_ends_sessions_and_refresh_tokens_on_sqlite() {
    recovery_ends_access_on_every_node(Installation::sqlite()).await;
}

#[tokio::test]
async fn a_new_password_a_block_or_a_deletion_ends_sessions_and_refresh_tokens_on_postgres() {
    let Some(url) = pg_url() else { return };
    recovery_ends_access_on_every_node(Installation::postgres(&url).await).await;
}
