//! Hostile input (issue 7): redirect URIs that are almost a registered callback.

use crate::{browser::*, support::*};

const NATIVE_CB: &str = "http://127.0.0.1/callback";

/// Variants of `https://app.example.com/callback` that must never be redirected to: each gets
/// the error page and no `Location`.
fn hostile_variants() -> Vec<String> {
    let cb = "https://app.example.com/callback";
    let mut v: Vec<String> = [
        // Case changes.
        "HTTPS://app.example.com/callback",
        "https://APP.example.com/callback",
        "https://app.example.COM/callback",
        "https://app.example.com/Callback",
        "https://app.example.com/CALLBACK",
        // Trailing characters and slashes.
        "https://app.example.com/callback/",
        "https://app.example.com/callback//",
        "https://app.example.com//callback",
        "https://app.example.com/callback.",
        "https://app.example.com./callback",
        "https://app.example.com/callback%20",
        "https://app.example.com/callback ",
        " https://app.example.com/callback",
        "https://app.example.com/callback\t",
        // Path traversal.
        "https://app.example.com/callback/../callback",
        "https://app.example.com/callback/..",
        "https://app.example.com/x/../callback",
        "https://app.example.com/./callback",
        "https://app.example.com/callback/..;/evil",
        "https://app.example.com/callback..;/",
        "https://app.example.com/callback;/../evil",
        "https://app.example.com/callback%2f..%2fevil",
        "https://app.example.com/callback%2F..%2Fevil",
        "https://app.example.com/callback/%2e%2e/evil",
        // Added query or fragment.
        "https://app.example.com/callback?",
        "https://app.example.com/callback?x=1",
        "https://app.example.com/callback?redirect=https://evil.example",
        "https://app.example.com/callback#",
        "https://app.example.com/callback#x",
        "https://app.example.com/callback?#",
        // Userinfo tricks.
        "https://app.example.com@evil.example/callback",
        "https://evil.example@app.example.com/callback",
        "https://app.example.com:443@evil.example/callback",
        "https://user:pass@app.example.com/callback",
        "https://app.example.com%40evil.example/callback",
        // Other ports and schemes.
        "https://app.example.com:443/callback",
        "https://app.example.com:8443/callback",
        "http://app.example.com/callback",
        "wss://app.example.com/callback",
        "javascript:alert(1)//https://app.example.com/callback",
        "data:text/html,https://app.example.com/callback",
        "//app.example.com/callback",
        "/callback",
        "app.example.com/callback",
        // Encoded characters.
        "https://app.example.com/%63allback",
        "https://app.example.com/callbac%6B",
        "https%3A%2F%2Fapp.example.com%2Fcallback",
        "https://app%2eexample.com/callback",
        "https://app.example.com%2Fcallback",
        // Double encoding.
        "https://app.example.com/%2563allback",
        "https%253A%252F%252Fapp.example.com%252Fcallback",
        // IDN look-alikes and other hosts.
        "https://аpp.example.com/callback",
        "https://xn--pp-7ka.example.com/callback",
        "https://app.examp1e.com/callback",
        "https://app.example.com.evil.example/callback",
        "https://evil.example/app.example.com/callback",
        "https://app-example.com/callback",
        "https://example.com/callback",
        // Backslashes.
        "https://app.example.com\\@evil.example/callback",
        "https://app.example.com\\callback",
        "https:\\\\app.example.com\\callback",
        "https://evil.example\\.app.example.com/callback",
        // Null bytes and control characters.
        "https://app.example.com/callback%00",
        "https://app.example.com/callback\u{0}",
        "https://app.example.com/callback\r\nSet-Cookie: x=1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // The registered callback with something added in front or behind.
    v.push(format!("{cb}{cb}"));
    v.push(format!("{cb},https://evil.example"));
    v.push(format!("https://evil.example/?{cb}"));
    v
}

/// Variants of the native app's loopback callback: only another port is allowed (RFC 8252).
fn hostile_loopback_variants() -> Vec<&'static str> {
    vec![
        "http://localhost/callback",
        "http://localhost:51000/callback",
        "http://127.0.0.2:51000/callback",
        "http://127.1:51000/callback",
        "http://2130706433:51000/callback",
        "http://0x7f.0.0.1:51000/callback",
        "http://[0:0:0:0:0:0:0:1]:51000/callback",
        "https://127.0.0.1:51000/callback",
        "http://127.0.0.1:51000/callback/",
        "http://127.0.0.1:51000/Callback",
        "http://127.0.0.1:51000/callback?x=1",
        "http://127.0.0.1:51000/callback#x",
        "http://127.0.0.1:51000/x/../callback",
        "http://user@127.0.0.1:51000/callback",
        "http://127.0.0.1:51000@evil.example/callback",
        "http://127.0.0.1:051000/callback",
        "http://127.0.0.1:/callback",
    ]
}

/// A code + PKCE authorization request to `redirect_uri`.
fn code_request<'a>(client_id: &'a str, redirect_uri: &'a str) -> [(&'a str, &'a str); 6] {
    [
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("response_type", "code"),
        ("state", "s"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

/// The request reaches the login page: the redirect URI was accepted.
async fn accepted(b: &Browser, client_id: &str, redirect_uri: &str) {
    let (path, _) = b
        .to_login_page(&code_request(client_id, redirect_uri))
        .await;
    assert!(path.starts_with("/u/login"), "{redirect_uri}: {path}");
}

async fn refused(b: &Browser, client_id: &str, redirect_uri: &str) {
    let r = b.authorize(&code_request(client_id, redirect_uri)).await;
    assert!(
        r.headers().get("location").is_none(),
        "{redirect_uri:?} was redirected to {:?}",
        r.headers().get("location")
    );
    assert_eq!(r.status(), 400, "{redirect_uri:?}");
    let page = r.text().await.unwrap();
    assert!(
        page.contains("allowed callback URLs"),
        "{redirect_uri:?}: {page}"
    );
}

#[tokio::test]
async fn hostile_redirect_uris_get_the_error_page_and_no_redirect() {
    let app = spawn_app().await;
    let spa = app.spa(&[]);
    let b = Browser::new(&app);
    let variants = hostile_variants();
    assert!(variants.len() >= 60, "{} variants", variants.len());
    for v in &variants {
        assert_ne!(v, CB);
        refused(&b, &spa, v).await;
    }
    // The registered callback itself is accepted.
    accepted(&b, &spa, CB).await;
}

#[tokio::test]
async fn a_loopback_callback_accepts_any_port_and_nothing_else() {
    let app = spawn_app().await;
    let native = app.cli_json(&[
        "apps",
        "create",
        "--name",
        "CLI tool",
        "--type",
        "native",
        "--callbacks",
        &format!("{NATIVE_CB},http://[::1]/callback"),
    ])["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = Browser::new(&app);
    for ok in [
        NATIVE_CB,
        "http://127.0.0.1:51000/callback",
        "http://127.0.0.1:1/callback",
        "http://[::1]:51000/callback",
    ] {
        accepted(&b, &native, ok).await;
    }
    for v in hostile_loopback_variants() {
        refused(&b, &native, v).await;
    }
}
