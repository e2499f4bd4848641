//! The scimd command line: `serve` (the default), `migrate`, and `tenant` administration.

use clap::{Args, Parser, Subcommand};
use scimd::clock::{Clock, SystemClock};
use scimd::config::Settings;
use scimd::startup::Application;
use scimd::store::Store;
use scimd::{telemetry, tenancy};
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
struct Options {
    /// Database: `sqlite://FILE` (or a bare path) or `postgres://USER:PASS@HOST/DB`.
    #[arg(long, env = "SCIMD_DATABASE_URL", default_value = "sqlite://scimd.db", global = true)]
    database_url: String,
    /// Address to listen on.
    #[arg(long, env = "SCIMD_BIND", default_value = "127.0.0.1:8080", global = true)]
    bind: String,
    /// Public origin for Base URLs and meta.location (default: http://<bind address>).
    #[arg(long, env = "SCIMD_PUBLIC_URL", global = true)]
    public_url: Option<String>,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "SCIMD_MAX_BODY_BYTES", default_value_t = 1024 * 1024, global = true)]
    max_body_bytes: usize,
    /// Page size when a list request has no `count`.
    #[arg(long, env = "SCIMD_DEFAULT_PAGE_SIZE", default_value_t = 100, global = true)]
    default_page_size: u64,
    /// Largest page size served.
    #[arg(long, env = "SCIMD_MAX_PAGE_SIZE", default_value_t = 1000, global = true)]
    max_page_size: u64,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "SCIMD_WORKERS", global = true)]
    workers: Option<usize>,
    /// Database connections in the read pool (the whole pool on PostgreSQL).
    #[arg(long, env = "SCIMD_POOL_SIZE", default_value_t = 8, global = true)]
    pool_size: u32,
    /// Seconds a verified credential is trusted before it is checked against the database again.
    #[arg(long, env = "SCIMD_CREDENTIAL_RECHECK_SECS", default_value_t = 5, global = true)]
    credential_recheck_secs: u64,
    /// Failed authentications one client address may make against one tenant per minute
    /// before it gets 429 with Retry-After.
    #[arg(long, env = "SCIMD_AUTH_FAILURES_PER_MINUTE", default_value_t = 20, global = true)]
    auth_failures_per_minute: u32,
}

#[derive(Subcommand)]
enum Command {
    /// Run the SCIM server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create, list and delete tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Issue, list and revoke a tenant's SCIM credentials.
    #[command(subcommand)]
    Credential(CredentialCommand),
}

#[derive(Subcommand)]
enum CredentialCommand {
    /// Issue a credential; its secret is printed once and stored only as a hash.
    Issue {
        tenant: String,
        #[arg(long, value_parser = ["basic", "bearer"], default_value = "bearer")]
        kind: String,
        #[arg(long)]
        label: Option<String>,
        /// Lifetime such as 90d, 12h, 30m (default: no expiry).
        #[arg(long)]
        expires_in: Option<String>,
        /// Print one JSON object: base_url, id, kind, and username+password or token.
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's credentials (never their secrets).
    List {
        tenant: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a credential by its id (a Basic username, or a token's id part).
    Revoke { tenant: String, id: String },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant; prints its SCIM Base URL and a bearer token (shown only once).
    Create {
        name: String,
        /// Print one JSON object {"tenant", "base_url", "bearer_token"}.
        #[arg(long)]
        json: bool,
        /// Refuse the client quirks scimd otherwise accepts (see README, "Compatibility").
        #[arg(long)]
        strict_rfc: bool,
    },
    /// Switch a tenant between compatible (default) and strict RFC mode.
    SetMode {
        name: String,
        #[arg(value_parser = ["compatible", "strict"])]
        mode: String,
    },
    /// List tenants.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete a tenant and all of its users, groups and credentials.
    Delete { name: String },
}

impl Options {
    fn settings(&self) -> Settings {
        Settings {
            database_url: self.database_url.clone(),
            bind: self.bind.clone(),
            public_url: self.public_url.clone(),
            max_body_bytes: self.max_body_bytes,
            default_page_size: self.default_page_size,
            max_page_size: self.max_page_size.max(1),
            workers: self.workers,
            pool_size: self.pool_size,
            credential_recheck: Duration::from_secs(self.credential_recheck_secs),
            auth_failure_limit: self.auth_failures_per_minute,
            ..Settings::new(&self.database_url)
        }
    }

    fn public_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.bind))
    }
}

