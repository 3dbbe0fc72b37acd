//! Redirect URI matching (`authorize::redirect_uri_allowed`) and the callback/redirect URL
//! validators.
//!
//! Input: lines. The last line is the `redirect_uri` given; the lines before it are the
//! registered callbacks.
//!
//! Properties:
//! - a given URI equal to a callback is allowed;
//! - an allowed URI is either equal to a callback, or the callback is exactly the way the URL
//!   parser prints it, is `http` with host `127.0.0.1` or `[::1]` (not the rest of
//!   127.0.0.0/8, not `localhost`), and the given URI is that callback with an explicit,
//!   non-default port and nothing else changed;
//! - every `callback_url` is a `redirect_url`, and a plain-http callback is on a loopback host.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::{authorize::redirect_uri_allowed, validate};

/// The loopback exception, restated independently of the implementation.
fn loopback_port_variant(callback: &str, given: &str) -> bool {
    let Ok(cb) = url::Url::parse(callback) else {
        return false;
    };
    if cb.as_str() != callback || cb.scheme() != "http" {
        return false;
    }
    let loopback = match cb.host() {
        Some(url::Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        _ => false,
    };
    // Note: the host decides, not a string prefix; `http://user@127.0.0.1/cb` is printed
    // that way by the parser and so qualifies too.
    if !loopback {
        return false;
    }
    let Ok(g) = url::Url::parse(given) else {
        return false;
    };
    let Some(port) = g.port() else {
        return false;
    };
    // Same string apart from the port: put the callback's port back and compare.
    let mut back = g.clone();
    if back.set_port(cb.port()).is_err() {
        return false;
    }
    g.as_str() == given && back.as_str() == callback && given.contains(&format!(":{port}"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines: Vec<&str> = s.split('\n').collect();
    let given = lines.pop().unwrap_or("");
    let callbacks: Vec<String> = lines.iter().map(|l| l.to_string()).collect();

    let allowed = redirect_uri_allowed(&callbacks, given);
    if callbacks.iter().any(|c| c == given) {
        assert!(allowed, "an exact callback was refused: {given:?}");
    }
    if allowed {
        assert!(
            callbacks
                .iter()
                .any(|c| c == given || loopback_port_variant(c, given)),
            "allowed without an exact match or a loopback port variant: {given:?} in {callbacks:?}"
        );
    }
    if callbacks.is_empty() {
        assert!(!allowed);
    }

    for u in callbacks.iter().map(String::as_str).chain([given]) {
        let redirect_ok = validate::redirect_url(u).is_ok();
        if validate::callback_url(u).is_ok() {
            assert!(
                redirect_ok,
                "callback_url accepted what redirect_url refuses: {u:?}"
            );
            let parsed = url::Url::parse(u).expect("a valid callback parses");
            assert!(parsed.fragment().is_none());
            if parsed.scheme() == "http" {
                let loopback = match parsed.host() {
                    Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                    Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                    Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                    None => false,
                };
                assert!(
                    loopback,
                    "plain-http callback to a non-loopback host: {u:?}"
                );
            }
        }
    }
});
