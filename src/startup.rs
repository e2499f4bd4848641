//! Building the running server from `Settings`: used by `main` and by the integration tests,
//! which start it on port 0 with a fresh database.

use crate::activity::{self, LogQueue, RequestLog};
use crate::admin::AdminAuth;
use crate::auth::{Authenticator, FailureLimit};
use crate::clock::Clock;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::http::{self, AppState};
use crate::scim::list::PageLimits;
use crate::scim::service::ScimService;
use crate::store::Store;
use crate::webhooks::settings::WebhookSettings;
use crate::webhooks::worker::Worker;
use actix_web::dev::Server;
use actix_web::middleware::{ErrorHandlers, NormalizePath};
use actix_web::{web, App, HttpServer};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often expired request log entries are deleted.
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);
use tracing_actix_web::TracingLogger;

pub struct Application {
    addr: SocketAddr,
    public_url: String,
    server: Server,
    background: Background,
}

/// The tasks that run beside the HTTP server: webhook delivery and the request log's writer
/// and pruner. They stop (finishing what they hold) when the server stops.
struct Background {
    store: Store,
    clock: Arc<dyn Clock>,
    webhooks: WebhookSettings,
    log_queue: Option<LogQueue>,
    log_retention: Duration,
    shutdown: watch::Sender<bool>,
}

/// Stops a running `Application` from outside (tests restart scimd mid-delivery with it).
#[derive(Clone)]
pub struct AppHandle {
    server: actix_web::dev::ServerHandle,
}

impl AppHandle {
    /// Stops accepting requests, lets in-flight ones finish; `run` then stops the background
    /// tasks and returns.
    pub async fn stop(&self) {
        self.server.stop(true).await;
    }
}

/// Connections the kernel completes and queues before scimd accepts them (actix-web's own
/// default). std's `TcpListener::bind` queues 128: in a burst of more concurrent connections
/// than that while the accept thread is busy, the kernel drops the SYNs beyond the queue and
/// clients wait a second or more to retry (the kernel caps it at net.core.somaxconn).
const BACKLOG: i32 = 2048;

