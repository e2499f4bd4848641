//! PostgreSQL's writes to one group share commits: they queue in one of a few lanes
//! (`commit::Lane`), chosen by the group.
//!
//! Every change of a group locks its row (and writes its new version there), so PostgreSQL
//! runs a group's changes one at a time: each waits for the row lock the one before holds until its commit is
//! durable, a WAL flush and a round trip each. 32 concurrent PATCHes of one group's members
//! ran at ~1,000/s (BENCHMARKS.md, the thirtieth round), where SQLite's lane ran 13,000/s. In
//! a lane, the changes that arrive together run one after another in one transaction, each in
//! a savepoint of its own (a failure rolls back its own writes alone), and share one commit;
//! each still answers only once that commit is durable. Writes to users keep a transaction
//! each and run side by side: one lane for every write was slower (`Store::group_commit`).
//!
//! A PATCH of members alone needs no savepoint (`member_patch_checked`), and those waiting in
//! a lane when it gets to them run as one statement, one write of the lane: a round trip
//! each had been time every change queued behind it waited for (the thirty-second round:
//! 3,111 -> 3,865 such PATCHes/s on one group, and 4,972 with the row written once per run).

use super::batch_outcome::lock;
use super::commit::Lane;
use super::member_patch_checked::{MemberPatch, MembersPatched};
use super::savepoint::{Guarded, InBatch, Unguarded};
use super::{MemberRef, Store, TenantId, Tx, MAX_WRITE_ATTEMPTS};
use crate::error::{Error, Result};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

/// Groups written at once mostly land in lanes of their own; each lane holds a pooled
/// connection only while a batch is open.
const LANES: usize = 4;

pub(super) struct GroupLanes(Vec<GroupLane>);

/// A lane, and the member PATCHes waiting to run in it.
struct GroupLane {
    lane: Arc<Lane>,
    waiting: Arc<Mutex<WaitingPatches>>,
}

/// Member PATCHes waiting for the next statement that runs them all
/// (`Store::patch_members_in_lane`), and whether a write that takes them is queued.
#[derive(Default)]
struct WaitingPatches {
    patches: Vec<(Arc<MemberPatch>, Answer)>,
    taker_queued: bool,
}

type Answer = tokio::sync::oneshot::Sender<Result<MembersPatched>>;

impl GroupLanes {
    pub(super) fn new() -> Result<GroupLanes> {
        let lane = || Ok(GroupLane { lane: Arc::new(Lane::new("scimd-group-lane")?), waiting: Arc::default() });
        Ok(GroupLanes((0..LANES).map(|_| lane()).collect::<Result<_>>()?))
    }

    /// The lane every write of the group `group_id` goes to.
    fn of(&self, tenant: TenantId, group_id: &str) -> &GroupLane {
        let mut hasher = DefaultHasher::new();
        (tenant.get(), group_id).hash(&mut hasher);
        &self.0[(hasher.finish() % self.0.len() as u64) as usize]
    }

    #[cfg(test)]
    pub(super) fn commits(&self) -> u64 {
        self.0.iter().map(|g| g.lane.commits()).sum()
    }
}

impl Store {
    /// The users and groups among `ids` (`Tx::resolve_members`), looked up before a write of a
    /// group queues in the group's lane, on PostgreSQL: a lookup in the lane is a round trip
    /// that every write queued behind it waits for. `None` on SQLite, whose one writer looks
    /// them up in the write. What is added is checked again as it is added (migration 000023).
    pub async fn members_before_group_write(
        &self,
        tenant: TenantId,
        ids: Vec<String>,
    ) -> Option<Result<Vec<MemberRef>>> {
        self.group_lanes.as_ref()?;
        let store = self.clone();
        Some(self.offload(move || store.resolve_members(tenant, &ids)).await)
    }

