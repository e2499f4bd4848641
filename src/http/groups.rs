//! /Groups handlers. Group bodies are streamed: the group's head and its first page of
//! members, read together (one snapshot), then its later members fetched in keyset pages, so a
//! 100,000-member group is never built in memory.

use super::extract::{Authenticated, Query, ScimJson};
use super::{created, if_match, owned_context, run, with_compat, AppState};
use crate::error::Error;
use crate::scim::compat::Rule;
use crate::scim::group_members::MemberFields;
use crate::scim::group_reads::{GroupView, LaterPage};
use crate::scim::list::{list_prefix, QueryParams};
use crate::scim::preconditions::if_match_allows;
use crate::scim::projection::Projection;
use crate::scim::service::TenantScope;
use crate::scim::user_page::UserPage;
use crate::store::MemberKind;
use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use futures_util::{stream, StreamExt};
use std::collections::VecDeque;
use std::sync::Arc;

type State = web::Data<AppState>;

enum Step {
    /// The list's head.
    Prefix,
    /// A run of a root search's users, after this many of its groups.
    Users(usize, Box<UserPage>),
    GroupStart(usize),
    /// Group `i`'s members after the cursor, with the sub-attributes the request keeps, and
    /// whether none is written yet.
    Members(usize, MemberFields, (MemberKind, i64), bool),
    GroupEnd(usize),
    Suffix,
    Done,
}

struct Body {
    state: State,
    scope: TenantScope,
    /// Whether a root search's users come before its first group: a comma goes before it.
    after_users: bool,
    groups: Vec<GroupView>,
    /// A list's: its groups' members not read with the list are read as they are sent, and
    /// a group changed meanwhile is read again (`ScimService::later_member_pages`). `None`:
    /// one group, its first page read with its head.
    projection: Option<Projection>,
    prefix: String,
    suffix: String,
}

/// A root search's runs of users, each after as many of its groups as it says.
type UserRuns = VecDeque<(usize, UserPage)>;

impl Body {
    /// What follows the first `i` groups: the run of users there, else group `i`.
    fn after(&self, i: usize, runs: &mut UserRuns) -> Step {
        match runs.front() {
            Some(&(at, _)) if at == i => {
                runs.pop_front().map_or(Step::Suffix, |(at, page)| Step::Users(at, Box::new(page)))
            }
            _ if i < self.groups.len() => Step::GroupStart(i),
            _ => Step::Suffix,
        }
    }
}

/// Bytes gathered before a chunk is sent: few large writes, not one per group or page.
const CHUNK_BYTES: usize = 32 * 1024;

/// First pages of members read ahead, each with its group's index: of the groups from the one
/// being written on, as many as one read covered.
type Ahead = VecDeque<(usize, LaterPage)>;

/// Appends what `step` produces to `out` and returns the next step; members are fetched
/// off the async workers.
async fn produce(body: &Arc<Body>, cursor: &mut Cursor, step: Step, out: &mut String) -> Result<Step, Error> {
    let Cursor { ahead, runs } = cursor;
    Ok(match step {
        Step::Done => Step::Done,
        Step::Prefix => {
            out.push_str(&body.prefix);
            body.after(0, runs)
        }
        Step::Users(at, mut page) => {
            let first = page.take_first();
            // Users after a group follow it with a comma; a run's first part is written once.
            if at > 0 && !first.is_empty() {
                out.push(',');
            }
            out.push_str(&first);
            page.write(&body.state.service, out, CHUNK_BYTES)?;
            if page.is_done() {
                body.after(at, runs)
            } else {
                Step::Users(at, page)
            }
        }
        Step::Suffix => {
            out.push_str(&body.suffix);
            Step::Done
        }
        Step::GroupStart(i) => {
            let g = &body.groups[i];
            if i > 0 || body.after_users {
                out.push(',');
            }
            if let Some(fields) = g.members {
                let later = match ahead.pop_front() {
                    Some((at, later)) if at == i => later,
                    _ => {
                        *ahead = read_ahead(body, i, fields).await?;
                        ahead.pop_front().map(|(_, later)| later).ok_or_else(|| Error::internal("no member page"))?
                    }
                };
                let LaterPage { page, head: fresh } = later;
                let head = fresh.as_ref().map_or(&g.head.body, |h| &h.body);
                // The head is an object: reopen it to append "members".
                out.push_str(&head[..head.len() - 1]);
                out.push_str(",\"members\":[");
                out.push_str(&page.json);
                match page.next {
                    Some(cursor) => Step::Members(i, fields, cursor, page.elements == 0),
                    None => Step::GroupEnd(i),
                }
            } else {
                out.push_str(&g.head.body);
                body.after(i + 1, runs)
            }
        }
        Step::Members(i, fields, after, first) => {
            let b = body.clone();
            let pk = body.groups[i].pk;
            let store = b.state.store.clone();
            let page = store
                .offload(move || b.state.service.member_page(b.scope.tenant, &b.scope.base_url, pk, after, fields))
                .await?;
            if page.elements > 0 {
                if !first {
                    out.push(',');
                }
                out.push_str(&page.json);
            }
            match page.next {
                Some(cursor) => Step::Members(i, fields, cursor, first && page.elements == 0),
                None => Step::GroupEnd(i),
            }
        }
        Step::GroupEnd(i) => {
            out.push_str("]}");
            body.after(i + 1, runs)
        }
    })
}

