//! The request log's pieces: clipped text, clients named by User-Agent, PATCH summaries that
//! name ops and paths within a bound, the admin API's filters, the names whose entries are
//! queued, and the queue's bound on its entries' memory.

use super::*;
use crate::store::LogEntry;

#[test]
fn clipping_keeps_whole_characters() {
    let cases = [("", 3, ""), ("abc", 3, "abc"), ("abcd", 3, "abc"), ("ééé", 3, "ééé"), ("éééé", 3, "ééé")];
    let more = [("aé", 1, "a"), ("日本語テキスト", 2, "日本"), ("abc", 0, "")];
    for (s, max, want) in cases.into_iter().chain(more) {
        assert_eq!(clipped(s, max), want, "{s:?} to {max}");
    }
}

#[test]
fn clients_by_user_agent() {
    for (ua, client) in [
        (Some("Okta SCIM Client 1.0.0"), "Okta"),
        (Some("OKTA SCIM Integration"), "Okta"),
        (Some("Azure Active Directory SCIM Client"), "Entra ID"),
        (Some("Microsoft.AAD.Provisioning"), "Entra ID"),
        (Some("OneLogin SCIM"), "OneLogin"),
        (Some("JumpCloud-SCIM/2.0"), "JumpCloud"),
        (Some("PingFederate/11"), "Ping"),
        (Some("curl/8.5"), "other"),
        (None, "other"),
    ] {
        assert_eq!(client_from_user_agent(ua), client, "{ua:?}");
    }
}

#[test]
fn patch_summaries_name_ops_and_paths_never_values() {
    let body = json!({"Operations": [
        {"op": "Replace", "path": "active", "value": false},
        {"op": "add", "path": "members", "value": [{"value": "a-1"}, {"value": "b-2"}]},
        {"op": "replace", "value": {"password": "hunter2", "name": {"givenName": "X"}}},
        {"op": "remove", "path": "members[value eq \"c-3\"]"}
    ]});
    let s = patch_summary(&body).unwrap();
    assert_eq!(s, "replace active; add members (2); replace (password, name); remove members[value eq \"c-3\"]");
    assert!(!s.contains("hunter2") && !s.contains('X'));
    assert_eq!(patch_member_ids(&body), ["a-1", "b-2"]);
    assert_eq!(patch_summary(&json!({"nope": 1})), None);
}

#[test]
fn filters() {
    let f = parse_filter(Some("4xx"), Some("okta"), Some("abc-1"), None, Some(9999)).unwrap();
    assert_eq!(
        (f.status_class, f.client.as_deref(), f.resource.as_deref(), f.limit),
        (Some(4), Some("Okta"), Some("abc-1"), 500)
    );
    assert_eq!(parse_filter(Some("404"), None, None, None, None).unwrap().status, Some(404));
    for (s, c, r, b) in [
        (Some("4x"), None, None, None),
        (Some("9xx"), None, None, None),
        (Some("99"), None, None, None),
        (None, Some("netscape"), None, None),
        (None, None, Some("a%b"), None),
        (None, None, None, Some("yesterday")),
    ] {
        assert!(parse_filter(s, c, r, b, None).is_err(), "{s:?} {c:?} {r:?} {b:?}");
    }
}

#[test]
fn only_names_a_tenant_could_have_are_queued() {
    let (log, mut queue) = RequestLog::new();
    let entry = |name: &str| LogEntry { tenant_name: name.to_string(), ..LogEntry::default() };
    for name in ["x".repeat(30_000), "ACME".into(), "a_b".into(), String::new()] {
        log.record(entry(&name));
    }
    assert!(queue.try_take().is_none(), "nothing queued for names no tenant can have");
    log.record(entry("acme"));
    assert_eq!(queue.try_take().map(|e| e.tenant_name).as_deref(), Some("acme"));
}

#[test]
fn the_queue_is_bounded_by_its_entries_memory_and_freed_as_they_are_written() {
    // A member PATCH's entry: a summary and 100 member ids, some 6 KB.
    let heavy = || LogEntry {
        tenant_name: "acme".into(),
        patch_summary: Some("add members (100)".into()),
        resource_ids: (0..100).map(|i| format!("{i:08}-0000-4000-8000-000000000000")).collect(),
        ..LogEntry::default()
    };
    let light = || LogEntry { tenant_name: "acme".into(), path: "/scim/v2/acme/Users".into(), ..LogEntry::default() };
    assert!(footprint(&light()) * 4 < footprint(&heavy()), "{} {}", footprint(&light()), footprint(&heavy()));
    // Room for three and a half (an entry gains its id, 25 bytes, when it is recorded).
    let (log, mut queue) = RequestLog::with_budget(footprint(&heavy()) * 7 / 2);
    for _ in 0..5 {
        log.record(heavy());
    }
    let mut taken = Vec::new();
    while let Some(e) = queue.try_take() {
        taken.push(e);
    }
    assert_eq!((taken.len(), log.dropped()), (3, 2), "three fit");
    log.record(heavy());
    assert_eq!(log.dropped(), 3, "taken is not written: no room until the taken entries are released");
    queue.release(&taken);
    for _ in 0..3 {
        log.record(heavy());
    }
    log.record(light());
    let queued = std::iter::from_fn(|| queue.try_take()).count();
    assert_eq!((queued, log.dropped()), (4, 3), "released, the budget takes as many again");
}

#[test]
fn a_patch_of_many_operations_is_summed_up_in_a_bounded_summary() {
    let ops: Vec<Value> = (0..20_000).map(|_| json!({"op": "replace", "path": "title", "value": "t"})).collect();
    let s = patch_summary(&json!({"Operations": ops})).unwrap();
    assert!(s.len() <= 1_000 + 40, "{} bytes", s.len());
    assert!(s.starts_with("replace title; replace title; "), "{s}");
    assert!(s.ends_with("; … (20000 operations in all)"), "{s}");
    // Each operation's part is bounded too: its op, its path and a path-less value's names.
    let long = json!({"Operations": [
        {"op": "x".repeat(10_000), "path": "p".repeat(10_000)},
        {"op": "add", "value": (0..5_000).map(|i| (format!("attribute{i}"), json!(1))).collect::<serde_json::Map<_, _>>()}
    ]});
    let s = patch_summary(&long).unwrap();
    assert!(s.len() < 600, "{} bytes: {s}", s.len());
    assert!(s.starts_with(&format!("{} {}", "x".repeat(20), "p".repeat(200))), "{s}");
    assert!(s.contains("; add (attribute0, attribute1, "), "{s}");
    // A short PATCH is named whole, as before.
    let two =
        json!({"Operations": [{"op": "replace", "path": "active", "value": false}, {"op": "remove", "path": "title"}]});
    assert_eq!(patch_summary(&two).unwrap(), "replace active; remove title");
}
