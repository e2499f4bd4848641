//! The SCIM protocol and its use cases, free of HTTP: schemas, resource validation, PATCH,
//! filters, paging, and the service that runs each request in one transaction.

pub mod compat;
pub mod discovery;
pub mod events;
pub mod filter;
pub mod filter_eval;
pub mod group;
pub mod group_filter;
pub mod group_service;
pub mod json_text;
pub mod list;
pub mod patch;
#[cfg(test)]
mod patch_tests;
pub mod projection;
pub mod resource;
pub mod schema;
pub mod service;
pub mod user;

/// The one normalisation for case-insensitive values (caseExact false, RFC 7643 §2.2): used
/// for unique indexes and for filter comparisons alike, computed here so SQLite and PostgreSQL
/// agree (SQLite's lower() folds ASCII only).
pub fn normalize(s: &str) -> String {
    s.to_lowercase()
}