/// The first member pages of group `i` and of as many after it (sending the same members'
/// sub-attributes) as one read covers.
async fn read_ahead(body: &Arc<Body>, i: usize, fields: MemberFields) -> Result<Ahead, Error> {
    let b = body.clone();
    let store = b.state.store.clone();
    let pages = store
        .offload(move || {
            let projection =
                b.projection.as_ref().ok_or_else(|| Error::internal("a group's members not read with it"))?;
            // The groups one read can cover: a run whose keys ascend (`Tx::first_members`).
            // Gathering every group after the one being sent, a list sorted by name (runs of
            // one or two) gathered about 5,000 a page of 100.
            let mut last = None;
            let listed: Vec<(i64, &str, i64)> = b.groups[i..]
                .iter()
                .take_while(|g| g.members == Some(fields) && last.replace(g.pk).is_none_or(|before| before < g.pk))
                .map(|g| (g.pk, g.id.as_str(), g.version))
                .collect();
            b.state.service.later_member_pages(b.scope.tenant, &b.scope.base_url, &listed, fields, projection)
        })
        .await?;
    Ok((i..).zip(pages).collect())
}

/// Where a body's writing is: the member pages read ahead and the users still to write.
struct Cursor {
    ahead: Ahead,
    runs: UserRuns,
}

/// The JSON of `groups` (and a root search's users) between `prefix` and `suffix`, members
/// paged in as it is sent.
async fn streamed(
    mut builder: HttpResponseBuilder,
    mut body: Body,
    runs: Vec<(usize, UserPage)>,
) -> Result<HttpResponse, Error> {
    // The pages read with the groups' heads come first; the rest are read as they are due.
    let read: Ahead = body
        .groups
        .iter_mut()
        .enumerate()
        .filter_map(|(i, g)| g.first_page.take().map(|page| (i, LaterPage { page, head: None })))
        .collect();
    let body = Arc::new(body);
    let cursor = Cursor { ahead: read, runs: runs.into() };
    let chunks = stream::unfold((Step::Prefix, cursor), move |(mut step, mut cursor)| {
        let body = body.clone();
        async move {
            if matches!(step, Step::Done) {
                return None;
            }
            let mut out = String::new();
            while !matches!(step, Step::Done) && out.len() < CHUNK_BYTES {
                step = match produce(&body, &mut cursor, step, &mut out).await {
                    Ok(next) => next,
                    // The status line is gone already: end the body; the client sees it cut.
                    Err(e) => return Some((Err(e), (Step::Done, cursor))),
                };
            }
            Some((Ok(Bytes::from(out)), (step, cursor)))
        }
    });
    // The first chunk is written before the status line: a failure in it is an error answer,
    // and a body that ends within it (shorter than a chunk: every small group or page) goes
    // whole, with its length, and gzipped as any whole answer is (`http::gzip`).
    let mut chunks = Box::pin(chunks);
    let first = chunks.next().await.transpose()?.unwrap_or_default();
    builder.content_type(super::error::SCIM_CONTENT_TYPE);
    if first.len() < CHUNK_BYTES {
        return Ok(builder.body(first));
    }
    Ok(builder.streaming(stream::once(std::future::ready(Ok(first))).chain(chunks)))
}

async fn one(
    state: State,
    scope: TenantScope,
    builder: HttpResponseBuilder,
    view: GroupView,
    fired: &[Rule],
) -> Result<HttpResponse, Error> {
    let mut builder = builder;
    builder.insert_header((header::ETAG, view.head.etag.clone()));
    with_compat(&mut builder, fired);
    streamed(
        builder,
        Body {
            state,
            scope,
            after_users: false,
            groups: vec![view],
            projection: None,
            prefix: String::new(),
            suffix: String::new(),
        },
        Vec::new(),
    )
    .await
}

pub async fn create(
    state: State,
    auth: Authenticated,
    Query(query): Query,
    ScimJson(body): ScimJson,
) -> Result<HttpResponse, Error> {
    let ctx = owned_context(auth, query, None);
    let view = state.service.create_group(&ctx, &body).await?;
    one(state, ctx.scope.clone(), created(&view.head.location), view, &ctx.compat.fired()).await
}

