//! Tenant log events: a batch is one multi-row `INSERT` (one job in SQLite's group commit);
//! reads go through the `(tenant, type|user|client, log_id)` indexes, newest first.

use tessera_core::model::{LogEvent, LogQuery};

use super::*;
use crate::{copy::insert_sql, sql::Value};

const COLUMNS: &str = "tenant_id, log_id, date, type, user_id, client_id, data";
/// Rows per statement: 7 placeholders each, far under both backends' limits.
const ROWS_PER_INSERT: usize = 500;

#[async_trait]
impl LogStore for SqlStore {
    async fn append_logs(&self, events: &[LogEvent]) -> StoreResult<()> {
        for chunk in events.chunks(ROWS_PER_INSERT) {
            let docs = chunk
                .iter()
                .map(encode)
                .collect::<StoreResult<Vec<String>>>()?;
            let args: Vec<Arg<'_>> = chunk
                .iter()
                .zip(&docs)
                .flat_map(|(e, doc)| {
                    [
                        Text(&e.tenant_id),
                        Text(&e.log_id),
                        Int(e.date),
                        Text(&e.kind),
                        Arg::OptText(e.user_id.as_deref()),
                        Arg::OptText(e.client_id.as_deref()),
                        Text(doc),
                    ]
                })
                .collect();
            let sql = insert_sql("logs", COLUMNS, 7, chunk.len());
            self.exec("logs", &sql, &args).await?;
        }
        Ok(())
    }

    async fn logs(&self, tenant: &str, q: &LogQuery) -> StoreResult<Vec<LogEvent>> {
        let (clause, mut owned) = filter(tenant, q);
        let order = if q.after.is_some() { "ASC" } else { "DESC" };
        let window = |n: u64| Value::Int(Some(i64::try_from(n).unwrap_or(i64::MAX)));
        owned.push(window(q.limit));
        owned.push(window(q.offset));
        let sql = format!(
            "SELECT data FROM logs WHERE tenant_id = $1{clause} ORDER BY log_id {order} LIMIT ${} OFFSET ${}",
            owned.len() - 1,
            owned.len()
        );
        let args: Vec<Arg<'_>> = owned.iter().map(Value::arg).collect();
        self.fetch_all_data("logs", &sql, &args).await
    }

    async fn count_logs(&self, tenant: &str, q: &LogQuery) -> StoreResult<u64> {
        let (clause, owned) = filter(tenant, q);
        let sql = format!("SELECT COUNT(*) AS n FROM logs WHERE tenant_id = $1{clause}");
        let args: Vec<Arg<'_>> = owned.iter().map(Value::arg).collect();
        let n = self.fetch_rows("logs", &sql, &args, |r| r.int("n")).await?;
        Ok(n.first().copied().unwrap_or(0).max(0) as u64)
    }

    async fn log(&self, tenant: &str, log_id: &str) -> StoreResult<Option<LogEvent>> {
        let sql = "SELECT data FROM logs WHERE tenant_id = $1 AND log_id = $2";
        self.fetch_data("log", sql, &[Text(tenant), Text(log_id)])
            .await
    }

    async fn purge_logs(&self, before: i64) -> StoreResult<u64> {
        self.exec("logs", "DELETE FROM logs WHERE date < $1", &[Int(before)])
            .await
    }
}

/// The `WHERE` clause after the tenant, and every value to bind (`$1` is the tenant).
fn filter(tenant: &str, q: &LogQuery) -> (String, Vec<Value>) {
    let mut owned = vec![Value::Text(Some(tenant.to_owned()))];
    let mut bind = |v: Value| {
        owned.push(v);
        format!("${}", owned.len())
    };
    let text = |s: &str| Value::Text(Some(s.to_owned()));
    let mut clause = String::new();
    if !q.kinds.is_empty() {
        let list: Vec<String> = q.kinds.iter().map(|k| bind(text(k))).collect();
        clause += &format!(" AND type IN ({})", list.join(", "));
    }
    if let Some(u) = &q.user_id {
        clause += &format!(" AND user_id = {}", bind(text(u)));
    }
    if let Some(c) = &q.client_id {
        clause += &format!(" AND client_id = {}", bind(text(c)));
    }
    if let Some(d) = q.from_date {
        clause += &format!(" AND date >= {}", bind(Value::Int(Some(d))));
    }
    if let Some(d) = q.to_date {
        clause += &format!(" AND date <= {}", bind(Value::Int(Some(d))));
    }
    if let Some(a) = &q.after {
        clause += &format!(" AND log_id > {}", bind(text(a)));
    }
    (clause, owned)
}
