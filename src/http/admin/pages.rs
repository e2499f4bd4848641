//! The admin page's handlers: sign-in, tenants, credentials, and a tenant's users and groups
//! (webhooks, events and activity: `pages_delivery`).
//! Every POST checks the session's CSRF token and answers with a 303 to the next page (except
//! credential issuance, whose secret is shown once in the response itself).

use super::{admin_cookie, redirect, views, AdminSession, PageError, LOGIN_COOKIE, SESSION_COOKIE};
use crate::admin::directory::{self, Listing, Paging};
use crate::credentials::{self, Kind};
use crate::error::Error;
use crate::http::{blocking, AppState};
use crate::tenancy;
use crate::webhooks;
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

type Page = Result<HttpResponse, PageError>;

/// The admin forms are a few short fields.
const FORM_LIMIT: usize = 16 * 1024;

pub fn scope() -> actix_web::Scope {
    let forms = web::FormConfig::default().limit(FORM_LIMIT).error_handler(|e, _| {
        let e = match e {
            actix_web::error::UrlencodedError::Overflow { .. } => Error::PayloadTooLarge(FORM_LIMIT),
            other => Error::invalid_syntax(format!("malformed form: {other}")),
        };
        PageError(e).into()
    });
    let queries = web::QueryConfig::default()
        .error_handler(|e, _| PageError(Error::invalid_syntax(format!("malformed query: {e}"))).into());
    let scope = web::scope("/admin")
        .app_data(forms)
        .app_data(queries)
        .route("", web::get().to(tenants))
        .route("/login", web::get().to(login_form))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/tenants", web::post().to(create_tenant))
        .route("/tenants/{name}", web::get().to(tenant))
        .route("/tenants/{name}/credentials", web::post().to(issue_credential))
        .route("/tenants/{name}/credentials/{id}/revoke", web::post().to(revoke_credential))
        .route("/tenants/{name}/disable", web::post().to(disable))
        .route("/tenants/{name}/enable", web::post().to(enable))
        .route("/tenants/{name}/delete", web::get().to(confirm_delete))
        .route("/tenants/{name}/delete", web::post().to(delete))
        .route("/tenants/{name}/users", web::get().to(users))
        .route("/tenants/{name}/groups", web::get().to(groups));
    super::pages_delivery::routes(scope).default_service(web::to(|| async {
        Err::<HttpResponse, _>(PageError(Error::NotFound("no such admin page".into())))
    }))
}

pub(super) fn html(body: maud::Markup) -> HttpResponse {
    super::page_response(HttpResponse::Ok(), body)
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: String,
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: String,
    email: String,
    password: String,
}

/// The login form carries a token that must match a cookie set with it (login CSRF).
async fn login_form(state: web::Data<AppState>, req: HttpRequest) -> Page {
    if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        let lookup = state.clone();
        let value = cookie.value().to_string();
        if blocking(move || lookup.admin.session(&value)).await?.is_some() {
            return Ok(redirect("/admin"));
        }
    }
    Ok(login_page(&state, HttpResponse::Ok(), None))
}

fn login_page(state: &AppState, mut builder: actix_web::HttpResponseBuilder, problem: Option<&str>) -> HttpResponse {
    let token = crate::auth::secrets::random_alphanumeric(32);
    builder.cookie(admin_cookie(state, LOGIN_COOKIE, token.clone(), CookieDuration::hours(1)));
    super::page_response(builder, views::login(&token, problem))
}

async fn login(state: web::Data<AppState>, req: HttpRequest, form: web::Form<LoginForm>) -> Page {
    let expected = req.cookie(LOGIN_COOKIE).map(|c| c.value().to_string()).unwrap_or_default();
    if expected.is_empty() || !super::tokens_match(&form.csrf, &expected) {
        let problem = "The sign-in form expired; please try again.";
        return Ok(login_page(&state, HttpResponse::Forbidden(), Some(problem)));
    }
    let addr = req.peer_addr().map(|a| a.ip());
    let LoginForm { email, password, .. } = form.into_inner();
    let auth = state.clone();
    match blocking(move || auth.admin.login(&email, &password, addr)).await {
        Ok(session) => {
            let mut response = redirect("/admin");
            let lifetime = CookieDuration::seconds(crate::admin::SESSION_LIFETIME.num_seconds());
            response
                .add_cookie(&admin_cookie(&state, SESSION_COOKIE, session.cookie, lifetime))
                .map_err(Error::internal)?;
            response
                .add_removal_cookie(&admin_cookie(&state, LOGIN_COOKIE, String::new(), CookieDuration::ZERO))
                .map_err(Error::internal)?;
            Ok(response)
        }
        Err(Error::Unauthorized(_)) => {
            Ok(login_page(&state, HttpResponse::Unauthorized(), Some("Wrong email or password.")))
        }
        Err(Error::TooManyRequests(seconds)) => {
            let mut builder = HttpResponse::TooManyRequests();
            builder.insert_header((actix_web::http::header::RETRY_AFTER, seconds));
            let problem = format!("Too many failed sign-ins from this address; try again in {seconds} seconds.");
            Ok(login_page(&state, builder, Some(&problem)))
        }
        Err(e) => Err(e.into()),
    }
}

