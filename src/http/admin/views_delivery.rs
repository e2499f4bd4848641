//! The admin page's HTML for what the host app hears: webhook endpoints and their delivery
//! state, a tenant's events, and its request log.

use super::views::{csrf, layout, when};
use crate::activity::CLIENTS;
use crate::admin::accounts::Session;
use crate::clock::format_datetime;
use crate::scim::events::EVENT_TYPES;
use crate::store::{DeliveryRow, EndpointRow, EventRow, LogFilter, LogRow};
use crate::webhooks::delivery_state;
use maud::{html, Markup};

fn state_badge(d: &DeliveryRow) -> Markup {
    let state = delivery_state(d);
    html! {
        @match state {
            "failing" => span.badge.off { "failing" },
            "up to date" => span.badge.ok { "up to date" },
            other => span.badge { (other) },
        }
    }
}

fn scope_of(e: &EndpointRow) -> &str {
    e.tenant_name.as_deref().unwrap_or("all tenants")
}

/// Every endpoint, and the form to add one.
pub fn endpoints(session: &Session, rows: &[EndpointRow], tenants: &[String]) -> Markup {
    layout(
        "Webhooks",
        Some(session),
        html! {
            table {
                thead { tr { th { "URL" } th { "Tenants" } th { "Events" } th { "Label" } th { "State" } } }
                tbody {
                    @for e in rows {
                        tr {
                            td { a href={ "/admin/webhooks/" (e.id) } { code { (e.url) } } }
                            td { (scope_of(e)) }
                            td { (e.event_types.as_deref().unwrap_or("all")) }
                            td { (e.label.as_deref().unwrap_or("")) }
                            td { @if e.disabled_at.is_some() { span.badge.off { "disabled (410 Gone)" } } @else { span.badge.ok { "enabled" } } }
                        }
                    }
                    @if rows.is_empty() { tr { td colspan="5" .muted { "No webhook endpoints yet." } } }
                }
            }
            section {
                h2 { "Add an endpoint" }
                form method="post" action="/admin/webhooks" {
                    (csrf(session))
                    label for="url" { "URL" }
                    input #url type="text" name="url" required placeholder="https://app.example.com/hooks/scimd";
                    label for="tenant" { "Tenants" }
                    select #tenant name="tenant" {
                        option value="*" { "All tenants (including future ones)" }
                        @for t in tenants { option value=(t) { (t) } }
                    }
                    label for="events" { "Event types (comma-separated; empty for all)" }
                    input #events type="text" name="events" placeholder="user.deactivated, group.*";
                    p.muted { "Known types: " (EVENT_TYPES.join(", ")) }
                    label for="label" { "Label" }
                    input #label type="text" name="label" maxlength="200";
                    p { button type="submit" { "Add endpoint" } }
                }
            }
        },
    )
}

