//! Failed-authentication throttling per (tenant, client address): after `limit` failures in a
//! window, that pair gets 429 with `Retry-After` until the window ends — valid credentials
//! included, so guessing learns nothing. Other addresses and tenants are unaffected, and the
//! hot path pays one atomic load while nobody is failing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const MAX_KEYS: usize = 100_000;

struct Window {
    started: Instant,
    failures: u32,
}

pub struct Throttle {
    limit: u32,
    window: Duration,
    entries: Mutex<HashMap<(String, IpAddr), Window>>,
    /// Entries in the map, read without the lock: zero means nothing to check.
    len: AtomicUsize,
}

impl Throttle {
    pub fn new(limit: u32, window: Duration) -> Self {
        Throttle { limit: limit.max(1), window, entries: Mutex::new(HashMap::new()), len: AtomicUsize::new(0) }
    }

    /// Seconds to wait if this pair is throttled now.
    pub fn retry_after(&self, tenant: &str, addr: IpAddr) -> Option<u64> {
        if self.len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let w = entries.get(&(tenant.to_string(), addr))?;
        let elapsed = w.started.elapsed();
        (w.failures >= self.limit && elapsed < self.window).then(|| (self.window - elapsed).as_secs().max(1))
    }

    /// Counts a failure; returns the failures in the current window.
    pub fn record_failure(&self, tenant: &str, addr: IpAddr) -> u32 {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_KEYS {
            let window = self.window;
            entries.retain(|_, w| w.started.elapsed() < window);
        }
        let w = entries.entry((tenant.to_string(), addr)).or_insert(Window { started: Instant::now(), failures: 0 });
        if w.started.elapsed() >= self.window {
            *w = Window { started: Instant::now(), failures: 0 };
        }
        w.failures += 1;
        let failures = w.failures;
        self.len.store(entries.len(), Ordering::Relaxed);
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_the_pair_that_fails_and_no_other() {
        let t = Throttle::new(3, Duration::from_secs(60));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(t.retry_after("acme", a), None);
        for _ in 0..3 {
            t.record_failure("acme", a);
        }
        assert!(t.retry_after("acme", a).is_some_and(|s| (1..=60).contains(&s)));
        assert_eq!(t.retry_after("acme", b), None);
        assert_eq!(t.retry_after("globex", a), None);
        let short = Throttle::new(1, Duration::ZERO);
        short.record_failure("acme", a);
        assert_eq!(short.retry_after("acme", a), None, "the window has passed");
    }
}
