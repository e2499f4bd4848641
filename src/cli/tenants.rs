//! `scimd tenant …` and `scimd credential …`: tenants and their SCIM credentials, on the
//! configured database.

use super::Options;
use clap::Subcommand;
use scimd::clock::{Clock, SystemClock};
use scimd::tenancy;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum TenantCommand {
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

#[derive(Subcommand)]
pub enum CredentialCommand {
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

pub fn tenant(options: &Options, cmd: &TenantCommand) -> scimd::error::Result<()> {
    let store = options.open_store()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cmd {
        TenantCommand::Create { name, json, strict_rfc } => {
            let created = tenancy::create_tenant(&store, clock.as_ref(), name, Some("initial"))?;
            if *strict_rfc {
                tenancy::set_strict_rfc(&store, name, true)?;
            }
            let base_url = tenancy::base_url(&options.public_url(), &created.tenant.name);
            if *json {
                let mut out = serde_json::json!({
                    "tenant": created.tenant.name,
                    "base_url": base_url,
                    "bearer_token": created.bearer_token,
                });
                tenancy::warn_of_unreachable_base_url(&mut out, &base_url);
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
            tenancy::delete_tenant(&store, &SystemClock, name)?;
            println!("deleted tenant {name} and all of its data");
        }
    }
    Ok(())
}

pub fn credential(options: &Options, cmd: &CredentialCommand) -> scimd::error::Result<()> {
    use scimd::credentials::{self, Kind};
    let store = options.open_store()?;
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
