//! Tenant lifecycle use cases shared by the CLI, the admin page and the admin API: create, list
//! with counts, disable, delete.

use crate::auth::secrets::{self, BearerToken};
use crate::clock::{format_datetime, Clock};
use crate::error::{Error, Quoted, Result};
use crate::scim::events::admin_event;
use crate::store::{EventRow, NewCredential, Store, TenantId, TenantRow, TenantStats, Tx};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// A new tenant and the one-time view of its first bearer token.
pub struct CreatedTenant {
    pub tenant: TenantRow,
    pub bearer_token: String,
}

/// What `is_tenant_name` accepts, as errors tell it.
const TENANT_NAME_RULE: &str = "1-63 characters of a-z, 0-9 and inner '-'";

/// Tenant names appear in Base URLs, which Okta rejects when they contain `_`: lower-case
/// letters, digits and inner hyphens, at most 63 characters.
pub fn validate_tenant_name(name: &str) -> Result<()> {
    if is_tenant_name(name) {
        Ok(())
    } else {
        Err(Error::invalid_value(format!("tenant name {name} must be {TENANT_NAME_RULE}", name = Quoted(name))))
    }
}

/// Whether a tenant could have this name (`validate_tenant_name`).
pub fn is_tenant_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// The 404 for a SCIM path whose tenant name no tenant can have: as anyone can tell from the
/// syntax, so it is told before authentication, and says what is wrong with the Base URL (a
/// support person who typed `/scim/v2/ACME` into Okta would otherwise see a 401 and reissue
/// credentials that were never the problem). The name is quoted only when lower-casing makes a
/// name, so at most 63 characters of it.
pub fn not_a_tenant_name(name: &str) -> Error {
    if name.len() <= 63 {
        let lower = name.to_ascii_lowercase();
        if is_tenant_name(&lower) {
            return Error::NotFound(format!("tenant names are lower-case: the Base URL ends in /{lower}, not /{name}"));
        }
    }
    Error::NotFound(format!("no tenant can have the name in this path: a tenant's name is {TENANT_NAME_RULE}"))
}

/// The SCIM Base URL of a tenant (RFC 7644 §1.3), as customers paste it into their IdP.
pub fn base_url(public_url: &str, tenant: &str) -> String {
    // One allocation of the exact length (`format!` grows its string as it writes): every
    // SCIM request builds its Base URL.
    [public_url.trim_end_matches('/'), "/scim/v2/", tenant].concat()
}

/// Why Base URLs built on `public_url` would reach no scimd, if they would not: its host is an
/// unspecified address (`0.0.0.0`, `[::]`) or its port is 0. scimd's public URL is
/// `http://<bind address>` by default, and a server bound to every interface (`0.0.0.0:8080`,
/// as in a container) handed out Base URLs naming 0.0.0.0, which support staff pasted into
/// IdPs; a command run with the bind address `…:0` printed port 0.
pub fn unreachable_public_url(public_url: &str) -> Option<String> {
    let authority = public_url.split_once("://").map_or(public_url, |(_, rest)| rest);
    let authority = authority.split(['/', '?', '#']).next().unwrap_or_default();
    let (host, port) = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split_once(']').unwrap_or((bracketed, "")),
        None => authority.rsplit_once(':').unwrap_or((authority, "")),
    };
    let unspecified = host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_unspecified());
    let port_zero = port.trim_start_matches(':') == "0";
    (unspecified || port_zero).then(|| {
        format!(
            "Base URLs name {}, an address no client can reach: set --public-url (SCIMD_PUBLIC_URL) \
             to the origin IdPs reach scimd at, e.g. https://scim.example.com",
            public_url.trim_end_matches('/')
        )
    })
}

pub fn create_tenant(store: &Store, clock: &dyn Clock, name: &str, label: Option<&str>) -> Result<CreatedTenant> {
    validate_tenant_name(name)?;
    let token = BearerToken::generate();
    let hash = secrets::hash_secret(&token.secret)?;
    let now = clock.now();
    let tenant = store.write(|tx| {
        let tenant = tx.create_tenant(name, now)?;
        let cred = NewCredential { id: &token.id, kind: "bearer", label, secret_hash: &hash, expires_at: None };
        tx.insert_credential(tenant.id, &cred, now)?;
        let events = [
            admin_event("tenant.created", "Tenant", name, json!({"tenant": name, "strict_rfc": false})),
            admin_event(
                "credential.issued",
                "Credential",
                &token.id,
                json!({"id": token.id, "kind": "bearer", "label": label}),
            ),
        ];
        tx.append_events(tenant.id, &events, None, now)?;
        Ok(tenant)
    })?;
    Ok(CreatedTenant { tenant, bearer_token: token.expose() })
}

