//! The delivery worker: claims due streams (one per endpoint and tenant) under a lease, sends
//! their events in seq order as signed Standard Webhooks requests, and records progress,
//! retries with backoff and jitter, the failing state, and 410 Gone.
//!
//! At-least-once: progress is written after each batch, so a crash resends at most the
//! unrecorded part of a batch, with the same `webhook-id`. Nothing here runs on the request
//! path: SCIM requests only append to the outbox and wake this worker.

use super::backoff::retry_delay;
use super::{signing, EventFilter};
use crate::clock::{format_datetime, Clock};
use crate::error::{Error, Result};
use crate::store::{DueDelivery, EndpointRow, EventRow, Store};
use crate::tenancy::EventJson;
use awc::http::StatusCode;
use chrono::{DateTime, Utc};
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::Serialize;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

use super::settings::WebhookSettings;

/// Why an attempt failed.
#[derive(Debug)]
struct Failure {
    error: String,
    retry_after: Option<Duration>,
    /// 410 Gone: the receiver wants no more (Standard Webhooks: disable the endpoint).
    gone: bool,
}

impl Failure {
    /// A failure without a receiver's answer to go by.
    fn plain(error: String) -> Self {
        Failure { error, retry_after: None, gone: false }
    }
}

pub struct Worker {
    store: Store,
    clock: Arc<dyn Clock>,
    settings: WebhookSettings,
    /// This instance's name in leases.
    owner: String,
    client: awc::Client,
    vacuum: Arc<VacuumDue>,
}

/// Events this worker's numbering passes may move before it vacuums `pending_events`
/// (`Store::vacuum_pending_events`): each moved event leaves a dead row that every later pass
/// steps over until then. A pass over 1,000 dead rows costs about what the vacuum does.
const VACUUM_AFTER_EVENTS: i64 = 1_000;

/// Counts numbered events and says when enough have been numbered to vacuum.
#[derive(Default)]
struct VacuumDue {
    numbered: std::sync::atomic::AtomicI64,
}

impl VacuumDue {
    /// Adds `numbered`; true (and the count starts again) once it reaches `after`.
    fn add(&self, numbered: i64, after: i64) -> bool {
        use std::sync::atomic::Ordering;
        let total = self.numbered.fetch_add(numbered, Ordering::Relaxed) + numbered;
        if total < after {
            return false;
        }
        self.numbered.fetch_sub(total, Ordering::Relaxed);
        true
    }
}

impl Worker {
    pub fn new(store: Store, clock: Arc<dyn Clock>, settings: WebhookSettings) -> Worker {
        let connector = awc::Connector::new().timeout(settings.connect_timeout);
        let client = awc::Client::builder()
            .connector(connector)
            .timeout(settings.timeout)
            // Standard Webhooks: a 3xx is a failure; following it would also let a receiver
            // point scimd at another address.
            .disable_redirects()
            .add_default_header(("User-Agent", concat!("scimd-webhooks/", env!("CARGO_PKG_VERSION"))))
            .finish();
        let owner = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        Worker { store, clock, settings, owner, client, vacuum: Arc::default() }
    }

