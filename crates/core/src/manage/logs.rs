//! Tenant logs (`GET /api/v2/logs`, `tessera logs`): events found by type, user, application,
//! newest first or after a checkpoint, in pages. `q` takes `type:CODE`, `user_id:ID` and
//! `client_id:ID` terms joined with `AND` (a type may be given several times: any of them).

use super::*;
use crate::model::{LogEvent, LogQuery};

/// Parses the logs' `q`.
pub fn parse_log_query(q: &str) -> ManageResult<LogQuery> {
    let mut out = LogQuery::default();
    for term in q.split_whitespace().filter(|t| *t != "AND") {
        let (field, value) = term.split_once(':').ok_or_else(|| {
            ManageError::field(
                "q",
                format!("'{}': write field:value", term.escape_default()),
            )
        })?;
        let value = value.trim_matches('"').to_owned();
        if value.is_empty() {
            return Err(ManageError::field("q", format!("{field}: has no value")));
        }
        match field {
            "type" => out.kinds.push(value),
            "user_id" => out.user_id = Some(value),
            "client_id" => out.client_id = Some(value),
            other => {
                return Err(ManageError::field(
                    "q",
                    format!(
                        "cannot search logs by '{}': use type, user_id or client_id",
                        other.escape_default()
                    ),
                ));
            }
        }
    }
    Ok(out)
}

impl Manager<'_> {
    /// A page of the tenant's log events matching `q`.
    pub async fn list_logs(&self, q: &str, page: &PageRequest) -> ManageResult<Page<LogEvent>> {
        self.actor.require(&["read:logs"])?;
        let mut query = parse_log_query(q)?;
        let (start, limit) = match page {
            // `from` is a log id: the events after it, oldest first.
            PageRequest::Checkpoint { from, take } => {
                let (_, size) = PageRequest::Checkpoint {
                    from: None,
                    take: *take,
                }
                .window()?;
                query.after = from.clone();
                (0, size)
            }
            PageRequest::Offset { .. } => page.window()?,
        };
        query.offset = start;
        query.limit = limit + 1;
        let mut events = self.store.logs(self.tenant, &query).await?;
        let more = events.len() as u64 > limit;
        events.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next = match page {
            PageRequest::Checkpoint { .. } if more => events.last().map(|e| e.log_id.clone()),
            _ => None,
        };
        Ok(Page {
            items: events,
            start,
            limit,
            total: match page.wants_total() {
                true => Some(self.store.count_logs(self.tenant, &query).await?),
                false => None,
            },
            next,
        })
    }

    pub async fn get_log(&self, log_id: &str) -> ManageResult<LogEvent> {
        self.actor.require(&["read:logs"])?;
        self.store
            .log(self.tenant, log_id)
            .await?
            .ok_or_else(|| ManageError::NotFound(format!("no log event with id '{log_id}'")))
    }
}
