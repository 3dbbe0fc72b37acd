//! Several nodes on one PostgreSQL database: two `tessera serve` processes share the schema
//! and the master key, and a browser, a client and the operator may talk to either.

use std::{sync::Arc, time::Duration};

use serde_json::Value;

use crate::{
    browser::{Browser, CB, CHALLENGE, EMAIL, PASSWORD, VERIFIER, callback, location},
    nodes::{ISSUER, Installation, Node, pg_url},
    support::{ok_within_a_second, verify_with},
};

/// Races per kind (codes, refresh tokens), as the issue asks.
const RACES: usize = 1_000;
/// Requests in flight at once while racing.
const CONCURRENCY: usize = 16;

async fn form(
    http: &reqwest::Client,
    node: &Node,
    path: &str,
    params: &[(&str, &str)],
) -> reqwest::Response {
    http.post(node.url(path)).form(params).send().await.unwrap()
}

pub(crate) fn authorize_params<'a>(spa: &'a str, scope: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("client_id", spa),
        ("redirect_uri", CB),
        ("response_type", "code"),
        ("scope", scope),
        ("state", "st"),
        ("nonce", "n"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

/// A code through single sign-on (the browser already has a session), from `node`.
async fn silent_code(http: &reqwest::Client, node: &Node, spa: &str, scope: &str) -> String {
    let mut p = authorize_params(spa, scope);
    p.push(("prompt", "none"));
    let q = serde_urlencoded::to_string(&p).unwrap();
    let r = http
        .get(node.url(&format!("authorize?{q}")))
        .send()
        .await
        .unwrap();
    let loc = location(&r);
    let cb = callback(r).await;
    cb.params
        .get("code")
        .unwrap_or_else(|| panic!("no code from a silent authorization: {loc}"))
        .clone()
}

pub(crate) async fn redeem(
    http: &reqwest::Client,
    node: &Node,
    spa: &str,
    code: &str,
) -> reqwest::Response {
    form(
        http,
        node,
        "oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", spa),
            ("code", code),
            ("redirect_uri", CB),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

pub(crate) async fn refresh(
    http: &reqwest::Client,
    node: &Node,
    spa: &str,
    rt: &str,
) -> reqwest::Response {
    form(
        http,
        node,
        "oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", spa),
            ("refresh_token", rt),
        ],
    )
    .await
}

/// Runs `f(i)` for `0..n` with at most `CONCURRENCY` at once; the results in order.
async fn in_parallel<T, F, Fut>(n: usize, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + Send,
{
    let f = Arc::new(f);
    let mut tasks = Vec::new();
    for w in 0..CONCURRENCY {
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in (w..n).step_by(CONCURRENCY) {
                out.push((i, f(i).await));
            }
            out
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await.expect("worker"));
    }
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, v)| v).collect()
}

/// What a race is run with.
#[derive(Clone, Copy, Debug)]
enum Secret {
    Code,
    RefreshToken,
}

