//! PostgreSQL's writes to one group share commits: they queue in one of a few lanes
//! (`commit::Lane`), chosen by the group.
//!
//! Every change of a group bumps the version in its row, so PostgreSQL runs a group's changes
//! one at a time: each waits for the row lock the one before holds until its commit is
//! durable, a WAL flush and a round trip each. 32 concurrent PATCHes of one group's members
//! ran at ~1,000/s (BENCHMARKS.md, the thirtieth round), where SQLite's lane ran 13,000/s. In
//! a lane, the changes that arrive together run one after another in one transaction, each in
//! a savepoint of its own (a failure rolls back its own writes alone), and share one commit;
//! each still answers only once that commit is durable. Writes to users keep a transaction
//! each and run side by side: one lane for every write was slower (`Store::group_commit`).

use super::commit::Lane;
use super::savepoint::{Guarded, InBatch, Stopped, Unguarded};
use super::{MemberRef, Store, TenantId, Tx, MAX_WRITE_ATTEMPTS};
use crate::error::{Error, Result};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

/// Groups written at once mostly land in lanes of their own; each lane holds a pooled
/// connection only while a batch is open.
const LANES: usize = 4;

pub(super) struct GroupLanes(Vec<Arc<Lane>>);

impl GroupLanes {
    pub(super) fn new() -> Result<GroupLanes> {
        let lanes = (0..LANES).map(|_| Lane::new("scimd-group-lane").map(Arc::new)).collect::<Result<_>>()?;
        Ok(GroupLanes(lanes))
    }

    /// The lane every write of the group `group_id` goes to.
    fn of(&self, tenant: TenantId, group_id: &str) -> &Arc<Lane> {
        let mut hasher = DefaultHasher::new();
        (tenant.get(), group_id).hash(&mut hasher);
        &self.0[(hasher.finish() % self.0.len() as u64) as usize]
    }

    #[cfg(test)]
    pub(super) fn commits(&self) -> u64 {
        self.0.iter().map(|lane| lane.commits()).sum()
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
        self.in_group_lane(lanes.of(tenant, group_id), attempt).await
    }

    /// `write_group_async` for a write in the group's lane without a savepoint of its own
    /// (`savepoint::without_savepoint`): on PostgreSQL one statement that does all of its work
    /// or none of it (`Tx::patch_members_checked`). `None` on SQLite.
    pub async fn write_group_unguarded<R: Send + 'static>(
        &self,
        tenant: TenantId,
        group_id: &str,
        f: impl FnMut(&mut Tx<'_>) -> std::result::Result<R, Stopped> + Send + 'static,
    ) -> Option<Result<R>> {
        let lanes = self.group_lanes.as_ref()?;
        let f = Arc::new(Mutex::new(f));
        let attempt = || {
            let f = f.clone();
            Unguarded(move |tx: &mut Tx<'_>| (*f.lock().unwrap_or_else(|p| p.into_inner()))(tx))
        };
        Some(self.in_group_lane(lanes.of(tenant, group_id), attempt).await)
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

#[cfg(test)]
#[path = "group_lane_tests.rs"]
mod tests;
