//! The independent review's smaller findings, each pinned: private database files, secrets
//! kept out of messages, early errors never delivered by `web_message`, one account per
//! mailbox, bounded parked logins, and the session and logout details.

use std::os::unix::fs::PermissionsExt;

use crate::support::{TestApp, start};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn database_files_are_private_in_a_folder_that_already_exists() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let app = TestApp {
        server: Some(start(dir.path()).await),
        dir,
        http: reqwest::Client::new(),
        cli_env: Vec::new(),
    };
    // A write through another process while the server holds the database open: the WAL
    // and its index exist now.
    app.user("ann@example.com", "correct horse battery");
    for name in [
        "tessera.db",
        "tessera.db-wal",
        "tessera.db-shm",
        "master.key",
    ] {
        assert_eq!(mode(&app.dir.path().join(name)), 0o600, "{name}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["apps", "list", "--data-dir"])
        .arg(app.dir.path())
        .env("TESSERA_LOG", "warn")
        .env_remove("TESSERA_DATABASE_URL")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("readable by other users") && err.contains("chmod 700"),
        "a warning names the open folder: {err}"
    );
}

#[tokio::test]
async fn a_password_in_a_postgresql_url_never_reaches_the_output() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "postgres://postgres@127.0.0.1:1/test?password=hunter2secret",
        "postgres://postgres:hunter2secret@127.0.0.1:1/test",
        "postgres://postgres@127.0.0.1:1/test?sslmode=disable&sslpassword=hunter2secret",
    ] {
        for args in [
            &["db", "check"][..],
            &["serve", "--listen", "127.0.0.1:0"][..],
        ] {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
                .args(args)
                .arg("--data-dir")
                .arg(dir.path())
                .env("TESSERA_DATABASE_URL", url)
                .env("TESSERA_LOG", "debug")
                .env(
                    "TESSERA_MASTER_KEY",
                    tessera_core::keys::MasterKey::generate().to_base64(),
                )
                .output()
                .unwrap();
            assert!(!out.status.success(), "{args:?}: nothing listens on port 1");
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                all.contains("127.0.0.1") || all.contains("not supported"),
                "{args:?}: the error names the server or the parameter: {all}"
            );
            assert!(!all.contains("hunter2secret"), "{args:?}: {all}");
        }
    }
}

#[tokio::test]
async fn one_mailbox_is_one_account_in_nfc_and_nfd() {
    let app = crate::support::spawn_app().await;
    let nfc = "jos\u{e9}@example.com";
    let nfd = "jose\u{301}@example.com";
    app.user(nfc, "correct horse battery");
    let out = app.cli(&[
        "users",
        "create",
        "--email",
        nfd,
        "--password",
        "another passphrase",
    ]);
    assert!(
        !out.status.success(),
        "a second account for the same mailbox"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    // Signing in with the other form finds the one account.
    let (web, secret) = app.web_app(&["--grant-types", "password"]);
    app.config_settled().await;
    let r = app
        .token_form(&[
            ("grant_type", "password"),
            ("client_id", &web),
            ("client_secret", &secret),
            ("username", nfd),
            ("password", "correct horse battery"),
        ])
        .await;
    assert_eq!(r.status(), 200);
    let shown = app.cli_json(&["users", "show", nfd]);
    assert_eq!(shown["email"], nfc, "stored in NFC");
}

/// The database's size on disk, with its write-ahead log.
fn database_bytes(dir: &std::path::Path) -> u64 {
    ["tessera.db", "tessera.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

#[tokio::test]
async fn anonymous_authorize_floods_store_little_then_get_400_and_429() {
    let app = crate::support::spawn_app().await;
    let spa = app.spa(&[]);
    app.cli_json(&["tenant", "update", "--login-transactions-per-ip", "310"]);
    app.config_settled().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let junk = "j".repeat(60 * 1024);
    let form = |extra: Vec<(&'static str, String)>| {
        let mut p = vec![
            ("client_id", spa.clone()),
            ("redirect_uri", crate::browser::CB.to_owned()),
            ("response_type", "code".to_owned()),
            ("scope", "openid".to_owned()),
            ("code_challenge", crate::browser::CHALLENGE.to_owned()),
            ("code_challenge_method", "S256".to_owned()),
        ];
        p.extend(extra);
        p
    };
    let before = database_bytes(app.dir.path());
    for i in 0..300 {
        let r = http
            .post(app.url("authorize"))
            .form(&form(vec![("x-junk", junk.clone())]))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_redirection(), "request {i}: {}", r.status());
    }

    // A request whose kept parameters are too large: a clear 400, nothing parked.
    let r = http
        .post(app.url("authorize"))
        .form(&form(vec![("state", "s".repeat(9 * 1024))]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("too large"));

    // The IP's allowance (310 per 30 minutes) runs out: 429 with Retry-After.
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let r = http
            .post(app.url("authorize"))
            .form(&form(vec![]))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            let retry: i64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=1800).contains(&retry), "{retry}");
            assert!(
                r.text()
                    .await
                    .unwrap()
                    .contains("Too many sign-in attempts")
            );
        }
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        2,
        "{statuses:?}"
    );

    // What is stored, once the server has stopped and its write-ahead log is folded in: 300 ×
    // 60 KB of junk would be 18 MB; only the parameters Tessera reads are kept.
    let mut app = app;
    app.server.take().expect("running").stop().await;
    let grown = database_bytes(app.dir.path()) - before;
    assert!(grown < 6 * 1024 * 1024, "the database grew {grown} bytes");
}

