//! `tessera db copy`: moves a whole installation (configuration, users, signing keys still
//! encrypted under the master key, sessions, codes and tokens) from one database to another,
//! SQLite to PostgreSQL or back. The source is read in one snapshot and the target written in
//! one transaction, so a failed copy leaves the target as it was.

use tessera_core::StoreError;

use crate::{
    SCHEMA_VERSION, SqlStore,
    sql::{Arg, Conn, Kind, Value},
};

use Kind::{Bytes, Int, Text};

/// Every table and column of the current schema, parents before children.
const TABLES: &[(&str, &[(&str, Kind)])] = &[
    (
        "tenants",
        &[
            ("id", Text),
            ("data", Text),
            ("config_version", Int),
            ("version", Int),
        ],
    ),
    (
        "clients",
        &[
            ("tenant_id", Text),
            ("client_id", Text),
            ("data", Text),
            ("version", Int),
        ],
    ),
    (
        "resource_servers",
        &[
            ("tenant_id", Text),
            ("id", Text),
            ("identifier", Text),
            ("data", Text),
            ("version", Int),
        ],
    ),
    (
        "client_grants",
        &[
            ("tenant_id", Text),
            ("id", Text),
            ("client_id", Text),
            ("audience", Text),
            ("data", Text),
            ("version", Int),
        ],
    ),
    (
        "users",
        &[
            ("tenant_id", Text),
            ("user_id", Text),
            ("email", Text),
            ("data", Text),
            ("version", Int),
        ],
    ),
    (
        "signing_keys",
        &[
            ("tenant_id", Text),
            ("kid", Text),
            ("alg", Text),
            ("status", Text),
            ("created_at", Int),
            ("rotated_at", Int),
            ("private_enc", Bytes),
            ("public_jwk", Text),
        ],
    ),
    (
        "roles",
        &[
            ("tenant_id", Text),
            ("id", Text),
            ("name", Text),
            ("data", Text),
            ("version", Int),
        ],
    ),
    (
        "user_roles",
        &[
            ("tenant_id", Text),
            ("user_id", Text),
            ("role_id", Text),
            ("position", Int),
        ],
    ),
    (
        "scripts",
        &[
            ("tenant_id", Text),
            ("id", Text),
            ("kind", Text),
            ("name", Text),
            ("ord", Int),
            ("data", Text),
            ("version", Int),
        ],
    ),
    (
        "artifacts",
        &[
            ("tenant_id", Text),
            ("kind", Text),
            ("id_hash", Text),
            ("family", Text),
            ("client_id", Text),
            ("user_id", Text),
            ("payload", Text),
            ("created_at", Int),
            ("expires_at", Int),
            ("consumed_at", Int),
        ],
    ),
    (
        "logs",
        &[
            ("tenant_id", Text),
            ("log_id", Text),
            ("date", Int),
            ("type", Text),
            ("user_id", Text),
            ("client_id", Text),
            ("data", Text),
        ],
    ),
    (
        "attack_counters",
        &[
            ("tenant_id", Text),
            ("kind", Text),
            ("subject", Text),
            ("ip", Text),
            ("hits", Int),
            ("expires_at", Int),
        ],
    ),
];

/// Rows read per page, so a large artifacts table is never all in memory.
const PAGE: i64 = 1000;

/// Rows per INSERT statement: few round trips, and at most 1,000 bound values (well under
/// SQLite's and PostgreSQL's limits) for the widest table.
const ROWS_PER_INSERT: usize = 100;

/// `INSERT INTO table (names) VALUES ($1, …), ($k, …), …` for `rows` rows.
pub(crate) fn insert_sql(table: &str, names: &str, width: usize, rows: usize) -> String {
    let tuples: Vec<String> = (0..rows)
        .map(|r| {
            let cells: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({})", cells.join(", "))
        })
        .collect();
    format!("INSERT INTO {table} ({names}) VALUES {}", tuples.join(", "))
}