fn main() -> ExitCode {
    telemetry::init();
    let cli = Cli::parse();
    let result = match &cli.command {
        None | Some(Command::Serve) => serve(&cli.options),
        Some(Command::Migrate) => Store::open(&cli.options.database_url, 1).map(|_| println!("migrations applied")),
        Some(Command::Tenant(cmd)) => tenant(&cli.options, cmd),
        Some(Command::Credential(cmd)) => credential(&cli.options, cmd),
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

fn tenant(options: &Options, cmd: &TenantCommand) -> scimd::error::Result<()> {
    let store = Store::open(&options.database_url, 1)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cmd {
        TenantCommand::Create { name, json, strict_rfc } => {
            let created = tenancy::create_tenant(&store, clock.as_ref(), name, Some("initial"))?;
            if *strict_rfc {
                tenancy::set_strict_rfc(&store, name, true)?;
            }
            let base_url = tenancy::base_url(&options.public_url(), &created.tenant.name);
            if *json {
                let out = serde_json::json!({
                    "tenant": created.tenant.name,
                    "base_url": base_url,
                    "bearer_token": created.bearer_token,
                });
                println!("{out}");
            } else {
                println!("Tenant:       {}", created.tenant.name);
                println!("Base URL:     {base_url}");
                println!("Bearer token: {}", created.bearer_token);
                println!();
                println!("The token is shown only this once; scimd stores only its hash.");
                println!("In the IdP, use the Base URL and send the token as 'Authorization: Bearer <token>'.");
            }
        }
        TenantCommand::List { json } => {
            let tenants = tenancy::list_tenants(&store)?;
            if *json {
                let out: Vec<_> = tenants
                    .iter()
                    .map(|t| {
                        serde_json::json!({
                            "tenant": t.name,
                            "base_url": tenancy::base_url(&options.public_url(), &t.name),
                            "created_at": scimd::clock::format_datetime(t.created_at),
                            "disabled": t.disabled,
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(out));
            } else {
                for t in tenants {
                    println!("{}\t{}", t.name, tenancy::base_url(&options.public_url(), &t.name));
                }
            }
        }
        TenantCommand::SetMode { name, mode } => {
            tenancy::set_strict_rfc(&store, name, mode == "strict")?;
            println!("tenant {name} is now in {mode} mode");
        }
        TenantCommand::Delete { name } => {
            tenancy::delete_tenant(&store, name)?;
            println!("deleted tenant {name} and all of its data");
        }
    }
    Ok(())
}

fn credential(options: &Options, cmd: &CredentialCommand) -> scimd::error::Result<()> {
    use scimd::credentials::{self, Kind};
    let store = Store::open(&options.database_url, 1)?;
    let clock = SystemClock;
    match cmd {
        CredentialCommand::Issue { tenant, kind, label, expires_in, json } => {
            let expires = expires_in.as_deref().map(credentials::parse_duration).transpose()?;
            let issued = credentials::issue(&store, &clock, tenant, Kind::parse(kind)?, label.as_deref(), expires)?;
            let base_url = tenancy::base_url(&options.public_url(), tenant);
            let expires_at = issued.expires_at.map(scimd::clock::format_datetime);
            if *json {
                let mut out = serde_json::json!({"tenant": tenant, "base_url": base_url, "id": issued.id, "kind": issued.kind.as_str()});
                match (&issued.username, &issued.password, &issued.token) {
                    (Some(u), Some(p), _) => {
                        out["username"] = u.as_str().into();
                        out["password"] = p.as_str().into();
                    }
                    (_, _, Some(t)) => out["token"] = t.as_str().into(),
                    _ => {}
                }
                out["expires_at"] = expires_at.into();
                println!("{out}");
            } else {
                println!("Base URL:  {base_url}");
                if let (Some(u), Some(p)) = (&issued.username, &issued.password) {
                    println!("Username:  {u}");
                    println!("Password:  {p}");
                }
                if let Some(t) = &issued.token {
                    println!("Token:     {t}");
                }
                if let Some(e) = expires_at {
                    println!("Expires:   {e}");
                }
                println!();
                println!("The secret is shown only this once; scimd stores only its hash.");
            }
        }
        CredentialCommand::List { tenant, json } => {
            let rows = credentials::list(&store, tenant)?;
            let fmt = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(scimd::clock::format_datetime);
            if *json {
                let out: Vec<_> = rows
                    .iter()
                    .map(|c| {
                        serde_json::json!({"id": c.id, "kind": c.kind, "label": c.label,
                            "created_at": scimd::clock::format_datetime(c.created_at),
                            "last_used_at": fmt(c.last_used_at), "expires_at": fmt(c.expires_at), "revoked": c.revoked})
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(out));
            } else {
                for c in rows {
                    let state = if c.revoked { "revoked" } else { "active" };
                    println!("{}\t{}\t{}\t{}", c.id, c.kind, state, c.label.unwrap_or_default());
                }
            }
        }
        CredentialCommand::Revoke { tenant, id } => {
            credentials::revoke(&store, &clock, tenant, id)?;
            println!("revoked credential {id} of tenant {tenant}");
        }
    }
    Ok(())
}
