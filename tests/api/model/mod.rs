//! Random sequences of user, group and membership writes, sequential and concurrent, checked
//! against an in-memory model of the directory (state.rs): every answer's status, then every
//! resource, the lists and filters over them, and the event stream (checks.rs).

mod checks;
mod state;

use crate::helpers::{okta_user, patch_op, Backend, Instance, Response, TestApp};
use crate::scim_test;
use awc::http::Method;
use serde_json::{json, Value};
use state::{Effect, Kind, Known, MemberOp, Model};
use std::collections::BTreeSet;

/// SplitMix64: a seeded generator, so a failing sequence is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    /// One of `n` names starting with `prefix`, each letter's case chosen at random.
    fn name(&mut self, prefix: &str, n: usize) -> String {
        let name = format!("{prefix}{}", self.below(n));
        name.chars().map(|c| if self.chance(30) { c.to_ascii_uppercase() } else { c }).collect()
    }
}

/// One sequence: its own tenant, generator, model and a log of what it sent.
struct Run<'a> {
    app: &'a TestApp,
    tenant: String,
    /// The tenant's Base URL on each scimd the requests take turns at.
    bases: Vec<String>,
    turn: std::cell::Cell<usize>,
    auth: String,
    rng: Rng,
    model: Model,
    log: Vec<String>,
}

fn path_of(kind: Kind, id: &str) -> String {
    match kind {
        Kind::User => format!("/Users/{id}"),
        Kind::Group => format!("/Groups/{id}"),
    }
}