/// A tenant with no credentials yet (the admin page issues them next).
pub fn create_bare_tenant(store: &Store, clock: &dyn Clock, name: &str, strict_rfc: bool) -> Result<TenantRow> {
    validate_tenant_name(name)?;
    store.write(|tx| {
        let mut tenant = tx.create_tenant(name, clock.now())?;
        if strict_rfc {
            tx.set_strict_rfc(tenant.id, true)?;
            tenant.strict_rfc = true;
        }
        let event = admin_event("tenant.created", "Tenant", name, json!({"tenant": name, "strict_rfc": strict_rfc}));
        tx.append_events(tenant.id, &[event], None, clock.now())?;
        Ok(tenant)
    })
}

pub fn list_tenants(store: &Store) -> Result<Vec<TenantRow>> {
    store.read(|tx| tx.list_tenants())
}

/// The tenant named `name`, or the 404 that says there is none.
pub fn named(tx: &mut Tx<'_>, name: &str) -> Result<TenantRow> {
    tx.tenant_by_name(name)?.ok_or_else(|| Error::NotFound(format!("no tenant named {}", Quoted(name))))
}

/// The id of the tenant named `name`, or the 404 that says there is none.
pub fn id_of(store: &Store, name: &str) -> Result<TenantId> {
    Ok(store.read(|tx| named(tx, name))?.id)
}

/// A tenant as the CLI's `--json` and the admin API show it.
pub fn tenant_json(public_url: &str, t: &TenantRow, stats: Option<&TenantStats>) -> Value {
    let mut out = json!({
        "tenant": t.name,
        "base_url": base_url(public_url, &t.name),
        "created_at": format_datetime(t.created_at),
        "disabled": t.disabled,
        "mode": if t.strict_rfc { "strict" } else { "compatible" },
    });
    if let Some(s) = stats {
        out["users"] = s.users.into();
        out["groups"] = s.groups.into();
        out["last_activity"] = s.last_activity.map(format_datetime).into();
    }
    warn_of_unreachable_base_url(&mut out, public_url);
    out
}

/// Adds `base_url_warning` to JSON that carries a Base URL no client can reach, so the host
/// app's automation, which reads no server log, can tell its operators before they paste it.
pub fn warn_of_unreachable_base_url(out: &mut Value, url: &str) {
    if let Some(problem) = unreachable_public_url(url) {
        out["base_url_warning"] = problem.into();
    }
}

/// Every tenant with its counts and last SCIM activity, by name.
pub fn tenant_overviews(store: &Store) -> Result<Vec<(TenantRow, TenantStats)>> {
    store.number_events(None)?;
    store.read(|tx| {
        let tenants = tx.list_tenants()?;
        let mut stats = tx.all_tenant_stats()?;
        Ok(tenants
            .into_iter()
            .map(|t| {
                let s = stats.remove(&t.id).unwrap_or_default();
                (t, s)
            })
            .collect())
    })
}

pub fn tenant_overview(store: &Store, name: &str) -> Result<(TenantRow, TenantStats)> {
    let tenant = numbered_tenant(store, name)?;
    let stats = store.read(|tx| tx.tenant_stats(tenant.id))?;
    Ok((tenant, stats))
}

/// The tenant named `name`, its events numbered up to every change committed before now.
fn numbered_tenant(store: &Store, name: &str) -> Result<TenantRow> {
    let tenant = store.read(|tx| named(tx, name))?;
    store.number_events(Some(tenant.id))?;
    Ok(tenant)
}

/// The tenant's events after `after` in sequence order (at most `limit`, ≤ 1000), as the JSON
/// array of `EventJson`s: a consumer that resumes from the last `seq` it saw misses nothing and
/// sees nothing twice.
pub fn events_after(store: &Store, name: &str, after: i64, limit: i64) -> Result<String> {
    let rows = events_page(store, name, after, limit)?;
    let events: Vec<EventJson<'_>> = rows.iter().map(|e| EventJson::new(name, e)).collect();
    serde_json::to_string(&events).map_err(Error::internal)
}

/// The rows behind `events_after`.
pub fn events_page(store: &Store, name: &str, after: i64, limit: i64) -> Result<Vec<EventRow>> {
    let tenant = numbered_tenant(store, name)?;
    store.read(|tx| tx.events_after(tenant.id, after.max(0), limit.clamp(1, 1000)))
}

/// An event as the pull API returns it and as a webhook's `data` carries it. Its stored `data`
/// is copied as text: parsing it into a `Value` and writing it out again was most of the CPU a
/// webhook delivery spent on its body.
#[derive(Serialize)]
pub struct EventJson<'a> {
    id: &'a str,
    seq: i64,
    tenant: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    resource_type: Option<&'a str>,
    resource_id: Option<&'a str>,
    occurred_at: String,
    request_id: Option<&'a str>,
    /// `null` if the stored text is not JSON (never written so, but a reader must not fail).
    data: Option<&'a RawValue>,
}

impl<'a> EventJson<'a> {
    pub fn new(tenant: &'a str, e: &'a EventRow) -> Self {
        EventJson {
            id: &e.id,
            seq: e.seq,
            tenant,
            event_type: &e.event_type,
            resource_type: e.resource_type.as_deref(),
            resource_id: e.resource_id.as_deref(),
            occurred_at: format_datetime(e.occurred_at),
            request_id: e.request_id.as_deref(),
            data: serde_json::from_str(&e.data).ok(),
        }
    }
}

