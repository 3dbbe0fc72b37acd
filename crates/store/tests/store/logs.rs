//! Tenant log events: a batch stored at once, found by type, user and application, newest
//! first or after a checkpoint, counted, and purged by date.

use super::*;
use tessera_core::model::{LogEvent, LogQuery};

fn event(i: i64, kind: &str, user: Option<&str>) -> LogEvent {
    let mut e = LogEvent::new(T, kind, format!("event {i}"), 1_000_000 + i);
    e.log_id = format!("{:013x}{i:04}", 1_000_000 + i);
    e.user_id = user.map(str::to_owned);
    e.client_id = Some("c1".into());
    e
}

pub(crate) async fn logs_are_found_paged_counted_and_purged(s: &dyn Store) {
    let batch: Vec<LogEvent> = (0..10)
        .map(|i| {
            event(
                i,
                if i % 2 == 0 { "seccft" } else { "fp" },
                (i < 4).then_some("auth0|a"),
            )
        })
        .collect();
    s.append_logs(&batch).await.unwrap();
    let mut other = event(99, "seccft", None);
    other.tenant_id = "t2".into();
    s.append_logs(&[other]).await.unwrap();
    let ids = |v: Vec<LogEvent>| v.into_iter().map(|e| e.description).collect::<Vec<_>>();
    let q = |f: fn(&mut LogQuery)| {
        let mut q = LogQuery {
            limit: 3,
            ..Default::default()
        };
        f(&mut q);
        q
    };
    assert_eq!(
        ids(s.logs(T, &q(|_| {})).await.unwrap()),
        ["event 9", "event 8", "event 7"],
        "newest first"
    );
    assert_eq!(
        ids(s
            .logs(T, &q(|q| q.kinds = vec!["fp".into()]))
            .await
            .unwrap()),
        ["event 9", "event 7", "event 5"]
    );
    assert_eq!(
        ids(s
            .logs(T, &q(|q| q.user_id = Some("auth0|a".into())))
            .await
            .unwrap()),
        ["event 3", "event 2", "event 1"]
    );
    let after = batch[6].log_id.clone();
    let mut checkpoint = q(|_| {});
    checkpoint.after = Some(after);
    assert_eq!(
        ids(s.logs(T, &checkpoint).await.unwrap()),
        ["event 7", "event 8", "event 9"],
        "after a checkpoint, oldest first"
    );
    let mut offset = q(|_| {});
    offset.offset = 8;
    assert_eq!(
        ids(s.logs(T, &offset).await.unwrap()),
        ["event 1", "event 0"]
    );
    assert_eq!(
        s.count_logs(T, &q(|q| q.kinds = vec!["seccft".into()]))
            .await
            .unwrap(),
        5
    );
    let one = s.log(T, &batch[3].log_id).await.unwrap().unwrap();
    assert_eq!(one, batch[3]);
    assert!(s.log("t2", &batch[3].log_id).await.unwrap().is_none());
    // Purge: every tenant's events before the date.
    assert_eq!(s.purge_logs(1_000_005).await.unwrap(), 5);
    assert_eq!(s.count_logs(T, &q(|_| {})).await.unwrap(), 5);
    assert_eq!(s.count_logs("t2", &q(|_| {})).await.unwrap(), 1);
}
