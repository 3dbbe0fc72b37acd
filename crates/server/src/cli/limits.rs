//! `tessera bench-limits`: the raw cost of the operations every token and login pays, timed on
//! this machine with this installation's own signing keys and password parameters. These rates
//! are the ceiling the HTTP endpoints are measured against (bench/run): a client-credentials
//! token cannot be faster than one signature, a login not faster than one password hash.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tessera_core::{
    keys::{KeyRing, PrivateKey, Signer, sign_compact},
    model::SigningAlg,
    password,
};

use super::{CliError, CliResult, output::Out};
use crate::boot::Install;

/// Runs `op` for about `window` (after a warm-up of a tenth of it) and returns operations per
/// second. The op count is checked against the clock every few iterations so cheap operations
/// are not dominated by `Instant::now`.
fn rate(window: Duration, mut op: impl FnMut()) -> f64 {
    let warm = Instant::now();
    while warm.elapsed() < window / 10 {
        op();
    }
    let start = Instant::now();
    let mut n: u64 = 0;
    loop {
        for _ in 0..8 {
            op();
        }
        n += 8;
        let spent = start.elapsed();
        if spent >= window {
            return n as f64 / spent.as_secs_f64();
        }
    }
}

pub async fn run(install: &Install, out: &Out, seconds: f64) -> CliResult {
    if !(0.05..=600.0).contains(&seconds) {
        return Err(CliError::usage(
            "--seconds must be between 0.05 and 600 (the time spent on each operation)",
        ));
    }
    let window = Duration::from_secs_f64(seconds);
    let now = install.clock.now();
    let records = install.manager().list_signing_keys().await?;
    let ring = KeyRing::load(&records, &install.master, now)
        .map_err(|e| CliError::failure(format!("signing keys: {e}")))?;
    // The payload of a client-credentials access token, as /oauth/token signs it.
    let claims = json!({
        "iss": install.tenant.issuer, "sub": "bEnChClIeNtIdOfThIrTyTwOcHaRs00@clients",
        "aud": "https://api.example.com", "iat": now, "exp": now + 86400,
        "scope": "read:bench", "gty": "client-credentials",
        "azp": "bEnChClIeNtIdOfThIrTyTwOcHaRs00", "permissions": ["read:bench"],
    });
    let mut results = serde_json::Map::new();
    let mut lines = Vec::new();
    for alg in [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA] {
        // The installation's current key for the algorithm; a fresh one of the same kind when
        // the tenant has none yet (it makes one when the first API asks for the algorithm).
        let fresh;
        let (kid, key, source) = match ring.signer(alg) {
            Some((kid, key)) => (kid.to_owned(), key, "installation key"),
            None => {
                fresh = PrivateKey::generate(alg)
                    .ok_or_else(|| CliError::failure(format!("cannot make a {alg:?} key")))?;
                (fresh.kid(), &fresh, "fresh key")
            }
        };
        let per_s = rate(window, || {
            std::hint::black_box(
                sign_compact(Signer::Key(key), "at+jwt", Some(&kid), &claims)
                    .expect("signing a JSON object"),
            );
        });
        let name = alg.as_str();
        lines.push(format!("{name:<7} sign    {per_s:>10.0} /s   ({source})"));
        results.insert(
            format!("{}_sign_per_s", name.to_lowercase()),
            json!(per_s.round()),
        );
    }
    // One password check as a login runs it: on a hashing thread, into reused argon2 memory.
    const PASSWORD: &str = "bench-limits password";
    let stored = password::hash(PASSWORD);
    let check = || password::verify_pooled(Some(stored.clone()), PASSWORD.to_owned());
    // The first check allocates the hashing thread's memory; it is not timed.
    check().await;
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < window || n < 3 {
        if !check().await {
            return Err(CliError::failure("a password check of a fresh hash failed"));
        }
        n += 1;
    }
    let hashes_per_s = f64::from(n) / start.elapsed().as_secs_f64();
    let params = stored.split('$').nth(3).unwrap_or("").to_owned();
    lines.push(format!(
        "argon2id verify {hashes_per_s:>8.1} /s   ({params})"
    ));
    results.insert(
        "argon2id_verify_per_s".into(),
        json!((hashes_per_s * 10.0).round() / 10.0),
    );
    results.insert("argon2id_params".into(), json!(params));
    results.insert("seconds_per_operation".into(), json!(seconds));
    if out.json {
        println!("{}", Value::Object(results));
    } else {
        println!("{}", lines.join("\n"));
    }
    Ok(())
}
