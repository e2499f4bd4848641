//! Failed-authentication throttling per (tenant, client address): after `limit` failures in a
//! window, that pair gets 429 with `Retry-After` until the window ends — valid credentials
//! included, so guessing learns nothing. Other addresses and tenants are unaffected, and the
//! hot path pays one atomic load while nobody is failing. It holds at most `MAX_KEYS` pairs:
//! a flood of new pairs beyond that goes uncounted rather than growing the map.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const MAX_KEYS: usize = 100_000;

/// The least time between two sweeps of a full map for ended windows: each sweep reads every
/// entry under the lock, so a flood of new pairs must not run one per failure.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

struct Window {
    started: Instant,
    failures: u32,
}

pub struct Throttle {
    limit: u32,
    window: Duration,
    max_keys: usize,
    entries: Mutex<Entries>,
    /// Entries in the map, read without the lock: zero means nothing to check.
    len: AtomicUsize,
}

struct Entries {
    windows: HashMap<(String, IpAddr), Window>,
    swept_at: Option<Instant>,
}

impl Throttle {
    pub fn new(limit: u32, window: Duration) -> Self {
        let entries = Entries { windows: HashMap::new(), swept_at: None };
        let len = AtomicUsize::new(0);
        Throttle { limit: limit.max(1), window, max_keys: MAX_KEYS, entries: Mutex::new(entries), len }
    }

    /// Failures that start a pair's 429s.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Seconds to wait if this pair is throttled now.
    pub fn retry_after(&self, tenant: &str, addr: IpAddr) -> Option<u64> {
        if self.len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let w = entries.windows.get(&(tenant.to_string(), addr))?;
        let elapsed = w.started.elapsed();
        (w.failures >= self.limit && elapsed < self.window).then(|| (self.window - elapsed).as_secs().max(1))
    }

    /// Counts a failure; returns the failures in the current window, or `None` when the map is
    /// full of pairs whose windows are running and this new one went uncounted.
    pub fn record_failure(&self, tenant: &str, addr: IpAddr) -> Option<u32> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let key = (tenant.to_string(), addr);
        if entries.windows.len() >= self.max_keys && !entries.windows.contains_key(&key) {
            if entries.swept_at.is_none_or(|at| at.elapsed() >= SWEEP_EVERY) {
                let window = self.window;
                entries.windows.retain(|_, w| w.started.elapsed() < window);
                entries.swept_at = Some(Instant::now());
                self.len.store(entries.windows.len(), Ordering::Relaxed);
            }
            if entries.windows.len() >= self.max_keys {
                return None;
            }
        }
        let w = entries.windows.entry(key).or_insert(Window { started: Instant::now(), failures: 0 });
        if w.started.elapsed() >= self.window {
            *w = Window { started: Instant::now(), failures: 0 };
        }
        w.failures += 1;
        let failures = w.failures;
        self.len.store(entries.windows.len(), Ordering::Relaxed);
        Some(failures)
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

    #[test]
    fn a_full_map_counts_the_pairs_it_holds_and_a_new_one_only_once_a_sweep_makes_room() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let mut t = Throttle::new(5, Duration::from_secs(60));
        t.max_keys = 3;
        for name in ["a", "b", "c"] {
            assert_eq!(t.record_failure(name, a), Some(1));
        }
        assert_eq!(t.record_failure("d", a), None, "a new pair beyond the bound");
        assert_eq!(t.retry_after("d", a), None);
        assert_eq!(t.record_failure("a", a), Some(2), "a pair it holds goes on counting");

        let mut short = Throttle::new(5, Duration::from_millis(1));
        short.max_keys = 3;
        for name in ["a", "b", "c"] {
            short.record_failure(name, a);
        }
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(short.record_failure("d", a), Some(1), "a sweep removed the ended windows");
        short.record_failure("e", a);
        short.record_failure("f", a);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(short.record_failure("g", a), None, "at most one sweep a second");
    }
}
