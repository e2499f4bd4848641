//! `scimd webhook …`: register, list, inspect and remove webhook endpoints, and the operator's
//! "retry now" and "replay from seq", on the configured database.

use super::Options;
use clap::{ArgGroup, Subcommand};
use scimd::clock::SystemClock;
use scimd::webhooks::{self, Target};

#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Register an endpoint; its signing secret is printed once.
    #[command(group(ArgGroup::new("target").required(true).args(["tenant", "all_tenants"])))]
    Add {
        /// Deliver this tenant's events.
        #[arg(long)]
        tenant: Option<String>,
        /// Deliver every tenant's events (including tenants created later).
        #[arg(long)]
        all_tenants: bool,
        #[arg(long)]
        url: String,
        /// Comma-separated event types or families (`user.deactivated,group.*`); default all.
        #[arg(long)]
        events: Option<String>,
        #[arg(long)]
        label: Option<String>,
        /// Print one JSON object {"id", "secret", …}.
        #[arg(long)]
        json: bool,
    },
    /// List endpoints (all, or those receiving one tenant's events).
    List {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// An endpoint and its delivery state per tenant.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove an endpoint.
    Remove { id: String },
    /// Retry now: failing or backed-off deliveries are attempted at once.
    Retry {
        id: String,
        /// Only this tenant's stream (default: all of the endpoint's).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Deliver a tenant's events again from a sequence number on.
    Replay {
        id: String,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        from_seq: i64,
    },
}

pub fn webhook(options: &Options, cmd: &WebhookCommand) -> scimd::error::Result<()> {
    let store = options.open_store()?;
    let clock = SystemClock;
    match cmd {
        WebhookCommand::Add { tenant, all_tenants: _, url, events, label, json } => {
            let target = tenant.clone().map_or(Target::AllTenants, Target::Tenant);
            let r = webhooks::add(&store, &clock, &target, url, events.as_deref(), label.as_deref())?;
            if *json {
                let mut out = webhooks::endpoint_json(&r.endpoint, None);
                out["secret"] = r.secret.into();
                println!("{out}");
            } else {
                println!("Webhook endpoint {} registered for {}.", r.endpoint.id, r.endpoint.url);
                println!("Signing secret: {}", r.secret);
                println!("It is shown only this once. Verify the webhook-signature header with it");
                println!("(Standard Webhooks, v1 HMAC-SHA256 over id.timestamp.body).");
            }
        }
        WebhookCommand::List { tenant, json } => {
            let rows = webhooks::list(&store, tenant.as_deref())?;
            if *json {
                let out: Vec<_> = rows.iter().map(|e| webhooks::endpoint_json(e, None)).collect();
                println!("{}", serde_json::Value::Array(out));
            } else {
                for e in rows {
                    let scope = e.tenant_name.as_deref().unwrap_or("(all tenants)");
                    let state = if e.disabled_at.is_some() { "disabled (410 Gone)" } else { "enabled" };
                    println!("{}\t{scope}\t{}\t{state}\t{}", e.id, e.url, e.event_types.as_deref().unwrap_or("*"));
                }
            }
        }
        WebhookCommand::Show { id, json } => {
            let (endpoint, deliveries) = webhooks::show(&store, id, None)?;
            if *json {
                println!("{}", webhooks::endpoint_json(&endpoint, Some(&deliveries)));
            } else {
                println!("{}\t{}", endpoint.id, endpoint.url);
                for d in deliveries {
                    let error = d.last_error.as_deref().unwrap_or("");
                    let state = webhooks::delivery_state(&d);
                    println!("  {}\t{state}\tdelivered {}/{}\t{error}", d.tenant_name, d.delivered_seq, d.latest_seq);
                }
            }
        }
        WebhookCommand::Remove { id } => {
            webhooks::remove(&store, id)?;
            println!("webhook endpoint {id} removed");
        }
        WebhookCommand::Retry { id, tenant } => {
            let n = webhooks::retry_now(&store, &clock, id, tenant.as_deref())?;
            println!("{n} delivery stream(s) will be retried now");
        }
        WebhookCommand::Replay { id, tenant, from_seq } => {
            webhooks::replay_from(&store, &clock, id, tenant, *from_seq)?;
            println!("{tenant}'s events from seq {from_seq} will be delivered again");
        }
    }
    Ok(())
}
