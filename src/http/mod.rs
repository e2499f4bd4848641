//! Thin actix-web handlers: extract, run the use case off the async workers (a point read on
//! SQLite with a connection free runs in place; a write awaits its transaction, which runs on
//! the store's writer), render. No SQL and no protocol rules live here.

mod activity;
mod admin;
mod discovery;
pub mod error;
mod extract;
mod groups;
pub mod gzip;
mod media;
pub mod span;
mod users;

use crate::auth::Authenticator;
use crate::error::Error;
use crate::scim::service::ScimService;
use crate::tenancy;
use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{web, HttpResponse, HttpResponseBuilder};
use error::SCIM_CONTENT_TYPE;
use extract::Authenticated;
use serde_json::Value;

/// What every handler shares.
pub struct AppState {
    pub service: std::sync::Arc<ScimService>,
    pub auth: Authenticator,
    pub admin: crate::admin::AdminAuth,
    pub store: crate::store::Store,
    pub clock: std::sync::Arc<dyn crate::clock::Clock>,
    pub public_url: String,
    pub max_body_bytes: usize,
    pub request_log: crate::activity::RequestLog,
}

impl AppState {
    pub fn base_url(&self, tenant: &str) -> String {
        tenancy::base_url(&self.public_url, tenant)
    }

    /// What the admin pages say above the Base URLs they show, if those reach no scimd.
    pub fn public_url_problem(&self) -> Option<String> {
        tenancy::unreachable_public_url(&self.public_url)
    }
}

/// Runs blocking use-case code (database, argon2) on actix's blocking pool.
pub async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> crate::error::Result<R> + Send + 'static,
) -> Result<R, Error> {
    web::block(f).await.map_err(Error::internal)?
}

pub use activity::note_patch;

/// Names the compatibility rules a request needed (`scim::compat`), so an operator or a test
/// can see which client quirks were accommodated.
pub fn with_compat(builder: &mut HttpResponseBuilder, fired: &[crate::scim::compat::Rule]) {
    if !fired.is_empty() {
        let names: Vec<&str> = fired.iter().map(|r| r.name()).collect();
        builder.insert_header(("X-Scimd-Compat", names.join(",")));
    }
}

