//! Who is calling: turns a tenant name and an `Authorization` header into a `Principal`, or a
//! 401 that says nothing about whether the tenant exists.

pub(crate) mod cache;
pub mod secrets;
pub(crate) mod throttle;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::store::{Store, TenantId};
use cache::{CacheKey, CredentialCache, Lookup};
use chrono::{DateTime, Utc};
use secrets::BearerToken;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use throttle::Throttle;

/// What the client presented in `Authorization`.
#[derive(Debug, Clone)]
pub enum Presented {
    Bearer(String),
    Basic { username: String, password: String },
}

impl Presented {
    fn kind(&self) -> &'static str {
        match self {
            Presented::Bearer(_) => "bearer",
            Presented::Basic { .. } => "basic",
        }
    }

    /// (credential id, secret) as stored, if the presentation is well formed.
    fn id_and_secret(&self) -> Option<(String, String)> {
        match self {
            Presented::Bearer(token) => BearerToken::parse(token).map(|t| (t.id, t.secret)),
            Presented::Basic { username, password } => Some((username.clone(), password.clone())),
        }
    }
}

/// An authenticated caller of one tenant's SCIM API.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant: TenantId,
    pub tenant_name: String,
    pub credential_id: String,
    /// The tenant's strict RFC mode, as of the last check of its row.
    pub strict: bool,
    /// Checked on every cached use too, so an expired credential stops at once.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Principal {
    fn usable_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|e| now < e)
    }
}

/// Authenticates SCIM requests. The tenant names it is given are names a tenant could have:
/// the SCIM scope's middleware answers any other 404 first (`tenancy::not_a_tenant_name`), so
/// a client making up names makes no throttle entries, log lines or credential checks.
pub struct Authenticator {
    store: Store,
    clock: Arc<dyn Clock>,
    cache: CredentialCache<Principal>,
    /// Verified when the tenant or credential does not exist, so a miss costs what a hit does.
    decoy_hash: String,
    throttle: Throttle,
}

/// How many failed authentications one address may make against one tenant per window.
#[derive(Debug, Clone, Copy)]
pub struct FailureLimit {
    pub failures: u32,
    pub window: Duration,
}

/// A pair's first failure in its window, the one that starts its 429s, and one not counted.
fn worth_a_line(failures: Option<u32>, limit: u32) -> bool {
    failures.is_none_or(|n| n == 1 || n == limit)
}

fn rejected() -> Error {
    Error::Unauthorized("authentication failed: missing, malformed, unknown, revoked or expired credential".into())
}

impl Authenticator {
    pub fn new(store: Store, clock: Arc<dyn Clock>, recheck_after: Duration, limit: FailureLimit) -> Result<Self> {
        let decoy_hash = secrets::hash_secret(&secrets::random_alphanumeric(32))?;
        let throttle = Throttle::new(limit.failures, limit.window);
        Ok(Authenticator { store, clock, cache: CredentialCache::new(recheck_after), decoy_hash, throttle })
    }

    /// 429 while `addr` has failed too often against `tenant` (Okta honours Retry-After).
    pub fn check_throttle(&self, tenant: &str, addr: Option<IpAddr>) -> Result<()> {
        match addr.and_then(|a| self.throttle.retry_after(tenant, a)) {
            Some(seconds) => Err(Error::TooManyRequests(seconds)),
            None => Ok(()),
        }
    }

    /// Counts and logs a failed authentication (never the presented secret). A line for a
    /// pair's first failure in its window, for the one that starts its 429s and for one that
    /// went uncounted, and at most ten a second in all: a client that fails on every request, or
    /// makes up a new tenant name for each, would otherwise write a line per request.
    pub fn note_failure(&self, tenant: &str, addr: Option<IpAddr>) {
        static LINES: crate::telemetry::LogThrottle = crate::telemetry::LogThrottle::new(100);
        let Some(addr) = addr else { return };
        let failures = self.throttle.record_failure(tenant, addr);
        if worth_a_line(failures, self.throttle.limit()) {
            if let Some(suppressed) = LINES.admit() {
                tracing::warn!(tenant, client = %addr, failures, suppressed, "failed SCIM authentication");
            }
        }
    }

    /// The principal of a presentation verified moments ago, without blocking; `None` means
    /// ask `authenticate`.
    pub fn cached(&self, tenant_name: &str, presented: &Presented) -> Option<Principal> {
        let (id, secret) = presented.id_and_secret()?;
        match self.cache.lookup(&self.cache.key_of(&[tenant_name, presented.kind(), &id, &secret])) {
            Lookup::Fresh(p) if p.usable_at(self.clock.now()) => Some(p),
            _ => None,
        }
    }

