//! The strongest filter test: random users, random schema-valid filters, and the SQL answer
//! must equal the in-memory reference evaluator's, on each backend.

use crate::helpers::TestApp;
use crate::scim_test;
use awc::http::StatusCode;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use scim_filter_parser::{AttrPath, CompValue, CompareOp, Filter};
use scimd::scim::filter_eval::UserEvaluator;
use scimd::scim::schema::Registry;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const WORDS: &[&str] = &[
    "a",
    "A",
    "alice",
    "ALICE",
    "ärger",
    "Ärger",
    "x1",
    "X1",
    "",
    "%",
    "_",
    "a%b",
    "a_b",
    "b@y.org",
    "work",
    "WORK",
    "boss",
    "z",
    "a\u{10FFFF}",
];

pub(crate) fn word() -> impl Strategy<Value = String> {
    proptest::sample::select(WORDS).prop_map(str::to_string)
}

fn opt_word() -> impl Strategy<Value = Option<String>> {
    proptest::option::weighted(0.7, word())
}

fn user(i: usize) -> impl Strategy<Value = Value> {
    let email =
        (word(), proptest::option::of(proptest::sample::select(&["work", "home", "WORK", "Other"][..])), opt_word());
    (
        word(),
        opt_word(),
        opt_word(),
        opt_word(),
        proptest::option::of(any::<bool>()),
        opt_word(),
        proptest::collection::vec(email, 0..3),
        proptest::option::of(0usize..3),
        opt_word(),
    )
        .prop_map(move |(name, ext, display, title, active, given, emails, primary, dept)| {
            let mut u = Map::new();
            u.insert("userName".into(), json!(format!("{name}-{i}")));
            let mut put = |k: &str, v: Option<String>| {
                if let Some(v) = v {
                    u.insert(k.into(), json!(v));
                }
            };
            put("externalId", ext);
            put("displayName", display);
            put("title", title);
            if let Some(a) = active {
                u.insert("active".into(), json!(a));
            }
            if let Some(g) = given {
                u.insert("name".into(), json!({"givenName": g}));
            }
            let emails: Vec<Value> = emails
                .into_iter()
                .enumerate()
                .map(|(n, (value, ty, disp))| {
                    let mut e = json!({"value": value});
                    if let Some(t) = ty {
                        e["type"] = json!(t);
                    }
                    if let Some(d) = disp {
                        e["display"] = json!(d);
                    }
                    if primary == Some(n) {
                        e["primary"] = json!(true);
                    }
                    e
                })
                .collect();
            if !emails.is_empty() {
                u.insert("emails".into(), Value::Array(emails));
            }
            if let Some(d) = dept {
                u.insert(ENT.into(), json!({"department": d}));
            }
            Value::Object(u)
        })
}

pub(crate) fn path(s: &str) -> AttrPath {
    match s.split_once(':') {
        Some(_) => {
            let (urn, name) = s.rsplit_once(':').unwrap();
            AttrPath { urn: Some(urn.into()), name: name.into(), sub: None }
        }
        None => match s.split_once('.') {
            Some((n, sub)) => AttrPath { urn: None, name: n.into(), sub: Some(sub.into()) },
            None => AttrPath::new(s),
        },
    }
}

const TEXT_PATHS: &[&str] = &[
    "userName",
    "externalId",
    "displayName",
    "title",
    "name.givenName",
    "emails",
    "emails.value",
    "emails.type",
    "emails.display",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "department",
];
pub(crate) const OPS: &[CompareOp] = &CompareOp::ALL;
const VERSIONS: &[&str] = &["W/\"1\"", "W/\"2\"", "W/\"11\"", "W/\"", "1\"", "w/\"1\"", "W/\"10"];

