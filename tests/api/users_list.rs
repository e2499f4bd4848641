//! GET /Users: paging, filters, and what lists must always contain.

use crate::scim_test;
use awc::http::StatusCode;
use serde_json::{json, Value};

fn names(list: &Value) -> Vec<String> {
    list["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap().to_string()).collect()
}

scim_test!(an_empty_list_still_has_every_member, |app| {
    let r = app.get("/Users?startIndex=1&count=2").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0,
               "startIndex": 1, "itemsPerPage": 0, "Resources": []})
    );
});

scim_test!(pages_are_stable_exact_and_one_based, |app| {
    for i in 0..7 {
        app.create_user(&format!("u{i}@x.com")).await;
    }
    let all = names(&app.get("/Users").await.body);
    assert_eq!(all.len(), 7);
    assert_eq!(all, (0..7).map(|i| format!("u{i}@x.com")).collect::<Vec<_>>(), "creation order");
    let mut paged = Vec::new();
    let mut start = 1;
    loop {
        let page = app.get(&format!("/Users?startIndex={start}&count=3")).await.body;
        assert_eq!(page["totalResults"], 7);
        assert_eq!(page["startIndex"], start);
        let got = names(&page);
        assert_eq!(page["itemsPerPage"], got.len());
        if got.is_empty() {
            break;
        }
        paged.extend(got);
        start += 3;
    }
    assert_eq!(paged, all);
    let beyond = app.get("/Users?startIndex=101&count=100").await.body;
    assert_eq!((beyond["itemsPerPage"].clone(), beyond["Resources"].clone()), (json!(0), json!([])));
    assert_eq!(beyond["totalResults"], 7);
    let totals = app.get("/Users?count=0").await.body;
    assert_eq!((totals["totalResults"].clone(), totals["itemsPerPage"].clone()), (json!(7), json!(0)));
    // A negative count is the largest page here, as PingFederate means it; 0 in strict mode
    // (`clients::strict_rfc_mode_refuses_every_quirk`).
    let clamped = app.get("/Users?startIndex=-4&count=-1").await.body;
    assert_eq!((clamped["startIndex"].clone(), clamped["itemsPerPage"].clone()), (json!(1), json!(7)));
    let lower = app.get("/Users?startindex=2&COUNT=1").await.body;
    assert_eq!(names(&lower), vec!["u1@x.com"]);
});

scim_test!(user_name_eq_finds_any_case_and_nothing_else, |app| {
    app.create_user("Jane.Doe@Example.com").await;
    app.create_user("john@example.com").await;
    for q in [
        "filter=userName%20eq%20%22jane.doe%40example.com%22",
        "filter=userName+eq+%22JANE.DOE%40EXAMPLE.COM%22&",
        "filter=userName%20Eq%20%22Jane.Doe%40Example.com%22&startIndex=1&count=100",
        "filter=urn%3Aietf%3Aparams%3Ascim%3Aschemas%3Acore%3A2.0%3AUser%3AuserName%20eq%20%22jane.doe%40example.com%22",
    ] {
        let r = app.get(&format!("/Users?{q}")).await;
        assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.body);
        assert_eq!(names(&r.body), vec!["Jane.Doe@Example.com"], "{q}");
        assert_eq!(r.body["totalResults"], 1);
    }
    let none = app.get("/Users?filter=userName%20eq%20%22abcdefgh%40atko.com%22").await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(none.body["totalResults"], 0);
    assert_eq!(none.body["Resources"], json!([]));
    // Paging still applies to the one user found: the total counts it, the page may not.
    let jane = "filter=userName%20eq%20%22jane.doe%40example.com%22";
    for (paging, total, shown) in [("startIndex=2", 1, 0), ("count=0", 1, 0), ("startIndex=1&count=1", 1, 1)] {
        let r = app.get(&format!("/Users?{jane}&{paging}")).await.body;
        let got = (r["totalResults"].clone(), r["itemsPerPage"].clone(), r["Resources"].as_array().unwrap().len());
        assert_eq!(got, (json!(total), json!(shown), shown), "{paging}");
    }
    // By id too, with the user's groups (and none for a user in no group).
    let id = app.get(&format!("/Users?{jane}")).await.body["Resources"][0]["id"].as_str().unwrap().to_string();
    let g = app.post("/Groups", json!({"displayName": "Staff", "members": [{"value": id}]})).await.body;
    let by_id = app.get(&format!("/Users?filter=id%20eq%20%22{id}%22")).await.body;
    assert_eq!(names(&by_id), vec!["Jane.Doe@Example.com"]);
    assert_eq!(by_id["Resources"][0]["groups"][0]["value"], g["id"]);
    assert_eq!(app.get(&format!("/Users?{jane}")).await.body["Resources"][0]["groups"][0]["display"], "Staff");
    let john = app.get("/Users?filter=userName%20eq%20%22john%40example.com%22").await.body;
    assert!(john["Resources"][0].get("groups").is_none());
});

