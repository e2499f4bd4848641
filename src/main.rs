//! The scimd command line: `serve` (the default), `migrate`, and `tenant`, `credential`,
//! `admin` and `webhook` administration on the configured database.

mod cli;

use clap::{Args, Parser, Subcommand};
use scimd::clock::SystemClock;
use scimd::config::Settings;
use scimd::startup::Application;
use scimd::store::Store;
use scimd::telemetry;
use scimd::webhooks::settings::WebhookSettings;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "scimd", version, about = "SCIM 2.0 provisioning server")]
struct Cli {
    #[command(flatten)]
    options: Options,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Args)]
pub struct Options {
    /// Database: `sqlite://FILE` (or a bare path) or `postgres://USER:PASS@HOST/DB`.
    #[arg(long, env = "SCIMD_DATABASE_URL", default_value = "sqlite://scimd.db", global = true)]
    pub database_url: String,
    /// Address to listen on.
    #[arg(long, env = "SCIMD_BIND", default_value = "127.0.0.1:8080", global = true)]
    bind: String,
    /// Public origin for Base URLs and meta.location (default: http://<bind address>).
    #[arg(long, env = "SCIMD_PUBLIC_URL", global = true, value_parser = public_url)]
    public_url: Option<String>,
    // Every number has the range it makes sense in, checked as it is parsed: out of range, a
    // value used to panic (a wait of u64::MAX seconds overflowed an Instant at start-up, zero
    // workers tripped actix's assertion) or be quietly nonsensical (pages of 0).
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "SCIMD_MAX_BODY_BYTES", default_value_t = 1024 * 1024, global = true,
          value_parser = clap::value_parser!(u64).range(1024..=1 << 30))]
    max_body_bytes: u64,
    /// Page size when a list request has no `count`.
    #[arg(long, env = "SCIMD_DEFAULT_PAGE_SIZE", default_value_t = 100, global = true,
          value_parser = clap::value_parser!(u64).range(1..=MAX_PAGE))]
    default_page_size: u64,
    /// Largest page size served.
    #[arg(long, env = "SCIMD_MAX_PAGE_SIZE", default_value_t = 1000, global = true,
          value_parser = clap::value_parser!(u64).range(1..=MAX_PAGE))]
    max_page_size: u64,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "SCIMD_WORKERS", global = true, value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: Option<u16>,
    /// Database connections in the read pool (the whole pool on PostgreSQL).
    #[arg(long, env = "SCIMD_POOL_SIZE", default_value_t = 8, global = true,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pool_size: u32,
    /// Seconds a request waits for the database (a connection, through a PostgreSQL restart
    /// say; on SQLite another process's lock on the file) before it is answered 503 with
    /// Retry-After.
    #[arg(long, env = "SCIMD_DATABASE_WAIT_SECS", default_value_t = 30, global = true,
          value_parser = clap::value_parser!(u64).range(1..=HOUR))]
    database_wait_secs: u64,
    /// Seconds a verified credential is trusted before it is checked against the database again.
    #[arg(long, env = "SCIMD_CREDENTIAL_RECHECK_SECS", default_value_t = 5, global = true,
          value_parser = clap::value_parser!(u64).range(0..=HOUR))]
    credential_recheck_secs: u64,
    /// Failed authentications one client address may make against one tenant per minute
    /// before it gets 429 with Retry-After.
    #[arg(long, env = "SCIMD_AUTH_FAILURES_PER_MINUTE", default_value_t = 20, global = true)]
    auth_failures_per_minute: u32,
    /// Failed attempts at one webhook event before its delivery is marked failing (it then
    /// waits for "retry now").
    #[arg(long, env = "SCIMD_WEBHOOK_MAX_ATTEMPTS", default_value_t = 20, global = true,
          value_parser = clap::value_parser!(i32).range(1..=10_000))]
    webhook_max_attempts: i32,
    /// Seconds before the first webhook retry; each further retry waits twice as long (with
    /// jitter), up to an hour.
    #[arg(long, env = "SCIMD_WEBHOOK_RETRY_BASE_SECS", default_value_t = 5, global = true,
          value_parser = clap::value_parser!(u64).range(1..=HOUR))]
    webhook_retry_base_secs: u64,
    /// Seconds a webhook receiver has to answer.
    #[arg(long, env = "SCIMD_WEBHOOK_TIMEOUT_SECS", default_value_t = 15, global = true,
          value_parser = clap::value_parser!(u64).range(1..=HOUR))]
    webhook_timeout_secs: u64,
    /// Log lines as text, or as one JSON object a line for a log collector.
    #[arg(long, env = "SCIMD_LOG_FORMAT", value_enum, default_value_t = LogFormatArg::Text, global = true)]
    log_format: LogFormatArg,
    /// Days request log entries are kept (0 turns the request log off).
    #[arg(long, env = "SCIMD_REQUEST_LOG_RETENTION_DAYS", default_value_t = 30, global = true,
          value_parser = clap::value_parser!(u64).range(0..=36_500))]
    request_log_retention_days: u64,
}

