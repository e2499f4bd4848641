//! The threads a request's database work runs on: as many as the read pool has connections.
//!
//! That work used to go to the async runtime's blocking pool, which grows a thread for every
//! request waiting: under 32 concurrent PostgreSQL writes, 32 threads took turns at 8 pooled
//! connections, each turn a futex wait and a wake-up (`r2d2::Pool::get_timeout` and
//! parking_lot's `sched_yield` were 15% of those threads' samples, and switching between
//! threads 40%). Here work queues until one of these threads is free, a thread that finishes
//! one request takes the next without sleeping, and none waits for a connection, since no more
//! of them run than there are connections (others, such as the request log's writer, may hold
//! one for a moment).

use crate::error::{Error, Result};

pub(super) struct DbThreads {
    threads: rayon_core::ThreadPool,
}

impl DbThreads {
    pub(super) fn new(count: usize) -> Result<DbThreads> {
        DbThreads::named(count, "scimd-db")
    }

    /// `count` threads named `name-0`, `name-1`, …
    pub(super) fn named(count: usize, name: &'static str) -> Result<DbThreads> {
        let threads = rayon_core::ThreadPoolBuilder::new()
            .num_threads(count.max(1))
            .thread_name(move |i| format!("{name}-{i}"))
            // `run` catches a job's panic; this is the last guard against aborting the process.
            .panic_handler(|_| tracing::error!("database work panicked outside its request"))
            .build()
            .map_err(|e| Error::internal(format!("cannot start the database threads: {e}")))?;
        Ok(DbThreads { threads })
    }

    /// Runs `f` on one of the threads and answers once it has; a panic in `f` becomes an
    /// internal error (the request's transaction was rolled back as the panic left it).
    pub(super) async fn run<R: Send + 'static>(&self, f: impl FnOnce() -> Result<R> + Send + 'static) -> Result<R> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let queued_at = std::time::Instant::now();
        self.threads.spawn(move || {
            let f = || super::pool_checkout::waited_since(queued_at, f);
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
                let message = panic.downcast_ref::<&str>().copied().unwrap_or("(not a string)");
                tracing::error!(panic = message, "database work panicked");
                Err(Error::internal("database work panicked"))
            });
            // The request may have gone (its client hung up): nobody to answer.
            let _ = answer.send(ran);
        });
        answered.await.unwrap_or_else(|_| Err(Error::internal("the database threads stopped")))
    }

    /// Runs `f` on one of the threads without waiting for it: nobody hears how it went, so `f`
    /// reports its own failure. A panic in `f` is logged.
    pub(super) fn spawn(&self, f: impl FnOnce() + Send + 'static) {
        let queued_at = std::time::Instant::now();
        self.threads.spawn(move || {
            let f = || super::pool_checkout::waited_since(queued_at, f);
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
                tracing::error!("database work nobody waited for panicked");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::DbThreads;
    use crate::error::Error;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    /// Many more jobs than threads: every one answers with its own value, never more of them
    /// run at once than there are threads (so none can wait for one of as many connections),
    /// and they do run side by side.
    #[test]
    fn jobs_queue_for_the_threads_and_all_answer() {
        let threads = DbThreads::new(3).unwrap();
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs = (0..40).map(|i| {
            let (running, most) = (running.clone(), most.clone());
            threads.run(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(5));
                running.fetch_sub(1, Ordering::SeqCst);
                Ok((i, std::thread::current().name().map(str::to_string)))
            })
        });
        let answers = block_on(futures_util::future::join_all(jobs));
        for (i, answer) in answers.into_iter().enumerate() {
            let (n, name) = answer.unwrap();
            assert_eq!(n, i);
            assert!(name.is_some_and(|n| n.starts_with("scimd-db-")));
        }
        let most = most.load(Ordering::SeqCst);
        assert!((2..=3).contains(&most), "{most} jobs ran at once on 3 threads");
    }

    #[test]
    fn a_panicking_job_answers_an_internal_error_and_the_threads_go_on() {
        let threads = DbThreads::new(1).unwrap();
        let panicked = block_on(threads.run(|| -> crate::error::Result<()> { panic!("in a job") }));
        assert!(matches!(panicked, Err(Error::Internal(_))), "{panicked:?}");
        assert_eq!(block_on(threads.run(|| Ok(5))).unwrap(), 5);
    }
}