/// The one time an endpoint's signing secret is shown.
pub fn added(session: &Session, e: &EndpointRow, secret: &str) -> Markup {
    layout(
        "Webhook endpoint added",
        Some(session),
        html! {
            p.notice { "Copy the signing secret now: it is not shown again." }
            dl.values {
                dt { "URL" } dd { code { (e.url) } }
                dt { "Tenants" } dd { (scope_of(e)) }
                dt { label for="secret" { "Signing secret" } }
                dd { input.secret #secret type="text" readonly value=(secret); }
            }
            p { "Requests follow Standard Webhooks: verify " code { "webhook-signature" }
                " (v1, HMAC-SHA256 over " code { "webhook-id.webhook-timestamp.body" }
                ") with this secret, and deduplicate by " code { "webhook-id" } "." }
            p { a href={ "/admin/webhooks/" (e.id) } { "Delivery state of this endpoint" } }
        },
    )
}

/// An endpoint's streams with the operator's actions.
pub fn endpoint(session: &Session, e: &EndpointRow, deliveries: &[DeliveryRow]) -> Markup {
    let action = format!("/admin/webhooks/{}", e.id);
    layout(
        "Webhook endpoint",
        Some(session),
        html! {
            p { code { (e.url) } " · " (scope_of(e)) " · events: " (e.event_types.as_deref().unwrap_or("all"))
                @if e.disabled_at.is_some() { " · " span.badge.off { "disabled: the receiver answered 410 Gone" } } }
            table {
                thead { tr { th { "Tenant" } th { "Delivered / latest seq" } th { "State" } th { "Attempts" } th { "Next attempt" } th { "Last attempt" } th { "Last error" } th { "Actions" } } }
                tbody {
                    @for d in deliveries {
                        tr {
                            td { a href={ "/admin/tenants/" (d.tenant_name) "/events" } { (d.tenant_name) } }
                            td { (d.delivered_seq) " / " (d.latest_seq) }
                            td { (state_badge(d)) }
                            td { (d.attempts) }
                            td { (format_datetime(d.next_attempt_at)) }
                            td { (when(d.last_attempt_at)) }
                            td { (d.last_error.as_deref().unwrap_or("")) }
                            td {
                                form.inline method="post" action={ (action) "/retry" } {
                                    (csrf(session))
                                    input type="hidden" name="tenant" value=(d.tenant_name);
                                    button type="submit" aria-label={ "Retry now for " (d.tenant_name) } { "Retry now" }
                                }
                                form method="post" action={ (action) "/replay" } {
                                    (csrf(session))
                                    input type="hidden" name="tenant" value=(d.tenant_name);
                                    label for={ "seq-" (d.tenant_name) } { "Replay from seq" }
                                    input id={ "seq-" (d.tenant_name) } type="number" name="from_seq" min="1" value=(d.delivered_seq.max(1)) required;
                                    " " button type="submit" { "Replay" }
                                }
                            }
                        }
                    }
                    @if deliveries.is_empty() { tr { td colspan="8" .muted { "No tenant yet." } } }
                }
            }
            section {
                h2 { "Remove" }
                form.inline method="post" action={ (action) "/remove" } {
                    (csrf(session))
                    button.danger type="submit" { "Remove this endpoint" }
                }
            }
            p { a href="/admin/webhooks" { "All webhook endpoints" } }
        },
    )
}

/// A page of a tenant's events, oldest first from `after`.
pub fn events(session: &Session, tenant: &str, events: &[EventRow], after: i64, page: i64) -> Markup {
    let base = format!("/admin/tenants/{tenant}/events");
    layout(
        &format!("Events of {tenant}"),
        Some(session),
        html! {
            table {
                thead { tr { th { "Seq" } th { "Time" } th { "Type" } th { "Resource" } th { "Request id" } th { "Data" } } }
                tbody {
                    @for e in events {
                        tr {
                            td { (e.seq) } td { (format_datetime(e.occurred_at)) } td { code { (e.event_type) } }
                            td { (e.resource_type.as_deref().unwrap_or("")) " " code.muted { (e.resource_id.as_deref().unwrap_or("")) } }
                            td { code.muted { (e.request_id.as_deref().unwrap_or("")) } }
                            td { code { (e.data.chars().take(300).collect::<String>()) } }
                        }
                    }
                    @if events.is_empty() { tr { td colspan="6" .muted { "No events after seq " (after) "." } } }
                }
            }
            p {
                @if after > 0 { a href={ (base) "?after=" ((after - page).max(0)) } { "Earlier" } " · " }
                @if let Some(last) = events.last() { a href={ (base) "?after=" (last.seq) } { "Later" } }
            }
            p { a href={ "/admin/tenants/" (tenant) } { "Back to tenant " (tenant) } }
        },
    )
}

/// A page of the tenant's request log, newest first, with its filter form.
pub fn activity(session: &Session, tenant: &str, rows: &[LogRow], f: &LogFilter, status: &str) -> Markup {
    let base = format!("/admin/tenants/{tenant}/activity");
    let client = f.client.as_deref().unwrap_or("");
    let resource = f.resource.as_deref().unwrap_or("");
    layout(
        &format!("Activity of {tenant}"),
        Some(session),
        html! {
            form method="get" action=(base) {
                label for="status" { "Status (e.g. 404 or 4xx)" }
                input #status type="text" name="status" value=(status);
                label for="client" { "Client" }
                select #client name="client" {
                    option value="" { "any" }
                    @for c in CLIENTS { option value=(c) selected[*c == client] { (c) } }
                }
                label for="resource" { "Resource id" }
                input #resource type="text" name="resource" value=(resource);
                p { button type="submit" { "Filter" } }
            }
            table {
                thead { tr { th { "Time" } th { "Request" } th { "Client" } th { "Status" } th { "Latency" } th { "Compat rules" } th { "Resources" } } }
                tbody {
                    @for r in rows {
                        tr {
                            td { (format_datetime(r.at)) }
                            td {
                                code { (r.method) " " (r.path) }
                                @if let Some(filter) = &r.filter { br; span.muted { "filter: " } code { (filter) } }
                                @if let Some(patch) = &r.patch_summary { br; span.muted { "patch: " } (patch) }
                            }
                            td { (r.client) }
                            td {
                                @if r.status < 400 { span.badge.ok { (r.status) } } @else { span.badge.off { (r.status) } }
                                @if let Some(t) = &r.scim_type { " " (t) }
                            }
                            td { (format!("{:.1} ms", r.latency_us as f64 / 1000.0)) }
                            td { (r.compat.as_deref().unwrap_or("")) }
                            td { @for id in &r.resource_ids { code.muted { (id) } " " } }
                        }
                    }
                    @if rows.is_empty() { tr { td colspan="7" .muted { "No requests match." } } }
                }
            }
            @if let Some(last) = rows.last() {
                @if rows.len() as i64 == f.limit {
                    p { a href={ (base) "?status=" (status) "&client=" (client) "&resource=" (resource) "&before=" (crate::activity::cursor(last)) } { "Older" } }
                }
            }
            p { a href={ "/admin/tenants/" (tenant) } { "Back to tenant " (tenant) } }
        },
    )
}
