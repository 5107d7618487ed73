//! Response rate limiting: an authoritative server must not be a cheap amplifier for floods
//! sent with a victim's address as their source.
//!
//! The scheme is the one BIND, NSD and Knot share. Responses a client network would get alike
//! are counted together: the same answer (name and type), the same referral (the delegation),
//! the same wildcard (its closest encloser), the same zone's NXDOMAIN or NODATA, any error
//! ([`crate::engine::Source`] says which). When one such flow from one network (an IPv4 /24,
//! an IPv6 /56 by default) goes past `responses_per_second`, further responses are limited:
//! every `slip`-th goes out truncated (TC, question and OPT only) so that a real resolver
//! behind that address asks again over TCP, where the address is proved, and the others are
//! dropped. Clients that prove their address with a valid server cookie (RFC 7873 §5.3) and
//! configured networks (loopback by default: the kernel drops packets from 127.0.0.0/8 that
//! arrive from outside) are never limited; nor is TCP.
//!
//! The counts live in one fixed table of leaky buckets shared by every UDP worker, so memory
//! stays the same whatever the number of sources. A flow's key is hashed (with a per-process
//! random key, so nobody can aim collisions) to two buckets of one cache line; it is limited
//! only when both are full, so a flow that shares one bucket with a flood still gets through.
//! A bucket is one 64-bit word, the time of its last response and its level, updated with a
//! compare-and-swap: no lock on the query path, at most one cache miss per response.

use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::acl::{self, Prefix, PrefixError};
use crate::config::RateLimit;
use crate::engine::{ResponseKind, Source};

/// The level one response adds to a bucket.
const UNIT: u64 = 1024;
/// The highest rate: a full bucket (one second's worth) must fit the 32 bits of its level.
pub const MAX_RATE: u32 = (u32::MAX as u64 / UNIT) as u32;

/// Buckets that share a cache line: a flow's two buckets are in the same one, so counting a
/// response costs at most one cache miss.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Line([AtomicU64; 8]);

/// The shared table of leaky buckets.
#[derive(Debug)]
pub struct Limiter {
    lines: Box<[Line]>,
    /// Responses per second per flow: a bucket drains this many units per second and holds
    /// one second's worth.
    rate: u64,
    v4_prefix: u8,
    v6_prefix: u8,
    exempt: Vec<Prefix>,
    slip: u32,
    hasher: std::collections::hash_map::RandomState,
    /// The start of the millisecond clock all workers share.
    epoch: Instant,
}

impl Limiter {
    /// A limiter for `settings`, or `None` when rate limiting is off.
    pub fn new(settings: &RateLimit) -> Result<Option<Limiter>, PrefixError> {
        if settings.responses_per_second == 0 {
            return Ok(None);
        }
        let exempt = settings
            .exempt
            .iter()
            .map(|text| Prefix::parse(text))
            .collect::<Result<_, _>>()?;
        let lines = (settings.table_size / 8).max(128).next_power_of_two();
        Ok(Some(Limiter {
            lines: (0..lines).map(|_| Line::default()).collect(),
            rate: u64::from(settings.responses_per_second.min(MAX_RATE)),
            v4_prefix: settings.ipv4_prefix.min(32),
            v6_prefix: settings.ipv6_prefix.min(128),
            exempt,
            slip: settings.slip,
            hasher: Default::default(),
            epoch: Instant::now(),
        }))
    }

    /// Milliseconds since the limiter was made (wrapping every 49 days), for [`Limiter::allow`].
    pub fn now_ms(&self) -> u32 {
        self.epoch.elapsed().as_millis() as u32
    }

    /// A worker's own count of which limited responses slip through.
    pub fn slip(&self) -> Slip {
        Slip::new(self.slip)
    }

    /// Counts a response to `client` made from `source` (whose name lies in `query`) at
    /// `now_ms` (milliseconds on any clock that only goes forward); false when it is over the
    /// limit and must be slipped or dropped.
    pub fn allow(&self, client: IpAddr, source: &Source, query: &[u8], now_ms: u32) -> bool {
        if source.verified || self.exempt.iter().any(|p| p.contains(client)) {
            return true;
        }
        let hash = self.flow_hash(client, source, query);
        let line = &self.lines[hash as usize & (self.lines.len() - 1)].0;
        // Two different buckets of the line.
        let a = (hash >> 58) as usize & 7;
        let b = (a + 1 + ((hash >> 61) as usize % 7)) & 7;
        let (first, second) = (&line[a], &line[b]);
        // Both buckets drain; a response counts in both only when it is let through.
        let (a, b) = (
            first.load(Ordering::Relaxed),
            second.load(Ordering::Relaxed),
        );
        let level = level_at(a, now_ms, self.rate).min(level_at(b, now_ms, self.rate));
        if level + UNIT > self.rate * UNIT {
            return false;
        }
        self.fill(first, a, now_ms);
        self.fill(second, b, now_ms);
        true
    }

