//! The answer path, rate limiting included, allocates nothing per query (for names up to 30
//! octets, which are stored inline): counted with a global allocator that counts this
//! thread's allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use edge_dns::config::RateLimit;
use edge_dns::engine::{self, Config, CookieSecrets, Transport};
use edge_dns::rrl::Limiter;

use crate::support::{peer, query, with_opt};

pub struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counter is a const-initialised thread-local
// Cell, whose access does not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn answering_allocates_nothing() {
    let text = "tld. 300 IN SOA a.nic.tld. h.tld. 1 2 3 4 5\ntld. 300 IN NS a.nic.tld.\n\
                a.nic.tld. 300 IN A 192.0.2.1\nexample.tld. 300 IN NS ns1.example.tld.\n\
                ns1.example.tld. 300 IN A 192.0.2.2\n*.wild.tld. 300 IN TXT \"w\"\n\
                alias.tld. 300 IN CNAME a.nic.tld.\nold.tld. 300 IN DNAME new.tld.\n";
    let zones = crate::support::zones(text.as_bytes());
    let config = Config {
        cookies: Some(CookieSecrets {
            current: [3; 16],
            previous: None,
        }),
        ..Config::default()
    };
    let mut queries: Vec<Vec<u8>> = [
        ("www.example.tld.", 1),
        ("tld.", 2),
        ("nope.tld.", 1),
        ("x.wild.tld.", 16),
        ("alias.tld.", 1),
        ("a.old.tld.", 28),
        ("example.com.", 1),
    ]
    .iter()
    .map(|(name, qtype)| query(9, name, *qtype))
    .collect();
    // A client cookie, and a client and server cookie: answered with a server cookie.
    let cookie = [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8];
    queries.push(with_opt(query(9, "x.wild.tld.", 16), 1232, 0, &cookie));
    let mut full = vec![0, 10, 0, 24, 1, 2, 3, 4, 5, 6, 7, 8, 1, 0, 0, 0];
    full.extend_from_slice(&[9; 12]);
    queries.push(with_opt(query(9, "tld.", 2), 1232, 0, &full));
    let udp = peer(Transport::Udp);
    let mut out = vec![0u8; 65535];
    // Rate limiting as the UDP path does it, loopback not exempt: counting, limiting,
    // truncating.
    let limiter = Limiter::new(&RateLimit {
        responses_per_second: 50,
        exempt: Vec::new(),
        ..RateLimit::default()
    })
    .unwrap()
    .unwrap();
    let mut slip = limiter.slip();
    let before = allocations();
    for _ in 0..100 {
        for q in &queries {
            let (len, source) = engine::respond(q, &zones, &config, &udp, &mut out).unwrap();
            if !limiter.allow(udp.addr, &source, q, limiter.now_ms()) && slip.truncates() {
                assert!(engine::truncate(&mut out, len).is_some());
            }
        }
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations while answering 900 queries"
    );
}
