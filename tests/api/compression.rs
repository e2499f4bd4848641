//! Large answers gzipped for clients that accept it (Okta sends `Accept-Encoding: gzip,deflate`),
//! and everything else as it was.

use crate::helpers::*;
use crate::scim_test;
use awc::http::Method;
use serde_json::{json, Value};
use std::io::Read;

fn gunzip(coded: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(coded).read_to_end(&mut out).expect("a gzip body");
    out
}

impl TestApp {
    async fn get_with(&self, method: Method, path: &str, headers: &[(&str, &str)]) -> Response {
        let auth = format!("Bearer {}", self.token);
        self.send_raw(method, &format!("{}{path}", self.base), Some(&auth), headers, None).await
    }

    /// A write whose answer the client takes gzipped.
    async fn send_taking_gzip(&self, method: Method, path: &str, body: Value) -> Response {
        let auth = format!("Bearer {}", self.token);
        let headers = [("Content-Type", "application/scim+json"), ("Accept-Encoding", "gzip")];
        let url = format!("{}{path}", self.base);
        self.send_raw(method, &url, Some(&auth), &headers, Some(body.to_string().into_bytes())).await
    }
}

async fn seed(app: &TestApp, users: usize) {
    for i in 0..users {
        app.create_user(&format!("user{i:03}@example.com")).await;
    }
}

const OKTA: &[(&str, &str)] = &[("Accept-Encoding", "gzip,deflate")];

fn varies_by_coding(r: &Response) -> bool {
    r.headers.get_all("vary").filter_map(|v| v.to_str().ok()).any(|v| v.eq_ignore_ascii_case("accept-encoding"))
}

scim_test!(a_page_of_users_is_gzipped_for_okta_and_reads_the_same, |app| {
    seed(&app, 30).await;
    let plain = app.get_with(Method::GET, "/Users?startIndex=1&count=100", &[]).await;
    assert_eq!(plain.status, 200);
    assert!(plain.raw.len() > 14 * 1024, "{} bytes", plain.raw.len());
    assert_eq!(plain.header("content-encoding"), None);
    assert!(varies_by_coding(&plain), "{:?}", plain.headers);

    let coded = app.get_with(Method::GET, "/Users?startIndex=1&count=100", OKTA).await;
    assert_eq!(coded.status, 200);
    assert_eq!(coded.header("content-encoding"), Some("gzip"));
    assert!(varies_by_coding(&coded), "{:?}", coded.headers);
    assert_eq!(coded.header("content-type"), Some("application/scim+json"));
    assert_eq!(coded.header("content-length"), Some(coded.raw.len().to_string().as_str()));
    assert!(coded.raw.len() * 4 < plain.raw.len(), "{} of {} bytes", coded.raw.len(), plain.raw.len());
    assert_eq!(gunzip(&coded.raw), plain.raw);

    // HEAD says what the GET would: the coding, and the coded length.
    let head = app.get_with(Method::HEAD, "/Users?startIndex=1&count=100", OKTA).await;
    assert_eq!(head.status, 200);
    assert!(head.raw.is_empty());
    assert_eq!(head.header("content-encoding"), Some("gzip"));
    assert_eq!(head.header("content-length"), coded.header("content-length"));
});

scim_test!(what_accept_encoding_says_decides, |app| {
    seed(&app, 30).await;
    for (value, gzipped) in [
        ("gzip", true),
        ("x-gzip", true),
        ("*", true),
        ("br;q=1, gzip;q=0.5", true),
        ("gzip;q=0", false),
        ("deflate, br", false),
        ("identity", false),
        ("identity;q=1, gzip;q=0.2", false),
        (";;;,q=,gzip;q=;", true),
        (",,,", false),
    ] {
        let r = app.get_with(Method::GET, "/Users?count=100", &[("Accept-Encoding", value)]).await;
        assert_eq!(r.status, 200, "{value}");
        assert_eq!(r.header("content-encoding").is_some(), gzipped, "{value}: {:?}", r.headers);
        let body = if gzipped { gunzip(&r.raw) } else { r.raw.clone() };
        let page: Value = serde_json::from_slice(&body).expect("a ListResponse");
        assert_eq!(page["totalResults"], 30, "{value}");
    }
});

// What fits in TCP's first flight (14 KiB) goes as it is: a user, a page of a few, an error.
scim_test!(short_answers_and_errors_go_as_they_are, |app| {
    let user = app.create_user("ada@example.com").await;
    let id = user["id"].as_str().unwrap();
    seed(&app, 5).await;
    let few = app.get_with(Method::GET, "/Users?count=6", OKTA).await;
    assert!(few.raw.len() > 2048, "{} bytes", few.raw.len());
    for path in
        [format!("/Users/{id}"), "/Users?count=1".into(), "/Users?count=6".into(), "/ServiceProviderConfig".into()]
    {
        let r = app.get_with(Method::GET, &path, OKTA).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.raw.len() < 14 * 1024, "{path}: {} bytes", r.raw.len());
        assert_eq!(r.header("content-encoding"), None, "{path}");
        assert!(!varies_by_coding(&r), "{path}: {:?}", r.headers);
        assert!(serde_json::from_slice::<Value>(&r.raw).is_ok(), "{path}");
    }
    let r = app.get_with(Method::GET, "/Users?filter=userName%20zz%20%22x%22", OKTA).await;
    r.assert_error(400, Some("invalidFilter"));
    assert_eq!(r.header("content-encoding"), None);
    let r = app.get_with(Method::GET, "/Users/no-such-user", OKTA).await;
    r.assert_error(404, None);
    assert_eq!(r.header("content-encoding"), None);
});

