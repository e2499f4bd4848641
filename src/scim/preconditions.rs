//! Entity tags in preconditions (RFC 7644 §3.14, RFC 7232 §3): which versions a request's
//! `If-Match` or `If-None-Match` names.

/// An entity tag's opaque part: weak or strong, quoted or not, they compare alike.
fn opaque(tag: &str) -> &str {
    tag.trim().trim_start_matches("W/").trim_matches('"')
}

/// RFC 7232 §3.1 over weak tags: `*`, or a list naming the current version.
pub fn if_match_allows(header: Option<&str>, etag: &str) -> bool {
    match header {
        None => true,
        Some(h) => h.split(',').any(|t| t.trim() == "*" || opaque(t) == opaque(etag)),
    }
}

/// `if_match_allows` as the versions (`user::etag`) it allows, for a check the database makes:
/// `None` for any. A tag that is not a version as `etag` writes it allows none.
pub(super) fn if_match_versions(header: Option<&str>) -> Option<Vec<i64>> {
    let h = header?;
    if h.split(',').any(|t| t.trim() == "*") {
        return None;
    }
    let version = |t: &str| opaque(t).parse::<i64>().ok().filter(|v| v.to_string() == opaque(t));
    Some(h.split(',').filter_map(version).collect())
}

#[cfg(test)]
mod tests {
    use super::{if_match_allows, if_match_versions};
    use crate::scim::user::etag;

    /// The versions `if_match_versions` hands the database allow exactly what
    /// `if_match_allows` allows, header by header and version by version.
    #[test]
    fn if_match_versions_allow_what_if_match_allows() {
        let headers = [
            None,
            Some("*"),
            Some("W/\"3\""),
            Some("\"3\""),
            Some("3"),
            Some(" W/\"3\" , W/\"7\""),
            Some("W/\"03\""),
            Some("W/\"+3\""),
            Some("W/\"x\", *"),
            Some("W/\"x\""),
            Some(""),
            Some("W/\"-1\""),
            Some("W/\"99999999999999999999\""),
        ];
        for header in headers {
            let versions = if_match_versions(header);
            for version in [-1, 0, 3, 7, 30, i64::MAX] {
                let allowed = versions.as_ref().is_none_or(|v| v.contains(&version));
                assert_eq!(allowed, if_match_allows(header, &etag(version)), "{header:?} at version {version}");
            }
        }
    }
}