scim_test!(filters_that_cannot_be_evaluated_are_400_never_all_rows, |app| {
    app.create_user("x@x.com").await;
    for f in
        ["userName%20eq", "userName%20eq%20%22x", "((((", "emails%5Btype%20eq%20%22work%22", "nosuch%20eq%20%22x%22"]
    {
        app.get(&format!("/Users?filter={f}")).await.assert_error(400, Some("invalidFilter"));
    }
    let long = format!("/Users?filter=userName%20eq%20%22{}%22", "a".repeat(20_000));
    app.get(&long).await.assert_error(400, Some("invalidFilter"));
    let deep = format!("/Users?filter={}a%20pr{}", "(".repeat(5_000), ")".repeat(5_000));
    app.get(&deep).await.assert_error(400, Some("invalidFilter"));
});

scim_test!(bad_paging_parameters_are_400_invalid_value, |app| {
    app.get("/Users?count=ten").await.assert_error(400, Some("invalidValue"));
    app.get("/Users?startIndex=1.5").await.assert_error(400, Some("invalidValue"));
});

// Unfiltered lists answer totalResults from counters kept by triggers (migrations 000010, 000011);
// they must agree with a count of the rows through every way rows come and go.
scim_test!(unfiltered_totals_stay_exact_through_creates_deletes_and_tenant_removal, |app| {
    let totals = |path: &'static str| {
        let app = &app;
        async move {
            let all = app.get(path).await.body["totalResults"].clone();
            let counted = app.get(&format!("{path}?filter=id%20pr")).await.body["totalResults"].clone();
            assert_eq!(all, counted, "{path}: counter vs count");
            all
        }
    };
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(app.create_user(&format!("u{i}@x.com")).await["id"].as_str().unwrap().to_string());
    }
    for name in ["g1", "g2"] {
        let r = app
            .post("/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    assert_eq!((totals("/Users").await, totals("/Groups").await), (json!(6), json!(2)));

    // A create that fails (duplicate userName) and writes that change no row count.
    app.post("/Users", crate::helpers::okta_user("U0@x.com")).await.assert_error(409, Some("uniqueness"));
    let deactivate = crate::helpers::patch_op(json!([{"op": "replace", "path": "active", "value": false}]));
    assert_eq!(app.patch(&format!("/Users/{}", ids[1]), deactivate).await.status, StatusCode::OK);
    assert_eq!(app.delete(&format!("/Users/{}", ids[0])).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&format!("/Users/{}", ids[0])).await.status, StatusCode::NOT_FOUND);
    assert_eq!(totals("/Users").await, json!(5));
    let page = app.get("/Users?startIndex=5&count=2").await.body;
    assert_eq!((page["totalResults"].clone(), page["itemsPerPage"].clone()), (json!(5), json!(1)));
    assert_eq!(names(&page), ["u5@x.com"]);

    // Other tenants' rows, and their removal (cascade and retirement), leave acme's totals alone.
    for (name, retire) in [("globex", false), ("initech", true)] {
        let (base, token) = app.tenant(name);
        for i in 0..3 {
            let url = format!("{base}/Users");
            let body = crate::helpers::okta_user(&format!("{name}{i}@x.com")).to_string().into_bytes();
            let auth = format!("Bearer {token}");
            let r = app
                .send_raw(
                    awc::http::Method::POST,
                    &url,
                    Some(&auth),
                    &[("Content-Type", "application/scim+json")],
                    Some(body),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED);
        }
        let tenant = app.store.read(|tx| tx.tenant_by_name(name)).unwrap().unwrap();
        assert_eq!(app.store.read(|tx| tx.tenant_stats(tenant.id)).unwrap().users, 3);
        if retire {
            app.store.write(|tx| tx.retire_tenant(tenant.id, chrono::Utc::now())).unwrap();
            let stats = app.store.read(|tx| tx.tenant_stats(tenant.id)).unwrap();
            assert_eq!((stats.users, stats.groups), (0, 0));
        } else {
            scimd::tenancy::delete_tenant(&app.store, &scimd::clock::SystemClock, name).unwrap();
        }
    }
    assert_eq!((totals("/Users").await, totals("/Groups").await), (json!(5), json!(2)));

    // Concurrent creates (counted at commit on PostgreSQL) are each counted once.
    let created = futures_util::future::join_all(
        (0..16).map(|i| app.post("/Users", crate::helpers::okta_user(&format!("c{i}@x.com")))),
    )
    .await;
    assert!(created.iter().all(|r| r.status == StatusCode::CREATED));
    assert_eq!(totals("/Users").await, json!(21));
    for id in &ids[1..] {
        assert_eq!(app.delete(&format!("/Users/{id}")).await.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(totals("/Users").await, json!(16));
    let (_, acme) = scimd::tenancy::tenant_overview(&app.store, "acme").unwrap();
    assert_eq!((acme.users, acme.groups), (16, 2));
});

// A list reads one snapshot: while users are being created, every whole-directory page holds
// exactly totalResults users (on PostgreSQL the read runs REPEATABLE READ; under its default,
// READ COMMITTED, the total and the rows were read at different moments).
scim_test!(a_page_and_its_total_come_from_one_snapshot_while_users_are_created, |app| {
    let creates = futures_util::future::join_all(
        (0..100).map(|i| app.post("/Users", crate::helpers::okta_user(&format!("s{i}@x.com")))),
    );
    let lists = futures_util::future::join_all((0..50).map(|_| app.get("/Users?startIndex=1&count=1000")));
    let (created, listed) = futures_util::future::join(creates, lists).await;
    assert!(created.iter().all(|r| r.status == StatusCode::CREATED));
    for page in listed {
        assert_eq!(page.status, StatusCode::OK);
        let total = page.body["totalResults"].as_u64().unwrap();
        assert_eq!(names(&page.body).len() as u64, total, "{}", page.body["itemsPerPage"]);
    }
});

scim_test!(deep_pages_match_the_plain_list_through_creates_and_deletes, |app| {
    // Past 1,000 entries scimd seeks to a remembered position instead of skipping
    // (store::positions); `userName pr` matches every user but is read without them.
    async fn create(app: &crate::helpers::TestApp, range: std::ops::Range<usize>) -> Vec<String> {
        let bodies = range
            .map(|i| json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("d{i}")}));
        let created = futures_util::future::join_all(bodies.map(|b| app.post("/Users", b))).await;
        created
            .iter()
            .map(|r| {
                assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
                r.body["id"].as_str().unwrap().to_string()
            })
            .collect()
    }
    async fn assert_deep_pages_agree(app: &crate::helpers::TestApp, total: usize) {
        for (start, count) in [(1000, 3), (1001, 5), (1002, 100), (total - 1, 10), (total + 1, 10)] {
            let page = app.get(&format!("/Users?startIndex={start}&count={count}")).await.body;
            let plain = app.get(&format!("/Users?startIndex={start}&count={count}&filter=userName%20pr")).await.body;
            assert_eq!(page["totalResults"], total, "{start}");
            assert_eq!(names(&page), names(&plain), "startIndex={start} count={count}");
            assert_eq!(names(&page).len(), count.min((total + 1).saturating_sub(start)), "{start}");
        }
    }
    let mut ids = Vec::new();
    for chunk in 0..21 {
        ids.extend(create(&app, chunk * 50..chunk * 50 + 50).await);
    }
    assert_deep_pages_agree(&app, 1050).await;
    for gone in [&ids[0], &ids[500], &ids[1001]] {
        assert_eq!(app.delete(&format!("/Users/{gone}")).await.status, StatusCode::NO_CONTENT);
    }
    assert_deep_pages_agree(&app, 1047).await;
    create(&app, 2000..2002).await;
    assert_deep_pages_agree(&app, 1049).await;
});

