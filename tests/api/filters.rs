//! Filters and sorting on both backends: each grammar rule and operator on each attribute
//! type, checked against hand-computed answers over one dataset.

use crate::helpers::TestApp;
use crate::scim_test;
use awc::http::StatusCode;
use serde_json::{json, Value};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn dataset() -> Vec<Value> {
    vec![
        json!({"userName": "bjensen", "externalId": "E-1",
               "name": {"givenName": "Barbara", "familyName": "Jensen"}, "displayName": "Babs Jensen",
               "title": "Tour Guide", "userType": "Employee", "active": true,
               "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                          {"value": "babs@jensen.org", "type": "home"}],
               "ims": [{"value": "someaim", "type": "aim"}],
               "addresses": [{"type": "work", "locality": "Hollywood", "region": "CA"}],
               ENT: {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": "m1"}}}),
        json!({"userName": "JSmith", "externalId": "e-1",
               "name": {"givenName": "John", "familyName": "O'Malley"}, "displayName": "John O'Malley",
               "userType": "Intern", "active": false,
               "emails": [{"value": "john@example.org", "type": "work"}],
               "phoneNumbers": [{"value": "555-1", "type": "mobile"}]}),
        json!({"userName": "älice", "name": {"givenName": "Älice"}, "title": "50%_off", "active": true,
               "emails": [{"value": "Alice@EXAMPLE.com", "type": "Other", "display": "Alice Mail"}]}),
        json!({"userName": "zed", "externalId": "", "title": ""}),
    ]
}

async fn seed(app: &TestApp) -> Vec<String> {
    let mut ids = Vec::new();
    for u in dataset() {
        let r = app.post("/Users", u).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    ids
}

fn names(list: &Value) -> Vec<String> {
    list["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap().to_string()).collect()
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

scim_test!(filters_select_exactly_what_they_say, |app| {
    let ids = seed(&app).await;
    let all = ["bjensen", "JSmith", "älice", "zed"];
    let cases: Vec<(String, Vec<&str>)> = vec![
        (r#"userName eq "BJENSEN""#.into(), vec!["bjensen"]),
        (r#"userName eq "ÄLICE""#.into(), vec!["älice"]),
        (r#"userName sw "j""#.into(), vec!["JSmith"]),
        (r#"userName co "e""#.into(), vec!["bjensen", "älice", "zed"]),
        (r#"userName ew "H""#.into(), vec!["JSmith"]),
        (r#"userName gt "m""#.into(), vec!["älice", "zed"]),
        (r#"userName le "jsmith""#.into(), vec!["bjensen", "JSmith"]),
        (r#"externalId eq "E-1""#.into(), vec!["bjensen"]),
        (r#"externalId eq "e-1""#.into(), vec!["JSmith"]),
        (r#"externalId sw "E""#.into(), vec!["bjensen"]),
        ("externalId pr".into(), vec!["bjensen", "JSmith"]),
        ("not (externalId pr)".into(), vec!["älice", "zed"]),
        (r#"externalId ne "E-1""#.into(), vec!["JSmith", "älice", "zed"]),
        ("active eq false".into(), vec!["JSmith"]),
        ("active eq true".into(), vec!["bjensen", "älice", "zed"]),
        ("active ne true".into(), vec!["JSmith"]),
        (r#"displayName eq "babs jensen""#.into(), vec!["bjensen"]),
        (r#"name.familyName co "O'Malley""#.into(), vec!["JSmith"]),
        (r#"name.givenName eq "älice""#.into(), vec!["älice"]),
        (r#"name[givenName sw "b"]"#.into(), vec!["bjensen"]),
        ("name pr".into(), vec!["bjensen", "JSmith", "älice"]),
        (r#"title eq "50%_off""#.into(), vec!["älice"]),
        (r#"title co "%""#.into(), vec!["älice"]),
        (r#"title co "_""#.into(), vec!["älice"]),
        (r#"title sw "50%""#.into(), vec!["älice"]),
        (r#"title co "r g""#.into(), vec!["bjensen"]),
        ("title eq null".into(), vec!["JSmith", "zed"]),
        ("title pr".into(), vec!["bjensen", "älice"]),
        (r#"title eq """#.into(), vec!["zed"]),
        (r#"title pr and userType eq "Employee""#.into(), vec!["bjensen"]),
        (r#"title pr or userType eq "Intern""#.into(), vec!["bjensen", "JSmith", "älice"]),
        (r#"externalId eq """#.into(), vec!["zed"]),
        (r#"emails co "example.com""#.into(), vec!["bjensen", "älice"]),
        (r#"emails.value co "example.org""#.into(), vec!["JSmith"]),
        (
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#.into(),
            vec!["bjensen"],
        ),
        (
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#.into(),
            vec!["zed"],
        ),
        (r#"emails[type eq "work" and value co "@example.com"]"#.into(), vec!["bjensen"]),
        (r#"emails[type eq "work"].value eq "JOHN@example.org""#.into(), vec!["JSmith"]),
        (r#"emails[type eq "WORK" and primary eq true]"#.into(), vec!["bjensen"]),
        (r#"emails[not (type eq "work")]"#.into(), vec!["bjensen", "älice"]),
        (r#"not (emails[type eq "work"])"#.into(), vec!["älice", "zed"]),
        (r#"emails.type ne "work""#.into(), vec!["älice", "zed"]),
        (r#"emails[display co "mail"]"#.into(), vec!["älice"]),
        ("emails.display pr".into(), vec!["älice"]),
        ("emails pr".into(), vec!["bjensen", "JSmith", "älice"]),
        (r#"phoneNumbers[type eq "mobile"]"#.into(), vec!["JSmith"]),
        (r#"addresses[locality eq "HOLLYWOOD" and type eq "work"]"#.into(), vec!["bjensen"]),
        (r#"addresses.region eq "ca""#.into(), vec!["bjensen"]),
        (r#"ims[type eq "aim" and value eq "SOMEAIM"]"#.into(), vec!["bjensen"]),
        (format!(r#"{ENT}:employeeNumber eq "701984""#), vec!["bjensen"]),
        (format!(r#"{ENT}:manager.value eq "m1""#), vec!["bjensen"]),
        (format!(r#"{ENT}:manager eq "m1""#), vec!["bjensen"]),
        (r#"department eq "tour operations""#.into(), vec!["bjensen"]),
        (format!(r#"schemas eq "{ENT}""#), vec!["bjensen"]),
        (r#"meta.resourceType eq "User""#.into(), all.to_vec()),
        (r#"meta.lastModified gt "2000-01-01T00:00:00Z""#.into(), all.to_vec()),
        (r#"meta.created lt "2000-01-01T00:00:00+02:00""#.into(), vec![]),
        (format!(r#"id eq "{}""#, ids[0]), vec!["bjensen"]),
        (format!(r#"id eq "{}" or id eq "{}""#, ids[1], ids[3]), vec!["JSmith", "zed"]),
        (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#.into(), vec!["JSmith"]),
        (r#"((userName eq "zed"))"#.into(), vec!["zed"]),
        (r#"userName Eq "zed" OR userName EQ "bjensen""#.into(), vec!["bjensen", "zed"]),
    ];
    for (filter, want) in cases {
        let r = app.get(&format!("/Users?filter={}", enc(&filter))).await;
        assert_eq!(r.status, StatusCode::OK, "{filter}: {}", r.body);
        assert_eq!(names(&r.body), want, "{filter}");
        assert_eq!(r.body["totalResults"], want.len(), "{filter}");
    }
});

scim_test!(filters_that_do_not_fit_the_schema_are_400_invalid_filter, |app| {
    seed(&app).await;
    for filter in [
        "active gt true",
        "active co \"t\"",
        "userName eq true",
        "userName gt 5",
        "emails[type eq \"work\"",
        "nosuch eq \"x\"",
        "name eq \"x\"",
        "password eq \"x\"",
        "meta.created gt \"yesterday\"",
        "meta.created co \"2026\"",
        "meta.version gt 5",
        "emails[nosub eq \"x\"]",
        "emails[value.x eq \"x\"]",
        "name.givenName[value eq \"x\"]",
        "urn:foo:bar:baz eq \"x\"",
        "title gt null",
        "userName eq \"x\" and",
    ] {
        app.get(&format!("/Users?filter={}", enc(filter))).await.assert_error(400, Some("invalidFilter"));
    }
});

scim_test!(sort_by_any_singular_attribute_with_stable_ties, |app| {
    seed(&app).await;
    let sorted = |q: &'static str| {
        let app = &app;
        async move {
            let r = app.get(&format!("/Users?{q}")).await;
            assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.body);
            names(&r.body)
        }
    };
    assert_eq!(sorted("sortBy=userName").await, ["bjensen", "JSmith", "zed", "älice"]);
    assert_eq!(sorted("sortBy=userName&sortOrder=descending").await, ["älice", "zed", "JSmith", "bjensen"]);
    assert_eq!(sorted("sortBy=title&sortOrder=descending").await, ["JSmith", "bjensen", "älice", "zed"]);
    assert_eq!(sorted("sortBy=title").await, ["zed", "älice", "bjensen", "JSmith"]);
    assert_eq!(sorted("sortBy=name.givenName").await, ["bjensen", "JSmith", "älice", "zed"]);
    assert_eq!(sorted("sortBy=active&filter=userName%20ne%20%22x%22").await, ["JSmith", "bjensen", "älice", "zed"]);
    // Descending is ascending reversed, ties (the three active users) included.
    assert_eq!(
        sorted("sortBy=active&sortOrder=descending&filter=userName%20ne%20%22x%22").await,
        ["zed", "älice", "bjensen", "JSmith"]
    );
    assert_eq!(sorted("sortby=meta.created&sortorder=DESCENDING&count=2").await, ["zed", "älice"]);
    assert_eq!(
        sorted("sortBy=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber&startIndex=2").await,
        ["JSmith", "älice", "zed"]
    );
    // A page inside a filtered, sorted list: the keys are cut from the sorted matches, and the
    // rows come back in that order.
    assert_eq!(
        sorted("sortBy=title&sortOrder=descending&filter=userName%20ne%20%22zed%22&startIndex=2&count=2").await,
        ["bjensen", "älice"]
    );
    app.get("/Users?sortBy=name").await.assert_error(400, Some("invalidValue"));
    let r = app.get("/Users?sortBy=nosuch").await;
    r.assert_error(400, Some("invalidValue"));
    assert_eq!(r.body["detail"], "sortBy: unknown attribute nosuch", "the error names the parameter at fault");
    app.get("/Users?sortBy=userName&sortOrder=sideways").await.assert_error(400, Some("invalidValue"));
    // Every user has the same type; only a search at the Base URL root sorts by it (`root_sort`).
    app.get("/Users?sortBy=meta.resourceType").await.assert_error(400, Some("invalidValue"));
    app.get("/Groups?sortBy=meta.resourceType").await.assert_error(400, Some("invalidValue"));
});

scim_test!(post_search_answers_as_get_does, |app| {
    seed(&app).await;
    for path in ["/Users/.search", "/.search"] {
        let r = app
            .post(
                path,
                json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": "emails[type eq \"work\"]", "sortBy": "userName", "sortOrder": "descending",
                    "startIndex": 1, "count": 1,
                }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        assert_eq!(names(&r.body), ["JSmith"], "{path}");
        assert_eq!(r.body["totalResults"], 2);
        assert_eq!(r.body["itemsPerPage"], 1);
    }
    let huge = json!({"filter": format!("userName eq \"{}\"", "x".repeat(100_000))});
    app.post("/Users/.search", huge).await.assert_error(400, Some("invalidFilter"));
    app.post("/Users/.search", json!({"filter": "title gt true"})).await.assert_error(400, Some("invalidFilter"));
    app.post("/Users/.search", json!({"count": "many"})).await.assert_error(400, Some("invalidValue"));
    app.post("/.search", json!([1])).await.assert_error(400, Some("invalidSyntax"));
    app.post("/Users/.search", json!({"schemas": ["urn:nope"]})).await.assert_error(400, Some("invalidSyntax"));
    app.get("/Users/.search").await.assert_error(405, None);
});

scim_test!(hot_filters_use_indexes_on_both_backends, |app| {
    seed(&app).await;
    let registry = scimd::scim::schema::Registry::load();
    let filters = scimd::scim::filter::UserFilters::new(&registry);
    let tenant = app.store.read(|tx| tx.tenant_by_name("acme")).unwrap().unwrap().id;
    for f in [
        r#"userName eq "bjensen""#,
        r#"externalId eq "E-1""#,
        r#"displayName eq "babs jensen""#,
        r#"id eq "x""#,
        "active eq false",
        r#"meta.lastModified gt "2026-01-01T00:00:00Z""#,
        r#"emails[type eq "work" and value eq "bjensen@example.com"]"#,
        r#"emails[type eq "work"].value eq "bjensen@example.com""#,
        r#"emails.value eq "bjensen@example.com""#,
        r#"userName sw "bj""#,
        r#"externalId sw "E-""#,
        r#"emails.value sw "bjensen@""#,
    ] {
        let predicate = filters.predicate(Some(f), &scimd::scim::compat::Compat::new(true)).unwrap();
        let plan = app.store.read(|tx| tx.explain_user_filter(tenant, &predicate)).unwrap().join("\n");
        let scans_users = plan.lines().any(|l| l.trim_start().starts_with("SCAN users") || l.contains("Seq Scan"));
        assert!(!scans_users, "{f} scans:\n{plan}");
        assert!(plan.contains("INDEX") || plan.contains("Index"), "{f} uses no index:\n{plan}");
        // SQLite plans by rule, so the index is certain; PostgreSQL costs plans, and on four
        // users any index will do (`store::users::filter_plan_tests` checks its plans on a
        // directory of thousands).
        let sqlite = app.store.backend() == scimd::store::Backend::Sqlite;
        if f == "active eq false" && sqlite {
            assert!(plan.contains("users_tenant_inactive"), "{f}:\n{plan}");
        }
        if f.contains("emails") && sqlite {
            assert!(plan.contains("user_values_tenant_attr_value"), "{f}:\n{plan}");
        }
        // `sw` seeks the prefix's range in the column's index; an index of the tenant's rows
        // alone, with the prefix checked on each row, would read them all.
        let sw_column =
            [("userName sw", "user_name_norm"), ("externalId sw", "external_id"), ("value sw", "value_norm")]
                .into_iter()
                .find_map(|(filter, column)| f.contains(filter).then_some(column));
        if let (Some(column), true) = (sw_column, sqlite) {
            let seeks = plan.lines().any(|l| l.contains("SEARCH") && l.contains(&format!("{column}>")));
            assert!(seeks, "{f} does not seek its prefix:\n{plan}");
        }
    }
});

scim_test!(a_user_whose_active_was_removed_is_neither_active_nor_inactive, |app| {
    let u = app.create_user("noactive@x.com").await;
    let path = format!("/Users/{}", u["id"].as_str().unwrap());
    let r = app.patch(&path, crate::helpers::patch_op(json!([{"op": "remove", "path": "active"}]))).await;
    assert!(r.body.get("active").is_none(), "{}", r.body);
    for (f, n) in
        [("active eq true", 0), ("active eq false", 0), ("active pr", 0), ("not (active pr)", 1), ("active ne true", 1)]
    {
        assert_eq!(app.get(&format!("/Users?filter={}", enc(f))).await.body["totalResults"], n, "{f}");
    }
});

// A filter no index narrows is checked on every resource, each comparison on each: more than
// 32 comparisons is 400 tooMany; a batch of unique keys joined by `or` is read by its index.
scim_test!(a_filter_no_index_narrows_makes_a_bounded_number_of_comparisons, |app| {
    let alice = app.create_user("alice@x.com").await;
    let joined = |n: usize, term: &dyn Fn(usize) -> String| (0..n).map(term).collect::<Vec<_>>().join(" or ");
    let encoded = |f: &str| f.replace(' ', "%20").replace('"', "%22").replace('@', "%40");
    let scans = joined(33, &|i| format!("title co \"t{i}\""));
    app.get(&format!("/Users?filter={}", encoded(&scans))).await.assert_error(400, Some("tooMany"));
    let search =
        |filter: String| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter});
    app.post("/Groups/.search", search(joined(33, &|i| format!("displayName co \"g{i}\""))))
        .await
        .assert_error(400, Some("tooMany"));
    let keys = format!("{} or userName eq \"ALICE@x.com\"", joined(499, &|i| format!("userName eq \"u{i}@x.com\"")));
    let found = app.post("/Users/.search", search(keys)).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.body["Resources"][0]["id"], alice["id"]);
    let narrowed = format!("userName eq \"alice@x.com\" and ({})", joined(100, &|i| format!("title co \"t{i}\"")));
    assert_eq!(app.post("/Users/.search", search(narrowed)).await.body["totalResults"], 0);
    // SQLite refuses an expression over 1,000 deep: this was a 500.
    let ids = joined(1_029, &|i| format!("id eq \"{i}\""));
    app.post("/Users/.search", search(ids)).await.assert_error(400, Some("tooMany"));
    let mixed = joined(20, &|i| format!("userName eq \"u{i}@x.com\" or externalId eq \"{i}\""));
    app.post("/Users/.search", search(mixed)).await.assert_error(400, Some("tooMany"));
});

// RFC 7644 §3.4.2.2 `sw` on a group's indexed attributes (read as a range of their index):
// displayName ignores case, externalId and id do not, and a prefix is not a range of its own
// neighbours ("Sales" is not "Salet" nor "Salerno" past "Sales").
scim_test!(group_prefixes_select_exactly_the_groups_that_start_with_them, |app| {
    let mut ids = Vec::new();
    for (name, external) in
        [("Sales", "S-1"), ("Sales EMEA", "s-2"), ("Salet", "S-10"), ("Salerno", "T-1"), ("sales\u{10FFFF}", "S")]
    {
        let r = app.post("/Groups", json!({"displayName": name, "externalId": external})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    let prefix = &ids[2][..ids[2].len() - 1];
    let cases: Vec<(String, Vec<&str>)> = vec![
        (r#"displayName sw "SALES""#.into(), vec!["Sales", "Sales EMEA", "sales\u{10FFFF}"]),
        (r#"displayName sw "sales ""#.into(), vec!["Sales EMEA"]),
        ("displayName sw \"sales\u{10FFFF}\"".into(), vec!["sales\u{10FFFF}"]),
        (r#"displayName sw "Sal""#.into(), vec!["Sales", "Sales EMEA", "Salet", "Salerno", "sales\u{10FFFF}"]),
        (r#"displayName sw """#.into(), vec!["Sales", "Sales EMEA", "Salet", "Salerno", "sales\u{10FFFF}"]),
        (r#"not (displayName sw "sales")"#.into(), vec!["Salet", "Salerno"]),
        (r#"externalId sw "S-1""#.into(), vec!["Sales", "Salet"]),
        (r#"externalId sw "s""#.into(), vec!["Sales EMEA"]),
        (format!(r#"id sw "{prefix}""#), vec!["Salet"]),
        (format!(r#"id sw "{}""#, prefix.to_uppercase()), vec![]),
    ];
    for (filter, want) in cases {
        let r = app.get(&format!("/Groups?excludedAttributes=members&filter={}", enc(&filter))).await;
        assert_eq!(r.status, StatusCode::OK, "{filter}: {}", r.body);
        let mut got: Vec<&str> =
            r.body["Resources"].as_array().unwrap().iter().map(|g| g["displayName"].as_str().unwrap()).collect();
        got.sort_unstable();
        let mut want = want;
        want.sort_unstable();
        assert_eq!(got, want, "{filter}");
    }
});