pub async fn get(
    state: State,
    auth: Authenticated,
    Query(query): Query,
    path: web::Path<(String, String)>,
    http: HttpRequest,
) -> Result<HttpResponse, Error> {
    let (_, id) = path.into_inner();
    let scope = auth.scope.clone();
    let (view, fired) = run(state.clone(), auth, query, None, move |s, r| s.service.get_group(r, &id)).await?;
    let none_match = http.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
    if none_match.is_some() && if_match_allows(none_match, &view.head.etag) {
        return Ok(HttpResponse::NotModified().insert_header((header::ETAG, view.head.etag)).finish());
    }
    one(state, scope, HttpResponse::Ok(), view, &fired).await
}

async fn list_with(state: State, auth: Authenticated, params: QueryParams) -> Result<HttpResponse, Error> {
    let scope = auth.scope.clone();
    let (list, fired) = run(state.clone(), auth, params, None, |s, r| s.service.list_groups(r)).await?;
    let prefix = list_prefix(list.total, list.start_index, list.groups.len());
    let mut builder = HttpResponse::Ok();
    with_compat(&mut builder, &fired);
    let body = Body {
        state,
        scope,
        after_users: false,
        groups: list.groups,
        projection: Some(list.projection),
        prefix,
        suffix: "]}".into(),
    };
    streamed(builder, body, Vec::new()).await
}

/// POST /.search at the Base URL root: users and groups in one list (RFC 7644 §3.4.3).
pub async fn search_root(state: State, auth: Authenticated, ScimJson(body): ScimJson) -> Result<HttpResponse, Error> {
    list_root_with(state, auth, QueryParams::from_search_request(&body)?).await
}

/// GET at the Base URL root: the same list from query parameters (RFC 7644 §3.4.2, "Queries
/// MAY be performed against … a SCIM server root").
pub async fn list_root(state: State, auth: Authenticated, Query(query): Query) -> Result<HttpResponse, Error> {
    list_root_with(state, auth, query).await
}

async fn list_root_with(state: State, auth: Authenticated, params: QueryParams) -> Result<HttpResponse, Error> {
    let scope = auth.scope.clone();
    let (found, fired) = run(state.clone(), auth, params, None, |s, r| s.service.search_all(r)).await?;
    let prefix = list_prefix(found.total, found.start_index, found.resources());
    let mut builder = HttpResponse::Ok();
    with_compat(&mut builder, &fired);
    let body = Body {
        state,
        scope,
        after_users: found.user_runs.first().is_some_and(|&(at, _)| at == 0),
        groups: found.groups,
        projection: Some(found.projection),
        prefix,
        suffix: "]}".into(),
    };
    streamed(builder, body, found.user_runs).await
}

pub async fn list(state: State, auth: Authenticated, Query(query): Query) -> Result<HttpResponse, Error> {
    list_with(state, auth, query).await
}

pub async fn search(state: State, auth: Authenticated, ScimJson(body): ScimJson) -> Result<HttpResponse, Error> {
    list_with(state, auth, QueryParams::from_search_request(&body)?).await
}

pub async fn replace(
    state: State,
    auth: Authenticated,
    Query(query): Query,
    path: web::Path<(String, String)>,
    ScimJson(body): ScimJson,
    http: HttpRequest,
) -> Result<HttpResponse, Error> {
    let (_, id) = path.into_inner();
    let ctx = owned_context(auth, query, if_match(&http));
    let view = state.service.replace_group(&ctx, id, &body).await?;
    one(state, ctx.scope.clone(), HttpResponse::Ok(), view, &ctx.compat.fired()).await
}

/// 204 unless `attributes`/`excludedAttributes` ask for the group back (RFC 7644 §3.5.2).
pub async fn patch(
    state: State,
    auth: Authenticated,
    Query(query): Query,
    path: web::Path<(String, String)>,
    ScimJson(body): ScimJson,
    http: HttpRequest,
) -> Result<HttpResponse, Error> {
    crate::http::note_patch(&http, &body);
    let (_, id) = path.into_inner();
    let ctx = owned_context(auth, query, if_match(&http));
    let view = state.service.patch_group(&ctx, id, &body).await?;
    let fired = ctx.compat.fired();
    match view {
        Some(view) => one(state, ctx.scope.clone(), HttpResponse::Ok(), view, &fired).await,
        None => {
            let mut builder = HttpResponse::NoContent();
            with_compat(&mut builder, &fired);
            Ok(builder.finish())
        }
    }
}

pub async fn delete(
    state: State,
    auth: Authenticated,
    path: web::Path<(String, String)>,
    http: HttpRequest,
) -> Result<HttpResponse, Error> {
    let (_, id) = path.into_inner();
    state.service.delete_group(&owned_context(auth, QueryParams::default(), if_match(&http)), id).await?;
    Ok(HttpResponse::NoContent().finish())
}
