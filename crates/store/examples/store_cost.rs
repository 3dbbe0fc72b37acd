//! What the database work of issue 5 costs, on SQLite and PostgreSQL:
//! - the latency of a code redemption (`consume_artifact`) alone, and while the background
//!   purge deletes a large backlog of expired rows (the purge must not stall requests);
//! - how long `db copy` takes for an installation with that many grant artifacts.
//!
//!     cargo run --release -p tessera-store --example store_cost [ROWS]
//!
//! PostgreSQL figures need `TESSERA_TEST_DATABASE_URL` (a scratch schema is made and dropped).

use std::time::{Duration, Instant};

use serde_json::json;
use tessera_core::{
    model::{Artifact, ArtifactKind, Tenant},
    store::{ArtifactStore, TenantStore},
};
use tessera_store::{SqlStore, scratch::ScratchSchema};

const T: &str = "bench";

fn row(i: usize, expires_at: i64) -> Artifact {
    Artifact {
        tenant_id: T.into(),
        kind: ArtifactKind::AuthorizationCode,
        id_hash: format!("{i:064x}"),
        family: format!("grant-{i}"),
        client_id: Some("client".into()),
        user_id: Some("auth0|user".into()),
        payload: json!({"grant": {"scopes": ["openid", "profile"], "user_id": "auth0|user"}, "redirect_uri": "https://app.example.com/callback"}),
        created_at: 1,
        expires_at,
        consumed_at: None,
    }
}

fn pct(mut v: Vec<Duration>) -> String {
    v.sort();
    let at = |p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)].as_secs_f64() * 1000.0;
    format!(
        "p50={:.3}ms p99={:.3}ms max={:.3}ms",
        at(0.5),
        at(0.99),
        at(1.0)
    )
}

/// Inserts one live code and consumes it, `n` times; the latencies of the pair.
async fn redemptions(s: &SqlStore, from: usize, n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for i in from..from + n {
        let t = Instant::now();
        s.insert_artifact(&row(i, i64::MAX / 2)).await.unwrap();
        let got = s
            .consume_artifact(T, ArtifactKind::AuthorizationCode, &format!("{i:064x}"), 10)
            .await
            .unwrap();
        assert!(got.is_some());
        out.push(t.elapsed());
    }
    out
}

async fn run(name: &str, s: &SqlStore, rows: usize) {
    s.insert_tenant(&Tenant::new(T, "http://bench/", 1))
        .await
        .unwrap();
    let t = Instant::now();
    for i in 0..rows {
        s.insert_artifact(&row(i, 100)).await.unwrap();
    }
    println!(
        "{name}: inserted {rows} expired codes in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let quiet = redemptions(s, 10_000_000, 2_000).await;
    println!(
        "{name}: redemption (insert + consume), idle: {}",
        pct(quiet)
    );

    let purger = {
        let s = s.clone();
        tokio::spawn(async move {
            let t = Instant::now();
            let n = s.purge_artifacts(1_000).await.unwrap();
            (n, t.elapsed())
        })
    };
    let mut during = Vec::new();
    let mut i = 20_000_000;
    while !purger.is_finished() {
        during.extend(redemptions(s, i, 50).await);
        i += 50;
    }
    let (purged, took) = purger.await.unwrap();
    println!(
        "{name}: purged {purged} rows in {:.2}s ({:.0} rows/s); {} redemptions meanwhile: {}",
        took.as_secs_f64(),
        purged as f64 / took.as_secs_f64(),
        during.len(),
        if during.is_empty() {
            "none".into()
        } else {
            pct(during)
        }
    );
}

#[tokio::main]
async fn main() {
    let rows: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let lite = SqlStore::open_sqlite(&dir.path().join("bench.db"))
        .await
        .unwrap();
    run("sqlite", &lite, rows).await;

    let Ok(url) = std::env::var("TESSERA_TEST_DATABASE_URL") else {
        println!("postgres: skipped (set TESSERA_TEST_DATABASE_URL)");
        return;
    };
    let scratch = ScratchSchema::create(&url).await.unwrap();
    let pg = SqlStore::open(&scratch.url).await.unwrap();
    run("postgres", &pg, rows).await;
    pg.close().await;
    scratch.drop().await;

    // db copy: an installation with `rows` live codes, SQLite to PostgreSQL.
    let src = SqlStore::open_sqlite(&dir.path().join("copy.db"))
        .await
        .unwrap();
    src.insert_tenant(&Tenant::new(T, "http://bench/", 1))
        .await
        .unwrap();
    for i in 0..rows {
        src.insert_artifact(&row(i, i64::MAX / 2)).await.unwrap();
    }
    let scratch = ScratchSchema::create(&url).await.unwrap();
    let dst = SqlStore::open(&scratch.url).await.unwrap();
    let t = Instant::now();
    let copied = tessera_store::copy(&src, &dst).await.unwrap();
    let took = t.elapsed().as_secs_f64();
    println!(
        "db copy sqlite -> postgres: {} rows in {took:.2}s ({:.0} rows/s)",
        copied.total(),
        copied.total() as f64 / took
    );
    dst.close().await;
    scratch.drop().await;
}
