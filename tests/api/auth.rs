//! Authentication and tenant isolation on the SCIM endpoints.

use crate::helpers::okta_user;
use crate::scim_test;
use awc::http::{Method, StatusCode};
use serde_json::json;

scim_test!(missing_or_wrong_credentials_are_401_with_a_challenge, |app| {
    let url = format!("{}/Users", app.base);
    // The token with its last character changed (to 'x', or 'y' when it was an 'x': the test
    // once failed by sending the right token).
    let (kept, last) = app.token.split_at(app.token.len() - 1);
    let wrong_secret = format!("Bearer {kept}{}", if last == "x" { "y" } else { "x" });
    for auth in [
        None,
        Some("non-token"),
        Some("Bearer "),
        Some("Bearer scimd_nope"),
        Some(wrong_secret.as_str()),
        Some("Basic Zm9vOmJhcg=="),
    ] {
        let r = app.send_raw(Method::GET, &url, auth, &[], None).await;
        r.assert_error(401, None);
        assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"), "{auth:?}");
    }
    let r = app
        .send_raw(
            Method::GET,
            &format!("{}/scim/v2/nosuchtenant/Users", app.root),
            Some(&format!("Bearer {}", app.token)),
            &[],
            None,
        )
        .await;
    r.assert_error(401, None);
    // Okta's header-auth field sometimes holds the bare token.
    let r = app.send_raw(Method::GET, &url, Some(&app.token), &[], None).await;
    assert_eq!(r.status, StatusCode::OK);
});

scim_test!(a_tenant_sees_and_touches_only_its_own_users, |app| {
    let (other_base, other_token) = app.tenant("globex");
    let mine = app.create_user("same@x.com").await;
    let id = mine["id"].as_str().unwrap();
    let other_auth = format!("Bearer {other_token}");
    // acme's token on globex's URL and the other way round: 401, no data.
    let r = app
        .send_raw(Method::GET, &format!("{other_base}/Users"), Some(&format!("Bearer {}", app.token)), &[], None)
        .await;
    r.assert_error(401, None);
    let r = app.send_raw(Method::GET, &format!("{}/Users/{id}", app.base), Some(&other_auth), &[], None).await;
    r.assert_error(401, None);
    // With its own token globex cannot reach acme's user by id, list or filter.
    let get = |path: String| {
        let url = format!("{other_base}{path}");
        let auth = other_auth.clone();
        let app = &app;
        async move { app.send_raw(Method::GET, &url, Some(&auth), &[], None).await }
    };
    get(format!("/Users/{id}")).await.assert_error(404, None);
    assert_eq!(get("/Users".into()).await.body["totalResults"], 0);
    assert_eq!(get("/Users?filter=userName%20eq%20%22same%40x.com%22".into()).await.body["totalResults"], 0);
    for (method, body) in [
        (Method::PUT, Some(okta_user("same@x.com"))),
        (Method::PATCH, Some(json!({"Operations": []}))),
        (Method::DELETE, None),
    ] {
        let r = app
            .send_raw(
                method,
                &format!("{other_base}/Users/{id}"),
                Some(&other_auth),
                &[("Content-Type", "application/json")],
                body.map(|b| b.to_string().into_bytes()),
            )
            .await;
        r.assert_error(404, None);
    }
    // The same userName is free in another tenant.
    let r = app
        .send_raw(
            Method::POST,
            &format!("{other_base}/Users"),
            Some(&other_auth),
            &[("Content-Type", "application/json")],
            Some(okta_user("same@x.com").to_string().into_bytes()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(app.get(&format!("/Users/{id}")).await.body, mine);
});

scim_test!(a_deleted_tenant_s_token_stops_working, |app| {
    let (base, token) = app.tenant("initech");
    let auth = format!("Bearer {token}");
    assert_eq!(
        app.send_raw(Method::GET, &format!("{base}/Users"), Some(&auth), &[], None).await.status,
        StatusCode::OK
    );
    scimd::tenancy::delete_tenant(&app.store, &scimd::clock::SystemClock, "initech").unwrap();
    // The cache trusts a verified credential for at most the recheck interval (1 s in tests).
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1200)).await;
    app.send_raw(Method::GET, &format!("{base}/Users"), Some(&auth), &[], None).await.assert_error(401, None);
});

