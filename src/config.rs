//! Settings: one value built from flags and environment in `main` and passed down; no globals.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Settings {
    /// `sqlite://path`, a bare path, or `postgres://…`.
    pub database_url: String,
    /// Address to listen on, e.g. `127.0.0.1:8080` (port 0 picks a free one).
    pub bind: String,
    /// Externally visible origin used in `meta.location` and Base URLs, e.g.
    /// `https://scim.example.com`. Defaults to `http://<bound address>`.
    pub public_url: Option<String>,
    /// Largest accepted request body (RFC 7644 §3.12: 413 beyond it).
    pub max_body_bytes: usize,
    /// Page size when the client sends no `count` (RFC 7644 §3.4.2.4).
    pub default_page_size: u64,
    /// Largest page served, whatever `count` asks for.
    pub max_page_size: u64,
    /// HTTP worker threads; `None` = one per core.
    pub workers: Option<usize>,
    /// Connections in the read pool (and the whole pool on PostgreSQL).
    pub pool_size: u32,
    /// How long a request waits for the database (a connection, through a PostgreSQL restart
    /// say; on SQLite another process's lock on the file) before it is answered 503 with
    /// Retry-After.
    pub database_wait: Duration,
    /// How long a verified credential is trusted before its row is checked again.
    pub credential_recheck: Duration,
    /// Members read per query while a group's members are streamed out.
    pub member_page_size: usize,
    /// Failed authentications one address may make against one tenant per window before
    /// it gets 429.
    pub auth_failure_limit: u32,
    pub auth_failure_window: Duration,
    pub webhooks: crate::webhooks::settings::WebhookSettings,
    /// How long request log entries are kept; zero switches the request log off.
    pub request_log_retention: Duration,
}

impl Settings {
    pub fn new(database_url: impl Into<String>) -> Self {
        Settings {
            database_url: database_url.into(),
            bind: "127.0.0.1:8080".into(),
            public_url: None,
            max_body_bytes: 1024 * 1024,
            default_page_size: 100,
            max_page_size: 1000,
            workers: None,
            pool_size: 8,
            database_wait: crate::store::DEFAULT_DATABASE_WAIT,
            credential_recheck: Duration::from_secs(5),
            member_page_size: 1000,
            auth_failure_limit: 20,
            auth_failure_window: Duration::from_secs(60),
            webhooks: crate::webhooks::settings::WebhookSettings::default(),
            request_log_retention: Duration::from_secs(30 * 86_400),
        }
    }
}