impl<'a> Run<'a> {
    fn new(app: &'a TestApp, seed: u64, replicas: &[&Instance]) -> Run<'a> {
        let tenant = format!("model{seed}");
        let (base, token) = app.tenant(&tenant);
        let mut bases = vec![base];
        bases.extend(replicas.iter().map(|r| scimd::tenancy::base_url(&r.root, &tenant)));
        let (turn, auth) = (std::cell::Cell::new(0), format!("Bearer {token}"));
        Run { app, tenant, bases, turn, auth, rng: Rng(seed), model: Model::default(), log: vec![] }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        self.call_if(method, path, body, None).await
    }

    /// A request, with `If-Match: W/"<version>"` when `if_match` is given.
    async fn call_if(&self, method: Method, path: &str, body: Option<Value>, if_match: Option<u64>) -> Response {
        let etag = if_match.map(|v| format!("W/\"{v}\""));
        let mut headers = vec![];
        if body.is_some() {
            headers.push(("Content-Type", "application/scim+json"));
        }
        if let Some(etag) = &etag {
            headers.push(("If-Match", etag.as_str()));
        }
        let turn = self.turn.replace(self.turn.get() + 1);
        let url = format!("{}{path}", self.bases[turn % self.bases.len()]);
        self.app.send_raw(method, &url, Some(&self.auth), &headers, body.map(|b| b.to_string().into_bytes())).await
    }

    #[track_caller]
    fn fail(&self, what: String) -> ! {
        let start = self.log.len().saturating_sub(40);
        panic!("{what}\nthe last requests of tenant {}:\n{}", self.tenant, self.log[start..].join("\n"));
    }

    #[track_caller]
    fn expect(&self, r: &Response, allowed: &BTreeSet<u16>) {
        if !allowed.contains(&r.status.as_u16()) {
            self.fail(format!("answered {} ({}), the model allows {allowed:?}", r.status, r.body));
        }
        if r.status.as_u16() >= 400 {
            r.assert_error(r.status.as_u16(), None);
        }
    }

    fn pick(&mut self, kind: Option<Kind>, live_percent: u64) -> Option<Known> {
        let live_only = self.rng.chance(live_percent);
        let pool: Vec<&Known> =
            self.model.known.iter().filter(|k| kind.is_none_or(|w| k.kind == w) && (!live_only || k.alive)).collect();
        (!pool.is_empty()).then(|| pool[self.rng.below(pool.len())].clone())
    }

    /// Up to `max` member ids: mostly live users and groups, sometimes deleted ones.
    fn members(&mut self, max: usize) -> Vec<String> {
        let n = self.rng.below(max + 1);
        (0..n).filter_map(|_| self.pick(None, 85).map(|k| k.id)).collect()
    }

    fn member_values(&mut self, ids: &[String]) -> Value {
        let values: Vec<Value> = ids
            .iter()
            .map(|id| match (self.rng.chance(50), self.model.get(id).map(|k| k.kind)) {
                (true, Some(Kind::User)) => json!({"value": id, "type": "User"}),
                (true, Some(Kind::Group)) => json!({"value": id, "type": "Group"}),
                _ => json!({"value": id}),
            })
            .collect();
        Value::Array(values)
    }

    fn op_name(&mut self, op: &str) -> String {
        // Entra ID capitalises operations (RFC 7644 §3.5.2 names them in lower case).
        if self.rng.chance(30) {
            let mut c = op.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        } else {
            op.to_string()
        }
    }

    fn plan_create_user(&mut self) -> Option<Planned> {
        let name = self.rng.name("u", 30);
        let effect = Effect::CreateUser { name: name.clone() };
        Some(Planned::new(Method::POST, "/Users".into(), Some(okta_user(&name)), effect))
    }

    fn plan_delete(&mut self, kind: Kind) -> Option<Planned> {
        let k = self.pick(Some(kind), 80)?;
        Some(Planned::new(Method::DELETE, path_of(kind, &k.id), None, Effect::Delete { id: k.id }))
    }

    fn plan_user_write(&mut self) -> Option<Planned> {
        let user = self.pick(Some(Kind::User), 90)?;
        let (id, path) = (user.id.clone(), path_of(Kind::User, &user.id));
        let name = self.rng.name("u", 30);
        let if_match = self.if_match(&user);
        Some(match self.rng.below(3) {
            0 => {
                let active = self.rng.chance(50);
                let body = patch_op(json!([{"op": self.op_name("replace"), "value": {"active": active}}]));
                Planned::new(Method::PATCH, path, Some(body), Effect::SetActive { id, active, if_match })
            }
            1 => {
                let body = patch_op(json!([{"op": "replace", "path": "userName", "value": name}]));
                Planned::new(Method::PATCH, path, Some(body), Effect::RenameUser { id, name, if_match })
            }
            _ => {
                let mut body = okta_user(&name);
                let active = self.rng.chance(70).then(|| self.rng.chance(50));
                match active {
                    Some(a) => body["active"] = json!(a),
                    None => drop(body.as_object_mut().unwrap().remove("active")),
                }
                Planned::new(Method::PUT, path, Some(body), Effect::PutUser { id, name, active, if_match })
            }
        })
    }

    fn plan_create_group(&mut self) -> Option<Planned> {
        let name = self.rng.name("g", 6);
        let members = self.members(4);
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name,
            "members": self.member_values(&members)});
        Some(Planned::new(Method::POST, "/Groups".into(), Some(body), Effect::CreateGroup { name, members }))
    }

    fn member_op(&mut self, group: &Known) -> (MemberOp, Value) {
        let current: Vec<String> = group.members.iter().cloned().collect();
        let some_member = |run: &mut Self| {
            if !current.is_empty() && run.rng.chance(70) {
                current[run.rng.below(current.len())].clone()
            } else {
                run.pick(None, 50).map(|k| k.id).unwrap_or_else(|| "nobody".into())
            }
        };
        match self.rng.below(6) {
            0 | 1 => {
                let ids = self.members(3);
                let (op, values) = (self.op_name("add"), self.member_values(&ids));
                let body = if self.rng.chance(25) {
                    json!({"op": op, "value": {"members": values}})
                } else {
                    json!({"op": op, "path": "members", "value": values})
                };
                (MemberOp::Add(ids), body)
            }
            2 => {
                let id = some_member(self);
                let body = json!({"op": self.op_name("remove"), "path": format!("members[value eq \"{id}\"]")});
                (MemberOp::RemoveFiltered(id), body)
            }
            3 => {
                let ids: Vec<String> = (0..=self.rng.below(2)).map(|_| some_member(self)).collect();
                let body = json!({"op": self.op_name("remove"), "path": "members", "value": self.member_values(&ids)});
                (MemberOp::RemoveValues(ids), body)
            }
            4 if self.rng.chance(30) => (MemberOp::RemoveAll, json!({"op": "remove", "path": "members"})),
            4 if self.rng.chance(30) => {
                let kind = if self.rng.chance(50) { Kind::User } else { Kind::Group };
                let path = format!("members[type eq \"{kind:?}\"]");
                (MemberOp::RemoveKind(kind), json!({"op": self.op_name("remove"), "path": path}))
            }
            4 => {
                let ids = self.members(3);
                let body = json!({"op": self.op_name("replace"), "path": "members", "value": self.member_values(&ids)});
                (MemberOp::Replace(ids), body)
            }
            _ => {
                let name = self.rng.name("g", 6);
                let body = json!({"op": "replace", "path": "displayName", "value": name});
                (MemberOp::Rename(name), body)
            }
        }
    }

    /// Sometimes the version the model has now (which a racing write may change first),
    /// sometimes one the resource does not have yet.
    fn if_match(&mut self, resource: &Known) -> Option<u64> {
        match self.rng.below(10) {
            0..=2 => Some(resource.version),
            3 => Some(resource.version + 1),
            _ => None,
        }
    }

    fn plan_patch_group(&mut self) -> Option<Planned> {
        let g = self.pick(Some(Kind::Group), 90)?;
        let (ops, bodies): (Vec<MemberOp>, Vec<Value>) = (0..=self.rng.below(3)).map(|_| self.member_op(&g)).unzip();
        let (body, if_match) = (patch_op(json!(bodies)), self.if_match(&g));
        let effect = Effect::PatchGroup { id: g.id.clone(), ops, if_match };
        Some(Planned::new(Method::PATCH, path_of(Kind::Group, &g.id), Some(body), effect))
    }

    fn plan_put_group(&mut self) -> Option<Planned> {
        let g = self.pick(Some(Kind::Group), 90)?;
        let name = self.rng.name("g", 6);
        let (members, if_match) = (self.members(4), self.if_match(&g));
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": g.id,
            "displayName": name, "members": self.member_values(&members)});
        let effect = Effect::PutGroup { id: g.id.clone(), name, members, if_match };
        Some(Planned::new(Method::PUT, path_of(Kind::Group, &g.id), Some(body), effect))
    }

    /// One random write, planned against the model as it is now.
    fn plan_write(&mut self) -> Option<Planned> {
        match self.rng.below(16) {
            0..=3 => self.plan_create_user(),
            4 => self.plan_delete(Kind::User),
            5..=6 => self.plan_user_write(),
            7..=8 => self.plan_create_group(),
            9 => self.plan_delete(Kind::Group),
            10..=13 => self.plan_patch_group(),
            _ => self.plan_put_group(),
        }
    }

    async fn send(&mut self, p: &Planned) -> Response {
        self.log.push(p.to_string());
        let r = self.call_if(p.method.clone(), &p.path, p.body.clone(), p.if_match()).await;
        self.log.last_mut().unwrap().push_str(&format!(" → {}", r.status.as_u16()));
        r
    }

    /// One write, sent alone: its status must be the model's, and the model follows it.
    async fn step(&mut self) {
        let Some(p) = self.plan_write() else { return };
        let r = self.send(&p).await;
        self.expect(&r, &self.model.allowed(&p.effect));
        if r.status.is_success() {
            self.model.apply(&p.effect, created_id(&r));
        }
    }
}