/// `--public-url`: an http or https URL with a host, and a path at most. Without a scheme
/// ("scim.example.com"), every Base URL scimd printed was one no IdP could call.
fn public_url(text: &str) -> Result<String, String> {
    let uri: actix_web::http::Uri = text.parse().map_err(|e| format!("not a URL: {e}"))?;
    let scheme = uri.scheme_str().unwrap_or("");
    if !["http", "https"].contains(&scheme) || uri.host().is_none_or(str::is_empty) {
        return Err("give the scheme and host IdPs reach scimd at, e.g. https://scim.example.com".into());
    }
    if uri.query().is_some() || text.contains('#') || uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err("Base URLs are built on it: no query, fragment or user".into());
    }
    if scimd::tenancy::unreachable_public_url(text).is_some() {
        return Err("no client can reach that address; give the host IdPs reach scimd at".into());
    }
    Ok(text.to_string())
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormatArg {
    Text,
    Json,
}

impl From<LogFormatArg> for telemetry::LogFormat {
    fn from(f: LogFormatArg) -> Self {
        match f {
            LogFormatArg::Text => telemetry::LogFormat::Text,
            LogFormatArg::Json => telemetry::LogFormat::Json,
        }
    }
}

const HOUR: u64 = 3600;
/// The largest page size that may be set.
const MAX_PAGE: u64 = 100_000;

#[derive(Subcommand)]
enum Command {
    /// Run the SCIM server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create, list and delete tenants.
    #[command(subcommand)]
    Tenant(cli::tenants::TenantCommand),
    /// Issue, list and revoke a tenant's SCIM credentials.
    #[command(subcommand)]
    Credential(cli::tenants::CredentialCommand),
    /// Admin-page accounts and admin API tokens.
    #[command(subcommand)]
    Admin(cli::admin::AdminCommand),
    /// Webhook endpoints: add, list, show, remove, retry, replay.
    #[command(subcommand)]
    Webhook(cli::webhooks::WebhookCommand),
}

impl Options {
    fn settings(&self) -> Settings {
        Settings {
            database_url: self.database_url.clone(),
            bind: self.bind.clone(),
            public_url: self.public_url.clone(),
            max_body_bytes: usize::try_from(self.max_body_bytes).unwrap_or(usize::MAX),
            default_page_size: self.default_page_size,
            max_page_size: self.max_page_size,
            workers: self.workers.map(usize::from),
            pool_size: self.pool_size,
            database_wait: self.database_wait(),
            credential_recheck: Duration::from_secs(self.credential_recheck_secs),
            auth_failure_limit: self.auth_failures_per_minute,
            webhooks: WebhookSettings {
                max_attempts: self.webhook_max_attempts,
                retry_base: Duration::from_secs(self.webhook_retry_base_secs),
                timeout: Duration::from_secs(self.webhook_timeout_secs),
                ..WebhookSettings::default()
            },
            request_log_retention: Duration::from_secs(self.request_log_retention_days * 86_400),
            ..Settings::new(&self.database_url)
        }
    }

    fn database_wait(&self) -> Duration {
        Duration::from_secs(self.database_wait_secs)
    }

    /// The store a command line command works on: one connection, the same database wait.
    pub fn open_store(&self) -> scimd::error::Result<Store> {
        Store::open_waiting(&self.database_url, 1, self.database_wait())
    }

    pub fn public_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.bind))
    }
}

// jemalloc instead of glibc's malloc: a request allocates and frees many small objects on
// several threads, and glibc's spent a sixth of a write's CPU on it (figures in Cargo.toml).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.options.log_format.into());
    // Checked here rather than by clap, whose message would quote the URL, password and all.
    if let Err(e) = scimd::store::check_database_url(&cli.options.database_url) {
        eprintln!("error: invalid value '{}' for '--database-url': {e}", redact(&cli.options.database_url));
        return ExitCode::from(2);
    }
    if matches!(cli.command, Some(Command::Tenant(_) | Command::Credential(_) | Command::Admin(_))) {
        // These print Base URLs and the admin page's address, built on the public URL.
        if let Some(problem) = scimd::tenancy::unreachable_public_url(&cli.options.public_url()) {
            eprintln!("scimd: warning: {problem}");
        }
    }
    let result = match &cli.command {
        None | Some(Command::Serve) => serve(&cli.options),
        Some(Command::Migrate) => cli.options.open_store().map(|_| println!("migrations applied")),
        Some(Command::Tenant(cmd)) => cli::tenants::tenant(&cli.options, cmd),
        Some(Command::Credential(cmd)) => cli::tenants::credential(&cli.options, cmd),
        Some(Command::Admin(cmd)) => cli::admin::admin(&cli.options, cmd),
        Some(Command::Webhook(cmd)) => cli::webhooks::webhook(&cli.options, cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scimd: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(options: &Options) -> scimd::error::Result<()> {
    let settings = options.settings();
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(&settings, Arc::new(SystemClock))?;
        tracing::info!(
            listen = %app.addr(),
            public_url = app.public_url(),
            database = %redact(&settings.database_url),
            "scimd is listening; create a tenant with: scimd tenant create <name>"
        );
        if let Some(problem) = scimd::tenancy::unreachable_public_url(app.public_url()) {
            tracing::warn!("{problem}");
        }
        app.run().await.map_err(scimd::error::Error::internal)
    })
}

/// A database URL without its password, for the log.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}
