//! The admin page's handlers for webhooks (list, add, delivery state, retry now, replay,
//! remove), a tenant's events and its request log ("activity").

use super::pages::html;
use super::{redirect, views_delivery as views, AdminSession, PageError};
use crate::activity;
use crate::error::{Error, Quoted};
use crate::http::{blocking, AppState};
use crate::tenancy;
use crate::webhooks::{self, Target};
use actix_web::{web, HttpResponse};
use serde::Deserialize;

type Page = Result<HttpResponse, PageError>;

/// Events shown per page.
const EVENTS_PAGE: i64 = 100;

pub fn routes(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .route("/webhooks", web::get().to(endpoints))
        .route("/webhooks", web::post().to(add))
        .route("/webhooks/{id}", web::get().to(endpoint))
        .route("/webhooks/{id}/retry", web::post().to(retry))
        .route("/webhooks/{id}/replay", web::post().to(replay))
        .route("/webhooks/{id}/remove", web::post().to(remove))
        .route("/tenants/{name}/events", web::get().to(events))
        .route("/tenants/{name}/activity", web::get().to(activity))
}

async fn endpoints(state: web::Data<AppState>, admin: AdminSession) -> Page {
    let (rows, tenants) = blocking(move || {
        let rows = webhooks::list(&state.store, None)?;
        let tenants = tenancy::list_tenants(&state.store)?.into_iter().map(|t| t.name).collect::<Vec<_>>();
        Ok((rows, tenants))
    })
    .await?;
    Ok(html(views::endpoints(&admin.session, &rows, &tenants)))
}

#[derive(Deserialize)]
struct AddForm {
    csrf: String,
    url: String,
    /// A tenant's name, or `*` for all tenants.
    tenant: String,
    events: Option<String>,
    label: Option<String>,
}

async fn add(state: web::Data<AppState>, admin: AdminSession, form: web::Form<AddForm>) -> Page {
    admin.check_csrf(&form.csrf)?;
    let AddForm { url, tenant, events, label, .. } = form.into_inner();
    admin.audit("add webhook endpoint", &tenant);
    let target = if tenant == "*" { Target::AllTenants } else { Target::Tenant(tenant) };
    let s = state.clone();
    let registered = blocking(move || {
        webhooks::add(&s.store, s.clock.as_ref(), &target, url.trim(), events.as_deref(), label.as_deref())
    })
    .await?;
    Ok(html(views::added(&admin.session, &registered.endpoint, &registered.secret)))
}

async fn endpoint(state: web::Data<AppState>, admin: AdminSession, path: web::Path<String>) -> Page {
    let id = path.into_inner();
    let (endpoint, deliveries) = blocking(move || webhooks::show(&state.store, &id, None)).await?;
    Ok(html(views::endpoint(&admin.session, &endpoint, &deliveries)))
}

#[derive(Deserialize)]
struct RetryForm {
    csrf: String,
    tenant: Option<String>,
}

async fn retry(
    state: web::Data<AppState>,
    admin: AdminSession,
    path: web::Path<String>,
    form: web::Form<RetryForm>,
) -> Page {
    admin.check_csrf(&form.csrf)?;
    let id = path.into_inner();
    let tenant = form.into_inner().tenant.filter(|t| !t.is_empty());
    admin.audit("retry webhook deliveries", tenant.as_deref().unwrap_or("*"));
    let (s, endpoint) = (state.clone(), id.clone());
    blocking(move || webhooks::retry_now(&s.store, s.clock.as_ref(), &endpoint, tenant.as_deref())).await?;
    Ok(redirect(&format!("/admin/webhooks/{id}")))
}

#[derive(Deserialize)]
struct ReplayForm {
    csrf: String,
    tenant: String,
    from_seq: String,
}

async fn replay(
    state: web::Data<AppState>,
    admin: AdminSession,
    path: web::Path<String>,
    form: web::Form<ReplayForm>,
) -> Page {
    admin.check_csrf(&form.csrf)?;
    let id = path.into_inner();
    let ReplayForm { tenant, from_seq, .. } = form.into_inner();
    let seq: i64 = from_seq.trim().parse().map_err(|_| {
        Error::invalid_value(format!("{from_seq} is not a sequence number", from_seq = Quoted(&from_seq)))
    })?;
    admin.audit("replay webhook deliveries", &tenant);
    let (s, endpoint) = (state.clone(), id.clone());
    blocking(move || webhooks::replay_from(&s.store, s.clock.as_ref(), &endpoint, &tenant, seq)).await?;
    Ok(redirect(&format!("/admin/webhooks/{id}")))
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: String,
}

async fn remove(
    state: web::Data<AppState>,
    admin: AdminSession,
    path: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> Page {
    admin.check_csrf(&form.csrf)?;
    let id = path.into_inner();
    admin.audit("remove webhook endpoint", &id);
    blocking(move || webhooks::remove(&state.store, &id)).await?;
    Ok(redirect("/admin/webhooks"))
}

#[derive(Deserialize)]
struct EventsQuery {
    after: Option<i64>,
}

/// The latest page of events unless `after` asks for another.
async fn events(
    state: web::Data<AppState>,
    admin: AdminSession,
    path: web::Path<String>,
    query: web::Query<EventsQuery>,
) -> Page {
    let name = path.into_inner();
    let asked = query.into_inner().after;
    let (s, tenant) = (state.clone(), name.clone());
    let (after, rows) = blocking(move || {
        let after = match asked {
            Some(a) => a.max(0),
            None => (tenancy::tenant_overview(&s.store, &tenant)?.1.latest_event - EVENTS_PAGE).max(0),
        };
        Ok((after, tenancy::events_page(&s.store, &tenant, after, EVENTS_PAGE)?))
    })
    .await?;
    Ok(html(views::events(&admin.session, &name, &rows, after, EVENTS_PAGE)))
}

async fn activity(
    state: web::Data<AppState>,
    admin: AdminSession,
    path: web::Path<String>,
    query: web::Query<activity::LogQuery>,
) -> Page {
    let name = path.into_inner();
    // The page's own size; a `limit` in the URL is ignored.
    let q = activity::LogQuery { limit: None, ..query.into_inner() };
    let filter = q.filter()?;
    let (s, tenant, f) = (state.clone(), name.clone(), filter.clone());
    let rows = blocking(move || activity::list(&s.store, &tenant, &f)).await?;
    let status = q.status.unwrap_or_default();
    Ok(html(views::activity(&admin.session, &name, &rows, &filter, status.trim())))
}
