//! Short-lived grant artifacts (single use by one conditional statement, batched purge) and
//! the attack-protection counters.

use super::*;
use crate::sql::Value;

/// The artifact columns, in the order `artifact_args` binds them.
macro_rules! artifact_columns {
    () => {
        "tenant_id, kind, id_hash, family, client_id, user_id, payload, created_at, expires_at, consumed_at"
    };
}

/// An artifact's values in the order of `artifact_columns!`, with its payload encoded.
fn artifact_args<'a>(a: &'a Artifact, payload: &'a str) -> [Arg<'a>; 10] {
    [
        Text(&a.tenant_id),
        Text(a.kind.as_str()),
        Text(&a.id_hash),
        Text(&a.family),
        Arg::OptText(a.client_id.as_deref()),
        Arg::OptText(a.user_id.as_deref()),
        Text(payload),
        Int(a.created_at),
        Int(a.expires_at),
        Arg::OptInt(a.consumed_at),
    ]
}

fn read_artifact(r: &dyn RowRead) -> StoreResult<Artifact> {
    let kind = r.text("kind")?;
    Ok(Artifact {
        tenant_id: r.text("tenant_id")?,
        kind: ArtifactKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("corrupt artifact kind {kind}")))?,
        id_hash: r.text("id_hash")?,
        family: r.text("family")?,
        client_id: r.opt_text("client_id")?,
        user_id: r.opt_text("user_id")?,
        payload: decode("artifact", &r.text("payload")?)?,
        created_at: r.int("created_at")?,
        expires_at: r.int("expires_at")?,
        consumed_at: r.opt_int("consumed_at")?,
    })
}

impl SqlStore {
    /// A revocation's DELETE (of a family, of a user's artifacts); the count. A PostgreSQL
    /// statement sees the rows committed when it started. A redemption racing with the
    /// revocation (`commit_grant`, one statement) locks its source row first: the DELETE then
    /// waits for its commit, and a second DELETE, which starts after, sees and removes what it
    /// issued. (SQLite runs one writer at a time: one statement is enough.)
    async fn revoke(&self, what: &str, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
        let mut n = self.exec(what, sql, args).await?;
        if self.is_postgres() {
            n += self.exec(what, sql, args).await?;
        }
        Ok(n)
    }
}

/// How many expired artifacts one purge statement deletes: small enough that the write lock
/// (SQLite) or the row locks (PostgreSQL) are held for milliseconds, not the whole backlog.
const PURGE_BATCH: i64 = 500;

/// `INSERT INTO artifacts` of `rows` rows, their placeholders numbered from `$first`.
fn insert_rows(rows: usize, first: usize) -> String {
    let mut sql = concat!("INSERT INTO artifacts (", artifact_columns!(), ") VALUES ").to_owned();
    for r in 0..rows {
        let n = first + r * 10;
        let row: Vec<String> = (n..n + 10).map(|i| format!("${i}")).collect();
        sql.push_str(if r == 0 { "(" } else { ", (" });
        sql.push_str(&row.join(", "));
        sql.push(')');
    }
    sql
}

/// The redemption of a grant's source, `$1` now, `$2`–`$4` its key. Reuse touches the row
/// without changing it, which on PostgreSQL locks it like a consumption would.
fn redeem_sql(how: RedeemHow) -> &'static str {
    match how {
        RedeemHow::Consume => {
            "UPDATE artifacts SET consumed_at = $1 WHERE tenant_id = $2 AND kind = $3 \
             AND id_hash = $4 AND consumed_at IS NULL AND expires_at > $1"
        }
        RedeemHow::Reuse => {
            "UPDATE artifacts SET consumed_at = consumed_at WHERE tenant_id = $2 AND kind = $3 \
             AND id_hash = $4 AND consumed_at IS NOT NULL AND expires_at > $1"
        }
    }
}

