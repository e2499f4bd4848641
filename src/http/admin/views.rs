//! The admin page's HTML (maud escapes every interpolated value). Plain forms and links: it
//! works without JavaScript, every input has a label, and the CSS fits a laptop screen.

use crate::admin::accounts::Session;
use crate::admin::directory::{GroupSummary, Listing, UserSummary};
use crate::clock::format_datetime;
use crate::credentials::Issued;
use crate::store::{CredentialRow, DeliveryRow, EndpointRow, TenantRow, TenantStats};
use actix_web::http::StatusCode;
use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};

const CSS: &str = "
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{background:#1d232a;color:#fff;padding:.6rem 1.5rem;display:flex;gap:1rem;align-items:center}
header a{color:#fff;font-weight:600;text-decoration:none}header .who{margin-left:auto}
main{max-width:72rem;margin:1.5rem auto;padding:0 1.5rem}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #dde1e6;vertical-align:top}
th{background:#eef0f3;font-weight:600}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:1rem 1.25rem;margin:1rem 0}
label{display:block;font-weight:600;margin:.6rem 0 .2rem}
input[type=text],input[type=email],input[type=password],select{font:inherit;padding:.35rem .5rem;width:22rem;max-width:100%}
input.secret{font-family:ui-monospace,monospace;width:100%;box-sizing:border-box;background:#f6f7f9}
button{font:inherit;padding:.35rem .9rem;cursor:pointer}button.danger{color:#fff;background:#b42318;border:1px solid #912018}
form.inline{display:inline}.muted{color:#5b6570}.badge{padding:.05rem .45rem;border-radius:4px;font-size:.85em}
.ok{background:#dcfae6;color:#085d3a}.off{background:#fee4e2;color:#912018}
.notice{background:#fffaeb;border:1px solid #fedf89;padding:.75rem 1rem;border-radius:6px}
dl.values dt{font-weight:600;margin-top:.7rem}dl.values dd{margin:0}
";

pub(super) fn layout(title: &str, session: Option<&Session>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · scimd admin" }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    a href="/admin" { "scimd admin" }
                    @if let Some(s) = session {
                        a href="/admin/webhooks" { "Webhooks" }
                        span.who { (s.email) }
                        form.inline method="post" action="/admin/logout" {
                            input type="hidden" name="csrf" value=(s.csrf_token);
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

pub(super) fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(format_datetime).unwrap_or_else(|| "never".into())
}

pub(super) fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf_token); }
}

pub fn error_page(status: StatusCode, detail: &str) -> Markup {
    let title = format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("Error"));
    layout(&title, None, html! { p { (detail) } p { a href="/admin" { "Back to the tenants" } } })
}

pub fn login(csrf_token: &str, problem: Option<&str>) -> Markup {
    layout(
        "Sign in",
        None,
        html! {
            @if let Some(p) = problem { p.notice role="alert" { (p) } }
            form method="post" action="/admin/login" {
                input type="hidden" name="csrf" value=(csrf_token);
                label for="email" { "Email" }
                input #email type="email" name="email" autocomplete="username" required;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                p { button type="submit" { "Sign in" } }
            }
        },
    )
}

fn status_badge(disabled: bool) -> Markup {
    html! {
        @if disabled { span.badge.off { "disabled" } } @else { span.badge.ok { "active" } }
    }
}

/// Said above Base URLs that reach no scimd (`tenancy::unreachable_public_url`): the support
/// staff who copy them into an IdP are the ones to notice.
fn public_url_notice(problem: Option<&str>) -> Markup {
    html! { @if let Some(p) = problem { p.notice role="alert" { (p) } } }
}

pub fn tenants(
    session: &Session,
    rows: &[(TenantRow, TenantStats)],
    base_url: impl Fn(&str) -> String,
    public_url_problem: Option<&str>,
) -> Markup {
    layout(
        "Tenants",
        Some(session),
        html! {
            (public_url_notice(public_url_problem))
            table {
                thead { tr { th { "Tenant" } th { "SCIM Base URL" } th { "Users" } th { "Groups" } th { "Last SCIM activity" } th { "Status" } } }
                tbody {
                    @for (t, s) in rows {
                        tr {
                            td { a href={ "/admin/tenants/" (t.name) } { (t.name) } }
                            td { code { (base_url(&t.name)) } }
                            td { (s.users) } td { (s.groups) }
                            td { (when(s.last_activity)) }
                            td { (status_badge(t.disabled)) }
                        }
                    }
                    @if rows.is_empty() { tr { td colspan="6" .muted { "No tenants yet." } } }
                }
            }
            section {
                h2 { "Create a tenant" }
                form method="post" action="/admin/tenants" {
                    (csrf(session))
                    label for="name" { "Name (a-z, 0-9 and inner hyphens; it becomes part of the Base URL)" }
                    input #name type="text" name="name" pattern="[a-z0-9]([a-z0-9-]*[a-z0-9])?" maxlength="63" required;
                    label { input type="checkbox" name="strict_rfc" value="on"; " Strict RFC mode (refuse the client quirks scimd otherwise accepts)" }
                    p { button type="submit" { "Create tenant" } }
                }
            }
        },
    )
}

pub struct TenantPage<'a> {
    pub session: &'a Session,
    pub tenant: &'a TenantRow,
    pub stats: &'a TenantStats,
    pub base_url: &'a str,
    pub public_url_problem: Option<&'a str>,
    pub credentials: &'a [CredentialRow],
    /// The endpoints receiving this tenant's events, with this tenant's stream.
    pub webhooks: &'a [(EndpointRow, Option<DeliveryRow>)],
    pub now: DateTime<Utc>,
}

fn credential_state(c: &CredentialRow, now: DateTime<Utc>) -> Markup {
    html! {
        @if c.revoked { span.badge.off { "revoked" } }
        @else if !c.usable_at(now) { span.badge.off { "expired" } }
        @else { span.badge.ok { "active" } }
    }
}

pub fn tenant(p: &TenantPage<'_>) -> Markup {
    let t = p.tenant;
    let prefix = format!("/admin/tenants/{}", t.name);
    layout(
        &format!("Tenant {}", t.name),
        Some(p.session),
        html! {
            (public_url_notice(p.public_url_problem))
            p { "SCIM Base URL: " code { (p.base_url) } " · " (status_badge(t.disabled))
                " · " @if t.strict_rfc { "strict RFC mode" } @else { "compatible mode" } }
            p {
                a href={ (prefix) "/users" } { (p.stats.users) " users" } " · "
                a href={ (prefix) "/groups" } { (p.stats.groups) " groups" } " · last SCIM activity: " (when(p.stats.last_activity))
            }
            p {
                a href={ (prefix) "/activity" } { "Activity (request log)" } " · "
                a href={ (prefix) "/events" } { "Events" } " (latest seq " (p.stats.latest_event) ") · "
                a href="/admin/webhooks" { "Webhooks" }
            }
            section {
                h2 { "Webhooks" }
                table {
                    thead { tr { th { "URL" } th { "Tenants" } th { "Delivered / latest seq" } th { "State" } th { "Last error" } } }
                    tbody {
                        @for (e, d) in p.webhooks {
                            tr {
                                td { a href={ "/admin/webhooks/" (e.id) } { code { (e.url) } } }
                                td { (e.tenant_name.as_deref().unwrap_or("all tenants")) }
                                @if let Some(d) = d {
                                    td { (d.delivered_seq) " / " (d.latest_seq) }
                                    td { (crate::webhooks::delivery_state(d)) }
                                    td { (d.last_error.as_deref().unwrap_or("")) }
                                } @else { td colspan="3" {} }
                            }
                        }
                        @if p.webhooks.is_empty() { tr { td colspan="5" .muted { "No endpoint receives this tenant's events. " a href="/admin/webhooks" { "Add one" } } } }
                    }
                }
            }
            section {
                h2 { "Credentials" }
                table {
                    thead { tr { th { "Label" } th { "Kind" } th { "Id / username" } th { "Created" } th { "Last used" } th { "Expires" } th { "State" } th {} } }
                    tbody {
                        @for c in p.credentials {
                            tr {
                                td { (c.label.as_deref().unwrap_or("")) } td { (c.kind) } td { code { (c.id) } }
                                td { (format_datetime(c.created_at)) } td { (when(c.last_used_at)) }
                                td { (c.expires_at.map(format_datetime).unwrap_or_else(|| "no expiry".into())) }
                                td { (credential_state(c, p.now)) }
                                td {
                                    @if !c.revoked {
                                        form.inline method="post" action={ (prefix) "/credentials/" (c.id) "/revoke" } {
                                            (csrf(p.session))
                                            button.danger type="submit" aria-label={ "Revoke " (c.id) } { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                        @if p.credentials.is_empty() { tr { td colspan="8" .muted { "No credentials yet: issue one below." } } }
                    }
                }
                h3 { "Issue a credential" }
                form method="post" action={ (prefix) "/credentials" } {
                    (csrf(p.session))
                    label for="kind" { "Kind" }
                    select #kind name="kind" {
                        option value="basic" { "HTTP Basic: username and password (Okta SCIM 2.0 Basic Auth)" }
                        option value="bearer" { "Bearer token (Okta header auth, OneLogin, Entra ID)" }
                    }
                    label for="label" { "Label" }
                    input #label type="text" name="label" maxlength="100" placeholder="e.g. Okta production";
                    label for="expires_in" { "Expires" }
                    select #expires_in name="expires_in" {
                        option value="" { "never" } option value="30d" { "in 30 days" }
                        option value="90d" { "in 90 days" } option value="365d" { "in a year" }
                    }
                    p { button type="submit" { "Issue credential" } }
                }
            }
            section {
                h2 { "Tenant" }
                form.inline method="post" action={ (prefix) (if t.disabled { "/enable" } else { "/disable" }) } {
                    (csrf(p.session))
                    button type="submit" { @if t.disabled { "Enable tenant" } @else { "Disable tenant (its credentials stop working)" } }
                }
                " "
                a href={ (prefix) "/delete" } { "Delete tenant…" }
            }
        },
    )
}

/// The one time a secret is shown, in the order Okta's "Configure API Integration" asks.
pub fn issued(
    session: &Session,
    tenant: &str,
    base_url: &str,
    public_url_problem: Option<&str>,
    issued: &Issued,
) -> Markup {
    let field = |id: &str, label: &str, value: &str| {
        html! {
            dt { label for=(id) { (label) } }
            dd { input.secret #(id) type="text" readonly value=(value) spellcheck="false" autocomplete="off"; }
        }
    };
    layout(
        &format!("Credential issued for {tenant}"),
        Some(session),
        html! {
            (public_url_notice(public_url_problem))
            p.notice role="status" { strong { "Copy these values now." } " The secret is shown only this once; scimd keeps only its hash." }
            dl.values {
                (field("base_url", "Base URL", base_url))
                @if let (Some(u), Some(pw)) = (&issued.username, &issued.password) {
                    (field("username", "Username", u))
                    (field("password", "Password", pw))
                }
                @if let Some(token) = &issued.token { (field("token", "API Token", token)) }
                @if let Some(e) = issued.expires_at { dt { "Expires" } dd { (format_datetime(e)) } }
            }
            section {
                h2 { "Setting up the IdP" }
                h3 { "Okta" }
                p { "Provisioning → Integration → Configure API Integration: tick Enable API integration, paste the "
                    strong { "Base URL" } ", then the " strong { "Username" } " and " strong { "Password" }
                    " (SCIM 2.0 Basic Auth app) or the " strong { "API Token" } " (header auth), and press "
                    em { "Test API Credentials" } ". Unique identifier field for users: " code { "userName" } "." }
                h3 { "OneLogin" }
                p { "Configuration: paste the Base URL as " strong { "SCIM Base URL" } " and the token as "
                    strong { "SCIM Bearer Token" } " (OneLogin needs a bearer token), then enable the API connection." }
                h3 { "Microsoft Entra ID" }
                p { "Provisioning → Admin Credentials: paste the Base URL as " strong { "Tenant URL" }
                    " and the token as " strong { "Secret Token" } " (Entra needs a bearer token), then "
                    em { "Test Connection" } "." }
            }
            p { a href={ "/admin/tenants/" (tenant) } { "Done: back to tenant " (tenant) } }
        },
    )
}

pub fn confirm_delete(session: &Session, tenant: &TenantRow, stats: &TenantStats) -> Markup {
    layout(
        &format!("Delete tenant {}?", tenant.name),
        Some(session),
        html! {
            p.notice { "This deletes the tenant's " (stats.users) " users, " (stats.groups)
                " groups and all of its credentials, for good. Its IdP will get 401 from now on." }
            form method="post" action={ "/admin/tenants/" (tenant.name) "/delete" } {
                (csrf(session))
                label for="confirm" { "Type the tenant's name to confirm" }
                input #confirm type="text" name="confirm" required autocomplete="off";
                p { button.danger type="submit" { "Delete tenant and all of its data" } " "
                    a href={ "/admin/tenants/" (tenant.name) } { "Cancel" } }
            }
        },
    )
}

fn search_and_pages(
    action: &str,
    query: &str,
    total: i64,
    start_index: i64,
    shown: usize,
    page_size: i64,
) -> (Markup, Markup) {
    let link = |start: i64| {
        format!("{action}?q={}&start={start}", form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>())
    };
    let search = html! {
        form method="get" action=(action) {
            label for="q" { "Search by name (prefix, case-insensitive)" }
            input #q type="text" name="q" value=(query);
            " " button type="submit" { "Search" }
        }
    };
    let last = start_index + shown as i64 - 1;
    let pages = html! {
        p.muted {
            @if shown == 0 { "Nothing found." } @else { (start_index) "–" (last) " of " (total) }
            @if start_index > 1 { " · " a href=(link((start_index - page_size).max(1))) rel="prev" { "previous page" } }
            @if last < total { " · " a href=(link(last + 1)) rel="next" { "next page" } }
        }
    };
    (search, pages)
}

pub fn users(session: &Session, tenant: &str, query: &str, page_size: i64, listing: &Listing<UserSummary>) -> Markup {
    let action = format!("/admin/tenants/{tenant}/users");
    let (search, pages) =
        search_and_pages(&action, query, listing.total, listing.start_index, listing.items.len(), page_size);
    layout(
        &format!("Users of {tenant}"),
        Some(session),
        html! {
            (search)
            table {
                thead { tr { th { "userName" } th { "Display name" } th { "Email" } th { "Status" } th { "Groups" } th { "id" } } }
                tbody {
                    @for u in &listing.items {
                        tr {
                            td { (u.user_name) } td { (u.display_name.as_deref().unwrap_or("")) } td { (u.email.as_deref().unwrap_or("")) }
                            td { @if u.active { span.badge.ok { "active" } } @else { span.badge.off { "deactivated" } } }
                            td { (u.groups) } td { code.muted { (u.id) } }
                        }
                    }
                }
            }
            (pages)
            p { a href={ "/admin/tenants/" (tenant) } { "Back to tenant " (tenant) } }
        },
    )
}

pub fn groups(session: &Session, tenant: &str, query: &str, page_size: i64, listing: &Listing<GroupSummary>) -> Markup {
    let action = format!("/admin/tenants/{tenant}/groups");
    let (search, pages) =
        search_and_pages(&action, query, listing.total, listing.start_index, listing.items.len(), page_size);
    layout(
        &format!("Groups of {tenant}"),
        Some(session),
        html! {
            (search)
            table {
                thead { tr { th { "displayName" } th { "Members" } th { "id" } } }
                tbody {
                    @for g in &listing.items {
                        tr { td { (g.display_name) } td { (g.members) } td { code.muted { (g.id) } } }
                    }
                }
            }
            (pages)
            p { a href={ "/admin/tenants/" (tenant) } { "Back to tenant " (tenant) } }
        },
    )
}
