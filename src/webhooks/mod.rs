//! Webhooks: endpoint registration and the operator's actions (the admin page, API and CLI
//! call these), the event-type filter, and the JSON views. Delivery itself is `worker`.

mod backoff;
pub mod settings;
pub mod signing;
pub mod worker;

use crate::clock::{format_datetime, Clock};
use crate::error::{Error, Quoted, Result};
use crate::scim::events::EVENT_TYPES;
use crate::store::{DeliveryRow, EndpointRow, NewEndpoint, Store};
use serde_json::{json, Value};

/// Which tenants' events an endpoint receives.
#[derive(Debug, Clone)]
pub enum Target {
    Tenant(String),
    AllTenants,
}

/// A new endpoint and its signing secret, which is shown this once.
pub struct Registered {
    pub endpoint: EndpointRow,
    pub secret: String,
}

/// The event types an endpoint wants: exact types, `user.*`-style families, or everything.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFilter(Option<Vec<String>>);

impl EventFilter {
    /// Parses the stored or submitted comma-separated list; `None`, empty or `*` is every type.
    pub fn parse(list: Option<&str>) -> Result<EventFilter> {
        let items: Vec<String> =
            list.unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
        if items.is_empty() || items.iter().any(|i| i == "*") {
            return Ok(EventFilter(None));
        }
        for item in &items {
            let known = match item.strip_suffix(".*") {
                Some(family) => EVENT_TYPES.iter().any(|t| t.split('.').next() == Some(family)),
                None => EVENT_TYPES.contains(&item.as_str()),
            };
            if !known {
                return Err(Error::invalid_value(format!(
                    "unknown event type {}; known types: {} (or a family such as user.*)",
                    Quoted(item),
                    EVENT_TYPES.join(", ")
                )));
            }
        }
        Ok(EventFilter(Some(items)))
    }

    pub fn matches(&self, event_type: &str) -> bool {
        match &self.0 {
            None => true,
            Some(items) => items.iter().any(|i| match i.strip_suffix(".*") {
                Some(family) => event_type.split('.').next() == Some(family),
                None => i == event_type,
            }),
        }
    }

    fn stored(&self) -> Option<String> {
        self.0.as_ref().map(|items| items.join(","))
    }
}

/// Only absolute http(s) URLs with a host; redirects are never followed, so this is the URL
/// every request goes to.
pub fn validate_url(url: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::invalid_value(format!("webhook URL {url} {why}", url = Quoted(url))));
    if url.len() > 2048 {
        return bad("is longer than 2048 characters");
    }
    let Ok(uri) = url.parse::<awc::http::Uri>() else { return bad("is not a valid URL") };
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return bad("must start with https:// (or http://)");
    }
    if uri.host().is_none_or(str::is_empty) {
        return bad("has no host");
    }
    Ok(())
}

pub fn add(
    store: &Store,
    clock: &dyn Clock,
    target: &Target,
    url: &str,
    event_types: Option<&str>,
    label: Option<&str>,
) -> Result<Registered> {
    validate_url(url)?;
    let filter = EventFilter::parse(event_types)?;
    let label = crate::admin::clean_label(label)?;
    let id = uuid::Uuid::new_v4().to_string();
    let secret = signing::new_secret();
    let stored = filter.stored();
    let endpoint = store.write(|tx| {
        let tenant = match target {
            Target::Tenant(name) => Some(crate::tenancy::named(tx, name)?.id),
            Target::AllTenants => None,
        };
        // A new stream starts after the tenant's latest event: every event committed before
        // it must have its number by then, or it would be numbered after and sent.
        tx.number_events(tenant)?;
        let new = NewEndpoint { id: &id, tenant, url, secret: &secret, event_types: stored.as_deref(), label };
        tx.insert_webhook_endpoint(&new, clock.now())?;
        tx.webhook_endpoint(&id)?.ok_or_else(|| Error::internal("the new endpoint is gone"))
    })?;
    Ok(Registered { endpoint, secret })
}

/// All endpoints, or those receiving `tenant`'s events.
pub fn list(store: &Store, tenant: Option<&str>) -> Result<Vec<EndpointRow>> {
    store.read(|tx| {
        let tenant = match tenant {
            Some(name) => Some(crate::tenancy::named(tx, name)?.id),
            None => None,
        };
        tx.webhook_endpoints(tenant)
    })
}

/// An endpoint with its streams (all tenants', or just `tenant`'s).
pub fn show(store: &Store, id: &str, tenant: Option<&str>) -> Result<(EndpointRow, Vec<DeliveryRow>)> {
    store.number_events(None)?;
    store.read(|tx| {
        let endpoint = tx.webhook_endpoint(id)?.ok_or_else(|| no_such_endpoint(id))?;
        let tenant = match tenant {
            Some(name) => Some(crate::tenancy::named(tx, name)?.id),
            None => None,
        };
        let deliveries = tx.webhook_deliveries(id, tenant)?;
        Ok((endpoint, deliveries))
    })
}

