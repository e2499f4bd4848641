//! How the webhook worker delivers: its timings, retries, batches and slots.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// How often other replicas' events (and due retries) are looked for; this process's own
    /// events wake the worker (see `wake_pause`).
    pub poll_interval: Duration,
    /// How long the worker waits after a wake-up before it looks for due streams, so that a
    /// burst of commits costs one look instead of one each (each look is read transactions
    /// the writes would otherwise pay for). Also the least time between two looks.
    pub wake_pause: Duration,
    /// The whole request, connect to response head (Standard Webhooks suggests 15–30 s).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Failed attempts at one event before its stream is marked failing.
    pub max_attempts: i32,
    /// The first retry's delay; each further one doubles, up to `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// How long a claimed stream stays with this instance without progress.
    pub lease: Duration,
    /// Events read (and progress written) per round trip.
    pub batch: i64,
    /// Streams delivered at once.
    pub concurrency: usize,
    /// How long a stream with more to send is held before it lets the others due have its
    /// slot (it goes behind them): with every slot on a long backlog, the rest still move.
    pub slice: Duration,
    /// Bytes of a receiver's answer read at most (the rest is dropped).
    pub max_response_bytes: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            poll_interval: Duration::from_secs(1),
            wake_pause: Duration::from_millis(20),
            timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            max_attempts: 20,
            retry_base: Duration::from_secs(5),
            retry_cap: Duration::from_secs(3600),
            lease: Duration::from_secs(60),
            batch: 100,
            concurrency: 8,
            slice: Duration::from_secs(5),
            max_response_bytes: 64 * 1024,
        }
    }
}
