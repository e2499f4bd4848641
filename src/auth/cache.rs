//! Verified credentials, remembered so that argon2 (~25 ms) runs once per credential and not
//! once per request. Keyed by an HMAC of what the client presented under a per-process random
//! key, so the map never holds a usable secret. Bounded in size; entries are rechecked against
//! their row after a short time, so a revoked credential stops working within that time on
//! every replica.

use crate::error::{Error, Result};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MAX_ENTRIES: usize = 10_000;

pub type CacheKey = [u8; 32];

#[derive(Debug, Clone)]
pub struct CachedCredential<P> {
    pub principal: P,
    /// The hash the secret was verified against: a recheck only has to see it unchanged.
    pub secret_hash: String,
    pub verified_at: Instant,
}

pub struct CredentialCache<P> {
    key: [u8; 32],
    entries: Mutex<HashMap<CacheKey, CachedCredential<P>>>,
    recheck_after: Duration,
    /// One gate per presentation being verified right now (see `single_flight`).
    in_flight: Mutex<HashMap<CacheKey, Arc<Gate>>>,
}

/// Where the verifications of one presentation take turns.
#[derive(Default)]
struct Gate {
    /// How many have ended.
    runs: AtomicU64,
    /// Held by the one verifying; the last run's error, if it failed, with its number.
    last_failure: Mutex<Option<(u64, Error)>>,
}

pub enum Lookup<P> {
    Fresh(P),
    Stale(CachedCredential<P>),
    Missing,
}