fn text_leaf(paths: &'static [&'static str]) -> impl Strategy<Value = Filter> {
    let sample = proptest::sample::select(paths);
    prop_oneof![
        4 => (sample.clone(), proptest::sample::select(OPS), word())
            .prop_map(|(p, op, w)| Filter::Compare(path(p), op, CompValue::String(w))),
        1 => sample.clone().prop_map(|p| Filter::Present(path(p))),
        1 => (sample, proptest::sample::select(&[CompareOp::Eq, CompareOp::Ne][..]))
            .prop_map(|(p, op)| Filter::Compare(path(p), op, CompValue::Null)),
    ]
}

fn bool_leaf(p: &'static str) -> impl Strategy<Value = Filter> {
    (proptest::sample::select(&[CompareOp::Eq, CompareOp::Ne][..]), any::<bool>())
        .prop_map(move |(op, b)| Filter::Compare(path(p), op, CompValue::Bool(b)))
}

fn element_filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![4 => text_leaf(&["value", "type", "display"]), 1 => bool_leaf("primary")];
    leaf.prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 2..3).prop_map(Filter::And),
            proptest::collection::vec(inner.clone(), 2..3).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

/// Filters on a user's `groups`: by the ids of `groups`, by their names, and by the type of
/// the membership, alone or in a value filter.
fn groups_filter(groups: Vec<String>) -> impl Strategy<Value = Filter> {
    let by_id = (proptest::sample::select(groups), proptest::sample::select(OPS));
    let by_type = (proptest::sample::select(&["direct", "indirect", "Direct"][..]), proptest::sample::select(OPS));
    let leaf = prop_oneof![
        2 => by_id.prop_map(|(id, op)| Filter::Compare(path("value"), op, CompValue::String(id))),
        2 => by_type.prop_map(|(t, op)| Filter::Compare(path("type"), op, CompValue::String(t.into()))),
        3 => text_leaf(&["value", "type", "display"]),
    ];
    let element = leaf.prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 2..3).prop_map(Filter::And),
            proptest::collection::vec(inner.clone(), 2..3).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    });
    prop_oneof![
        // `groups.value eq …` and the like: a leaf of one sub-attribute, with its path prefixed.
        2 => element.clone().prop_filter_map("one sub-attribute", |f| match f {
            Filter::Compare(p, op, v) => Some(Filter::Compare(path(&format!("groups.{}", p.name)), op, v)),
            Filter::Present(p) => Some(Filter::Present(path(&format!("groups.{}", p.name)))),
            _ => None,
        }),
        1 => Just(Filter::Present(path("groups"))),
        2 => element.prop_map(|f| Filter::ValuePath(AttrPath::new("groups"), Box::new(f))),
    ]
}

/// `groups`: the seeded groups' ids; `locations`: strings to compare `meta.location` with.
fn filter(groups: Vec<String>, locations: Vec<String>) -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        6 => text_leaf(TEXT_PATHS),
        1 => bool_leaf("active"),
        1 => bool_leaf("emails.primary"),
        2 => element_filter().prop_map(|f| Filter::ValuePath(AttrPath::new("emails"), Box::new(f))),
        1 => proptest::sample::select(&["gt", "lt"][..]).prop_map(|op| Filter::Compare(
            path("meta.created"),
            if op == "gt" { CompareOp::Gt } else { CompareOp::Lt },
            CompValue::String("2020-01-01T00:00:00Z".into()),
        )),
        2 => groups_filter(groups),
        1 => (proptest::sample::select(OPS), proptest::sample::select(locations)).prop_map(|(op, v)| Filter::Compare(
            path("meta.location"),
            op,
            CompValue::String(v),
        )),
        // `meta.version` compares as the string it is rendered as (`seed_directory` makes
        // versions 1, 2 and 11), not as its number.
        1 => (proptest::sample::select(OPS), proptest::sample::select(VERSIONS)).prop_map(|(op, v)| Filter::Compare(
            path("meta.version"),
            op,
            CompValue::String(v.into()),
        )),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

