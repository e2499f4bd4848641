//! A sorted search at the Base URL root against a reference order computed here from the
//! rendered users and groups, on each backend: one order across both types (RFC 7644
//! §3.4.2.3, §3.4.3), resources without the attribute last ascending and first descending.

use crate::filter_agreement::seed_directory;
use crate::helpers::{q, TestApp};
use crate::scim_test;
use crate::sort_agreement::{reference_order, sort_value};
use awc::http::StatusCode;
use proptest::test_runner::TestRunner;
use serde_json::{json, Value};

/// (sortBy, caseExact): attributes both types have, and ones only one of them has.
const SORTABLE: &[(&str, bool)] = &[
    ("id", true),
    ("externalId", true),
    ("displayName", false),
    ("meta.created", true),
    ("meta.lastModified", true),
    ("meta.version", true),
    ("meta.location", true),
    ("meta.resourceType", true),
    ("userName", false),
    ("emails.value", false),
    ("members", true),
    ("members.value", true),
    ("members.display", false),
];

/// What a resource sorts by: a group's members by their first, as the group lists them.
fn key(resource: &Value, sort_by: &str, case_exact: bool) -> Option<String> {
    match sort_by {
        "members" | "members.value" => resource.get("members")?.get(0)?.get("value")?.as_str().map(str::to_string),
        _ => sort_value(resource, sort_by, case_exact),
    }
}

/// The ids in the reference order. `all` is the users, then the groups, each in creation
/// order: ties go to users first, then creation.
fn reference(all: &[Value], sort_by: &str, case_exact: bool, descending: bool) -> Vec<String> {
    reference_order(all, |r| key(r, sort_by, case_exact), "id", descending)
}

async fn ids(app: &TestApp, query: &str) -> Vec<String> {
    let r = app.get(&format!("?{query}")).await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
    let listed = r.body["Resources"].as_array().unwrap();
    assert_eq!(r.body["itemsPerPage"], json!(listed.len()), "{query}");
    listed.iter().map(|u| u["id"].as_str().unwrap().to_string()).collect()
}

scim_test!(root_sorts_agree_with_the_reference_order, |app| {
    let mut runner = TestRunner::deterministic();
    let (mut all, _) = seed_directory(&app, &mut runner).await;
    let groups = app.get("/Groups?count=1000").await.body["Resources"].as_array().unwrap().clone();
    all.extend(groups);
    for &(sort_by, case_exact) in SORTABLE {
        for descending in [false, true] {
            let order = if descending { "descending" } else { "ascending" };
            let want = reference(&all, sort_by, case_exact, descending);
            let query = format!("sortBy={sort_by}&sortOrder={order}");
            assert_eq!(ids(&app, &format!("{query}&count=1000")).await, want, "{query}");
            // Pages cut from the one order: inside it, and its last, which is short.
            assert_eq!(ids(&app, &format!("{query}&startIndex=7&count=9")).await, want[6..15], "{query}, page at 7");
            let last = ids(&app, &format!("{query}&startIndex=40&count=10")).await;
            assert_eq!(last, want[39..], "{query}, page at 40");
        }
    }
    // A filter both types understand, sorted by what only users have: the groups it selects
    // follow the users.
    let named: Vec<Value> = all
        .iter()
        .filter(|r| r["displayName"].as_str().is_some_and(|d| d.to_lowercase().contains('a')))
        .cloned()
        .collect();
    let want = reference(&named, "userName", false, false);
    assert_eq!(ids(&app, &format!("filter={}&sortBy=userName&count=1000", q("displayName co \"a\""))).await, want);
});

scim_test!(root_sort_errors_when_neither_type_can_sort, |app| {
    app.create_user("one@example.com").await;
    for (query, scim_type) in [
        ("sortBy=nosuch", "invalidValue"),
        ("sortBy=meta", "invalidValue"),
        ("sortBy=displayName&sortOrder=sideways", "invalidValue"),
        ("sortBy=userName&filter=nosuch%20eq%201", "invalidFilter"),
        ("sortBy=id&count=x", "invalidValue"),
    ] {
        for root in ["", "/"] {
            app.get(&format!("{root}?{query}")).await.assert_error(400, Some(scim_type));
        }
        let search: Value = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect::<serde_json::Map<_, _>>()
            .into();
        app.post("/.search", search).await.assert_error(400, Some(scim_type));
    }
});
