//! The admin API's request input: JSON bodies read whole up to 16 KiB (a 413 past it), a
//! leading byte order mark ignored as the SCIM bodies' is, anything that is not the JSON an
//! operation takes refused with a 400 (never taken for an absent body), and query strings.
//!
//! Only a caller whose token the scope's middleware accepted has its input read
//! (`admin::authenticate_admin_api`).

use super::ApiError;
use crate::error::Error;
use crate::http::extract::{declared_length, read_body, without_bom};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::{ready, LocalBoxFuture, Ready};
use serde::de::DeserializeOwned;

/// What the API's bodies are: names, an endpoint's URL and filter, a sequence number.
const LIMIT: usize = 16 * 1024;

/// A body the operation requires.
pub struct Json<T>(pub T);

/// A body the operation may do without (a retry's `tenant`): empty or white space is `None`.
/// actix-web's `Option<Json<T>>` took a malformed body for an absent one, and a retry meant for
/// one tenant (`{"tenant": 7}`, or a misspelt key) then reset every tenant's stream.
pub struct OptionalJson<T>(pub Option<T>);

/// The query string as `T`.
pub struct Query<T>(pub T);

async fn read<T: DeserializeOwned>(mut payload: Payload, declared: Option<usize>) -> Result<Option<T>, ApiError> {
    let body = read_body(&mut payload, declared, LIMIT).await?;
    let text = without_bom(&body);
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value = serde_json::from_slice(text).map_err(|e| Error::invalid_syntax(format!("malformed JSON body: {e}")))?;
    Ok(Some(value))
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (payload, declared) = (payload.take(), declared_length(req));
        Box::pin(async move {
            let body = read(payload, declared).await?;
            body.map(Json)
                .ok_or_else(|| Error::invalid_syntax("the request body is empty; a JSON object is required").into())
        })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (payload, declared) = (payload.take(), declared_length(req));
        Box::pin(async move { read(payload, declared).await.map(OptionalJson) })
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            web::Query::<T>::from_query(req.query_string())
                .map(|q| Query(q.into_inner()))
                .map_err(|e| ApiError(Error::invalid_syntax(format!("malformed query: {e}")))),
        )
    }
}
