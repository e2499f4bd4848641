//! A SCIM request's input: its credential checked for the tenant its path names (by the
//! scope's middleware, `authenticate`) and the handler's extractors: the authenticated tenant,
//! the JSON body (size-limited, any JSON media type) and the query string.

use super::AppState;
use crate::auth::Presented;
use crate::error::Error;
use crate::scim::json_body::{self, Unreadable, NUL};
use crate::scim::list::QueryParams;
use crate::scim::service::TenantScope;
use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap};
use actix_web::web::{self, BytesMut};
use actix_web::HttpMessage;
use actix_web::{FromRequest, HttpRequest};
use base64::Engine;
use futures_util::future::{ready, LocalBoxFuture, Ready};
use futures_util::StreamExt;
use serde_json::Value;

/// Reads `Authorization`: `Bearer <token>`, `Basic <base64 user:pass>`, or (as some admins
/// paste it into Okta's header field) a bare scimd token.
pub fn presented_credential(headers: &HeaderMap) -> Option<Presented> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(Presented::Bearer(rest.to_string()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(rest).ok()?;
        let (user, pass) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
        return Some(Presented::Basic { username: user.to_string(), password: pass.to_string() });
    }
    value.starts_with(crate::auth::secrets::TOKEN_PREFIX).then(|| Presented::Bearer(value.to_string()))
}

/// A request authenticated for the tenant named in its path.
pub struct Authenticated {
    pub scope: TenantScope,
    /// tracing-actix-web's id of this request, for the events it causes.
    pub request_id: Option<String>,
}

/// Authenticates a request for the tenant its path names. The SCIM scope's middleware
/// (`activity::authenticate_and_log`) runs it before routing goes further, so a caller without
/// the tenant's credential is told so whatever else is wrong with its request (its path, its
/// method, its query or body), and no handler or extractor runs, nor reads a body, for it.
pub async fn authenticate(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    tenant: &str,
) -> Result<Authenticated, Error> {
    if !crate::tenancy::is_tenant_name(tenant) {
        return Err(crate::tenancy::not_a_tenant_name(tenant));
    }
    // The peer itself, not a forwarded-for header a client could forge.
    let addr = req.peer_addr().map(|a| a.ip());
    state.auth.check_throttle(tenant, addr)?;
    let Some(presented) = presented_credential(req.headers()) else {
        state.auth.note_failure(tenant, addr);
        return Err(Error::Unauthorized("authentication required: send Authorization: Bearer <token>".into()));
    };
    let principal = match state.auth.cached(tenant, &presented) {
        Some(p) => p,
        None => {
            let auth_state = state.clone();
            let name = tenant.to_string();
            let result =
                web::block(move || auth_state.auth.authenticate(&name, &presented)).await.map_err(Error::internal)?;
            if let Err(Error::Unauthorized(_)) = &result {
                state.auth.note_failure(tenant, addr);
            }
            result?
        }
    };
    let scope = TenantScope {
        tenant: principal.tenant,
        base_url: state.base_url(&principal.tenant_name),
        strict: principal.strict,
    };
    let request_id = req.extensions().get::<tracing_actix_web::RequestId>().map(|id| id.to_string());
    Ok(Authenticated { scope, request_id })
}

/// The middleware's `Authenticated`, taken by the handler; a resource id no resource can have
/// is a 404 here, once the caller is known to be the tenant's.
impl FromRequest for Authenticated {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(auth) = req.extensions_mut().remove::<Authenticated>() else {
            return ready(Err(Error::internal("a SCIM handler ran outside the scope that authenticates")));
        };
        if req.match_info().iter().any(|(name, value)| name != "tenant" && value.contains(NUL)) {
            return ready(Err(Error::NotFound("no resource has an id containing U+0000".into())));
        }
        ready(Ok(auth))
    }
}

