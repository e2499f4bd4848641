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
pub mod user_write;

/// The one normalisation for case-insensitive values (caseExact false, RFC 7643 §2.2): used
/// for unique indexes and for filter comparisons alike, computed here so SQLite and PostgreSQL
/// agree (SQLite's lower() folds ASCII only).
pub fn normalize(s: &str) -> String {
    s.to_lowercase()
}

/// The longest string, in bytes of UTF-8, that scimd keeps in an index (userName, externalId,
/// displayName, and the value and type of emails and the other indexed multi-valued
/// attributes). PostgreSQL refuses a B-tree entry over 2,704 bytes, and an element's value
/// and type share one; the same limit on SQLite keeps a request's outcome the same on both.
pub const MAX_INDEXED_BYTES: usize = 1024;

/// `Error::invalid_value` unless `value` (as indexed) fits `MAX_INDEXED_BYTES`.
pub fn check_indexed(attribute: impl std::fmt::Display, value: &str) -> crate::error::Result<()> {
    if value.len() > MAX_INDEXED_BYTES {
        return Err(crate::error::Error::invalid_value(format!(
            "{attribute} is {} bytes long; scimd accepts at most {MAX_INDEXED_BYTES}",
            value.len()
        )));
    }
    Ok(())
}
