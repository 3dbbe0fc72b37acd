//! `tessera db copy`, `db check` and `migrate`: an installation moves between databases with
//! its keys, users, apps and live grants, and tokens issued before the move verify after it.

use serde_json::Value;

use crate::{
    browser::{Browser, CB, CHALLENGE, EMAIL, PASSWORD, VERIFIER, callback},
    nodes::{ISSUER, Installation, Node, pg_url},
    support::verify_with,
};

const API: &str = "https://orders.example.com";

/// What a client holds from an installation.
struct Issued {
    spa: String,
    m2m: (String, String),
    /// JWT access token for the API, from a user's login.
    user_jwt: String,
    id_token: String,
    refresh_token: String,
    m2m_jwt: String,
}

async fn post(node: &Node, form: &[(&str, &str)]) -> reqwest::Response {
    reqwest::Client::new()
        .post(node.url("oauth/token"))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Configures an installation: a user, an API, a SPA and an M2M app granted the API.
fn populate(inst: &Installation) -> (String, (String, String)) {
    let op = &inst.operator;
    op.user(EMAIL, PASSWORD);
    op.api(API, &["--offline-access"]);
    let spa = op.spa(&[]);
    (spa, op.granted_m2m(API, "read:x"))
}

/// A user and the M2M app get tokens from `node`.
async fn issue(node: &Node, (spa, m2m): (String, (String, String))) -> Issued {
    let b = Browser::at(&node.base);
    let (_, html) = b
        .to_login_page(&[
            ("client_id", spa.as_str()),
            ("redirect_uri", CB),
            ("response_type", "code"),
            ("scope", "openid offline_access read:x"),
            ("audience", API),
            ("state", "st"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
        .await;
    let cb = callback(b.post_login(&html, EMAIL, PASSWORD).await).await;
    let r = post(
        node,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &spa),
            ("code", &cb.params["code"]),
            ("redirect_uri", CB),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    let cc: Value = post(
        node,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &m2m.0),
            ("client_secret", &m2m.1),
            ("audience", API),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    Issued {
        spa,
        m2m,
        user_jwt: t["access_token"].as_str().unwrap().to_owned(),
        id_token: t["id_token"].as_str().unwrap().to_owned(),
        refresh_token: t["refresh_token"].as_str().unwrap().to_owned(),
        m2m_jwt: cc["access_token"]
            .as_str()
            .expect("an M2M token")
            .to_owned(),
    }
}

/// Checks, at a node serving a copy, that what was issued before the copy still holds, and
/// rotates the refresh token (the new one is what the next copy must carry).
async fn check_issued(node: &Node, issued: &mut Issued) {
    let keys = node.jwks().await;
    verify_with(&keys, ISSUER, &issued.user_jwt, API);
    verify_with(&keys, ISSUER, &issued.m2m_jwt, API);
    verify_with(&keys, ISSUER, &issued.id_token, &issued.spa);
    let r = post(
        node,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &issued.spa),
            ("refresh_token", &issued.refresh_token),
        ],
    )
    .await;
    assert_eq!(r.status(), 200, "the refresh token survives the copy");
    let t: Value = r.json().await.unwrap();
    verify_with(&keys, ISSUER, t["access_token"].as_str().unwrap(), API);
    issued.refresh_token = t["refresh_token"].as_str().unwrap().to_owned();
    // The M2M app and its secret came along.
    let r = post(
        node,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &issued.m2m.0),
            ("client_secret", &issued.m2m.1),
            ("audience", API),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
}

fn copy(from: &Installation, to: &Installation) -> String {
    let out = from.operator.cli(&[
        "db",
        "copy",
        "--from",
        &from.database_url(),
        "--to",
        &to.database_url(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "db copy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_copy_moves_an_installation_between_sqlite_files() {
    let first = Installation::sqlite();
    let apps = populate(&first);
    let node = first.start_node("first").await;
    let mut issued = issue(&node, apps).await;
    drop(node);
    let second = Installation::empty_sqlite().sharing_key_with(&first);
    let report = copy(&first, &second);
    assert!(report.contains("signing_keys: 1"), "{report}");
    assert!(report.contains("users: 1"), "{report}");
    let node = second.start_node("second").await;
    check_issued(&node, &mut issued).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_copy_moves_an_installation_to_postgres_and_back() {
    let Some(url) = pg_url() else { return };
    let lite = Installation::sqlite();
    let apps = populate(&lite);
    let node = lite.start_node("sqlite").await;
    let mut issued = issue(&node, apps).await;
    drop(node);

    let pg = Installation::postgres(&url).await.sharing_key_with(&lite);
    copy(&lite, &pg);
    let node = pg.start_node("postgres").await;
    check_issued(&node, &mut issued).await;
    drop(node);

    let back = Installation::empty_sqlite().sharing_key_with(&lite);
    copy(&pg, &back);
    let node = back.start_node("back").await;
    check_issued(&node, &mut issued).await;
    drop(node);
    pg.remove().await;
}

#[tokio::test]
async fn db_check_migrate_and_copy_explain_mistakes() {
    let inst = Installation::sqlite();
    let op = &inst.operator;
    op.user(EMAIL, PASSWORD);
    let run = |args: &[&str]| {
        let out = op.cli(args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, _) = run(&["db", "check"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("as this binary expects"), "{stdout}");

    // A mistyped path is not a new, empty database.
    let typo = format!("sqlite://{}", op.dir.path().join("tesera.db").display());
    let (code, _, stderr) = run(&["--database-url", &typo, "db", "check"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(
        !op.dir.path().join("tesera.db").exists(),
        "db check created a file"
    );

    // An empty database: behind, until migrated.
    // (A zero-length file is a valid, empty SQLite database.)
    std::fs::write(op.dir.path().join("empty.db"), b"").unwrap();
    let empty = format!("sqlite://{}", op.dir.path().join("empty.db").display());
    let (code, _, stderr) = run(&["--database-url", &empty, "db", "check"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("schema version 0") && stderr.contains("tessera migrate"),
        "{stderr}"
    );
    let (code, stdout, _) = run(&["--database-url", &empty, "migrate"]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("migrated from schema version 0"),
        "{stdout}"
    );
    let (code, stdout, _) = run(&["--database-url", &empty, "migrate"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("up to date"), "{stdout}");
    assert_eq!(run(&["--database-url", &empty, "db", "check"]).0, Some(0));

    // Copying onto itself, into a database that holds an installation, or to a URL that is
    // not a database: operator mistakes, exit 2, one line, nothing touched.
    let own = inst.database_url();
    for (args, says) in [
        (vec!["db", "copy", "--to", own.as_str()], "same database"),
        (
            vec!["db", "copy", "--from", empty.as_str(), "--to", own.as_str()],
            "already holds an installation",
        ),
        (
            vec!["db", "copy", "--to", "mysql://db/x"],
            "unsupported database URL",
        ),
        (
            vec!["--database-url", "redis://x", "db", "check"],
            "unsupported database URL",
        ),
    ] {
        let (code, _, stderr) = run(&args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
    assert_eq!(op.cli_json(&["users", "list"]).as_array().unwrap().len(), 1);

    // A copy into a folder that does not exist yet makes the folder (private).
    let fresh = op.dir.path().join("new-dir").join("tessera.db");
    let to = format!("sqlite://{}", fresh.display());
    let (code, _, stderr) = run(&["db", "copy", "--to", to.as_str()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(fresh.exists());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(fresh.parent().unwrap())
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o700);
}

#[tokio::test]
async fn a_node_with_another_master_key_is_refused_not_given_new_keys() {
    let inst = Installation::sqlite();
    inst.operator.user(EMAIL, PASSWORD);
    let mut other = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
    other
        .args(["--data-dir"])
        .arg(inst.operator.dir.path())
        .args(["keys", "list"])
        .env(
            "TESSERA_MASTER_KEY",
            tessera_core::keys::MasterKey::generate().to_base64(),
        )
        .env("TESSERA_LOG", "error");
    let out = other.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does not match the one this installation was created with"),
        "{stderr}"
    );
    // The installation still has its one key.
    assert_eq!(
        inst.operator
            .cli_json(&["keys", "list"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
