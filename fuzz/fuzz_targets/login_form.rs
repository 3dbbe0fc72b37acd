//! The login form (`POST /u/login`): the form parser, the fields the route reads, the email
//! check on the username, and the CSRF / browser-binding check of the login transaction.
//! (The password check itself is argon2 and far too slow to fuzz.)
//!
//! Input: `form body \n csrf \n cookie`. Properties of `csrf_ok`: true exactly when the form's
//! token and the browser cookie are the transaction's; a transaction made from a (token,
//! cookie) pair accepts that pair.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use tessera_core::{login::LoginTransaction, secret::SecretHash, validate};
use tessera_fuzz::{form_params, split_once};

const CSRF: &str = "00112233445566778899aabbccddeeff";
const COOKIE: &str = "browser-cookie-value";

fuzz_target!(|data: &[u8]| {
    let (body, rest) = split_once(data, b'\n');
    let (csrf, cookie) = split_once(rest.unwrap_or_default(), b'\n');
    let csrf = String::from_utf8_lossy(csrf);
    let cookie = String::from_utf8_lossy(cookie.unwrap_or_default());

    if let Ok(p) = form_params(body) {
        // What `routes::login::submit` reads.
        let field = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
        let _handle = field("state");
        let form_csrf = field("csrf");
        let username = field("username").trim();
        let _password = field("password");
        if validate::email(username).is_ok() {
            assert!(username.len() <= 254);
            assert_eq!(username.matches('@').count(), 1);
            assert!(!username.starts_with('@') && !username.ends_with('@'));
            assert!(!username.chars().any(char::is_whitespace));
        }
        let tx = transaction(CSRF, COOKIE);
        assert_eq!(
            tx.csrf_ok(form_csrf, &cookie),
            form_csrf == CSRF && cookie == COOKIE
        );
    }

    let tx = transaction(CSRF, COOKIE);
    assert_eq!(tx.csrf_ok(&csrf, &cookie), csrf == CSRF && cookie == COOKIE);
    assert!(tx.csrf_ok(CSRF, COOKIE));
    // A transaction made for this browser and token accepts them, and nothing else.
    let own = transaction(&csrf, &cookie);
    assert!(own.csrf_ok(&csrf, &cookie));
    assert_eq!(own.csrf_ok(CSRF, &cookie), *csrf == *CSRF);
    assert_eq!(own.csrf_ok(&csrf, COOKIE), *cookie == *COOKIE);
});

fn transaction(csrf: &str, cookie: &str) -> LoginTransaction {
    LoginTransaction {
        params: HashMap::new(),
        csrf: csrf.to_owned(),
        browser: SecretHash::of(cookie).as_str().to_owned(),
    }
}
