//! A PostgreSQL schema of one's own inside a shared database, for tests and CI runs: the
//! store suite, the multi-node and crash tests each get a fresh, empty namespace on the same
//! server and drop it when done, so runs never see each other's rows.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, Executor, PgConnection};
use tessera_core::StoreError;

use crate::DatabaseUrl;

pub struct ScratchSchema {
    base: String,
    pub name: String,
    /// The base URL with `search_path` set to the schema.
    pub url: DatabaseUrl,
}

async fn admin(base: &str) -> Result<PgConnection, StoreError> {
    crate::store::pg_connect(base).await.map(|(_, conn)| conn)
}

/// The PostgreSQL server tests run against (`TESSERA_TEST_DATABASE_URL`), or `None` with a
/// note that those tests are skipped.
pub fn test_database_url() -> Option<String> {
    let url = std::env::var("TESSERA_TEST_DATABASE_URL").ok();
    if url.is_none() {
        eprintln!("skipped: TESSERA_TEST_DATABASE_URL is not set, so PostgreSQL is not tested");
    }
    url
}

impl ScratchSchema {
    /// Creates `tessera_scratch_<pid>_<n>_<nanos>` in the database `base` points at.
    pub async fn create(base: &str) -> Result<Self, StoreError> {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "tessera_scratch_{}_{}_{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = admin(base).await?;
        conn.execute(format!("CREATE SCHEMA {name}").as_str())
            .await
            .map_err(|e| StoreError::Backend(format!("create schema {name}: {e}")))?;
        let _ = conn.close().await;
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{name}");
        Ok(Self {
            base: base.to_owned(),
            url: DatabaseUrl::Postgres(url),
            name,
        })
    }

    /// Drops the schema and everything in it.
    pub async fn drop(self) {
        if let Ok(mut conn) = admin(&self.base).await {
            let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
            if let Err(e) = conn.execute(sql.as_str()).await {
                tracing::warn!(schema = %self.name, error = %e, "could not drop a scratch schema");
            }
            let _ = conn.close().await;
        }
    }
}