/// Users of about 60 KB each: `n` of them make a page larger than its first part (1 MiB).
async fn large_users(app: &crate::helpers::TestApp, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let mut user = crate::helpers::okta_user(&format!("large{i}@x.com"));
        user["title"] = json!(format!("{i}-{}", "t".repeat(60_000)));
        let r = app.post("/Users", user).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    ids
}

// A page is written as it is sent: past its first MiB, each user is rendered when the answer
// reaches it. What arrives is the page a whole answer would be, groups of its last users
// included, at /Users and at the root; a page that fits is sent whole, with its length.
scim_test!(a_page_larger_than_its_first_part_is_the_same_page_sent_as_it_is_written, |app| {
    let ids = large_users(&app, 24).await;
    let group =
        app.post("/Groups", json!({"displayName": "g", "members": [{"value": ids[0]}, {"value": ids[23]}]})).await;
    assert_eq!(group.status, StatusCode::CREATED, "{}", group.body);
    let wire = app.get_on_the_wire("/Users?startIndex=1&count=100").await;
    let head = wire[..wire.find("\r\n\r\n").unwrap()].to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200") && head.contains("transfer-encoding: chunked"), "{head}");
    assert!(wire.ends_with("\r\n0\r\n\r\n"), "the last chunk arrives");
    let page = app.get("/Users?startIndex=1&count=100").await.body;
    assert_eq!((page["totalResults"].clone(), page["itemsPerPage"].clone()), (json!(24), json!(24)));
    let listed = page["Resources"].as_array().unwrap();
    for (id, user) in ids.iter().zip(listed) {
        assert_eq!(user, &app.get(&format!("/Users/{id}")).await.body, "listed as read by id");
    }
    assert_eq!(listed[23]["groups"][0]["value"], group.body["id"]);
    // A search at the root lists the same users, then the group.
    let root = app.post("/.search", json!({"count": 100})).await.body;
    assert_eq!((root["totalResults"].clone(), root["itemsPerPage"].clone()), (json!(25), json!(25)));
    let mut expected = listed.clone();
    expected.push(app.get(&format!("/Groups/{}", group.body["id"].as_str().unwrap())).await.body);
    assert_eq!(root["Resources"].as_array().unwrap(), &expected);
    let small = app.get("/Users?startIndex=1&count=10").await;
    assert_eq!(small.header("content-length"), Some(small.raw.len().to_string().as_str()), "a page that fits");
    assert_eq!(small.body["itemsPerPage"], 10);
});

// A stored user that cannot be rendered is a 500 while nothing is sent yet; later in a page,
// the status is sent already, and the answer is cut short rather than ended as a smaller page.
scim_test!(a_user_that_cannot_be_rendered_cuts_a_page_sent_as_it_is_written, |app| {
    let ids = large_users(&app, 24).await;
    app.db.execute(&format!("UPDATE users SET data = 'not json' WHERE id = '{}'", ids[23]));
    let wire = app.get_on_the_wire("/Users?startIndex=1&count=100").await;
    assert!(wire.starts_with("HTTP/1.1 200"), "{}", &wire[..200]);
    assert!(wire.len() > 1 << 20, "sent past its first part: {} bytes", wire.len());
    assert!(!wire.ends_with("\r\n0\r\n\r\n"), "cut before the last chunk");
    assert_eq!(app.get("/Users?startIndex=1&count=23").await.body["itemsPerPage"], 23, "the others are read");
    app.db.execute(&format!("UPDATE users SET data = 'not json' WHERE id = '{}'", ids[0]));
    app.get("/Users?startIndex=1&count=100").await.assert_error(500, None);
});
