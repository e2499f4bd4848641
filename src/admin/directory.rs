//! A tenant's users and groups as the admin page and API list them: paged, searchable by
//! name prefix, with status and membership counts.

use crate::error::Result;
use crate::store::{BrowsePage, Store};
use serde::Serialize;
use serde_json::Value;

/// Rows per page when the caller does not say.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
const MAX_PAGE_SIZE: i64 = 500;

/// `users` or `groups`: how the admin page and API list either.
pub type ListFn<T> = fn(&Store, &str, Option<&str>, Paging) -> Result<Listing<T>>;

#[derive(Debug, Clone, Copy)]
pub struct Paging {
    /// 1-based, as in SCIM.
    pub start_index: i64,
    pub count: i64,
}

impl Paging {
    pub fn new(start_index: Option<i64>, count: Option<i64>) -> Paging {
        Paging {
            start_index: start_index.unwrap_or(1).max(1),
            count: count.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct UserSummary {
    pub id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    /// `active` as the IdP last set it; absent counts as active.
    pub active: bool,
    pub groups: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupSummary {
    pub id: String,
    pub display_name: String,
    pub members: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Listing<T> {
    pub total: i64,
    pub start_index: i64,
    pub items: Vec<T>,
}

fn page<'a>(prefix: &'a Option<String>, paging: Paging) -> BrowsePage<'a> {
    BrowsePage { prefix: prefix.as_deref(), offset: paging.start_index - 1, limit: paging.count }
}

fn normalized_query(query: Option<&str>) -> Option<String> {
    query.map(str::trim).filter(|q| !q.is_empty()).map(crate::scim::normalize)
}

/// Users whose userName or displayName starts with `query` (case-insensitively).
pub fn users(store: &Store, tenant: &str, query: Option<&str>, paging: Paging) -> Result<Listing<UserSummary>> {
    let tenant = crate::tenancy::id_of(store, tenant)?;
    let prefix = normalized_query(query);
    let (total, rows) = store.read(|tx| tx.browse_users(tenant, page(&prefix, paging)))?;
    let items = rows
        .into_iter()
        .map(|r| {
            let data: Value = serde_json::from_str(&r.data).unwrap_or(Value::Null);
            let display_name = data.get("displayName").and_then(Value::as_str).map(str::to_string);
            let emails = data.get("emails").and_then(Value::as_array);
            let primary = emails
                .and_then(|e| e.iter().find(|m| m.get("primary") == Some(&Value::Bool(true))).or_else(|| e.first()));
            let email = primary.and_then(|m| m.get("value")).and_then(Value::as_str).map(str::to_string);
            UserSummary {
                id: r.id,
                user_name: r.user_name,
                display_name,
                email,
                active: r.active.unwrap_or(true),
                groups: r.groups,
            }
        })
        .collect();
    Ok(Listing { total, start_index: paging.start_index, items })
}

/// Groups whose displayName starts with `query` (case-insensitively).
pub fn groups(store: &Store, tenant: &str, query: Option<&str>, paging: Paging) -> Result<Listing<GroupSummary>> {
    let tenant = crate::tenancy::id_of(store, tenant)?;
    let prefix = normalized_query(query);
    let (total, rows) = store.read(|tx| tx.browse_groups(tenant, page(&prefix, paging)))?;
    let items =
        rows.into_iter().map(|r| GroupSummary { id: r.id, display_name: r.display_name, members: r.members }).collect();
    Ok(Listing { total, start_index: paging.start_index, items })
}
