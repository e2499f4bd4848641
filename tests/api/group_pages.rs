//! Pages of groups listed with their members (Okta's "Import Groups"), whose members scimd
//! reads for several groups at once: each group must come out as GET /Groups/{id} gives it,
//! however the reads split the page (the tests' member page is 10).

use crate::groups::users;
use crate::helpers::TestApp;
use crate::scim_test;
use awc::http::StatusCode;
use serde_json::{json, Value};

/// The groups of `body`'s Resources, each as GET /Groups/{id}`rest` gives it.
async fn as_read_alone(app: &TestApp, body: &Value, rest: &str) -> Vec<Value> {
    let mut alone = Vec::new();
    for g in body["Resources"].as_array().unwrap() {
        let r = app.get(&format!("/Groups/{}{rest}", g["id"].as_str().unwrap())).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        alone.push(r.body);
    }
    alone
}

fn resources(body: &Value) -> Vec<Value> {
    body["Resources"].as_array().unwrap().clone()
}

scim_test!(groups_listed_with_their_members_have_them_all, |app| {
    let u = users(&app, 48, "m").await;
    // Created in this order, so their keys ascend; named so that sorting by name is another
    // order. Sizes around the member page of 10, none, and one group holding another.
    let sizes = [("d", 0), ("b", 1), ("h", 9), ("a", 10), ("f", 11), ("c", 2), ("i", 0), ("e", 12), ("g", 3)];
    let mut ids = Vec::new();
    let mut next = 0;
    for (name, size) in sizes {
        let mut members: Vec<Value> = u[next..next + size].iter().map(|id| json!({"value": id})).collect();
        next += size;
        if name == "g" {
            members.push(json!({"value": ids[3], "type": "Group"}));
        }
        let r = app.post("/Groups", json!({"displayName": format!("team {name}"), "members": members})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    for rest in [
        "",
        "?startIndex=3&count=4",
        "?count=100&startIndex=1",
        "?sortBy=displayName",
        "?sortBy=displayName&sortOrder=descending&count=5",
        "?filter=displayName%20sw%20%22team%22",
    ] {
        let list = app.get(&format!("/Groups{rest}")).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        assert_eq!(resources(&list.body), as_read_alone(&app, &list.body, "").await, "{rest}");
    }
    // A malformed list is refused before any group or member is read.
    app.get("/Groups?count=ten").await.assert_error(400, Some("invalidValue"));
    app.get("/Groups?startIndex=1.5&count=100").await.assert_error(400, Some("invalidValue"));
    app.get("/Groups?filter=displayName%20eq").await.assert_error(400, Some("invalidFilter"));
    app.post("/Groups/.search", json!({"filter": "members[value eq"})).await.assert_error(400, Some("invalidFilter"));
    let list = app.get("/Groups").await.body;
    let sizes_listed: Vec<usize> =
        resources(&list).iter().map(|g| g.get("members").map_or(0, |m| m.as_array().unwrap().len())).collect();
    assert_eq!(sizes_listed, [0, 1, 9, 10, 11, 2, 0, 12, 4]);
    // Some of each member's sub-attributes.
    let list = app.get("/Groups?attributes=members.value,displayName").await.body;
    assert_eq!(resources(&list), as_read_alone(&app, &list, "?attributes=members.value,displayName").await);
    assert!(resources(&list).iter().flat_map(|g| g["members"].as_array().cloned().unwrap_or_default()).all(|m| m
        .as_object()
        .unwrap()
        .keys()
        .collect::<Vec<_>>()
        == ["value"]));
    // POST /Groups/.search and the root search list groups the same way.
    let search = app.post("/Groups/.search", json!({"startIndex": 2, "count": 6})).await.body;
    assert_eq!(resources(&search), as_read_alone(&app, &search, "").await);
    let root = app.post("/.search", json!({"startIndex": 47, "count": 8})).await.body;
    let found = resources(&root);
    assert_eq!(found.iter().filter(|r| r["meta"]["resourceType"] == "User").count(), 2);
    let groups: Vec<Value> = found.into_iter().filter(|r| r["meta"]["resourceType"] == "Group").collect();
    assert_eq!(groups, as_read_alone(&app, &json!({"Resources": groups}), "").await);
    // A member removed shows in the next list.
    let r = app
        .patch(
            &format!("/Groups/{}", ids[4]),
            crate::helpers::patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", u[20])}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let list = app.get("/Groups").await.body;
    assert_eq!(resources(&list)[4]["members"].as_array().unwrap().len(), 10);
    assert_eq!(resources(&list), as_read_alone(&app, &list, "").await);
});

// A new group's answer is built from the members its POST added, without reading them: it
// must be what a GET reads, in the same order, whatever order the POST named them in.
scim_test!(a_written_group_is_answered_as_it_is_read, |app| {
    let u = users(&app, 14, "answer").await;
    let nested = app.post("/Groups", json!({"displayName": "inner"})).await.body;
    let mut members: Vec<Value> = u.iter().rev().map(|id| json!({"value": id})).collect();
    members.insert(3, json!({"value": nested["id"], "type": "Group"}));
    members.push(json!({"value": u[5]}));
    for (query, shown) in [("", 15), ("?attributes=members.value", 15), ("?excludedAttributes=members", 0)] {
        let name = format!("answered {shown} {query}");
        let r = app.post(&format!("/Groups{query}"), json!({"displayName": name, "members": members})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let path = format!("/Groups/{}{query}", r.body["id"].as_str().unwrap());
        assert_eq!(r.body, app.get(&path).await.body, "{query}");
        // Past the first page (the tests' is 10), members are read as the answer is sent.
        assert_eq!(r.body["members"].as_array().map_or(0, Vec::len), shown, "{query}");
        let replaced: Vec<Value> = members[..7].to_vec();
        let r = app.put(&path, json!({"displayName": name, "members": replaced})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body, app.get(&path).await.body, "{query}");
    }
    // A malformed member is refused before anything is written or read.
    let bad = app.post("/Groups", json!({"displayName": "bad", "members": [{"value": 7}]})).await;
    bad.assert_error(400, Some("invalidValue"));
});

/// `meta.version` of `group` as a number.
fn version(group: &Value) -> u64 {
    let tag = group["meta"]["version"].as_str().unwrap();
    tag.trim_start_matches("W/").trim_matches('"').parse().unwrap()
}

// A group read (RFC 7644 §3.4.1), listed (§3.4.2) or answered to a PATCH (§3.5.2) while its
// members change is sent as it was at one moment, its members those of the `meta.version`
// (§3.14) it is sent with (a group whose members fit in a member page; the tests' is 10). Its head and its members were
// read by two statements, and a PATCH committed between them showed one version with
// another's members.
scim_test!(a_group_read_while_it_changes_is_one_moment_of_it, |app| {
    let u = users(&app, 14, "moment").await;
    // Lists read "moving"'s members after the page in every order but the last: "big" (nine
    // members) comes before it in a list's read, which the member page of 10 cuts in "moving",
    // and "aaa", created last, sorts first.
    let nine: Vec<Value> = u[5..].iter().map(|id| json!({"value": id})).collect();
    app.post("/Groups", json!({"displayName": "big", "members": nine})).await;
    let members: Vec<Value> = u[..3].iter().map(|id| json!({"value": id})).collect();
    let g = app.post("/Groups", json!({"displayName": "moving", "members": members})).await.body;
    app.post("/Groups", json!({"displayName": "aaa"})).await;
    let moving = |list: Value| -> Value {
        resources(&list).into_iter().find(|g| g["displayName"] == "moving").expect("moving is listed")
    };
    let path = format!("/Groups/{}", g["id"].as_str().unwrap());
    // Every write adds or removes one member and makes one new version, and version 1 has
    // three members: so a group's member count and its version always add up to an even number.
    let one_moment = |group: &Value, what: &str| {
        let count = group["members"].as_array().map_or(0, Vec::len) as u64;
        assert_eq!((count + version(group)) % 2, 0, "{what}: {group}");
    };
    let writing = std::cell::Cell::new(2);
    let toggle = |member: String, answered: &'static str| {
        let (app, path, writing) = (&app, &path, &writing);
        async move {
            for _ in 0..60 {
                for op in ["add", "remove"] {
                    let ops = json!([{"op": op, "path": "members", "value": [{"value": member}]}]);
                    let r = app.patch(&format!("{path}{answered}"), crate::helpers::patch_op(ops)).await;
                    if answered.is_empty() {
                        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
                    } else {
                        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
                        one_moment(&r.body, "a PATCH's answer");
                    }
                }
            }
            writing.set(writing.get() - 1);
        }
    };
    let read = async {
        let mut reads = 0;
        while writing.get() > 0 {
            let found = [
                app.get(&path).await.body,
                moving(app.get("/Groups?filter=displayName%20eq%20%22moving%22").await.body),
                moving(app.get("/Groups").await.body),
                moving(app.get("/Groups?sortBy=displayName").await.body),
                moving(app.post("/.search", json!({"filter": "displayName pr"})).await.body),
                moving(app.get("/Groups?sortBy=displayName&sortOrder=descending").await.body),
            ];
            for (n, group) in found.iter().enumerate() {
                one_moment(group, &format!("read {n}"));
            }
            reads += 1;
        }
        reads
    };
    let toggles =
        futures_util::future::join(toggle(u[3].clone(), ""), toggle(u[4].clone(), "?attributes=members,meta"));
    let (_, reads) = futures_util::future::join(toggles, read).await;
    assert!(reads > 10, "the reads ran alongside the writes: {reads}");
});

// Only `display` asked for: members without one are left out, on any member page, and the
// elements written around them stay a valid array.
scim_test!(members_with_nothing_projected_are_left_out_on_every_page, |app| {
    let u = users(&app, 25, "shown").await;
    let shown = [13, 22];
    let members: Vec<Value> = u
        .iter()
        .enumerate()
        .map(|(n, id)| match shown.contains(&n) {
            true => json!({"value": id, "display": format!("member {n}")}),
            false => json!({"value": id}),
        })
        .collect();
    let g = app.post("/Groups", json!({"displayName": "sparse", "members": members})).await.body;
    app.post("/Groups", json!({"displayName": "none shown", "members": [{"value": u[0]}]})).await;
    let one = app.get(&format!("/Groups/{}?attributes=members.display", g["id"].as_str().unwrap())).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    assert_eq!(one.body["members"], json!([{"display": "member 13"}, {"display": "member 22"}]));
    let listed = app.get("/Groups?attributes=members.display").await.body;
    assert_eq!(resources(&listed)[0], one.body);
    assert_eq!(resources(&listed)[1]["members"], json!([]));
    assert_eq!(resources(&listed), as_read_alone(&app, &listed, "?attributes=members.display").await);
});
