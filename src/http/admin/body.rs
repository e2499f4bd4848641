//! The admin API's JSON request bodies: read whole up to 16 KiB (a 413 past it), a leading byte
//! order mark ignored as the SCIM bodies' is, and anything that is not the JSON an operation
//! takes refused with a 400, never taken for an absent body.

use super::ApiError;
use crate::error::Error;
use crate::http::extract::{declared_length, read_body, without_bom};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

/// What the API's bodies are: names, an endpoint's URL and filter, a sequence number.
const LIMIT: usize = 16 * 1024;

/// A body the operation requires.
pub struct Json<T>(pub T);

/// A body the operation may do without (a retry's `tenant`): empty or white space is `None`.
/// actix-web's `Option<Json<T>>` took a malformed body for an absent one, and a retry meant for
/// one tenant (`{"tenant": 7}`, or a misspelt key) then reset every tenant's stream.
pub struct OptionalJson<T>(pub Option<T>);

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
            match read(payload, declared).await? {
                Some(value) => Ok(Json(value)),
                None => Err(Error::invalid_syntax("the request body is empty; a JSON object is required").into()),
            }
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
