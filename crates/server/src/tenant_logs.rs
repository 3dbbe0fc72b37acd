//! Tenant log events off the request path: a request hands its event to an unbounded queue
//! (never waits, never drops) and a writer task stores them in batches, every 100 ms or 500
//! events, one multi-row insert each. `close` stores what is queued before the store closes,
//! so a clean shutdown loses no acknowledged event.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use tessera_core::{Store, model::LogEvent};
use tokio::{sync::mpsc, task::JoinHandle};

/// The most events one write takes, and how long the writer gathers a batch.
const BATCH: usize = 500;
const GATHER: Duration = Duration::from_millis(100);

enum Msg {
    Event(Box<LogEvent>),
    Close,
}

#[derive(Clone)]
pub struct TenantLogs {
    /// `false` when the `tenant_logs` setting is off: events are dropped unseen.
    on: bool,
    tx: mpsc::UnboundedSender<Msg>,
    writer: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl TenantLogs {
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write_batches(store, rx));
        Self {
            on: true,
            tx,
            writer: Arc::new(Mutex::new(Some(writer))),
        }
    }

    /// Stores nothing (the `tenant_logs = false` setting).
    pub fn off(mut self) -> Self {
        self.on = false;
        self
    }

    /// Queues an event; the request goes on at once.
    pub fn emit(&self, e: LogEvent) {
        if !self.on {
            return;
        }
        if self.tx.send(Msg::Event(Box::new(e))).is_err() {
            tracing::warn!("a tenant log event came after shutdown and was not stored");
        }
    }

    /// Stores every queued event and stops the writer.
    pub async fn close(&self) {
        let _ = self.tx.send(Msg::Close);
        let writer = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(w) = writer {
            let _ = w.await;
        }
    }
}

async fn write_batches(store: Arc<dyn Store>, mut rx: mpsc::UnboundedReceiver<Msg>) {
    let mut closing = false;
    while !closing {
        let mut batch = match rx.recv().await {
            Some(Msg::Event(e)) => vec![*e],
            Some(Msg::Close) | None => break,
        };
        let deadline = tokio::time::Instant::now() + GATHER;
        while batch.len() < BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(Msg::Event(e))) => batch.push(*e),
                Ok(Some(Msg::Close)) | Ok(None) => {
                    closing = true;
                    break;
                }
                Err(_) => break,
            }
        }
        store_batch(store.as_ref(), &batch).await;
    }
    // Whatever is still queued.
    let mut rest = Vec::new();
    while let Ok(m) = rx.try_recv() {
        if let Msg::Event(e) = m {
            rest.push(*e);
        }
    }
    for chunk in rest.chunks(BATCH) {
        store_batch(store.as_ref(), chunk).await;
    }
}

/// Three tries, then the events are reported in the process log (never silently lost).
async fn store_batch(store: &dyn Store, batch: &[LogEvent]) {
    for attempt in 1..=3 {
        match store.append_logs(batch).await {
            Ok(()) => return,
            Err(e) if attempt < 3 => {
                tracing::warn!(error = %e, events = batch.len(), attempt, "storing tenant log events failed; trying again");
                tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
            }
            Err(e) => {
                for ev in batch {
                    tracing::error!(error = %e, log_id = %ev.log_id, r#type = %ev.kind, description = %ev.description, "tenant log event not stored");
                }
            }
        }
    }
}
