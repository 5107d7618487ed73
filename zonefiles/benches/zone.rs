//! Micro-benchmarks of the zone core against a naive baseline.
//!
//! - `find`: placing a query name below a random delegation in a compiled image, against the
//!   same question answered by a `BTreeMap` of names (look up the name, then each ancestor).
//! - `read`: master-file reading throughput.
//!
//! The zone is made here, deterministically: delegations with two NS each and some glue.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use zonefiles::image::{self, Find, Image};
use zonefiles::master::{self, ParseOptions};
use zonefiles::{Class, Name, Zone};

fn zone_text(delegations: usize) -> String {
    let mut rng = SmallRng::seed_from_u64(1);
    let mut text = String::from(
        "tld. 3600 IN SOA a.nic.tld. h.nic.tld. 1 2 3 4 5\ntld. 3600 IN NS a.nic.tld.\na.nic.tld. 3600 IN A 192.0.2.1\n",
    );
    for i in 0..delegations {
        let provider = rng.random_range(0..500);
        let owner = format!("d{i}x{}.tld.", rng.random::<u16>());
        text.push_str(&format!("{owner} 86400 IN NS ns1.p{provider}.net.\n"));
        text.push_str(&format!("{owner} 86400 IN NS ns2.p{provider}.net.\n"));
        if i % 20 == 0 {
            text.push_str(&format!(
                "g{i}.tld. 86400 IN NS ns1.g{i}.tld.\nns1.g{i}.tld. 86400 IN A 198.51.100.{}\n",
                i % 250
            ));
        }
    }
    text
}

fn zone(text: &str) -> Zone {
    let options = ParseOptions {
        origin: Some("tld.".parse().unwrap()),
        ..ParseOptions::default()
    };
    let records = master::parse_bytes("bench", text.as_bytes(), options).unwrap();
    Zone::new("tld.".parse().unwrap(), Class::IN, records).0
}

/// The naive model: names in a `BTreeMap`; the closest encloser by trying each ancestor.
fn naive_find(names: &BTreeMap<Name, bool>, qname: &Name) -> Option<Name> {
    let mut name = Some(qname.clone());
    while let Some(n) = name {
        if names.contains_key(&n) {
            return Some(n);
        }
        name = n.parent();
    }
    None
}

fn find(c: &mut Criterion) {
    let mut group = c.benchmark_group("find");
    for delegations in [10_000, 200_000] {
        let zone = zone(&zone_text(delegations));
        let (bytes, _) = image::compile(&zone, |_| {}).unwrap();
        let image = Image::from_bytes(bytes).unwrap();
        let names: BTreeMap<Name, bool> = zone
            .records()
            .iter()
            .map(|r| (r.owner.clone(), true))
            .collect();
        let mut queries: Vec<Name> = names.keys().filter_map(|n| n.child(b"www").ok()).collect();
        queries.shuffle(&mut SmallRng::seed_from_u64(2));
        queries.truncate(10_000);
        group.throughput(Throughput::Elements(queries.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("image", delegations),
            &queries,
            |b, queries| {
                b.iter(|| {
                    for q in queries {
                        black_box(matches!(image.find(q), Ok(Find::Referral { .. })));
                    }
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("btreemap", delegations),
            &queries,
            |b, queries| {
                b.iter(|| {
                    for q in queries {
                        black_box(naive_find(&names, q));
                    }
                })
            },
        );
    }
    group.finish();
}

fn read(c: &mut Criterion) {
    let text = zone_text(20_000);
    let mut group = c.benchmark_group("read");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("master_file", |b| b.iter(|| black_box(zone(&text))));
    group.finish();
}

criterion_group!(benches, find, read);
criterion_main!(benches);
