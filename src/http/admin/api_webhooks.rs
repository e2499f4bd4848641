//! The admin API's webhook endpoints and request log:
//!
//! GET/POST /webhooks · GET/DELETE /webhooks/{id} · POST /webhooks/{id}/retry ·
//! POST /webhooks/{id}/replay · GET /tenants/{name}/requests?status=&client=&resource=&before=&limit=

use super::body::{Json, OptionalJson, Query};
use super::{AdminApiCaller, ApiError};
use crate::activity;
use crate::error::Error;
use crate::http::{blocking, AppState};
use crate::webhooks::{self, Target};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

type Reply = Result<HttpResponse, ApiError>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        crate::http::readable("/webhooks", list)
            .route(web::post().to(add))
            .default_service(super::api::not_allowed("GET, HEAD, POST")),
    )
    .service(
        crate::http::readable("/webhooks/{id}", show)
            .route(web::delete().to(remove))
            .default_service(super::api::not_allowed("GET, HEAD, DELETE")),
    )
    .service(
        web::resource("/webhooks/{id}/retry")
            .route(web::post().to(retry))
            .default_service(super::api::not_allowed("POST")),
    )
    .service(
        web::resource("/webhooks/{id}/replay")
            .route(web::post().to(replay))
            .default_service(super::api::not_allowed("POST")),
    )
    .service(
        crate::http::readable("/tenants/{name}/requests", requests)
            .default_service(super::api::not_allowed("GET, HEAD")),
    );
}

#[derive(Deserialize)]
struct ListQuery {
    tenant: Option<String>,
}

async fn list(state: web::Data<AppState>, _caller: AdminApiCaller, query: Query<ListQuery>) -> Reply {
    let tenant = query.0.tenant;
    let rows = blocking(move || webhooks::list(&state.store, tenant.as_deref())).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(|e| webhooks::endpoint_json(e, None)).collect::<Vec<_>>()))
}

/// `events` as a list or a comma-separated string.
#[derive(Deserialize)]
#[serde(untagged)]
enum EventList {
    List(Vec<String>),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewEndpoint {
    tenant: Option<String>,
    #[serde(default)]
    all_tenants: bool,
    url: String,
    events: Option<EventList>,
    label: Option<String>,
}

async fn add(state: web::Data<AppState>, caller: AdminApiCaller, body: Json<NewEndpoint>) -> Reply {
    let NewEndpoint { tenant, all_tenants, url, events, label } = body.0;
    let target = match (tenant, all_tenants) {
        (Some(t), false) => Target::Tenant(t),
        (None, true) => Target::AllTenants,
        _ => return Err(Error::invalid_value("give either \"tenant\" or \"allTenants\": true").into()),
    };
    let events = events.map(|e| match e {
        EventList::List(items) => items.join(","),
        EventList::Text(text) => text,
    });
    caller.audit("add webhook endpoint", if let Target::Tenant(t) = &target { t } else { "*" });
    let s = state.clone();
    let registered =
        blocking(move || webhooks::add(&s.store, s.clock.as_ref(), &target, &url, events.as_deref(), label.as_deref()))
            .await?;
    let mut out = webhooks::endpoint_json(&registered.endpoint, None);
    out["secret"] = Value::from(registered.secret);
    Ok(HttpResponse::Created().insert_header((actix_web::http::header::CACHE_CONTROL, "no-store")).json(out))
}

async fn show(state: web::Data<AppState>, _caller: AdminApiCaller, path: web::Path<String>) -> Reply {
    let id = path.into_inner();
    let (endpoint, deliveries) = blocking(move || webhooks::show(&state.store, &id, None)).await?;
    Ok(HttpResponse::Ok().json(webhooks::endpoint_json(&endpoint, Some(&deliveries))))
}

async fn remove(state: web::Data<AppState>, caller: AdminApiCaller, path: web::Path<String>) -> Reply {
    let id = path.into_inner();
    caller.audit("remove webhook endpoint", &id);
    blocking(move || webhooks::remove(&state.store, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RetryBody {
    tenant: Option<String>,
}

async fn retry(
    state: web::Data<AppState>,
    caller: AdminApiCaller,
    path: web::Path<String>,
    body: OptionalJson<RetryBody>,
) -> Reply {
    let id = path.into_inner();
    let tenant = body.0.unwrap_or_default().tenant;
    caller.audit("retry webhook deliveries", tenant.as_deref().unwrap_or("*"));
    let s = state.clone();
    let n = blocking(move || webhooks::retry_now(&s.store, s.clock.as_ref(), &id, tenant.as_deref())).await?;
    Ok(HttpResponse::Ok().json(json!({"reset": n})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ReplayBody {
    tenant: String,
    from_seq: i64,
}

async fn replay(
    state: web::Data<AppState>,
    caller: AdminApiCaller,
    path: web::Path<String>,
    body: Json<ReplayBody>,
) -> Reply {
    let id = path.into_inner();
    let ReplayBody { tenant, from_seq } = body.0;
    caller.audit("replay webhook deliveries", &tenant);
    let s = state.clone();
    let n = blocking(move || webhooks::replay_from(&s.store, s.clock.as_ref(), &id, &tenant, from_seq)).await?;
    Ok(HttpResponse::Ok().json(json!({"reset": n})))
}

async fn requests(
    state: web::Data<AppState>,
    _caller: AdminApiCaller,
    path: web::Path<String>,
    query: Query<activity::LogQuery>,
) -> Reply {
    let name = path.into_inner();
    let filter = query.0.filter()?;
    let rows = blocking(move || activity::list(&state.store, &name, &filter)).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(activity::row_json).collect::<Vec<_>>()))
}
