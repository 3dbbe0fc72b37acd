//! What one simple post-login Action costs through `Engine::run` (no server, no HTTP): N runs,
//! one after another, after a warm-up; prints mean, p50 and p99 per run.
//!
//!     cargo run --release -p tessera-actions --example run_cost [N]

use std::time::{Duration, Instant};

use serde_json::json;
use tessera_actions::{Engine, script};
use tessera_core::{
    hooks::{ClaimsHook, HookRequest},
    model::{ScriptKind, Trigger},
};

const ACTION: &str = "exports.onExecutePostLogin = async (event, api) => {
  api.accessToken.setCustomClaim('https://example.com/app_metadata', event.user.app_metadata);
};";

fn request() -> HookRequest {
    HookRequest {
        trigger: Trigger::PostLogin,
        scripts: vec![script("claims", ScriptKind::Action, ACTION)].into(),
        event: json!({
            "user": {
                "user_id": "auth0|0123456789abcdef01234567",
                "email": "ann@example.com",
                "app_metadata": { "plan": "gold", "roles": ["admin"] },
                "user_metadata": {},
            },
            "client": { "client_id": "abc", "name": "My SPA", "metadata": {} },
            "request": { "ip": "127.0.0.1", "hostname": "id.example.com", "query": {}, "user_agent": "bench" },
            "resource_server": { "identifier": "https://api.example.com" },
            "authorization": { "roles": [] },
            "transaction": { "requested_scopes": ["openid"], "protocol": "oidc-basic-profile" },
        }),
        time_limit: Duration::from_secs(1),
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let engine = Engine::default();
    for _ in 0..200 {
        engine.run(request()).await.expect("warm-up run");
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let req = request();
        let t = Instant::now();
        let out = engine.run(req).await.expect("run");
        times.push(t.elapsed());
        assert_eq!(out.access_claims.len(), 1);
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / n as u32;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{n} runs of one simple action through Engine::run: mean {:.3} ms, p50 {:.3} ms, p99 {:.3} ms",
        ms(mean),
        ms(pct(&times, 0.50)),
        ms(pct(&times, 0.99)),
    );
}