/// Sends each secret to both nodes at the same moment; exactly one of the two may succeed,
/// and the other must be refused as a client error.
async fn race_across(
    nodes: &Arc<(Node, Node)>,
    http: &reqwest::Client,
    spa: &Arc<String>,
    kind: Secret,
    secrets: Vec<String>,
) {
    let secrets = Arc::new(secrets);
    let results = {
        let (nodes, spa, http, secrets) =
            (nodes.clone(), spa.clone(), http.clone(), secrets.clone());
        in_parallel(secrets.len(), move |i| {
            let (nodes, spa, http, secrets) =
                (nodes.clone(), spa.clone(), http.clone(), secrets.clone());
            async move {
                let send = |node| {
                    let (http, spa, secret) = (&http, &spa, &secrets[i]);
                    async move {
                        match kind {
                            Secret::Code => redeem(http, node, spa, secret).await,
                            Secret::RefreshToken => refresh(http, node, spa, secret).await,
                        }
                    }
                };
                let (x, y) = tokio::join!(send(&nodes.0), send(&nodes.1));
                let statuses = [x.status(), y.status()];
                (
                    statuses,
                    format!("{:?} {:?}", x.text().await, y.text().await),
                )
            }
        })
        .await
    };
    for (i, (statuses, bodies)) in results.iter().enumerate() {
        let ok = statuses.iter().filter(|s| s.as_u16() == 200).count();
        assert_eq!(ok, 1, "{kind:?} {i}: statuses {statuses:?}: {bodies}");
        assert!(
            statuses
                .iter()
                .all(|s| s.as_u16() == 200 || s.as_u16() == 400),
            "{kind:?} {i}: {statuses:?}: {bodies}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_share_logins_codes_keys_configuration_and_single_use() {
    let Some(url) = pg_url() else { return };
    let inst = Installation::postgres(&url).await;
    // Both start at once on the empty database: one migrates and creates the tenant and its
    // key, the other waits for the migration and uses them.
    let (a, b) = tokio::join!(inst.start_node("a"), inst.start_node("b"));
    let op = &inst.operator;
    op.user(EMAIL, PASSWORD);
    let spa = op.spa(&[]);
    let http = reqwest::Client::new();

    // A login started on node A (authorize, login page) finishes on node B (the password).
    let mut browser = Browser::at(&a.base);
    let (_, html) = browser
        .to_login_page(&authorize_params(&spa, "openid profile offline_access"))
        .await;
    browser.switch_to(&b.base);
    let cb = callback(browser.post_login(&html, EMAIL, PASSWORD).await).await;
    assert_eq!(cb.params["state"], "st");
    let code = cb.params["code"].clone();

    // The code B issued is redeemed at A; the ID token verifies with either node's JWKS.
    let r = redeem(&http, &a, &spa, &code).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let tokens: Value = r.json().await.unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    for node in [&a, &b] {
        let (_, claims) = verify_with(&node.jwks().await, ISSUER, id_token, &spa);
        assert_eq!(claims["nonce"], "n");
    }
    // The opaque access token A issued works at B's /userinfo.
    let at = tokens["access_token"].as_str().unwrap();
    let me = http
        .get(b.url("userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    // The session B created signs the browser in silently at A, and a code A issues is
    // redeemed at B.
    let code = silent_code(&browser.http, &a, &spa, "openid").await;
    assert_eq!(redeem(&http, &b, &spa, &code).await.status(), 200);

    // A key rotated through the CLI is in both nodes' JWKS within a second, and a token
    // signed with it at A verifies with B's JWKS.
    let rotated = op.cli_json(&["keys", "rotate"]);
    let kid = rotated["kid"].as_str().unwrap().to_owned();
    for node in [&a, &b] {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        while !node.jwks().await.contains(&kid) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} did not publish the rotated key within a second",
                node.base
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let code = silent_code(&browser.http, &a, &spa, "openid").await;
    let signed: Value = redeem(&http, &a, &spa, &code).await.json().await.unwrap();
    let (header, _) = verify_with(
        &b.jwks().await,
        ISSUER,
        signed["id_token"].as_str().unwrap(),
        &spa,
    );
    assert_eq!(header.kid.as_deref(), Some(kid.as_str()));

    // An API and an M2M app created through the CLI work at B within a second.
    op.api("https://cluster.example.com", &[]);
    let (id, secret) = op.granted_m2m("https://cluster.example.com", "read:x");
    let cc = [
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
        ("audience", "https://cluster.example.com"),
    ];
    let token = ok_within_a_second(|| form(&http, &b, "oauth/token", &cc)).await;
    assert_eq!(token["token_type"], "Bearer");

    // Racing double redemptions across the nodes: exactly one success each.
    let nodes = Arc::new((a, b));
    let (jar, spa) = (browser.http.clone(), Arc::new(spa));
    let codes = {
        let (nodes, jar, spa) = (nodes.clone(), jar.clone(), spa.clone());
        in_parallel(2 * RACES, move |i| {
            let (nodes, jar, spa) = (nodes.clone(), jar.clone(), spa.clone());
            async move {
                let node = if i % 2 == 0 { &nodes.0 } else { &nodes.1 };
                silent_code(&jar, node, &spa, "openid offline_access").await
            }
        })
        .await
    };
    let (race_codes, rt_codes) = codes.split_at(RACES);

    race_across(&nodes, &http, &spa, Secret::Code, race_codes.to_vec()).await;

    let rt_codes = Arc::new(rt_codes.to_vec());
    let refresh_tokens = {
        let (nodes, spa, http, codes) =
            (nodes.clone(), spa.clone(), http.clone(), rt_codes.clone());
        in_parallel(RACES, move |i| {
            let (nodes, spa, http, codes) =
                (nodes.clone(), spa.clone(), http.clone(), codes.clone());
            async move {
                let node = if i % 2 == 0 { &nodes.1 } else { &nodes.0 };
                let r = redeem(&http, node, &spa, &codes[i]).await;
                assert_eq!(r.status(), 200);
                let v: Value = r.json().await.unwrap();
                v["refresh_token"]
                    .as_str()
                    .expect("a refresh token")
                    .to_owned()
            }
        })
        .await
    };
    race_across(&nodes, &http, &spa, Secret::RefreshToken, refresh_tokens).await;
    drop(nodes);
    inst.remove().await;
}

/// Failed sign-ins counted by one node block the pair at every node: the counters live in the
/// database, not in a node's memory.
async fn attack_counters_are_shared(inst: Installation) {
    let (a, b) = tokio::join!(inst.start_node("a"), inst.start_node("b"));
    let op = &inst.operator;
    op.user(EMAIL, PASSWORD);
    let spa = op.spa(&[]);
    op.cli_json(&["tenant", "update", "--brute-force-max-attempts", "4"]);
    // Both nodes reload the tenant within their poll interval (250 ms).
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let mut browser = Browser::at(&a.base);
    let (_, mut html) = browser
        .to_login_page(&authorize_params(&spa, "openid"))
        .await;
    for node in [&a, &b, &a, &b] {
        browser.switch_to(&node.base);
        let r = browser.post_login(&html, EMAIL, "wrong password").await;
        assert_eq!(r.status(), 401);
        html = r.text().await.unwrap();
    }
    for node in [&a, &b] {
        browser.switch_to(&node.base);
        let r = browser.post_login(&html, EMAIL, PASSWORD).await;
        assert_eq!(r.status(), 429, "at {}", node.base);
    }
    op.cli(&["users", "unblock", EMAIL]);
    browser.switch_to(&b.base);
    let cb = callback(browser.post_login(&html, EMAIL, PASSWORD).await).await;
    assert!(cb.params.contains_key("code"), "{:?}", cb.params);
    inst.remove().await;
}

#[tokio::test]
async fn attack_counters_are_shared_by_nodes_on_sqlite() {
    attack_counters_are_shared(Installation::sqlite()).await;
}

#[tokio::test]
async fn attack_counters_are_shared_by_nodes_on_postgres() {
    let Some(url) = pg_url() else { return };
    attack_counters_are_shared(Installation::postgres(&url).await).await;
}