    /// Delivers until `shutdown` turns true; a stream in flight is finished and released.
    ///
    /// Streams run side by side, and a slot is filled again as soon as its stream ends: one
    /// tenant's long backlog (an IdP's first import, a replay) to a slow receiver never holds up
    /// another tenant's deactivation, which the host app acts on at once.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let worker = Rc::new(self);
        let wake = worker.store.events_committed();
        let mut purged_at: Option<Instant> = None;
        // Each stream is a task of its own, so that it goes on sending while this loop claims,
        // purges or pauses.
        let mut running = FuturesUnordered::new();
        while !*shutdown.borrow() {
            let free = worker.settings.concurrency.saturating_sub(running.len());
            if free > 0 {
                for c in worker.claim_or_log(free).await {
                    let (w, stop) = (worker.clone(), shutdown.clone());
                    running.push(actix_web::rt::spawn(async move { w.deliver_stream(c, &stop).await }));
                }
            }
            // Tenants are deleted rarely: looking once per poll interval is enough.
            if purged_at.is_none_or(|at| at.elapsed() >= worker.settings.poll_interval) {
                worker.purge_retired_tenants().await;
                purged_at = Some(Instant::now());
            }
            tokio::select! {
                Some(ended) = running.next(), if !running.is_empty() => log_panic(ended),
                _ = wake.notified() => {
                    tokio::select! {
                        _ = tokio::time::sleep(worker.settings.wake_pause) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                _ = tokio::time::sleep(worker.settings.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
        // Each stream sees the shutdown too: it records what it delivered and lets go.
        while let Some(ended) = running.next().await {
            log_panic(ended);
        }
    }

    /// Claims up to `limit` due streams; a failure (an outage, a full disk) is logged and
    /// claims nothing.
    async fn claim_or_log(&self, limit: usize) -> Vec<Claimed> {
        self.claim(limit).await.unwrap_or_else(|e| {
            // Through an outage or a full disk every poll fails: a line every 5 s.
            static THROTTLE: crate::telemetry::LogThrottle = crate::telemetry::LogThrottle::new(5_000);
            if let Some(suppressed) = THROTTLE.admit() {
                tracing::warn!(error = %e, suppressed, "webhook worker could not claim deliveries");
            }
            Vec::new()
        })
    }

    /// Removes deleted tenants whose streams have delivered everything (`tenant.deleted`
    /// last). Reads first, so an idle worker costs the writer nothing.
    async fn purge_retired_tenants(&self) {
        let store = self.store.clone();
        let purged = blocking(move || {
            if !store.read(|tx| tx.has_retired_tenants())? {
                return Ok(0);
            }
            store.write(|tx| tx.purge_retired_tenants())
        })
        .await;
        if let Err(e) = purged {
            tracing::warn!(error = %e, "deleted tenants could not be purged");
        }
    }

    async fn claim(&self, limit: usize) -> Result<Vec<Claimed>> {
        let (store, clock, owner) = (self.store.clone(), self.clock.clone(), self.owner.clone());
        let (limit, lease) = (limit as i64, self.settings.lease);
        let vacuum = self.vacuum.clone();
        blocking(move || {
            // A stream is due when the tenant's latest numbered event is past it.
            let numbered = store.number_events(None)?;
            if vacuum.add(numbered, VACUUM_AFTER_EVENTS) {
                if let Err(e) = store.vacuum_pending_events() {
                    tracing::warn!(error = %e, "pending events could not be vacuumed");
                }
            }
            let now = clock.now();
            let due = store.read(|tx| tx.due_webhook_deliveries(now, limit))?;
            let mut claimed = Vec::new();
            for d in due {
                let until = now + lease;
                let got = store.write(|tx| tx.claim_webhook_delivery(&d.endpoint_id, d.tenant, &owner, now, until))?;
                let Some((delivered_seq, attempts)) = got else { continue };
                let Some(endpoint) = store.read(|tx| tx.webhook_endpoint(&d.endpoint_id))? else { continue };
                claimed.push(Claimed { due: d, endpoint, delivered_seq, attempts, lease_until: until });
            }
            Ok(claimed)
        })
        .await
    }

    async fn deliver_stream(&self, mut c: Claimed, shutdown: &watch::Receiver<bool>) {
        if let Err(e) = self.try_deliver_stream(&mut c, shutdown).await {
            tracing::warn!(endpoint = %c.due.endpoint_id, tenant = %c.due.tenant_name, error = %e, "webhook delivery stopped");
        }
    }

    async fn try_deliver_stream(&self, c: &mut Claimed, shutdown: &watch::Receiver<bool>) -> Result<()> {
        let filter = EventFilter::parse(c.endpoint.event_types.as_deref())?;
        let held_since = Instant::now();
        loop {
            let events = self.read_events(c).await?;
            let mut more = events.len() as i64 == self.settings.batch;
            for event in &events {
                if *shutdown.borrow() || held_since.elapsed() >= self.settings.slice {
                    // Stopping, or its turn is over: record what was delivered and let the
                    // stream go (due again at once, behind the streams that waited).
                    more = false;
                    break;
                }
                if !filter.matches(&event.event_type) {
                    c.delivered_seq = event.seq;
                    continue;
                }
                if !self.keep_lease(c).await? {
                    return Ok(());
                }
                if let Err(failure) = self.send(c, event).await {
                    return self.record_failure(c, failure).await;
                }
                c.delivered_seq = event.seq;
            }
            let more = more && !*shutdown.borrow();
            let until = more.then(|| self.clock.now() + self.settings.lease);
            if !self.progress(c, until).await? || !more {
                return Ok(());
            }
            c.lease_until = until.unwrap_or(c.lease_until);
        }
    }

    async fn read_events(&self, c: &Claimed) -> Result<Vec<EventRow>> {
        let (store, tenant, after, batch) = (self.store.clone(), c.due.tenant, c.delivered_seq, self.settings.batch);
        blocking(move || store.read(|tx| tx.events_after(tenant, after, batch))).await
    }

    /// Renews the lease when less than one request's time (and a margin) is left on it.
    async fn keep_lease(&self, c: &mut Claimed) -> Result<bool> {
        let margin = self.settings.timeout + Duration::from_secs(5);
        if c.lease_until - self.clock.now() > chrono::Duration::from_std(margin).unwrap_or_default() {
            return Ok(true);
        }
        let until = self.clock.now() + self.settings.lease;
        let kept = self.progress(c, Some(until)).await?;
        c.lease_until = until;
        Ok(kept)
    }

    /// Writes delivered_seq; with `until` keeps the lease, without releases it.
    async fn progress(&self, c: &Claimed, until: Option<DateTime<Utc>>) -> Result<bool> {
        let (store, clock, owner) = (self.store.clone(), self.clock.clone(), self.owner.clone());
        let (endpoint, tenant, seq) = (c.due.endpoint_id.clone(), c.due.tenant, c.delivered_seq);
        blocking(move || store.write(|tx| tx.webhook_progress(&endpoint, tenant, &owner, seq, clock.now(), until)))
            .await
    }

    async fn record_failure(&self, c: &Claimed, failure: Failure) -> Result<()> {
        let attempts = c.attempts + 1;
        let failing = attempts >= self.settings.max_attempts || failure.gone;
        let delay = retry_delay(&self.settings, attempts, failure.retry_after, &mut rand::thread_rng());
        tracing::info!(
            endpoint = %c.due.endpoint_id, tenant = %c.due.tenant_name, attempts, failing,
            error = %failure.error, "webhook attempt failed"
        );
        let (store, clock, owner) = (self.store.clone(), self.clock.clone(), self.owner.clone());
        let (endpoint, tenant, seq) = (c.due.endpoint_id.clone(), c.due.tenant, c.delivered_seq);
        blocking(move || {
            let now = clock.now();
            store.write(|tx| {
                if failure.gone {
                    tx.disable_webhook_endpoint(&endpoint, now)?;
                }
                let next = now + delay;
                tx.webhook_failure(&endpoint, tenant, &owner, seq, attempts, &failure.error, now, next, failing)
            })
        })
        .await
        .map(|_| ())
    }

    /// One signed POST of one event.
    async fn send(&self, c: &Claimed, event: &EventRow) -> std::result::Result<(), Failure> {
        let body = serde_json::to_string(&Envelope {
            event_type: &event.event_type,
            timestamp: format_datetime(event.occurred_at),
            data: EventJson::new(&c.due.tenant_name, event),
        })
        .map_err(|e| Failure::plain(format!("the event could not be written: {e}")))?;
        let timestamp = self.clock.now().timestamp();
        let signature = signing::sign(&c.endpoint.secret, &event.id, timestamp, body.as_bytes());
        let sent = self
            .client
            .post(&c.endpoint.url)
            .insert_header(("Content-Type", "application/json"))
            .insert_header(("webhook-id", event.id.as_str()))
            .insert_header(("webhook-timestamp", timestamp.to_string()))
            .insert_header(("webhook-signature", signature))
            .send_body(body)
            .await;
        let mut response = sent.map_err(|e| Failure::plain(format!("request failed: {e}")))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        // Read (at most a capped amount of) the answer so the connection can be reused; a
        // larger or slower answer is cut off, never buffered.
        let read = response.body().limit(self.settings.max_response_bytes);
        let answer = tokio::time::timeout(self.settings.timeout, read).await.ok().and_then(|r| r.ok());
        if status.is_success() {
            return Ok(());
        }
        let excerpt: String =
            answer.map(|b| String::from_utf8_lossy(&b).chars().take(200).collect()).unwrap_or_default();
        Err(Failure {
            error: format!("HTTP {}{}{}", status.as_u16(), if excerpt.is_empty() { "" } else { ": " }, excerpt.trim()),
            retry_after,
            gone: status == StatusCode::GONE,
        })
    }
}

/// A stream's task that panicked has let its stream go unrecorded: its lease runs out and the
/// stream is claimed again, from what it had recorded.
fn log_panic(ended: std::result::Result<(), tokio::task::JoinError>) {
    if let Err(e) = ended {
        tracing::error!(error = %e, "a webhook stream's delivery panicked");
    }
}

/// A webhook's body (Standard Webhooks' `type`, `timestamp`, `data`).
#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    event_type: &'a str,
    timestamp: String,
    data: EventJson<'a>,
}

/// A stream this instance holds.
struct Claimed {
    due: DueDelivery,
    endpoint: EndpointRow,
    delivered_seq: i64,
    attempts: i32,
    lease_until: DateTime<Utc>,
}

async fn blocking<R: Send + 'static>(f: impl FnOnce() -> Result<R> + Send + 'static) -> Result<R> {
    tokio::task::spawn_blocking(f).await.map_err(Error::internal)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vacuum_is_due_each_time_enough_events_were_numbered_since_the_last() {
        let due = VacuumDue::default();
        let passes =
            [(0, false), (400, false), (599, false), (1, true), (0, false), (999, false), (2_500, true), (0, false)];
        for (i, (numbered, want)) in passes.into_iter().enumerate() {
            assert_eq!(due.add(numbered, 1_000), want, "pass {i}");
        }
    }
}
