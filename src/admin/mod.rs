//! Administering scimd itself: admin accounts and their sessions (the admin page), admin API
//! tokens (the host app's automation), and the directory views both show. Shared by the CLI,
//! the admin page and the admin JSON API; nothing here knows about HTTP.

pub mod accounts;
pub mod api_tokens;
pub mod directory;

use crate::auth::cache::{CacheKey, CredentialCache, Lookup};
use crate::auth::secrets;
use crate::auth::throttle::Throttle;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::store::Store;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// How long an admin session lasts from login, whatever the activity.
pub const SESSION_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::hours(12);

/// The longest label an operator may give a credential, an admin token or a webhook.
pub const MAX_LABEL_CHARS: usize = 200;

/// An operator's label for a credential, an admin token or a webhook, trimmed; `None` when
/// empty. No control characters: PostgreSQL's text cannot hold U+0000 (the write failed with a
/// 500 there), and a line break or tab would break the CLI's one-line, tab-separated listings.
pub fn clean_label(label: Option<&str>) -> Result<Option<&str>> {
    let Some(label) = label.map(str::trim).filter(|l| !l.is_empty()) else { return Ok(None) };
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(Error::invalid_value(format!("the label is longer than {MAX_LABEL_CHARS} characters")));
    }
    if label.chars().any(char::is_control) {
        return Err(Error::invalid_value("the label contains a control character (a line break, a tab or U+0000)"));
    }
    Ok(Some(label))
}

/// Request-time admin authentication: logins (throttled per client address), sessions and
/// API tokens (verified once, then cached like SCIM credentials).
pub struct AdminAuth {
    store: Store,
    clock: Arc<dyn Clock>,
    tokens: CredentialCache<String>,
    /// Verified for unknown accounts and tokens, so a miss costs what a hit does.
    decoy_hash: String,
    login_throttle: Throttle,
}

impl AdminAuth {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        recheck_after: Duration,
        limit: crate::auth::FailureLimit,
    ) -> Result<Self> {
        Ok(AdminAuth {
            store,
            clock,
            tokens: CredentialCache::new(recheck_after),
            decoy_hash: secrets::hash_secret(&secrets::random_alphanumeric(32))?,
            login_throttle: Throttle::new(limit.failures, limit.window),
        })
    }

    /// Checks an email and password (blocking: argon2). Throttled per client address:
    /// after too many failures even the right password gets 429 until the window ends.
    pub fn login(&self, email: &str, password: &str, addr: Option<IpAddr>) -> Result<accounts::NewSession> {
        if let Some(seconds) = addr.and_then(|a| self.login_throttle.retry_after("admin-login", a)) {
            return Err(Error::TooManyRequests(seconds));
        }
        match accounts::verify_login(&self.store, email, password, &self.decoy_hash)? {
            Some(user) => accounts::start_session(&self.store, self.clock.as_ref(), user.id),
            None => {
                if let Some(a) = addr {
                    let failures = self.login_throttle.record_failure("admin-login", a);
                    // One key for every sign-in: always counted, and argon2 bounds the lines.
                    tracing::warn!(client = %a, failures, "failed admin login");
                }
                Err(Error::Unauthorized("wrong email or password".into()))
            }
        }
    }

    /// The session a cookie value names, if it is live.
    pub fn session(&self, cookie: &str) -> Result<Option<accounts::Session>> {
        accounts::session(&self.store, self.clock.as_ref(), cookie)
    }

    pub fn logout(&self, cookie: &str) -> Result<()> {
        accounts::end_session(&self.store, cookie)
    }

    /// The id of the admin API token presented as a bearer token (blocking on a cache miss).
    pub fn authenticate_token(&self, presented: &str) -> Result<String> {
        let rejected = || Error::Unauthorized("a valid admin API token is required".into());
        let Some(token) = api_tokens::parse(presented) else {
            return Err(rejected());
        };
        let key = self.tokens.key_of(&["admin", &token.id, &token.secret]);
        if let Lookup::Fresh(id) = self.tokens.lookup(&key) {
            return Ok(id);
        }
        self.tokens.single_flight(&key, || self.verify_token(key, &token))
    }

    fn verify_token(&self, key: CacheKey, token: &secrets::BearerToken) -> Result<String> {
        let rejected = || Error::Unauthorized("a valid admin API token is required".into());
        match self.tokens.lookup(&key) {
            Lookup::Fresh(id) => return Ok(id),
            Lookup::Stale(entry) => {
                let row = self.store.read(|tx| tx.admin_token(&entry.principal))?;
                if row.is_some_and(|r| !r.revoked && r.secret_hash == entry.secret_hash) {
                    api_tokens::touch(&self.store, self.clock.as_ref(), &entry.principal);
                    self.tokens.insert(key, entry.principal.clone(), entry.secret_hash);
                    return Ok(entry.principal);
                }
                self.tokens.remove(&key);
                return Err(rejected());
            }
            Lookup::Missing => {}
        }
        let row = self.store.read(|tx| tx.admin_token(&token.id))?.filter(|r| !r.revoked);
        let Some(row) = row else {
            secrets::verify_secret(&token.secret, &self.decoy_hash)?;
            return Err(rejected());
        };
        if !secrets::verify_secret(&token.secret, &row.secret_hash)? {
            return Err(rejected());
        }
        api_tokens::touch(&self.store, self.clock.as_ref(), &row.id);
        self.tokens.insert(key, row.id.clone(), row.secret_hash);
        Ok(row.id)
    }

    /// Drops a revoked token's cached verification at once on this replica.
    pub fn forget_token(&self, id: &str) {
        self.tokens.remove_where(|p| p == id);
    }
}

#[cfg(test)]
mod label_tests {
    use super::*;

    #[test]
    fn labels_are_trimmed_bounded_and_free_of_control_characters() {
        let long = "é".repeat(MAX_LABEL_CHARS);
        let too_long = "é".repeat(MAX_LABEL_CHARS + 1);
        // (label, Some(what is kept) or None when refused)
        let cases: [(Option<&str>, Option<Option<&str>>); 10] = [
            (None, Some(None)),
            (Some(""), Some(None)),
            (Some("  \t "), Some(None)),
            (Some("  Okta production "), Some(Some("Okta production"))),
            (Some("<b>app</b> ✓"), Some(Some("<b>app</b> ✓"))),
            (Some(&long), Some(Some(&long))),
            (Some(&too_long), None),
            (Some("a\0b"), None),
            (Some("two\nlines"), None),
            (Some("tab\tinside"), None),
        ];
        for (input, want) in cases {
            let got = clean_label(input);
            match want {
                Some(kept) => assert_eq!(got.unwrap(), kept, "{input:?}"),
                None => assert!(
                    matches!(got, Err(Error::BadRequest { scim_type: crate::error::ScimType::InvalidValue, .. })),
                    "{input:?}: {got:?}"
                ),
            }
        }
    }
}
