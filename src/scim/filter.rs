//! Filters (RFC 7644 §3.4.2.2) to store predicates. A filter that does not parse, or that
//! scimd cannot evaluate exactly, is a 400 invalidFilter: never an unfiltered answer.

use super::normalize;
use super::schema::USER_SCHEMA;
use crate::error::{Error, Result};
use crate::store::UserPredicate;
use scim_filter_parser::{parse_filter, CompValue, CompareOp, Filter};

pub fn user_predicate(filter: Option<&str>) -> Result<UserPredicate> {
    let Some(text) = filter.filter(|t| !t.trim().is_empty()) else {
        return Ok(UserPredicate::All);
    };
    let ast = parse_filter(text).map_err(|e| Error::invalid_filter(format!("invalid filter: {e}")))?;
    match &ast {
        Filter::Compare(path, CompareOp::Eq, CompValue::String(value))
            if path.name.eq_ignore_ascii_case("userName")
                && path.sub.is_none()
                && path.urn.as_deref().is_none_or(|u| u.eq_ignore_ascii_case(USER_SCHEMA)) =>
        {
            // RFC 7643 §4.1.1: userName is caseExact false; same normalisation as its index.
            Ok(UserPredicate::UserNameEq(normalize(value)))
        }
        _ => Err(Error::invalid_filter(format!(
            "scimd cannot evaluate this filter yet; supported: userName eq \"…\" (got: {ast})"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_name_eq_is_case_insensitive_and_other_filters_are_refused() {
        assert_eq!(user_predicate(None).unwrap(), UserPredicate::All);
        assert_eq!(user_predicate(Some("  ")).unwrap(), UserPredicate::All);
        for text in [
            r#"userName eq "Alice@X.com""#,
            r#"USERNAME Eq "alice@x.com""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ALICE@x.com""#,
        ] {
            assert_eq!(user_predicate(Some(text)).unwrap(), UserPredicate::UserNameEq("alice@x.com".into()), "{text}");
        }
        for text in [r#"userName eq "x" or title pr"#, r#"displayName eq "x""#, "userName pr", "userName eq", "((("] {
            let e = user_predicate(Some(text)).unwrap_err();
            assert!(matches!(e, Error::BadRequest { scim_type: crate::error::ScimType::InvalidFilter, .. }), "{text}");
        }
    }
}
