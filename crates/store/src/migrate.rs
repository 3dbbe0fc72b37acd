//! Embedded, ordered schema migrations (one folder per backend, like Hydra's), applied on open
//! and recorded in `tessera_migrations`, so the binary carries its schema.

use sqlx::SqlitePool;
use tessera_core::StoreError;

/// The newest schema version this binary knows.
pub const SCHEMA_VERSION: i64 = 4;

pub(crate) const SQLITE: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "artifacts",
        include_str!("../migrations/sqlite/0002_artifacts.sql"),
    ),
    (
        3,
        "roles",
        include_str!("../migrations/sqlite/0003_roles.sql"),
    ),
    (
        4,
        "scripts",
        include_str!("../migrations/sqlite/0004_scripts.sql"),
    ),
];

/// Applies the migrations this database has not seen, each in its own transaction. A database
/// newer than this binary is refused rather than touched.
pub(crate) async fn sqlite(pool: &SqlitePool) -> Result<i64, StoreError> {
    let err = |e: sqlx::Error| StoreError::Backend(format!("migration: {e}"));
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS tessera_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .execute(pool)
    .await
    .map_err(err)?;
    let current: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM tessera_migrations")
            .fetch_one(pool)
            .await
            .map_err(err)?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "the database has schema version {current}, newer than this binary's {SCHEMA_VERSION}: upgrade Tessera"
        )));
    }
    if current == SCHEMA_VERSION {
        return Ok(current);
    }
    // BEGIN IMMEDIATE takes the write lock first, so two processes starting on a fresh database
    // (a server and a CLI) migrate once, one after the other. The transaction rolls back if
    // anything fails or the future is dropped.
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(err)?;
    let current: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM tessera_migrations")
            .fetch_one(&mut *tx)
            .await
            .map_err(err)?;
    for (version, name, sql) in SQLITE.iter().filter(|(v, _, _)| *v > current) {
        sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(err)?;
        sqlx::query("INSERT INTO tessera_migrations (version, name, applied_at) VALUES (?, ?, strftime('%s','now'))")
            .bind(version)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        tracing::info!(version, name, "applied migration");
    }
    tx.commit().await.map_err(err)?;
    Ok(SCHEMA_VERSION)
}
