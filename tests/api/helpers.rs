//! The test kit: a real scimd on port 0 with a fresh database per test (a SQLite file in a
//! temporary directory, or a new schema in the PostgreSQL database named by
//! `SCIMD_TEST_POSTGRES_URL`), a tenant `acme` with a bearer token, and a small HTTP client.

use awc::http::{header::HeaderMap, Method, StatusCode};
use scimd::clock::SystemClock;
use scimd::config::Settings;
use scimd::startup::Application;
use scimd::store::Store;
use serde_json::{json, Value};
use std::sync::Arc;

pub use crate::test_db::TestDb;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs one async test body on SQLite and, when configured, on PostgreSQL; optionally with
/// settings changed first (`scim_test!(name, |settings| …, |app| { … })`).
#[macro_export]
macro_rules! scim_test {
    ($name:ident, |$settings:ident| $configure:expr, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[actix_web::test]
            async fn sqlite() {
                let $app =
                    $crate::helpers::TestApp::spawn_with($crate::helpers::Backend::Sqlite, |$settings| $configure)
                        .await
                        .unwrap();
                $body
            }
            #[actix_web::test]
            async fn postgres() {
                let Some($app) =
                    $crate::helpers::TestApp::spawn_with($crate::helpers::Backend::Postgres, |$settings| $configure)
                        .await
                else {
                    eprintln!("skipped: SCIMD_TEST_POSTGRES_URL is not set");
                    return;
                };
                $body
            }
        }
    };
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[actix_web::test]
            async fn sqlite() {
                let $app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await.unwrap();
                $body
            }
            #[actix_web::test]
            async fn postgres() {
                let Some($app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await else {
                    eprintln!("skipped: SCIMD_TEST_POSTGRES_URL is not set");
                    return;
                };
                $body
            }
        }
    };
}

/// Another running scimd (see `TestApp::another_instance`).
pub struct Instance {
    /// Its public URL.
    pub root: String,
    handle: scimd::startup::AppHandle,
    running: actix_web::rt::task::JoinHandle<std::io::Result<()>>,
}

impl Instance {
    pub async fn stop(self) {
        self.handle.stop().await;
        self.running.await.expect("scimd task").expect("scimd ran");
    }
}

/// Starts scimd: (public URL, local URL, its handle, the task running it).
fn start(
    settings: &Settings,
) -> (String, String, scimd::startup::AppHandle, actix_web::rt::task::JoinHandle<std::io::Result<()>>) {
    let app = Application::build(settings, Arc::new(SystemClock)).expect("scimd starts");
    let root = app.public_url().to_string();
    let local = format!("http://{}", app.addr());
    let handle = app.handle();
    (root, local, handle, actix_web::rt::spawn(app.run()))
}

pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a SCIM error with `status` (and `scim_type` if given).
    #[track_caller]
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert!(self.header("content-type").unwrap_or("").starts_with("application/scim+json"), "{:?}", self.headers);
        assert_eq!(self.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]), "{}", self.body);
        assert_eq!(self.body["status"], json!(status.to_string()), "{}", self.body);
        assert!(self.body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{}", self.body);
        if let Some(t) = scim_type {
            assert_eq!(self.body["scimType"], json!(t), "{}", self.body);
        }
    }
}

pub struct TestApp {
    pub db: TestDb,
    /// The public URL (what Base URLs are built from).
    pub root: String,
    /// Where the server really listens (differs from `root` when a test sets a public URL).
    pub local: String,
    /// Base URL of tenant `acme`.
    pub base: String,
    pub token: String,
    pub store: Store,
    client: awc::Client,
    settings: Settings,
    handle: scimd::startup::AppHandle,
    running: actix_web::rt::task::JoinHandle<std::io::Result<()>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> Option<TestApp> {
        let db = TestDb::create(backend)?;
        let mut settings = Settings::new(db.url());
        settings.bind = "127.0.0.1:0".into();
        settings.workers = Some(2);
        settings.pool_size = 4;
        settings.credential_recheck = std::time::Duration::from_secs(1);
        // Small pages, so streaming a group's members crosses page boundaries in tests.
        settings.member_page_size = 10;
        // Webhook retries and polling on a test's time scale.
        settings.webhooks.poll_interval = std::time::Duration::from_millis(100);
        settings.webhooks.retry_base = std::time::Duration::from_millis(50);
        settings.webhooks.retry_cap = std::time::Duration::from_millis(500);
        configure(&mut settings);
        let (root, local, handle, running) = start(&settings);
        let store = Store::open(db.url(), 2).expect("store opens");
        let created = scimd::tenancy::create_tenant(&store, &SystemClock, "acme", None).expect("tenant");
        // No limit on pooled connections (awc's default is 100): some tests send 150 requests
        // at once, and those past the limit wait for a slot, a suspect (not reproduced) in a
        // rare "no response" of `a_page_and_its_total_come_from_one_snapshot…` in full runs.
        let connector = awc::Connector::new().limit(0);
        let client = awc::Client::builder()
            .connector(connector)
            .timeout(std::time::Duration::from_secs(60))
            .disable_redirects()
            .finish();
        Some(TestApp {
            base: scimd::tenancy::base_url(&root, "acme"),
            root,
            local,
            token: created.bearer_token,
            store,
            db,
            client,
            settings,
            handle,
            running,
        })
    }

