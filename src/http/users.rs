//! /Users handlers (RFC 7644 §3.3–3.6), and `/.search` (§3.4.3).

use super::extract::{Authenticated, Query, ScimJson};
use super::{created, if_match, in_context, owned_context, run, scim_json_text, with_compat, AppState};
use crate::error::Error;
use crate::scim::compat::Rule;
use crate::scim::list::QueryParams;
use crate::scim::preconditions::if_match_allows;
use crate::scim::user::RenderedUser;
use crate::scim::user_page::{UserPage, LATER_BYTES};
use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use futures_util::{stream, StreamExt};

type State = web::Data<AppState>;

fn resource(mut builder: HttpResponseBuilder, user: RenderedUser, fired: &[Rule]) -> HttpResponse {
    builder.insert_header((header::ETAG, user.etag));
    with_compat(&mut builder, fired);
    scim_json_text(builder, user.body)
}

pub async fn create(
    state: State,
    auth: Authenticated,
    Query(query): Query,
    ScimJson(body): ScimJson,
) -> Result<HttpResponse, Error> {
    let ctx = owned_context(auth, query, None);
    let user = state.service.create_user(&ctx, &body).await?;
    Ok(resource(created(&user.location), user, &ctx.compat.fired()))
}

pub async fn get(
    state: State,
    auth: Authenticated,
    Query(query): Query,
    id: web::Path<(String, String)>,
    http: HttpRequest,
) -> Result<HttpResponse, Error> {
    let (_, id) = id.into_inner();
    // A point read on SQLite runs here when a connection is free: the hand-off to the
    // blocking pool and back was a fifth of its CPU.
    let (user, fired) = match in_context(&state, &auth, &query, None, |s, r| s.service.get_user_now(r, &id)) {
        (Some(user), fired) => (user?, fired),
        (None, _) => run(state, auth, query, None, move |s, r| s.service.get_user(r, &id)).await?,
    };
    // RFC 7644 §3.14: If-None-Match naming the current version → 304 without a body.
    let none_match = http.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
    if none_match.is_some() && if_match_allows(none_match, &user.etag) {
        return Ok(HttpResponse::NotModified().insert_header((header::ETAG, user.etag)).finish());
    }
    Ok(resource(HttpResponse::Ok(), user, &fired))
}

pub async fn list(state: State, auth: Authenticated, Query(query): Query) -> Result<HttpResponse, Error> {
    // Okta's `userName eq` pre-check runs here, as GET by id does, when it can (see `get`).
    let (page, fired) = match in_context(&state, &auth, &query, None, |s, r| s.service.list_users_now(r)) {
        (Some(page), fired) => (page?, fired),
        (None, _) => run(state.clone(), auth, query, None, |s, r| s.service.list_users(r)).await?,
    };
    Ok(listed(state, page, &fired))
}

/// RFC 7644 §3.4.3 on /Users.
pub async fn search(state: State, auth: Authenticated, ScimJson(body): ScimJson) -> Result<HttpResponse, Error> {
    let params = QueryParams::from_search_request(&body)?;
    let (page, fired) = run(state.clone(), auth, params, None, |s, r| s.service.list_users(r)).await?;
    Ok(listed(state, page, &fired))
}

/// A page sent whole when its first part is all of it, else that part and then the rest
/// written as the client takes it.
fn listed(state: State, mut page: UserPage, fired: &[Rule]) -> HttpResponse {
    let mut builder = HttpResponse::Ok();
    with_compat(&mut builder, fired);
    let first = page.take_first();
    if page.is_done() {
        return scim_json_text(builder, first);
    }
    let rest = stream::unfold(Some(page), move |page| {
        let state = state.clone();
        async move {
            let mut page = page?;
            let mut out = String::with_capacity(2 * LATER_BYTES);
            match page.write(&state.service, &mut out, LATER_BYTES) {
                Ok(()) => Some((Ok(Bytes::from(out)), (!page.is_done()).then_some(page))),
                // The status line is gone already: end the body; the client sees it cut.
                Err(e) => Some((Err(e), None)),
            }
        }
    });
    let body = stream::once(async { Ok(Bytes::from(first)) }).chain(rest);
    builder.content_type(super::error::SCIM_CONTENT_TYPE).streaming(body)
}

pub async fn replace(
    state: State,
    auth: Authenticated,
    Query(query): Query,
    id: web::Path<(String, String)>,
    ScimJson(body): ScimJson,
    http: HttpRequest,
) -> Result<HttpResponse, Error> {
    let (_, id) = id.into_inner();
    let ctx = owned_context(auth, query, if_match(&http));
    let user = state.service.replace_user(&ctx, id, &body).await?;
    Ok(resource(HttpResponse::Ok(), user, &ctx.compat.fired()))
}

pub async fn patch(
    state: State,
    auth: Authenticated,
    Query(query): Query,
    id: web::Path<(String, String)>,
    ScimJson(body): ScimJson,
    http: HttpRequest,
) -> Result<HttpResponse, Error> {
    crate::http::note_patch(&http, &body);
    let (_, id) = id.into_inner();
    let ctx = owned_context(auth, query, if_match(&http));
    let user = state.service.patch_user(&ctx, id, &body).await?;
    Ok(resource(HttpResponse::Ok(), user, &ctx.compat.fired()))
}

pub async fn delete(
    state: State,
    auth: Authenticated,
    id: web::Path<(String, String)>,
    http: HttpRequest,
) -> Result<HttpResponse, Error> {
    let (_, id) = id.into_inner();
    state.service.delete_user(&owned_context(auth, QueryParams::default(), if_match(&http)), id).await?;
    Ok(HttpResponse::NoContent().finish())
}
