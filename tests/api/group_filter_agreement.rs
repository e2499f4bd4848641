//! Group filters against the reference evaluator: random memberships (displays in every case,
//! empty, or none; users and groups; written by POST and by PATCH), random filters on
//! `displayName` and `members`, and the SQL answer must equal the evaluator's over the
//! rendered groups, on each backend.

use crate::filter_agreement::{path, word, OPS};
use crate::helpers::{patch_op, TestApp};
use crate::scim_test;
use awc::http::StatusCode;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use scim_filter_parser::{AttrPath, CompValue, CompareOp, Filter};
use scimd::scim::filter_eval::Evaluator;
use scimd::scim::schema::Registry;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const DISPLAYS: &[&str] =
    &["ann", "ANN", "Ann Ärger", "ärger", "ÄRGER", "bob@x.io", "Bob@X.io", "ΟΔΥΣΣΕΥΣ", "οδυσσευς", "", "%", "a_b", "z"];
const NAMES: &[&str] = &["a", "Ab", "ärger", "x1", "%", "a_b", "Team Σ", "z", "Bob", "ann"];
const EQUALITY: &[CompareOp] = &[CompareOp::Eq, CompareOp::Ne];

fn display() -> impl Strategy<Value = String> {
    prop_oneof![proptest::sample::select(DISPLAYS).prop_map(str::to_string), word()]
}

/// A member of `ids` (users' and groups'), `display` or none.
fn member(ids: Vec<String>) -> impl Strategy<Value = Value> {
    (proptest::sample::select(ids), proptest::option::weighted(0.7, display())).prop_map(
        |(id, display)| match display {
            Some(d) => json!({"value": id, "display": d}),
            None => json!({"value": id}),
        },
    )
}

/// A condition on one member: its display, its id or its type, each in any case (all three
/// are caseExact=false in schemas/Group.json).
fn member_leaf(ids: Vec<String>) -> impl Strategy<Value = Filter> {
    let id = (proptest::sample::select(ids), any::<bool>()).prop_map(|(id, upper)| match upper {
        true => id.to_uppercase(),
        false => id,
    });
    let kind = proptest::sample::select(&["User", "user", "GROUP", "Group", "us", "SER", "r", "h", "", "Users"][..]);
    prop_oneof![
        4 => (proptest::sample::select(OPS), display())
            .prop_map(|(op, d)| Filter::Compare(path("display"), op, CompValue::String(d))),
        1 => Just(Filter::Present(path("display"))),
        1 => proptest::sample::select(EQUALITY).prop_map(|op| Filter::Compare(path("display"), op, CompValue::Null)),
        2 => (proptest::sample::select(OPS), id).prop_map(|(op, id)| Filter::Compare(path("value"), op, CompValue::String(id))),
        1 => (proptest::sample::select(OPS), kind)
            .prop_map(|(op, k)| Filter::Compare(path("type"), op, CompValue::String(k.into()))),
    ]
}

fn filter(ids: Vec<String>) -> impl Strategy<Value = Filter> {
    let element = member_leaf(ids.clone()).prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 2..3).prop_map(Filter::And),
            proptest::collection::vec(inner.clone(), 2..3).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    });
    let leaf = prop_oneof![
        2 => (proptest::sample::select(OPS), display())
            .prop_map(|(op, w)| Filter::Compare(path("displayName"), op, CompValue::String(w))),
        // `members.display eq …` and the like: one member's condition, its path prefixed.
        4 => member_leaf(ids).prop_map(|f| match f {
            Filter::Compare(p, op, v) => Filter::Compare(path(&format!("members.{}", p.name)), op, v),
            Filter::Present(p) => Filter::Present(path(&format!("members.{}", p.name))),
            other => other,
        }),
        1 => Just(Filter::Present(path("members"))),
        3 => element.prop_map(|f| Filter::ValuePath(AttrPath::new("members"), Box::new(f))),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

/// 16 users and a group of each of `NAMES`, of random members: users, and groups made before
/// it. The first half are POSTed with their members, the rest get them by one PATCH.
async fn seed(app: &TestApp, runner: &mut TestRunner) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..16 {
        ids.push(app.create_user(&format!("gf{i}@x.com")).await["id"].as_str().unwrap().to_string());
    }
    for (n, name) in NAMES.iter().enumerate() {
        let members = proptest::collection::vec(member(ids.clone()), 0..6).new_tree(runner).unwrap().current();
        let r = if n < NAMES.len() / 2 {
            app.post("/Groups", json!({"displayName": name, "members": members})).await
        } else {
            let r = app.post("/Groups", json!({"displayName": name})).await;
            let id = r.body["id"].as_str().unwrap();
            let add = patch_op(json!([{"op": "add", "path": "members", "value": members}]));
            assert_eq!(app.patch(&format!("/Groups/{id}"), add).await.status, StatusCode::NO_CONTENT);
            r
        };
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    ids
}

scim_test!(sql_group_filters_agree_with_the_reference_evaluator, |app| {
    let mut runner = TestRunner::deterministic();
    let ids = seed(&app, &mut runner).await;
    let all = app.get("/Groups?count=1000").await.body["Resources"].as_array().unwrap().clone();
    assert_eq!(all.len(), NAMES.len());
    let registry = Registry::load();
    let eval = Evaluator::groups(&registry);
    let strategy = filter(ids);
    let (mut checked, mut matched) = (0, 0);
    for _ in 0..300 {
        let f = strategy.new_tree(&mut runner).unwrap().current();
        let text = f.to_string();
        let q = form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
        let r = app.get(&format!("/Groups?count=1000&attributes=displayName&filter={q}")).await;
        // A filter that makes more comparisons than scimd scans with is refused, not wrong.
        if r.status == StatusCode::BAD_REQUEST && r.body["scimType"] == "tooMany" {
            continue;
        }
        assert_eq!(r.status, StatusCode::OK, "{text}: {}", r.body);
        let name = |g: &Value| g["displayName"].as_str().unwrap().to_string();
        let got: BTreeSet<String> = r.body["Resources"].as_array().unwrap().iter().map(name).collect();
        let want: BTreeSet<String> =
            all.iter().filter(|g| eval.matches(&f, g.as_object().unwrap())).map(name).collect();
        assert_eq!(got, want, "SQL and the reference evaluator disagree on: {text}");
        checked += 1;
        matched += usize::from(!want.is_empty() && want.len() < NAMES.len());
    }
    // The filters tell groups apart: most are checked, and many select some groups but not all.
    assert!(checked > 250 && matched > 80, "{checked} checked, {matched} selective");
});