/// A JSON request body. Any or no Content-Type is read as JSON (IdPs send
/// `application/scim+json`, `application/json`, with or without charset); bodies over the
/// configured limit are refused with 413 before they are buffered whole. Only an authenticated
/// caller's body is read (`authenticate`).
pub struct ScimJson(pub Value);

impl FromRequest for ScimJson {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<web::Data<AppState>>().map_or(1024 * 1024, |s| s.max_body_bytes);
        let declared = declared_length(req);
        // Content codings are not decoded (no IdP compresses a request). A body that is JSON
        // all the same is read; one that is not says why, rather than only "not valid JSON".
        let coding = req
            .headers()
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"))
            .map(|c| crate::activity::clipped(c, 40));
        let mut payload = payload.take();
        Box::pin(async move { read_json(&mut payload, declared, limit, coding).await.map(ScimJson) })
    }
}

async fn read_json(
    payload: &mut Payload,
    declared: Option<usize>,
    limit: usize,
    coding: Option<String>,
) -> Result<Value, Error> {
    let body = read_body(payload, declared, limit).await?;
    let text = without_bom(&body);
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::invalid_syntax("the request body is empty; a JSON object is required"));
    }
    json_body::read(text).map_err(|e| match e {
        Unreadable::Refused(e) => e,
        Unreadable::NotJson(e) => match &coding {
            Some(coding) => Error::invalid_syntax(format!(
                "the request body is not valid JSON: it was sent with Content-Encoding: {coding}, which scimd \
                 does not decode; send it uncompressed"
            )),
            None => Error::invalid_syntax(format!("the request body is not valid JSON: {e}")),
        },
    })
}

/// The request's `Content-Length`, when it declares one.
pub(super) fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok())
}

/// The whole request body, refused with a 413 as soon as it is known to pass `limit` bytes:
/// from its declared length before a byte is read, else from what has arrived.
pub(super) async fn read_body(payload: &mut Payload, declared: Option<usize>, limit: usize) -> Result<BytesMut, Error> {
    if declared.is_some_and(|n| n > limit) {
        return Err(Error::PayloadTooLarge(limit));
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(1024).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| Error::invalid_syntax(format!("could not read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(Error::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// RFC 8259 §8.1: a parser MAY ignore a leading byte order mark. Senders must not add one, but
/// a JSON file saved by Windows PowerShell 5.1 or an older Notepad carries it, and `curl -d
/// @file` or `Invoke-RestMethod -InFile` sends it on.
pub(super) fn without_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

/// The query string, decoded with case-insensitive names; refused when a value holds U+0000.
pub struct Query(pub QueryParams);

impl FromRequest for Query {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let params = QueryParams::parse(req.query_string());
        let with_nul = params.iter().find(|(_, value)| value.contains(NUL)).map(|(name, _)| name.to_string());
        ready(match with_nul {
            Some(name) if name.trim_start_matches('?').eq_ignore_ascii_case("filter") => {
                Err(Error::invalid_filter("a filter may not contain the character U+0000"))
            }
            Some(name) => Err(Error::invalid_value(format!("{name} may not contain the character U+0000"))),
            None => Ok(Query(params)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn with_auth(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn authorization_forms() {
        assert!(matches!(presented_credential(&with_auth("Bearer abc")), Some(Presented::Bearer(t)) if t == "abc"));
        assert!(matches!(presented_credential(&with_auth("bearer  abc ")), Some(Presented::Bearer(t)) if t == "abc"));
        assert!(matches!(
            presented_credential(&with_auth("Basic dXNlcjpwYTpzcw==")),
            Some(Presented::Basic { username, password }) if username == "user" && password == "pa:ss"
        ));
        assert!(
            matches!(presented_credential(&with_auth("scimd_abc")), Some(Presented::Bearer(t)) if t == "scimd_abc")
        );
        assert!(presented_credential(&with_auth("Basic !!!")).is_none());
        assert!(presented_credential(&with_auth("non-token")).is_none());
        assert!(presented_credential(&HeaderMap::new()).is_none());
    }
}
