//! Custom claims set by Actions and Rules: `hooks::accepted_claims`.
//!
//! Input: byte 0 picks the token (even: ID token, odd: an API's access token); the rest is a
//! JSON array of `{"name": …, "value": …}` (or `[name, value]`) objects, or, if it is not
//! JSON, raw bytes split into claims at `\n` and into name and value at the first `=`.
//!
//! Properties (the function's doc comment and AUTH0-BEHAVIOR.md): reserved claims are never
//! set; on an API's access token every name is an `http(s)://` namespace; no auth0.com /
//! webtask namespace and no empty name gets through; all accepted claims together stay within
//! 100 KB; every accepted claim is one a script set; and when everything fits under the cap,
//! every admissible claim is accepted, the last value for a name winning.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde_json::Value;
use tessera_core::hooks::{MAX_CUSTOM_CLAIMS_BYTES, RESERVED_CLAIMS, SetClaim, accepted_claims};

#[derive(Deserialize)]
#[serde(untagged)]
enum Claim {
    Object { name: String, value: Value },
    Pair(String, Value),
}

fn namespaced(name: &str) -> bool {
    name.strip_prefix("https://")
        .or_else(|| name.strip_prefix("http://"))
        .is_some_and(|rest| !rest.is_empty())
}

fn admissible(name: &str, api: bool) -> bool {
    !name.is_empty()
        && !RESERVED_CLAIMS.contains(&name)
        && (!api || namespaced(name))
        && !["auth0.com", "webtask.io", "webtask.run"]
            .iter()
            .any(|d| name.contains(d))
}

fn size(name: &str, value: &Value) -> usize {
    name.len() + serde_json::to_string(value).expect("json").len()
}

fn claim(name: String, value: Value) -> SetClaim {
    SetClaim {
        script: "fuzz".into(),
        name,
        value,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let api = sel & 1 == 1;
    let claims: Vec<SetClaim> = match serde_json::from_slice::<Vec<Claim>>(rest) {
        Ok(list) => list
            .into_iter()
            .map(|c| match c {
                Claim::Object { name, value } | Claim::Pair(name, value) => claim(name, value),
            })
            .collect(),
        Err(_) => rest
            .split(|b| *b == b'\n')
            .map(|line| {
                let line = String::from_utf8_lossy(line);
                let (name, value) = line.split_once('=').unwrap_or((&line, ""));
                // A value that is JSON is used as such, otherwise as a string.
                let value = serde_json::from_str(value).unwrap_or_else(|_| Value::from(value));
                claim(name.to_owned(), value)
            })
            .collect(),
    };

    let out = accepted_claims(&claims, api);

    let mut total = 0;
    for (name, value) in &out {
        assert!(
            !RESERVED_CLAIMS.contains(&name.as_str()),
            "reserved claim {name:?} set"
        );
        assert!(!name.is_empty(), "empty claim name");
        assert!(
            !api || namespaced(name),
            "non-namespaced {name:?} on an access token"
        );
        assert!(admissible(name, api), "forbidden namespace {name:?}");
        assert!(
            claims.iter().any(|c| &c.name == name && &c.value == value),
            "claim {name:?} was never set to that value"
        );
        total += size(name, value);
    }
    assert!(
        total <= MAX_CUSTOM_CLAIMS_BYTES,
        "{total} bytes of custom claims"
    );

    let wanted: u64 = claims
        .iter()
        .filter(|c| admissible(&c.name, api))
        .map(|c| size(&c.name, &c.value) as u64)
        .sum();
    if wanted <= MAX_CUSTOM_CLAIMS_BYTES as u64 {
        for c in claims.iter().filter(|c| admissible(&c.name, api)) {
            let last = claims
                .iter()
                .rev()
                .find(|d| d.name == c.name)
                .expect("itself");
            assert_eq!(
                out.get(&c.name),
                Some(&last.value),
                "claim {:?} dropped",
                c.name
            );
        }
    }
});