fn authorize_params(spa: &str) -> Vec<(&str, &str)> {
    vec![
        ("client_id", spa),
        ("redirect_uri", crate::browser::CB),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "s-1"),
        ("code_challenge", crate::browser::CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

#[tokio::test]
async fn a_sign_in_an_action_denies_leaves_no_session() {
    use crate::browser::{Browser, EMAIL, PASSWORD, callback};
    let app = crate::support::spawn_app().await;
    app.user(EMAIL, PASSWORD);
    let spa = app.spa(&[]);
    let file = app.dir.path().join("deny.js");
    std::fs::write(
        &file,
        "exports.onExecutePostLogin = async (event, api) => { api.access.deny('No entry'); };",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    app.cli_json(&[
        "actions",
        "create",
        "--name",
        "gate",
        "--trigger",
        "post-login",
        "--file",
        file,
        "--deploy",
    ]);
    app.config_settled().await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let b = Browser::new(&app);
    let (_, html) = b.to_login_page(&authorize_params(&spa)).await;
    let r = b.post_login(&html, EMAIL, PASSWORD).await;
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        !cookies.iter().any(|c| c.contains("tessera_session=")),
        "{cookies:?}"
    );
    let cb = callback(r).await;
    assert_eq!(cb.params["error"], "access_denied");
    // Nothing to sign in silently with.
    let mut silent = authorize_params(&spa);
    silent.push(("prompt", "none"));
    let cb = callback(b.authorize(&silent).await).await;
    assert_eq!(cb.params["error"], "login_required");
}

#[tokio::test]
async fn metrics_can_be_served_on_a_listener_of_their_own() {
    let app = crate::support::spawn_app_with(|s| {
        s.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let metrics = app.server().metrics_addr.expect("a metrics address");
    assert_ne!(metrics, app.server().addr);
    app.http.get(app.url("healthz")).send().await.unwrap();
    let public = app.http.get(app.url("metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404, "not on the public listener");
    let r = app
        .http
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("tessera_http_requests_total")
    );
    // Without the setting, /metrics stays where it was.
    let plain = crate::support::spawn_app().await;
    let r = plain.http.get(plain.url("metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn discovery_does_not_promise_a_consent_screen() {
    let app = crate::support::spawn_app().await;
    let d = app.discovery().await;
    assert_eq!(
        d["prompt_values_supported"],
        serde_json::json!(["none", "login"])
    );
}

#[tokio::test]
async fn another_site_cannot_sign_a_user_out_without_naming_its_app() {
    use crate::browser::{Browser, EMAIL, PASSWORD, callback, location};
    let app = crate::support::spawn_app().await;
    app.user(EMAIL, PASSWORD);
    let spa = app.spa(&["--logout-urls", "https://app.example.com/bye"]);
    let b = Browser::new(&app);
    let mut silent = authorize_params(&spa);
    silent.push(("prompt", "none"));
    let signed_in = async |b: &Browser| {
        callback(b.authorize(&silent).await)
            .await
            .params
            .contains_key("code")
    };
    let cross_site = async |b: &Browser, path: &str| {
        b.http
            .get(b.url(path))
            .header("sec-fetch-site", "cross-site")
            .send()
            .await
            .unwrap()
    };
    let (_, html) = b.to_login_page(&authorize_params(&spa)).await;
    callback(b.post_login(&html, EMAIL, PASSWORD).await).await;
    assert!(signed_in(&b).await);

    // From another site, naming no application: a confirmation page; the session lives on.
    for path in [
        "v2/logout?returnTo=https%3A%2F%2Fapp.example.com%2Fbye",
        "v2/logout",
        "oidc/logout",
        "oidc/logout?client_id=nope&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F",
    ] {
        let r = cross_site(&b, path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert!(location(&r).is_empty(), "{path}");
        let page = r.text().await.unwrap();
        assert!(
            page.contains("Sign out?") && page.contains("method=\"post\""),
            "{page}"
        );
        assert!(
            signed_in(&b).await,
            "{path}: the session is not ended by a link"
        );
    }
    // The user confirms (a POST from this site): signed out, sent where the app allows.
    let r = b
        .http
        .post(b.url("v2/logout"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("returnTo", "https://app.example.com/bye")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "https://app.example.com/bye");
    assert!(!signed_in(&b).await);

    // An application that names itself signs its user out directly, from its own site.
    let (_, html) = b.to_login_page(&authorize_params(&spa)).await;
    callback(b.post_login(&html, EMAIL, PASSWORD).await).await;
    let r = cross_site(
        &b,
        &format!("v2/logout?client_id={spa}&returnTo=https%3A%2F%2Fapp.example.com%2Fbye"),
    )
    .await;
    assert_eq!(location(&r), "https://app.example.com/bye");
    assert!(!signed_in(&b).await);
}
