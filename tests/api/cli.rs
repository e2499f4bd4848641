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

fn scimd(db: &TestDb, args: &[&str]) -> (bool, String, String) {
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
