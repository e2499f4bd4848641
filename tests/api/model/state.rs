//! The in-memory directory the random sequences are checked against: users, groups and
//! memberships as RFC 7643/7644 and README say they behave, with no database in sight.

use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    User,
    Group,
}

/// Every resource a sequence ever created, alive or deleted: deleted ids are worth sending
/// again (they must be 404s and unknown members).
#[derive(Debug, Clone)]
pub struct Known {
    pub id: String,
    pub kind: Kind,
    pub alive: bool,
    /// userName or displayName, as sent.
    pub name: String,
    pub active: bool,
    /// `meta.version`: moves with each write that changed the resource (RFC 7644 §3.14); for
    /// a group, a PATCH that changed its members at any of its operations did.
    pub version: u64,
    /// The name a user's create or PUT last sent, which its emails and externalId are made of.
    pub pushed: String,
    /// A group's members (empty for users).
    pub members: BTreeSet<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Model {
    pub known: Vec<Known>,
}

/// What one request asks of the directory.
#[derive(Debug, Clone)]
pub enum Effect {
    CreateUser {
        name: String,
    },
    Delete {
        id: String,
    },
    SetActive {
        id: String,
        active: bool,
        if_match: Option<u64>,
    },
    RenameUser {
        id: String,
        name: String,
        if_match: Option<u64>,
    },
    /// Okta's profile push: an omitted `active` keeps the current one.
    PutUser {
        id: String,
        name: String,
        active: Option<bool>,
        if_match: Option<u64>,
    },
    CreateGroup {
        name: String,
        members: Vec<String>,
    },
    PatchGroup {
        id: String,
        ops: Vec<MemberOp>,
        if_match: Option<u64>,
    },
    PutGroup {
        id: String,
        name: String,
        members: Vec<String>,
        if_match: Option<u64>,
    },
}

/// What one member operation of a group PATCH asks for.
#[derive(Debug, Clone)]
pub enum MemberOp {
    Add(Vec<String>),
    RemoveFiltered(String),
    RemoveValues(Vec<String>),
    RemoveAll,
    /// `remove` at `members[type eq "User"]` (or "Group").
    RemoveKind(Kind),
    Replace(Vec<String>),
    Rename(String),
}

impl Model {
    pub fn get(&self, id: &str) -> Option<&Known> {
        self.known.iter().find(|k| k.id == id)
    }

    fn get_mut(&mut self, id: &str) -> &mut Known {
        self.known.iter_mut().find(|k| k.id == id).expect("a known resource")
    }

    fn live(&self, kind: Kind) -> impl Iterator<Item = &Known> {
        self.known.iter().filter(move |k| k.alive && k.kind == kind)
    }

    /// Whether a live resource of `kind` other than `except` has `name` (case-insensitively:
    /// userName and displayName are unique regardless of case).
    pub fn name_taken(&self, kind: Kind, name: &str, except: Option<&str>) -> bool {
        self.live(kind).any(|k| k.name.eq_ignore_ascii_case(name) && Some(k.id.as_str()) != except)
    }

    pub fn is_live(&self, id: &str) -> bool {
        self.get(id).is_some_and(|k| k.alive)
    }

