//! The Ferret conformance cases (../shared/testdata/ferret/ValidZoneFileTests): each zone and
//! query, answered by the engine, must match one of the groups of responses that BIND, NSD,
//! Knot and PowerDNS gave (ignoring the message id and record order within a section).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use edge_dns::engine::{self, Config, Transport, Zones};
use serde::Deserialize;
use zonefiles::master::{self, ParseOptions};
use zonefiles::{Class, Zone, image};

use crate::support::{describe, normalize, peer, query};

#[derive(Deserialize)]
struct Case {
    #[serde(rename = "Query")]
    query: QueryText,
    #[serde(rename = "Expected Response")]
    expected: Vec<Group>,
}

#[derive(Deserialize)]
struct QueryText {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Type")]
    rtype: String,
}

#[derive(Deserialize)]
struct Group {
    #[serde(rename = "Server/s")]
    servers: String,
    #[serde(rename = "Response")]
    response: Vec<String>,
}

fn ferret() -> Option<PathBuf> {
    let dir = std::env::var_os("FERRET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata/ferret")
        });
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the Ferret corpus is missing at {}",
        dir.display()
    );
    eprintln!(
        "skipping: no Ferret corpus at {} (set FERRET_DIR)",
        dir.display()
    );
    None
}

#[test]
fn ferret_valid_zone_cases() {
    let Some(dir) = ferret() else { return };
    let dir = dir.join("ValidZoneFileTests");
    let mut total = 0;
    let mut matched = 0;
    let mut by_server: BTreeMap<String, usize> = BTreeMap::new();
    let mut mismatches = Vec::new();
    let mut out = vec![0u8; 65535];
    let mut entries: Vec<_> = std::fs::read_dir(dir.join("ExpectedResponses"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let cases: Vec<Case> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let text = std::fs::read(dir.join("ZoneFiles").join(format!("{stem}.txt"))).unwrap();
        let records = master::parse_bytes(&stem, &text, ParseOptions::default()).unwrap();
        let (zone, _) = Zone::from_records(None, Class::IN, records);
        let (bytes, _) = image::compile(&zone, |_| {}).unwrap();
        let zones = Zones::new(vec![Arc::new(image::Image::from_bytes(bytes).unwrap())]);
        let udp = peer(Transport::Udp);
        for case in cases {
            total += 1;
            let qtype = zonefiles::RecordType::from_text(case.query.rtype.as_bytes()).unwrap();
            let msg = query(1, &case.query.name, qtype.0);
            let len = engine::answer(&msg, &zones, &Config::default(), &udp, &mut out)
                .expect("an answer");
            let ours = normalize(&describe(&out[..len]));
            let hit = case
                .expected
                .iter()
                .find(|g| normalize(&g.response) == ours);
            match hit {
                Some(group) => {
                    matched += 1;
                    for server in group.servers.split_whitespace() {
                        *by_server.entry(server.to_owned()).or_default() += 1;
                    }
                }
                None => mismatches.push((
                    stem.clone(),
                    case.query.name.clone(),
                    case.query.rtype.clone(),
                    ours,
                    case.expected,
                )),
            }
        }
    }
    eprintln!(
        "Ferret: {matched} of {total} responses match a reference group ({:.2}%)",
        matched as f64 * 100.0 / total as f64
    );
    eprintln!("matched groups by server: {by_server:?}");
    for (stem, name, rtype, ours, expected) in mismatches.iter().take(
        std::env::var("FERRET_SHOW")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3),
    ) {
        eprintln!("--- zone {stem}: {name} {rtype}\nours: {ours:?}");
        for g in expected {
            eprintln!("{}: {:?}", g.servers, normalize(&g.response));
        }
    }
    assert!(total > 9000);
    // Every case matches a reference group; a change that breaks one shows it above.
    assert_eq!(
        matched,
        total,
        "{} Ferret cases do not match (FERRET_SHOW=n shows them)",
        total - matched
    );
}
