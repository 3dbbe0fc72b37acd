//! Durability: `kill -9` a node while logins, code exchanges and refresh rotations run, start
//! it again on the same database, and check that everything a client was handed is still
//! what it was: codes and refresh tokens that were returned and not yet used still work, used
//! ones are still used, every access token and ID token returned still verifies.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use reqwest::redirect::Policy;
use serde_json::Value;

use crate::{
    browser::{CB, CHALLENGE, EMAIL, PASSWORD, VERIFIER, hidden},
    nodes::{ISSUER, Installation, Node, pg_url},
    support::verify_with,
};

/// What clients were handed before the crash, by what they had done with it.
#[derive(Default)]
struct Ledger {
    /// Codes returned and never sent to the token endpoint: must redeem after the restart.
    live_codes: Vec<String>,
    /// Codes redeemed successfully: must be refused after the restart.
    used_codes: Vec<String>,
    /// Codes or refresh tokens whose request was in flight at the crash: either is fine.
    uncertain_codes: Vec<String>,
    uncertain_refresh_tokens: Vec<String>,
    live_refresh_tokens: Vec<String>,
    used_refresh_tokens: Vec<String>,
    access_tokens: Vec<String>,
    id_tokens: Vec<String>,
}

impl Ledger {
    fn summary(&self) -> String {
        format!(
            "{} access tokens, {} live codes, {} live refresh tokens, {} used codes, {} used refresh tokens, {} in flight",
            self.access_tokens.len(),
            self.live_codes.len(),
            self.live_refresh_tokens.len(),
            self.used_codes.len(),
            self.used_refresh_tokens.len(),
            self.uncertain_codes.len() + self.uncertain_refresh_tokens.len()
        )
    }
}

type Step<T> = Result<T, String>;

/// A browser login through to the callback: the code, or why not.
async fn login(http: &reqwest::Client, node: &str, spa: &str) -> Step<String> {
    let params = [
        ("client_id", spa),
        ("redirect_uri", CB),
        ("response_type", "code"),
        ("scope", "openid offline_access"),
        ("state", "st"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let q = serde_urlencoded::to_string(params).unwrap();
    let err = |e: reqwest::Error| e.to_string();
    let r = http
        .get(format!("{node}authorize?{q}"))
        .send()
        .await
        .map_err(err)?;
    let page = location_of(&r)?;
    let html = http
        .get(format!("{node}{}", page.trim_start_matches('/')))
        .send()
        .await
        .map_err(err)?
        .text()
        .await
        .map_err(err)?;
    let form = [
        ("state", hidden(&html, "state").ok_or("no state field")?),
        ("csrf", hidden(&html, "csrf").ok_or("no csrf field")?),
        ("username", EMAIL.to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    let r = http
        .post(format!("{node}u/login"))
        .form(&form)
        .send()
        .await
        .map_err(err)?;
    let cb = location_of(&r)?;
    let query = cb.split_once('?').ok_or("no query")?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| format!("no code in {cb}"))
}

fn location_of(r: &reqwest::Response) -> Step<String> {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| format!("expected a redirect, got {}", r.status()))
}

/// A token request: `Ok(Some(json))` on 200, `Ok(None)` on an OAuth error, `Err` if no
/// answer arrived (the node died).
async fn token(http: &reqwest::Client, node: &str, form: &[(&str, &str)]) -> Step<Option<Value>> {
    let r = http
        .post(format!("{node}oauth/token"))
        .form(form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status();
    let body: Value = r.json().await.map_err(|e| e.to_string())?;
    match status.as_u16() {
        200 => Ok(Some(body)),
        400 | 401 => Ok(None),
        s => panic!("token endpoint answered {s}: {body}"),
    }
}

fn redeem_form<'a>(spa: &'a str, code: &'a str) -> [(&'a str, &'a str); 5] {
    [
        ("grant_type", "authorization_code"),
        ("client_id", spa),
        ("code", code),
        ("redirect_uri", CB),
        ("code_verifier", VERIFIER),
    ]
}

fn refresh_form<'a>(spa: &'a str, rt: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("grant_type", "refresh_token"),
        ("client_id", spa),
        ("refresh_token", rt),
    ]
}