async fn logout(state: web::Data<AppState>, admin: AdminSession, form: web::Form<CsrfOnly>) -> Page {
    admin.check_csrf(&form.csrf)?;
    let auth = state.clone();
    blocking(move || auth.admin.logout(&admin.cookie)).await?;
    let mut response = redirect("/admin/login");
    response
        .add_removal_cookie(&admin_cookie(&state, SESSION_COOKIE, String::new(), CookieDuration::ZERO))
        .map_err(Error::internal)?;
    Ok(response)
}

async fn tenants(state: web::Data<AppState>, admin: AdminSession) -> Page {
    let s = state.clone();
    let rows = blocking(move || tenancy::tenant_overviews(&s.store)).await?;
    let problem = state.public_url_problem();
    Ok(html(views::tenants(&admin.session, &rows, |name| state.base_url(name), problem.as_deref())))
}

#[derive(Deserialize)]
struct CreateTenantForm {
    csrf: String,
    name: String,
    strict_rfc: Option<String>,
}

async fn create_tenant(state: web::Data<AppState>, admin: AdminSession, form: web::Form<CreateTenantForm>) -> Page {
    admin.check_csrf(&form.csrf)?;
    let CreateTenantForm { name, strict_rfc, .. } = form.into_inner();
    admin.audit("create tenant", &name);
    let name = name.trim().to_string();
    let s = state.clone();
    let created =
        blocking(move || tenancy::create_bare_tenant(&s.store, s.clock.as_ref(), &name, strict_rfc.is_some())).await?;
    Ok(redirect(&format!("/admin/tenants/{}", created.name)))
}

async fn tenant(state: web::Data<AppState>, admin: AdminSession, path: web::Path<String>) -> Page {
    let name = path.into_inner();
    let s = state.clone();
    let (tenant, stats, creds, hooks) = blocking(move || {
        let (tenant, stats) = tenancy::tenant_overview(&s.store, &name)?;
        let creds = credentials::list(&s.store, &name)?;
        let mut hooks = Vec::new();
        for endpoint in webhooks::list(&s.store, Some(&name))? {
            let (endpoint, deliveries) = webhooks::show(&s.store, &endpoint.id, Some(&name))?;
            hooks.push((endpoint, deliveries.into_iter().next()));
        }
        Ok((tenant, stats, creds, hooks))
    })
    .await?;
    let base_url = state.base_url(&tenant.name);
    let problem = state.public_url_problem();
    let page = views::TenantPage {
        session: &admin.session,
        tenant: &tenant,
        stats: &stats,
        base_url: &base_url,
        public_url_problem: problem.as_deref(),
        credentials: &creds,
        webhooks: &hooks,
        now: state.clock.now(),
    };
    Ok(html(views::tenant(&page)))
}

#[derive(Deserialize)]
struct IssueForm {
    csrf: String,
    kind: String,
    label: Option<String>,
    expires_in: Option<String>,
}

async fn issue_credential(
    state: web::Data<AppState>,
    admin: AdminSession,
    path: web::Path<String>,
    form: web::Form<IssueForm>,
) -> Page {
    admin.check_csrf(&form.csrf)?;
    let name = path.into_inner();
    let IssueForm { kind, label, expires_in, .. } = form.into_inner();
    admin.audit("issue credential", &name);
    let expires =
        expires_in.as_deref().map(str::trim).filter(|e| !e.is_empty()).map(credentials::parse_duration).transpose()?;
    let kind = Kind::parse(&kind)?;
    let (s, tenant) = (state.clone(), name.clone());
    let issued =
        blocking(move || credentials::issue(&s.store, s.clock.as_ref(), &tenant, kind, label.as_deref(), expires))
            .await?;
    let problem = state.public_url_problem();
    Ok(html(views::issued(&admin.session, &name, &state.base_url(&name), problem.as_deref(), &issued)))
}

