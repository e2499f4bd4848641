//! Discovery handlers (RFC 7644 §4). Query parameters are ignored, except that a `filter`
//! gets 403 so no client believes its conditions were applied.

use super::extract::{Authenticated, Query};
use super::{scim_json, AppState};
use crate::error::{Error, Quoted};
use crate::scim::discovery;
use crate::scim::list::{list_response, QueryParams};
use actix_web::{web, HttpResponse};
use serde_json::Value;

type State = web::Data<AppState>;

fn refuse_filter(query: &QueryParams) -> Result<(), Error> {
    match query.get("filter") {
        Some(_) => Err(Error::Forbidden("discovery endpoints do not support filtering (RFC 7644 §4)".into())),
        None => Ok(()),
    }
}

fn listed(items: Vec<Value>) -> HttpResponse {
    scim_json(HttpResponse::Ok(), &list_response(items.len() as u64, 1, items))
}

fn one_of(items: Vec<Value>, id: &str, what: &str) -> Result<HttpResponse, Error> {
    let item = items
        .into_iter()
        .find(|i| i["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
        .ok_or_else(|| Error::NotFound(format!("no {what} {id}", id = Quoted(id))))?;
    Ok(scim_json(HttpResponse::Ok(), &item))
}

pub async fn service_provider_config(
    state: State,
    auth: Authenticated,
    Query(query): Query,
) -> Result<HttpResponse, Error> {
    refuse_filter(&query)?;
    let body = discovery::service_provider_config(&auth.scope.base_url, state.service.limits());
    Ok(scim_json(HttpResponse::Ok(), &body))
}

pub async fn resource_types(auth: Authenticated, Query(query): Query) -> Result<HttpResponse, Error> {
    refuse_filter(&query)?;
    Ok(listed(discovery::resource_types(&auth.scope.base_url)))
}

pub async fn resource_type(auth: Authenticated, path: web::Path<(String, String)>) -> Result<HttpResponse, Error> {
    one_of(discovery::resource_types(&auth.scope.base_url), &path.1, "resource type")
}

pub async fn schemas(state: State, auth: Authenticated, Query(query): Query) -> Result<HttpResponse, Error> {
    refuse_filter(&query)?;
    Ok(listed(discovery::schemas(state.service.registry(), &auth.scope.base_url)))
}

pub async fn schema(
    state: State,
    auth: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    one_of(discovery::schemas(state.service.registry(), &auth.scope.base_url), &path.1, "schema")
}