    /// Adds one response at `now_ms` to `bucket`, last seen holding `word`.
    fn fill(&self, bucket: &AtomicU64, mut word: u64, now_ms: u32) {
        let full = self.rate * UNIT;
        loop {
            let level = (level_at(word, now_ms, self.rate) + UNIT).min(full);
            let new = (u64::from(now_ms) << 32) | level;
            match bucket.compare_exchange_weak(word, new, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                // Another worker counted a response meanwhile: count on top of it.
                Err(now_holds) => word = now_holds,
            }
        }
    }

    /// The network `client` is counted in: its address with the host bits cleared, and the
    /// prefix length (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn network(&self, client: IpAddr) -> (IpAddr, u8) {
        let client = acl::unmapped(client);
        let len = if client.is_ipv4() {
            self.v4_prefix
        } else {
            self.v6_prefix
        };
        (acl::network(client, len), len)
    }

    /// The flow's hash: the client's network, the kind of response, the type for answers,
    /// and the name the response is about, without regard to case.
    fn flow_hash(&self, client: IpAddr, source: &Source, query: &[u8]) -> u64 {
        let mut h = self.hasher.build_hasher();
        match self.network(client).0 {
            IpAddr::V4(v4) => h.write_u32(v4.into()),
            IpAddr::V6(v6) => h.write_u128(v6.into()),
        }
        h.write_u8(source.kind as u8);
        if source.kind == ResponseKind::Answer {
            h.write_u16(source.qtype);
        }
        let mut name = [0u8; 255];
        let sent = query.get(source.name.clone()).unwrap_or_default();
        let len = sent.len().min(name.len());
        for (to, from) in name.iter_mut().zip(&sent[..len]) {
            *to = from.to_ascii_lowercase();
        }
        h.write(&name[..len]);
        h.finish()
    }
}

/// The level of a bucket word (time of its last response in its high half, level in its
/// low half) at `now_ms`, for a flow allowed `rate` responses per second.
fn level_at(word: u64, now_ms: u32, rate: u64) -> u64 {
    let (then, level) = ((word >> 32) as u32, word & 0xFFFF_FFFF);
    // Wrapping: the clock is 32-bit milliseconds (49 days); a time in the future (a worker
    // whose clock read came just before another's) drains nothing.
    let elapsed = now_ms.wrapping_sub(then);
    if elapsed > u32::MAX / 2 {
        return level;
    }
    level.saturating_sub(u64::from(elapsed) * rate * UNIT / 1000)
}

/// Which limited responses slip through truncated: every `every`-th (0: none).
#[derive(Debug, Clone)]
pub struct Slip {
    every: u32,
    limited: u32,
}

impl Slip {
    /// Every `every`-th limited response slips (1: all of them, 0: none).
    pub fn new(every: u32) -> Slip {
        Slip { every, limited: 0 }
    }

