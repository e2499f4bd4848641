//! The command line a newcomer uses: `tenant create|list|delete` against the same database
//! the server uses.

use crate::helpers::{Backend, TestDb};
use awc::http::StatusCode;
use scimd::clock::SystemClock;
use scimd::config::Settings;
use scimd::startup::Application;
use serde_json::Value;
use std::process::Command;
use std::sync::Arc;

pub fn scimd(db: &TestDb, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scimd"))
        .args(args)
        .env("SCIMD_DATABASE_URL", db.url())
        .env("SCIMD_PUBLIC_URL", "https://scim.example.com/")
        .env("RUST_LOG", "warn")
        .output()
        .expect("scimd runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn cli_flow(backend: Backend) {
    let Some(db) = TestDb::create(backend) else { return };
    let (ok, out, err) = scimd(&db, &["tenant", "create", "acme", "--json"]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 1, "exactly one JSON object: {out}");
    let created: Value = serde_json::from_str(&out).unwrap();
    let keys: Vec<&String> = created.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["tenant", "base_url", "bearer_token"]);
    assert_eq!(created["base_url"], "https://scim.example.com/scim/v2/acme");
    let token = created["bearer_token"].as_str().unwrap();

    let (ok, _, err) = scimd(&db, &["tenant", "create", "acme"]);
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = scimd(&db, &["tenant", "create", "Bad_Name"]);
    assert!(!ok && err.contains("tenant name"), "{err}");
    let (ok, out, err) = scimd(&db, &["tenant", "create", "globex"]);
    assert!(ok && out.contains("Bearer token: scimd_") && out.contains("/scim/v2/globex"), "{out} {err}");

    let (ok, out, _) = scimd(&db, &["tenant", "list", "--json"]);
    assert!(ok);
    let list: Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|t| t["tenant"].as_str().unwrap()).collect();
    assert_eq!(names, ["acme", "globex"]);

    // The printed token works against a server on the same database.
    let mut settings = Settings::new(db.url());
    settings.bind = "127.0.0.1:0".into();
    settings.workers = Some(1);
    let app = Application::build(&settings, Arc::new(SystemClock)).unwrap();
    let base = scimd::tenancy::base_url(app.public_url(), "acme");
    actix_web::rt::spawn(app.run());
    let client = awc::Client::default();
    let status = |auth: String| {
        let req = client.get(format!("{base}/Users")).insert_header(("Authorization", auth));
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(status(format!("Bearer {token}")).await, StatusCode::OK);

    let (ok, out, err) = scimd(&db, &["tenant", "delete", "acme"]);
    assert!(ok, "{err}");
    assert!(out.contains("deleted"));
    let (ok, _, err) = scimd(&db, &["tenant", "delete", "acme"]);
    assert!(!ok && err.contains("no tenant"), "{err}");
    let (_, out, _) = scimd(&db, &["tenant", "list"]);
    assert!(!out.contains("acme") && out.contains("globex"), "{out}");
}

#[actix_web::test]
async fn cli_tenant_lifecycle_sqlite() {
    cli_flow(Backend::Sqlite).await;
}

#[actix_web::test]
async fn cli_tenant_lifecycle_postgres() {
    cli_flow(Backend::Postgres).await;
}

fn scimd_with_stdin(db: &TestDb, args: &[&str], stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimd"))
        .args(args)
        .env("SCIMD_DATABASE_URL", db.url())
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("scimd runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `tenant show|disable|enable`, `admin create-user` and `admin api-token issue|list|revoke`.
async fn cli_admin_flow(backend: Backend) {
    let Some(db) = TestDb::create(backend) else { return };
    let (ok, out, err) = scimd(&db, &["tenant", "create", "acme", "--json"]);
    assert!(ok, "{err}");
    let token = serde_json::from_str::<Value>(&out).unwrap()["bearer_token"].as_str().unwrap().to_string();
    let (ok, out, err) = scimd(&db, &["tenant", "show", "acme", "--json"]);
    assert!(ok, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((shown["users"].clone(), shown["disabled"].clone()), (serde_json::json!(0), serde_json::json!(false)));
    assert_eq!(shown["credentials"].as_array().unwrap().len(), 1);
    assert!(shown.to_string().find("argon2").is_none());
    let (ok, out, _) = scimd(&db, &["tenant", "show", "acme"]);
    assert!(ok && out.contains("base_url:") && out.contains("https://scim.example.com/scim/v2/acme"), "{out}");
    assert!(!scimd(&db, &["tenant", "show", "nosuch"]).0);

    // A first admin, password from stdin; too short is refused, a duplicate too.
    let (ok, _, err) = scimd_with_stdin(&db, &["admin", "create-user", "ops@example.com"], "short\n");
    assert!(!ok && err.contains("at least"), "{err}");
    let (ok, out, err) = scimd_with_stdin(&db, &["admin", "create-user", "Ops@Example.com"], "a good long password\n");
    assert!(ok && out.contains("/admin"), "{out} {err}");
    let (ok, _, err) = scimd_with_stdin(&db, &["admin", "create-user", "ops@example.com"], "a good long password\n");
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = scimd_with_stdin(
        &db,
        &["admin", "create-user", "ops@example.com", "--reset-password"],
        "another long password\n",
    );
    assert!(ok, "{err}");

    let (ok, out, err) = scimd(&db, &["admin", "api-token", "issue", "--label", "ci", "--json"]);
    assert!(ok, "{err}");
    let issued: Value = serde_json::from_str(&out).unwrap();
    let admin_token = issued["token"].as_str().unwrap().to_string();
    assert!(admin_token.starts_with("scimdadm_"));

    let mut settings = Settings::new(db.url());
    settings.bind = "127.0.0.1:0".into();
    settings.workers = Some(1);
    settings.credential_recheck = std::time::Duration::from_millis(500);
    let app = Application::build(&settings, Arc::new(SystemClock)).unwrap();
    let root = app.public_url().to_string();
    let base = scimd::tenancy::base_url(&root, "acme");
    actix_web::rt::spawn(app.run());
    let client = awc::Client::default();
    let status = |url: String, auth: String| {
        let req = client.get(url).insert_header(("Authorization", auth));
        async move { req.send().await.unwrap().status() }
    };
    let tenants_url = format!("{root}/admin/api/tenants");
    assert_eq!(status(tenants_url.clone(), format!("Bearer {admin_token}")).await, StatusCode::OK);
    assert_eq!(status(format!("{base}/Users"), format!("Bearer {token}")).await, StatusCode::OK);

    // Disabling from the CLI reaches the running server within the recheck interval.
    assert!(scimd(&db, &["tenant", "disable", "acme"]).0);
    actix_web::rt::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(status(format!("{base}/Users"), format!("Bearer {token}")).await, StatusCode::UNAUTHORIZED);
    assert!(scimd(&db, &["tenant", "enable", "acme"]).0);
    assert_eq!(status(format!("{base}/Users"), format!("Bearer {token}")).await, StatusCode::OK);

    let (ok, out, _) = scimd(&db, &["admin", "api-token", "list", "--json"]);
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert!(ok && listed[0]["label"] == "ci" && listed[0]["last_used_at"].is_string(), "{listed}");
    assert!(scimd(&db, &["admin", "api-token", "revoke", issued["id"].as_str().unwrap()]).0);
    actix_web::rt::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(status(tenants_url, format!("Bearer {admin_token}")).await, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn cli_admin_commands_sqlite() {
    cli_admin_flow(Backend::Sqlite).await;
}

#[actix_web::test]
async fn cli_admin_commands_postgres() {
    cli_admin_flow(Backend::Postgres).await;
}