/// A grant's statements' arguments, owned, to travel to the SQLite writer: the redemption's
/// (see `redeem_sql`) and every issued row's, one after the other.
struct OwnedGrant {
    redeem: Option<(&'static str, Vec<Value>)>,
    rows: usize,
    values: Vec<Value>,
}

impl OwnedGrant {
    fn of(w: &GrantWrite<'_>) -> StoreResult<Self> {
        let mut values = Vec::with_capacity(w.issue.len() * 10);
        for a in w.issue {
            let payload = encode(&a.payload)?;
            values.extend(artifact_args(a, &payload).iter().map(Value::from));
        }
        let redeem = w.redeem.map(|r| {
            let key = [
                Int(r.now),
                Text(w.tenant),
                Text(r.kind.as_str()),
                Text(r.id_hash),
            ];
            (redeem_sql(r.how), key.iter().map(Value::from).collect())
        });
        Ok(Self {
            redeem,
            rows: w.issue.len(),
            values,
        })
    }

    fn redeem_args(&self) -> Option<(&'static str, Vec<Arg<'_>>)> {
        let (sql, key) = self.redeem.as_ref()?;
        Some((sql, key.iter().map(Value::arg).collect()))
    }

    fn row_args(&self) -> Vec<Arg<'_>> {
        self.values.iter().map(Value::arg).collect()
    }
}

#[async_trait]
impl ArtifactStore for SqlStore {
    async fn commit_grant(&self, w: &GrantWrite<'_>) -> StoreResult<bool> {
        let what = "grant";
        let grant = OwnedGrant::of(w)?;
        if let Some(lite) = self.lite() {
            // One job of the writer's batch: an insert that fails makes the batch run again
            // job by job, and this job's transaction, redemption included, is rolled back.
            return lite
                .write(move |c| {
                    if let Some((sql, args)) = grant.redeem_args()
                        && lite::execute(c, sql, &args).map_err(lite::map_err(what))? == 0
                    {
                        return Ok(false);
                    }
                    if grant.rows > 0 {
                        let sql = insert_rows(grant.rows, 1);
                        lite::execute(c, &sql, &grant.row_args()).map_err(lite::map_err(what))?;
                    }
                    Ok(true)
                })
                .await;
        }
        // PostgreSQL: one statement, one round trip. The redemption's UPDATE locks the row (a
        // racing one waits, then finds it consumed; a racing family DELETE waits, then finds
        // it and, with its second pass, what was issued); the INSERT runs only if it matched.
        let Some((redeem, key)) = grant.redeem_args() else {
            if grant.rows > 0 {
                let sql = insert_rows(grant.rows, 1);
                self.exec(what, &sql, &grant.row_args()).await?;
            }
            return Ok(true);
        };
        let mut args = key;
        let sql = if grant.rows == 0 {
            format!("WITH src AS ({redeem} RETURNING 1) SELECT COUNT(*) AS n FROM src")
        } else {
            args.extend(grant.row_args());
            let insert = insert_rows(grant.rows, 5);
            let (head, values) = insert
                .split_once(" VALUES ")
                .expect("an INSERT with VALUES");
            format!(
                "WITH src AS ({redeem} RETURNING 1), \
                 ins AS ({head} SELECT * FROM (VALUES {values}) AS v WHERE EXISTS (SELECT 1 FROM src)) \
                 SELECT COUNT(*) AS n FROM src"
            )
        };
        let n = self
            .fetch_one_row(what, true, &sql, &args, |r| r.int("n"))
            .await?;
        Ok(n.unwrap_or_default() > 0)
    }

