//! Property tests (proptest) for the two string rules an attacker controls most directly: the
//! redirect URI matcher and scope parsing. The fuzz targets in `fuzz/` hit the same functions
//! with unstructured bytes; these state what must hold for every input.

use proptest::prelude::*;
use tessera_core::{authorize::redirect_uri_allowed, scope};

/// Registered https callbacks: a host of a few labels, an optional port, a path.
fn https_callback() -> impl Strategy<Value = String> {
    (
        prop::collection::vec("[a-z][a-z0-9-]{0,8}", 1..4),
        prop::option::of(1u16..),
        prop::collection::vec("[A-Za-z0-9._~-]{1,8}", 0..4),
    )
        .prop_map(|(labels, port, segments)| {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            format!(
                "https://{}.example{port}/{}",
                labels.join("."),
                segments.join("/")
            )
        })
}

/// Loopback callbacks as they must be registered (the parser's own spelling).
fn loopback_callback() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("127.0.0.1"), Just("[::1]")],
        prop::collection::vec("[a-z0-9]{1,6}", 0..3),
    )
        .prop_map(|(host, segments)| format!("http://{host}/{}", segments.join("/")))
}

/// Is `given` the loopback callback `cb` with a port written after its host (decimal, no
/// leading zero, at most 65535), and nothing else changed?
fn is_loopback_with_port(cb: &str, given: &str) -> bool {
    let Some(host_end) = ["http://127.0.0.1/", "http://[::1]/"]
        .iter()
        .find(|p| cb.starts_with(*p))
        .map(|p| p.len() - 1)
    else {
        return false;
    };
    let (head, tail) = cb.split_at(host_end);
    let Some(port) = given
        .strip_prefix(head)
        .and_then(|r| r.strip_suffix(tail))
        .and_then(|r| r.strip_prefix(':'))
    else {
        return false;
    };
    !port.starts_with('0')
        && port.parse::<u16>().is_ok()
        && port.bytes().all(|b| b.is_ascii_digit())
}

/// One edit of a string: insert, delete or replace a character.
fn edited(s: String) -> impl Strategy<Value = String> {
    let len = s.chars().count();
    (0..=len, any::<char>(), 0u8..3).prop_map(move |(at, c, kind)| {
        let mut chars: Vec<char> = s.chars().collect();
        match kind {
            0 => chars.insert(at, c),
            1 if at < chars.len() => {
                chars.remove(at);
            }
            _ if at < chars.len() => chars[at] = c,
            _ => chars.push(c),
        }
        chars.into_iter().collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn a_registered_callback_is_always_allowed(
        cbs in prop::collection::vec(prop_oneof![https_callback(), loopback_callback()], 1..5),
        pick in any::<prop::sample::Index>(),
    ) {
        let cb = pick.get(&cbs).clone();
        prop_assert!(redirect_uri_allowed(&cbs, &cb));
    }

    #[test]
    fn an_edited_https_callback_is_refused(
        (cb, given) in https_callback().prop_flat_map(|cb| (Just(cb.clone()), edited(cb))),
    ) {
        prop_assume!(given != cb);
        prop_assert!(!redirect_uri_allowed(std::slice::from_ref(&cb), &given), "{given:?} matched {cb:?}");
    }

    #[test]
    fn anything_allowed_is_a_callback_or_that_loopback_callback_with_a_port(
        cbs in prop::collection::vec(prop_oneof![https_callback(), loopback_callback()], 1..4),
        given in prop_oneof![
            ".{0,60}",
            loopback_callback().prop_flat_map(edited),
            (loopback_callback(), any::<u16>()).prop_map(|(cb, port)| cb.replacen("1/", &format!("1:{port}/"), 1).replacen("]/", &format!("]:{port}/"), 1)),
        ],
    ) {
        if redirect_uri_allowed(&cbs, &given) {
            let ok = cbs.iter().any(|cb| cb == &given || is_loopback_with_port(cb, &given));
            prop_assert!(ok, "{given:?} was allowed by {cbs:?}");
        }
    }

    #[test]
    fn scope_parsing_is_idempotent_and_keeps_only_valid_tokens(s in ".{0,80}") {
        if let Ok(tokens) = scope::parse(&s) {
            prop_assert!(tokens.iter().all(|t| scope::is_scope_token(t)));
            let mut seen = std::collections::HashSet::new();
            prop_assert!(tokens.iter().all(|t| seen.insert(t.clone())), "no repeats");
            prop_assert_eq!(scope::parse(&scope::join(&tokens)).unwrap(), tokens.clone());
            // Every token came from the input, in order.
            let words: Vec<&str> = s.split(' ').filter(|w| !w.is_empty()).collect();
            prop_assert!(tokens.iter().all(|t| words.contains(&t.as_str())));
        } else {
            prop_assert!(s.split(' ').any(|w| !w.is_empty() && !scope::is_scope_token(w)));
        }
    }

    #[test]
    fn intersection_never_grants_more_than_either_side(
        granted in prop::collection::vec("[a-z:]{1,8}", 0..8),
        requested in prop::collection::vec("[a-z:]{1,8}", 0..8),
    ) {
        let both = scope::intersect(&granted, &requested);
        prop_assert!(both.iter().all(|s| granted.contains(s) && requested.contains(s)));
        prop_assert!(granted.iter().filter(|g| requested.contains(g)).all(|g| both.contains(g)));
    }
}
