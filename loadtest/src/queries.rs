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

/// Writes `count` queries, one `name type` per line (dnsperf's format).
pub fn generate(zone: &Path, count: usize, seed: u64, mut out: impl Write) -> anyhow::Result<()> {
    let mut origin = None;
    let mut delegations: Vec<String> = Vec::new();
    let mut last = String::new();
    for record in Reader::open(zone, ParseOptions::default())? {
        let record = record?;
        if record.rtype == RecordType::SOA {
            origin = Some(record.owner.clone());
        }
        if record.rtype == RecordType::NS && Some(&record.owner) != origin.as_ref() {
            let owner = record.owner.to_string();
            if owner != last {
                delegations.push(owner.clone());
                last = owner;
            }
        }
    }
    let origin = origin.ok_or_else(|| anyhow::anyhow!("{} has no SOA", zone.display()))?;
    anyhow::ensure!(
        !delegations.is_empty(),
        "{} has no delegations",
        zone.display()
    );
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
