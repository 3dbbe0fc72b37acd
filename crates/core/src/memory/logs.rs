//! The in-memory store's tenant log events.

use async_trait::async_trait;

use super::MemoryStore;
use crate::model::{LogEvent, LogQuery};
use crate::store::*;

#[async_trait]
impl LogStore for MemoryStore {
    async fn append_logs(&self, events: &[LogEvent]) -> StoreResult<()> {
        self.lock().logs.extend_from_slice(events);
        Ok(())
    }

    async fn logs(&self, tenant: &str, q: &LogQuery) -> StoreResult<Vec<LogEvent>> {
        let g = self.lock();
        let mut found: Vec<&LogEvent> = g
            .logs
            .iter()
            .filter(|e| e.tenant_id == tenant && q.matches(e))
            .collect();
        found.sort_by(|a, b| a.log_id.cmp(&b.log_id));
        if q.after.is_none() {
            found.reverse();
        }
        Ok(found
            .into_iter()
            .skip(usize::try_from(q.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(q.limit).unwrap_or(usize::MAX))
            .cloned()
            .collect())
    }

    async fn count_logs(&self, tenant: &str, q: &LogQuery) -> StoreResult<u64> {
        Ok(self
            .lock()
            .logs
            .iter()
            .filter(|e| e.tenant_id == tenant && q.matches(e))
            .count() as u64)
    }

    async fn log(&self, tenant: &str, log_id: &str) -> StoreResult<Option<LogEvent>> {
        Ok(self
            .lock()
            .logs
            .iter()
            .find(|e| e.tenant_id == tenant && e.log_id == log_id)
            .cloned())
    }

    async fn purge_logs(&self, before: i64) -> StoreResult<u64> {
        let mut g = self.lock();
        let n = g.logs.len();
        g.logs.retain(|e| e.date >= before);
        Ok((n - g.logs.len()) as u64)
    }
}
