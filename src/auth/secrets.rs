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

/// Constant-time in the secret (argon2 compares digests in constant time).
pub fn verify_secret(secret: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(secret.as_bytes(), &h).is_ok())
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
        assert!(verify_secret("correct horse", &h));
        assert!(!verify_secret("correct horsf", &h));
        assert!(!verify_secret("correct horse", "not a phc string"));
    }
}
