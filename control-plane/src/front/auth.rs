//! Passwords: hashes (never plain text) and a cache of verified credentials.
//!
//! A registrar's password is an Argon2id hash ([`hash`]): a person chose it, so guessing must
//! be slow. A domain's password (EPP authInfo, SRRP `domain-auth`) is a transfer code that the
//! registrar generates with at least 128 bits of randomness (RFC 9154 §4.1): it is kept as
//! SHA-256 over a random 16-byte salt and the password ([`hash_domain`], RFC 9154 §4.2), which
//! costs a microsecond rather than 30 ms, so registrations that carry one are not bounded by
//! Argon2. [`verify`] reads both forms.
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

const DOMAIN_PREFIX: &str = "$sha256$";

/// Hashes a domain password (transfer code) as RFC 9154 asks: `$sha256$<salt>$<digest>`, both
/// in unpadded base64, the digest over the salt and then the password.
pub fn hash_domain(password: &str) -> String {
    let mut salt = [0u8; 16];
    ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut salt)
        .expect("the system random generator works");
    salted(&salt, password)
}

fn salted(salt: &[u8], password: &str) -> String {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(salt);
    context.update(password.as_bytes());
    let b64 = data_encoding::BASE64_NOPAD;
    format!(
        "{DOMAIN_PREFIX}{}${}",
        b64.encode(salt),
        b64.encode(context.finish().as_ref())
    )
}

/// True if the password matches the hash (an Argon2id PHC string or a [`hash_domain`] one).
pub fn verify(password: &str, hash: &str) -> bool {
    if let Some(rest) = hash.strip_prefix(DOMAIN_PREFIX) {
        let Some(salt) = rest
            .split_once('$')
            .and_then(|(salt, _)| data_encoding::BASE64_NOPAD.decode(salt.as_bytes()).ok())
        else {
            return false;
        };
        let expected = salted(&salt, password);
        // Every byte is compared, whatever the first difference.
        return expected.len() == hash.len()
            && expected
                .bytes()
                .zip(hash.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
    }
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
    fn domain_passwords_are_salted_sha256() {
        let stored = hash_domain("2fooBAR$x-1");
        assert!(stored.starts_with("$sha256$"));
        assert_ne!(stored, hash_domain("2fooBAR$x-1"), "a fresh salt each time");
        assert!(verify("2fooBAR$x-1", &stored));
        assert!(!verify("2fooBAR$x-2", &stored));
        assert!(!verify("2fooBAR$x-1", "$sha256$not base64$x"));
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
