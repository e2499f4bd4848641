//! PostgreSQL point reads that arrive together share one statement: a user by id (GET
//! /Users/{id}, the read before a PUT or PATCH) or by userName (Okta's pre-check before every
//! create).
//!
//! On PostgreSQL a point read is a round trip, and PostgreSQL's work per statement dwarfs its
//! work per row: pgbench on 10,000 users, 8 clients, read 44,000–49,000 users/s one statement
//! a user, 150,000–160,000 four a statement and 210,000–240,000 eight a statement. So a read that
//! finds no statement running runs its own, alone, as before; the reads that arrive while it
//! runs wait for it, and the first of them then reads all that are waiting by one statement,
//! each key with its own tenant (much as PostgreSQL flushes its WAL once for the commits
//! waiting on it). GET by id went from 10,681 to 14,348/s and PostgreSQL's CPU per read from
//! 81 to 28 µs (BENCHMARKS.md, the sixtieth round). SQLite's reads are in-process and do not
//! come here.
//!
//! A waiting read blocks its database thread but holds no connection, and the one that reads
//! for it needs only one: no caller of `Store::user_and_groups` holds one of the read pool's.

use super::connection::{AnyConnection, Pool};
use super::predicate::UserKey;
use super::user_read::{user_and_groups, users_and_groups_pg, BatchKey, UserAndGroups};
use super::{pool_checkout, TenantId};
use crate::error::{Error, Result};
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// The most reads one statement takes; more wait for the next.
const MOST: usize = 64;

/// The reads waiting for a statement, and how many statements run.
#[derive(Default)]
pub(super) struct ReadBatches {
    queue: Mutex<Queue>,
    /// The most reads one statement took, for tests to see that reads were batched.
    #[cfg(test)]
    pub(super) largest: std::sync::atomic::AtomicUsize,
}

#[derive(Default)]
struct Queue {
    /// In arrival order.
    waiting: VecDeque<Arc<Waiter>>,
    /// Readers running a statement or told to: a read that finds fewer than `LEADERS` leads.
    leaders: usize,
}

/// How many statements of batched reads run at once. One: `bench/ab-postgres`, 2,000 users,
/// GET by id, medians of two rounds: 14,865/s with one, 13,378 with two and 11,546 with three
/// (PostgreSQL's CPU per read 26, 46 and 63 µs), against 11,923 unbatched (71 µs). With more,
/// each statement finds fewer reads waiting, and PostgreSQL's cost per statement is the cost
/// this saves.
const LEADERS: usize = 1;

struct Waiter {
    tenant: TenantId,
    by_user_name: bool,
    value: String,
    with_groups: bool,
    turn: Mutex<Turn>,
    changed: Condvar,
}

enum Turn {
    Wait,
    /// Read for those waiting, this one first.
    Lead,
    Answered(Result<Option<UserAndGroups>>),
}

