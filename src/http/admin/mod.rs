//! The admin surface: server-rendered pages under /admin (session cookie + CSRF token) and the
//! JSON API under /admin/api (admin API tokens). Both call the same use cases (`tenancy`,
//! `credentials`, `admin`) and render errors from the one `status_of` mapping.

mod api;
mod api_webhooks;
mod body;
mod pages;
mod pages_delivery;
mod views;
mod views_delivery;

use super::error::{add_error_headers, public_detail, status_of};
use super::AppState;
use crate::admin::accounts::Session;
use crate::error::Error;
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse, HttpResponseBuilder, ResponseError};
use futures_util::future::{ready, Ready};

pub const SESSION_COOKIE: &str = "scimd_admin";
pub const LOGIN_COOKIE: &str = "scimd_login";

/// An error on an admin page, rendered as HTML; a missing session sends the browser to the
/// login page instead.
#[derive(Debug)]
pub struct PageError(pub Error);

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        PageError(e)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self.0 {
            Error::Unauthorized(_) => StatusCode::SEE_OTHER,
            ref e => status_of(e),
        }
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        if let Error::Unauthorized(_) = self.0 {
            return redirect("/admin/login");
        }
        let status = status_of(&self.0);
        let mut response =
            page_response(HttpResponse::build(status), views::error_page(status, &public_detail(&self.0)));
        add_error_headers(&self.0, response.headers_mut(), "Bearer");
        response
    }
}

/// An error of the admin JSON API: `{"status": 404, "detail": "…"}`.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        status_of(&self.0)
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let status = status_of(&self.0);
        let body = serde_json::json!({"status": status.as_u16(), "detail": public_detail(&self.0)});
        let mut response = HttpResponse::build(status).json(body);
        add_error_headers(&self.0, response.headers_mut(), "Bearer realm=\"scimd-admin\"");
        response
    }
}

/// 303 See Other: after a form post the browser GETs the next page.
pub fn redirect(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}

/// An HTML page that is never cached, never framed, and runs no script.
pub fn page_response(mut builder: HttpResponseBuilder, body: maud::Markup) -> HttpResponse {
    builder
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ))
        .body(body.into_string())
}

/// A cookie scoped to /admin: HttpOnly, SameSite=Strict, Secure when served over https.
pub fn admin_cookie(state: &AppState, name: &'static str, value: String, max_age: CookieDuration) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/admin")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.public_url.starts_with("https://"))
        .max_age(max_age)
        .finish()
}

/// Constant-time comparison of a presented token with the expected one.
pub fn tokens_match(presented: &str, expected: &str) -> bool {
    presented.len() == expected.len()
        && presented.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The signed-in admin of a page request (looked up by the session cookie).
pub struct AdminSession {
    pub session: Session,
    pub cookie: String,
}

impl AdminSession {
    /// Every state-changing form carries the session's CSRF token.
    pub fn check_csrf(&self, presented: &str) -> Result<(), PageError> {
        if tokens_match(presented, &self.session.csrf_token) {
            Ok(())
        } else {
            Err(PageError(Error::Forbidden("the form is stale or was not sent by this admin page; reload it".into())))
        }
    }
}

/// Looks up the session before routing goes further (the `/admin` pages scope's middleware):
/// a browser without one is sent to sign in whatever its path, method, query or form, and no
/// handler or extractor runs, nor reads a form, for it. The sign-in page alone needs none.
async fn sign_in_first(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.path() == "/admin/login" {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let found = admin_session(req.request()).await;
    admitted(req, next, found).await
}

/// The rest of the scope's service, with what its middleware `found` for the request put in
/// the request's extensions for the handler to take (`left_by_middleware`); or, before routing
/// goes further, the middleware's refusal.
async fn admitted<T: 'static, E: Into<actix_web::Error>, B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
    found: Result<T, E>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    match found {
        Ok(found) => {
            req.extensions_mut().insert(found);
            Ok(next.call(req).await?.map_into_left_body())
        }
        Err(e) => Ok(req.error_response(e).map_into_right_body()),
    }
}

/// What the scope's middleware put in the request's extensions (`admitted`), taken by its
/// handler; `missing` for a handler outside such a scope.
fn left_by_middleware<T: 'static, E>(req: &HttpRequest, missing: impl FnOnce() -> E) -> Ready<Result<T, E>> {
    ready(req.extensions_mut().remove::<T>().ok_or_else(missing))
}

async fn admin_session(req: &HttpRequest) -> Result<AdminSession, PageError> {
    let state = req.app_data::<web::Data<AppState>>().cloned().ok_or_else(|| Error::internal("no app state"))?;
    let login = || PageError(Error::Unauthorized("sign in first".into()));
    let cookie = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string()).ok_or_else(login)?;
    let lookup = cookie.clone();
    let session = super::blocking(move || state.admin.session(&lookup)).await?.ok_or_else(login)?;
    Ok(AdminSession { session, cookie })
}

/// The middleware's `AdminSession`, taken by the handler.
impl FromRequest for AdminSession {
    type Error = PageError;
    type Future = Ready<Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        left_by_middleware(req, || PageError(Error::internal("an admin page ran outside the scope that signs in")))
    }
}

/// The admin API token's id, from `Authorization: Bearer scimdadm_…`.
pub struct AdminApiCaller {
    pub token_id: String,
}

impl AdminApiCaller {
    /// Logs who changed what through the API (the token's id, never its secret).
    pub fn audit(&self, action: &str, tenant: &str) {
        tracing::info!(admin_token = %self.token_id, tenant, action, "admin API change");
    }
}

impl AdminSession {
    /// Logs who changed what on the admin page.
    pub fn audit(&self, action: &str, tenant: &str) {
        tracing::info!(admin = %self.session.email, tenant, action, "admin page change");
    }
}

/// Checks the admin API token before routing goes further (the `/admin/api` scope's
/// middleware): a caller without one is told so whatever else is wrong with its request (its
/// path, method, query or body), and no handler or extractor runs, nor reads a body, for it.
async fn authenticate_admin_api(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let found = admin_api_caller(req.request()).await;
    admitted(req, next, found).await
}

async fn admin_api_caller(req: &HttpRequest) -> Result<AdminApiCaller, ApiError> {
    let state = req.app_data::<web::Data<AppState>>().cloned().ok_or_else(|| Error::internal("no app state"))?;
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string())
        .ok_or_else(|| Error::Unauthorized("a valid admin API token is required".into()))?;
    let token_id = super::blocking(move || state.admin.authenticate_token(&presented)).await?;
    Ok(AdminApiCaller { token_id })
}

/// The middleware's `AdminApiCaller`, taken by the handler.
impl FromRequest for AdminApiCaller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        left_by_middleware(req, || {
            ApiError(Error::internal("an admin API handler ran outside the scope that authenticates"))
        })
    }
}

/// The admin routes; `/admin/api` first so the page routes never see API paths.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(api::scope().wrap(actix_web::middleware::from_fn(authenticate_admin_api)))
        .service(pages::scope().wrap(actix_web::middleware::from_fn(sign_in_first)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_only_themselves() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abd", "abc"));
        assert!(!tokens_match("ab", "abc"));
        assert!(!tokens_match("", "abc"));
    }
}
