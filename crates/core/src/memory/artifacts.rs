//! The in-memory store's grant artifacts and attack-protection counters.

use async_trait::async_trait;

use super::MemoryStore;
use crate::model::{Artifact, ArtifactKind};
use crate::store::*;

fn same(a: &Artifact, tenant: &str, kind: ArtifactKind, id_hash: &str) -> bool {
    a.tenant_id == tenant && a.kind == kind && a.id_hash == id_hash
}

#[async_trait]
impl ArtifactStore for MemoryStore {
    async fn commit_grant(&self, w: &GrantWrite<'_>) -> StoreResult<bool> {
        let mut g = self.lock();
        for a in w.issue {
            if g.artifacts
                .iter()
                .any(|x| same(x, &a.tenant_id, a.kind, &a.id_hash))
            {
                return Err(StoreError::Conflict(a.kind.as_str().to_owned()));
            }
        }
        if let Some(r) = w.redeem {
            let found = g.artifacts.iter_mut().find(|a| {
                same(a, w.tenant, r.kind, r.id_hash)
                    && a.expires_at > r.now
                    && (a.consumed_at.is_none() == (r.how == RedeemHow::Consume))
            });
            let Some(source) = found else {
                return Ok(false);
            };
            if r.how == RedeemHow::Consume {
                source.consumed_at = Some(r.now);
            }
        }
        g.artifacts.extend(w.issue.iter().cloned());
        Ok(true)
    }
    async fn insert_artifact(&self, a: &Artifact) -> StoreResult<()> {
        let mut g = self.lock();
        if g.artifacts
            .iter()
            .any(|x| same(x, &a.tenant_id, a.kind, &a.id_hash))
        {
            return Err(StoreError::Conflict(a.kind.as_str().to_owned()));
        }
        g.artifacts.push(a.clone());
        Ok(())
    }
    async fn artifact(
        &self,
        tenant: &str,
        kind: ArtifactKind,
        id_hash: &str,
    ) -> StoreResult<Option<Artifact>> {
        let g = self.lock();
        Ok(g.artifacts
            .iter()
            .find(|a| same(a, tenant, kind, id_hash))
            .cloned())
    }
    async fn consume_artifact(
        &self,
        tenant: &str,
        kind: ArtifactKind,
        id_hash: &str,
        now: i64,
    ) -> StoreResult<Option<Artifact>> {
        let mut g = self.lock();
        let found = g
            .artifacts
            .iter_mut()
            .find(|a| same(a, tenant, kind, id_hash) && a.is_live(now));
        Ok(found.map(|a| {
            a.consumed_at = Some(now);
            a.clone()
        }))
    }
    async fn extend_artifact(
        &self,
        tenant: &str,
        kind: ArtifactKind,
        id_hash: &str,
        expires_at: i64,
    ) -> StoreResult<bool> {
        let mut g = self.lock();
        let found = g
            .artifacts
            .iter_mut()
            .find(|a| same(a, tenant, kind, id_hash));
        Ok(found.map(|a| a.expires_at = expires_at).is_some())
    }
    async fn delete_artifact(
        &self,
        tenant: &str,
        kind: ArtifactKind,
        id_hash: &str,
    ) -> StoreResult<bool> {
        let mut g = self.lock();
        let before = g.artifacts.len();
        g.artifacts.retain(|a| !same(a, tenant, kind, id_hash));
        Ok(g.artifacts.len() != before)
    }
    async fn delete_family(&self, tenant: &str, family: &str) -> StoreResult<u64> {
        let mut g = self.lock();
        let before = g.artifacts.len();
        g.artifacts
            .retain(|a| !(a.tenant_id == tenant && a.family == family));
        Ok((before - g.artifacts.len()) as u64)
    }
    async fn delete_user_artifacts(&self, tenant: &str, user_id: &str) -> StoreResult<u64> {
        let mut g = self.lock();
        let before = g.artifacts.len();
        g.artifacts
            .retain(|a| !(a.tenant_id == tenant && a.user_id.as_deref() == Some(user_id)));
        Ok((before - g.artifacts.len()) as u64)
    }
    async fn purge_artifacts(&self, before: i64) -> StoreResult<u64> {
        let mut g = self.lock();
        let n = g.artifacts.len();
        g.artifacts.retain(|a| a.expires_at >= before);
        Ok((n - g.artifacts.len()) as u64)
    }
}

#[async_trait]
impl CounterStore for MemoryStore {
    async fn hit_counter(
        &self,
        tenant: &str,
        kind: CounterKind,
        subject: &str,
        ip: &str,
        rule: CounterRule,
        now: i64,
    ) -> StoreResult<Counter> {
        let mut g = self.lock();
        let key = (tenant.to_owned(), kind, subject.to_owned(), ip.to_owned());
        let c = g.counters.entry(key).or_insert(Counter {
            count: 0,
            expires_at: now,
        });
        if c.expires_at <= now {
            *c = Counter {
                count: 0,
                expires_at: now + rule.window,
            };
        }
        c.count += 1;
        if c.count == rule.limit {
            c.expires_at = c.expires_at.max(now + rule.block);
        }
        Ok(*c)
    }
    async fn counter(
        &self,
        tenant: &str,
        kind: CounterKind,
        subject: &str,
        ip: &str,
    ) -> StoreResult<Option<Counter>> {
        let key = (tenant.to_owned(), kind, subject.to_owned(), ip.to_owned());
        Ok(self.lock().counters.get(&key).copied())
    }
    async fn subject_counters(
        &self,
        tenant: &str,
        kind: CounterKind,
        subject: &str,
        now: i64,
    ) -> StoreResult<Vec<(String, Counter)>> {
        let mut out: Vec<(String, Counter)> = self
            .lock()
            .counters
            .iter()
            .filter(|((t, k, s, _), c)| {
                t == tenant && *k == kind && s == subject && c.expires_at > now
            })
            .map(|((_, _, _, ip), c)| (ip.clone(), *c))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
    async fn clear_counters(
        &self,
        tenant: &str,
        kind: CounterKind,
        subject: &str,
        ip: Option<&str>,
    ) -> StoreResult<u64> {
        let mut g = self.lock();
        let before = g.counters.len();
        g.counters.retain(|(t, k, s, i), _| {
            !(t == tenant && *k == kind && s == subject && ip.is_none_or(|ip| ip == i))
        });
        Ok((before - g.counters.len()) as u64)
    }
    async fn purge_counters(&self, before: i64) -> StoreResult<u64> {
        let mut g = self.lock();
        let n = g.counters.len();
        g.counters.retain(|_, c| c.expires_at >= before);
        Ok((n - g.counters.len()) as u64)
    }
}
