//! The request log ("activity"): what each IdP client did to a tenant. Entries are handed to
//! a queue bounded by their memory (`queue`) and written in batches, so logging costs a
//! request no database round trip. Pruned after the retention period.
//!
//! Free of secrets by construction: an entry is built from the method, path, the `filter`
//! parameter, the User-Agent, the response status, and the op/path names of a PATCH — never
//! a header value but the User-Agent, never a body value.

use crate::clock::{format_datetime, Clock};
use crate::error::{Error, Quoted, Result};
use crate::store::{LogFilter, LogRow, Store};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

mod queue;
#[cfg(test)]
use queue::footprint;
pub use queue::{write_entries, LogQueue, RequestLog};

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

/// The longest PATCH summary kept, in bytes, before its operations are counted instead of
/// named. A PATCH body may hold tens of thousands of operations (20,000 fit in 1 MB): unbounded,
/// one request's summary was 300 KB, stored, shown on the admin page, and held in the queue.
const SUMMARY_BYTES: usize = 1_000;

/// A PATCH body reduced to its operations' op and path (`replace active; add members (2)`),
/// or the attribute names of a path-less value. Values are never included. Past
/// `SUMMARY_BYTES` the rest are not named, and the summary ends `; … (20000 operations in all)`.
pub fn patch_summary(body: &Value) -> Option<String> {
    let ops = body.get("Operations").or_else(|| body.get("operations"))?.as_array()?;
    let mut summary = String::new();
    for op in ops {
        let part = operation_summary(op);
        let separator = if summary.is_empty() { "" } else { "; " };
        if summary.len() + separator.len() + part.len() > SUMMARY_BYTES {
            summary.push_str(separator);
            summary.push_str(&format!("… ({} operations in all)", ops.len()));
            break;
        }
        summary.push_str(separator);
        summary.push_str(&part);
    }
    Some(summary)
}

/// One operation's part of a PATCH summary: at most ~250 characters, whatever the client sent.
fn operation_summary(op: &Value) -> String {
    let name = clipped(op.get("op").and_then(Value::as_str).unwrap_or("?"), 20).to_ascii_lowercase();
    let target = match op.get("path").and_then(Value::as_str) {
        Some(path) => clipped(path, 200),
        None => match op.get("value") {
            Some(Value::Object(m)) => {
                let names = m.keys().take(50).map(String::as_str).collect::<Vec<_>>().join(", ");
                format!("({})", clipped_str(&names, 200))
            }
            _ => "(no path)".to_string(),
        },
    };
    match op.get("value") {
        Some(Value::Array(items)) => format!("{name} {target} ({})", items.len()),
        _ => format!("{name} {target}"),
    }
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
