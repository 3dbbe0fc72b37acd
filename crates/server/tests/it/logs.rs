//! Log lines are written by a thread of their own, off the request path, and none is lost when
//! the server shuts down cleanly (SIGTERM) with lines still buffered.

use std::{net::TcpListener, process::Stdio, time::Duration};

use crate::support::TestApp;

#[tokio::test]
async fn every_log_line_is_written_before_a_clean_shutdown() {
    let app = TestApp {
        server: None,
        dir: tempfile::tempdir().unwrap(),
        http: reqwest::Client::new(),
        cli_env: Vec::new(),
    };
    assert!(app.cli(&["migrate"]).status.success());
    app.api("https://api.example.com", &[]);
    let (id, secret) = app.granted_m2m("https://api.example.com", "read:x");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = app.dir.path().join("serve.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(app.dir.path())
        .env("TESSERA_LOG", "info")
        .env_remove("TESSERA_DATABASE_URL")
        .env_remove("TESSERA_MASTER_KEY")
        .stdout(Stdio::null())
        // A pipe nobody reads yet: once its 64 KiB are full, the writer thread waits and the
        // lines gather in the buffer, so the shutdown below finds lines still buffered.
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let base = format!("http://127.0.0.1:{port}/");
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while http.get(format!("{base}healthz")).send().await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "serve did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    const N: usize = 1_000;
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..N {
        let (http, base, id, secret) = (http.clone(), base.clone(), id.clone(), secret.clone());
        requests.spawn(async move {
            http.post(format!("{base}oauth/token"))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", id.as_str()),
                    ("client_secret", secret.as_str()),
                    ("audience", "https://api.example.com"),
                ])
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    // Requests never wait for the log: they all finish while nobody reads the pipe.
    let all = async {
        while let Some(status) = requests.join_next().await {
            assert_eq!(status.unwrap(), 200);
        }
    };
    tokio::time::timeout(Duration::from_secs(60), all)
        .await
        .expect("requests waited for stderr: logging is on the request path");
    // SIGTERM at once: lines may still be buffered for the writer thread.
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // A slow reader: the server is done shutting down long before its lines are all read.
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match std::io::Read::read(&mut stderr, &mut chunk).unwrap() {
                0 => break,
                n => text.extend_from_slice(&chunk[..n]),
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        String::from_utf8(text).unwrap()
    });
    let status = child.wait().unwrap();
    assert!(status.success(), "serve exited with {status}");
    let text = reader.join().unwrap();
    std::fs::write(&log, &text).unwrap();
    let issued = text.lines().filter(|l| l.contains("token issued")).count();
    assert_eq!(issued, N, "one line per token, none lost");
    assert!(text.contains("shutting down"), "{text}");
}