    async fn insert_artifact(&self, a: &Artifact) -> StoreResult<()> {
        let sql = concat!(
            "INSERT INTO artifacts (",
            artifact_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        let payload = encode(&a.payload)?;
        let args = artifact_args(a, &payload);
        self.exec(a.kind.as_str(), sql, &args).await?;
        Ok(())
    }

    async fn artifact(
        &self,
        tenant: &str,
        kind: ArtifactKind,
        id_hash: &str,
    ) -> StoreResult<Option<Artifact>> {
        let sql = concat!(
            "SELECT ",
            artifact_columns!(),
            " FROM artifacts WHERE tenant_id = $1 AND kind = $2 AND id_hash = $3"
        );
        let args = [Text(tenant), Text(kind.as_str()), Text(id_hash)];
        self.fetch_one_row(kind.as_str(), false, sql, &args, read_artifact)
            .await
    }

    async fn consume_artifact(
        &self,
        tenant: &str,
        kind: ArtifactKind,
        id_hash: &str,
        now: i64,
    ) -> StoreResult<Option<Artifact>> {
        // One conditional statement: under PostgreSQL's READ COMMITTED a racing second UPDATE
        // waits for the first to commit, re-checks `consumed_at IS NULL` and matches nothing;
        // SQLite serializes writers outright.
        let sql = concat!(
            "UPDATE artifacts SET consumed_at = $1 WHERE tenant_id = $2 AND kind = $3 AND id_hash = $4 ",
            "AND consumed_at IS NULL AND expires_at > $1 RETURNING ",
            artifact_columns!()
        );
        let args = [Int(now), Text(tenant), Text(kind.as_str()), Text(id_hash)];
        self.fetch_one_row(kind.as_str(), true, sql, &args, read_artifact)
            .await
    }

    async fn extend_artifact(
        &self,
        tenant: &str,
        kind: ArtifactKind,
        id_hash: &str,
        expires_at: i64,
    ) -> StoreResult<bool> {
        let sql = "UPDATE artifacts SET expires_at = $1 WHERE tenant_id = $2 AND kind = $3 AND id_hash = $4";
        let args = [
            Int(expires_at),
            Text(tenant),
            Text(kind.as_str()),
            Text(id_hash),
        ];
        Ok(self.exec(kind.as_str(), sql, &args).await? > 0)
    }

    async fn delete_artifact(
        &self,
        tenant: &str,
        kind: ArtifactKind,
        id_hash: &str,
    ) -> StoreResult<bool> {
        let sql = "DELETE FROM artifacts WHERE tenant_id = $1 AND kind = $2 AND id_hash = $3";
        let args = [Text(tenant), Text(kind.as_str()), Text(id_hash)];
        Ok(self.exec(kind.as_str(), sql, &args).await? > 0)
    }

    async fn delete_user_artifacts(&self, tenant: &str, user_id: &str) -> StoreResult<u64> {
        let sql = "DELETE FROM artifacts WHERE tenant_id = $1 AND user_id = $2";
        self.revoke("user's artifacts", sql, &[Text(tenant), Text(user_id)])
            .await
    }

    async fn delete_family(&self, tenant: &str, family: &str) -> StoreResult<u64> {
        let sql = "DELETE FROM artifacts WHERE tenant_id = $1 AND family = $2";
        self.revoke("artifact family", sql, &[Text(tenant), Text(family)])
            .await
    }

    async fn purge_artifacts(&self, before: i64) -> StoreResult<u64> {
        // In batches, yielding between them, so logins and token requests interleave with a
        // large backlog's purge instead of queueing behind one long DELETE.
        let sql = "DELETE FROM artifacts WHERE rowid IN (SELECT rowid FROM artifacts WHERE expires_at < $1 LIMIT $2)";
        let mut total = 0;
        loop {
            let n = self
                .exec("artifact purge", sql, &[Int(before), Int(PURGE_BATCH)])
                .await?;
            total += n;
            if n < PURGE_BATCH as u64 {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }
}

fn read_counter(r: &dyn RowRead) -> StoreResult<Counter> {
    Ok(Counter {
        count: r.int("hits")?,
        expires_at: r.int("expires_at")?,
    })
}

#[async_trait]
impl CounterStore for SqlStore {
    async fn hit_counter(
        &self,
        tenant: &str,
        kind: CounterKind,
        subject: &str,
        ip: &str,
        rule: CounterRule,
        now: i64,
    ) -> StoreResult<Counter> {
        // One upsert, so hits racing from several nodes all count. $5 now, $6 limit, $7 the
        // window's end, $8 the block's end.
        let sql = "INSERT INTO attack_counters (tenant_id, kind, subject, ip, hits, expires_at) \
            VALUES ($1, $2, $3, $4, 1, CASE WHEN $6 <= 1 AND $8 > $7 THEN $8 ELSE $7 END) \
            ON CONFLICT (tenant_id, kind, subject, ip) DO UPDATE SET \
            hits = CASE WHEN attack_counters.expires_at <= $5 THEN 1 ELSE attack_counters.hits + 1 END, \
            expires_at = CASE \
                WHEN attack_counters.expires_at <= $5 THEN (CASE WHEN $6 <= 1 AND $8 > $7 THEN $8 ELSE $7 END) \
                WHEN attack_counters.hits + 1 = $6 AND $8 > attack_counters.expires_at THEN $8 \
                ELSE attack_counters.expires_at END \
            RETURNING hits, expires_at";
        let args = [
            Text(tenant),
            Text(kind.as_str()),
            Text(subject),
            Text(ip),
            Int(now),
            Int(rule.limit),
            Int(now.saturating_add(rule.window)),
            Int(now.saturating_add(rule.block)),
        ];
        self.fetch_one_row("attack counter", true, sql, &args, read_counter)
            .await?
            .ok_or_else(|| StoreError::Backend("the counter upsert returned no row".into()))
    }

    async fn counter(
        &self,
        tenant: &str,
        kind: CounterKind,
        subject: &str,
        ip: &str,
    ) -> StoreResult<Option<Counter>> {
        let sql = "SELECT hits, expires_at FROM attack_counters \
            WHERE tenant_id = $1 AND kind = $2 AND subject = $3 AND ip = $4";
        let args = [Text(tenant), Text(kind.as_str()), Text(subject), Text(ip)];
        self.fetch_one_row("attack counter", false, sql, &args, read_counter)
            .await
    }

    async fn subject_counters(
        &self,
        tenant: &str,
        kind: CounterKind,
        subject: &str,
        now: i64,
    ) -> StoreResult<Vec<(String, Counter)>> {
        let sql = "SELECT ip, hits, expires_at FROM attack_counters \
            WHERE tenant_id = $1 AND kind = $2 AND subject = $3 AND expires_at > $4 ORDER BY ip";
        let args = [Text(tenant), Text(kind.as_str()), Text(subject), Int(now)];
        self.fetch_rows("attack counters", sql, &args, |r| {
            Ok((r.text("ip")?, read_counter(r)?))
        })
        .await
    }

    async fn clear_counters(
        &self,
        tenant: &str,
        kind: CounterKind,
        subject: &str,
        ip: Option<&str>,
    ) -> StoreResult<u64> {
        match ip {
            Some(ip) => {
                let sql = "DELETE FROM attack_counters \
                    WHERE tenant_id = $1 AND kind = $2 AND subject = $3 AND ip = $4";
                let args = [Text(tenant), Text(kind.as_str()), Text(subject), Text(ip)];
                self.exec("attack counter", sql, &args).await
            }
            None => {
                let sql = "DELETE FROM attack_counters \
                    WHERE tenant_id = $1 AND kind = $2 AND subject = $3";
                let args = [Text(tenant), Text(kind.as_str()), Text(subject)];
                self.exec("attack counter", sql, &args).await
            }
        }
    }

    async fn purge_counters(&self, before: i64) -> StoreResult<u64> {
        // In batches, like the artifacts: a credential-stuffing run can leave many rows.
        let sql = "DELETE FROM attack_counters WHERE rowid IN \
            (SELECT rowid FROM attack_counters WHERE expires_at < $1 LIMIT $2)";
        let mut total = 0;
        loop {
            let n = self
                .exec(
                    "attack counter purge",
                    sql,
                    &[Int(before), Int(PURGE_BATCH)],
                )
                .await?;
            total += n;
            if n < PURGE_BATCH as u64 {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }
}