    /// Blocking (argon2 on a cache miss, a database read on a stale entry): call it off the
    /// async workers.
    pub fn authenticate(&self, tenant_name: &str, presented: &Presented) -> Result<Principal> {
        let Some((id, secret)) = presented.id_and_secret() else {
            return Err(rejected());
        };
        let key = self.cache.key_of(&[tenant_name, presented.kind(), &id, &secret]);
        // One verification per presentation at a time: a burst of requests with a new (or
        // newly stale) credential runs argon2 (or the recheck) once, not once per request.
        self.cache.single_flight(&key, || self.verify(key, tenant_name, presented.kind(), &id, &secret))
    }

    fn verify(&self, key: CacheKey, tenant_name: &str, kind: &str, id: &str, secret: &str) -> Result<Principal> {
        match self.cache.lookup(&key) {
            Lookup::Fresh(principal) if principal.usable_at(self.clock.now()) => return Ok(principal),
            Lookup::Fresh(_) => {
                self.cache.remove(&key);
                return Err(rejected());
            }
            Lookup::Stale(entry) => {
                if self.still_valid(&entry.principal, kind, &entry.secret_hash)? {
                    self.touch(&entry.principal);
                    self.cache.insert(key, entry.principal.clone(), entry.secret_hash);
                    return Ok(entry.principal);
                }
                self.cache.remove(&key);
                return Err(rejected());
            }
            Lookup::Missing => {}
        }
        let now = self.clock.now();
        let found = self.store.read(|tx| {
            let Some(tenant) = tx.tenant_by_name(tenant_name)?.filter(|t| !t.disabled) else {
                return Ok(None);
            };
            let cred = tx.credential(tenant.id, id)?;
            Ok(cred.filter(|c| c.kind == kind && c.usable_at(now)).map(|c| (tenant, c)))
        })?;
        let Some((tenant, cred)) = found else {
            secrets::verify_secret(secret, &self.decoy_hash)?;
            return Err(rejected());
        };
        if !secrets::verify_secret(secret, &cred.secret_hash)? {
            return Err(rejected());
        }
        let principal = Principal {
            tenant: tenant.id,
            tenant_name: tenant.name,
            credential_id: cred.id,
            strict: tenant.strict_rfc,
            expires_at: cred.expires_at,
        };
        self.touch(&principal);
        self.cache.insert(key, principal.clone(), cred.secret_hash);
        Ok(principal)
    }

    /// Drops the cached verifications of one credential at once (on this replica; the others
    /// notice at their next recheck).
    pub fn forget_credential(&self, tenant: TenantId, credential_id: &str) {
        self.cache.remove_where(|p| p.tenant == tenant && p.credential_id == credential_id);
    }

    /// Drops every cached verification for a tenant (disabled or deleted).
    pub fn forget_tenant(&self, tenant_name: &str) {
        self.cache.remove_where(|p| p.tenant_name == tenant_name);
    }

    /// Records `last_used_at`. Called when a credential is verified or rechecked, so the
    /// column is written at most once per recheck interval per credential and is accurate to
    /// within that interval. The request goes on without waiting for it, and a failure here
    /// must not fail the request: it is only logged.
    fn touch(&self, p: &Principal) {
        let (tenant, credential, now) = (p.tenant, p.credential_id.clone(), self.clock.now());
        let tenant_name = p.tenant_name.clone();
        self.store.write_detached(
            move |tx| tx.touch_credential(tenant, &credential, now),
            move |e| tracing::warn!(error = %e, tenant = tenant_name, "could not record credential use"),
        );
    }

    fn still_valid(&self, p: &Principal, kind: &str, secret_hash: &str) -> Result<bool> {
        let now = self.clock.now();
        self.store.read(|tx| {
            let tenant_ok = tx.tenant_by_name(&p.tenant_name)?.is_some_and(|t| t.id == p.tenant && !t.disabled);
            let cred_ok = tx
                .credential(p.tenant, &p.credential_id)?
                .is_some_and(|c| c.kind == kind && c.secret_hash == secret_hash && c.usable_at(now));
            Ok(tenant_ok && cred_ok)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_logged_at_a_windows_start_at_its_throttling_and_when_uncounted() {
        let logged: Vec<Option<u32>> = [None, Some(1), Some(2), Some(19), Some(20), Some(21)]
            .into_iter()
            .filter(|&f| worth_a_line(f, 20))
            .collect();
        assert_eq!(logged, [None, Some(1), Some(20)]);
    }
}
