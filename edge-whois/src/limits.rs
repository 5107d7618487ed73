//! Per-client limits as registries run them: a token bucket per address prefix (IPv4 /32 and
//! IPv6 /64 by default, so spreading queries over a /64 does not dodge it), a daily cap, and an
//! allowlist (registrars' ranges) that skips both.
//!
//! Memory is bounded: at most `max_clients` prefixes are tracked. When the table is full,
//! prefixes whose bucket has refilled (idle clients) are forgotten; if none has, a new client
//! is refused until one does, so a flood of distinct addresses costs a fixed amount of memory
//! and never locks out the clients already known.

use std::net::IpAddr;
use std::time::Instant;

use rustc_hash::FxHashMap;
use serde::Deserialize;

/// The limits, from the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Queries a client may make at once (the bucket's size).
    pub burst: u32,
    /// Queries per minute a client gets back.
    pub per_minute: u32,
    /// Queries per client per UTC day (0: no daily cap).
    pub per_day: u32,
    /// Prefix length that groups IPv4 clients.
    pub ipv4_prefix: u8,
    /// Prefix length that groups IPv6 clients.
    pub ipv6_prefix: u8,
    /// Prefixes never limited (registrars, monitoring).
    pub allow: Vec<String>,
    /// Client prefixes tracked at most.
    pub max_clients: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            burst: 60,
            per_minute: 60,
            per_day: 10_000,
            ipv4_prefix: 32,
            ipv6_prefix: 64,
            allow: vec!["127.0.0.0/8".into(), "::1/128".into()],
            max_clients: 200_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
    day: u64,
    today: u32,
}

/// The state of the limits (one per server, behind a lock).
#[derive(Debug)]
pub struct Limiter {
    limits: Limits,
    allow: Vec<(u128, u8)>,
    clients: FxHashMap<u128, Bucket>,
}

/// An address as 128 bits (IPv4 mapped into ::ffff:0:0/96) and its prefix length in them.
fn key(addr: IpAddr, v4: u8, v6: u8) -> (u128, u8) {
    match addr {
        IpAddr::V4(a) => (u128::from(a.to_ipv6_mapped()), 96 + v4.min(32)),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4addr) => (u128::from(v4addr.to_ipv6_mapped()), 96 + v4.min(32)),
            None => (u128::from(a), v6.min(128)),
        },
    }
}

fn masked(bits: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        bits & (u128::MAX << (128 - u32::from(len)))
    }
}

