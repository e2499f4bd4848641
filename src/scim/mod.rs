//! The SCIM protocol and its use cases, free of HTTP: schemas, resource validation, PATCH,
//! filters, paging, and the service that runs each request in one transaction.

pub mod compat;
pub mod discovery;
pub mod events;
pub mod filter;
mod filter_cost;
pub mod filter_eval;
mod filter_parse;
pub mod group;
pub mod group_filter;
mod group_member_patch;
pub mod group_members;
pub mod group_reads;
pub mod group_service;
pub mod json_body;
pub mod json_text;
pub mod list;
mod normalized;
pub mod patch;
#[cfg(test)]
mod patch_props;
#[cfg(test)]
mod patch_tests;
pub mod preconditions;
pub mod projection;
pub mod resource;
pub mod root_search;
pub mod schema;
pub mod service;
pub mod user;
mod user_change;
pub mod user_page;
pub mod user_write;

/// A new resource's `id` (RFC 7643 §3.1: unique, stable, assigned by the service provider): a
/// UUIDv7 (RFC 9562 §5.7), whose leading milliseconds make ids of resources created together
/// neighbours in the id index. A random (v4) id put every create on a random page of that
/// index, which each commit then wrote out. Clients treat the id as opaque either way, and
/// the time it holds is the `meta.created` every client can read.
pub fn new_resource_id(now: chrono::DateTime<chrono::Utc>) -> String {
    let (secs, nanos) = (now.timestamp().max(0) as u64, now.timestamp_subsec_nanos());
    uuid::Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, secs, nanos)).to_string()
}

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

/// The most bytes of JSON scimd stores for one resource: a user's attributes, or a group's
/// without its members (rows of their own). Real directory users are 1–3 KB. Without a
/// bound a user could be as large as a request body (1 MiB), and a page of 1,000 users is
/// read and rendered whole: one of users of 6,000 values each was 265 MB and took scimd's
/// peak RSS to 898 MiB (`bench/hostile`). At this bound a page of 1,000 stays under 64 MB.
pub const MAX_RESOURCE_BYTES: usize = 64 * 1024;

/// `Error::invalid_value` unless a `resource`'s stored `text` fits `MAX_RESOURCE_BYTES`.
pub fn check_resource_size(resource: &str, text: &str) -> crate::error::Result<()> {
    if text.len() > MAX_RESOURCE_BYTES {
        return Err(crate::error::Error::invalid_value(format!(
            "the {resource} would be {} bytes of JSON; scimd keeps at most {MAX_RESOURCE_BYTES} bytes of one",
            text.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    #[test]
    fn resource_ids_are_unique_v7_uuids_that_sort_by_creation_time() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        let times = [t0, t0, t0 + Duration::milliseconds(1), t0 + Duration::seconds(1), t0 + Duration::days(400)];
        let ids: Vec<String> = times.iter().map(|&t| super::new_resource_id(t)).collect();
        for id in &ids {
            assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7, "{id}");
        }
        assert_ne!(ids[0], ids[1], "two ids of one millisecond differ");
        // Later milliseconds sort later, so new rows append to the id index.
        assert!(ids[1..].windows(2).all(|w| w[0] < w[1]) && ids[0] < ids[2], "{ids:?}");
    }
}
