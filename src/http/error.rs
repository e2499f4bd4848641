//! The one rendering of errors: RFC 7644 §3.12 error JSON with `status` as a string.

use crate::error::Error;
use crate::scim::schema::ERROR_SCHEMA;
use crate::telemetry::LogThrottle;
use actix_web::body::BoxBody;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde_json::{json, Value};

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// Seconds a client is asked to wait after a 503 for an unreachable database: a PostgreSQL
/// restart or failover takes seconds to tens of seconds.
const UNAVAILABLE_RETRY_AFTER: &str = "10";

/// Seconds a client is asked to wait after a 503 for a full disk: it takes an operator.
const STORAGE_FULL_RETRY_AFTER: &str = "60";

/// Seconds a client is asked to wait when too many credential checks are queued: each ends
/// within tens of milliseconds.
const BUSY_RETRY_AFTER: &str = "5";

/// The most of a detail a client is sent. Details quote what the client sent (a path, a
/// filter, a name), which can be most of a 1 MiB body: a PATCH path of 1 MB was answered
/// with a 1 MB error. The first thousand characters say what was wrong.
const MAX_DETAIL_CHARS: usize = 1_000;

/// The HTTP status of each error (RFC 7644 §3.12).
pub fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::BadRequest { .. } => StatusCode::BAD_REQUEST,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
        Error::NotSupported(_) => StatusCode::NOT_IMPLEMENTED,
        Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        Error::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        Error::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
        // Retries ran out under contention: the client should simply try again.
        Error::WriteConflict => StatusCode::SERVICE_UNAVAILABLE,
        // The database is restarting or out of reach: not the client's fault, and worth a retry.
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        // Not the client's fault either, and the same write succeeds once there is room: a
        // 500 would tell an IdP the request itself failed. (507 is WebDAV's, not in RFC 7644.)
        Error::StorageFull(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Busy => StatusCode::SERVICE_UNAVAILABLE,
        Error::Internal(_) | Error::Setup(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The `scimType` of each error that has one (RFC 7644 §3.12, Table 9).
pub fn scim_type_of(e: &Error) -> Option<&str> {
    match e {
        Error::BadRequest { scim_type, .. } => Some(scim_type.as_str()),
        Error::Conflict(_) => Some("uniqueness"),
        _ => None,
    }
}

/// The error body; `Internal` causes are replaced by a generic detail.
pub fn error_body(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Value {
    let mut body = json!({
        "schemas": [ERROR_SCHEMA],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    if let Some(t) = scim_type {
        body["scimType"] = Value::from(t);
    }
    body
}

pub fn error_response(status: StatusCode, scim_type: Option<&str>, detail: &str) -> HttpResponse {
    HttpResponse::build(status).content_type(SCIM_CONTENT_TYPE).body(error_body(status, scim_type, detail).to_string())
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        status_of(self)
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let status = status_of(self);
        let mut response = error_response(status, scim_type_of(self), &public_detail(self));
        add_error_headers(self, response.headers_mut(), "Bearer realm=\"scimd\", Basic realm=\"scimd\"");
        response
    }
}

/// What a client may read about an error: `Internal` causes go to the log, not the response.
pub fn public_detail(e: &Error) -> String {
    match e {
        Error::Internal(cause) | Error::Setup(cause) => {
            tracing::error!(%cause, "internal error");
            "internal server error; the cause is in the server log".to_string()
        }
        Error::Unavailable(cause) => {
            // One line every 5 s through an outage, not one per request that meets it.
            static THROTTLE: LogThrottle = LogThrottle::new(5_000);
            if let Some(suppressed) = THROTTLE.admit() {
                tracing::warn!(%cause, suppressed, "the database is unavailable");
            }
            "the service's database is unavailable; retry later".to_string()
        }
        Error::StorageFull(cause) => {
            // Every write fails alike until space is freed, and the log may share the disk.
            static THROTTLE: LogThrottle = LogThrottle::new(5_000);
            if let Some(suppressed) = THROTTLE.admit() {
                tracing::error!(%cause, suppressed, "the database has no room to write: free disk space");
            }
            "the service's database is out of space; retry later".to_string()
        }
        other => {
            let detail = other.to_string();
            if detail.len() <= MAX_DETAIL_CHARS {
                detail
            } else {
                format!("{}…", crate::activity::clipped(&detail, MAX_DETAIL_CHARS))
            }
        }
    }
}

/// The headers an error's status calls for, whatever the body's format.
pub fn add_error_headers(e: &Error, headers: &mut header::HeaderMap, challenge: &'static str) {
    match e {
        Error::Unauthorized(_) => {
            headers.insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static(challenge));
        }
        Error::MethodNotAllowed(allow) => {
            headers.insert(header::ALLOW, header::HeaderValue::from_static(allow));
        }
        Error::WriteConflict => {
            headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        Error::Unavailable(_) => {
            headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static(UNAVAILABLE_RETRY_AFTER));
        }
        Error::StorageFull(_) => {
            headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static(STORAGE_FULL_RETRY_AFTER));
        }
        Error::TooManyRequests(seconds) => {
            headers.insert(header::RETRY_AFTER, header::HeaderValue::from(*seconds));
        }
        Error::Busy => {
            headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static(BUSY_RETRY_AFTER));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScimType;

    #[test]
    fn every_error_maps_to_its_status_and_scim_type() {
        let cases: Vec<(Error, u16, Option<&str>)> = vec![
            (Error::invalid_filter("f"), 400, Some("invalidFilter")),
            (Error::invalid_syntax("s"), 400, Some("invalidSyntax")),
            (Error::invalid_value("v"), 400, Some("invalidValue")),
            (Error::invalid_path("p"), 400, Some("invalidPath")),
            (Error::no_target("n"), 400, Some("noTarget")),
            (Error::mutability("m"), 400, Some("mutability")),
            (Error::bad_request(ScimType::TooMany, "t"), 400, Some("tooMany")),
            (Error::Conflict("c".into()), 409, Some("uniqueness")),
            (Error::NotFound("n".into()), 404, None),
            (Error::Unauthorized("u".into()), 401, None),
            (Error::Forbidden("f".into()), 403, None),
            (Error::MethodNotAllowed("GET"), 405, None),
            (Error::NotSupported("bulk"), 501, None),
            (Error::PayloadTooLarge(10), 413, None),
            (Error::PreconditionFailed, 412, None),
            (Error::TooManyRequests(30), 429, None),
            (Error::WriteConflict, 503, None),
            (Error::Unavailable("secret cause".into()), 503, None),
            (Error::StorageFull("secret cause".into()), 503, None),
            (Error::Busy, 503, None),
            (Error::internal("secret cause"), 500, None),
            (Error::Setup("secret cause".into()), 500, None),
        ];
        for (e, status, scim_type) in cases {
            let r = e.error_response();
            assert_eq!(r.status().as_u16(), status, "{e:?}");
            assert_eq!(r.headers().get(header::CONTENT_TYPE).unwrap(), SCIM_CONTENT_TYPE);
            let body = actix_web::body::to_bytes(r.into_body());
            let body: Value =
                serde_json::from_slice(&futures_util::FutureExt::now_or_never(body).unwrap().unwrap()).unwrap();
            assert_eq!(body["status"], status.to_string(), "{e:?}");
            assert_eq!(body["schemas"][0], ERROR_SCHEMA);
            assert_eq!(body["scimType"].as_str(), scim_type, "{e:?}");
            assert!(!body["detail"].as_str().unwrap().is_empty());
            assert!(!body["detail"].as_str().unwrap().contains("secret cause"));
        }
        let r = Error::Unauthorized("u".into()).error_response();
        assert!(r.headers().get(header::WWW_AUTHENTICATE).is_some());
        let r = Error::MethodNotAllowed("GET, POST").error_response();
        assert_eq!(r.headers().get(header::ALLOW).unwrap(), "GET, POST");
        let r = Error::Unavailable("u".into()).error_response();
        assert_eq!(r.headers().get(header::RETRY_AFTER).unwrap(), UNAVAILABLE_RETRY_AFTER);
        let r = Error::StorageFull("f".into()).error_response();
        assert_eq!(r.headers().get(header::RETRY_AFTER).unwrap(), STORAGE_FULL_RETRY_AFTER);
        let r = Error::Busy.error_response();
        assert_eq!(r.headers().get(header::RETRY_AFTER).unwrap(), BUSY_RETRY_AFTER);
    }

    #[test]
    fn a_long_detail_is_cut_at_a_character() {
        let quoted = "é".repeat(600_000);
        let detail = public_detail(&Error::invalid_path(format!("invalid path {quoted:?}")));
        assert_eq!(detail.chars().count(), MAX_DETAIL_CHARS + 1, "{}", &detail[..40]);
        assert!(detail.starts_with("invalid path \"éé") && detail.ends_with("é…"));
        let short = "invalid path \"x[\"";
        assert_eq!(public_detail(&Error::invalid_path(short)), short);
        let exact = "a".repeat(MAX_DETAIL_CHARS);
        assert_eq!(public_detail(&Error::invalid_value(exact.clone())), exact);
    }
}