/// A request and what it asks of the directory.
#[derive(Debug)]
struct Planned {
    method: Method,
    path: String,
    body: Option<Value>,
    effect: Effect,
}

impl std::fmt::Display for Planned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let if_match = self.if_match().map(|v| format!(" If-Match {v}")).unwrap_or_default();
        write!(f, "{} {}{if_match} {}", self.method, self.path, self.body.clone().unwrap_or_default())
    }
}

impl Planned {
    fn new(method: Method, path: String, body: Option<Value>, effect: Effect) -> Planned {
        Planned { method, path, body, effect }
    }

    fn if_match(&self) -> Option<u64> {
        match &self.effect {
            Effect::SetActive { if_match, .. }
            | Effect::RenameUser { if_match, .. }
            | Effect::PutUser { if_match, .. }
            | Effect::PatchGroup { if_match, .. }
            | Effect::PutGroup { if_match, .. } => *if_match,
            _ => None,
        }
    }
}

fn created_id(r: &Response) -> Option<String> {
    r.body["id"].as_str().map(str::to_string)
}

/// Runs `steps` random writes in tenant `model{seed}`, checking everything every 10 steps,
/// with a race every 5 and a round of concurrent member changes every 25; the requests take
/// turns at `app` and `replicas`.
async fn run_sequence(app: &TestApp, seed: u64, steps: usize, replicas: &[&Instance]) {
    let mut run = Run::new(app, seed, replicas);
    for n in 1..=steps {
        run.step().await;
        if n % 5 == 0 {
            run.race().await;
        }
        if n % 25 == 0 {
            run.concurrent_round().await;
        }
        if n % 10 == 0 {
            run.verify().await;
        }
    }
    run.verify().await;
    run.check_events().await;
}

fn seeds() -> u64 {
    std::env::var("SCIMD_TEST_MODEL_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(4)
}

/// Where a longer run starts among the seeds (`SCIMD_TEST_MODEL_FIRST_SEED`, 0 by default), so
/// that it can try sequences the default runs never do.
fn seed_offset() -> u64 {
    std::env::var("SCIMD_TEST_MODEL_FIRST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// Two sequences at a time, each in a tenant of its own with the same user and group names:
/// names are unique per tenant, and no list, filter or event of one shows the other's.
async fn run_in_pairs(app: &TestApp, first_seed: u64, replicas: &[&Instance]) {
    let first_seed = first_seed + seed_offset();
    for seed in (first_seed..first_seed + seeds()).step_by(2) {
        let second = async {
            if seed + 1 < first_seed + seeds() {
                run_sequence(app, seed + 1, 120, replicas).await;
            }
        };
        futures_util::future::join(run_sequence(app, seed, 120, replicas), second).await;
    }
}

scim_test!(random_writes_agree_with_a_model_of_the_directory, |app| {
    run_in_pairs(&app, 1, &[]).await;
});

/// Stateless replicas on one PostgreSQL: requests alternate between two, so racing writes
/// meet only in the database, and every read may come from the other one.
#[actix_web::test]
async fn random_writes_through_two_replicas_agree_with_a_model() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        eprintln!("skipped: SCIMD_TEST_POSTGRES_URL is not set");
        return;
    };
    let second = app.another_instance();
    run_in_pairs(&app, 1001, &[&second]).await;
    second.stop().await;
}