    /// `write_async` for a write that changes the group `group_id` of `tenant` (and what it
    /// names): on PostgreSQL it runs in the group's lane, sharing a commit with the writes
    /// queued beside it; on SQLite every write already does.
    pub async fn write_group_async<R: Send + 'static>(
        &self,
        tenant: TenantId,
        group_id: &str,
        f: impl FnMut(&mut Tx<'_>) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let Some(lanes) = &self.group_lanes else { return self.write_async(f).await };
        // Each attempt is queued as a closure of its own, and each calls the one `f`.
        let f = Arc::new(Mutex::new(f));
        let attempt = || {
            let f = f.clone();
            Guarded(move |tx: &mut Tx<'_>| (*f.lock().unwrap_or_else(|p| p.into_inner()))(tx))
        };
        self.in_group_lane(&lanes.of(tenant, group_id).lane, attempt).await
    }

    /// On PostgreSQL, the member PATCH `patch` in its group's lane, run by one statement
    /// together with the others waiting there when the lane gets to them
    /// (`Tx::patch_members_many`), and again after a `WriteConflict` (a deadlock, undone).
    /// Answers once its work is committed. `None` on SQLite.
    pub async fn patch_members_in_lane(&self, patch: MemberPatch) -> Option<Result<MembersPatched>> {
        let lanes = self.group_lanes.as_ref()?;
        let lane = lanes.of(patch.tenant, &patch.group_id);
        let patch = Arc::new(patch);
        let mut attempts = 1;
        loop {
            let (answer, answered) = tokio::sync::oneshot::channel();
            let queue_taker = {
                let mut waiting = lock(&lane.waiting);
                waiting.patches.push((patch.clone(), answer));
                !std::mem::replace(&mut waiting.taker_queued, true)
            };
            if queue_taker {
                self.queue_patch_taker(lane);
            }
            match answered.await.unwrap_or_else(|_| Err(Error::internal("the writer thread stopped"))) {
                Err(Error::WriteConflict) if attempts < MAX_WRITE_ATTEMPTS => attempts += 1,
                other => return Some(other),
            }
        }
    }

    /// Queues in `lane` a write that runs the member PATCHes waiting when it starts, and
    /// answers each once that write's batch has committed.
    fn queue_patch_taker(&self, lane: &GroupLane) {
        // The answers of the PATCHes it took; `None` until it takes them.
        let answers: Arc<Mutex<Option<Vec<Answer>>>> = Arc::default();
        let (waiting, taken) = (lane.waiting.clone(), answers.clone());
        let take_and_run = move |tx: &mut Tx<'_>| {
            let (patches, answers) = take_waiting(&waiting);
            *lock(&taken) = Some(answers);
            tx.patch_members_many(&patches)
        };
        let (waiting, events_committed) = (lane.waiting.clone(), self.events_committed.clone());
        lane.lane.spawn(&self.write, Unguarded(take_and_run), move |ran, committed| {
            if committed.appended_events {
                events_committed.notify_one();
            }
            // A batch that could not begin ran nothing: the PATCHes still wait, for this answer.
            let answers = lock(&answers).take().unwrap_or_else(|| take_waiting(&waiting).1);
            match ran {
                Ok(outcomes) => {
                    for (answer, outcome) in answers.into_iter().zip(outcomes) {
                        let _ = answer.send(outcome);
                    }
                }
                // Nothing of the batch was kept; each PATCH fails as the batch did (a 503 for a
                // connection that closed under it, not a 500).
                Err(e) => {
                    for answer in answers {
                        let _ = answer.send(Err(e.clone()));
                    }
                }
            }
        });
    }

    /// Queues the request `attempt` makes in `lane`, again after a `WriteConflict` (a deadlock
    /// with a transaction outside the lane, undone).
    async fn in_group_lane<R: Send + 'static, W: InBatch<R> + Send + 'static>(
        &self,
        lane: &Arc<Lane>,
        attempt: impl Fn() -> W,
    ) -> Result<R> {
        let mut attempts = 1;
        loop {
            let (out, committed) = lane.queue(&self.write, attempt()).await;
            if committed.appended_events {
                self.events_committed.notify_one();
            }
            match out {
                Err(Error::WriteConflict) if attempts < MAX_WRITE_ATTEMPTS => attempts += 1,
                other => return other,
            }
        }
    }
}

/// The member PATCHes waiting in a lane, taken by the write queued for them (the next PATCH to
/// wait queues another).
fn take_waiting(waiting: &Mutex<WaitingPatches>) -> (Vec<Arc<MemberPatch>>, Vec<Answer>) {
    let mut waiting = lock(waiting);
    waiting.taker_queued = false;
    std::mem::take(&mut waiting.patches).into_iter().unzip()
}

#[cfg(test)]
#[path = "group_lane_tests.rs"]
mod tests;