/// One client's loop: log in, sometimes keep the code for later, else redeem it and rotate the
/// refresh token a few times. Stops at the first request that gets no answer.
async fn client_loop(
    node: String,
    spa: String,
    ledger: Arc<Mutex<Ledger>>,
    done: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) {
    let mut round = 0usize;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let Ok(code) = login(&http, &node, &spa).await else {
            return;
        };
        if round % 4 == 1 {
            ledger.lock().unwrap().live_codes.push(code);
            continue;
        }
        let tokens = match token(&http, &node, &redeem_form(&spa, &code)).await {
            Err(_) => {
                ledger.lock().unwrap().uncertain_codes.push(code);
                return;
            }
            Ok(None) => panic!("a fresh code was refused"),
            Ok(Some(t)) => t,
        };
        let rt = {
            let mut l = ledger.lock().unwrap();
            l.used_codes.push(code);
            l.access_tokens
                .push(tokens["access_token"].as_str().unwrap().to_owned());
            l.id_tokens
                .push(tokens["id_token"].as_str().unwrap().to_owned());
            tokens["refresh_token"].as_str().unwrap().to_owned()
        };
        let mut left = 3;
        let more = || {
            left -= 1;
            left >= 0
        };
        if !rotate_chain(&http, &node, &spa, rt, &ledger, more).await {
            return;
        }
        done.fetch_add(1, Ordering::Relaxed);
    }
}

/// After the restart: everything a client was handed still is what it was.
async fn check_after_restart(after: &Node, l: &Ledger, spa: &str) {
    let http = reqwest::Client::new();
    let base = after.base.clone();

    // Every access token and ID token handed out still works.
    let jwks = after.jwks().await;
    for at in &l.access_tokens {
        let r = http
            .get(after.url("userinfo"))
            .bearer_auth(at)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            200,
            "an access token returned before the crash is lost"
        );
    }
    for id in &l.id_tokens {
        verify_with(&jwks, ISSUER, id, spa);
    }
    // Returned, unused codes and refresh tokens still work.
    for code in &l.live_codes {
        let t = token(&http, &base, &redeem_form(spa, code)).await.unwrap();
        assert!(t.is_some(), "a code returned before the crash is lost");
    }
    for rt in &l.live_refresh_tokens {
        let t = token(&http, &base, &refresh_form(spa, rt)).await.unwrap();
        assert!(
            t.is_some(),
            "a refresh token returned before the crash is lost"
        );
    }
    // In-flight ones are either (no server error, no hang).
    for code in &l.uncertain_codes {
        token(&http, &base, &redeem_form(spa, code)).await.unwrap();
    }
    for rt in &l.uncertain_refresh_tokens {
        token(&http, &base, &refresh_form(spa, rt)).await.unwrap();
    }
    // Used ones stay used (these replays revoke their grants, so they go last).
    for code in &l.used_codes {
        let t = token(&http, &base, &redeem_form(spa, code)).await.unwrap();
        assert!(t.is_none(), "a redeemed code works again after the crash");
    }
    for rt in &l.used_refresh_tokens {
        let t = token(&http, &base, &refresh_form(spa, rt)).await.unwrap();
        assert!(
            t.is_none(),
            "a rotated refresh token works again after the crash"
        );
    }
}

async fn crash_and_recover(inst: Installation) {
    let op = &inst.operator;
    op.user(EMAIL, PASSWORD);
    let spa = op.spa(&[]);
    let mut node = inst.start_node("before").await;

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            tokio::spawn(client_loop(
                node.base.clone(),
                spa.clone(),
                ledger.clone(),
                done.clone(),
                stop.clone(),
            ))
        })
        .collect();
    // Under load for a while (at least 20 finished rounds), then SIGKILL mid-flight.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while done.load(Ordering::Relaxed) < 20 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the load made no progress: {}",
            node.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    node.kill();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.expect("a client loop panicked");
    }
    let l = std::mem::take(&mut *ledger.lock().unwrap());
    assert!(
        !l.live_codes.is_empty() && !l.live_refresh_tokens.is_empty(),
        "the load handed out no codes or refresh tokens to check: {}",
        l.summary()
    );

    let after: Node = inst.start_node("after").await;
    check_after_restart(&after, &l, &spa).await;
    eprintln!("crash test: {}", l.summary());
    drop(after);
    inst.remove().await;
}

