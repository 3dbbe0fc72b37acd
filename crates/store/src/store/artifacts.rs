//! Short-lived grant artifacts (single use by one conditional statement, batched purge) and
//! the attack-protection counters.

use super::*;

/// The artifact columns, in the order `artifact_args` binds them.
macro_rules! artifact_columns {
    () => {
        "tenant_id, kind, id_hash, family, client_id, user_id, payload, created_at, expires_at, consumed_at"
    };
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

/// How many expired artifacts one purge statement deletes: small enough that the write lock
/// (SQLite) or the row locks (PostgreSQL) are held for milliseconds, not the whole backlog.
const PURGE_BATCH: i64 = 500;

#[async_trait]
impl ArtifactStore for SqlStore {
    async fn insert_artifact(&self, a: &Artifact) -> StoreResult<()> {
        let sql = concat!(
            "INSERT INTO artifacts (",
            artifact_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        let payload = encode(&a.payload)?;
        let args = [
            Text(&a.tenant_id),
            Text(a.kind.as_str()),
            Text(&a.id_hash),
            Text(&a.family),
            Arg::OptText(a.client_id.as_deref()),
            Arg::OptText(a.user_id.as_deref()),
            Text(&payload),
            Int(a.created_at),
            Int(a.expires_at),
            Arg::OptInt(a.consumed_at),
        ];
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
        let args = [Text(tenant), Text(user_id)];
        let mut n = self.exec("user's artifacts", sql, &args).await?;
        if self.is_postgres() {
            // As for a family: a rotation that committed while the first DELETE ran is caught
            // by the second.
            n += self.exec("user's artifacts", sql, &args).await?;
        }
        Ok(n)
    }

    async fn delete_family(&self, tenant: &str, family: &str) -> StoreResult<u64> {
        let sql = "DELETE FROM artifacts WHERE tenant_id = $1 AND family = $2";
        let args = [Text(tenant), Text(family)];
        let mut n = self.exec("artifact family", sql, &args).await?;
        if self.is_postgres() {
            // A PostgreSQL statement sees the rows committed when it started. A redemption
            // racing with this revocation may commit new tokens of the family while the first
            // DELETE runs; it then checks for its code (`revoke_if_replayed`). If that check
            // still saw the code, the first DELETE had not committed yet, so this second one
            // starts after the tokens were committed and removes them. (SQLite runs one writer
            // at a time: one statement is enough.)
            n += self.exec("artifact family", sql, &args).await?;
        }
        Ok(n)
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
