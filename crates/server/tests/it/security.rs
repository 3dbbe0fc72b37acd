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

#[tokio::test]
async fn only_a_native_app_gets_loopback_port_flexibility() {
    let app = spawn_app().await;
    let b = Browser::new(&app);
    let registered = "http://127.0.0.1:9/callback";
    let spa = app.spa(&["--callbacks", registered]);
    let (web, _) = app.web_app(&["--callbacks", registered]);
    for client in [&spa, &web] {
        accepted(&b, client, registered).await;
        // Any local process may listen on another port: no code, no error goes there.
        for other in [
            "http://127.0.0.1:10/callback",
            "http://127.0.0.1:51000/callback",
            "http://127.0.0.1/callback",
        ] {
            refused(&b, client, other).await;
            let mut early = code_request(client, other).to_vec();
            early.retain(|(k, _)| *k != "response_type");
            let r = b.authorize(&early).await;
            assert!(
                r.headers().get("location").is_none(),
                "an early error to {other}"
            );
        }
    }
}

/// Deterministic noise (xorshift), so a failure can be replayed.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// One garbage request: what it is, the method, the path and query, the content type, the body.
type Garbage = (
    String,
    reqwest::Method,
    String,
    Option<&'static str>,
    Vec<u8>,
);

/// A batch of garbage for an endpoint that reads a body (POST) or a query (GET).
fn garbage_for(method: reqwest::Method, path: &str) -> Vec<Garbage> {
    let form = Some("application/x-www-form-urlencoded");
    let mut out: Vec<Garbage> = Vec::new();
    let mut add = |what: &str, query: &str, ct: Option<&'static str>, body: Vec<u8>| {
        let target = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        };
        out.push((what.to_owned(), method.clone(), target, ct, body));
    };
    if method == reqwest::Method::POST {
        for seed in 1..=8 {
            add(
                &format!("random bytes {seed}"),
                "",
                form,
                noise(seed, 2_000),
            );
        }
        add("1 MB body", "", form, vec![b'a'; 1 << 20]);
        add(
            "1 MB of parameters",
            "",
            form,
            "a=b&".repeat(1 << 18).into_bytes(),
        );
        add(
            "invalid UTF-8",
            "",
            form,
            b"grant_type=\xff\xfe&client_id=\xc3\x28&state=\x80".to_vec(),
        );
        add(
            "percent-encoded invalid UTF-8",
            "",
            form,
            b"grant_type=%ff%fe&client_id=%c3%28&username=%80".to_vec(),
        );
        add(
            "duplicate parameters",
            "",
            form,
            b"client_id=a&client_id=b&grant_type=x&grant_type=y&state=1&state=2".to_vec(),
        );
        add("empty body", "", form, Vec::new());
        add(
            "form body sent as JSON",
            "",
            Some("application/json"),
            b"grant_type=client_credentials".to_vec(),
        );
        add(
            "JSON body sent as a form",
            "",
            form,
            br#"{"grant_type":"client_credentials"}"#.to_vec(),
        );
        add(
            "JSON nested 10,000 deep",
            "",
            Some("application/json"),
            "[".repeat(10_000).into_bytes(),
        );
        add(
            "JSON with a NUL",
            "",
            Some("application/json"),
            b"{\"client_id\":\"a\\u0000b\"}".to_vec(),
        );
        add(
            "JSON array",
            "",
            Some("application/json"),
            b"[1,2,3]".to_vec(),
        );
        add("XML", "", Some("application/xml"), b"<a>b</a>".to_vec());
        add(
            "multipart",
            "",
            Some("multipart/form-data; boundary=x"),
            b"--x\r\n\r\n--x--".to_vec(),
        );
        add("text/plain", "", Some("text/plain"), noise(99, 100));
        add("no content type", "", None, noise(100, 100));
        add(
            "content type garbage",
            "",
            Some("x/;;;==; charset=ebcdic"),
            b"a=b".to_vec(),
        );
    }
    add("random query", &noise_query(7, 500), None, Vec::new());
    add(
        "query of invalid UTF-8",
        "client_id=%ff%fe&redirect_uri=%c3%28&state=%80",
        None,
        Vec::new(),
    );
    add(
        "duplicate query parameters",
        "client_id=a&client_id=b&response_type=code&response_type=token",
        None,
        Vec::new(),
    );
    add("30 kB query", &"x=y&".repeat(7_500), None, Vec::new());
    add("query of separators", "&&&===&=&%&%%", None, Vec::new());
    out
}

