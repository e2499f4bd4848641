//! The request log ("activity"): what each IdP client did to a tenant. Entries are handed to
//! a bounded queue on the request path and written in batches by one task, so logging costs a
//! request no database round trip; a full queue drops entries (counted in the server log)
//! rather than slow SCIM down. Pruned after the retention period.
//!
//! Free of secrets by construction: an entry is built from the method, path, the `filter`
//! parameter, the User-Agent, the response status, and the op/path names of a PATCH — never
//! a header value but the User-Agent, never a body value.

use crate::clock::{format_datetime, Clock};
use crate::error::{Error, Quoted, Result};
use crate::store::{LogEntry, LogFilter, LogRow, Store};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Entries waiting to be written before new ones are dropped.
const QUEUE: usize = 20_000;
/// Entries per write transaction.
const BATCH: usize = 5_000;
/// How long entries gather before they are written: one commit (one fsync on SQLite) per
/// interval instead of one per request, so the log barely competes with SCIM writes for the
/// writer. Entries appear on the admin page this much later.
const FLUSH_INTERVAL: Duration = Duration::from_millis(250);
/// Rows deleted per pruning transaction.
const PRUNE_BATCH: i64 = 5_000;

/// The clients the log recognises from their User-Agent.
pub const CLIENTS: &[&str] = &["Okta", "Entra ID", "OneLogin", "JumpCloud", "Ping", "other"];

/// Names the IdP behind a request from its User-Agent: `Okta SCIM Client 1.0.0` (Okta's
/// provisioning agent), `OKTA SCIM Integration` (its test suite), Microsoft's provisioning
/// service (`…Azure…`, `…AAD…`, `Microsoft…`, `…Entra…`), and the others by name.
pub fn client_from_user_agent(user_agent: Option<&str>) -> &'static str {
    let ua = user_agent.unwrap_or("").to_ascii_lowercase();
    let has = |needle: &str| ua.contains(needle);
    if has("okta") {
        "Okta"
    } else if has("azure") || has("aad") || has("microsoft") || has("entra") {
        "Entra ID"
    } else if has("onelogin") {
        "OneLogin"
    } else if has("jumpcloud") {
        "JumpCloud"
    } else if has("ping") {
        "Ping"
    } else {
        "other"
    }
}

/// A PATCH body reduced to its operations' op and path (`replace active; add members (2)`),
/// or the attribute names of a path-less value. Values are never included.
pub fn patch_summary(body: &Value) -> Option<String> {
    let ops = body.get("Operations").or_else(|| body.get("operations"))?.as_array()?;
    let parts: Vec<String> = ops
        .iter()
        .map(|op| {
            let name = op.get("op").and_then(Value::as_str).unwrap_or("?").to_ascii_lowercase();
            let target = match op.get("path").and_then(Value::as_str) {
                Some(path) => clipped(path, 200),
                None => match op.get("value") {
                    Some(Value::Object(m)) => format!("({})", m.keys().cloned().collect::<Vec<_>>().join(", ")),
                    _ => "(no path)".to_string(),
                },
            };
            match op.get("value") {
                Some(Value::Array(items)) => format!("{name} {target} ({})", items.len()),
                _ => format!("{name} {target}"),
            }
        })
        .collect();
    Some(parts.join("; "))
}

/// Member ids a PATCH names in `value` (`[{"value": id}]`), for the affected resources.
pub fn patch_member_ids(body: &Value) -> Vec<String> {
    let Some(ops) = body.get("Operations").or_else(|| body.get("operations")).and_then(Value::as_array) else {
        return Vec::new();
    };
    ops.iter()
        .filter_map(|op| op.get("value"))
        .flat_map(|v| match v {
            Value::Array(items) => items.iter().collect::<Vec<_>>(),
            Value::Object(m) => {
                m.get("members").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default()
            }
            _ => Vec::new(),
        })
        .filter_map(|m| m.get("value").and_then(Value::as_str))
        .filter(|id| is_resource_id(id))
        .map(str::to_string)
        .take(100)
        .collect()
}

/// The first `max_chars` characters of `s`. Copied whole when it cannot be longer, which is
/// nearly always: collecting a request's path, filter and User-Agent a character at a time
/// was 2% of the instructions of a GET by id.
pub fn clipped(s: &str, max_chars: usize) -> String {
    clipped_str(s, max_chars).to_string()
}

/// `clipped` without the copy.
pub fn clipped_str(s: &str, max_chars: usize) -> &str {
    // A character is at least one byte.
    if s.len() <= max_chars {
        return s;
    }
    s.char_indices().nth(max_chars).map_or(s, |(end, _)| &s[..end])
}

/// What a resource id filter may contain (scimd ids are UUIDs).
pub fn is_resource_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The request path's handle on the log: cheap to clone, never blocks.
#[derive(Clone)]
pub struct RequestLog {
    queue: Option<mpsc::Sender<LogEntry>>,
    dropped: Arc<AtomicU64>,
    /// Entry ids: times are stored to the millisecond (the injected clock's precision), so
    /// entries of one millisecond are ordered by an id that grows in record order. It starts
    /// at the start-up time in microseconds so a restarted scimd continues above it; a random
    /// suffix keeps replicas' ids apart.
    next_id: Arc<AtomicU64>,
}

impl RequestLog {
    /// A log that records nothing (request logging switched off).
    pub fn disabled() -> RequestLog {
        RequestLog { queue: None, dropped: Arc::new(AtomicU64::new(0)), next_id: Arc::new(AtomicU64::new(0)) }
    }

