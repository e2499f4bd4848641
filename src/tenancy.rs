//! Tenant lifecycle use cases shared by the CLI (and later the admin page): create with a first
//! bearer credential, list, delete.

use crate::auth::secrets::{self, BearerToken};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::store::{NewCredential, Store, TenantRow};

/// A new tenant and the one-time view of its first bearer token.
pub struct CreatedTenant {
    pub tenant: TenantRow,
    pub bearer_token: String,
}

/// Tenant names appear in Base URLs, which Okta rejects when they contain `_`: lower-case
/// letters, digits and inner hyphens, at most 63 characters.
pub fn validate_tenant_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_value(format!("tenant name {name:?} must be 1-63 characters of a-z, 0-9 and inner '-'")))
    }
}

/// The SCIM Base URL of a tenant (RFC 7644 §1.3), as customers paste it into their IdP.
pub fn base_url(public_url: &str, tenant: &str) -> String {
    format!("{}/scim/v2/{tenant}", public_url.trim_end_matches('/'))
}

pub fn create_tenant(store: &Store, clock: &dyn Clock, name: &str, label: Option<&str>) -> Result<CreatedTenant> {
    validate_tenant_name(name)?;
    let token = BearerToken::generate();
    let hash = secrets::hash_secret(&token.secret)?;
    let now = clock.now();
    let tenant = store.write(|tx| {
        let tenant = tx.create_tenant(name, now)?;
        let cred = NewCredential { id: &token.id, kind: "bearer", label, secret_hash: &hash, expires_at: None };
        tx.insert_credential(tenant.id, &cred, now)?;
        Ok(tenant)
    })?;
    Ok(CreatedTenant { tenant, bearer_token: token.expose() })
}

pub fn list_tenants(store: &Store) -> Result<Vec<TenantRow>> {
    store.read(|tx| tx.list_tenants())
}

/// Strict RFC mode refuses the client quirks `scim::compat` otherwise accepts.
pub fn set_strict_rfc(store: &Store, name: &str, strict: bool) -> Result<()> {
    store.write(|tx| {
        let tenant = tx.tenant_by_name(name)?.ok_or_else(|| Error::NotFound(format!("no tenant named {name:?}")))?;
        tx.set_strict_rfc(tenant.id, strict)
    })
}

pub fn delete_tenant(store: &Store, name: &str) -> Result<()> {
    store.write(|tx| {
        let tenant = tx.tenant_by_name(name)?.ok_or_else(|| Error::NotFound(format!("no tenant named {name:?}")))?;
        tx.delete_tenant(tenant.id)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names_fit_in_a_base_url() {
        for ok in ["acme", "a", "acme-corp", "x1", &"a".repeat(63)] {
            assert!(validate_tenant_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Acme", "acme_corp", "-acme", "acme-", "ac me", "acmé", "a/b", &"a".repeat(64)] {
            assert!(validate_tenant_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn base_url_joins_without_double_slashes() {
        assert_eq!(base_url("http://h:1/", "acme"), "http://h:1/scim/v2/acme");
        assert_eq!(base_url("https://scim.example.com", "a"), "https://scim.example.com/scim/v2/a");
    }
}
