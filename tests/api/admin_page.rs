//! The admin page over plain HTTP: sign-in with login CSRF, cookie attributes, CSRF on every
//! form, escaping, the once-only credential page in Okta's order, login throttling, logout.
//! (The browser walk-through is in admin_browser.rs.)

use crate::helpers::{Response, TestApp};
use crate::scim_test;
use awc::http::{Method, StatusCode};
use scimd::clock::SystemClock;
use std::collections::HashMap;

pub const EMAIL: &str = "ops@example.com";
pub const PASSWORD: &str = "correct horse battery";

/// A browser stand-in: keeps the cookies scimd sets.
pub struct Browser<'a> {
    app: &'a TestApp,
    cookies: HashMap<String, String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Browser { app, cookies: HashMap::new() }
    }

    async fn send(&mut self, method: Method, path: &str, form: Option<&[(&str, &str)]>) -> Response {
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let mut headers = vec![("Cookie", cookie.as_str())];
        let body = form.map(|f| {
            headers.push(("Content-Type", "application/x-www-form-urlencoded"));
            form_urlencoded::Serializer::new(String::new()).extend_pairs(f).finish().into_bytes()
        });
        let r = self.app.send_raw(method, &format!("{}{path}", self.app.local), None, &headers, body).await;
        for set in r.headers.get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let (name, rest) = set.split_once('=').unwrap();
            let value = rest.split(';').next().unwrap();
            if value.is_empty() || set.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        r
    }

    pub async fn get(&mut self, path: &str) -> Response {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Response {
        self.send(Method::POST, path, Some(form)).await
    }

    pub async fn sign_in(&mut self, password: &str) -> Response {
        let page = self.get("/admin/login").await;
        let csrf = hidden(&page, "csrf");
        self.post("/admin/login", &[("csrf", &csrf), ("email", EMAIL), ("password", password)]).await
    }
}

pub fn html(r: &Response) -> String {
    String::from_utf8(r.raw.clone()).unwrap()
}

/// The value of the first hidden input named `name`.
pub fn hidden(r: &Response, name: &str) -> String {
    let page = html(r);
    let at = page.find(&format!("name=\"{name}\" value=\"")).unwrap_or_else(|| panic!("no {name} in {page}"));
    let rest = &page[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

pub fn readonly_value(page: &str, id: &str) -> String {
    let at = page.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id}"));
    let rest = &page[at..];
    let v = &rest[rest.find("value=\"").unwrap() + 7..];
    v[..v.find('"').unwrap()].to_string()
}

fn set_cookie<'r>(r: &'r Response, name: &str) -> &'r str {
    r.headers
        .get_all("set-cookie")
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie: {:?}", r.headers))
}