/// A disabled tenant's credentials stop working (within the recheck interval) but its data
/// stays; enabling it again restores access.
pub fn set_disabled(store: &Store, clock: &dyn Clock, name: &str, disabled: bool) -> Result<()> {
    store.write(|tx| {
        let tenant = named(tx, name)?;
        tx.set_tenant_disabled(tenant.id, disabled.then(|| clock.now()))?;
        let event_type = if disabled { "tenant.disabled" } else { "tenant.enabled" };
        tx.append_events(
            tenant.id,
            &[admin_event(event_type, "Tenant", name, json!({"tenant": name}))],
            None,
            clock.now(),
        )
    })
}

/// Strict RFC mode refuses the client quirks `scim::compat` otherwise accepts.
pub fn set_strict_rfc(store: &Store, name: &str, strict: bool) -> Result<()> {
    store.write(|tx| {
        let tenant = named(tx, name)?;
        tx.set_strict_rfc(tenant.id, strict)
    })
}

/// Deletes the tenant with all its data. When webhook endpoints receive its events, it
/// emits `tenant.deleted` and the row (with its events) stays, renamed out of the way, until
/// they have delivered everything; otherwise it goes at once.
pub fn delete_tenant(store: &Store, clock: &dyn Clock, name: &str) -> Result<()> {
    store.write(|tx| {
        let tenant = named(tx, name)?;
        if tx.tenant_has_webhook_streams(tenant.id)? {
            tx.retire_tenant(tenant.id, clock.now())?;
            let deleted = admin_event("tenant.deleted", "Tenant", name, json!({"tenant": name}));
            tx.append_events(tenant.id, &[deleted], None, clock.now())
        } else {
            tx.delete_tenant(tenant.id)?;
            Ok(())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names_fit_in_a_base_url() {
        for ok in ["acme", "a", "acme-corp", "x1", &"a".repeat(63)] {
            assert!(validate_tenant_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Acme", "acme_corp", "-acme", "acme-", "ac me", "acmé", "a/b", &"a".repeat(64)] {
            assert!(validate_tenant_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_event_carries_its_stored_data_as_written_and_unreadable_data_as_null() {
        use chrono::TimeZone;
        let mut row = EventRow {
            seq: 7,
            id: "e-1".into(),
            event_type: "user.updated".into(),
            resource_type: Some("User".into()),
            resource_id: Some("u-1".into()),
            occurred_at: chrono::Utc.with_ymd_and_hms(2026, 12, 5, 8, 0, 0).unwrap(),
            request_id: None,
            data: r#"{"changed":["title"],"after":{"title":"Dr \u00e9","n":1.50}}"#.into(),
        };
        let text = serde_json::to_string(&EventJson::new("acme", &row)).unwrap();
        assert_eq!(
            text,
            r#"{"id":"e-1","seq":7,"tenant":"acme","type":"user.updated","resource_type":"User","#.to_string()
                + r#""resource_id":"u-1","occurred_at":"2026-12-05T08:00:00.000Z","request_id":null,"#
                + r#""data":{"changed":["title"],"after":{"title":"Dr \u00e9","n":1.50}}}"#
        );
        for unreadable in ["", "{\"a\":", "not json"] {
            row.data = unreadable.into();
            let event: Value = serde_json::to_value(EventJson::new("acme", &row)).unwrap();
            assert_eq!(event["data"], Value::Null, "{unreadable:?}");
        }
    }

    #[test]
    fn a_public_url_naming_every_interface_is_one_no_client_can_reach() {
        for unreachable in [
            "http://0.0.0.0:8080",
            "http://0.0.0.0",
            "http://[::]:8080",
            "https://[::]/scim/",
            "http://0.0.0.0:8080/",
            "http://127.0.0.1:0",
            "http://[::1]:0/x",
        ] {
            let said = unreachable_public_url(unreachable).unwrap_or_else(|| panic!("{unreachable}"));
            assert!(said.contains(unreachable.trim_end_matches('/')) && said.contains("--public-url"), "{said}");
        }
        for reachable in [
            "http://127.0.0.1:8080",
            "https://scim.example.com",
            "https://scim.example.com:8443/provisioning",
            "http://[::1]:8080",
            "http://10.0.0.7",
            "http://0.0.0.0.example.com",
            "http://127.0.0.1:8000",
            "http://[::1]",
        ] {
            assert_eq!(unreachable_public_url(reachable), None, "{reachable}");
        }
    }

    #[test]
    fn base_url_joins_without_double_slashes() {
        assert_eq!(base_url("http://h:1/", "acme"), "http://h:1/scim/v2/acme");
        assert_eq!(base_url("https://scim.example.com", "a"), "https://scim.example.com/scim/v2/a");
    }
}
