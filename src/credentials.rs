//! Credential use cases shared by the CLI, the admin page and the admin API: issue a Basic or bearer
//! credential (the secret shown once, stored as an argon2id hash), list, revoke. Rotation is
//! issue-then-revoke: both work in between.

use crate::auth::secrets::{self, BearerToken};
use crate::clock::format_datetime;
use crate::clock::Clock;
use crate::error::{Error, Quoted, Result};
use crate::scim::events::admin_event;
use crate::store::{CredentialRow, NewCredential, Store, TenantId};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Basic,
    Bearer,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Basic => "basic",
            Kind::Bearer => "bearer",
        }
    }

    pub fn parse(s: &str) -> Result<Kind> {
        match s {
            "basic" => Ok(Kind::Basic),
            "bearer" => Ok(Kind::Bearer),
            other => Err(Error::invalid_value(format!(
                "credential kind must be basic or bearer, not {other}",
                other = Quoted(other)
            ))),
        }
    }
}

/// A new credential with its secret, which exists only in this value.
pub struct Issued {
    pub id: String,
    pub kind: Kind,
    /// Basic: the username (also the credential's id) and password.
    pub username: Option<String>,
    pub password: Option<String>,
    /// Bearer: the token.
    pub token: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl Issued {
    /// The one-time JSON view (CLI `--json` and the admin API): `base_url` and
    /// `username`+`password` or `token`.
    pub fn to_json(&self, tenant: &str, base_url: &str) -> Value {
        let mut out = json!({"tenant": tenant, "base_url": base_url, "id": self.id, "kind": self.kind.as_str()});
        if let (Some(u), Some(p)) = (&self.username, &self.password) {
            out["username"] = u.as_str().into();
            out["password"] = p.as_str().into();
        }
        if let Some(t) = &self.token {
            out["token"] = t.as_str().into();
        }
        out["expires_at"] = self.expires_at.map(format_datetime).into();
        crate::tenancy::warn_of_unreachable_base_url(&mut out, base_url);
        out
    }
}

/// A credential as listed: never its secret or hash.
pub fn row_json(c: &CredentialRow) -> Value {
    json!({
        "id": c.id,
        "kind": c.kind,
        "label": c.label,
        "created_at": format_datetime(c.created_at),
        "last_used_at": c.last_used_at.map(format_datetime),
        "expires_at": c.expires_at.map(format_datetime),
        "revoked": c.revoked,
    })
}

/// The furthest a credential's expiry may be set: further is no expiry in practice, and a
/// number of days such as 99999999999 overflowed the arithmetic (a panic, answered 500).
const MAX_EXPIRY_DAYS: i64 = 36_500;

/// `90d`, `12h`, `30m`, `45s` or a number of seconds, up to `MAX_EXPIRY_DAYS`.
pub fn parse_duration(text: &str) -> Result<TimeDelta> {
    let text = text.trim();
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: i64 = digits.parse().map_err(|_| {
        Error::invalid_value(format!("{text} is not a duration such as 90d or 12h", text = Quoted(text)))
    })?;
    let unit_seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(Error::invalid_value(format!("{text}: use s, m, h or d", text = Quoted(text)))),
    };
    let too_long = || {
        Error::invalid_value(format!("{text}: a credential expires in at most {MAX_EXPIRY_DAYS}d", text = Quoted(text)))
    };
    let seconds = n.checked_mul(unit_seconds).ok_or_else(too_long)?;
    if seconds <= 0 {
        return Err(Error::invalid_value("a credential must expire in the future"));
    }
    if seconds > MAX_EXPIRY_DAYS * 86_400 {
        return Err(too_long());
    }
    Ok(TimeDelta::seconds(seconds))
}

pub fn issue(
    store: &Store,
    clock: &dyn Clock,
    tenant: &str,
    kind: Kind,
    label: Option<&str>,
    expires_in: Option<TimeDelta>,
) -> Result<Issued> {
    let label = crate::admin::clean_label(label)?;
    let tenant = crate::tenancy::id_of(store, tenant)?;
    let now = clock.now();
    let expires_at = expires_in.map(|d| now + d);
    let (id, secret, issued) = match kind {
        Kind::Bearer => {
            let t = BearerToken::generate();
            let token = t.expose();
            (
                t.id,
                t.secret,
                Issued { id: String::new(), kind, username: None, password: None, token: Some(token), expires_at },
            )
        }
        Kind::Basic => {
            // Lower-case letters and digits: Okta's form and every IdP take it as typed.
            let username = format!("scim-{}", secrets::random_alphanumeric(12).to_ascii_lowercase());
            let password = secrets::random_alphanumeric(32);
            let issued = Issued {
                id: String::new(),
                kind,
                username: Some(username.clone()),
                password: Some(password.clone()),
                token: None,
                expires_at,
            };
            (username, password, issued)
        }
    };
    let hash = secrets::hash_secret(&secret)?;
    store.write(|tx| {
        let c = NewCredential { id: &id, kind: kind.as_str(), label, secret_hash: &hash, expires_at };
        tx.insert_credential(tenant, &c, now)?;
        let data =
            json!({"id": id, "kind": kind.as_str(), "label": label, "expires_at": expires_at.map(format_datetime)});
        tx.append_events(tenant, &[admin_event("credential.issued", "Credential", &id, data)], None, now)
    })?;
    Ok(Issued { id, ..issued })
}

pub fn list(store: &Store, tenant: &str) -> Result<Vec<CredentialRow>> {
    let tenant = crate::tenancy::id_of(store, tenant)?;
    store.read(|tx| tx.list_credentials(tenant))
}

/// Revokes it: the credential stops working on every replica within the recheck interval
/// (at once on this one, when the caller also tells its `Authenticator`).
pub fn revoke(store: &Store, clock: &dyn Clock, tenant: &str, id: &str) -> Result<TenantId> {
    let tenant = crate::tenancy::id_of(store, tenant)?;
    let now = clock.now();
    let revoked = store.write(|tx| {
        let revoked = tx.revoke_credential(tenant, id, now)?;
        if revoked {
            let event = admin_event("credential.revoked", "Credential", id, json!({"id": id}));
            tx.append_events(tenant, &[event], None, now)?;
        }
        Ok(revoked)
    })?;
    if revoked {
        Ok(tenant)
    } else {
        Err(Error::NotFound(format!("no unrevoked credential {id} in this tenant", id = Quoted(id))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90d").unwrap(), TimeDelta::days(90));
        assert_eq!(parse_duration("12h").unwrap(), TimeDelta::hours(12));
        assert_eq!(parse_duration("30m").unwrap(), TimeDelta::minutes(30));
        assert_eq!(parse_duration("45").unwrap(), TimeDelta::seconds(45));
        assert_eq!(parse_duration(&format!("{MAX_EXPIRY_DAYS}d")).unwrap(), TimeDelta::days(MAX_EXPIRY_DAYS));
        let longest = MAX_EXPIRY_DAYS * 86_400;
        assert_eq!(parse_duration(&longest.to_string()).unwrap(), TimeDelta::seconds(longest));
        let too_long = [format!("{}d", MAX_EXPIRY_DAYS + 1), format!("{}", longest + 1), "99999999999d".into()];
        for bad in too_long.iter().map(String::as_str).chain(["99999999999999999999d", "9223372036854775807h"]) {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        for bad in ["", "d", "5w", "-1d", "0", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
