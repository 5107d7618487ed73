//! Sessions of the registrars' web page, kept in memory (a restart logs everyone out), and the
//! limit on failed log-ins per address.
//!
//! A session is a random 256-bit token in a `__Host-` cookie (Secure, HttpOnly,
//! SameSite=Strict, path `/`), with a CSRF token of its own for the page's forms. It ends after
//! `idle` without a request, after `max_age` whatever, or at log-out. At most [`MAX_SESSIONS`]
//! live at once; expired ones are dropped as new ones open.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ring::rand::{SecureRandom, SystemRandom};

/// Sessions open at once, at most.
pub const MAX_SESSIONS: usize = 100_000;

/// A registrar logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Who.
    pub registrar: u32,
    /// The token its forms carry.
    pub csrf: String,
    opened: Instant,
    last: Instant,
}

/// Every session, and recent failed log-ins by address.
pub struct Sessions {
    open: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<IpAddr, Vec<Instant>>>,
    idle: Duration,
    max_age: Duration,
    failures_per_minute: usize,
}

/// A random token: 32 bytes, base64url.
pub fn token() -> String {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system's random source works");
    data_encoding::BASE64URL_NOPAD.encode(&bytes)
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Sessions {
    /// Sessions ending after `idle` without a request or after `max_age`; an address with
    /// `failures_per_minute` failed log-ins in the last minute is refused more.
    pub fn new(idle: Duration, max_age: Duration, failures_per_minute: usize) -> Sessions {
        Sessions {
            open: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            idle,
            max_age,
            failures_per_minute,
        }
    }

    fn live(&self, session: &Session, now: Instant) -> bool {
        now.duration_since(session.last) < self.idle
            && now.duration_since(session.opened) < self.max_age
    }

    /// Opens a session for `registrar`: its token, or `None` when [`MAX_SESSIONS`] are open.
    pub fn open(&self, registrar: u32) -> Option<String> {
        let now = Instant::now();
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.len() >= MAX_SESSIONS {
            open.retain(|_, s| self.live(s, now));
            if open.len() >= MAX_SESSIONS {
                return None;
            }
        }
        let key = token();
        open.insert(
            key.clone(),
            Session {
                registrar,
                csrf: token(),
                opened: now,
                last: now,
            },
        );
        Some(key)
    }

    /// The live session of a token (its idle time starts again), if any.
    pub fn get(&self, key: &str) -> Option<Session> {
        let now = Instant::now();
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let session = open.get_mut(key)?;
        if !self.live(session, now) {
            open.remove(key);
            return None;
        }
        session.last = now;
        Some(session.clone())
    }

    /// Ends a session.
    pub fn close(&self, key: &str) {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// Ends every session of a registrar (suspended, or its password changed).
    pub fn close_all(&self, registrar: u32) {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, s| s.registrar != registrar);
    }

    /// Sessions open now (some may have expired unseen).
    pub fn count(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True if `address` may try to log in now.
    pub fn may_try(&self, address: IpAddr) -> bool {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match failures.get_mut(&address) {
            Some(times) => {
                times.retain(|t| now.duration_since(*t) < Duration::from_secs(60));
                times.len() < self.failures_per_minute
            }
            None => true,
        }
    }

    /// Notes a failed log-in from `address`.
    pub fn failed(&self, address: IpAddr) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() > 100_000 {
            failures.retain(|_, times| {
                times
                    .iter()
                    .any(|t| now.duration_since(*t) < Duration::from_secs(60))
            });
        }
        failures.entry(address).or_default().push(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_end_when_idle_closed_or_old() {
        let sessions = Sessions::new(Duration::from_millis(50), Duration::from_secs(60), 3);
        let key = sessions.open(1001).unwrap();
        assert_eq!(sessions.get(&key).unwrap().registrar, 1001);
        assert!(sessions.get("forged").is_none());
        std::thread::sleep(Duration::from_millis(80));
        assert!(sessions.get(&key).is_none(), "idle too long");
        let key = sessions.open(1002).unwrap();
        sessions.close_all(1002);
        assert!(sessions.get(&key).is_none());
        let old = Sessions::new(Duration::from_secs(60), Duration::from_millis(30), 3);
        let key = old.open(1).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert!(old.get(&key).is_none(), "past its longest life");
    }

    #[test]
    fn an_address_with_too_many_failures_waits() {
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(60), 3);
        let address: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert!(sessions.may_try(address));
            sessions.failed(address);
        }
        assert!(!sessions.may_try(address));
        assert!(sessions.may_try("192.0.2.2".parse().unwrap()));
    }

    #[test]
    fn tokens_are_random_and_compared_whole() {
        assert_ne!(token(), token());
        assert_eq!(token().len(), 43);
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd") && !same("abc", "ab"));
    }
}
