//! Credentials: Basic and bearer, rotation, revocation and expiry taking effect, cross-tenant
//! refusal, and the CLI that issues them.

use crate::helpers::TestApp;
use crate::scim_test;
use awc::http::{Method, StatusCode};
use base64::Engine;
use scimd::clock::SystemClock;
use scimd::credentials::{self, Kind};

fn basic(user: &str, pass: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}")))
}

async fn status(app: &TestApp, base: &str, auth: &str) -> StatusCode {
    app.send_raw(Method::GET, &format!("{base}/Users?startIndex=1&count=2"), Some(auth), &[], None).await.status
}

scim_test!(basic_and_bearer_credentials_rotate_revoke_and_expire, |app| {
    let b = credentials::issue(&app.store, &SystemClock, "acme", Kind::Basic, Some("okta"), None).unwrap();
    let (user, pass) = (b.username.clone().unwrap(), b.password.clone().unwrap());
    assert!(user.starts_with("scim-") && pass.len() == 32);
    assert_eq!(status(&app, &app.base, &basic(&user, &pass)).await, StatusCode::OK);
    let wrong = app.send_raw(Method::GET, &format!("{}/Users", app.base), Some(&basic(&user, "nope")), &[], None).await;
    wrong.assert_error(401, None);
    assert!(wrong.header("www-authenticate").unwrap().contains("Basic"));
    // Another tenant's credential on this URL, and this one on the other's: 401.
    let (other_base, other_token) = app.tenant("globex");
    assert_eq!(status(&app, &other_base, &basic(&user, &pass)).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(&app, &app.base, &format!("Bearer {other_token}")).await, StatusCode::UNAUTHORIZED);
    // Rotation: a new bearer works beside the old one, then the old one is revoked.
    let new = credentials::issue(&app.store, &SystemClock, "acme", Kind::Bearer, Some("rotated"), None).unwrap();
    let new_auth = format!("Bearer {}", new.token.unwrap());
    let old_auth = format!("Bearer {}", app.token);
    assert_eq!(status(&app, &app.base, &new_auth).await, StatusCode::OK);
    assert_eq!(status(&app, &app.base, &old_auth).await, StatusCode::OK);
    let old_id = &app.token["scimd_".len().."scimd_".len() + 16];
    credentials::revoke(&app.store, &SystemClock, "acme", old_id).unwrap();
    credentials::revoke(&app.store, &SystemClock, "acme", &user).unwrap();
    assert!(credentials::revoke(&app.store, &SystemClock, "acme", &user).is_err(), "already revoked");
    // Expiry: one that lives a second.
    let short =
        credentials::issue(&app.store, &SystemClock, "acme", Kind::Bearer, None, Some(chrono::TimeDelta::seconds(1)))
            .unwrap();
    let short_auth = format!("Bearer {}", short.token.unwrap());
    assert_eq!(status(&app, &app.base, &short_auth).await, StatusCode::OK);
    // Within the recheck interval (1 s in tests) revocation and expiry take effect.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(status(&app, &app.base, &old_auth).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(&app, &app.base, &basic(&user, &pass)).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(&app, &app.base, &short_auth).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(&app, &app.base, &new_auth).await, StatusCode::OK);
    let listed = credentials::list(&app.store, "acme").unwrap();
    let revoked: Vec<bool> = listed.iter().map(|c| c.revoked).collect();
    assert_eq!(revoked, [true, true, false, false]);
    assert_eq!(listed[1].kind, "basic");
    assert!(credentials::issue(&app.store, &SystemClock, "nosuch", Kind::Basic, None, None).is_err());
});

#[actix_web::test]
async fn credential_cli_issues_lists_and_revokes_sqlite() {
    credential_cli(crate::helpers::Backend::Sqlite).await;
}

#[actix_web::test]
async fn credential_cli_issues_lists_and_revokes_postgres() {
    credential_cli(crate::helpers::Backend::Postgres).await;
}

async fn credential_cli(backend: crate::helpers::Backend) {
    let Some(db) = crate::helpers::TestDb::create(backend) else { return };
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimd"))
            .args(args)
            .env("SCIMD_DATABASE_URL", db.url())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert!(run(&["tenant", "create", "acme"]).0);
    let (ok, out, err) =
        run(&["credential", "issue", "acme", "--kind", "basic", "--label", "okta", "--expires-in", "90d", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["username"].as_str().unwrap().starts_with("scim-") && v["password"].as_str().unwrap().len() == 32);
    assert_eq!(v["base_url"], "http://127.0.0.1:8080/scim/v2/acme");
    assert!(v["expires_at"].is_string() && v.get("token").is_none());
    let (ok, out, _) = run(&["credential", "issue", "acme", "--json"]);
    let t: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(ok && t["token"].as_str().unwrap().starts_with("scimd_") && t["kind"] == "bearer");
    let (_, out, _) = run(&["credential", "list", "acme", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert!(!out.contains(v["password"].as_str().unwrap()), "secrets are never listed");
    let (ok, _, _) = run(&["credential", "revoke", "acme", v["id"].as_str().unwrap()]);
    assert!(ok);
    let (ok, _, err) = run(&["credential", "revoke", "acme", "nope"]);
    assert!(!ok && err.contains("no unrevoked credential"), "{err}");
    let (ok, _, err) = run(&["credential", "issue", "acme", "--expires-in", "soon"]);
    assert!(!ok && err.contains("duration"), "{err}");
}

// The cache is what keeps argon2 off the request path: once verified, a credential is served
// from memory even after its stored hash changes, until the recheck reads the row again.
scim_test!(
    a_verified_credential_is_served_from_the_cache_until_its_recheck,
    |settings| settings.credential_recheck = std::time::Duration::from_secs(3),
    |app| {
        let issued = credentials::issue(&app.store, &SystemClock, "acme", Kind::Bearer, Some("cached"), None).unwrap();
        let auth = format!("Bearer {}", issued.token.unwrap());
        assert_eq!(status(&app, &app.base, &auth).await, StatusCode::OK);
        let other = scimd::auth::secrets::hash_secret("some other secret").unwrap();
        app.db.execute(&format!("UPDATE credentials SET secret_hash = '{other}' WHERE id = '{}'", issued.id));
        for _ in 0..20 {
            assert_eq!(status(&app, &app.base, &auth).await, StatusCode::OK, "served from the cache, not re-verified");
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(3100)).await;
        assert_eq!(status(&app, &app.base, &auth).await, StatusCode::UNAUTHORIZED, "the recheck saw the row change");
    }
);