/// SQLite's group commit on /metrics: (writes, commits) since start.
async fn commit_figures(http: &reqwest::Client, node: &Node) -> (f64, f64) {
    let text = http
        .get(node.url("metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let get = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (
        get("tessera_sqlite_writes_per_commit_sum"),
        get("tessera_sqlite_writes_per_commit_count"),
    )
}

/// Rotates a refresh chain while `more()` says so; its newest token is then live. `false` if
/// the node died (the newest token was in flight).
async fn rotate_chain(
    http: &reqwest::Client,
    node: &str,
    spa: &str,
    mut rt: String,
    ledger: &Mutex<Ledger>,
    mut more: impl FnMut() -> bool,
) -> bool {
    while more() {
        match token(http, node, &refresh_form(spa, &rt)).await {
            Err(_) => {
                ledger.lock().unwrap().uncertain_refresh_tokens.push(rt);
                return false;
            }
            Ok(None) => panic!("a fresh refresh token was refused"),
            Ok(Some(t)) => {
                let next = t["refresh_token"].as_str().unwrap().to_owned();
                let mut l = ledger.lock().unwrap();
                l.used_refresh_tokens.push(std::mem::replace(&mut rt, next));
                l.access_tokens
                    .push(t["access_token"].as_str().unwrap().to_owned());
                l.id_tokens.push(t["id_token"].as_str().unwrap().to_owned());
            }
        }
    }
    ledger.lock().unwrap().live_refresh_tokens.push(rt);
    true
}

/// One refresh chain, rotated as fast as the node answers, until asked to stop or the node dies.
async fn rotate(
    node: String,
    spa: String,
    rt: String,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    rotate_chain(&http, &node, &spa, rt, &ledger, || {
        !stop.load(Ordering::Relaxed)
    })
    .await;
}

/// `kill -9` while the SQLite writer has batches of rotations and code redemptions in flight:
/// every answered request's writes survived.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_while_group_commits_are_in_flight_loses_no_answered_write() {
    let inst = Installation::sqlite();
    let op = &inst.operator;
    op.user(EMAIL, PASSWORD);
    let spa = op.spa(&[]);
    let mut node = inst.start_node("before").await;
    let http = reqwest::Client::new();
    // 24 logins: 16 start refresh chains, 8 codes are redeemed under the load.
    let mut chains = Vec::new();
    let mut codes = Vec::new();
    for i in 0..24 {
        // A browser each: a second login in one browser would be answered by its session.
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .unwrap();
        let code = login(&browser, &node.base, &spa).await.unwrap();
        if i < 8 {
            codes.push(code);
            continue;
        }
        let t = token(&http, &node.base, &redeem_form(&spa, &code))
            .await
            .unwrap()
            .unwrap();
        chains.push(t["refresh_token"].as_str().unwrap().to_owned());
    }
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let (writes0, commits0) = commit_figures(&http, &node).await;
    // Half the chains stop just before the kill (their newest tokens are live); the others
    // rotate until it (their last request is in flight).
    let (stop_half, never) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let workers: Vec<_> = chains
        .into_iter()
        .enumerate()
        .map(|(i, rt)| {
            let stop = if i % 2 == 0 { &stop_half } else { &never };
            tokio::spawn(rotate(
                node.base.clone(),
                spa.clone(),
                rt,
                ledger.clone(),
                stop.clone(),
            ))
        })
        .collect();
    // Under load until the writer has committed batches of several writes.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (writes, commits) = commit_figures(&http, &node).await;
        let (writes, commits) = (writes - writes0, commits - commits0);
        if commits >= 50.0 && writes >= 2.0 * commits {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no group commits: {writes} writes in {commits} commits"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The codes go in with the rotations, then the node dies mid-batch.
    let redeemers: Vec<_> = codes
        .into_iter()
        .map(|code| {
            let (node, spa, ledger) = (node.base.clone(), spa.clone(), ledger.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                match token(&http, &node, &redeem_form(&spa, &code)).await {
                    Err(_) => ledger.lock().unwrap().uncertain_codes.push(code),
                    Ok(None) => panic!("a fresh code was refused"),
                    Ok(Some(t)) => {
                        let mut l = ledger.lock().unwrap();
                        l.used_codes.push(code);
                        l.access_tokens
                            .push(t["access_token"].as_str().unwrap().to_owned());
                        l.live_refresh_tokens
                            .push(t["refresh_token"].as_str().unwrap().to_owned());
                    }
                }
            })
        })
        .collect();
    stop_half.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(30)).await;
    node.kill();
    for w in workers.into_iter().chain(redeemers) {
        w.await.expect("a client panicked");
    }
    let l = std::mem::take(&mut *ledger.lock().unwrap());
    assert!(
        l.used_refresh_tokens.len() >= 100
            && l.live_refresh_tokens.len() >= 8
            && !l.uncertain_refresh_tokens.is_empty(),
        "the kill did not land under load: {}",
        l.summary()
    );
    let after = inst.start_node("after").await;
    check_after_restart(&after, &l, &spa).await;
    eprintln!("group-commit crash test: {}", l.summary());
    drop(after);
    inst.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_loses_nothing_returned_on_sqlite() {
    crash_and_recover(Installation::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_loses_nothing_returned_on_postgres() {
    let Some(url) = pg_url() else { return };
    crash_and_recover(Installation::postgres(&url).await).await;
}