/// Six groups of random users, four of them in a cycle of nested groups (0 in 3 in 2 in 1 in
/// 0) and one holding a group of the cycle: every user's `groups` has direct and indirect
/// entries. Returns the groups' ids.
async fn seed_groups(app: &TestApp, runner: &mut TestRunner, users: &[String]) -> Vec<String> {
    let mut ids = Vec::new();
    for (g, name) in ["a", "alice", "Ärger", "x1", "%", "a_b"].into_iter().enumerate() {
        let picks = proptest::collection::vec(proptest::bool::weighted(0.15), users.len());
        let picked = picks.new_tree(runner).unwrap().current();
        // Each member with a display, in every case (for `sortBy=members.display`).
        let display = |n: usize| WORDS[(n * 7 + g) % WORDS.len()];
        let members: Vec<Value> = users
            .iter()
            .zip(picked)
            .enumerate()
            .filter(|(_, (_, p))| *p)
            .map(|(n, (id, _))| json!({"value": id, "display": display(n)}))
            .collect();
        let r = app.post("/Groups", json!({"displayName": name, "members": members})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    for (outer, inner) in [(0, 1), (1, 2), (2, 3), (3, 0), (4, 1)] {
        let add = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": ids[inner], "display": WORDS[outer]}]}]});
        let r = app.patch(&format!("/Groups/{}", ids[outer]), add).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    }
    ids
}

/// 40 random users and `seed_groups`' groups of them. Returns every user as rendered, in
/// creation order, and the groups' ids.
pub(crate) async fn seed_directory(app: &TestApp, runner: &mut TestRunner) -> (Vec<Value>, Vec<String>) {
    for i in 0..40 {
        let body = user(i).new_tree(runner).unwrap().current();
        let r = app.post("/Users", body.clone()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{body}: {}", r.body);
    }
    let listed = app.get("/Users?count=1000").await.body["Resources"].as_array().unwrap().clone();
    let user_ids: Vec<String> = listed.iter().map(|u| u["id"].as_str().unwrap().to_string()).collect();
    // Versions 1, 2 and 11: `meta.version` sorts and compares as text ("W/\"11\"" < "W/\"2\"").
    for (i, id) in user_ids.iter().enumerate() {
        let writes = [0, 1, 0, 10][i % 4];
        for n in 0..writes {
            let title = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "title", "value": format!("title {n}")}]});
            let r = app.patch(&format!("/Users/{id}"), title).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
    }
    let groups = seed_groups(app, runner, &user_ids).await;
    // Read again: the references read each user's `groups` as it is rendered.
    let all = app.get("/Users?count=1000").await.body["Resources"].as_array().unwrap().clone();
    (all, groups)
}

async fn check_agreement(app: &TestApp, filters: usize) {
    let mut runner = TestRunner::deterministic();
    let (all, groups) = seed_directory(app, &mut runner).await;
    let registry = Registry::load();
    let eval = UserEvaluator::new(&registry);
    // Whole locations, and parts of them and of other URLs, for `meta.location`.
    let location = |n: usize| all[n]["meta"]["location"].as_str().unwrap().to_string();
    let locations = vec![
        location(0),
        location(7),
        format!("{}/Users/", app.base),
        format!("{}/Groups/", app.base),
        location(3)[location(3).len() - 4..].to_string(),
        app.base.to_uppercase(),
        "/Users/0".to_string(),
        "z".to_string(),
    ];
    let strategy = filter(groups, locations);
    for _ in 0..filters {
        let f = strategy.new_tree(&mut runner).unwrap().current();
        let text = f.to_string();
        let r = app
            .get(&format!(
                "/Users?count=1000&filter={}",
                form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>()
            ))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{text}: {}", r.body);
        let got: BTreeSet<&str> =
            r.body["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap()).collect();
        let want: BTreeSet<&str> = all
            .iter()
            .filter(|u| eval.matches(&f, u.as_object().unwrap()))
            .map(|u| u["userName"].as_str().unwrap())
            .collect();
        assert_eq!(got, want, "SQL and the reference evaluator disagree on: {text}");
    }
}

scim_test!(sql_filters_agree_with_the_reference_evaluator, |app| {
    check_agreement(&app, 400).await;
});
