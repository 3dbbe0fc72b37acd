//! tessera-store: the core `Store` traits implemented in SQL, once, for SQLite (the embedded
//! default, through rusqlite in `lite`) and PostgreSQL (several nodes on one database, through
//! sqlx). SQL dialects never leave this crate.

mod copy;
mod lite;
mod migrate;
pub mod scratch;
mod sql;
mod store;

use tessera_core::StoreError;

pub use copy::{Copied, copy};
pub use lite::WriteBatches;
pub use migrate::{Migrated, SCHEMA_VERSION};
pub use store::{DatabaseUrl, SqlStore, create_private_dir};

/// Maps a driver error onto the store's error kinds: unique violations are conflicts,
/// foreign-key violations mean the referenced object is missing.
pub(crate) fn map_err(what: &str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(what.to_owned())
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::NotFound(format!("{what}: a referenced object does not exist"))
        }
        _ => StoreError::Backend(format!("{what}: {e}")),
    }
}

/// Decodes a JSON `data` column.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    what: &str,
    data: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(data).map_err(|e| StoreError::Backend(format!("corrupt {what} row: {e}")))
}

pub(crate) fn encode<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(format!("encode: {e}")))
}
