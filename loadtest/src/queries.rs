//! Query files for dnsperf and the DNS load generators: a TLD's traffic mix drawn from a zone.
//!
//! The mix (by default): 70% names below random delegations (answered with referrals), 10% NS
//! or DS at delegations, 5% at the apex (SOA, NS), 15% names that do not exist. Deterministic
//! for a given seed.

use std::io::Write;
use std::path::Path;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use zonefiles::{ParseOptions, Reader, RecordType};

/// What the query mixes draw from: the zone's origin, its delegations in file order (with
/// the trailing dot) and its glue addresses.
struct Drawn {
    origin: String,
    delegations: Vec<String>,
    addresses: Vec<std::net::Ipv4Addr>,
}

fn read_zone(zone: &Path) -> anyhow::Result<Drawn> {
    let mut origin = None;
    let mut delegations: Vec<String> = Vec::new();
    let mut addresses = Vec::new();
    for record in Reader::open(zone, ParseOptions::default())? {
        let record = record?;
        if record.rtype == RecordType::SOA {
            origin = Some(record.owner.clone());
        } else if record.rtype == RecordType::NS && Some(&record.owner) != origin.as_ref() {
            let owner = record.owner.to_string();
            if delegations.last() != Some(&owner) {
                delegations.push(owner);
            }
        } else if let (RecordType::A, Ok(octets)) =
            (record.rtype, <[u8; 4]>::try_from(&record.rdata[..]))
        {
            addresses.push(octets.into());
        }
    }
    let origin = origin.ok_or_else(|| anyhow::anyhow!("{} has no SOA", zone.display()))?;
    anyhow::ensure!(
        !delegations.is_empty(),
        "{} has no delegations",
        zone.display()
    );
    Ok(Drawn {
        origin: origin.to_string(),
        delegations,
        addresses,
    })
}

/// Writes `count` queries, one `name type` per line (dnsperf's format).
pub fn generate(zone: &Path, count: usize, seed: u64, mut out: impl Write) -> anyhow::Result<()> {
    let Drawn {
        origin,
        delegations,
        ..
    } = read_zone(zone)?;
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut line = String::with_capacity(96);
    for _ in 0..count {
        line.clear();
        let pick = &delegations[rng.random_range(0..delegations.len())];
        use std::fmt::Write as _;
        let _ = match rng.random_range(0..100) {
            0..70 => writeln!(line, "www.{pick} A"),
            70..80 => writeln!(
                line,
                "{pick} {}",
                if rng.random_bool(0.5) { "NS" } else { "DS" }
            ),
            80..85 => writeln!(
                line,
                "{origin} {}",
                if rng.random_bool(0.5) { "SOA" } else { "NS" }
            ),
            _ => writeln!(line, "nx{:08x}.{origin} A", rng.random::<u32>()),
        };
        out.write_all(line.as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

/// WHOIS queries and RDAP request paths for a zone's registry, drawn from its delegations and
/// glue: WHOIS 90% registered domains and 10% free names; RDAP 80% domains, 10% free names, 5%
/// name-prefix searches and 5% name servers by address. Deterministic for a given seed.
pub fn registry_mix(
    zone: &Path,
    count: usize,
    seed: u64,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let drawn = read_zone(zone)?;
    let origin = drawn.origin.trim_end_matches('.');
    let domains: Vec<&str> = drawn
        .delegations
        .iter()
        .map(|d| d.trim_end_matches('.'))
        .collect();
    let addresses = &drawn.addresses;
    anyhow::ensure!(!addresses.is_empty(), "{} has no glue", zone.display());
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut whois = Vec::with_capacity(count);
    let mut rdap = Vec::with_capacity(count);
    for _ in 0..count {
        let domain = domains[rng.random_range(0..domains.len())];
        let free = format!("free-name-{:08x}.{origin}", rng.random::<u32>());
        whois.push(if rng.random_range(0..10) == 0 {
            free.clone()
        } else {
            domain.to_owned()
        });
        rdap.push(match rng.random_range(0..100) {
            0..80 => format!("/domain/{domain}"),
            80..90 => format!("/domain/{free}"),
            90..95 => format!(
                "/domains?name={}*",
                domain.chars().take(4).collect::<String>()
            ),
            _ => format!(
                "/nameservers?ip={}",
                addresses[rng.random_range(0..addresses.len())]
            ),
        });
    }
    Ok((whois, rdap))
}

/// The lines of a query or path file that are not blank.
pub fn read_lines(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    anyhow::ensure!(!lines.is_empty(), "{} has no queries", path.display());
    Ok(lines)
}
