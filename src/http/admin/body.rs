//! The admin API's request input: JSON bodies read whole up to 16 KiB (a 413 past it), a
//! leading byte order mark ignored as the SCIM bodies' is, anything that is not the JSON an
//! operation takes refused with a 400 (never taken for an absent body), and query strings.
//!
//! Each is refused by `value`, once the caller's token is checked, not by its extractor: as with
//! the SCIM API's (`http::extract::ScimJson`), a wrong token with bad input was a 401 or a 400
//! as the token check and the input raced.

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
pub struct Json<T>(Result<T, ApiError>);

impl<T> Json<T> {
    pub fn value(self) -> Result<T, ApiError> {
        self.0
    }
}

/// A body the operation may do without (a retry's `tenant`): empty or white space is `None`.
/// actix-web's `Option<Json<T>>` took a malformed body for an absent one, and a retry meant for
/// one tenant (`{"tenant": 7}`, or a misspelt key) then reset every tenant's stream.
pub struct OptionalJson<T>(Result<Option<T>, ApiError>);

impl<T> OptionalJson<T> {
    pub fn value(self) -> Result<Option<T>, ApiError> {
        self.0
    }
}

/// The query string as `T`.
pub struct Query<T>(Result<T, ApiError>);

impl<T> Query<T> {
    pub fn value(self) -> Result<T, ApiError> {
        self.0
    }
}

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
            Ok(Json(read(payload, declared).await.and_then(|body| {
                body.ok_or_else(|| Error::invalid_syntax("the request body is empty; a JSON object is required").into())
            })))
        })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (payload, declared) = (payload.take(), declared_length(req));
        Box::pin(async move { Ok(OptionalJson(read(payload, declared).await)) })
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let query = web::Query::<T>::from_query(req.query_string())
            .map(web::Query::into_inner)
            .map_err(|e| ApiError(Error::invalid_syntax(format!("malformed query: {e}"))));
        ready(Ok(Query(query)))
    }
}