impl ReadBatches {
    /// The user of `tenant` with the unique `key` (`user_read::user_and_groups`), read in one
    /// statement with whatever other point reads wait beside it.
    pub(super) fn read(
        &self,
        pool: &Pool,
        tenant: TenantId,
        key: UserKey<'_>,
        with_groups: bool,
    ) -> Result<Option<UserAndGroups>> {
        let (by_user_name, value) = match key {
            UserKey::Id(v) => (false, v),
            UserKey::UserNameNorm(v) => (true, v),
        };
        let me = Arc::new(Waiter {
            tenant,
            by_user_name,
            value: value.to_owned(),
            with_groups,
            turn: Mutex::new(Turn::Wait),
            changed: Condvar::new(),
        });
        let leads_at_once = {
            let mut queue = self.lock();
            if queue.leaders < LEADERS {
                queue.leaders += 1;
                true
            } else {
                queue.waiting.push_back(me.clone());
                false
            }
        };
        if !leads_at_once {
            match me.wait_for_turn() {
                Turn::Answered(answer) => return answer,
                Turn::Lead | Turn::Wait => {}
            }
        }
        self.lead(pool, &me)
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads for `me` and the first of those waiting, `MOST` in all (`me` first), answers the
    /// others, and hands the lead to the first that arrived meanwhile.
    fn lead(&self, pool: &Pool, me: &Arc<Waiter>) -> Result<Option<UserAndGroups>> {
        let batch = {
            let mut queue = self.lock();
            let n = queue.waiting.len().min(MOST - 1);
            std::iter::once(me.clone()).chain(queue.waiting.drain(..n)).collect::<Vec<_>>()
        };
        #[cfg(test)]
        self.largest.fetch_max(batch.len(), std::sync::atomic::Ordering::Relaxed);
        let mut leading = Leading { batches: self, batch, answered: false };
        let mut answers = read_batch(pool, &leading.batch).into_iter();
        let mine = answers.next().unwrap_or_else(|| Err(Error::internal("a batched point read went unanswered")));
        for (waiter, answer) in leading.batch[1..].iter().zip(answers) {
            waiter.answer(answer);
        }
        leading.answered = true;
        drop(leading);
        mine
    }
}

/// The lead while a batch is read: however that ends (a panic included, which would otherwise
/// leave every later read waiting), those not answered are, and the next waiting leads.
struct Leading<'a> {
    batches: &'a ReadBatches,
    batch: Vec<Arc<Waiter>>,
    answered: bool,
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        if !self.answered {
            // The first is the leader, whose answer is its return value (or its panic).
            for waiter in self.batch.iter().skip(1) {
                waiter.fail_unless_answered();
            }
        }
        let mut queue = self.batches.lock();
        match queue.waiting.pop_front() {
            Some(next) => next.set(Turn::Lead),
            None => queue.leaders -= 1,
        }
    }
}

impl Waiter {
    fn wait_for_turn(&self) -> Turn {
        let mut turn = self.turn.lock().unwrap_or_else(PoisonError::into_inner);
        while matches!(*turn, Turn::Wait) {
            turn = self.changed.wait(turn).unwrap_or_else(PoisonError::into_inner);
        }
        std::mem::replace(&mut *turn, Turn::Wait)
    }

    fn set(&self, to: Turn) {
        *self.turn.lock().unwrap_or_else(PoisonError::into_inner) = to;
        self.changed.notify_one();
    }

    fn answer(&self, answer: Result<Option<UserAndGroups>>) {
        self.set(Turn::Answered(answer));
    }

    fn fail_unless_answered(&self) {
        let mut turn = self.turn.lock().unwrap_or_else(PoisonError::into_inner);
        if !matches!(*turn, Turn::Answered(_)) {
            *turn = Turn::Answered(Err(Error::internal("a batch of point reads failed")));
            self.changed.notify_one();
        }
    }
}

/// Each waiter's answer, in order: one statement per key column on one connection, or the
/// single-key statement when the batch is one read. An error answers all of them.
fn read_batch(pool: &Pool, batch: &[Arc<Waiter>]) -> Vec<Result<Option<UserAndGroups>>> {
    let read = pool_checkout::on_live(pool, |conn| {
        if let [one] = batch {
            let key = if one.by_user_name { UserKey::UserNameNorm(&one.value) } else { UserKey::Id(&one.value) };
            return Ok(vec![user_and_groups(conn, one.tenant, key, one.with_groups)?]);
        }
        let AnyConnection::Postgresql(pg) = conn else {
            return Err(diesel::result::Error::QueryBuilderError("a batch of point reads on SQLite".into()));
        };
        let mut answers: Vec<Option<UserAndGroups>> = batch.iter().map(|_| None).collect();
        for by_user_name in [false, true] {
            let (places, keys): (Vec<usize>, Vec<BatchKey<'_>>) = batch
                .iter()
                .enumerate()
                .filter(|(_, w)| w.by_user_name == by_user_name)
                .map(|(i, w)| (i, BatchKey { tenant: w.tenant, value: &w.value, with_groups: w.with_groups }))
                .unzip();
            if keys.is_empty() {
                continue;
            }
            for (place, found) in places.into_iter().zip(users_and_groups_pg(pg, by_user_name, &keys)?) {
                answers[place] = found;
            }
        }
        Ok(answers)
    });
    match read {
        Ok((_, answers)) => answers.into_iter().map(Ok).collect(),
        Err(e) => batch.iter().map(|_| Err(e.clone())).collect(),
    }
}