scim_test!(admin_page_signs_in_issues_credentials_and_signs_out, |app| {
    scimd::admin::accounts::create_admin_user(&app.store, &SystemClock, EMAIL, PASSWORD, false).unwrap();
    let mut b = Browser::new(&app);
    let first = b.get("/admin").await;
    assert_eq!((first.status, first.header("location")), (StatusCode::SEE_OTHER, Some("/admin/login")));

    // Login CSRF: the form's token must match the cookie set with it.
    let form = b.get("/admin/login").await;
    assert_eq!(form.status, StatusCode::OK);
    let forged = b.post("/admin/login", &[("csrf", "forged"), ("email", EMAIL), ("password", PASSWORD)]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(b.sign_in("wrong password!").await.status, StatusCode::UNAUTHORIZED);
    let signed_in = b.sign_in(PASSWORD).await;
    assert_eq!((signed_in.status, signed_in.header("location")), (StatusCode::SEE_OTHER, Some("/admin")));
    let cookie = set_cookie(&signed_in, "scimd_admin");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http here: {cookie}");

    let tenants = b.get("/admin").await;
    assert_eq!(tenants.status, StatusCode::OK);
    assert_eq!(tenants.header("cache-control"), Some("no-store"));
    assert!(tenants.header("content-security-policy").unwrap().contains("default-src 'none'"));
    assert!(html(&tenants).contains("acme") && html(&tenants).contains(&app.base));
    let csrf = hidden(&tenants, "csrf");

    // Every form needs the session's CSRF token.
    let forged = b.post("/admin/tenants", &[("csrf", "x"), ("name", "initech")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(b.post("/admin/tenants", &[("name", "initech")]).await.status, StatusCode::BAD_REQUEST);
    let huge = "x".repeat(20_000);
    assert_eq!(
        b.post("/admin/tenants", &[("csrf", &csrf), ("name", &huge)]).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let bad_name = b.post("/admin/tenants", &[("csrf", &csrf), ("name", "Bad_Name")]).await;
    assert_eq!(bad_name.status, StatusCode::BAD_REQUEST);
    assert!(bad_name.header("content-type").unwrap().starts_with("text/html"));
    let created = b.post("/admin/tenants", &[("csrf", &csrf), ("name", "initech")]).await;
    assert_eq!(created.header("location"), Some("/admin/tenants/initech"));
    assert_eq!(b.post("/admin/tenants", &[("csrf", &csrf), ("name", "initech")]).await.status, StatusCode::CONFLICT);

    // Issue Basic: Base URL, Username, Password in Okta's order, shown once, never cached.
    let label = "<script>alert(1)</script>";
    let issued = b
        .post(
            "/admin/tenants/initech/credentials",
            &[("csrf", &csrf), ("kind", "basic"), ("label", label), ("expires_in", "")],
        )
        .await;
    assert_eq!(issued.status, StatusCode::OK, "{}", html(&issued));
    assert_eq!(issued.header("cache-control"), Some("no-store"));
    let page = html(&issued);
    let order: Vec<usize> =
        ["id=\"base_url\"", "id=\"username\"", "id=\"password\""].iter().map(|f| page.find(f).unwrap()).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    let (base, user, pass) =
        (readonly_value(&page, "base_url"), readonly_value(&page, "username"), readonly_value(&page, "password"));
    assert_eq!(base, format!("{}/scim/v2/initech", app.root));
    let auth = format!(
        "Basic {}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("{user}:{pass}"))
    );
    let scim = app.send_raw(Method::GET, &format!("{base}/Users"), Some(&auth), &[], None).await;
    assert_eq!(scim.status, StatusCode::OK);

    // The tenant page lists it (label escaped, secret absent) with a revoke button.
    let tenant = html(&b.get("/admin/tenants/initech").await);
    assert!(tenant.contains("&lt;script&gt;") && !tenant.contains(label), "label must be escaped");
    assert!(tenant.contains(&user) && !tenant.contains(&pass));
    let revoked = b.post(&format!("/admin/tenants/initech/credentials/{user}/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    let scim = app.send_raw(Method::GET, &format!("{base}/Users"), Some(&auth), &[], None).await;
    assert_eq!(scim.status, StatusCode::UNAUTHORIZED);

    // Delete needs the name typed out.
    assert!(html(&b.get("/admin/tenants/initech/delete").await).contains("Type the tenant"));
    let wrong = b.post("/admin/tenants/initech/delete", &[("csrf", &csrf), ("confirm", "acme")]).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    let deleted = b.post("/admin/tenants/initech/delete", &[("csrf", &csrf), ("confirm", "initech")]).await;
    assert_eq!(deleted.header("location"), Some("/admin"));
    assert_eq!(b.get("/admin/tenants/initech").await.status, StatusCode::NOT_FOUND);

    app.create_user("alice@example.com").await;
    let users = html(&b.get("/admin/tenants/acme/users?q=ali").await);
    assert!(users.contains("alice@example.com") && users.contains("active"), "{users}");
    assert_eq!(b.get("/admin/tenants/acme/users?start=x").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(b.get("/admin/nothing").await.status, StatusCode::NOT_FOUND);

    let session = b.cookies["scimd_admin"].clone();
    let out = b.post("/admin/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.header("location"), Some("/admin/login"));
    assert!(!b.cookies.contains_key("scimd_admin"));
    assert_eq!(b.get("/admin").await.status, StatusCode::SEE_OTHER);
    // The ended session is sent to sign in whatever its form or query holds (it was a 400 or
    // a 303 as the session lookup and the input raced).
    b.cookies.insert("scimd_admin".into(), session);
    for _ in 0..3 {
        let r = b.get("/admin/tenants/acme/users?start=x").await;
        assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, Some("/admin/login")));
        let r = b.post("/admin/tenants", &[("csrf", &csrf)]).await;
        assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, Some("/admin/login")));
    }
    // So is a page no route has: the scope looks the session up before it routes.
    let r = b.get("/admin/nothing").await;
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, Some("/admin/login")));
});

scim_test!(admin_login_is_throttled_per_address, |settings| settings.auth_failure_limit = 3, |app| {
    scimd::admin::accounts::create_admin_user(&app.store, &SystemClock, EMAIL, PASSWORD, false).unwrap();
    let mut b = Browser::new(&app);
    for _ in 0..3 {
        assert_eq!(b.sign_in("wrong password!").await.status, StatusCode::UNAUTHORIZED);
    }
    // Now even the right password waits, and says how long.
    let throttled = b.sign_in(PASSWORD).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    assert!(!b.cookies.contains_key("scimd_admin"));
    // SCIM clients of the tenants are not affected.
    assert_eq!(app.get("/Users").await.status, StatusCode::OK);
});

scim_test!(
    admin_cookies_are_secure_behind_https,
    |settings| settings.public_url = Some("https://scim.example.com".into()),
    |app| {
        scimd::admin::accounts::create_admin_user(&app.store, &SystemClock, EMAIL, PASSWORD, false).unwrap();
        let mut b = Browser::new(&app);
        let signed_in = b.sign_in(PASSWORD).await;
        assert!(set_cookie(&signed_in, "scimd_admin").contains("Secure"));
    }
);

/// A browser signed in with the admin account it creates.
async fn signed_in(app: &TestApp) -> Browser<'_> {
    scimd::admin::accounts::create_admin_user(&app.store, &SystemClock, EMAIL, PASSWORD, false).unwrap();
    let mut b = Browser::new(app);
    assert_eq!(b.sign_in(PASSWORD).await.status, StatusCode::SEE_OTHER);
    b
}

// Base URLs built on a public URL naming every interface reach no scimd: each page that shows
// one (the tenants, a tenant, a credential just issued) says so above it, where the support
// staff who copy it into an IdP will read it; with a reachable public URL, nothing is said.
scim_test!(
    admin_pages_say_when_their_base_urls_reach_no_scimd,
    |settings| settings.public_url = Some("http://0.0.0.0:8080".into()),
    |app| {
        let mut b = signed_in(&app).await;
        let warned = |r: &Response| {
            let page = html(r);
            page.contains("http://0.0.0.0:8080/scim/v2/acme")
                && page.contains("an address no client can reach")
                && page.contains("--public-url")
        };
        let tenants = b.get("/admin").await;
        assert!(warned(&tenants), "{}", html(&tenants));
        let tenant = b.get("/admin/tenants/acme").await;
        assert!(warned(&tenant), "{}", html(&tenant));
        let csrf = hidden(&tenant, "csrf");
        let issued = b.post("/admin/tenants/acme/credentials", &[("csrf", &csrf), ("kind", "bearer")]).await;
        assert_eq!(issued.status, StatusCode::OK);
        assert!(warned(&issued), "{}", html(&issued));
    }
);

scim_test!(admin_pages_say_nothing_of_base_urls_that_reach_scimd, |app| {
    let mut b = signed_in(&app).await;
    for path in ["/admin", "/admin/tenants/acme"] {
        let page = html(&b.get(path).await);
        assert!(page.contains(&app.base) && !page.contains("no client can reach"), "{page}");
    }
});