    /// The statuses `effect` may answer on this directory: its success status, or every error
    /// it has (several when several things are wrong: which one scimd checks first is its own
    /// affair). Whether it succeeds is decided by the directory alone.
    pub fn allowed(&self, effect: &Effect) -> BTreeSet<u16> {
        let mut errors = BTreeSet::new();
        let taken = |kind, name: &str, except: Option<&str>| self.name_taken(kind, name, except).then_some(409);
        let success = match effect {
            Effect::CreateUser { name } => {
                errors.extend(taken(Kind::User, name, None));
                201
            }
            Effect::CreateGroup { name, members } => {
                errors.extend(taken(Kind::Group, name, None));
                errors.extend(self.member_error(None, members));
                201
            }
            Effect::Delete { id } if !self.is_live(id) => return BTreeSet::from([404]),
            Effect::Delete { .. } => 204,
            Effect::SetActive { id, .. }
            | Effect::RenameUser { id, .. }
            | Effect::PutUser { id, .. }
            | Effect::PatchGroup { id, .. }
            | Effect::PutGroup { id, .. }
                if !self.is_live(id) =>
            {
                return BTreeSet::from([404])
            }
            Effect::SetActive { id, if_match, .. } => {
                errors.extend(self.stale(id, *if_match));
                200
            }
            Effect::RenameUser { id, name, if_match } | Effect::PutUser { id, name, if_match, .. } => {
                errors.extend(self.stale(id, *if_match));
                errors.extend(taken(Kind::User, name, Some(id)));
                200
            }
            Effect::PatchGroup { id, ops, if_match } => {
                let (patch_errors, _, name, _) = self.patch_group(id, ops);
                errors.extend(self.stale(id, *if_match));
                errors.extend(patch_errors);
                // Uniqueness holds for what the PATCH stores, not for the steps on the way.
                errors.extend(taken(Kind::Group, &name, Some(id)));
                204
            }
            Effect::PutGroup { id, name, members, if_match } => {
                errors.extend(self.stale(id, *if_match));
                errors.extend(taken(Kind::Group, name, Some(id)));
                errors.extend(self.member_error(Some(id), members));
                200
            }
        };
        if errors.is_empty() {
            errors.insert(success);
        }
        errors
    }

    /// `effect` without the members `vanished` picks. An add of a member deleted after the add
    /// looked it up adds nothing (store/member_locks.rs): racing its deletion, an add may
    /// succeed without that member, as if it had never been named.
    pub fn without_members(effect: &Effect, vanished: impl Fn(&str) -> bool) -> Effect {
        let keep = |ids: &Vec<String>| ids.iter().filter(|id| !vanished(id)).cloned().collect::<Vec<_>>();
        match effect {
            Effect::CreateGroup { name, members } => Effect::CreateGroup { name: name.clone(), members: keep(members) },
            Effect::PutGroup { id, name, members, if_match } => {
                Effect::PutGroup { id: id.clone(), name: name.clone(), members: keep(members), if_match: *if_match }
            }
            Effect::PatchGroup { id, ops, if_match } => {
                let ops = ops
                    .iter()
                    .map(|op| match op {
                        MemberOp::Add(ids) => MemberOp::Add(keep(ids)),
                        MemberOp::Replace(ids) => MemberOp::Replace(keep(ids)),
                        other => other.clone(),
                    })
                    .collect();
                Effect::PatchGroup { id: id.clone(), ops, if_match: *if_match }
            }
            other => other.clone(),
        }
    }

    /// Applies `effect`, which succeeded; `created` is the id a create answered with.
    pub fn apply(&mut self, effect: &Effect, created: Option<String>) {
        let new = |kind, name: &str, members: &[String]| Known {
            id: created.clone().expect("a created id"),
            kind,
            alive: true,
            name: name.to_string(),
            active: true,
            version: 1,
            pushed: name.to_string(),
            members: members.iter().cloned().collect(),
        };
        match effect {
            Effect::CreateUser { name } => self.known.push(new(Kind::User, name, &[])),
            Effect::CreateGroup { name, members } => self.known.push(new(Kind::Group, name, members)),
            Effect::Delete { id } => self.delete(id),
            Effect::SetActive { id, active, .. } => {
                let user = self.get_mut(id);
                user.version += u64::from(user.active != *active);
                user.active = *active;
            }
            Effect::RenameUser { id, name, .. } => {
                let user = self.get_mut(id);
                user.version += u64::from(user.name != *name);
                user.name = name.clone();
            }
            Effect::PutUser { id, name, active, .. } => {
                let user = self.get_mut(id);
                let active = active.unwrap_or(user.active);
                user.version += u64::from(user.name != *name || user.pushed != *name || user.active != active);
                (user.name, user.pushed, user.active) = (name.clone(), name.clone(), active);
            }
            Effect::PatchGroup { id, ops, .. } => {
                let (_, members, name, members_changed) = self.patch_group(id, ops);
                let group = self.get_mut(id);
                group.version += u64::from(members_changed || group.name != name);
                (group.members, group.name) = (members, name);
            }
            Effect::PutGroup { id, name, members, .. } => {
                let group = self.get_mut(id);
                let members: BTreeSet<String> = members.iter().cloned().collect();
                group.version += u64::from(group.members != members || group.name != *name);
                (group.members, group.name) = (members, name.clone());
            }
        }
    }