fn if_match(req: &actix_web::HttpRequest) -> Option<String> {
    req.headers().get(header::IF_MATCH).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// Runs `f` with the request's context on a database thread (`Store::offload`); returns its
/// value and the compatibility rules that fired.
async fn run<R: Send + 'static>(
    state: web::Data<AppState>,
    auth: extract::Authenticated,
    params: crate::scim::list::QueryParams,
    if_match: Option<String>,
    f: impl FnOnce(&AppState, &crate::scim::service::Request<'_>) -> crate::error::Result<R> + Send + 'static,
) -> Result<(R, Vec<crate::scim::compat::Rule>), Error> {
    let store = state.store.clone();
    store
        .offload(move || {
            let (out, fired) = in_context(&state, &auth, &params, if_match.as_deref(), f);
            Ok((out?, fired))
        })
        .await
}

/// The request's context owned, for a write: its transaction runs on the store's writer.
fn owned_context(
    auth: extract::Authenticated,
    params: crate::scim::list::QueryParams,
    if_match: Option<String>,
) -> std::sync::Arc<crate::scim::service::RequestContext> {
    std::sync::Arc::new(crate::scim::service::RequestContext {
        compat: crate::scim::compat::Compat::new(auth.scope.strict),
        scope: auth.scope,
        params,
        if_match,
        request_id: auth.request_id,
    })
}

/// Runs `f` with the request's context on the calling thread: for work that never waits
/// (`ScimService::get_user_now`).
fn in_context<R>(
    state: &AppState,
    auth: &extract::Authenticated,
    params: &crate::scim::list::QueryParams,
    if_match: Option<&str>,
    f: impl FnOnce(&AppState, &crate::scim::service::Request<'_>) -> R,
) -> (R, Vec<crate::scim::compat::Rule>) {
    let compat = crate::scim::compat::Compat::new(auth.scope.strict);
    let req = crate::scim::service::Request {
        scope: &auth.scope,
        params,
        compat: &compat,
        if_match,
        request_id: auth.request_id.as_deref(),
    };
    let out = f(state, &req);
    (out, compat.fired())
}

/// 201 with the new resource's URL in `Location` (RFC 7644 §3.3).
fn created(location: &str) -> HttpResponseBuilder {
    let mut builder = HttpResponse::Created();
    builder.insert_header((header::LOCATION, location));
    builder
}

pub fn scim_json(builder: HttpResponseBuilder, body: &Value) -> HttpResponse {
    scim_json_text(builder, body.to_string())
}

/// A SCIM body already written as JSON text.
pub fn scim_json_text(mut builder: HttpResponseBuilder, body: String) -> HttpResponse {
    builder.content_type(SCIM_CONTENT_TYPE).body(body)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(readable("/healthz", || async { HttpResponse::Ok().body("ok") }))
        .service(readable("/readyz", ready))
        .configure(admin::configure)
        .service(
            // Resources are tried in this order, each with a pattern match (a regex for those
            // with `{id}`): the busiest first (a GET by id tried twelve, 10,500 instructions
            // under callgrind, 5.5% of it), and each `.search` before the `{id}` it would match.
            web::scope("/scim/v2/{tenant}")
                .wrap(actix_web::middleware::from_fn(activity::authenticate_and_log))
                .service(
                    readable("/Users", users::list)
                        .route(web::post().to(users::create))
                        .default_service(method_not_allowed("GET, HEAD, POST")),
                )
                .service(
                    web::resource("/Users/.search")
                        .route(web::post().to(users::search))
                        .default_service(method_not_allowed("POST")),
                )
                .service(
                    readable("/Users/{id}", users::get)
                        .route(web::put().to(users::replace))
                        .route(web::patch().to(users::patch))
                        .route(web::delete().to(users::delete))
                        .default_service(method_not_allowed("GET, HEAD, PUT, PATCH, DELETE")),
                )
                .service(
                    web::resource("/.search")
                        .route(web::post().to(groups::search_root))
                        .default_service(method_not_allowed("POST")),
                )
                .service(
                    readable("/Groups", groups::list)
                        .route(web::post().to(groups::create))
                        .default_service(method_not_allowed("GET, HEAD, POST")),
                )
                .service(
                    web::resource("/Groups/.search")
                        .route(web::post().to(groups::search))
                        .default_service(method_not_allowed("POST")),
                )
                .service(
                    readable("/Groups/{id}", groups::get)
                        .route(web::put().to(groups::replace))
                        .route(web::patch().to(groups::patch))
                        .route(web::delete().to(groups::delete))
                        .default_service(method_not_allowed("GET, HEAD, PUT, PATCH, DELETE")),
                )
                .service(
                    web::resource(["", "/"])
                        .route(web::get().to(groups::list_root))
                        .route(web::head().to(groups::list_root))
                        .default_service(method_not_allowed("GET, HEAD")),
                )
                // RFC 7644 §3.11: a provider without /Me SHOULD answer 501; scimd's credentials
                // belong to identity providers, so no user is "me". Told, as every endpoint's
                // answer is, only to a caller with the tenant's credential.
                .service(
                    web::resource(["/Me", "/Me/{tail:.*}"])
                        .to(|_: Authenticated| async { Err::<HttpResponse, _>(Error::NotSupported(NO_ME)) }),
                )
                // RFC 7644 §3.7: bulk is optional, and ServiceProviderConfig says it is off.
                .service(
                    web::resource("/Bulk")
                        .to(|_: Authenticated| async { Err::<HttpResponse, _>(Error::NotSupported(NO_BULK)) }),
                )
                .service(get_only("/ServiceProviderConfig", discovery::service_provider_config))
                .service(get_only("/ResourceTypes", discovery::resource_types))
                .service(get_only("/ResourceTypes/{id}", discovery::resource_type))
                .service(get_only("/Schemas", discovery::schemas))
                .service(get_only("/Schemas/{id}", discovery::schema))
                .default_service(web::to(not_found)),
        )
        .default_service(web::to(not_found));
}

const NO_ME: &str = "/Me is not supported: scimd's credentials belong to identity providers, not to users";
const NO_BULK: &str = "bulk operations are not supported (ServiceProviderConfig bulk.supported is false)";

/// 405 with the `Allow` list, for the methods a resource does not route.
fn method_not_allowed(allow: &'static str) -> actix_web::Route {
    web::to(move || async move { Err::<HttpResponse, _>(Error::MethodNotAllowed(allow)) })
}

/// How long `/readyz` waits for the database: time to replace a pooled connection that died,
/// short enough that probes during an outage do not pile up.
const READY_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /readyz` (no authentication): `ready` when the database answers a statement within
/// `READY_WAIT`, else the 503 any request would get. `/healthz` says only that the process
/// serves HTTP; a load balancer in front of several replicas wants this one.
async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    state.store.ping(READY_WAIT).await?;
    Ok(HttpResponse::Ok().body("ready"))
}

/// A resource that answers GET and HEAD with `handler` (RFC 9110 §9.1: a server that has GET
/// has HEAD; actix-web sends a HEAD answer's headers without its body).
pub(crate) fn readable<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args> + Clone,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path).route(web::get().to(handler.clone())).route(web::head().to(handler))
}

fn get_only<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args> + Clone,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    readable(path, handler).default_service(method_not_allowed("GET, HEAD"))
}

async fn not_found() -> Result<HttpResponse, Error> {
    Err(Error::NotFound("no such endpoint".into()))
}

/// Rewrites error responses that actix itself produced (malformed request line, bad headers,
/// …) into SCIM errors, so a client never sees a plain-text or HTML error.
pub fn scim_error_fallback<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // Our own renderings: SCIM errors, admin pages (HTML) and admin API errors (JSON).
    let ours =
        res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
            ["application/scim+json", "text/html", "application/json"].iter().any(|t| v.starts_with(t))
        });
    if ours {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let detail = status.canonical_reason().unwrap_or("request failed");
    let (req, _) = res.into_parts();
    let response = error::error_response(status, None, detail).map_into_boxed_body();
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(req, response).map_into_right_body()))
}
