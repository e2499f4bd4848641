//! Query parameters and paging of list responses (RFC 7644 §3.4.2).

use super::compat::{Compat, Rule};
use super::schema::{LIST_RESPONSE, SEARCH_REQUEST};
use crate::error::{Error, Quoted, Result};
use serde_json::{json, Value};

/// Query parameters with names matched case-insensitively (clients send `startindex`,
/// `Filter`, …). The last occurrence of a name wins.
#[derive(Debug, Clone, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    /// From a raw query string: percent-decoding, `+` as space, a trailing `&` or `?` ignored.
    pub fn parse(query: &str) -> Self {
        QueryParams(form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    /// RFC 7644 §3.4.3: a SearchRequest body carries the same parameters as a GET query.
    pub fn from_search_request(body: &Value) -> Result<Self> {
        let Value::Object(fields) = body else {
            return Err(Error::invalid_syntax("a SearchRequest must be a JSON object"));
        };
        let mut params = Vec::new();
        for (name, value) in fields {
            let text = match (name.to_ascii_lowercase().as_str(), value) {
                ("schemas", Value::Array(items)) => {
                    if !items.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(SEARCH_REQUEST))) {
                        return Err(Error::invalid_syntax(format!("schemas must contain {SEARCH_REQUEST}")));
                    }
                    continue;
                }
                (_, Value::Null) => continue,
                ("filter" | "sortby" | "sortorder", Value::String(s)) => s.clone(),
                ("startindex" | "count", Value::Number(n)) => n.to_string(),
                ("attributes" | "excludedattributes", Value::Array(items)) => {
                    let names: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                    names.ok_or_else(|| Error::invalid_value(format!("{name} must be an array of strings")))?.join(",")
                }
                ("attributes" | "excludedattributes", Value::String(s)) => s.clone(),
                (
                    "schemas" | "filter" | "sortby" | "sortorder" | "startindex" | "count" | "attributes"
                    | "excludedattributes",
                    _,
                ) => {
                    return Err(Error::invalid_value(format!("{name} has the wrong type")));
                }
                _ => continue,
            };
            params.push((name.clone(), text));
        }
        Ok(QueryParams(params))
    }

    /// Every (name, value), names as sent.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k.trim_start_matches('?').eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Paging {
    /// 1-based (RFC 7644 §3.4.2.4).
    pub start_index: u64,
    pub count: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    pub default_count: u64,
    pub max_count: u64,
}

fn integer(params: &QueryParams, name: &str) -> Result<Option<i64>> {
    match params.get(name).map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| Error::invalid_value(format!("{name} must be an integer, not {v}", v = Quoted(v)))),
    }
}

/// RFC 7644 §3.4.2.4: startIndex below 1 means 1; a negative count means 0 (in compatible
/// mode the largest page, as PingFederate means it); a count above the limit is cut to it.
pub fn paging(params: &QueryParams, limits: PageLimits, compat: &Compat) -> Result<Paging> {
    let start_index = integer(params, "startIndex")?.unwrap_or(1).max(1) as u64;
    let count = match integer(params, "count")? {
        None => limits.default_count,
        Some(c) if c < 0 && compat.prefer(Rule::NegativeCountAsMaximum) => limits.max_count,
        Some(c) => (c.max(0) as u64).min(limits.max_count),
    };
    Ok(Paging { start_index, count: count.min(limits.max_count) })
}

/// RFC 7644 §3.4.2: `itemsPerPage` is what this page holds; `Resources` is always present.
pub fn list_response(total: u64, start_index: u64, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// A ListResponse's text up to and including the `[` that opens `Resources`.
pub fn list_prefix(total: u64, start_index: u64, items: usize) -> String {
    format!(
        "{{\"schemas\":[\"{LIST_RESPONSE}\"],\"totalResults\":{total},\"startIndex\":{start_index},\"itemsPerPage\":{items},\"Resources\":["
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: PageLimits = PageLimits { default_count: 100, max_count: 1000 };

    #[test]
    fn paging_follows_rfc_7644() {
        let cases: &[(&str, u64, u64)] = &[
            ("", 1, 100),
            ("startIndex=1&count=2", 1, 2),
            ("startindex=101&COUNT=100", 101, 100),
            ("startIndex=0&count=-5", 1, 0),
            ("startIndex=-3", 1, 100),
            ("count=5000", 1, 1000),
            ("count=0", 1, 0),
            ("filter=userName+eq+%22x%22&", 1, 100),
        ];
        for (q, start, count) in cases {
            let p = paging(&QueryParams::parse(q), LIMITS, &Compat::new(true)).unwrap();
            assert_eq!((p.start_index, p.count), (*start, *count), "{q}");
        }
        for bad in ["count=abc", "startIndex=1.5", "count=%ZZ9"] {
            assert!(paging(&QueryParams::parse(bad), LIMITS, &Compat::default()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_negative_count_is_the_largest_page_unless_strict() {
        for (q, count, fired) in
            [("count=-1", 1000, true), ("count=-5&startIndex=3", 1000, true), ("count=0", 0, false)]
        {
            let compat = Compat::default();
            let p = paging(&QueryParams::parse(q), LIMITS, &compat).unwrap();
            assert_eq!((p.count, compat.fired().contains(&Rule::NegativeCountAsMaximum)), (count, fired), "{q}");
            let strict = Compat::new(true);
            assert_eq!(paging(&QueryParams::parse(q), LIMITS, &strict).unwrap().count, 0, "{q}");
        }
    }

    #[test]
    fn search_requests_become_parameters() {
        let p = QueryParams::from_search_request(&serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "userName eq \"x\"", "startIndex": 3, "count": 7, "attributes": ["userName", "emails"],
            "sortBy": null,
        }))
        .unwrap();
        assert_eq!(p.get("filter"), Some("userName eq \"x\""));
        assert_eq!(paging(&p, LIMITS, &Compat::default()).unwrap(), Paging { start_index: 3, count: 7 });
        assert_eq!(p.get("attributes"), Some("userName,emails"));
        for bad in [
            serde_json::json!([]),
            serde_json::json!({"filter": 5}),
            serde_json::json!({"count": "x"}),
            serde_json::json!({"schemas": ["urn:wrong"]}),
            serde_json::json!({"attributes": [1]}),
        ] {
            assert!(QueryParams::from_search_request(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_decoding_matches_what_clients_send() {
        let p = QueryParams::parse("filter=userName+eq+%22a%40b.c%22&");
        assert_eq!(p.get("FILTER"), Some("userName eq \"a@b.c\""));
        let p = QueryParams::parse("filter=userName eq \"x\"");
        assert_eq!(p.get("filter"), Some("userName eq \"x\""));
    }
}
