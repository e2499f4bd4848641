//! Admin accounts (email + argon2id password) and their sessions. A session is a 256-bit
//! random cookie value; the database keeps only its SHA-256, with the session's CSRF token.

use crate::auth::secrets;
use crate::clock::Clock;
use crate::error::{Error, Quoted, Result};
use crate::store::{AdminUserRow, Store};
use sha2::{Digest, Sha256};

const MIN_PASSWORD_CHARS: usize = 12;

/// What the browser gets at login: the cookie value (shown only to it) and the CSRF token
/// its forms must carry.
pub struct NewSession {
    pub cookie: String,
    pub csrf_token: String,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub email: String,
    pub csrf_token: String,
}

/// Addresses compare case-insensitively and without surrounding space.
pub fn normalize_email(email: &str) -> Result<String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(Error::invalid_value(format!("{email} is not an email address", email = Quoted(&email))))
    }
}

fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::invalid_value(format!("an admin password needs at least {MIN_PASSWORD_CHARS} characters")));
    }
    Ok(())
}

/// Creates an admin account, or sets the password of an existing one when `reset` is true.
pub fn create_admin_user(store: &Store, clock: &dyn Clock, email: &str, password: &str, reset: bool) -> Result<()> {
    let email = normalize_email(email)?;
    check_password(password)?;
    let hash = secrets::hash_secret(password)?;
    store.write(|tx| {
        if reset && tx.set_admin_password(&email, &hash)? {
            return Ok(());
        }
        tx.insert_admin_user(&email, &hash, clock.now())
    })
}

/// The account, if the password is right. Unknown addresses cost an argon2 verify too.
pub(super) fn verify_login(
    store: &Store,
    email: &str,
    password: &str,
    decoy_hash: &str,
) -> Result<Option<AdminUserRow>> {
    let Ok(email) = normalize_email(email) else {
        secrets::verify_secret(password, decoy_hash)?;
        return Ok(None);
    };
    match store.read(|tx| tx.admin_user_by_email(&email))? {
        Some(user) => Ok(secrets::verify_secret(password, &user.password_hash)?.then_some(user)),
        None => {
            secrets::verify_secret(password, decoy_hash)?;
            Ok(None)
        }
    }
}

fn hash_cookie(cookie: &str) -> String {
    let digest = Sha256::digest(cookie.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn start_session(store: &Store, clock: &dyn Clock, admin_user_id: i64) -> Result<NewSession> {
    let cookie = secrets::random_alphanumeric(43);
    let csrf_token = secrets::random_alphanumeric(32);
    let now = clock.now();
    store.write(|tx| {
        tx.insert_admin_session(&hash_cookie(&cookie), admin_user_id, &csrf_token, now, now + super::SESSION_LIFETIME)
    })?;
    Ok(NewSession { cookie, csrf_token })
}

pub(super) fn session(store: &Store, clock: &dyn Clock, cookie: &str) -> Result<Option<Session>> {
    if cookie.len() != 43 || !cookie.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    let row = store.read(|tx| tx.admin_session(&hash_cookie(cookie), clock.now()))?;
    Ok(row.map(|r| Session { email: r.email, csrf_token: r.csrf_token }))
}

pub(super) fn end_session(store: &Store, cookie: &str) -> Result<()> {
    store.write(|tx| tx.delete_admin_session(&hash_cookie(cookie)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(normalize_email("  Ops@Example.COM ").unwrap(), "ops@example.com");
        for bad in ["", "ops", "@example.com", "ops@", "o ps@example.com", "ops\0@example.com"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_password("eleven char").is_err());
        assert!(check_password("twelve chars").is_ok());
    }
}