scim_test!(schemas_and_searches_are_gzipped_too, |app| {
    seed(&app, 30).await;
    let schemas = app.get_with(Method::GET, "/Schemas", OKTA).await;
    assert_eq!(schemas.status, 200);
    assert_eq!(schemas.header("content-encoding"), Some("gzip"));
    let schemas: Value = serde_json::from_slice(&gunzip(&schemas.raw)).unwrap();
    assert!(schemas["totalResults"].as_u64().unwrap() >= 3, "{schemas}");

    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "count": 100});
    let r = app.send_taking_gzip(Method::POST, "/Users/.search", search).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let page: Value = serde_json::from_slice(&gunzip(&r.raw)).unwrap();
    assert_eq!(page["Resources"].as_array().unwrap().len(), 30);

    // The JSON that OneLogin asks for is relabelled and gzipped alike.
    let r = app
        .get_with(Method::GET, "/Users?count=100", &[("Accept", "application/json"), ("Accept-Encoding", "gzip")])
        .await;
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("content-encoding"), Some("gzip"));
});

/// A group of 40 members whose displays are 1,000 characters: its body is longer than the
/// first chunk a group is sent in, so it is streamed.
async fn long_group(app: &TestApp) -> String {
    let mut members = Vec::new();
    for i in 0..40 {
        let id = app.create_user(&format!("member{i:02}@example.com")).await["id"].as_str().unwrap().to_string();
        members.push(json!({"value": id, "display": format!("{i:02}{}", "d".repeat(998))}));
    }
    let r = app.post("/Groups", json!({"displayName": "long", "members": members})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

scim_test!(streamed_groups_and_pages_are_gzipped_as_they_are_sent, |app| {
    let id = long_group(&app).await;
    let small = app.post("/Groups", json!({"displayName": "small"})).await;
    for path in [format!("/Groups/{id}"), "/Groups?count=100".into(), "/?count=100".into()] {
        let plain = app.get_with(Method::GET, &path, &[]).await;
        assert_eq!(plain.status, 200, "{path}");
        assert!(plain.raw.len() > 40_000, "{path}: {} bytes", plain.raw.len());
        assert_eq!(plain.header("content-length"), None, "{path}: streamed");
        assert!(varies_by_coding(&plain), "{path}");
        let coded = app.get_with(Method::GET, &path, OKTA).await;
        assert_eq!(coded.status, 200, "{path}");
        assert_eq!(coded.header("content-encoding"), Some("gzip"), "{path}");
        assert_eq!(coded.header("content-length"), None, "{path}: streamed");
        assert!(coded.raw.len() * 10 < plain.raw.len(), "{path}: {} bytes", coded.raw.len());
        assert_eq!(gunzip(&coded.raw), plain.raw, "{path}");
    }
    // A group that fits in its first chunk goes whole, with its length, gzipped or not by size.
    let small_id = small.body["id"].as_str().unwrap();
    let r = app.get_with(Method::GET, &format!("/Groups/{small_id}"), OKTA).await;
    assert_eq!(r.header("content-length"), Some(r.raw.len().to_string().as_str()));
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(serde_json::from_slice::<Value>(&r.raw).unwrap()["displayName"], "small");
    let r = app.get_with(Method::GET, "/Groups?count=100&excludedAttributes=members", OKTA).await;
    assert_eq!(r.header("content-length"), Some(r.raw.len().to_string().as_str()));
    assert_eq!(r.header("content-encoding"), None, "{} bytes", r.raw.len());
    // The group's PUT answers with it: streamed and gzipped alike.
    let group = app.get(&format!("/Groups/{id}")).await.body;
    let r = app.send_taking_gzip(Method::PUT, &format!("/Groups/{id}"), group).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let put: Value = serde_json::from_slice(&gunzip(&r.raw)).unwrap();
    assert_eq!(put["members"].as_array().unwrap().len(), 40);
});

scim_test!(a_page_of_users_past_its_first_mib_is_gzipped_as_it_is_sent, |app| {
    for i in 0..20 {
        let mut user = okta_user(&format!("large{i}@x.com"));
        user["title"] = json!(format!("{i}-{}", "t".repeat(60_000)));
        assert_eq!(app.post("/Users", user).await.status, 201);
    }
    let plain = app.get_with(Method::GET, "/Users?count=100", &[]).await;
    assert!(plain.raw.len() > 1 << 20, "{} bytes", plain.raw.len());
    assert_eq!(plain.header("content-length"), None, "streamed");
    let coded = app.get_with(Method::GET, "/Users?count=100", OKTA).await;
    assert_eq!(coded.header("content-encoding"), Some("gzip"));
    assert!(coded.raw.len() * 50 < plain.raw.len(), "{} bytes", coded.raw.len());
    assert_eq!(gunzip(&coded.raw), plain.raw);
});

// A group's first chunk is written before its status: a member that cannot be read in it
// (one whose user row went behind scimd's back, on a later page of members: the tests read
// pages of 10) makes a 500, where the status already sent would have left a cut body.
scim_test!(a_member_that_cannot_be_read_before_anything_is_sent_is_an_error_answer, |app| {
    let mut members = Vec::new();
    for i in 0..30 {
        members.push(json!({"value": app.create_user(&format!("m{i:02}@example.com")).await["id"]}));
    }
    let r = app.post("/Groups", json!({"displayName": "g", "members": members})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    app.db.execute(&format!("DELETE FROM users WHERE id = {}", members[25]["value"].to_string().replace('"', "'")));
    for headers in [&[][..], OKTA] {
        let r = app.get_with(Method::GET, &format!("/Groups/{id}"), headers).await;
        r.assert_error(500, None);
        assert_eq!(r.header("content-encoding"), None);
    }
});
