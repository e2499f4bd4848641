//! Sorted lists against a reference order computed here from the rendered users, on each
//! backend: every sortable kind of attribute (indexed columns, the stored document, the
//! primary-else-first element of a multi-valued one, a user's first group), both directions,
//! whole lists and pages of them.

use crate::filter_agreement::seed_directory;
use crate::helpers::TestApp;
use crate::scim_test;
use awc::http::StatusCode;
use proptest::test_runner::TestRunner;
use serde_json::Value;
use std::cmp::Ordering;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// (sortBy, caseExact): the attributes the random users have.
const SORTABLE: &[(&str, bool)] = &[
    ("userName", false),
    ("externalId", true),
    ("displayName", false),
    ("title", false),
    ("name.givenName", false),
    ("active", true),
    ("meta.created", true),
    ("meta.lastModified", true),
    ("meta.version", true),
    ("emails", false),
    ("emails.value", false),
    ("emails.type", false),
    ("emails.display", false),
    ("emails.primary", true),
    ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", false),
    ("groups", false),
    ("groups.display", false),
    ("groups.type", false),
];

/// RFC 7644 §3.4.2.3: the value a user sorts by, as text (booleans as `true`/`false`, which
/// order as false < true), normalised where the attribute is caseExact false.
pub(crate) fn sort_value(user: &Value, sort_by: &str, case_exact: bool) -> Option<String> {
    let element = |name: &str| -> Option<&Value> {
        let items = user.get(name)?.as_array()?;
        // Groups have no primary: their first, as the user lists them.
        items.iter().find(|e| e["primary"] == Value::Bool(true)).or(items.first())
    };
    let value = match sort_by.split_once('.') {
        _ if sort_by.starts_with(ENT) => user.get(ENT)?.get("department")?,
        Some(("meta", sub)) | Some(("name", sub)) => user.get(sort_by.split('.').next()?)?.get(sub)?,
        Some((multi, sub)) => element(multi)?.get(sub)?,
        None if matches!(sort_by, "emails" | "groups") => element(sort_by)?.get("value")?,
        None => user.get(sort_by)?,
    };
    match value {
        Value::String(s) if case_exact => Some(s.clone()),
        Value::String(s) => Some(s.to_lowercase()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The users' userNames in the reference order.
fn reference(all: &[Value], sort_by: &str, case_exact: bool, descending: bool) -> Vec<String> {
    reference_order(all, |u| sort_value(u, sort_by, case_exact), "userName", descending)
}

/// The `name` of each of `all` in the reference order: by `key`, those without one last, ties
/// in the order of `all`; descending is all of that reversed.
pub(crate) fn reference_order(
    all: &[Value],
    key: impl Fn(&Value) -> Option<String>,
    name: &str,
    descending: bool,
) -> Vec<String> {
    let mut keyed: Vec<(Option<String>, usize, String)> =
        all.iter().enumerate().map(|(i, r)| (key(r), i, r[name].as_str().unwrap().to_string())).collect();
    keyed.sort_by(|a, b| match (&a.0, &b.0) {
        (Some(x), Some(y)) => x.cmp(y).then(a.1.cmp(&b.1)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.1.cmp(&b.1),
    });
    let mut names: Vec<String> = keyed.into_iter().map(|(_, _, n)| n).collect();
    if descending {
        names.reverse();
    }
    names
}

async fn user_names(app: &TestApp, query: &str) -> Vec<String> {
    let r = app.get(&format!("/Users?attributes=userName&{query}")).await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
    r.body["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap().to_string()).collect()
}

scim_test!(sql_sorts_agree_with_the_reference_order, |app| {
    let mut runner = TestRunner::deterministic();
    let (all, _groups) = seed_directory(&app, &mut runner).await;
    for &(sort_by, case_exact) in SORTABLE {
        for descending in [false, true] {
            let order = if descending { "descending" } else { "ascending" };
            let want = reference(&all, sort_by, case_exact, descending);
            let whole = user_names(&app, &format!("sortBy={sort_by}&sortOrder={order}&count=1000")).await;
            assert_eq!(whole, want, "sortBy={sort_by}&sortOrder={order}");
            // A page inside it: its keys are cut from the sorted list, then its rows re-sorted.
            let page = user_names(&app, &format!("sortBy={sort_by}&sortOrder={order}&startIndex=7&count=9")).await;
            assert_eq!(page, want[6..15], "sortBy={sort_by}&sortOrder={order}, page at 7");
        }
    }
});