pub fn remove(store: &Store, id: &str) -> Result<()> {
    store.write(|tx| if tx.delete_webhook_endpoint(id)? { Ok(()) } else { Err(no_such_endpoint(id)) })
}

/// "Retry now": the endpoint's streams (or one tenant's) are due at once and no longer
/// failing. Returns how many streams were reset.
pub fn retry_now(store: &Store, clock: &dyn Clock, id: &str, tenant: Option<&str>) -> Result<usize> {
    reset(store, clock, id, tenant, None)
}

/// "Replay from seq": the tenant's stream restarts at event `seq` (the receiver gets events it
/// may have seen before, with their original webhook-id, so it can deduplicate).
pub fn replay_from(store: &Store, clock: &dyn Clock, id: &str, tenant: &str, seq: i64) -> Result<usize> {
    if seq < 1 {
        return Err(Error::invalid_value("replay starts at a seq of 1 or more"));
    }
    reset(store, clock, id, Some(tenant), Some(seq))
}

fn reset(store: &Store, clock: &dyn Clock, id: &str, tenant: Option<&str>, from: Option<i64>) -> Result<usize> {
    store.write(|tx| {
        tx.webhook_endpoint(id)?.ok_or_else(|| no_such_endpoint(id))?;
        let tenant = match tenant {
            Some(name) => Some(crate::tenancy::named(tx, name)?.id),
            None => None,
        };
        let mut n = 0;
        for d in tx.webhook_deliveries(id, tenant)? {
            n += usize::from(tx.reset_webhook_delivery(id, d.tenant, from, clock.now())?);
        }
        if n == 0 {
            return Err(Error::NotFound(format!("endpoint {id} delivers no events of that tenant")));
        }
        Ok(n)
    })
}

/// The endpoint as the admin API and CLI show it; never the secret.
pub fn endpoint_json(e: &EndpointRow, deliveries: Option<&[DeliveryRow]>) -> Value {
    let mut v = json!({
        "id": e.id,
        "tenant": e.tenant_name,
        "allTenants": e.tenant.is_none(),
        "url": e.url,
        "events": e.event_types.as_deref().map(|t| t.split(',').collect::<Vec<_>>()),
        "label": e.label,
        "created": format_datetime(e.created_at),
        "disabled": e.disabled_at.map(format_datetime),
    });
    if let Some(ds) = deliveries {
        v["deliveries"] = ds.iter().map(delivery_json).collect();
    }
    v
}

pub fn delivery_json(d: &DeliveryRow) -> Value {
    json!({
        "tenant": d.tenant_name,
        "deliveredSeq": d.delivered_seq,
        "latestSeq": d.latest_seq,
        "state": delivery_state(d),
        "attempts": d.attempts,
        "nextAttempt": format_datetime(d.next_attempt_at),
        "lastAttempt": d.last_attempt_at.map(format_datetime),
        "lastError": d.last_error,
        "failingSince": d.failing_since.map(format_datetime),
    })
}

/// "failing" (waiting for the operator), "retrying", "pending" or "up to date".
pub fn delivery_state(d: &DeliveryRow) -> &'static str {
    if d.failing_since.is_some() {
        "failing"
    } else if d.attempts > 0 {
        "retrying"
    } else if d.delivered_seq < d.latest_seq {
        "pending"
    } else {
        "up to date"
    }
}

fn no_such_endpoint(id: &str) -> Error {
    Error::NotFound(format!("no webhook endpoint {id}", id = Quoted(id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_filters() {
        let all = EventFilter::parse(None).unwrap();
        assert!(all.matches("user.created") && all.matches("group.deleted"));
        assert_eq!(EventFilter::parse(Some(" * ")).unwrap(), all);
        let some = EventFilter::parse(Some("user.deactivated, group.*")).unwrap();
        assert!(some.matches("user.deactivated") && some.matches("group.member_added"));
        assert!(!some.matches("user.created") && !some.matches("tenant.created"));
        assert_eq!(some.stored().as_deref(), Some("user.deactivated,group.*"));
        for bad in ["user.create", "users.*", "nope", "user.created,x"] {
            assert!(EventFilter::parse(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls() {
        for ok in ["https://example.com/hooks", "http://127.0.0.1:9000/x?y=1"] {
            assert!(validate_url(ok).is_ok(), "{ok}");
        }
        for bad in ["", "example.com", "ftp://example.com/", "https://", "/relative", "javascript:alert(1)"] {
            assert!(validate_url(bad).is_err(), "{bad}");
        }
    }
}