/// Binds `bind` (the first of its addresses that binds, as std does) and listens on it.
fn listen(bind: &str) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    use std::net::ToSocketAddrs;
    let mut last = std::io::Error::new(std::io::ErrorKind::InvalidInput, "the address resolves to nothing");
    for addr in bind.to_socket_addrs()? {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        // As std and actix do on Unix: a restarted scimd can bind while its old connections
        // are in TIME_WAIT.
        #[cfg(unix)]
        socket.set_reuse_address(true)?;
        match socket.bind(&addr.into()).and_then(|()| socket.listen(BACKLOG)) {
            Ok(()) => return Ok(socket.into()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

impl Application {
    /// Opens (and migrates) the database, binds the listener, and prepares the server.
    pub fn build(settings: &Settings, clock: Arc<dyn Clock>) -> Result<Application> {
        let store = Store::open_waiting(&settings.database_url, settings.pool_size, settings.database_wait)?;
        let listener =
            listen(&settings.bind).map_err(|e| Error::Setup(format!("cannot listen on {}: {e}", settings.bind)))?;
        let addr = listener.local_addr().map_err(Error::internal)?;
        let public_url =
            settings.public_url.clone().unwrap_or_else(|| format!("http://{addr}")).trim_end_matches('/').to_string();
        let limits = PageLimits { default_count: settings.default_page_size, max_count: settings.max_page_size };
        let (request_log, log_queue) = if settings.request_log_retention.is_zero() {
            (RequestLog::disabled(), None)
        } else {
            let (log, queue) = RequestLog::new();
            (log, Some(queue))
        };
        let failure_limit =
            FailureLimit { failures: settings.auth_failure_limit, window: settings.auth_failure_window };
        let state = web::Data::new(AppState {
            service: Arc::new(ScimService::new(store.clone(), clock.clone(), limits, settings.member_page_size)),
            auth: Authenticator::new(store.clone(), clock.clone(), settings.credential_recheck, failure_limit)?,
            admin: AdminAuth::new(store.clone(), clock.clone(), settings.credential_recheck, failure_limit)?,
            store,
            clock,
            public_url: public_url.clone(),
            max_body_bytes: settings.max_body_bytes,
            request_log,
        });
        let background = Background {
            store: state.store.clone(),
            clock: state.clock.clone(),
            webhooks: settings.webhooks.clone(),
            log_queue,
            log_retention: settings.request_log_retention,
            shutdown: watch::channel(false).0,
        };
        let server = HttpServer::new(move || {
            App::new()
                .wrap(ErrorHandlers::new().default_handler(http::scim_error_fallback))
                .wrap(NormalizePath::trim())
                .wrap(TracingLogger::<http::span::RequestSpan>::new())
                .app_data(state.clone())
                .configure(http::configure)
        });
        // Small responses (and the last chunk of a streamed one) go out at once instead of
        // waiting for the client's delayed ACK (Nagle's algorithm).
        let server = server.on_connect(|conn, _| {
            if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
                let _ = tcp.set_nodelay(true);
            }
        });
        let mut server = server;
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        let server = server.listen(listener).map_err(Error::internal)?.run();
        Ok(Application { addr, public_url, server, background })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    pub fn handle(&self) -> AppHandle {
        AppHandle { server: self.server.handle() }
    }

    /// Serves until the server is stopped (a signal or `AppHandle::stop`), then stops the
    /// background tasks and waits for them: a webhook stream in flight is finished and
    /// released, queued request log entries are written.
    pub async fn run(self) -> std::io::Result<()> {
        let Background { store, clock, webhooks, log_queue, log_retention, shutdown } = self.background;
        let stop = shutdown.subscribe();
        let (s, c, rx) = (store.clone(), clock.clone(), stop.clone());
        let delivery = move || Worker::new(s.clone(), c.clone(), webhooks.clone()).run(rx.clone());
        let mut tasks = vec![supervise("webhook delivery", delivery, stop.clone(), RESTART_PAUSE)];
        if let Some(queue) = log_queue {
            // Held outside the writer, so that a writer started again after a panic drains it.
            let queue = Arc::new(tokio::sync::Mutex::new(queue));
            let (s, rx) = (store.clone(), stop.clone());
            let writer = move || activity::write_entries(s.clone(), queue.clone(), rx.clone());
            tasks.push(supervise("request log writer", writer, stop.clone(), RESTART_PAUSE));
            let (every, rx) = (PRUNE_INTERVAL, stop.clone());
            let pruner = move || activity::prune(store.clone(), clock.clone(), log_retention, every, rx.clone());
            tasks.push(supervise("request log pruning", pruner, stop, RESTART_PAUSE));
        }
        let served = self.server.await;
        let _ = shutdown.send(true);
        for task in tasks {
            let _ = task.await;
        }
        served
    }
}

/// How long a background task that panicked waits before it starts again.
const RESTART_PAUSE: Duration = Duration::from_secs(10);

/// Runs the task `start` makes until it ends; one that panics is logged as an error and
/// started again after `pause`, unless `shutdown` has turned true by then. Without this a panic
/// (a bug) ended its task silently: webhooks went undelivered, or the request log unpruned,
/// until scimd restarted. A task that panics each time is logged each time.
fn supervise<F, T>(
    name: &'static str,
    mut start: F,
    mut shutdown: watch::Receiver<bool>,
    pause: Duration,
) -> actix_web::rt::task::JoinHandle<()>
where
    F: FnMut() -> T + 'static,
    T: std::future::Future<Output = ()> + 'static,
{
    actix_web::rt::spawn(async move {
        loop {
            match actix_web::rt::spawn(start()).await {
                Ok(()) => return,
                Err(e) => tracing::error!(task = name, error = %e, "a background task panicked; starting it again"),
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.wait_for(|stopping| *stopping) => return,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Connections beyond std's 128 complete while nothing accepts them. (The kernel caps the
    /// queue at net.core.somaxconn; with that at 128 or less there is nothing to show.)
    #[test]
    fn the_listener_queues_bursts_of_connections_beyond_128() {
        let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(4096);
        let burst = somaxconn.min(1_000) - 1;
        if burst < 200 {
            eprintln!("skipped: net.core.somaxconn is {somaxconn}");
            return;
        }
        let listener = listen("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let connected: Vec<std::net::TcpStream> = (0..burst)
            .map(|i| {
                std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))
                    .unwrap_or_else(|e| panic!("connection {i} of {burst} was not queued: {e}"))
            })
            .collect();
        assert_eq!(connected.len(), burst);
    }

    /// A task that panics is started again after the pause, until it ends; a shutdown during
    /// the pause ends the supervision without another start.
    #[test]
    fn a_background_task_that_panics_is_started_again() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        actix_web::rt::System::new().block_on(async {
            let pause = Duration::from_millis(20);
            let starts = Arc::new(AtomicUsize::new(0));
            let (_keep, running) = watch::channel(false);
            let counted = starts.clone();
            let twice_then_done = move || {
                let n = counted.fetch_add(1, Ordering::SeqCst);
                async move { assert!(n >= 2, "panic number {n}") }
            };
            supervise("test", twice_then_done, running, pause).await.unwrap();
            assert_eq!(starts.load(Ordering::SeqCst), 3);

            let (stop, stopping) = watch::channel(false);
            let starts = Arc::new(AtomicUsize::new(0));
            let counted = starts.clone();
            let always = move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async { panic!("always") }
            };
            let supervised = supervise("test", always, stopping, Duration::from_secs(3600));
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
            stop.send(true).unwrap();
            supervised.await.unwrap();
            assert_eq!(starts.load(Ordering::SeqCst), 1);
        });
    }

    #[test]
    fn an_address_that_cannot_be_bound_is_an_error() {
        let taken = listen("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        assert!(listen(&addr).is_err(), "a second listener on {addr}");
        assert!(listen("not an address").is_err());
    }
}
