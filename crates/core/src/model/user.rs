//! A user of the database connection `Username-Password-Authentication`, shaped like Auth0's.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// An email as it is stored and shown: trimmed, in Unicode NFC and lower case, so that the
/// same address typed on two keyboards (a precomposed `é` or `e` + a combining accent) is one
/// string.
pub fn normalize_email(email: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    email.trim().nfc().collect::<String>().to_lowercase()
}

/// The key that says whether two emails are one mailbox: [`normalize_email`], with the domain
/// in its IDNA ASCII form (`bücher.example` and `xn--bcher-kva.example` are one domain). What
/// uniqueness, sign-in lookups and attack-protection counters compare.
pub fn email_key(email: &str) -> String {
    let email = normalize_email(email);
    match email.rsplit_once('@') {
        Some((local, domain)) => match idna::domain_to_ascii(domain) {
            Ok(ascii) if !ascii.is_empty() => format!("{local}@{ascii}"),
            _ => email,
        },
        None => email,
    }
}

/// The one database connection a tenant has.
pub const DATABASE_CONNECTION: &str = "Username-Password-Authentication";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub tenant_id: String,
    /// `auth0|<24 hex>`.
    pub user_id: String,
    /// Stored as [`normalize_email`] gives it; unique per tenant by [`email_key`].
    pub email: String,
    pub email_verified: bool,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub nickname: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    #[serde(default)]
    pub picture: Option<String>,
    #[serde(default)]
    pub app_metadata: Map<String, Value>,
    #[serde(default)]
    pub user_metadata: Map<String, Value>,
    /// argon2id PHC string.
    pub password_hash: String,
    #[serde(default)]
    pub blocked: bool,
    #[serde(default)]
    pub logins_count: i64,
    #[serde(default)]
    pub last_login: Option<i64>,
    /// How many times the object was written: a write names the version it read and fails
    /// with `StoreError::Stale` if another write came between (see `store`).
    #[serde(default)]
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl User {
    /// `auth0|` followed by 24 lowercase hex digits.
    pub fn new_id() -> String {
        format!("auth0|{}", hex::encode(crate::secret::random_bytes(12)))
    }

    /// Auth0 defaults `name` to the email and `nickname` to its local part.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.email)
    }

    pub fn display_nickname(&self) -> &str {
        self.nickname
            .as_deref()
            .unwrap_or_else(|| self.email.split('@').next().unwrap_or(&self.email))
    }

    pub fn management_json(&self) -> Value {
        let id_part = self
            .user_id
            .split_once('|')
            .map_or(self.user_id.as_str(), |(_, id)| id);
        json!({
            "user_id": self.user_id,
            "email": self.email,
            "email_verified": self.email_verified,
            "name": self.display_name(),
            "nickname": self.display_nickname(),
            "given_name": self.given_name,
            "family_name": self.family_name,
            "picture": self.picture,
            "app_metadata": self.app_metadata,
            "user_metadata": self.user_metadata,
            "blocked": self.blocked,
            "logins_count": self.logins_count,
            "last_login": self.last_login.map(crate::time::rfc3339),
            "created_at": crate::time::rfc3339(self.created_at),
            "updated_at": crate::time::rfc3339(self.updated_at),
            "identities": [{
                "connection": DATABASE_CONNECTION,
                "provider": "auth0",
                "user_id": id_part,
                "isSocial": false,
            }],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_look_like_auth0s() {
        let id = User::new_id();
        let hexpart = id.strip_prefix("auth0|").expect("prefix");
        assert_eq!(hexpart.len(), 24);
        assert!(hexpart.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn one_mailbox_has_one_key_however_it_is_typed() {
        let nfc = "jos\u{e9}@example.com";
        let nfd = "jose\u{301}@example.com";
        assert_ne!(nfc, nfd);
        assert_eq!(email_key(nfc), email_key(nfd));
        assert_eq!(email_key(&nfd.to_uppercase()), email_key(nfc));
        assert_eq!(normalize_email(&format!(" {nfd} ")), nfc);
        assert_eq!(
            email_key("ann@B\u{fc}cher.example"),
            email_key("ANN@xn--bcher-kva.example")
        );
        assert_eq!(
            email_key("ann@xn--bcher-kva.example"),
            "ann@xn--bcher-kva.example"
        );
        assert_ne!(email_key("ann@example.com"), email_key("ann@example.org"));
        // Not an address at all: still one key, never a panic.
        assert_eq!(email_key("no-at-sign"), "no-at-sign");
        assert_eq!(email_key("a@[bad..domain"), "a@[bad..domain");
    }
}