impl<P: Clone> CredentialCache<P> {
    pub fn new(recheck_after: Duration) -> Self {
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
        CredentialCache {
            key,
            entries: Mutex::new(HashMap::new()),
            recheck_after,
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// The cache key of a presentation: tenant, kind, public id and secret, unambiguously joined.
    pub fn key_of(&self, parts: &[&str]) -> CacheKey {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        for p in parts {
            mac.update(&(p.len() as u64).to_le_bytes());
            mac.update(p.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }

    pub fn lookup(&self, key: &CacheKey) -> Lookup<P> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(key) {
            Some(e) if e.verified_at.elapsed() < self.recheck_after => Lookup::Fresh(e.principal.clone()),
            Some(e) => Lookup::Stale(e.clone()),
            None => Lookup::Missing,
        }
    }

    pub fn insert(&self, key: CacheKey, principal: P, secret_hash: String) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            let horizon = self.recheck_after;
            entries.retain(|_, e| e.verified_at.elapsed() < horizon);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, CachedCredential { principal, secret_hash, verified_at: Instant::now() });
    }

    /// Runs `verify` for `key` while no other thread runs it for the same key: the rest wait,
    /// then (re-reading the cache inside `verify`) find the result instead of repeating it. A
    /// failure is the answer of every request that waited for it too: the same presentation
    /// fails the same way, and with the database out of reach, each of N requests with one
    /// credential would otherwise wait its turn for a database wait of its own (the last, N
    /// waits).
    pub fn single_flight<R>(&self, key: &CacheKey, verify: impl FnOnce() -> Result<R>) -> Result<R> {
        // The runs ended before this request arrived, read as it takes the gate (under the
        // map's lock), so whoever sees it holding the gate knows which runs it will not wait for.
        let (gate, arrived_after) = {
            let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            let gate = in_flight.entry(*key).or_default().clone();
            let runs = gate.runs.load(Ordering::SeqCst);
            (gate, runs)
        };
        let result = {
            let mut last_failure = gate.last_failure.lock().unwrap_or_else(|p| p.into_inner());
            match &*last_failure {
                // A run that ended after this request arrived: the one it waited for.
                Some((run, e)) if *run > arrived_after => Err(e.clone()),
                _ => {
                    let result = verify();
                    let run = gate.runs.fetch_add(1, Ordering::SeqCst) + 1;
                    *last_failure = result.as_ref().err().map(|e| (run, e.clone()));
                    result
                }
            }
        };
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        // Only the map and this thread hold it (clones are made under the map's lock): done.
        if Arc::strong_count(&gate) == 2 {
            in_flight.remove(key);
        }
        result
    }

    /// Removes the entries whose principal matches (a linear pass over at most MAX_ENTRIES,
    /// run only on revocation).
    pub fn remove_where(&self, matches: impl Fn(&P) -> bool) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, e| !matches(&e.principal));
    }

    pub fn remove(&self, key: &CacheKey) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_their_parts() {
        let c: CredentialCache<u8> = CredentialCache::new(Duration::from_secs(5));
        assert_ne!(c.key_of(&["ab", "c"]), c.key_of(&["a", "bc"]));
        assert_eq!(c.key_of(&["a", "b"]), c.key_of(&["a", "b"]));
    }

    #[test]
    fn entries_go_stale_after_the_recheck_time() {
        let c: CredentialCache<u8> = CredentialCache::new(Duration::ZERO);
        let k = c.key_of(&["t", "x"]);
        assert!(matches!(c.lookup(&k), Lookup::Missing));
        c.insert(k, 7, "h".into());
        assert!(matches!(c.lookup(&k), Lookup::Stale(e) if e.principal == 7));
        let fresh: CredentialCache<u8> = CredentialCache::new(Duration::from_secs(60));
        fresh.insert(k, 7, "h".into());
        assert!(matches!(fresh.lookup(&k), Lookup::Fresh(7)));
        fresh.remove(&k);
        assert!(matches!(fresh.lookup(&k), Lookup::Missing));
    }

    #[test]
    fn concurrent_verifications_of_one_key_run_one_at_a_time() {
        use std::sync::atomic::AtomicUsize;
        let c: CredentialCache<u8> = CredentialCache::new(Duration::from_secs(60));
        let k = c.key_of(&["t", "x"]);
        let (running, verified) = (AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    c.single_flight(&k, || {
                        assert_eq!(running.fetch_add(1, Ordering::SeqCst), 0, "two verifications at once");
                        if matches!(c.lookup(&k), Lookup::Missing) {
                            std::thread::sleep(Duration::from_millis(20));
                            verified.fetch_add(1, Ordering::SeqCst);
                            c.insert(k, 1, "h".into());
                        }
                        running.fetch_sub(1, Ordering::SeqCst);
                        Ok(())
                    })
                });
            }
        });
        assert_eq!(verified.load(Ordering::SeqCst), 1, "the others found the first one's result");
        assert!(c.in_flight.lock().unwrap().is_empty(), "gates are removed when done");
    }

    #[test]
    fn requests_that_waited_for_a_failed_verification_share_its_failure() {
        use std::sync::atomic::AtomicUsize;
        let c: CredentialCache<u8> = CredentialCache::new(Duration::from_secs(60));
        let k = c.key_of(&["t", "x"]);
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (entered, leader_verifies) = std::sync::mpsc::channel::<()>();
        let followers_ran = AtomicUsize::new(0);
        let gate_holders = || c.in_flight.lock().unwrap().get(&k).map_or(0, Arc::strong_count);
        std::thread::scope(|s| {
            let (cache, key) = (&c, &k);
            let leader = s.spawn(move || {
                cache.single_flight(key, || -> Result<()> {
                    entered.send(()).unwrap();
                    released.recv().unwrap();
                    Err(Error::Unavailable("the database is down".into()))
                })
            });
            // The followers come once the leader verifies: holding the gate is not enough (a
            // follower scheduled first would verify before it, as a request would).
            leader_verifies.recv().unwrap();
            let followers: Vec<_> = (0..5)
                .map(|_| {
                    s.spawn(|| {
                        c.single_flight(&k, || {
                            followers_ran.fetch_add(1, Ordering::SeqCst);
                            Ok(())
                        })
                    })
                })
                .collect();
            // The map, the leader and the five followers hold the gate, so each has read the
            // runs ended before it came (none).
            while gate_holders() < 7 {
                std::thread::yield_now();
            }
            release.send(()).unwrap();
            assert!(matches!(leader.join().unwrap(), Err(Error::Unavailable(_))));
            for f in followers {
                assert!(matches!(f.join().unwrap(), Err(Error::Unavailable(_))), "a waiter got the leader's failure");
            }
        });
        assert_eq!(followers_ran.load(Ordering::SeqCst), 0, "no waiter verified again");
        assert!(c.in_flight.lock().unwrap().is_empty());
        // A request after the failure verifies for itself.
        assert!(c.single_flight(&k, || Ok(7)).is_ok_and(|v| v == 7));
    }
}
