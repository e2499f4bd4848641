//! /Users handlers (RFC 7644 §3.3–3.6).

use super::extract::{Authenticated, Query, ScimJson};
use super::{blocking, scim_json, AppState};
use crate::error::Error;
use crate::scim::list::QueryParams;
use crate::scim::user::RenderedUser;
use actix_web::http::header;
use actix_web::{web, HttpResponse};

type State = web::Data<AppState>;

fn resource(mut builder: actix_web::HttpResponseBuilder, user: RenderedUser) -> HttpResponse {
    builder.insert_header((header::ETAG, user.etag));
    scim_json(builder, &user.body)
}

pub async fn create(state: State, auth: Authenticated, body: ScimJson) -> Result<HttpResponse, Error> {
    let user = blocking(move || state.service.create_user(&auth.scope, &body.0)).await?;
    let mut builder = HttpResponse::Created();
    builder.insert_header((header::LOCATION, user.location.clone()));
    Ok(resource(builder, user))
}

pub async fn get(state: State, auth: Authenticated, id: web::Path<(String, String)>) -> Result<HttpResponse, Error> {
    let (_, id) = id.into_inner();
    let user = blocking(move || state.service.get_user(&auth.scope, &id)).await?;
    Ok(resource(HttpResponse::Ok(), user))
}

pub async fn list(state: State, auth: Authenticated, query: Query) -> Result<HttpResponse, Error> {
    let body = blocking(move || state.service.list_users(&auth.scope, &query.0)).await?;
    Ok(scim_json(HttpResponse::Ok(), &body))
}

/// RFC 7644 §3.4.3. The Base URL root searches every resource type, which today is Users.
pub async fn search(state: State, auth: Authenticated, body: ScimJson) -> Result<HttpResponse, Error> {
    let body = blocking(move || {
        let params = QueryParams::from_search_request(&body.0)?;
        state.service.list_users(&auth.scope, &params)
    })
    .await?;
    Ok(scim_json(HttpResponse::Ok(), &body))
}

pub async fn replace(
    state: State,
    auth: Authenticated,
    id: web::Path<(String, String)>,
    body: ScimJson,
) -> Result<HttpResponse, Error> {
    let (_, id) = id.into_inner();
    let user = blocking(move || state.service.replace_user(&auth.scope, &id, &body.0)).await?;
    Ok(resource(HttpResponse::Ok(), user))
}

pub async fn patch(
    state: State,
    auth: Authenticated,
    id: web::Path<(String, String)>,
    body: ScimJson,
) -> Result<HttpResponse, Error> {
    let (_, id) = id.into_inner();
    let user = blocking(move || state.service.patch_user(&auth.scope, &id, &body.0)).await?;
    Ok(resource(HttpResponse::Ok(), user))
}

pub async fn delete(state: State, auth: Authenticated, id: web::Path<(String, String)>) -> Result<HttpResponse, Error> {
    let (_, id) = id.into_inner();
    blocking(move || state.service.delete_user(&auth.scope, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
