//! Item-by-item comparison of a satellite's data with the registry's export at the same serial
//! (`control-plane export`): the .name plan's invariant that every registered active domain is
//! in the satellite's DNS and WHOIS, and nothing else is. The self-audit's digest says whether
//! the two differ; this says where.
//!
//! DNS is compared by owner name (every record at a name: a delegation's NS and DS, glue), WHOIS
//! by object (domain, host, registrar). The satellite's zone is what edge-dns serves: the zone
//! directory's image with its journal applied.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};

use zonefiles::Zone;
use zonefiles::whois::Object;
use zonefiles::zonedir::ZoneDir;

/// How many differences of each kind a report lists.
pub const LISTED: usize = 10;

/// The differences in one kind of data.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Differences {
    /// Items the registry has.
    pub expected: usize,
    /// Items the satellite holds.
    pub held: usize,
    /// How many the satellite lacks, and the first [`LISTED`].
    pub missing: (usize, Vec<String>),
    /// How many it has that the registry does not, and the first.
    pub extra: (usize, Vec<String>),
    /// How many it holds otherwise than the registry, and the first.
    pub different: (usize, Vec<String>),
}

impl Differences {
    /// True if the two agree.
    pub fn none(&self) -> bool {
        self.missing.0 + self.extra.0 + self.different.0 == 0
    }

    fn between<T: PartialEq>(
        expected: &BTreeMap<String, T>,
        held: &BTreeMap<String, T>,
    ) -> Differences {
        let mut d = Differences {
            expected: expected.len(),
            held: held.len(),
            ..Differences::default()
        };
        let note = |list: &mut (usize, Vec<String>), key: &String| {
            list.0 += 1;
            if list.1.len() < LISTED {
                list.1.push(key.clone());
            }
        };
        for (key, value) in expected {
            match held.get(key) {
                None => note(&mut d.missing, key),
                Some(v) if v != value => note(&mut d.different, key),
                Some(_) => {}
            }
        }
        for key in held.keys().filter(|k| !expected.contains_key(*k)) {
            note(&mut d.extra, key);
        }
        d
    }
}

/// A zone's comparison.
#[derive(Debug)]
pub struct Report {
    /// The zone.
    pub zone: String,
    /// Names in DNS (owner names).
    pub dns: Differences,
    /// WHOIS objects.
    pub whois: Differences,
}

impl Report {
    /// True if the satellite holds exactly the registry's data.
    pub fn same(&self) -> bool {
        self.dns.none() && self.whois.none()
    }
}

/// The zone a zone directory serves: its image with its journal applied.
pub fn served(directory: &Path) -> anyhow::Result<Zone> {
    let snapshot = ZoneDir::open(directory)?.load()?;
    let mut zone = snapshot.image.to_zone()?;
    if let Some(net) = zonefiles::compose(&snapshot.changesets)? {
        zone = zonefiles::apply(zone, &net)?;
    }
    Ok(zone)
}

fn by_owner(zone: &Zone) -> BTreeMap<String, Vec<String>> {
    let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for record in zone.records() {
        owners
            .entry(record.owner.to_string())
            .or_default()
            .push(record.to_string());
    }
    for records in owners.values_mut() {
        records.sort();
    }
    owners
}

fn by_key(objects: &[Object]) -> BTreeMap<String, &Object> {
    objects
        .iter()
        .map(|o| (format!("{:?}", o.key()), o))
        .collect()
}

/// Compares what a satellite holds of `zone` with what the registry exported.
pub fn compare(zone: &str, held: (&Zone, &[Object]), expected: (&Zone, &[Object])) -> Report {
    Report {
        zone: zone.to_owned(),
        dns: Differences::between(&by_owner(expected.0), &by_owner(held.0)),
        whois: Differences::between(&by_key(expected.1), &by_key(held.1)),
    }
}

/// Compares the zone `origin` held in `directory` (and `tree`) with the registry's export in
/// the folder `export` at the serial held, and prints the report; true if they are the same.
pub fn against_export(
    origin: &str,
    directory: &Path,
    tree: &Path,
    export: &Path,
) -> anyhow::Result<bool> {
    let held = served(directory)?;
    let serial = held.serial().context("the zone has no SOA")?;
    let image = export.join(format!("{}-{serial}.img", origin));
    let whois = export.join(format!("{}-{serial}.whois", origin));
    if !image.exists() || !whois.exists() {
        bail!(
            "{} holds serial {serial}: export the registry at it first (control-plane export {} --serial {serial} -o {})",
            origin,
            origin,
            export.display()
        );
    }
    let expected = zonefiles::image::Image::open(&image)?.to_zone()?;
    let lines = std::fs::read(&whois).with_context(|| format!("reading {}", whois.display()))?;
    let expected_objects = lines
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(serde_json::from_slice)
        .collect::<Result<Vec<Object>, _>>()
        .with_context(|| format!("reading {}", whois.display()))?;
    let held_objects = zonefiles::whois::tree::Tree::open(tree)?.zone_objects(origin)?;
    let report = compare(
        origin,
        (&held, &held_objects),
        (&expected, &expected_objects),
    );
    for (what, d) in [("DNS names", &report.dns), ("WHOIS objects", &report.whois)] {
        println!(
            "{} at serial {serial}: {what}: registry {}, satellite {}; missing {}, extra {}, different {}",
            origin, d.expected, d.held, d.missing.0, d.extra.0, d.different.0
        );
        for (kind, list) in [
            ("missing", &d.missing.1),
            ("extra", &d.extra.1),
            ("different", &d.different.1),
        ] {
            for item in list {
                println!("  {kind}: {item}");
            }
        }
    }
    Ok(report.same())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_what_is_missing_extra_and_different() {
        let expected: BTreeMap<String, u8> = [("a", 1), ("b", 2), ("c", 3)]
            .map(|(k, v)| (k.to_string(), v))
            .into();
        let held: BTreeMap<String, u8> = [("a", 1), ("b", 9), ("d", 4)]
            .map(|(k, v)| (k.to_string(), v))
            .into();
        let d = Differences::between(&expected, &held);
        assert_eq!(d.missing, (1, vec!["c".to_string()]));
        assert_eq!(d.extra, (1, vec!["d".to_string()]));
        assert_eq!(d.different, (1, vec!["b".to_string()]));
        assert!(!d.none());
        assert!(Differences::between(&expected, &expected).none());
    }
}
