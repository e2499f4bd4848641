//! The request log's queue: entries handed over on the request path and written in batches by
//! one task, so logging costs a request no database round trip. The queue is bounded by the
//! memory its entries take, not by their number; when it is full, new entries are dropped
//! (counted in the server log) rather than slow SCIM down.

use crate::store::{LogEntry, Store};
use std::mem::size_of;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Memory the entries waiting or being written may take before new ones are dropped. A GET's
/// entry takes about 500 bytes, so some 65,000 of those fit: a batch may be held up for 1.3 s
/// under 50,000 requests/s without a loss. The bound was 20,000 entries of any size: a PATCH's
/// entry may take 7 KB (100 member ids, a summary of 1 KB), and before summaries were bounded
/// 300 KB, so entries queued while the database was out of reach could take gigabytes; and
/// under floods of cheap requests PostgreSQL's batches were held up long enough for a tenth to
/// a fifth of the entries to be dropped (BENCHMARKS.md, the fifty-sixth round).
const QUEUE_BYTES: usize = 32 << 20;
/// Entries per write transaction.
const BATCH: usize = 5_000;
/// How long entries gather before they are written: one commit (one fsync on SQLite) per
/// interval instead of one per request, so the log barely competes with SCIM writes for the
/// writer. Entries appear on the admin page this much later.
const FLUSH_INTERVAL: Duration = Duration::from_millis(250);

/// The request path's handle on the log: cheap to clone, never blocks.
#[derive(Clone)]
pub struct RequestLog {
    queue: Option<mpsc::UnboundedSender<LogEntry>>,
    /// Bytes of the entries queued or being written (`footprint`), against `budget`.
    queued: Arc<AtomicUsize>,
    budget: usize,
    dropped: Arc<AtomicU64>,
    /// Entry ids: times are stored to the millisecond (the injected clock's precision), so
    /// entries of one millisecond are ordered by an id that grows in record order. It starts
    /// at the start-up time in microseconds so a restarted scimd continues above it; a random
    /// suffix keeps replicas' ids apart.
    next_id: Arc<AtomicU64>,
}

/// The writer's end of the queue.
pub struct LogQueue {
    rx: mpsc::UnboundedReceiver<LogEntry>,
    queued: Arc<AtomicUsize>,
}