    /// Counts a limited response; true when it goes out truncated rather than not at all.
    pub fn truncates(&mut self) -> bool {
        if self.every == 0 {
            return false;
        }
        self.limited += 1;
        if self.limited >= self.every {
            self.limited = 0;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(rate: u32) -> RateLimit {
        RateLimit {
            responses_per_second: rate,
            exempt: vec!["192.0.2.0/24".into()],
            ..RateLimit::default()
        }
    }

    /// A query for `name` (presentation form) and where its name lies.
    fn asked(name: &str) -> (Vec<u8>, std::ops::Range<usize>) {
        let mut msg = vec![0u8; 12];
        for label in name.trim_end_matches('.').split('.') {
            msg.push(label.len() as u8);
            msg.extend_from_slice(label.as_bytes());
        }
        msg.push(0);
        let end = msg.len();
        msg.extend_from_slice(&[0, 1, 0, 1]);
        (msg, 12..end)
    }

    fn source(kind: ResponseKind, name: std::ops::Range<usize>) -> Source {
        Source {
            kind,
            qtype: 1,
            name,
            verified: false,
        }
    }

    #[test]
    fn a_flow_gets_its_rate_and_no_more() {
        let limiter = Limiter::new(&settings(100)).unwrap().unwrap();
        let (query, name) = asked("www.example.tld");
        let answer = source(ResponseKind::Answer, name);
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        // A burst of one second's worth, then nothing until the bucket drains.
        let allowed = (0..1000)
            .filter(|_| limiter.allow(client, &answer, &query, 5000))
            .count();
        assert_eq!(allowed, 100);
        // 10 ms later, one more response's room.
        assert!(limiter.allow(client, &answer, &query, 5010));
        assert!(!limiter.allow(client, &answer, &query, 5010));
        // Over the next ten seconds of one query each millisecond, the rate gets through.
        let allowed = (0..10_000u32)
            .filter(|ms| limiter.allow(client, &answer, &query, 5011 + ms))
            .count();
        assert!((990..=1010).contains(&allowed), "{allowed}");
    }

    #[test]
    fn flows_are_told_apart_by_network_kind_type_and_name_but_not_case() {
        let limiter = Limiter::new(&settings(10)).unwrap().unwrap();
        let (query, name) = asked("www.example.tld");
        let (upper, upper_name) = asked("WWW.EXAMPLE.TLD");
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        let answer = source(ResponseKind::Answer, name.clone());
        for _ in 0..10 {
            assert!(limiter.allow(client, &answer, &query, 0));
        }
        assert!(!limiter.allow(client, &answer, &query, 0));
        // The same name in capitals, and a neighbour in the same /24: the same flow.
        let shouting = source(ResponseKind::Answer, upper_name);
        assert!(!limiter.allow(client, &shouting, &upper, 0));
        assert!(!limiter.allow("203.0.113.200".parse().unwrap(), &answer, &query, 0));
        // Another network, another type, another kind, another name: other flows.
        assert!(limiter.allow("198.51.100.1".parse().unwrap(), &answer, &query, 0));
        let aaaa = Source {
            qtype: 28,
            ..answer.clone()
        };
        assert!(limiter.allow(client, &aaaa, &query, 0));
        assert!(limiter.allow(
            client,
            &source(ResponseKind::Nxdomain, name.clone()),
            &query,
            0
        ));
        let parent = source(ResponseKind::Referral, name.start + 4..name.end);
        assert!(limiter.allow(client, &parent, &query, 0));
        // IPv6 networks are /56s; an IPv4-mapped address is its IPv4 address.
        let v6: IpAddr = "2001:db8:0:100::1".parse().unwrap();
        for _ in 0..10 {
            assert!(limiter.allow(v6, &answer, &query, 0));
        }
        assert!(!limiter.allow("2001:db8:0:1ff::2".parse().unwrap(), &answer, &query, 0));
        assert!(limiter.allow("2001:db8:0:200::1".parse().unwrap(), &answer, &query, 0));
        assert!(!limiter.allow("::ffff:203.0.113.1".parse().unwrap(), &answer, &query, 0));
    }

    #[test]
    fn proved_and_exempt_clients_are_never_limited() {
        let limiter = Limiter::new(&settings(1)).unwrap().unwrap();
        let (query, name) = asked("example.tld");
        let plain = source(ResponseKind::Referral, name);
        let proved = Source {
            verified: true,
            ..plain.clone()
        };
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        assert!(limiter.allow(client, &plain, &query, 0));
        assert!(!limiter.allow(client, &plain, &query, 0));
        for _ in 0..100 {
            assert!(limiter.allow(client, &proved, &query, 0));
            assert!(limiter.allow("192.0.2.1".parse().unwrap(), &plain, &query, 0));
        }
    }

    #[test]
    fn a_flood_over_many_flows_leaves_memory_alone_and_other_flows_mostly_through() {
        let limiter = Limiter::new(&RateLimit {
            responses_per_second: 5,
            table_size: 4096,
            ..RateLimit::default()
        })
        .unwrap()
        .unwrap();
        let (query, name) = asked("example.tld");
        let answer = source(ResponseKind::Answer, name);
        // A million sources, each once: the table does not grow.
        for i in 0..1_000_000u32 {
            limiter.allow(IpAddr::V4((i << 8).into()), &answer, &query, 0);
        }
        assert_eq!(limiter.lines.len() * 8, 4096);
        // A second later the table has drained.
        assert!(limiter.allow("203.0.113.9".parse().unwrap(), &answer, &query, 1000));
    }

    #[test]
    fn the_clock_may_wrap_or_step_back() {
        let word = (u64::from(u32::MAX - 5) << 32) | (10 * UNIT);
        // 10 ms later across the wrap, at 100 per second: one unit drained.
        assert_eq!(level_at(word, 4, 100), 9 * UNIT);
        // A reading from just before: nothing drained.
        assert_eq!(level_at(word, u32::MAX - 6, 100), 10 * UNIT);
    }

    #[test]
    fn slip_lets_every_nth_through() {
        let mut slip = Slip::new(2);
        let through: Vec<bool> = (0..6).map(|_| slip.truncates()).collect();
        assert_eq!(through, [false, true, false, true, false, true]);
        assert!((0..10).all(|_| Slip::new(1).truncates()));
        let mut none = Slip::new(0);
        assert!((0..10).all(|_| !none.truncates()));
    }
}