    /// The log and the receiving end its writer task drains.
    pub fn new() -> (RequestLog, mpsc::Receiver<LogEntry>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let start = chrono::Utc::now().timestamp_micros().max(0) as u64;
        let log = RequestLog {
            queue: Some(tx),
            dropped: Arc::new(AtomicU64::new(0)),
            next_id: Arc::new(AtomicU64::new(start)),
        };
        (log, rx)
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
        if queue.try_send(entry).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "request log queue full; entries dropped");
            }
        }
    }
}

/// Writes queued entries in batches until `shutdown`, then writes what is still queued.
pub async fn write_entries(
    store: Store,
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<LogEntry>>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut rx = queue.lock_owned().await;
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let stopping = *shutdown.borrow();
        let received = if stopping {
            while batch.len() < BATCH {
                let Ok(entry) = rx.try_recv() else { break };
                batch.push(entry);
            }
            batch.len()
        } else {
            tokio::select! {
                n = rx.recv_many(&mut batch, BATCH) => n,
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
            while batch.len() < BATCH {
                let Ok(entry) = rx.try_recv() else { break };
                batch.push(entry);
            }
        }
        let entries = std::mem::take(&mut batch);
        if let Err(e) = store.write_request_log_async(move |tx| tx.append_request_log(&entries)).await {
            // A full disk or an outage fails every batch, four a second: say so a few times a minute.
            static THROTTLE: crate::telemetry::LogThrottle = crate::telemetry::LogThrottle::new(5_000);
            if let Some(suppressed) = THROTTLE.admit() {
                tracing::warn!(error = %e, suppressed, "request log entries could not be written");
            }
        }
    }
}

/// Deletes entries older than `retention` now and then every `every`, until `shutdown`.
pub async fn prune(
    store: Store,
    clock: Arc<dyn Clock>,
    retention: Duration,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    while !*shutdown.borrow() {
        // A retention longer than the calendar goes back keeps everything.
        let Some(cutoff) = clock.now().checked_sub_signed(retention) else { return };
        loop {
            let pruned = store.write_request_log_async(move |tx| tx.prune_request_log(cutoff, PRUNE_BATCH)).await;
            match pruned {
                Ok(n) if n as i64 >= PRUNE_BATCH => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "request log pruning failed");
                    break;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
    }
}

fn given(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

/// A page of a tenant's log, newest first.
pub fn list(store: &Store, tenant: &str, filter: &LogFilter) -> Result<Vec<LogRow>> {
    store.read(|tx| {
        let t = crate::tenancy::named(tx, tenant)?;
        tx.request_log(t.id, filter)
    })
}

/// The admin page's and API's filter parameters, as sent.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct LogQuery {
    pub status: Option<String>,
    pub client: Option<String>,
    pub resource: Option<String>,
    pub before: Option<String>,
    pub limit: Option<i64>,
}

impl LogQuery {
    pub fn filter(&self) -> Result<LogFilter> {
        parse_filter(
            self.status.as_deref(),
            self.client.as_deref(),
            self.resource.as_deref(),
            self.before.as_deref(),
            self.limit,
        )
    }
}

/// Reads the admin page's and API's filter parameters: `status` (404 or 4xx), `client`,
/// `resource`, `before` (an entry's `cursor`: the next page starts after it) and `limit`
/// (≤ 500, default 100).
fn parse_filter(
    status: Option<&str>,
    client: Option<&str>,
    resource: Option<&str>,
    before: Option<&str>,
    limit: Option<i64>,
) -> Result<LogFilter> {
    let mut f = LogFilter { limit: limit.unwrap_or(100).clamp(1, 500), ..LogFilter::default() };
    if let Some(s) = given(status) {
        let bad =
            || Error::invalid_value(format!("status {s} is not a status code (404) or class (4xx)", s = Quoted(s)));
        match s.to_ascii_lowercase().strip_suffix("xx") {
            Some(class) => f.status_class = Some(class.parse().ok().filter(|c| (1..=5).contains(c)).ok_or_else(bad)?),
            None => f.status = Some(s.parse().ok().filter(|c| (100..=599).contains(c)).ok_or_else(bad)?),
        }
    }
    if let Some(c) = given(client) {
        let known = CLIENTS.iter().find(|k| k.eq_ignore_ascii_case(c));
        f.client = Some(
            known
                .ok_or_else(|| Error::invalid_value(format!("client must be one of {}", CLIENTS.join(", "))))?
                .to_string(),
        );
    }
    if let Some(r) = given(resource) {
        if !is_resource_id(r) {
            return Err(Error::invalid_value("resource must be a resource id"));
        }
        f.resource = Some(r.to_string());
    }
    if let Some(b) = given(before) {
        let bad = || Error::invalid_value("before must be the cursor of a log entry");
        let (at, id) = b.split_once('_').ok_or_else(bad)?;
        let at = chrono::DateTime::parse_from_rfc3339(at).map_err(|_| bad())?.with_timezone(&chrono::Utc);
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/') {
            return Err(bad());
        }
        f.before = Some((at, id.to_string()));
    }
    Ok(f)
}

/// Where the page after this entry starts (`before=`).
pub fn cursor(r: &LogRow) -> String {
    format!("{}_{}", format_datetime(r.at), r.id)
}

pub fn row_json(r: &LogRow) -> Value {
    json!({
        "cursor": cursor(r),
        "at": format_datetime(r.at),
        "method": r.method,
        "path": r.path,
        "filter": r.filter,
        "patch": r.patch_summary,
        "client": r.client,
        "userAgent": r.user_agent,
        "compat": r.compat.as_deref().map(|c| c.split(',').collect::<Vec<_>>()),
        "status": r.status,
        "scimType": r.scim_type,
        "latencyMs": r.latency_us as f64 / 1000.0,
        "resources": r.resource_ids,
        "requestId": r.request_id,
    })
}

#[cfg(test)]
#[path = "activity_tests.rs"]
mod tests;