/// Random bytes, percent-encoded into a query string.
fn noise_query(seed: u64, len: usize) -> String {
    noise(seed, len)
        .iter()
        .map(|b| match b {
            b'a'..=b'z' | b'=' | b'&' => (*b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn every_endpoint_answers_garbage_with_a_clear_4xx_and_never_hangs() {
    use reqwest::Method;
    let app = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    let spa = app.spa(&[]);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();
    // Endpoints that read their input: garbage is the client's mistake, a 4xx.
    let reads = [
        (Method::GET, "authorize"),
        (Method::POST, "authorize"),
        (Method::GET, "login"),
        (Method::GET, "u/login"),
        (Method::POST, "u/login"),
        (Method::POST, "oauth/token"),
        (Method::POST, "oauth/revoke"),
        (Method::GET, "userinfo"),
        (Method::POST, "userinfo"),
    ];
    // Endpoints that ignore a query (or may redirect home without one): anything but a 5xx.
    let ignores = [
        (Method::GET, ".well-known/openid-configuration"),
        (Method::GET, ".well-known/jwks.json"),
        (Method::GET, "healthz"),
        (Method::GET, "metrics"),
        (Method::GET, "v2/logout"),
        (Method::GET, "oidc/logout"),
        (Method::POST, "oidc/logout"),
    ];
    let mut sent = 0;
    for (strict, list) in [(true, &reads[..]), (false, &ignores[..])] {
        for (method, path) in list {
            for (what, method, target, ct, body) in garbage_for(method.clone(), path) {
                let mut req = http.request(method.clone(), app.url(&target)).body(body);
                if let Some(ct) = ct {
                    req = req.header("content-type", ct);
                }
                let r = req
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{method} /{path} {what}: no answer: {e}"));
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                assert!(
                    !status.is_server_error(),
                    "{method} /{path} {what}: {status} {text}"
                );
                if strict {
                    assert!(
                        status.is_client_error(),
                        "{method} /{path} {what}: {status} {text}"
                    );
                    assert!(
                        !text.trim().is_empty(),
                        "{method} /{path} {what}: empty {status}"
                    );
                }
                sent += 1;
            }
        }
    }
    assert!(sent > 200, "{sent} requests");
    // And the server still works.
    let b = Browser::new(&app);
    let cb = b
        .login(
            &[
                ("client_id", spa.as_str()),
                ("redirect_uri", CB),
                ("response_type", "id_token token"),
                ("scope", "openid"),
                ("nonce", "n"),
            ],
            EMAIL,
            PASSWORD,
        )
        .await;
    assert!(cb.params.contains_key("access_token"));
}

fn assert_page_headers(r: &reqwest::Response, what: &str) {
    let h = r.headers();
    let csp = h
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"))
        .to_str()
        .unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(csp.contains("default-src 'none'"), "{what}: {csp}");
    assert_eq!(h["x-frame-options"], "DENY", "{what}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
    assert!(
        h["content-type"].to_str().unwrap().starts_with("text/html"),
        "{what}"
    );
}

#[tokio::test]
async fn html_pages_forbid_framing_sniffing_and_referrers_and_no_redirect_is_a_307() {
    let app = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    let spa = app.spa(&[]);
    let b = Browser::new(&app);
    let params = [
        ("client_id", spa.as_str()),
        ("redirect_uri", CB),
        ("response_type", "code"),
        ("response_mode", "form_post"),
        ("state", "s"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    // /authorize sends the browser on with a 302 or 303, never a 307 (RFC 9700 §4.12).
    let r = b.authorize(&params).await;
    assert!([302, 303].contains(&r.status().as_u16()), "{}", r.status());
    let login = location(&r);
    let r = b.get(&login).await;
    assert_page_headers(&r, "login page");
    let html = r.text().await.unwrap();
    let r = b.post_login(&html, EMAIL, "wrong password").await;
    assert_page_headers(&r, "login page after a wrong password");
    let html = r.text().await.unwrap();
    let r = b.post_login(&html, EMAIL, PASSWORD).await;
    assert_eq!(r.status(), 200);
    assert_page_headers(&r, "form_post page");
    let r = b.get("authorize?client_id=nobody&response_type=code").await;
    assert_eq!(r.status(), 400);
    assert_page_headers(&r, "error page");
    let r = b.get("u/login?state=expired").await;
    assert_page_headers(&r, "expired login page");
    let r = b.get("v2/logout").await;
    assert_page_headers(&r, "logout page");
    // A login POST answers 303 (the browser GETs the callback; a 307 would re-POST the
    // password to it).
    let (_, html) = b
        .to_login_page(&[
            ("client_id", spa.as_str()),
            ("redirect_uri", CB),
            ("response_type", "code"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("prompt", "login"),
        ])
        .await;
    let r = b.post_login(&html, EMAIL, PASSWORD).await;
    assert_eq!(r.status(), 303);
}

#[tokio::test]
async fn token_and_userinfo_answers_are_never_cached() {
    let app = spawn_app().await;
    app.api("https://api.example.com", &[]);
    let (id, secret) = app.granted_m2m("https://api.example.com", "read:x");
    for r in [
        app.cc_request(&id, &secret, "https://api.example.com")
            .await,
        app.cc_request(&id, "wrong", "https://api.example.com")
            .await,
        app.http
            .get(app.url("userinfo"))
            .bearer_auth("nope")
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(r.headers()["cache-control"], "no-store", "{}", r.status());
    }
}