/// Rows copied, per table, in copy order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub tables: Vec<(&'static str, u64)>,
}

impl Copied {
    pub fn total(&self) -> u64 {
        self.tables.iter().map(|t| t.1).sum()
    }
}

async fn count(c: &mut Conn<'_>, table: &str) -> Result<u64, StoreError> {
    let sql = format!("SELECT COUNT(*) AS n FROM {table}");
    let n = c.fetch_optional(table, &sql, &[], |r| r.int("n")).await?;
    Ok(n.unwrap_or_default() as u64)
}

/// A failure while writing the copy is the copy's failure (exit 1), whatever the driver said:
/// not an operator's conflict or missing object.
fn failed(e: StoreError) -> StoreError {
    match e {
        StoreError::Conflict(m) | StoreError::NotFound(m) => {
            StoreError::Backend(format!("copy failed: {m}"))
        }
        other => other,
    }
}

/// Copies everything in `from` into `to`, which must be empty. Both must be at this binary's
/// schema version (`SqlStore::open` migrates; a source that is behind is refused so the copy
/// never migrates a database it was only asked to read).
pub async fn copy(from: &SqlStore, to: &SqlStore) -> Result<Copied, StoreError> {
    let version = from.schema_version().await?;
    if version != SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "the source database has schema version {version}, this binary copies version {SCHEMA_VERSION}: run `tessera migrate` on it first"
        )));
    }
    // Refuse a populated target before touching it (not even to migrate it).
    if to.schema_version().await? > 0 {
        let existing = count(&mut to.pooled("copy", false).await?.conn(), "tenants").await?;
        if existing > 0 {
            return Err(StoreError::Conflict(format!(
                "the target database already holds an installation ({existing} tenant(s)); copy into an empty database"
            )));
        }
    }
    to.migrate().await?;
    let mut src = from.begin("copy: read", false).await?;
    if from.is_postgres() {
        src.conn()
            .execute(
                "copy: read",
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY",
                &[],
            )
            .await?;
    }
    let mut dst = to.begin("copy: write", true).await?;
    let mut copied = Copied { tables: Vec::new() };
    for (table, columns) in TABLES {
        let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
        let select = format!(
            "SELECT rowid AS seq, {} FROM {table} WHERE rowid > $1 ORDER BY rowid LIMIT $2",
            names.join(", ")
        );
        let names = names.join(", ");
        let (mut after, mut n) = (0i64, 0u64);
        loop {
            let page = src
                .conn()
                .fetch_all(table, &select, &[Arg::Int(after), Arg::Int(PAGE)], |r| {
                    let values = columns
                        .iter()
                        .map(|(col, kind)| r.value(col, *kind))
                        .collect::<Result<Vec<Value>, _>>()?;
                    Ok((r.int("seq")?, values))
                })
                .await?;
            for chunk in page.chunks(ROWS_PER_INSERT) {
                let insert = insert_sql(table, &names, columns.len(), chunk.len());
                let args: Vec<Arg<'_>> = chunk
                    .iter()
                    .flat_map(|(_, values)| values.iter().map(Value::arg))
                    .collect();
                dst.conn()
                    .execute(table, &insert, &args)
                    .await
                    .map_err(failed)?;
            }
            if let Some((seq, _)) = page.last() {
                after = *seq;
            }
            n += page.len() as u64;
            if (page.len() as i64) < PAGE {
                break;
            }
        }
        copied.tables.push((table, n));
    }
    // Before committing: the target holds what the source's snapshot held, table by table.
    for (table, n) in &copied.tables {
        let found = count(&mut dst.conn(), table).await?;
        if found != *n {
            return Err(StoreError::Backend(format!(
                "copy check: {table} would have {found} rows in the target, {n} were read; nothing was written"
            )));
        }
    }
    dst.commit("copy: write").await.map_err(failed)?;
    drop(src);
    Ok(copied)
}