impl RequestLog {
    /// A log that records nothing (request logging switched off).
    pub fn disabled() -> RequestLog {
        RequestLog {
            queue: None,
            queued: Arc::new(AtomicUsize::new(0)),
            budget: 0,
            dropped: Arc::new(AtomicU64::new(0)),
            next_id: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The log and the queue its writer task drains.
    pub fn new() -> (RequestLog, LogQueue) {
        RequestLog::with_budget(QUEUE_BYTES)
    }

    pub(crate) fn with_budget(budget: usize) -> (RequestLog, LogQueue) {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let start = chrono::Utc::now().timestamp_micros().max(0) as u64;
        let log = RequestLog {
            queue: Some(tx),
            queued: queued.clone(),
            budget,
            dropped: Arc::new(AtomicU64::new(0)),
            next_id: Arc::new(AtomicU64::new(start)),
        };
        (log, LogQueue { rx, queued })
    }

    pub fn record(&self, mut entry: LogEntry) {
        let Some(queue) = &self.queue else { return };
        if !crate::tenancy::is_tenant_name(&entry.tenant_name) {
            // No tenant has it, so its entry would be dropped when written. Queued, such names
            // (a path segment can be 60 KB) filled the queue with 600 MB and crowded out the
            // entries of real tenants.
            return;
        }
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        entry.id = format!("{n:016x}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        without_nul(&mut entry);
        let size = footprint(&entry);
        if self.queued.fetch_add(size, Ordering::Relaxed) + size > self.budget {
            self.queued.fetch_sub(size, Ordering::Relaxed);
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "request log queue full; entries dropped");
            }
        } else if queue.send(entry).is_err() {
            // The writer has stopped: scimd is shutting down.
            self.queued.fetch_sub(size, Ordering::Relaxed);
        }
    }

    /// Entries dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl LogQueue {
    /// The next queued entry, if one is waiting. Its memory still counts against the queue's
    /// budget until `release`.
    pub fn try_take(&mut self) -> Option<LogEntry> {
        self.rx.try_recv().ok()
    }

    /// Adds to `batch` the entries waiting now, until it holds a batch's worth.
    fn take_waiting(&mut self, batch: &mut Vec<LogEntry>) {
        while batch.len() < BATCH {
            let Some(entry) = self.try_take() else { break };
            batch.push(entry);
        }
    }

    /// Frees what `entries` took of the queue's budget, once they are written or given up on.
    pub fn release(&self, entries: &[LogEntry]) {
        self.queued.fetch_sub(entries.iter().map(footprint).sum(), Ordering::Relaxed);
    }
}

/// `entry`'s text with U+0000 replaced by U+FFFD. PostgreSQL's text cannot hold it, and one
/// such entry failed its whole batch: every entry written with it, of every tenant, was lost.
/// A filter carries it as the client sent it (`?filter=%00`), and a request is logged whether
/// or not its credential is valid, so anyone who could reach a tenant's Base URL could keep
/// PostgreSQL's request log empty with four requests a second.
fn without_nul(entry: &mut LogEntry) {
    let LogEntry { method, path, filter, patch_summary, user_agent, compat, scim_type, request_id, .. } = entry;
    let optional = [filter, patch_summary, user_agent, compat, scim_type, request_id].into_iter().flatten();
    for text in [method, path].into_iter().chain(optional) {
        if text.contains('\0') {
            *text = text.replace('\0', "\u{FFFD}");
        }
    }
}

/// What an entry holds in memory: the same figure when it is queued and when it is released
/// (nothing changes an entry in between).
pub(super) fn footprint(e: &LogEntry) -> usize {
    let text = |s: &Option<String>| s.as_ref().map_or(0, String::capacity);
    size_of::<LogEntry>()
        + e.id.capacity()
        + e.tenant_name.capacity()
        + e.method.capacity()
        + e.path.capacity()
        + [&e.filter, &e.patch_summary, &e.user_agent, &e.compat, &e.scim_type, &e.request_id]
            .into_iter()
            .map(text)
            .sum::<usize>()
        + e.resource_ids.capacity() * size_of::<String>()
        + e.resource_ids.iter().map(String::capacity).sum::<usize>()
}

/// Writes queued entries in batches until `shutdown`, then writes what is still queued.
pub async fn write_entries(
    store: Store,
    queue: Arc<tokio::sync::Mutex<LogQueue>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut queue = queue.lock_owned().await;
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let stopping = *shutdown.borrow();
        let received = if stopping {
            queue.take_waiting(&mut batch);
            batch.len()
        } else {
            tokio::select! {
                n = queue.rx.recv_many(&mut batch, BATCH) => n,
                _ = shutdown.changed() => continue,
            }
        };
        if received == 0 {
            return;
        }
        if !stopping && batch.len() < BATCH {
            // Gather what arrives meanwhile. Not when a whole batch waits already: the pause
            // capped the log at 5,000 entries per 250 ms plus a write, and under 15,000 reads/s
            // the queue filled and entries were dropped.
            tokio::select! {
                _ = tokio::time::sleep(FLUSH_INTERVAL) => {}
                _ = shutdown.changed() => {}
            }
            queue.take_waiting(&mut batch);
        }
        let entries = Arc::new(std::mem::take(&mut batch));
        let written = {
            let entries = entries.clone();
            store.write_request_log_async(move |tx| tx.append_request_log(&entries)).await
        };
        queue.release(&entries);
        if let Err(e) = written {
            // A full disk or an outage fails every batch, four a second: say so a few times a minute.
            static THROTTLE: crate::telemetry::LogThrottle = crate::telemetry::LogThrottle::new(5_000);
            if let Some(suppressed) = THROTTLE.admit() {
                tracing::warn!(error = %e, suppressed, "request log entries could not be written");
            }
        }
    }
}
