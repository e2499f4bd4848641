//! The request log's pieces: clipped text, clients named by User-Agent, PATCH summaries that
//! name ops and paths, the admin API's filters, and the names whose entries are queued.

use super::*;

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
    assert!(queue.try_recv().is_err(), "nothing queued for names no tenant can have");
    log.record(entry("acme"));
    assert_eq!(queue.try_recv().map(|e| e.tenant_name).ok().as_deref(), Some("acme"));
}
