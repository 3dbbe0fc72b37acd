//! A PostgreSQL schema of one's own inside a shared database, for tests and CI runs: the
//! store suite, the multi-node and crash tests each get a fresh, empty namespace on the same
//! server and drop it when done, so runs never see each other's rows.

use std::{
    str::FromStr,
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use sqlx::{Connection, Executor, PgConnection, postgres::PgConnectOptions};
use tessera_core::StoreError;

use crate::DatabaseUrl;

pub struct ScratchSchema {
    base: String,
    pub name: String,
    /// The base URL with `search_path` set to the schema.
    pub url: DatabaseUrl,
}

async fn admin(base: &str) -> Result<PgConnection, StoreError> {
    let unreachable = |e: &dyn std::fmt::Display| {
        StoreError::Backend(format!("PostgreSQL at {base} is unreachable: {e}"))
    };
    let opts = PgConnectOptions::from_str(base).map_err(|e| unreachable(&e))?;
    tokio::time::timeout(Duration::from_secs(5), PgConnection::connect_with(&opts))
        .await
        .map_err(|_| unreachable(&"no answer within 5 seconds"))?
        .map_err(|e| unreachable(&e))
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