scim_test!(
    failed_authentication_is_throttled_per_tenant_and_address,
    |settings| settings.auth_failure_limit = 3,
    |app| {
        let (other_base, other_token) = app.tenant("globex");
        let url = format!("{}/Users", app.base);
        for _ in 0..3 {
            app.send_raw(Method::GET, &url, Some("Bearer scimd_wrong"), &[], None).await.assert_error(401, None);
        }
        // Now this address is throttled on acme, whatever it presents…
        for auth in ["Bearer scimd_wrong".to_string(), format!("Bearer {}", app.token)] {
            let r = app.send_raw(Method::GET, &url, Some(&auth), &[], None).await;
            r.assert_error(429, None);
            let retry: u64 = r.header("retry-after").expect("Retry-After").parse().expect("integer seconds");
            assert!((1..=60).contains(&retry), "{retry}");
        }
        // …but not on another tenant.
        let r = app
            .send_raw(Method::GET, &format!("{other_base}/Users"), Some(&format!("Bearer {other_token}")), &[], None)
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
);

scim_test!(
    a_name_no_tenant_can_have_is_a_404_told_before_authentication,
    |settings| settings.auth_failure_limit = 3,
    |app| {
        // A Base URL typed in capitals says so; other impossible names (30 KB, a '_', a
        // leading '-', a NUL) say what a name may be. With or without acme's token, and
        // never counted as failed authentications: nothing about any tenant is told.
        let root = app.base.trim_end_matches("/acme");
        let auth = format!("Bearer {}", app.token);
        let r = app.send_raw(Method::GET, &format!("{root}/ACME/Users"), Some(&auth), &[], None).await;
        r.assert_error(404, None);
        assert_eq!(
            r.body["detail"], "tenant names are lower-case: the Base URL ends in /acme, not /ACME",
            "{}",
            r.body
        );
        let r = app.send_raw(Method::GET, &format!("{root}/Zeta-9/Groups"), None, &[], None).await;
        assert_eq!(
            r.body["detail"], "tenant names are lower-case: the Base URL ends in /zeta-9, not /Zeta-9",
            "{}",
            r.body
        );
        let names = ["x".repeat(30_000), "a_b".to_string(), "-a".to_string(), "a%00b".to_string(), "x".repeat(64)];
        for name in &names {
            for presented in [None, Some(auth.as_str()), Some("Bearer scimd_wrong")] {
                let r = app.send_raw(Method::GET, &format!("{root}/{name}/Users"), presented, &[], None).await;
                r.assert_error(404, None);
                let detail = r.body["detail"].as_str().unwrap();
                assert!(detail.starts_with("no tenant can have the name in this path"), "{detail}");
            }
            let body = Some(b"{not json".to_vec());
            let r = app.send_raw(Method::POST, &format!("{root}/{name}/Users"), Some(&auth), &[], body).await;
            r.assert_error(404, None);
        }
        // Fifteen impossible names with a wrong token counted nothing against this address.
        let r = app.send_raw(Method::GET, &format!("{root}/nobody/Users"), None, &[], None).await;
        r.assert_error(401, None);
        assert_eq!(app.get("/Users").await.status, StatusCode::OK);
    }
);

scim_test!(
    a_caller_that_is_not_authenticated_is_told_so_whatever_else_is_wrong_with_its_request,
    |settings| {
        settings.auth_failure_limit = 1000;
        settings.max_body_bytes = 1024;
    },
    |app| {
        // actix-web answered the first of a handler's extractors to refuse: a 401 or a 400 as
        // the credential check's thread and the query or body raced. The scope's middleware
        // now authenticates before routing goes further, so a path or method no endpoint has
        // is told to the tenant's clients alone, too.
        let id = app.create_user("erin@example.com").await["id"].as_str().unwrap().to_string();
        let user = format!("/Users/{id}");
        let over_limit = format!("{{\"userName\": \"{}\"}}", "x".repeat(2000));
        let bad: [(Method, String, Option<&str>, u16); 10] = [
            (Method::GET, "/Users?filter=%00".into(), None, 400),
            (Method::GET, "/Users?filter=userName%20eq".into(), None, 400),
            (Method::GET, format!("{user}?attributes=a%00"), None, 400),
            (Method::GET, "/Schemas?filter=%00".into(), None, 400),
            (Method::POST, "/Users".into(), Some("{not json"), 400),
            (Method::POST, "/Groups".into(), Some(""), 400),
            (Method::PATCH, user.clone(), Some("[1,"), 400),
            (Method::PUT, user.clone(), Some(r#"{"userName": "a", "userName": "b"}"#), 400),
            (Method::POST, "/.search".into(), Some("{"), 400),
            (Method::POST, "/Users".into(), Some(&over_limit), 413),
        ];
        let right = format!("Bearer {}", app.token);
        let unknown = ["Bearer scimd_wrongwrongwrong0123456789", "Basic Zm9vOmJhcg==", "Bearer scimd_nope"];
        for (method, path, body, status) in &bad {
            let url = format!("{}{path}", app.base);
            let body = || body.map(|b| b.as_bytes().to_vec());
            let headers = [("Content-Type", "application/scim+json")];
            for presented in unknown.iter().map(|p| Some(*p)).chain([None]) {
                let r = app.send_raw(method.clone(), &url, presented, &headers, body()).await;
                r.assert_error(401, None);
                assert!(r.header("www-authenticate").is_some(), "{method} {path} {presented:?}");
            }
            app.send_raw(method.clone(), &url, Some(&right), &headers, body()).await.assert_error(*status, None);
        }
        let elsewhere = [
            (Method::GET, "/Me".to_string(), 501),
            (Method::PATCH, "/Me/password".into(), 501),
            (Method::POST, "/Bulk".into(), 501),
            (Method::GET, "/Nope".into(), 404),
            (Method::GET, "/Users/a/b".into(), 404),
            (Method::GET, "/Users/a%00b".into(), 404),
            (Method::PUT, "/Users".into(), 405),
            (Method::DELETE, "/ServiceProviderConfig".into(), 405),
            (Method::POST, user.clone(), 405),
        ];
        for (method, path, status) in elsewhere {
            let url = format!("{}{path}", app.base);
            for presented in [Some(unknown[0]), None] {
                let r = app.send_raw(method.clone(), &url, presented, &[], None).await;
                r.assert_error(401, None);
                assert!(r.header("allow").is_none(), "{method} {path}");
            }
            app.send_raw(method, &url, Some(&right), &[], None).await.assert_error(status, None);
        }
        assert_eq!(app.get(&user).await.body["userName"], "erin@example.com");
    }
);
