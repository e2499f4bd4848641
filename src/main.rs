//! The scimd command line: `serve` (the default), `migrate`, and `tenant`, `credential` and
//! `admin` administration on the configured database.

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
    /// Admin-page accounts and admin API tokens.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin-page account (password prompted, or the first line of stdin).
    CreateUser {
        email: String,
        /// Set a new password if the account exists.
        #[arg(long)]
        reset_password: bool,
    },
    /// Admin API tokens for the host app's automation.
    #[command(subcommand)]
    ApiToken(ApiTokenCommand),
}

#[derive(Subcommand)]
enum ApiTokenCommand {
    /// Issue a token; it is printed once and stored only as a hash.
    Issue {
        #[arg(long)]
        label: Option<String>,
        /// Print one JSON object {"id", "token"}.
        #[arg(long)]
        json: bool,
    },
    /// List tokens (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id.
    Revoke { id: String },
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
    /// List tenants with their user and group counts.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one tenant: Base URL, state, counts, last SCIM activity, credentials.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Disable a tenant: its credentials stop working, its data stays.
    Disable { name: String },
    /// Enable a disabled tenant again.
    Enable { name: String },
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
        Some(Command::Admin(cmd)) => admin(&cli.options, cmd),
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
            let tenants = tenancy::tenant_overviews(&store)?;
            if *json {
                let out: Vec<_> =
                    tenants.iter().map(|(t, s)| tenancy::tenant_json(&options.public_url(), t, Some(s))).collect();
                println!("{}", serde_json::Value::Array(out));
            } else {
                for (t, s) in tenants {
                    let state = if t.disabled { "disabled" } else { "active" };
                    let base_url = tenancy::base_url(&options.public_url(), &t.name);
                    println!("{}\t{base_url}\t{state}\t{} users\t{} groups", t.name, s.users, s.groups);
                }
            }
        }
        TenantCommand::Show { name, json } => {
            let (t, s) = tenancy::tenant_overview(&store, name)?;
            let creds = scimd::credentials::list(&store, name)?;
            let mut out = tenancy::tenant_json(&options.public_url(), &t, Some(&s));
            if *json {
                out["credentials"] = creds.iter().map(scimd::credentials::row_json).collect();
                println!("{out}");
            } else {
                for key in ["tenant", "base_url", "created_at", "disabled", "mode", "users", "groups", "last_activity"]
                {
                    println!("{:<14} {}", format!("{key}:"), out[key].to_string().trim_matches('"'));
                }
                println!("credentials:");
                for c in creds {
                    let state = if c.revoked { "revoked" } else { "active" };
                    println!("  {}\t{}\t{state}\t{}", c.id, c.kind, c.label.unwrap_or_default());
                }
            }
        }
        TenantCommand::Disable { name } => {
            tenancy::set_disabled(&store, clock.as_ref(), name, true)?;
            println!("disabled tenant {name}: its credentials stop working within seconds");
        }
        TenantCommand::Enable { name } => {
            tenancy::set_disabled(&store, clock.as_ref(), name, false)?;
            println!("enabled tenant {name}");
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
                println!("{}", issued.to_json(tenant, &base_url));
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
            if *json {
                println!("{}", serde_json::Value::Array(rows.iter().map(credentials::row_json).collect()));
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

fn admin(options: &Options, cmd: &AdminCommand) -> scimd::error::Result<()> {
    use scimd::admin::{accounts, api_tokens};
    let store = Store::open(&options.database_url, 1)?;
    let clock = SystemClock;
    match cmd {
        AdminCommand::CreateUser { email, reset_password } => {
            let password = read_new_password()?;
            accounts::create_admin_user(&store, &clock, email, &password, *reset_password)?;
            println!("admin {email} can now sign in at {}/admin", options.public_url());
        }
        AdminCommand::ApiToken(ApiTokenCommand::Issue { label, json }) => {
            let (id, token) = api_tokens::issue(&store, &clock, label.as_deref())?;
            if *json {
                println!("{}", serde_json::json!({"id": id, "token": token}));
            } else {
                println!("Admin API token: {token}");
                println!();
                println!("Send it as 'Authorization: Bearer <token>' to {}/admin/api.", options.public_url());
                println!("It is shown only this once; scimd stores only its hash.");
            }
        }
        AdminCommand::ApiToken(ApiTokenCommand::List { json }) => {
            let rows = api_tokens::list(&store)?;
            let fmt = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(scimd::clock::format_datetime);
            if *json {
                let out: Vec<_> = rows
                    .iter()
                    .map(|t| {
                        serde_json::json!({"id": t.id, "label": t.label,
                            "created_at": scimd::clock::format_datetime(t.created_at),
                            "last_used_at": fmt(t.last_used_at), "revoked": t.revoked})
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(out));
            } else {
                for t in rows {
                    let state = if t.revoked { "revoked" } else { "active" };
                    println!("{}\t{state}\t{}", t.id, t.label.unwrap_or_default());
                }
            }
        }
        AdminCommand::ApiToken(ApiTokenCommand::Revoke { id }) => {
            api_tokens::revoke(&store, &clock, id)?;
            println!("revoked admin API token {id}");
        }
    }
    Ok(())
}

/// A new password: prompted twice without echo on a terminal, else the first line of stdin
/// (for scripts: `echo "$PW" | scimd admin create-user ops@example.com`).
fn read_new_password() -> scimd::error::Result<String> {
    use std::io::{BufRead, IsTerminal};
    let io_error = |e: std::io::Error| scimd::error::Error::internal(format!("cannot read the password: {e}"));
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(io_error)?;
        let again = rpassword::prompt_password("Password again: ").map_err(io_error)?;
        if first != again {
            return Err(scimd::error::Error::invalid_value("the passwords differ"));
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(io_error)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}
