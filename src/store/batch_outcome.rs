//! How a lane's batch ended (`commit`), for the requests that wrote in it: each is answered
//! only once the commit that made its work durable has happened, or failed.

use crate::error::{Error, Result};
use std::sync::{Condvar, Mutex, MutexGuard};

pub(super) type Ended = std::result::Result<(), Error>;

/// What a request that does not block on the batch has run when the batch ends.
type OnEnd = Box<dyn FnOnce(&Ended) + Send>;

/// How a batch ended, for the requests waiting on it: threads blocked in `wait`, and the
/// `on_end` callbacks of requests that await it asynchronously.
#[derive(Default)]
pub(super) struct Outcome {
    ended: Mutex<(Option<Ended>, Vec<OnEnd>)>,
    signal: Condvar,
}

impl Outcome {
    pub(super) fn set(&self, result: Ended) {
        let callbacks = {
            let mut ended = lock(&self.ended);
            ended.0 = Some(result.clone());
            std::mem::take(&mut ended.1)
        };
        self.signal.notify_all();
        for callback in callbacks {
            callback(&result);
        }
    }

    /// Runs `callback` when the batch ends, or now if it has.
    pub(super) fn on_end(&self, callback: OnEnd) {
        let mut ended = lock(&self.ended);
        match &ended.0 {
            Some(result) => {
                let result = result.clone();
                drop(ended);
                callback(&result);
            }
            None => ended.1.push(callback),
        }
    }

    pub(super) fn wait(&self) -> Result<()> {
        let mut ended = lock(&self.ended);
        loop {
            match &ended.0 {
                Some(result) => return ended_result(result),
                None => ended = self.signal.wait(ended).unwrap_or_else(|p| p.into_inner()),
            }
        }
    }
}

pub(super) fn ended_result(result: &Ended) -> Result<()> {
    result.clone().map_err(|e| match e {
        Error::Internal(cause) => Error::Internal(format!("the commit failed: {cause}")),
        // A full disk or a lost connection is told as itself: the client may retry.
        other => other,
    })
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic never happens while these locks are held (requests and callbacks run outside).
    m.lock().unwrap_or_else(|p| p.into_inner())
}
