//! A search and page of a tenant's users (the Management API's `GET /api/v2/users`): what the
//! store is asked, whichever backend answers. [`crate::manage`] parses Auth0's `q` syntax into
//! a [`UserFilter`]; the stores turn it into SQL or run it in memory.

use super::{User, email_key, normalize_email};

/// Which users, in which order, which slice of them, and whether to count them all.
#[derive(Debug, Clone, PartialEq)]
pub struct UserQuery {
    pub filter: Option<UserFilter>,
    pub sort: UserSort,
    pub offset: u64,
    pub limit: u64,
    /// Count every match (`include_totals`).
    pub total: bool,
}

impl Default for UserQuery {
    fn default() -> Self {
        Self {
            filter: None,
            sort: UserSort::default(),
            offset: 0,
            limit: 50,
            total: false,
        }
    }
}

/// One page of users, and the number of all matches when it was asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPage {
    pub users: Vec<User>,
    pub total: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum UserFilter {
    /// Every one matches (`AND`).
    All(Vec<UserFilter>),
    /// Any one matches (`OR`).
    Any(Vec<UserFilter>),
    Term(UserField, Match),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserField {
    Email,
    UserId,
    Name,
    Nickname,
    GivenName,
    FamilyName,
    Blocked,
    EmailVerified,
    /// A top-level key of `app_metadata` (letters, digits, `_` and `-`).
    AppMetadata(String),
    UserMetadata(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// Equal (emails compare as mailboxes, see [`email_key`]).
    Is(String),
    /// Starts with (emails in their stored, lower-case form).
    Prefix(String),
    Flag(bool),
}

/// Sort order: Auth0's `sort=field:1` (ascending) or `field:-1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserSort {
    pub by: SortKey,
    pub descending: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// Creation order (the default).
    #[default]
    Created,
    Email,
    UserId,
}

impl UserField {
    /// The JSON key of a profile field stored in the user's document.
    pub fn document_key(&self) -> Option<&str> {
        Some(match self {
            Self::Name => "name",
            Self::Nickname => "nickname",
            Self::GivenName => "given_name",
            Self::FamilyName => "family_name",
            Self::Blocked => "blocked",
            Self::EmailVerified => "email_verified",
            _ => return None,
        })
    }
}

impl Match {
    /// The value as the store compares it for `field`: an email's mailbox key (or, for a
    /// prefix, its normalized form), anything else as given.
    pub fn value_for(&self, field: &UserField) -> Option<String> {
        match (self, field) {
            (Self::Is(v), UserField::Email) => Some(email_key(v)),
            (Self::Prefix(v), UserField::Email) => Some(normalize_email(v)),
            (Self::Is(v) | Self::Prefix(v), _) => Some(v.clone()),
            (Self::Flag(_), _) => None,
        }
    }
}

impl UserFilter {
    /// Does `u` match? The in-memory store's search, and the reference for the SQL ones.
    pub fn matches(&self, u: &User) -> bool {
        match self {
            Self::All(v) => v.iter().all(|f| f.matches(u)),
            Self::Any(v) => v.iter().any(|f| f.matches(u)),
            Self::Term(field, m) => term_matches(field, m, u),
        }
    }
}

fn term_matches(field: &UserField, m: &Match, u: &User) -> bool {
    let text = |v: Option<String>| -> bool {
        match (v, m.value_for(field)) {
            (Some(have), Some(want)) => match m {
                Match::Prefix(_) => have.starts_with(&want),
                _ => have == want,
            },
            _ => false,
        }
    };
    let meta = |map: &serde_json::Map<String, serde_json::Value>, key: &str| {
        map.get(key).and_then(|v| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    match field {
        UserField::Email => match m {
            Match::Is(_) => text(Some(email_key(&u.email))),
            _ => text(Some(u.email.clone())),
        },
        UserField::UserId => text(Some(u.user_id.clone())),
        UserField::Name => text(u.name.clone()),
        UserField::Nickname => text(u.nickname.clone()),
        UserField::GivenName => text(u.given_name.clone()),
        UserField::FamilyName => text(u.family_name.clone()),
        UserField::Blocked => *m == Match::Flag(u.blocked),
        UserField::EmailVerified => *m == Match::Flag(u.email_verified),
        UserField::AppMetadata(k) => text(meta(&u.app_metadata, k)),
        UserField::UserMetadata(k) => text(meta(&u.user_metadata, k)),
    }
}