    /// A group PATCH's member and name operations applied in order (RFC 7644 §3.5.2): the
    /// errors of its member operations, the members and name it leaves, and whether any of
    /// its operations changed the members as it ran.
    fn patch_group(&self, group: &str, ops: &[MemberOp]) -> (BTreeSet<u16>, BTreeSet<String>, String, bool) {
        let g = self.get(group).expect("a known group");
        let (mut members, mut name) = (g.members.clone(), g.name.clone());
        let (mut errors, mut members_changed) = (BTreeSet::new(), false);
        for op in ops {
            let before = members.clone();
            match op {
                MemberOp::Add(ids) | MemberOp::Replace(ids) => {
                    if let Some(e) = self.member_error(Some(group), ids) {
                        errors.insert(e);
                        continue;
                    }
                    if matches!(op, MemberOp::Replace(_)) {
                        members.clear();
                    }
                    members.extend(ids.iter().cloned());
                }
                MemberOp::RemoveFiltered(id) => {
                    members.remove(id);
                }
                MemberOp::RemoveValues(ids) => {
                    for id in ids {
                        members.remove(id);
                    }
                }
                MemberOp::RemoveAll => members.clear(),
                MemberOp::RemoveKind(kind) => members.retain(|m| self.get(m).map(|k| k.kind) != Some(*kind)),
                MemberOp::Rename(new) => name = new.clone(),
            }
            members_changed |= members != before;
        }
        (errors, members, name, members_changed)
    }

    /// 412 when If-Match names another version than the resource's (RFC 7644 §3.14).
    fn stale(&self, id: &str, if_match: Option<u64>) -> Option<u16> {
        if_match.is_some_and(|v| Some(v) != self.get(id).map(|u| u.version)).then_some(412)
    }

    /// 400 when `ids` name a deleted resource or the group itself.
    fn member_error(&self, group: Option<&str>, ids: &[String]) -> Option<u16> {
        ids.iter().any(|id| Some(id.as_str()) == group || !self.is_live(id)).then_some(400)
    }

    fn delete(&mut self, id: &str) {
        for k in &mut self.known {
            k.members.remove(id);
            if k.id == id {
                k.alive = false;
                k.members.clear();
            }
        }
    }

    /// A user's groups as `GET /Users/{id}` lists them: (group id, "direct" or "indirect").
    pub fn groups_of(&self, user: &str) -> BTreeSet<(String, &'static str)> {
        let containing = |id: &str| -> Vec<String> {
            self.live(Kind::Group).filter(|g| g.members.contains(id)).map(|g| g.id.clone()).collect()
        };
        let direct: BTreeSet<String> = containing(user).into_iter().collect();
        let mut all = direct.clone();
        let mut frontier: Vec<String> = direct.iter().cloned().collect();
        while let Some(g) = frontier.pop() {
            for outer in containing(&g) {
                if all.insert(outer.clone()) {
                    frontier.push(outer);
                }
            }
        }
        all.into_iter().map(|g| (g.clone(), if direct.contains(&g) { "direct" } else { "indirect" })).collect()
    }

    /// The live groups that have `id` as a direct member.
    pub fn groups_with_member(&self, id: &str) -> BTreeSet<String> {
        self.live(Kind::Group).filter(|g| g.members.contains(id)).map(|g| g.id.clone()).collect()
    }

    pub fn live_ids(&self, kind: Kind) -> BTreeSet<String> {
        self.live(kind).map(|k| k.id.clone()).collect()
    }

    pub fn live_count(&self, kind: Kind) -> usize {
        self.live(kind).count()
    }

    pub fn inactive_users(&self) -> usize {
        self.live(Kind::User).filter(|u| !u.active).count()
    }

    /// Whether each live user is active.
    pub fn activity(&self) -> BTreeMap<String, bool> {
        self.live(Kind::User).map(|u| (u.id.clone(), u.active)).collect()
    }

    /// Every live group's members.
    pub fn memberships(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.live(Kind::Group).map(|g| (g.id.clone(), g.members.clone())).collect()
    }
}
