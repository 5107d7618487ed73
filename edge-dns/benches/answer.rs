//! Micro-benchmarks of the UDP answer path: the engine answering referrals from a generated
//! TLD, alone and with response rate limiting counting every response (the work a UDP worker
//! adds when `[rate_limit]` is on and the client is not exempt).
//!
//! ```sh
//! cargo bench -p edge-dns --bench answer -- --warm-up-time 1 --measurement-time 5
//! ```

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edge_dns::config::RateLimit;
use edge_dns::engine::{self, Config, Peer, Transport, Zones};
use edge_dns::rrl::Limiter;

const QUERIES: usize = 10_000;

/// A generated TLD of 100,000 delegations, and queries for names below its delegations.
fn setup() -> (Zones, Vec<Vec<u8>>) {
    let options = zonefiles::generate::Options {
        delegations: 100_000,
        ..Default::default()
    };
    let mut text = Vec::new();
    zonefiles::generate::generate(&options, &mut text).unwrap();
    let records =
        zonefiles::master::parse_bytes("bench", &text, zonefiles::ParseOptions::default()).unwrap();
    let (zone, _) = zonefiles::Zone::from_records(None, zonefiles::Class::IN, records);
    let (bytes, _) = zonefiles::image::compile(&zone, |_| {}).unwrap();
    let image = zonefiles::image::Image::from_bytes(bytes).unwrap();
    let delegations: Vec<String> = zone
        .records()
        .iter()
        .filter(|r| r.rtype == zonefiles::RecordType::NS && r.owner.label_count() == 2)
        .map(|r| r.owner.to_string())
        .collect();
    let queries = (0..QUERIES)
        .map(|i| {
            let owner = &delegations[(i * 7919) % delegations.len()];
            let mut msg = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
            for label in format!("www.{owner}").trim_end_matches('.').split('.') {
                msg.push(label.len() as u8);
                msg.extend_from_slice(label.as_bytes());
            }
            msg.extend_from_slice(&[0, 0, 1, 0, 1]);
            msg
        })
        .collect();
    (Zones::new(vec![Arc::new(image)]), queries)
}

fn answer(c: &mut Criterion) {
    let (zones, queries) = setup();
    let config = Config::default();
    let peer = |i: usize| Peer {
        transport: Transport::Udp,
        // Clients from a thousand networks, so the limiter's table is touched all over.
        addr: IpAddr::V4(Ipv4Addr::from(0xC000_0000 | ((i as u32 % 1000) << 8) | 7)),
        now: 1_700_000_000,
    };
    let limiter = Limiter::new(&RateLimit {
        responses_per_second: edge_dns::rrl::MAX_RATE,
        exempt: Vec::new(),
        ..RateLimit::default()
    })
    .unwrap()
    .unwrap();
    let mut out = vec![0u8; 1232];
    let mut group = c.benchmark_group("udp_answer");
    group.throughput(Throughput::Elements(QUERIES as u64));
    group.bench_function("referral", |b| {
        b.iter(|| {
            for (i, q) in queries.iter().enumerate() {
                black_box(engine::respond(q, &zones, &config, &peer(i), &mut out));
            }
        })
    });
    group.bench_function("referral_rate_limited", |b| {
        b.iter(|| {
            let now_ms = limiter.now_ms();
            for (i, q) in queries.iter().enumerate() {
                let peer = peer(i);
                let (len, source) = engine::respond(q, &zones, &config, &peer, &mut out).unwrap();
                black_box((len, limiter.allow(peer.addr, &source, q, now_ms)));
            }
        })
    });
    // The limiter alone, on the sources the engine gave.
    let sources: Vec<_> = queries
        .iter()
        .enumerate()
        .map(|(i, q)| {
            engine::respond(q, &zones, &config, &peer(i), &mut out)
                .unwrap()
                .1
        })
        .collect();
    group.bench_function("rate_limit_only", |b| {
        b.iter(|| {
            let now_ms = limiter.now_ms();
            for (i, (q, source)) in queries.iter().zip(&sources).enumerate() {
                black_box(limiter.allow(peer(i).addr, source, q, now_ms));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, answer);
criterion_main!(benches);
