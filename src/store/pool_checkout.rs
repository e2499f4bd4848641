//! Connections from a pool within the request's database wait: a connection the server closed
//! is replaced, and the wait counts from when the request's database work was queued.

use super::connect_log::one_line;
use super::connection::{AnyConnection, Pool, PooledConnection};
use crate::error::{Error, Result};
use diesel::pg::PgConnection;
use diesel::{Connection, QueryResult};
use std::time::{Duration, Instant};

/// A connection from `pool`. None within the pool's wait (the database restarting or out of
/// reach, or every connection busy that long) is `Error::Unavailable`, a 503 with Retry-After:
/// a client's retry can succeed, which a 500 does not tell it.
pub fn checkout(pool: &Pool) -> Result<PooledConnection> {
    checkout_by(pool, wait_deadline(pool))
}

/// `checkout`, waiting no later than `deadline`.
fn checkout_by(pool: &Pool, deadline: Instant) -> Result<PooledConnection> {
    let wait = deadline.saturating_duration_since(Instant::now());
    pool.get_timeout(wait).map_err(|e| Error::Unavailable(one_line(&e)))
}

thread_local! {
    /// When the work running on this thread was queued (`waited_since`).
    static QUEUED_AT: std::cell::Cell<Option<Instant>> = const { std::cell::Cell::new(None) };
}

/// Runs `f`, queued at `queued_at`, with its database wait counted from then: work that
/// queued for a database thread behind others waiting out an outage has waited already.
/// Counted from the checkout instead, under 24 concurrent requests and 8 threads each third
/// waited a whole wait of its own after the one before (5, 10 and 15 s for a wait of 5 s).
pub(super) fn waited_since<R>(queued_at: Instant, f: impl FnOnce() -> R) -> R {
    struct Reset(Option<Instant>);
    impl Drop for Reset {
        fn drop(&mut self) {
            QUEUED_AT.with(|q| q.set(self.0));
        }
    }
    let _reset = Reset(QUEUED_AT.with(|q| q.replace(Some(queued_at))));
    f()
}

/// When the work on this thread was queued: now, if it did not queue (`waited_since`).
pub(super) fn queued_at() -> Instant {
    QUEUED_AT.with(|q| q.get()).unwrap_or_else(Instant::now)
}

/// When a checkout on this thread stops waiting: the pool's wait after the work was queued.
fn wait_deadline(pool: &Pool) -> Instant {
    queued_at() + pool.connection_timeout()
}

/// What is left of the database wait of the work on this thread, once it has queued for a
/// tenth of the wait: a SQLite write lock is waited for that long and no longer
/// (`savepoint::begin_batch`). `None` for work that queued a moment, the usual case.
pub(super) fn wait_left(pool: &Pool) -> Option<Duration> {
    let whole = pool.connection_timeout();
    let left = wait_deadline(pool).saturating_duration_since(Instant::now());
    (left < whole - whole / 10).then_some(left)
}

/// A connection from `pool` with a transaction opened on it by `begin`.
pub fn begun(pool: &Pool, begin: impl FnMut(&mut AnyConnection) -> QueryResult<()>) -> Result<PooledConnection> {
    Ok(on_live(pool, begin)?.0)
}

/// Runs `first` (a BEGIN, or a statement that is a read by itself) on a connection from `pool`
/// and returns both. A connection whose server side is gone (PostgreSQL restarted, a proxy's
/// idle timeout, a terminated backend) fails it: the connection is marked broken, so the pool
/// drops it, and the next one is tried: `first` must be safe to send again (it changes nothing,
/// or its second run fails: `write_on_live_pg`). After as many failures as the pool holds
/// connections, the last error is returned.
pub fn on_live<T>(
    pool: &Pool,
    first: impl FnMut(&mut AnyConnection) -> QueryResult<T>,
) -> Result<(PooledConnection, T)> {
    // One database wait for all the attempts. Each used to wait a whole one of its own: a
    // request that waited for a busy pool, was handed a connection that had died meanwhile,
    // and then found no new one to be had (PostgreSQL going down) waited twice, and up to
    // (pool size + 1) times.
    on_live_by(pool, wait_deadline(pool), first)
}

/// `on_live`, waiting for connections no later than `deadline`.
pub fn on_live_by<T>(
    pool: &Pool,
    deadline: Instant,
    mut first: impl FnMut(&mut AnyConnection) -> QueryResult<T>,
) -> Result<(PooledConnection, T)> {
    use diesel::connection::TransactionManager;
    use diesel::result::{DatabaseErrorKind, Error::DatabaseError};
    let mut attempts_left = pool.max_size() + 1;
    loop {
        let mut conn = checkout_by(pool, deadline)?;
        let e = match first(&mut conn) {
            Ok(value) => return Ok((conn, value)),
            Err(e @ DatabaseError(DatabaseErrorKind::ClosedConnection, _)) => e,
            Err(e) => return Err(e.into()),
        };
        <AnyConnection as Connection>::TransactionManager::transaction_manager_status_mut(&mut conn).set_in_error();
        attempts_left -= 1;
        if attempts_left == 0 {
            return Err(e.into());
        }
        tracing::warn!(error = %one_line(&e), "a pooled database connection was closed by the server; replacing it");
    }
}

/// Runs `statement`, a write that is a transaction by itself, on a live PostgreSQL connection
/// from `pool` (`on_live`), and returns its own result for the caller to interpret. A
/// connection found dead is replaced and the statement sent again: it must be one whose
/// second run, should the first have committed before its connection died, fails rather than
/// writing the same thing twice (a version check, a unique key).
pub fn write_on_live_pg<T>(
    pool: &Pool,
    mut statement: impl FnMut(&mut PgConnection) -> QueryResult<T>,
) -> Result<QueryResult<T>> {
    use diesel::result::{DatabaseErrorKind, Error::DatabaseError};
    let (_, result) = on_live(pool, |conn| {
        let AnyConnection::Postgresql(pg) = conn else {
            return Ok(Err(diesel::result::Error::QueryBuilderError("a PostgreSQL statement on SQLite".into())));
        };
        match statement(pg) {
            Err(e @ DatabaseError(DatabaseErrorKind::ClosedConnection, _)) => Err(e),
            // Its error is read after the connection is back in the pool, too late for
            // `errors::met_read_only`: the session that refused the write as read-only is
            // marked here, while it is held, so that the pool drops it.
            Err(e @ DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, _)) => {
                use diesel::connection::{Connection, TransactionManager};
                <PgConnection as Connection>::TransactionManager::transaction_manager_status_mut(pg).set_in_error();
                Ok(Err(e))
            }
            other => Ok(other),
        }
    })?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::connection::{pools, Pools};

    /// Work queued longer ago than the wait gets no more of it at its checkout; the thread
    /// forgets when its work was queued once that work is done.
    #[test]
    fn a_checkout_s_wait_counts_from_when_its_work_was_queued() {
        let dir = tempfile::tempdir().unwrap();
        let wait = Duration::from_secs(3);
        let Pools { read, .. } = pools(&format!("sqlite://{}/t.db", dir.path().display()), 1, wait).unwrap();
        let held = checkout(&read).unwrap();
        let started = Instant::now();
        let queued_long_ago = started - wait;
        assert!(matches!(waited_since(queued_long_ago, || checkout(&read)), Err(Error::Unavailable(_))));
        assert!(started.elapsed() < Duration::from_secs(1), "it waited {:?}", started.elapsed());
        assert_eq!(QUEUED_AT.with(|q| q.get()), None);
        drop(held);
        assert!(waited_since(Instant::now(), || checkout(&read)).is_ok());
    }
}
