//! `scimd webhook …` against a running server's database: add prints {"id", "secret"} once,
//! the running server delivers to it, and list/show/retry/replay/remove work; bad input fails.

use crate::cli::scimd;
use crate::helpers::TestApp;
use crate::scim_test;
use crate::webhook_receiver::Receiver;
use serde_json::Value;

fn run_json(app: &TestApp, args: &[&str]) -> Value {
    let (ok, out, err) = scimd(&app.db, args);
    assert!(ok, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

scim_test!(webhook_commands_register_inspect_and_remove_endpoints, |app| {
    let receiver = Receiver::start().await;
    let added =
        run_json(&app, &["webhook", "add", "--tenant", "acme", "--url", &receiver.url, "--events", "user.*", "--json"]);
    let id = added["id"].as_str().unwrap().to_string();
    let secret = added["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(added["events"], serde_json::json!(["user.*"]));

    // The running server picks the endpoint up (by polling: the CLI is another process).
    app.create_user("gus@example.com").await;
    receiver.wait_for("the user event", |r| r.delivered().len() == 1).await;
    assert_eq!(receiver.delivered()[0]["type"], "user.created");

    let listed = run_json(&app, &["webhook", "list", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains(&secret), "listings never show the secret");
    let shown = run_json(&app, &["webhook", "show", &id, "--json"]);
    assert_eq!(shown["deliveries"][0]["tenant"], "acme");
    assert!(!shown.to_string().contains(&secret));

    let (ok, out, err) = scimd(&app.db, &["webhook", "replay", &id, "--tenant", "acme", "--from-seq", "1"]);
    assert!(ok && out.contains("from seq 1"), "{out} {err}");
    receiver.wait_for("the replay", |r| r.received().len() >= 2).await;
    let (ok, out, err) = scimd(&app.db, &["webhook", "retry", &id]);
    assert!(ok && out.contains("1 delivery stream"), "{out} {err}");

    let all = run_json(&app, &["webhook", "add", "--all-tenants", "--url", "https://hooks.example.com/x", "--json"]);
    assert_eq!(all["allTenants"], true);
    for bad in [
        vec!["webhook", "add", "--url", "https://x.example.com/"],
        vec!["webhook", "add", "--tenant", "acme", "--all-tenants", "--url", "https://x.example.com/"],
        vec!["webhook", "add", "--tenant", "acme", "--url", "gopher://x"],
        vec!["webhook", "add", "--tenant", "nope", "--url", "https://x.example.com/"],
        vec!["webhook", "add", "--tenant", "acme", "--url", "https://x.example.com/", "--events", "user.nope"],
        vec!["webhook", "replay", &id, "--tenant", "acme", "--from-seq", "0"],
        vec!["webhook", "remove", "nope"],
    ] {
        let (ok, _, err) = scimd(&app.db, &bad);
        assert!(!ok && !err.is_empty(), "{bad:?} should fail");
    }
    let (ok, _, err) = scimd(&app.db, &["webhook", "remove", &id]);
    assert!(ok, "{err}");
    assert_eq!(run_json(&app, &["webhook", "list", "--tenant", "acme", "--json"]).as_array().unwrap().len(), 1);
});