    /// Stops scimd (in-flight requests and webhook deliveries finish, queued request log
    /// entries are written) and starts it again on the same database, on a new port.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.start_again();
    }

    /// Starts scimd again on the same database, on a new port, after `stop`.
    pub fn start_again(&mut self) {
        let (root, local, handle, running) = start(&self.settings);
        self.base = scimd::tenancy::base_url(&root, "acme");
        (self.root, self.local, self.handle, self.running) = (root, local, handle, running);
    }

    /// A second scimd on the same database (another replica).
    pub fn another_instance(&self) -> Instance {
        let (root, _, handle, running) = start(&self.settings);
        Instance { root, handle, running }
    }

    /// Stops scimd and waits until its background tasks have finished.
    pub async fn stop(&mut self) {
        self.handle.stop().await;
        (&mut self.running).await.expect("scimd task").expect("scimd ran");
    }

    /// A second tenant: (base URL, token).
    pub fn tenant(&self, name: &str) -> (String, String) {
        let created = scimd::tenancy::create_tenant(&self.store, &SystemClock, name, None).expect("tenant");
        (scimd::tenancy::base_url(&self.root, name), created.bearer_token)
    }

    /// POSTs `body` to `path` under another tenant's Base URL with its token (`tenant`'s pair).
    pub async fn post_to_tenant(&self, (base, token): &(String, String), path: &str, body: Value) -> Response {
        let headers = [("Content-Type", "application/scim+json")];
        let auth = format!("Bearer {token}");
        let body = Some(body.to_string().into_bytes());
        self.send_raw(Method::POST, &format!("{base}{path}"), Some(&auth), &headers, body).await
    }

    /// Sends a request with a raw body and any headers; `auth` None sends no Authorization.
    pub async fn send_raw(
        &self,
        method: Method,
        url: &str,
        auth: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Response {
        let mut req = self.client.request(method.clone(), url);
        if let Some(a) = auth {
            req = req.insert_header(("Authorization", a.to_string()));
        }
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        let mut res = match body {
            Some(b) => req.send_body(b).await,
            None => req.send().await,
        }
        .unwrap_or_else(|e| panic!("{method} {url}: no response: {e}"));
        let raw = res.body().limit(64 * 1024 * 1024).await.expect("body read").to_vec();
        let body = if raw.is_empty() { Value::Null } else { serde_json::from_slice(&raw).unwrap_or(Value::Null) };
        Response { status: res.status(), headers: res.headers().clone(), body, raw }
    }

    /// A request to `path` under acme's Base URL with acme's token.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let url = format!("{}{path}", self.base);
        let auth = format!("Bearer {}", self.token);
        let headers: &[(&str, &str)] = if body.is_some() { &[("Content-Type", "application/scim+json")] } else { &[] };
        self.send_raw(method, &url, Some(&auth), headers, body.map(|b| b.to_string().into_bytes())).await
    }

    /// A GET under acme's Base URL on a connection of its own, as the bytes that arrive
    /// until scimd closes it: where a body sent in chunks ends, which awc does not tell (it
    /// takes a body cut short for a whole one).
    pub async fn get_on_the_wire(&self, path: &str) -> String {
        use std::io::{Read, Write};
        let addr = self.local.trim_start_matches("http://").to_string();
        let base_path = self.base.strip_prefix(&self.root).expect("the Base URL is under the root");
        let request = format!(
            "GET {base_path}{path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            self.token
        );
        let read = actix_web::rt::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(addr)?;
            stream.write_all(request.as_bytes())?;
            let mut out = Vec::new();
            stream.read_to_end(&mut out).map(|_| out)
        });
        String::from_utf8_lossy(&read.await.expect("the reading thread").expect("the answer")).into_owned()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.call(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.call(Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Response {
        self.call(Method::PUT, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Response {
        self.call(Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Response {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates a user the way Okta does and returns the response body.
    pub async fn create_user(&self, user_name: &str) -> Value {
        let r = self.post("/Users", okta_user(user_name)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body
    }
}

/// Okta's create-user body (Okta SCIM 2.0 reference).
pub fn okta_user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": format!("ext-{user_name}"),
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

pub fn patch_op(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

/// Enough percent-encoding for the filters the tests write into a query string.
pub fn q(filter: &str) -> String {
    filter.replace('%', "%25").replace(' ', "%20").replace('"', "%22").replace('&', "%26").replace('+', "%2B")
}

/// The query string of GET that asks what the SearchRequest `search` asks (RFC 7644 §3.4.3).
pub fn query_of(search: &Value) -> String {
    let parameters: Vec<String> = search
        .as_object()
        .unwrap()
        .iter()
        .filter(|(key, _)| *key != "schemas")
        .map(|(key, value)| match value {
            Value::String(s) => format!("{key}={}", q(s)),
            Value::Array(items) => {
                format!("{key}={}", items.iter().map(|i| i.as_str().unwrap()).collect::<Vec<_>>().join(","))
            }
            other => format!("{key}={other}"),
        })
        .collect();
    format!("?{}", parameters.join("&"))
}
