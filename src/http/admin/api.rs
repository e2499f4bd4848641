//! The admin JSON API for the host app's automation (`Authorization: Bearer scimdadm_…`): the
//! same operations as the admin page.
//!
//! GET/POST /tenants · GET/DELETE /tenants/{name} · POST /tenants/{name}/disable|enable ·
//! GET/POST /tenants/{name}/credentials · DELETE /tenants/{name}/credentials/{id} ·
//! GET /tenants/{name}/users|groups?q=&startIndex=&count= · GET /tenants/{name}/events?after=&limit=
//! · webhooks and the request log: `api_webhooks`

use super::body::{Json, Query};
use super::{AdminApiCaller, ApiError};
use crate::admin::directory::{self, Paging};
use crate::credentials::{self, Kind};
use crate::error::Error;
use crate::http::{blocking, AppState};
use crate::tenancy;
use actix_web::http::header::ContentType;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

type Reply = Result<HttpResponse, ApiError>;

pub fn scope() -> actix_web::Scope {
    web::scope("/admin/api")
        .service(
            crate::http::readable("/tenants", list_tenants)
                .route(web::post().to(create_tenant))
                .default_service(not_allowed("GET, HEAD, POST")),
        )
        .service(
            crate::http::readable("/tenants/{name}", show_tenant)
                .route(web::delete().to(delete_tenant))
                .default_service(not_allowed("GET, HEAD, DELETE")),
        )
        .service(
            web::resource("/tenants/{name}/disable")
                .route(web::post().to(disable))
                .default_service(not_allowed("POST")),
        )
        .service(
            web::resource("/tenants/{name}/enable").route(web::post().to(enable)).default_service(not_allowed("POST")),
        )
        .service(
            crate::http::readable("/tenants/{name}/credentials", list_credentials)
                .route(web::post().to(issue_credential))
                .default_service(not_allowed("GET, HEAD, POST")),
        )
        .service(
            web::resource("/tenants/{name}/credentials/{id}")
                .route(web::delete().to(revoke_credential))
                .default_service(not_allowed("DELETE")),
        )
        .service(crate::http::readable("/tenants/{name}/events", events).default_service(not_allowed("GET, HEAD")))
        .configure(super::api_webhooks::routes)
        .service(crate::http::readable("/tenants/{name}/users", users).default_service(not_allowed("GET, HEAD")))
        .service(crate::http::readable("/tenants/{name}/groups", groups).default_service(not_allowed("GET, HEAD")))
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(ApiError(Error::NotFound("no such admin API endpoint".into())))
        }))
}

pub(super) fn not_allowed(allow: &'static str) -> actix_web::Route {
    web::to(move || async move { Err::<HttpResponse, _>(ApiError(Error::MethodNotAllowed(allow))) })
}