impl Limiter {
    /// A limiter with these limits (bad allowlist entries are errors).
    pub fn new(limits: Limits) -> anyhow::Result<Limiter> {
        let mut allow = Vec::new();
        for entry in &limits.allow {
            let (addr, len) = match entry.split_once('/') {
                Some((a, l)) => (a, Some(l)),
                None => (entry.as_str(), None),
            };
            let addr: IpAddr = addr
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("limits.allow: {entry:?} is not a prefix"))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let len: u8 = match len {
                Some(l) => l.trim().parse().ok().filter(|&l| l <= max).ok_or_else(|| {
                    anyhow::anyhow!("limits.allow: {entry:?}: length must be 0 to {max}")
                })?,
                None => max,
            };
            let (bits, len) = key(addr, len, len);
            allow.push((masked(bits, len), len));
        }
        anyhow::ensure!(
            limits.max_clients > 0,
            "limits.max_clients must be positive"
        );
        Ok(Limiter {
            limits,
            allow,
            clients: FxHashMap::default(),
        })
    }

    /// True if a query from `addr` may be answered now (and counts it).
    pub fn allow(&mut self, addr: IpAddr, now: Instant, day: u64) -> bool {
        let (bits, _) = key(addr, 32, 128);
        if self
            .allow
            .iter()
            .any(|&(net, len)| masked(bits, len) == net)
        {
            return true;
        }
        let (bits, len) = key(addr, self.limits.ipv4_prefix, self.limits.ipv6_prefix);
        let client = masked(bits, len);
        let rate = f64::from(self.limits.per_minute) / 60.0;
        let burst = f64::from(self.limits.burst.max(1));
        if !self.clients.contains_key(&client) && self.clients.len() >= self.limits.max_clients {
            // Forget the clients whose bucket is full again: they have been idle long enough.
            // (Their daily counts go too: under that pressure the daily cap is approximate,
            // the rate is not.)
            self.clients
                .retain(|_, b| b.tokens + now.duration_since(b.last).as_secs_f64() * rate < burst);
            if self.clients.len() >= self.limits.max_clients {
                return false;
            }
        }
        let bucket = self.clients.entry(client).or_insert(Bucket {
            tokens: burst,
            last: now,
            day,
            today: 0,
        });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.last).as_secs_f64() * rate).min(burst);
        bucket.last = now;
        if bucket.day != day {
            bucket.day = day;
            bucket.today = 0;
        }
        if bucket.tokens < 1.0 || (self.limits.per_day > 0 && bucket.today >= self.limits.per_day) {
            return false;
        }
        bucket.tokens -= 1.0;
        bucket.today += 1;
        true
    }

    /// How long a client refused by [`Limiter::allow`] should wait before asking again: until
    /// its bucket holds a query again, or until the next UTC day (`next_day`, from `now`)
    /// when its daily cap is spent; whole seconds, at least one (HTTP's `Retry-After`).
    pub fn retry_after(&self, addr: IpAddr, now: Instant, next_day: u64) -> u64 {
        let (bits, len) = key(addr, self.limits.ipv4_prefix, self.limits.ipv6_prefix);
        let Some(bucket) = self.clients.get(&masked(bits, len)) else {
            return 1;
        };
        if self.limits.per_day > 0 && bucket.today >= self.limits.per_day {
            return next_day.max(1);
        }
        let rate = f64::from(self.limits.per_minute.max(1)) / 60.0;
        let tokens = bucket.tokens + now.duration_since(bucket.last).as_secs_f64() * rate;
        ((1.0 - tokens).max(0.0) / rate).ceil().max(1.0) as u64
    }

    /// Prefixes tracked now.
    pub fn tracked(&self) -> usize {
        self.clients.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limiter(limits: Limits) -> Limiter {
        Limiter::new(limits).unwrap()
    }

    #[test]
    fn a_burst_then_the_refill_rate() {
        let mut l = limiter(Limits {
            burst: 3,
            per_minute: 60,
            allow: vec![],
            ..Limits::default()
        });
        let t = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        assert!((0..3).all(|_| l.allow(a, t, 0)));
        assert!(!l.allow(a, t, 0));
        assert_eq!(l.retry_after(a, t, 5000), 1, "a query a second comes back");
        assert!(
            l.allow(a, t + Duration::from_secs(1), 0),
            "one token a second"
        );
        // Another address of the same IPv6 /64 shares the bucket.
        let b: IpAddr = "2001:db8::1".parse().unwrap();
        let c: IpAddr = "2001:db8::ffff:1".parse().unwrap();
        assert!((0..3).all(|_| l.allow(b, t, 0)));
        assert!(!l.allow(c, t, 0));
    }

    #[test]
    fn daily_caps_and_allowlists() {
        let mut l = limiter(Limits {
            burst: 100,
            per_day: 2,
            allow: vec!["198.51.100.0/24".into()],
            ..Limits::default()
        });
        let t = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(l.allow(a, t, 5) && l.allow(a, t, 5));
        assert!(!l.allow(a, t, 5));
        assert_eq!(l.retry_after(a, t, 3600), 3600, "the cap lasts the day");
        assert!(l.allow(a, t, 6), "a new day");
        let registrar: IpAddr = "198.51.100.77".parse().unwrap();
        assert!((0..1000).all(|_| l.allow(registrar, t, 5)));
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_addresses() {
        let mut l = limiter(Limits {
            max_clients: 1000,
            allow: vec![],
            ..Limits::default()
        });
        let t = Instant::now();
        let known: IpAddr = "203.0.113.1".parse().unwrap();
        assert!(l.allow(known, t, 0));
        for i in 0..100_000u32 {
            let addr = IpAddr::V4(std::net::Ipv4Addr::from(0x0A00_0000 + i));
            l.allow(addr, t, 0);
        }
        assert!(l.tracked() <= 1000);
        assert!(
            l.allow(known, t, 0),
            "clients already known keep their bucket"
        );
    }
}