async fn revoke_credential(
    state: web::Data<AppState>,
    admin: AdminSession,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfOnly>,
) -> Page {
    admin.check_csrf(&form.csrf)?;
    let (name, id) = path.into_inner();
    admin.audit("revoke credential", &name);
    let (s, tenant, cred) = (state.clone(), name.clone(), id.clone());
    let tenant_id = blocking(move || credentials::revoke(&s.store, s.clock.as_ref(), &tenant, &cred)).await?;
    state.auth.forget_credential(tenant_id, &id);
    Ok(redirect(&format!("/admin/tenants/{name}")))
}

async fn set_disabled(
    state: web::Data<AppState>,
    admin: AdminSession,
    name: String,
    csrf: &str,
    disabled: bool,
) -> Page {
    admin.check_csrf(csrf)?;
    admin.audit(if disabled { "disable tenant" } else { "enable tenant" }, &name);
    let (s, tenant) = (state.clone(), name.clone());
    blocking(move || tenancy::set_disabled(&s.store, s.clock.as_ref(), &tenant, disabled)).await?;
    state.auth.forget_tenant(&name);
    Ok(redirect(&format!("/admin/tenants/{name}")))
}

async fn disable(
    state: web::Data<AppState>,
    admin: AdminSession,
    path: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> Page {
    set_disabled(state, admin, path.into_inner(), &form.csrf, true).await
}

async fn enable(
    state: web::Data<AppState>,
    admin: AdminSession,
    path: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> Page {
    set_disabled(state, admin, path.into_inner(), &form.csrf, false).await
}

async fn confirm_delete(state: web::Data<AppState>, admin: AdminSession, path: web::Path<String>) -> Page {
    let name = path.into_inner();
    let s = state.clone();
    let (tenant, stats) = blocking(move || tenancy::tenant_overview(&s.store, &name)).await?;
    Ok(html(views::confirm_delete(&admin.session, &tenant, &stats)))
}

#[derive(Deserialize)]
struct DeleteForm {
    csrf: String,
    confirm: String,
}

async fn delete(
    state: web::Data<AppState>,
    admin: AdminSession,
    path: web::Path<String>,
    form: web::Form<DeleteForm>,
) -> Page {
    admin.check_csrf(&form.csrf)?;
    let name = path.into_inner();
    if form.confirm.trim() != name {
        return Err(
            Error::invalid_value("the confirmation did not match the tenant's name; nothing was deleted").into()
        );
    }
    admin.audit("delete tenant", &name);
    let (s, tenant) = (state.clone(), name.clone());
    blocking(move || tenancy::delete_tenant(&s.store, s.clock.as_ref(), &tenant)).await?;
    state.auth.forget_tenant(&name);
    Ok(redirect("/admin"))
}

#[derive(Deserialize)]
struct BrowseQuery {
    q: Option<String>,
    start: Option<i64>,
}

/// Runs one directory listing (`directory::users` or `::groups`) for a page.
async fn browse<T: Send + 'static>(
    state: &web::Data<AppState>,
    tenant: &str,
    query: BrowseQuery,
    list: directory::ListFn<T>,
) -> Result<(String, Paging, Listing<T>), PageError> {
    let paging = Paging::new(query.start, None);
    let (s, tenant, search) = (state.clone(), tenant.to_string(), query.q.clone());
    let listing = blocking(move || list(&s.store, &tenant, search.as_deref(), paging)).await?;
    Ok((query.q.unwrap_or_default(), paging, listing))
}

async fn users(
    state: web::Data<AppState>,
    admin: AdminSession,
    path: web::Path<String>,
    query: web::Query<BrowseQuery>,
) -> Page {
    let name = path.into_inner();
    let (q, paging, listing) = browse(&state, &name, query.into_inner(), directory::users).await?;
    Ok(html(views::users(&admin.session, &name, &q, paging.count, &listing)))
}

async fn groups(
    state: web::Data<AppState>,
    admin: AdminSession,
    path: web::Path<String>,
    query: web::Query<BrowseQuery>,
) -> Page {
    let name = path.into_inner();
    let (q, paging, listing) = browse(&state, &name, query.into_inner(), directory::groups).await?;
    Ok(html(views::groups(&admin.session, &name, &q, paging.count, &listing)))
}
