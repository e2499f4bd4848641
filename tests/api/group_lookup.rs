//! A list of groups filtered by a unique key (`displayName eq`, `id eq`), which scimd reads by
//! one statement instead of a counted list: it must answer exactly as the general list does.

use crate::helpers::*;
use crate::scim_test;
use actix_web::http::Method;
use serde_json::{json, Value};

const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

scim_test!(a_group_looked_up_by_a_unique_key_answers_as_any_list, |app| {
    let uid = app.create_user("member@x.com").await["id"].as_str().unwrap().to_string();
    let g = app.post("/Groups", json!({"displayName": "Sales EMEA", "members": [{"value": uid}]})).await.body;
    let gid = g["id"].as_str().unwrap().to_string();
    app.post("/Groups", json!({"displayName": "Sales EMEA 2"})).await;
    // The same filter twice over (`and` of itself) takes the general path: both must agree.
    let both = |filter: &str, rest: &str| {
        let app = &app;
        let (key, general) = (
            format!("filter={}{rest}", q(filter)),
            format!("filter={}{rest}", q(&format!("({filter}) and ({filter})"))),
        );
        async move {
            let a = app.get(&format!("/Groups?{key}")).await;
            let b = app.get(&format!("/Groups?{general}")).await;
            assert_eq!((a.status.as_u16(), &a.body), (b.status.as_u16(), &b.body), "{key}");
            a.body
        }
    };
    // Okta's pre-check, any case: the group with its members.
    let r = both(r#"displayName eq "sales emea""#, "&startIndex=1&count=100").await;
    assert_eq!((r["totalResults"].clone(), r["itemsPerPage"].clone()), (json!(1), json!(1)));
    assert_eq!(r["Resources"][0]["id"], gid.as_str());
    assert_eq!(r["Resources"][0]["members"][0]["value"], uid.as_str());
    assert_eq!(r["Resources"][0]["meta"]["version"], g["meta"]["version"]);
    // Entra's: without members.
    let r = both(r#"displayName eq "SALES EMEA""#, "&excludedAttributes=members").await;
    assert!(r["Resources"][0].get("members").is_none() && r["Resources"][0]["displayName"] == "Sales EMEA");
    let r = both(&format!(r#"id eq "{gid}""#), "&attributes=displayName").await;
    assert_eq!(r["Resources"][0], json!({"schemas": [GROUP], "id": gid, "displayName": "Sales EMEA"}));
    // RFC 7644 §3.4.2: totalResults counts the group on a page past it, or of none.
    for rest in ["&startIndex=2", "&count=0", "&startIndex=5&count=1"] {
        let r = both(r#"displayName eq "Sales EMEA""#, rest).await;
        assert_eq!(
            (r["totalResults"].clone(), r.get("Resources").map_or(0, |v| v.as_array().unwrap().len())),
            (json!(1), 0),
            "{rest}"
        );
    }
    // No such group; an id is case-exact, a name is not a prefix.
    for filter in [r#"displayName eq "Sales""#, &format!(r#"id eq "{}""#, gid.to_uppercase()), r#"id eq "no-such-id""#]
    {
        assert_eq!(both(filter, "").await["totalResults"], 0, "{filter}");
    }
    // POST /.search takes the same path.
    let r = app.post("/Groups/.search", json!({"schemas": [SEARCH], "filter": "displayName eq \"sales emea\""})).await;
    assert_eq!((r.body["totalResults"].clone(), r.body["Resources"][0]["id"].clone()), (json!(1), json!(gid)));
    // The read is of now: renamed, the old name finds nothing and the new one the group.
    app.patch(&format!("/Groups/{gid}"), patch_op(json!([{"op": "replace", "path": "displayName", "value": "Sales"}])))
        .await;
    assert_eq!(both(r#"displayName eq "Sales EMEA""#, "").await["totalResults"], 0);
    assert_eq!(both(r#"displayName eq "sales""#, "").await["Resources"][0]["id"], gid.as_str());
    // Malformed filters on the same attribute are still SCIM errors.
    for bad in [r#"displayName eq"#, r#"displayName eq "x"#, r#"displayName eq 12 and"#] {
        app.get(&format!("/Groups?filter={}", q(bad))).await.assert_error(400, Some("invalidFilter"));
    }
});

scim_test!(a_group_looked_up_by_its_name_is_only_ever_the_tenants_own, |app| {
    let (other_base, other_token) = app.tenant("globex");
    let mine = app.post("/Groups", json!({"displayName": "Everyone"})).await.body;
    let auth = format!("Bearer {other_token}");
    let get = |path: String| {
        let (app, auth, url) = (&app, auth.clone(), format!("{other_base}{path}"));
        async move { app.send_raw(Method::GET, &url, Some(&auth), &[], None).await.body }
    };
    let theirs = |body: &Value| body["totalResults"].clone();
    assert_eq!(theirs(&get(format!("/Groups?filter={}", q(r#"displayName eq "everyone""#))).await), 0);
    assert_eq!(
        theirs(&get(format!("/Groups?filter={}", q(&format!(r#"id eq "{}""#, mine["id"].as_str().unwrap())))).await),
        0
    );
    // A group of the same name in the other tenant is its own, and each finds only its own.
    let r = app
        .send_raw(
            Method::POST,
            &format!("{other_base}/Groups"),
            Some(&auth),
            &[("Content-Type", "application/scim+json")],
            Some(json!({"displayName": "Everyone"}).to_string().into_bytes()),
        )
        .await;
    let other_id = r.body["id"].as_str().unwrap().to_string();
    let found = get(format!("/Groups?filter={}", q(r#"displayName eq "Everyone""#))).await;
    assert_eq!((found["totalResults"].clone(), found["Resources"][0]["id"].clone()), (json!(1), json!(other_id)));
    let found = app.get(&format!("/Groups?filter={}", q(r#"displayName eq "Everyone""#))).await.body;
    assert_eq!(found["Resources"][0]["id"], mine["id"]);
});
