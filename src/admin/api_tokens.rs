//! Admin API tokens for the host app's automation: `scimdadm_` + 16-character id + 40-character
//! secret, stored as an argon2id hash and found by the id, like SCIM bearer tokens but never
//! valid on a tenant's SCIM API (and vice versa: the prefixes differ).

use crate::auth::secrets::{self, BearerToken};
use crate::clock::Clock;
use crate::error::{Error, Quoted, Result};
use crate::store::{AdminTokenRow, Store};

pub const ADMIN_TOKEN_PREFIX: &str = "scimdadm_";

pub fn parse(presented: &str) -> Option<BearerToken> {
    BearerToken::parse_with_prefix(presented, ADMIN_TOKEN_PREFIX)
}

/// A new token: (id, the token to show once).
pub fn issue(store: &Store, clock: &dyn Clock, label: Option<&str>) -> Result<(String, String)> {
    let label = super::clean_label(label)?;
    let token = BearerToken::generate();
    let hash = secrets::hash_secret(&token.secret)?;
    store.write(|tx| tx.insert_admin_token(&token.id, label, &hash, clock.now()))?;
    Ok((token.id.clone(), token.expose_with_prefix(ADMIN_TOKEN_PREFIX)))
}

pub fn list(store: &Store) -> Result<Vec<AdminTokenRow>> {
    store.read(|tx| tx.list_admin_tokens())
}

pub fn revoke(store: &Store, clock: &dyn Clock, id: &str) -> Result<()> {
    if store.write(|tx| tx.revoke_admin_token(id, clock.now()))? {
        Ok(())
    } else {
        Err(Error::NotFound(format!("no unrevoked admin API token {id}", id = Quoted(id))))
    }
}

/// Records a use (at most once per recheck interval), without the request waiting for it;
/// failures are only logged.
pub(super) fn touch(store: &Store, clock: &dyn Clock, id: &str) {
    let (id, now) = (id.to_string(), clock.now());
    store.write_detached(
        move |tx| tx.touch_admin_token(&id, now),
        |e| tracing::warn!(error = %e, "could not record admin token use"),
    );
}
