//! The admin page in a real browser: headless Chromium, driven through chromedriver, signs in,
//! creates a tenant, issues a Basic credential, reads the values off the page and uses them
//! against /Users, then revokes it and the SCIM call gets 401. The credential page is saved as
//! target/screenshots/admin-credential-page.png.
//!
//! Needs `chromium` and `chromium-driver` (Debian; `.ci/run` installs them). Without
//! chromedriver on PATH the test says so and passes, unless SCIMD_REQUIRE_BROWSER=1 (CI).

use crate::helpers::TestApp;
use crate::scim_test;
use awc::http::{Method, StatusCode};
use fantoccini::{Client, ClientBuilder, Locator};
use scimd::clock::SystemClock;
use serde_json::json;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const EMAIL: &str = "support@example.com";
const PASSWORD: &str = "a long admin password";

/// chromedriver on a free port, killed when dropped.
struct ChromeDriver {
    child: Child,
    url: String,
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|p| p.is_file())
}

async fn start_chromedriver() -> Option<ChromeDriver> {
    let Some(binary) = find_on_path("chromedriver") else {
        assert!(
            std::env::var("SCIMD_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "SCIMD_REQUIRE_BROWSER=1 but chromedriver is not on PATH (apt install chromium chromium-driver)"
        );
        eprintln!("skipped: chromedriver is not on PATH (apt install chromium chromium-driver)");
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = ChromeDriver { child, url: format!("http://127.0.0.1:{port}") };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(driver);
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not listen on port {port}");
}

async fn browser(driver: &ChromeDriver) -> Client {
    let mut chrome = json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1100"]});
    if let Some(chromium) = find_on_path("chromium") {
        chrome["binary"] = json!(chromium);
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), chrome);
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

async fn click_button(c: &Client, text: &str) {
    c.find(Locator::XPath(&format!("//button[normalize-space()='{text}']"))).await.unwrap().click().await.unwrap();
}

/// Clicks and navigations return before the next page has loaded: wait for an element of it.
async fn wait_for(c: &Client, locator: Locator<'_>) -> fantoccini::elements::Element {
    c.wait().at_most(Duration::from_secs(20)).for_element(locator).await.unwrap()
}

async fn value_of(c: &Client, id: &str) -> String {
    c.find(Locator::Id(id)).await.unwrap().prop("value").await.unwrap().unwrap_or_default()
}

async fn scim_status(app: &TestApp, base: &str, user: &str, pass: &str) -> StatusCode {
    let auth = format!(
        "Basic {}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("{user}:{pass}"))
    );
    app.send_raw(Method::GET, &format!("{base}/Users?startIndex=1&count=2"), Some(&auth), &[], None).await.status
}

async fn walk_through(app: &TestApp, c: &Client) {
    c.goto(&format!("{}/admin", app.local)).await.unwrap();
    wait_for(c, Locator::Id("email")).await.send_keys(EMAIL).await.unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/admin/login"), "sent to sign in first");
    c.find(Locator::Id("password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    click_button(c, "Sign in").await;
    wait_for(c, Locator::Id("name")).await.send_keys("globex").await.unwrap();
    click_button(c, "Create tenant").await;
    wait_for(c, Locator::Css("select#kind option[value='basic']")).await.click().await.unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/admin/tenants/globex"));
    c.find(Locator::Id("label")).await.unwrap().send_keys("Okta production").await.unwrap();
    click_button(c, "Issue credential").await;

    wait_for(c, Locator::Id("password")).await;
    let (base, user, pass) =
        (value_of(c, "base_url").await, value_of(c, "username").await, value_of(c, "password").await);
    assert_eq!(base, format!("{}/scim/v2/globex", app.root));
    assert!(user.starts_with("scim-") && pass.len() == 32, "{user} {pass}");
    let png = c.screenshot().await.unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("admin-credential-page.png"), png).unwrap();
    assert_eq!(scim_status(app, &base, &user, &pass).await, StatusCode::OK, "the values on the page work");

    c.find(Locator::LinkText("Done: back to tenant globex")).await.unwrap().click().await.unwrap();
    wait_for(c, Locator::XPath("//td[normalize-space()='Okta production']")).await;
    click_button(c, "Revoke").await;
    wait_for(c, Locator::XPath("//span[normalize-space()='revoked']")).await;
    assert_eq!(scim_status(app, &base, &user, &pass).await, StatusCode::UNAUTHORIZED, "revoked at once");
}

scim_test!(admin_page_in_a_real_browser, |app| {
    let Some(driver) = start_chromedriver().await else { return };
    scimd::admin::accounts::create_admin_user(&app.store, &SystemClock, EMAIL, PASSWORD, false).unwrap();
    let c = browser(&driver).await;
    let walked = actix_web::rt::time::timeout(Duration::from_secs(90), walk_through(&app, &c)).await;
    let _ = c.close().await;
    walked.expect("the browser walk-through finishes within 90 s");
});
