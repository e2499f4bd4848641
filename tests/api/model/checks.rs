//! What a random sequence is checked by: every resource and list against the model, a round
//! of concurrent member changes whose result does not depend on their order, and the events.

use super::state::{Effect, Kind, MemberOp, Model};
use super::{created_id, path_of, Planned, Run};
use crate::helpers::{patch_op, Response};
use awc::http::{Method, StatusCode};
use scimd::clock::SystemClock;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

fn ids_of(list: &Value, field: &str) -> BTreeSet<String> {
    list[field]
        .as_array()
        .map(|a| a.iter().map(|m| m["value"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

fn encoded(filter: &str) -> String {
    form_urlencoded::byte_serialize(filter.as_bytes()).collect()
}

impl Run<'_> {
    async fn get_ok(&self, path: &str) -> Result<Value, String> {
        let r = self.call(Method::GET, path, None).await;
        match r.status {
            StatusCode::OK => Ok(r.body),
            _ => Err(format!("GET {path} answered {} ({})", r.status, r.body)),
        }
    }

    async fn total(&self, path: &str) -> Result<u64, String> {
        Ok(self.get_ok(path).await?["totalResults"].as_u64().expect("totalResults"))
    }

    /// Every resource the sequence created, and the lists and filters over them.
    pub(super) async fn verify(&self) {
        if let Err(e) = self.differences(&self.model).await {
            self.fail(e);
        }
    }

    /// The first difference between the directory scimd serves and `model`.
    async fn differences(&self, model: &Model) -> Result<(), String> {
        for k in &model.known {
            let path = path_of(k.kind, &k.id);
            let r = self.call(Method::GET, &path, None).await;
            match (k.alive, r.status) {
                (false, StatusCode::NOT_FOUND) => continue,
                (true, StatusCode::OK) => {}
                _ => return Err(format!("GET {path}: {} ({}), the model has alive={}", r.status, r.body, k.alive)),
            }
            let found = match k.kind {
                Kind::User => {
                    // (id, "direct" or "indirect", the group's displayName as it is now)
                    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
                    let groups: BTreeSet<(String, String, String)> = r.body["groups"]
                        .as_array()
                        .map(|a| a.iter().map(|g| (text(&g["value"]), text(&g["type"]), text(&g["display"]))).collect())
                        .unwrap_or_default();
                    let expected: BTreeSet<(String, String, String)> = model
                        .groups_of(&k.id)
                        .into_iter()
                        .map(|(g, t)| {
                            let name = model.get(&g).map(|g| g.name.clone()).unwrap_or_default();
                            (g, t.to_string(), name)
                        })
                        .collect();
                    let version = format!("W/\"{}\"", k.version);
                    (r.body["userName"] == json!(k.name)
                        && r.body["active"] == json!(k.active)
                        && r.body["meta"]["version"] == json!(version)
                        && groups == expected)
                        .then_some(())
                        .ok_or(format!(
                            "userName {:?}, active {}, version {version}, groups {expected:?}",
                            k.name, k.active
                        ))
                }
                Kind::Group => {
                    let version = format!("W/\"{}\"", k.version);
                    (r.body["displayName"] == json!(k.name)
                        && r.body["meta"]["version"] == json!(version)
                        && ids_of(&r.body, "members") == k.members)
                        .then_some(())
                        .ok_or(format!("displayName {:?}, version {version}, members {:?}", k.name, k.members))
                }
            };
            if let Err(expected) = found {
                return Err(format!("GET {path} answered {}; the model has {expected}", r.body));
            }
        }
        // Every live resource exactly once through small pages (RFC 7644 §3.4.2.4).
        for (endpoint, kind, size) in
            [("/Users?count=3", Kind::User, 3), ("/Groups?excludedAttributes=members&count=2", Kind::Group, 2)]
        {
            let mut seen = Vec::new();
            loop {
                let page = self.get_ok(&format!("{endpoint}&startIndex={}", seen.len() + 1)).await?;
                let ids: Vec<String> = page["Resources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["id"].as_str().unwrap().to_string())
                    .collect();
                let done = ids.len() < size;
                seen.extend(ids);
                if done {
                    break;
                }
            }
            let expected = model.live_ids(kind);
            if seen.len() != expected.len() || seen.iter().cloned().collect::<BTreeSet<_>>() != expected {
                return Err(format!("pages of {endpoint} gave {seen:?}, the model has {expected:?}"));
            }
        }
        // Every live group with its members in one list, whose groups' members are read
        // several groups at a time.
        let all = self.get_ok("/Groups?count=1000").await?;
        for g in all["Resources"].as_array().unwrap() {
            let id = g["id"].as_str().unwrap();
            let expected = model.get(id).map(|k| k.members.clone()).unwrap_or_default();
            if ids_of(g, "members") != expected {
                return Err(format!("GET /Groups listed {g}; the model has members {expected:?}"));
            }
        }
        let counts = [
            ("/Users?count=0", model.live_count(Kind::User)),
            ("/Groups?count=0", model.live_count(Kind::Group)),
            (&format!("/Users?count=0&filter={}", encoded("active eq false")), model.inactive_users()),
        ];
        for (path, expected) in counts {
            let total = self.total(path).await?;
            if total != expected as u64 {
                return Err(format!("GET {path}: totalResults {total}, the model has {expected}"));
            }
        }
        // Which groups have a member, and a userName in another case, through filters in SQL.
        for k in model.known.iter().rev().take(6) {
            let filter = encoded(&format!("members.value eq \"{}\"", k.id));
            let path = format!("/Groups?excludedAttributes=members&count=1000&filter={filter}");
            let found: BTreeSet<String> = self.get_ok(&path).await?["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["id"].as_str().unwrap().to_string())
                .collect();
            if found != model.groups_with_member(&k.id) {
                return Err(format!("GET {path}: {found:?}, the model has {:?}", model.groups_with_member(&k.id)));
            }
            // A unique key in another case: read by its index, without a count.
            let upper = k.name.to_ascii_uppercase();
            let path = match k.kind {
                Kind::User => format!("/Users?count=0&filter={}", encoded(&format!("userName eq \"{upper}\""))),
                Kind::Group => format!("/Groups?count=0&filter={}", encoded(&format!("displayName eq \"{upper}\""))),
            };
            let expected = u64::from(model.name_taken(k.kind, &upper, None));
            if self.total(&path).await? != expected {
                return Err(format!("GET {path}: not {expected} result(s)"));
            }
        }
        Ok(())
    }

    /// Concurrent PATCHes of one group, each adding or removing a different user, with
    /// concurrent (de)activations of other users: every order gives the same directory.
    pub(super) async fn concurrent_round(&mut self) {
        let Some(g) = self.pick(Some(Kind::Group), 100).filter(|g| g.alive) else { return };
        let users: Vec<_> = self.model.known.iter().filter(|k| k.alive && k.kind == Kind::User).cloned().collect();
        let (movers, togglers) = users.split_at(users.len().min(8));
        let mut plans = Vec::new();
        for u in movers {
            let (op, body) = if g.members.contains(&u.id) {
                let path = format!("members[value eq \"{}\"]", u.id);
                (MemberOp::RemoveFiltered(u.id.clone()), json!({"op": "remove", "path": path}))
            } else {
                (MemberOp::Add(vec![u.id.clone()]), json!({"op": "add", "path": "members", "value": [{"value": u.id}]}))
            };
            let effect = Effect::PatchGroup { id: g.id.clone(), ops: vec![op], if_match: None };
            plans.push(Planned::new(Method::PATCH, path_of(Kind::Group, &g.id), Some(patch_op(json!([body]))), effect));
        }
        for u in togglers.iter().take(4) {
            let body = patch_op(json!([{"op": "replace", "path": "active", "value": !u.active}]));
            let effect = Effect::SetActive { id: u.id.clone(), active: !u.active, if_match: None };
            plans.push(Planned::new(Method::PATCH, path_of(Kind::User, &u.id), Some(body), effect));
        }
        let answers = self.send_together(&plans).await;
        for (p, r) in plans.iter().zip(&answers) {
            self.expect(r, &self.model.allowed(&p.effect));
            self.model.apply(&p.effect, None);
        }
    }

    async fn send_together(&mut self, plans: &[Planned]) -> Vec<Response> {
        let calls = plans.iter().map(|p| self.call_if(p.method.clone(), &p.path, p.body.clone(), p.if_match()));
        let answers = futures_util::future::join_all(calls).await;
        let sent: Vec<String> =
            plans.iter().zip(&answers).map(|(p, r)| format!("{p} → {}", r.status.as_u16())).collect();
        self.log.push(format!("at once: [\n  {}\n]", sent.join("\n  ")));
        answers
    }

    /// Two or three random writes at once, which may touch the same resources: some order of
    /// them, run one at a time, must explain every answer and the directory they leave.
    pub(super) async fn race(&mut self) {
        let plans: Vec<Planned> = (0..2 + self.rng.below(2)).filter_map(|_| self.plan_write()).collect();
        if plans.len() < 2 {
            return;
        }
        let answers = self.send_together(&plans).await;
        for r in answers.iter().filter(|r| r.status.as_u16() >= 400) {
            r.assert_error(r.status.as_u16(), None);
        }
        let orders: &[&[usize]] = match plans.len() {
            2 => &[&[0, 1], &[1, 0]],
            _ => &[&[0, 1, 2], &[0, 2, 1], &[1, 0, 2], &[1, 2, 0], &[2, 0, 1], &[2, 1, 0]],
        };
        let mut unexplained = Vec::new();
        for order in orders {
            match self.replay(order, &plans, &answers) {
                Err(e) => unexplained.push(format!("{order:?}: {e}")),
                Ok(model) => match self.differences(&model).await {
                    Ok(()) => {
                        self.model = model;
                        return;
                    }
                    Err(e) => unexplained.push(format!("{order:?}: {e}")),
                },
            }
        }
        let statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
        self.fail(format!("no order explains the answers {statuses:?}:\n{}", unexplained.join("\n")));
    }

    /// The model after `plans` one at a time in `order`, if each answer is one it allows.
    fn replay(&self, order: &[usize], plans: &[Planned], answers: &[Response]) -> Result<Model, String> {
        let mut model = self.model.clone();
        for &i in order {
            let status = answers[i].status;
            let mut effect = plans[i].effect.clone();
            let allowed = model.allowed(&effect);
            if !allowed.contains(&status.as_u16()) {
                // A member another of these requests deleted may have been dropped.
                let vanished = |id: &str| self.model.is_live(id) && !model.is_live(id);
                effect = Model::without_members(&effect, vanished);
                if !model.allowed(&effect).contains(&status.as_u16()) {
                    return Err(format!("request {i} answered {status}, not {allowed:?}"));
                }
            }
            if status.is_success() {
                model.apply(&effect, created_id(&answers[i]));
            }
        }
        Ok(model)
    }

    /// The tenant's events, replayed: every member and (de)activation event changes what it
    /// names (a change of nothing emits nothing), and together they end where the model ends.
    pub(super) async fn check_events(&self) {
        let admin = scimd::admin::api_tokens::issue(&self.app.store, &SystemClock, None).unwrap().1;
        let mut memberships: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut active: BTreeMap<String, bool> = BTreeMap::new();
        let mut after = 0;
        loop {
            let url = format!("{}/admin/api/tenants/{}/events?after={after}&limit=500", self.app.root, self.tenant);
            let r = self.app.send_raw(Method::GET, &url, Some(&format!("Bearer {admin}")), &[], None).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            let events = r.body.as_array().unwrap();
            let Some(last) = events.last() else { break };
            after = last["seq"].as_i64().unwrap();
            for e in events {
                let rid = e["resource_id"].as_str().unwrap_or_default().to_string();
                let named = ids_of(&e["data"], "members");
                match e["type"].as_str().unwrap() {
                    "group.created" => {
                        memberships.insert(rid, BTreeSet::new());
                    }
                    "group.member_added" => {
                        let set = memberships.get_mut(&rid).expect("an event of a live group");
                        if named.is_empty() || !named.iter().all(|m| set.insert(m.clone())) {
                            self.fail(format!("{e}: adds no one, or someone already a member of {set:?}"));
                        }
                    }
                    "group.member_removed" => {
                        let set = memberships.get_mut(&rid).expect("an event of a live group");
                        if named.is_empty() || !named.iter().all(|m| set.remove(m)) {
                            self.fail(format!("{e}: removes no one, or someone not a member"));
                        }
                    }
                    "user.created" => {
                        active.insert(rid, true);
                    }
                    kind @ ("user.deactivated" | "user.reactivated") => {
                        let now = kind == "user.reactivated";
                        if active.insert(rid, now) != Some(!now) {
                            self.fail(format!("{e}: the user was not {}", if now { "inactive" } else { "active" }));
                        }
                    }
                    "group.deleted" | "user.deleted" => {
                        active.remove(&rid);
                        memberships.remove(&rid);
                        memberships.values_mut().for_each(|m| {
                            m.remove(&rid);
                        });
                    }
                    _ => {}
                }
            }
        }
        if memberships != self.model.memberships() {
            self.fail(format!("the events end at {memberships:?}, the model at {:?}", self.model.memberships()));
        }
        if active != self.model.activity() {
            self.fail(format!(
                "the events end with users active {active:?}, the model with {:?}",
                self.model.activity()
            ));
        }
    }
}
