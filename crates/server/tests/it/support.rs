//! `spawn_app()` and helpers: the CLI runner, token requests, and an independent JWT verifier
//! (the `jsonwebtoken` crate with keys taken from the published JWKS).

use std::{process::Output, time::Duration};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde_json::Value;
use tessera::{app::Running, settings::Settings};

pub struct TestApp {
    pub server: Option<Running>,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    /// Extra environment for CLI runs (a cluster's database URL and master key).
    pub cli_env: Vec<(&'static str, String)>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn start(data_dir: &std::path::Path) -> Running {
    start_with(data_dir, |_| {}).await
}

/// An app whose settings `edit` changes (trusted proxies, say).
pub async fn spawn_app_with(edit: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start_with(dir.path(), edit).await;
    TestApp {
        server: Some(server),
        dir,
        http: reqwest::Client::new(),
        cli_env: Vec::new(),
    }
}

pub async fn start_with(data_dir: &std::path::Path, edit: impl FnOnce(&mut Settings)) -> Running {
    let mut settings = Settings {
        data_dir: data_dir.to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Settings::default()
    };
    edit(&mut settings);
    tessera::app::spawn(settings).await.expect("server starts")
}

impl TestApp {
    pub fn server(&self) -> &Running {
        self.server.as_ref().expect("server running")
    }

    pub fn url(&self, path: &str) -> String {
        self.server().url(path)
    }

    pub fn issuer(&self) -> String {
        self.server().issuer.clone()
    }

    pub async fn restart(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
        self.server = Some(start(self.dir.path()).await);
    }

    /// Runs the CLI on this app's data folder.
    pub fn cli(&self, args: &[&str]) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(args)
            .env_remove("TESSERA_MASTER_KEY")
            .env_remove("TESSERA_CONFIG")
            .env_remove("TESSERA_ISSUER")
            .env_remove("TESSERA_DATABASE_URL")
            .env("TESSERA_LOG", "error")
            .envs(self.cli_env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("run the tessera binary")
    }

    /// Runs a CLI command with `--json`, asserting success, and parses its output.
    pub fn cli_json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.cli(&all);
        assert!(
            out.status.success(),
            "tessera {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "tessera {args:?}: not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Registers an API; extra flags as given.
    pub fn api(&self, identifier: &str, extra: &[&str]) -> Value {
        let mut args = vec![
            "apis",
            "create",
            "--name",
            "Test API",
            "--identifier",
            identifier,
            "--scopes",
            "read:x,write:x",
        ];
        args.extend_from_slice(extra);
        self.cli_json(&args)
    }

    /// Creates an m2m app granted `audience` with `scopes`; returns (client_id, secret).
    pub fn granted_m2m(&self, audience: &str, scopes: &str) -> (String, String) {
        let app = self.cli_json(&["apps", "create", "--name", "svc", "--type", "m2m"]);
        let id = app["client_id"].as_str().unwrap().to_owned();
        self.cli_json(&[
            "apps",
            "grant",
            &id,
            "--audience",
            audience,
            "--scopes",
            scopes,
        ]);
        (id, app["client_secret"].as_str().unwrap().to_owned())
    }

    pub async fn token_form(&self, params: &[(&str, &str)]) -> reqwest::Response {
        let body = serde_urlencoded::to_string(params).unwrap();
        self.http
            .post(self.url("oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// The discovery document.
    pub async fn discovery(&self) -> Value {
        self.http
            .get(self.url(".well-known/openid-configuration"))
            .send()
            .await
            .expect("discovery")
            .json()
            .await
            .expect("discovery JSON")
    }

    pub async fn jwks(&self) -> String {
        self.http
            .get(self.url(".well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Waits (up to 1 s, the promise for CLI changes) until the server serves the stored
    /// configuration: after a CLI change to an app, API or grant, which the server caches.
    pub async fn config_settled(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        loop {
            let r = self.http.get(self.url("healthz")).send().await.unwrap();
            let h = r.headers()["tessera-config"].to_str().unwrap().to_owned();
            if h.starts_with("current") {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the server did not load the configuration within a second: {h}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits (up to 1 s, the promise for CLI changes) until the JWKS satisfies `pred`.
    pub async fn wait_for_jwks(&self, pred: impl Fn(&JwkSet) -> bool) -> JwkSet {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        loop {
            let set: JwkSet = serde_json::from_str(&self.jwks().await).unwrap();
            if pred(&set) {
                return set;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the JWKS did not change within one second"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// A client-credentials request with a form body.
    pub async fn cc_request(&self, id: &str, secret: &str, audience: &str) -> reqwest::Response {
        self.token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("audience", audience),
        ])
        .await
    }

    /// Client credentials via a form body; asserts 200 and returns the JSON.
    pub async fn cc_token(&self, id: &str, secret: &str, audience: &str) -> Value {
        let r = self.cc_request(id, secret, audience).await;
        assert_eq!(r.status(), 200, "{:?}", r.text().await);
        r.json().await.unwrap()
    }
}

/// Repeats a request until it answers 200, failing if that takes more than one second (the
/// promise for CLI changes reaching a running server). Returns the JSON body.
pub async fn ok_within_a_second<F, Fut>(attempt: F) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = reqwest::Response>,
{
    status_within_a_second(200, attempt)
        .await
        .json()
        .await
        .unwrap()
}

/// Repeats a request until it answers `status`, failing if that takes more than one second.
pub async fn status_within_a_second<F, Fut>(status: u16, mut attempt: F) -> reqwest::Response
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = reqwest::Response>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        let r = attempt().await;
        if r.status() == status {
            return r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not served within a second: last status {}",
            r.status()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Verifies a JWT with the key its `kid` names in the app's JWKS (independent of Tessera's
/// code), checking signature, `iss`, `aud` and `exp`. Returns (header, claims).
pub async fn verify(app: &TestApp, token: &str, audience: &str) -> (jsonwebtoken::Header, Value) {
    verify_with(&app.jwks().await, &app.issuer(), token, audience)
}

/// [`verify`] with a JWKS document and issuer given.
pub fn verify_with(
    jwks: &str,
    issuer: &str,
    token: &str,
    audience: &str,
) -> (jsonwebtoken::Header, Value) {
    let header = jsonwebtoken::decode_header(token).expect("JWT header");
    let set: JwkSet = serde_json::from_str(jwks).unwrap();
    let kid = header.kid.clone().expect("kid");
    let jwk = set
        .find(&kid)
        .unwrap_or_else(|| panic!("kid {kid} not in the JWKS"));
    let key = DecodingKey::from_jwk(jwk).expect("usable JWK");
    let mut v = Validation::new(header.alg);
    v.set_audience(&[audience]);
    v.set_issuer(&[issuer]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data =
        jsonwebtoken::decode::<Value>(token, &key, &v).expect("token verifies against the JWKS");
    (header, data.claims)
}

pub fn verify_hs256(token: &str, secret: &str, audience: &str, issuer: &str) -> Value {
    let mut v = Validation::new(Algorithm::HS256);
    v.set_audience(&[audience]);
    v.set_issuer(&[issuer]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_secret(secret.as_bytes()), &v)
        .expect("HS256 token verifies with the API's secret")
        .claims
}

pub fn claim_names(claims: &Value) -> Vec<String> {
    let mut names: Vec<String> = claims.as_object().unwrap().keys().cloned().collect();
    names.sort();
    names
}
