//! Embedded, ordered schema migrations (one folder per backend, like Hydra's), recorded in
//! `tessera_migrations`, so the binary carries its schema. Both backends have the same
//! versions: version N means the same tables on SQLite and PostgreSQL, which is what lets
//! `tessera db copy` move an installation between them.

use tessera_core::StoreError;

use crate::{
    SqlStore,
    sql::{Arg, Conn},
};

/// The newest schema version this binary knows.
pub const SCHEMA_VERSION: i64 = 9;

type Migration = (i64, &'static str, &'static str);

const SQLITE: &[Migration] = &[
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
    (
        5,
        "attack counters",
        include_str!("../migrations/sqlite/0005_attack_counters.sql"),
    ),
    (
        6,
        "versions",
        include_str!("../migrations/sqlite/0006_versions.sql"),
    ),
    (
        7,
        "user roles",
        include_str!("../migrations/sqlite/0007_user_roles.sql"),
    ),
    (
        8,
        "user search",
        include_str!("../migrations/sqlite/0008_user_search.sql"),
    ),
    (
        9,
        "logs",
        include_str!("../migrations/sqlite/0009_logs.sql"),
    ),
];

const POSTGRES: &[Migration] = &[
    (
        1,
        "init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "artifacts",
        include_str!("../migrations/postgres/0002_artifacts.sql"),
    ),
    (
        3,
        "roles",
        include_str!("../migrations/postgres/0003_roles.sql"),
    ),
    (
        4,
        "scripts",
        include_str!("../migrations/postgres/0004_scripts.sql"),
    ),
    (
        5,
        "attack counters",
        include_str!("../migrations/postgres/0005_attack_counters.sql"),
    ),
    (
        6,
        "versions",
        include_str!("../migrations/postgres/0006_versions.sql"),
    ),
    (
        7,
        "user roles",
        include_str!("../migrations/postgres/0007_user_roles.sql"),
    ),
    (
        8,
        "user search",
        include_str!("../migrations/postgres/0008_user_search.sql"),
    ),
    (
        9,
        "logs",
        include_str!("../migrations/postgres/0009_logs.sql"),
    ),
];

/// Any number: the key of the advisory lock PostgreSQL nodes take to migrate one at a time.
const PG_MIGRATION_LOCK: i64 = 0x0074_6573_7365_7261; // "tessera" in ASCII

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS tessera_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";
const CURRENT: &str = "SELECT COALESCE(MAX(version), 0) AS version FROM tessera_migrations";

/// What a migration run found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    pub from: i64,
    pub to: i64,
}

async fn current(c: &mut Conn<'_>) -> Result<i64, StoreError> {
    c.fetch_optional("schema version", CURRENT, &[], |r| r.int("version"))
        .await
        .map(Option::unwrap_or_default)
}

fn too_new(found: i64) -> StoreError {
    StoreError::Backend(format!(
        "the database has schema version {found}, newer than this binary's {SCHEMA_VERSION}: upgrade Tessera"
    ))
}

impl SqlStore {
    /// The schema version recorded in the database; 0 for an empty database. Reads only.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let exists = if self.is_postgres() {
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'tessera_migrations'"
        } else {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'tessera_migrations'"
        };
        let mut pooled = self.pooled("schema version", false).await?;
        let mut c = pooled.conn();
        let n = c
            .fetch_optional("schema version", exists, &[], |r| r.int("n"))
            .await?
            .unwrap_or_default();
        if n == 0 {
            return Ok(0);
        }
        current(&mut c).await
    }

    /// Applies the migrations this database has not seen, all in one transaction. A database
    /// newer than this binary is refused rather than touched. Nodes starting together migrate
    /// once, one after the other: SQLite's write lock (`BEGIN IMMEDIATE`) or PostgreSQL's
    /// advisory lock serializes them, and each re-reads the version under the lock.
    pub async fn migrate(&self) -> Result<Migrated, StoreError> {
        self.migrate_to(SCHEMA_VERSION).await
    }

    /// Runs `sql` (several statements) in one write transaction: for tests that lay down rows
    /// of an older schema.
    #[doc(hidden)]
    pub async fn run_script(&self, sql: &str) -> Result<(), StoreError> {
        let mut tx = self.begin("script", true).await?;
        tx.conn().execute_script("script", sql).await?;
        tx.commit("script").await
    }

    /// [`Self::migrate`], stopping at version `target`: for tests of a migration's data.
    #[doc(hidden)]
    pub async fn migrate_to(&self, target: i64) -> Result<Migrated, StoreError> {
        let found = self.schema_version().await?;
        if found > SCHEMA_VERSION {
            return Err(too_new(found));
        }
        if found >= target {
            return Ok(Migrated {
                from: found,
                to: found,
            });
        }
        let what = "migration";
        let mut tx = self.begin(what, true).await?;
        let (list, lock) = if self.is_postgres() {
            (POSTGRES, Some("SELECT pg_advisory_xact_lock($1)"))
        } else {
            (SQLITE, None)
        };
        let mut c = tx.conn();
        if let Some(lock) = lock {
            c.execute(what, lock, &[Arg::Int(PG_MIGRATION_LOCK)])
                .await?;
        }
        c.execute_script(what, CREATE_TABLE).await?;
        let from = current(&mut c).await?;
        if from > SCHEMA_VERSION {
            return Err(too_new(from));
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        for (version, name, sql) in list.iter().filter(|(v, _, _)| *v > from && *v <= target) {
            c.execute_script(what, sql).await.map_err(|e| {
                StoreError::Backend(format!("migration {version} ({name}) failed: {e}"))
            })?;
            c.execute(
                what,
                "INSERT INTO tessera_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                &[Arg::Int(*version), Arg::Text(name), Arg::Int(now)],
            )
            .await?;
            tracing::info!(version, name, backend = self.backend(), "applied migration");
        }
        tx.commit(what).await?;
        Ok(Migrated {
            from,
            to: target.max(from),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_every_version_in_order() {
        for list in [SQLITE, POSTGRES] {
            let versions: Vec<i64> = list.iter().map(|m| m.0).collect();
            let expected: Vec<i64> = (1..=SCHEMA_VERSION).collect();
            assert_eq!(versions, expected);
        }
        let names = |l: &[Migration]| l.iter().map(|m| m.1).collect::<Vec<_>>();
        assert_eq!(names(SQLITE), names(POSTGRES));
    }
}
