//! A `filter` parameter's text to its syntax tree: the parser, plus the compatibility layer's
//! one reading of text the grammar refuses (a bare word where a value belongs).

use super::compat::{Compat, Rule};
use crate::error::{Error, Result};
use scim_filter_parser::{parse_filter, ErrorKind, Filter, EXPECTED_VALUE};
use std::borrow::Cow;

/// Bare values quoted in one filter at the most: each costs a parse of the whole text.
const MAX_BARE_VALUES: usize = 8;

/// Parses `text`; where a comparison's value is a bare word (`externalId eq jyoung`), reads it
/// as that string if the request's mode allows (RFC 7644 §3.4.2.2 wants `"jyoung"`). A filter
/// that still does not parse is reported as the client wrote it.
pub fn parse(text: &str, compat: &Compat) -> Result<Filter> {
    let invalid = |e: scim_filter_parser::ParseError| Error::invalid_filter(format!("invalid filter: {e}"));
    let first = match parse_filter(text) {
        Ok(f) => return Ok(f),
        Err(e) => e,
    };
    let mut rewritten = Cow::Borrowed(text);
    let mut error = first.clone();
    for _ in 0..MAX_BARE_VALUES {
        if error.kind != ErrorKind::Syntax || error.expected != EXPECTED_VALUE {
            break;
        }
        let rest = &rewritten[error.offset..];
        let len = rest.find(|c: char| c.is_whitespace() || c == ')' || c == ']').unwrap_or(rest.len());
        let word = &rest[..len];
        if word.is_empty() || word.starts_with('"') {
            break;
        }
        compat.allow(Rule::UnquotedFilterValue, || format!("invalid filter: {word} must be a quoted string"))?;
        let quoted = serde_json::Value::from(word).to_string();
        rewritten = Cow::Owned(format!("{}{quoted}{}", &rewritten[..error.offset], &rest[len..]));
        match parse_filter(&rewritten) {
            Ok(f) => return Ok(f),
            Err(e) => error = e,
        }
    }
    Err(invalid(first))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Filter-like text, bare words and broken quotes included: the reading never panics,
        /// agrees with the parser wherever the parser succeeds, and fires the rule only when
        /// it quoted something.
        #[test]
        fn bare_value_reading_is_safe_and_changes_only_what_fails(
            parts in prop::collection::vec(prop::sample::select(vec![
                "userName", "emails", "[", "]", "(", ")", " ", "  ", "eq", "co", "pr", "and", "or", "not",
                "\"a b\"", "\"", "jyoung", "0a21", "42", "true", "é", "ñ@x", "\\", "type", ".", "value",
            ]), 0..16),
        ) {
            let text: String = parts.concat();
            let compat = Compat::new(false);
            let tolerant = parse(&text, &compat);
            match parse_filter(&text) {
                Ok(f) => {
                    prop_assert_eq!(tolerant.ok(), Some(f));
                    prop_assert!(compat.fired().is_empty());
                }
                Err(_) => prop_assert!(tolerant.is_err() || compat.fired() == [Rule::UnquotedFilterValue]),
            }
        }
    }

    #[test]
    fn bare_values_read_as_strings_in_compatible_mode_only() {
        let cases = [
            ("externalId eq jyoung", Some(r#"externalId eq "jyoung""#)),
            ("externalId eq 0a21", Some(r#"externalId eq "0a21""#)),
            ("userName eq j@x.com and externalId eq abc", Some(r#"userName eq "j@x.com" and externalId eq "abc""#)),
            ("(externalId eq a1) or emails[type eq work]", Some(r#"externalId eq "a1" or emails[type eq "work"]"#)),
            ("id eq 42", Some("id eq 42")),
            ("displayName eq Sales Team", None),
            ("userName eq", None),
            (r#"userName eq "open"#, None),
        ];
        for (text, want) in cases {
            let compat = Compat::new(false);
            match (parse(text, &compat), want) {
                (Ok(f), Some(w)) => {
                    assert_eq!(f.to_string(), w, "{text}");
                    let fired = !text.contains('"') && f.to_string() != text;
                    assert_eq!(compat.fired().contains(&Rule::UnquotedFilterValue), fired, "{text}");
                }
                (Err(e), None) => assert!(e.to_string().starts_with("invalid filter: expected"), "{text}: {e}"),
                (got, _) => panic!("{text}: {got:?}"),
            }
        }
        let strict = Compat::new(true);
        let e = parse("externalId eq jyoung", &strict).unwrap_err();
        assert!(matches!(e, Error::BadRequest { scim_type: crate::error::ScimType::InvalidFilter, .. }), "{e:?}");
    }
}
