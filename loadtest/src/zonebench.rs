//! The zone-tooling benchmark: open an image and answer a first look-up, warm look-ups of
//! random delegations, and the diff of two images.

use std::path::Path;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use zonefiles::image::{Find, Image};
use zonefiles::{Name, changeset};

/// Figures from one run.
#[derive(Debug, Clone)]
pub struct Report {
    /// Time to open the image as a server does (trusted: verified when installed) and answer
    /// the first look-up.
    pub open_and_first_lookup: Duration,
    /// The same with the index checksum checked ([`Image::open`]).
    pub open_checked_and_first_lookup: Duration,
    /// Median cost of one warm look-up of a random delegation, over several rounds.
    pub lookup_median: Duration,
    /// Look-ups per round.
    pub lookups: usize,
    /// Time to read both images back and diff them.
    pub diff: Option<Duration>,
    /// Records removed and added by the diff.
    pub diff_size: Option<(usize, usize)>,
}

/// Runs the benchmark on `image`, and the diff against `changed` if given.
pub fn run(image: &Path, changed: Option<&Path>, rounds: usize) -> anyhow::Result<Report> {
    let started = Instant::now();
    let zone = Image::open_trusted(image)?;
    let first: Name = format!("nonexistent-name.{}", zone.origin()).parse()?;
    let _ = zone.find(&first)?;
    let open_and_first_lookup = started.elapsed();
    let started = Instant::now();
    let checked = Image::open(image)?;
    let _ = checked.find(&first)?;
    let open_checked_and_first_lookup = started.elapsed();

    // Query names below random delegations, as resolvers send them (referrals).
    let mut names = Vec::new();
    zone.for_each_node(|name, node| {
        if node.is_delegation() {
            names.push(name.child(b"www").expect("short names"));
        }
        Ok(())
    })?;
    names.shuffle(&mut SmallRng::seed_from_u64(7));
    let mut per_round = Vec::new();
    for _ in 0..rounds.max(3) {
        let started = Instant::now();
        let mut referrals = 0usize;
        for name in &names {
            if let Find::Referral { .. } = zone.find(name)? {
                referrals += 1;
            }
        }
        assert_eq!(
            referrals,
            names.len(),
            "every name below a delegation is a referral"
        );
        per_round.push(started.elapsed() / names.len().max(1) as u32);
    }
    per_round.sort();
    let lookup_median = per_round[per_round.len() / 2];

    let (diff, diff_size) = match changed {
        Some(path) => {
            let started = Instant::now();
            let other = Image::open(path)?;
            let (a, b) = std::thread::scope(|s| {
                let a = s.spawn(|| zone.to_zone());
                let b = other.to_zone();
                (a.join().expect("no panic"), b)
            });
            let cs = changeset::diff(&a?, &b?)?;
            (
                Some(started.elapsed()),
                Some((cs.removed.len(), cs.added.len())),
            )
        }
        None => (None, None),
    };
    Ok(Report {
        open_and_first_lookup,
        open_checked_and_first_lookup,
        lookup_median,
        lookups: names.len(),
        diff,
        diff_size,
    })
}
