//! Passwords: Argon2id hashes (never plain text) and a cache of verified credentials.
//!
//! SRRP carries `registrar-auth` on every request, and an Argon2id verification costs about
//! 30 ms of CPU. [`Verified`] remembers, per registrar, the stored hash a password was last
//! verified against and an HMAC-SHA-256 of that password under a key drawn at start-up; a
//! request whose password has the same MAC against the same stored hash is accepted without
//! Argon2. Changing the password changes the stored hash, which drops the cached entry; the
//! password itself is never kept.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use ring::hmac;
use ring::rand::SystemRandom;

/// Hashes a password with Argon2id (default parameters, random salt) into a PHC string.
pub fn hash(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .unwrap_or_default()
}

/// True if the password matches the PHC hash.
pub fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Credentials verified recently (see the module docs).
pub struct Verified {
    key: hmac::Key,
    entries: Mutex<HashMap<u32, (String, hmac::Tag)>>,
}

impl Default for Verified {
    fn default() -> Verified {
        Verified::new()
    }
}

impl Verified {
    /// An empty cache with a fresh random key.
    pub fn new() -> Verified {
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new())
            .expect("the system random generator works");
        Verified {
            key,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// True if this registrar's password was verified against this stored hash.
    pub fn contains(&self, registrar: u32, password: &str, stored: &str) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(&registrar).is_some_and(|(hash, tag)| {
            hash == stored && hmac::verify(&self.key, password.as_bytes(), tag.as_ref()).is_ok()
        })
    }

    /// Remembers a password verified against a stored hash.
    pub fn insert(&self, registrar: u32, password: &str, stored: &str) {
        let tag = hmac::sign(&self.key, password.as_bytes());
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.insert(registrar, (stored.to_string(), tag));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify() {
        let stored = hash("pass-phrase");
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("pass-phrase", &stored));
        assert!(!verify("pass-phrasf", &stored));
        assert!(!verify("pass-phrase", "not a hash"));
    }

    #[test]
    fn cache_follows_the_stored_hash() {
        let cache = Verified::new();
        cache.insert(7, "secret", "$hash-1");
        assert!(cache.contains(7, "secret", "$hash-1"));
        assert!(!cache.contains(7, "secret", "$hash-2"));
        assert!(!cache.contains(7, "other", "$hash-1"));
        assert!(!cache.contains(8, "secret", "$hash-1"));
    }
}