async fn list_tenants(state: web::Data<AppState>, _caller: AdminApiCaller) -> Reply {
    let s = state.clone();
    let rows = blocking(move || tenancy::tenant_overviews(&s.store)).await?;
    let out: Vec<Value> = rows.iter().map(|(t, st)| tenancy::tenant_json(&state.public_url, t, Some(st))).collect();
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTenant {
    name: String,
    #[serde(default)]
    strict_rfc: bool,
}

async fn create_tenant(state: web::Data<AppState>, caller: AdminApiCaller, body: Json<NewTenant>) -> Reply {
    let NewTenant { name, strict_rfc } = body.0;
    caller.audit("create tenant", &name);
    let s = state.clone();
    let tenant = blocking(move || tenancy::create_bare_tenant(&s.store, s.clock.as_ref(), &name, strict_rfc)).await?;
    let stats = crate::store::TenantStats::default();
    Ok(HttpResponse::Created().json(tenancy::tenant_json(&state.public_url, &tenant, Some(&stats))))
}

async fn show_tenant(state: web::Data<AppState>, _caller: AdminApiCaller, path: web::Path<String>) -> Reply {
    let name = path.into_inner();
    let s = state.clone();
    let (tenant, stats) = blocking(move || tenancy::tenant_overview(&s.store, &name)).await?;
    Ok(HttpResponse::Ok().json(tenancy::tenant_json(&state.public_url, &tenant, Some(&stats))))
}

async fn delete_tenant(state: web::Data<AppState>, caller: AdminApiCaller, path: web::Path<String>) -> Reply {
    let name = path.into_inner();
    caller.audit("delete tenant", &name);
    let (s, tenant) = (state.clone(), name.clone());
    blocking(move || tenancy::delete_tenant(&s.store, s.clock.as_ref(), &tenant)).await?;
    state.auth.forget_tenant(&name);
    Ok(HttpResponse::NoContent().finish())
}

async fn set_disabled(state: web::Data<AppState>, name: String, disabled: bool) -> Reply {
    let (s, tenant) = (state.clone(), name.clone());
    let (row, stats) = blocking(move || {
        tenancy::set_disabled(&s.store, s.clock.as_ref(), &tenant, disabled)?;
        tenancy::tenant_overview(&s.store, &tenant)
    })
    .await?;
    state.auth.forget_tenant(&name);
    Ok(HttpResponse::Ok().json(tenancy::tenant_json(&state.public_url, &row, Some(&stats))))
}

async fn disable(state: web::Data<AppState>, caller: AdminApiCaller, path: web::Path<String>) -> Reply {
    caller.audit("disable tenant", &path);
    set_disabled(state, path.into_inner(), true).await
}

async fn enable(state: web::Data<AppState>, caller: AdminApiCaller, path: web::Path<String>) -> Reply {
    caller.audit("enable tenant", &path);
    set_disabled(state, path.into_inner(), false).await
}

async fn list_credentials(state: web::Data<AppState>, _caller: AdminApiCaller, path: web::Path<String>) -> Reply {
    let name = path.into_inner();
    let s = state.clone();
    let rows = blocking(move || credentials::list(&s.store, &name)).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(credentials::row_json).collect::<Vec<_>>()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCredential {
    kind: String,
    label: Option<String>,
    /// `90d`, `12h`, … (default: no expiry).
    expires_in: Option<String>,
}

async fn issue_credential(
    state: web::Data<AppState>,
    caller: AdminApiCaller,
    path: web::Path<String>,
    body: Json<NewCredential>,
) -> Reply {
    let name = path.into_inner();
    caller.audit("issue credential", &name);
    let NewCredential { kind, label, expires_in } = body.0;
    let kind = Kind::parse(&kind)?;
    let expires = expires_in.as_deref().map(credentials::parse_duration).transpose()?;
    let (s, tenant) = (state.clone(), name.clone());
    let issued =
        blocking(move || credentials::issue(&s.store, s.clock.as_ref(), &tenant, kind, label.as_deref(), expires))
            .await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(issued.to_json(&name, &state.base_url(&name))))
}

async fn revoke_credential(
    state: web::Data<AppState>,
    caller: AdminApiCaller,
    path: web::Path<(String, String)>,
) -> Reply {
    let (name, id) = path.into_inner();
    caller.audit("revoke credential", &name);
    let (s, cred) = (state.clone(), id.clone());
    let tenant = blocking(move || credentials::revoke(&s.store, s.clock.as_ref(), &name, &cred)).await?;
    state.auth.forget_credential(tenant, &id);
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
struct EventsQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

async fn events(
    state: web::Data<AppState>,
    _caller: AdminApiCaller,
    path: web::Path<String>,
    query: Query<EventsQuery>,
) -> Reply {
    let name = path.into_inner();
    let EventsQuery { after, limit } = query.0;
    let s = state.clone();
    let events =
        blocking(move || tenancy::events_after(&s.store, &name, after.unwrap_or(0), limit.unwrap_or(100))).await?;
    Ok(HttpResponse::Ok().content_type(ContentType::json()).body(events))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BrowseQuery {
    q: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
}

/// Runs one directory listing (`directory::users` or `::groups`) as JSON.
async fn browse<T: serde::Serialize + Send + 'static>(
    state: web::Data<AppState>,
    tenant: String,
    query: BrowseQuery,
    list: directory::ListFn<T>,
) -> Reply {
    let BrowseQuery { q, start_index, count } = query;
    let listing = blocking(move || list(&state.store, &tenant, q.as_deref(), Paging::new(start_index, count))).await?;
    Ok(HttpResponse::Ok().json(listing))
}

async fn users(
    state: web::Data<AppState>,
    _caller: AdminApiCaller,
    path: web::Path<String>,
    query: Query<BrowseQuery>,
) -> Reply {
    browse(state, path.into_inner(), query.0, directory::users).await
}

async fn groups(
    state: web::Data<AppState>,
    _caller: AdminApiCaller,
    path: web::Path<String>,
    query: Query<BrowseQuery>,
) -> Reply {
    browse(state, path.into_inner(), query.0, directory::groups).await
}
