//! The events a change emits, built inside the change's transaction from the documents before
//! and after it, and appended to the outbox there (so a failed request emits nothing).
//!
//! Member changes are batched: one `group.member_added` / `group.member_removed` per PATCH
//! operation (or per POST/PUT) listing the members it really added or removed.
//! Secrets never enter an event: passwords live outside the documents compared here, and a
//! password change is reported only by name.

use crate::store::{MemberRef, NewEvent};
use serde_json::{json, Map, Value};

/// Every event type scimd emits (webhook endpoints filter on these).
pub const EVENT_TYPES: &[&str] = &[
    "user.created",
    "user.updated",
    "user.deactivated",
    "user.reactivated",
    "user.deleted",
    "group.created",
    "group.updated",
    "group.deleted",
    "group.member_added",
    "group.member_removed",
    "tenant.created",
    "tenant.disabled",
    "tenant.enabled",
    "tenant.deleted",
    "credential.issued",
    "credential.revoked",
];

fn event(event_type: &'static str, resource_type: &'static str, id: &str, data: Value) -> NewEvent {
    NewEvent {
        event_type,
        resource_type: Some(resource_type),
        resource_id: Some(id.to_string()),
        data: data.to_string(),
    }
}

/// The attribute names whose values differ, with their values before and after (null when
/// absent on that side).
fn diff(
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> (Vec<String>, Map<String, Value>, Map<String, Value>) {
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    let (mut changed, mut was, mut is) = (Vec::new(), Map::new(), Map::new());
    for name in names {
        let (b, a) = (before.get(name), after.get(name));
        if b != a {
            changed.push(name.clone());
            was.insert(name.clone(), b.cloned().unwrap_or(Value::Null));
            is.insert(name.clone(), a.cloned().unwrap_or(Value::Null));
        }
    }
    (changed, was, is)
}

/// An absent `active` counts as active (RFC 7643 leaves it to the provider; scimd defaults it).
fn is_active(attrs: &Map<String, Value>) -> bool {
    attrs.get("active").and_then(Value::as_bool).unwrap_or(true)
}

pub fn user_created(id: &str, attrs: &Map<String, Value>) -> NewEvent {
    event("user.created", "User", id, json!({"id": id, "attributes": attrs}))
}

/// `user.updated` (if anything changed) and `user.deactivated` / `user.reactivated` when
/// `active` flipped.
pub fn user_changed(
    id: &str,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    password_changed: bool,
) -> Vec<NewEvent> {
    let (mut changed, was, is) = diff(before, after);
    if password_changed {
        changed.push("password".into());
    }
    let mut out = Vec::new();
    if !changed.is_empty() {
        out.push(event("user.updated", "User", id, json!({"id": id, "changed": changed, "before": was, "after": is})));
    }
    let user_name = after.get("userName").cloned().unwrap_or(Value::Null);
    match (is_active(before), is_active(after)) {
        (true, false) => out.push(event("user.deactivated", "User", id, json!({"id": id, "userName": user_name}))),
        (false, true) => out.push(event("user.reactivated", "User", id, json!({"id": id, "userName": user_name}))),
        _ => {}
    }
    out
}

pub fn user_deleted(id: &str, attrs: &Map<String, Value>) -> NewEvent {
    event("user.deleted", "User", id, json!({"id": id, "userName": attrs.get("userName")}))
}

pub fn group_created(id: &str, attrs: &Map<String, Value>) -> NewEvent {
    event("group.created", "Group", id, json!({"id": id, "attributes": attrs}))
}

pub fn group_updated(id: &str, before: &Map<String, Value>, after: &Map<String, Value>) -> Option<NewEvent> {
    let (changed, was, is) = diff(before, after);
    (!changed.is_empty())
        .then(|| event("group.updated", "Group", id, json!({"id": id, "changed": changed, "before": was, "after": is})))
}

pub fn group_deleted(id: &str, attrs: &Map<String, Value>) -> NewEvent {
    event("group.deleted", "Group", id, json!({"id": id, "displayName": attrs.get("displayName")}))
}

fn members_event(event_type: &'static str, group_id: &str, members: &[MemberRef]) -> Option<NewEvent> {
    let list: Vec<Value> = members.iter().map(|m| json!({"value": m.id, "type": m.kind.as_str()})).collect();
    (!list.is_empty()).then(|| event(event_type, "Group", group_id, json!({"group": group_id, "members": list})))
}

pub fn members_added(group_id: &str, members: &[MemberRef]) -> Option<NewEvent> {
    members_event("group.member_added", group_id, members)
}

pub fn members_removed(group_id: &str, members: &[MemberRef]) -> Option<NewEvent> {
    members_event("group.member_removed", group_id, members)
}

/// Administrative changes: tenant and credential lifecycle (never a secret).
pub fn admin_event(event_type: &'static str, resource_type: &'static str, id: &str, data: Value) -> NewEvent {
    event(event_type, resource_type, id, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn updates_name_what_changed_and_flag_deactivation() {
        let before = attrs(json!({"userName": "a", "title": "x", "active": true}));
        let after = attrs(json!({"userName": "a", "nickName": "n", "active": false}));
        let events = user_changed("u1", &before, &after, true);
        let types: Vec<&str> = events.iter().map(|e| e.event_type).collect();
        assert_eq!(types, ["user.updated", "user.deactivated"]);
        let data: Value = serde_json::from_str(&events[0].data).unwrap();
        assert_eq!(data["changed"], json!(["active", "nickName", "title", "password"]));
        assert_eq!(data["before"], json!({"active": true, "nickName": null, "title": "x"}));
        assert_eq!(data["after"], json!({"active": false, "nickName": "n", "title": null}));
        let back = user_changed("u1", &after, &before, false);
        assert_eq!(back.iter().map(|e| e.event_type).collect::<Vec<_>>(), ["user.updated", "user.reactivated"]);
        assert!(user_changed("u1", &before, &before, false).is_empty(), "no change, no event");
        assert!(members_added("g", &[]).is_none());
    }
}
