//! The SCIM scope's middleware: authenticates each request before routing goes further
//! (`extract::authenticate`), times it and hands an entry to the `activity` queue once the
//! response is known. Handlers add what only they know (a PATCH's summary and member ids)
//! through `note_patch`. It also applies `media`'s choice of response type and `gzip`'s of
//! coding.

use super::error::scim_type_of;
use super::gzip::large_answers;
use super::AppState;
use crate::activity::{self, is_resource_id};
use crate::error::Error;
use crate::scim::list::QueryParams;
use crate::store::LogEntry;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest};
use serde_json::Value;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

/// What a handler adds to its request's log entry.
#[derive(Default)]
struct Note {
    patch_summary: Option<String>,
    member_ids: Vec<String>,
}

#[derive(Clone, Default)]
struct NoteCell(Rc<RefCell<Note>>);

/// Records a PATCH's operations (op and path only) and the member ids it names.
pub fn note_patch(req: &HttpRequest, body: &Value) {
    if let Some(cell) = req.extensions().get::<NoteCell>() {
        let mut note = cell.0.borrow_mut();
        note.patch_summary = activity::patch_summary(body);
        note.member_ids = activity::patch_member_ids(body);
    }
}

pub async fn authenticate_and_log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    // The scope's path names the tenant, so a request in it always has one.
    let tenant = req.match_info().get("tenant").unwrap_or_default().to_string();
    let method = req.method().to_string();
    let path = activity::clipped(req.path(), 500);
    let filter = QueryParams::parse(req.query_string()).get("filter").map(|f| activity::clipped(f, 1000));
    let user_agent =
        req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|v| activity::clipped(v, 256));
    let request_id = req.extensions().get::<tracing_actix_web::RequestId>().map(|id| id.to_string());
    let note = NoteCell::default();
    req.extensions_mut().insert(note.clone());
    // Here rather than in a middleware of its own, which would cost every request a layer.
    let plain_json = super::media::wants_plain_json(req.headers());

    let Some(state) = state else {
        return Ok(large_answers(req.error_response(Error::internal("application state missing"))));
    };
    // Before routing goes further: no handler or extractor runs for a caller without the
    // tenant's credential, whatever its path, method, query or body.
    let mut res = match super::extract::authenticate(req.request(), &state, &tenant).await {
        Ok(auth) => {
            req.extensions_mut().insert(auth);
            next.call(req).await?.map_into_boxed_body()
        }
        Err(e) => req.error_response(e),
    };
    if plain_json {
        super::media::relabel_as_plain_json(res.headers_mut());
    }

    let status = res.status().as_u16();
    let scim_type =
        res.response().error().and_then(|e| e.as_error::<Error>()).and_then(scim_type_of).map(str::to_string);
    let compat = res.headers().get("X-Scimd-Compat").and_then(|v| v.to_str().ok()).map(str::to_string);
    let location = res.headers().get(header::LOCATION).and_then(|v| v.to_str().ok());
    let mut resource_ids: Vec<String> =
        [Some(path.as_str()), location].into_iter().flatten().filter_map(resource_id_in).collect();
    let note = std::mem::take(&mut *note.0.borrow_mut());
    resource_ids.extend(note.member_ids);
    resource_ids.dedup();
    state.request_log.record(LogEntry {
        id: String::new(),
        tenant_name: tenant,
        at: state.clock.now(),
        method,
        path,
        filter,
        patch_summary: note.patch_summary,
        client: activity::client_from_user_agent(user_agent.as_deref()),
        user_agent,
        compat,
        status,
        scim_type,
        latency_us: started.elapsed().as_micros().min(i64::MAX as u128) as i64,
        resource_ids,
        request_id,
    });
    Ok(large_answers(res))
}

/// The id in `…/Users/{id}` or `…/Groups/{id}` (a path or a Location URL).
fn resource_id_in(url: &str) -> Option<String> {
    let mut segments = url.trim_end_matches('/').rsplit('/');
    let id = segments.next()?;
    let kind = segments.next()?;
    (matches!(kind, "Users" | "Groups") && is_resource_id(id) && id != ".search").then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::resource_id_in;

    #[test]
    fn resource_ids_from_paths_and_locations() {
        assert_eq!(resource_id_in("/scim/v2/acme/Users/ab-12").as_deref(), Some("ab-12"));
        assert_eq!(resource_id_in("https://h/scim/v2/acme/Groups/g1/").as_deref(), Some("g1"));
        assert_eq!(resource_id_in("/scim/v2/acme/Users"), None);
        assert_eq!(resource_id_in("/scim/v2/acme/Schemas/urn:x"), None);
        assert_eq!(resource_id_in("/scim/v2/acme/Users/a%20b"), None);
    }
}
