//! Generating, hashing and verifying credential secrets (argon2id PHC strings).

use crate::error::{Error, Result};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::distributions::{Alphanumeric, DistString};

/// Prefix of every bearer token scimd issues, so a leaked one is recognisable in logs and scans.
pub const TOKEN_PREFIX: &str = "scimd_";
const TOKEN_ID_LEN: usize = 16;
const TOKEN_SECRET_LEN: usize = 40;

/// `n` random characters from [A-Za-z0-9] (about 5.95 bits each), from the OS generator.
pub fn random_alphanumeric(n: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, n)
}

pub fn hash_secret(secret: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("argon2 hashing failed: {e}")))
}

/// Constant-time in the secret (argon2 compares digests in constant time). Blocking: waits its
/// turn at the process's check gate, or fails with `Error::Busy` when the queue is full.
pub fn verify_secret(secret: &str, phc: &str) -> Result<bool> {
    static GATE: std::sync::LazyLock<CheckGate> = std::sync::LazyLock::new(CheckGate::for_this_machine);
    GATE.run(|| PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(secret.as_bytes(), &h).is_ok()))
}

/// How many argon2 checks run at once (half the cores, at least one) and how many may wait.
/// Each holds 19 MiB and a core for about 25 ms: before this, 256 connections presenting
/// made-up tokens ran 300 at once, took RSS to 1.9 GB and made a cached credential's request
/// wait 2–4 s. Cached credentials need no check and never come here.
struct CheckGate {
    running_and_waiting: std::sync::Mutex<(usize, usize)>,
    freed: std::sync::Condvar,
    permits: usize,
    max_waiting: usize,
}

impl CheckGate {
    fn for_this_machine() -> CheckGate {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        CheckGate::new((cores / 2).max(1), 32)
    }

    fn new(permits: usize, max_waiting: usize) -> CheckGate {
        CheckGate { running_and_waiting: Default::default(), freed: Default::default(), permits, max_waiting }
    }

    fn run<T>(&self, check: impl FnOnce() -> T) -> Result<T> {
        let lock = || self.running_and_waiting.lock().unwrap_or_else(|p| p.into_inner());
        let mut state = lock();
        if state.0 >= self.permits {
            if state.1 >= self.max_waiting {
                return Err(Error::Busy);
            }
            state.1 += 1;
            while state.0 >= self.permits {
                state = self.freed.wait(state).unwrap_or_else(|p| p.into_inner());
            }
            state.1 -= 1;
        }
        state.0 += 1;
        drop(state);
        /// Gives the permit back however the check ends.
        struct Release<'a>(&'a CheckGate);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                self.0.running_and_waiting.lock().unwrap_or_else(|p| p.into_inner()).0 -= 1;
                self.0.freed.notify_one();
            }
        }
        let _release = Release(self);
        Ok(check())
    }
}

/// A bearer token: `scimd_` + 16-character id (the indexed lookup key) + 40-character secret
/// (about 238 bits). Alphanumeric only, so a double-click selects all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerToken {
    pub id: String,
    pub secret: String,
}

impl BearerToken {
    pub fn generate() -> Self {
        BearerToken { id: random_alphanumeric(TOKEN_ID_LEN), secret: random_alphanumeric(TOKEN_SECRET_LEN) }
    }

    pub fn parse(token: &str) -> Option<Self> {
        Self::parse_with_prefix(token, TOKEN_PREFIX)
    }

    /// Tokens of another family (admin API tokens) share the shape with their own prefix.
    pub fn parse_with_prefix(token: &str, prefix: &str) -> Option<Self> {
        let rest = token.strip_prefix(prefix)?;
        if rest.len() != TOKEN_ID_LEN + TOKEN_SECRET_LEN || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        let (id, secret) = rest.split_at(TOKEN_ID_LEN);
        Some(BearerToken { id: id.to_string(), secret: secret.to_string() })
    }

    pub fn expose(&self) -> String {
        self.expose_with_prefix(TOKEN_PREFIX)
    }

    pub fn expose_with_prefix(&self, prefix: &str) -> String {
        format!("{prefix}{}{}", self.id, self.secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trips_and_rejects_garbage() {
        let t = BearerToken::generate();
        assert_eq!(BearerToken::parse(&t.expose()), Some(t.clone()));
        for bad in ["", "scimd_", "Bearer x", "scimd_short", &t.expose()[1..], &format!("{}x", t.expose())] {
            assert_eq!(BearerToken::parse(bad), None, "{bad}");
        }
        let mut wrong = t.expose();
        wrong.replace_range(10..11, "-");
        assert_eq!(BearerToken::parse(&wrong), None);
    }

    #[test]
    fn hashes_verify_only_their_secret() {
        let h = hash_secret("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_secret("correct horse", &h).unwrap());
        assert!(!verify_secret("correct horsf", &h).unwrap());
        assert!(!verify_secret("correct horse", "not a phc string").unwrap());
    }

    #[test]
    fn the_gate_runs_its_permits_queues_its_waiting_and_refuses_the_rest() {
        use std::sync::mpsc;
        use std::sync::Arc;
        use std::time::Duration;
        let gate = Arc::new(CheckGate::new(1, 2));
        let (release, held) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel();
        let holder = {
            let gate = gate.clone();
            std::thread::spawn(move || {
                gate.run(|| {
                    started_tx.send(()).unwrap();
                    held.recv().unwrap();
                    "first"
                })
            })
        };
        started.recv().unwrap();
        let waiters: Vec<_> = (0..2)
            .map(|i| {
                let gate = gate.clone();
                std::thread::spawn(move || gate.run(move || i))
            })
            .collect();
        while gate.running_and_waiting.lock().unwrap().1 < 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(matches!(gate.run(|| ()), Err(Error::Busy)), "two wait already");
        release.send(()).unwrap();
        assert_eq!(holder.join().unwrap().unwrap(), "first");
        let mut done: Vec<i32> = waiters.into_iter().map(|w| w.join().unwrap().unwrap()).collect();
        done.sort();
        assert_eq!(done, [0, 1]);
        // A check that panics gives its permit back.
        let panicking = gate.clone();
        assert!(std::thread::spawn(move || panicking.run(|| panic!("inside a check"))).join().is_err());
        assert_eq!(*gate.running_and_waiting.lock().unwrap(), (0, 0));
        assert_eq!(gate.run(|| 7).unwrap(), 7);
    }
}
