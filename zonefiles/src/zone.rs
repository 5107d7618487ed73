//! A zone as a sorted record list: the model that checks, diffs, the writer and the image
//! compiler share.

use std::path::Path;

use crate::check::{Finding, Rule, Severity};
use crate::master::{ParseError, ParseOptions, Reader};
use crate::name::Name;
use crate::rdata;
use crate::record::Record;
use crate::rtype::{Class, RecordType};

/// The records of one zone in DNSSEC canonical order (RFC 4034 §6.3), without duplicates,
/// every RRset with one TTL (RFC 2181 §5.2).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Zone {
    origin: Name,
    class: Class,
    records: Vec<Record>,
}

/// Sorts records canonically. Records of one owner mostly come together in a file, so each
/// run of one owner gets its canonical key once and the runs are sorted by key (a 16-byte
/// prefix compared first); only the records of one owner are then compared among themselves.
pub(crate) fn sort_canonically(records: Vec<Record>) -> Vec<Record> {
    struct Run {
        prefix: u128,
        key: std::ops::Range<usize>,
        records: std::ops::Range<usize>,
    }
    let mut keys = Vec::with_capacity(records.len() * 8);
    let mut runs: Vec<Run> = Vec::new();
    let mut start = 0;
    while start < records.len() {
        let owner = &records[start].owner;
        let len = records[start..]
            .iter()
            .take_while(|r| r.owner == *owner)
            .count();
        let key_start = keys.len();
        owner.canonical_key(&mut keys);
        let mut prefix = [0u8; 16];
        let key = &keys[key_start..];
        prefix[..key.len().min(16)].copy_from_slice(&key[..key.len().min(16)]);
        runs.push(Run {
            prefix: u128::from_be_bytes(prefix),
            key: key_start..keys.len(),
            records: start..start + len,
        });
        start += len;
    }
    runs.sort_unstable_by(|a, b| {
        a.prefix
            .cmp(&b.prefix)
            .then_with(|| keys[a.key.clone()].cmp(&keys[b.key.clone()]))
    });
    // Groups of runs with one owner, in order.
    let mut groups = Vec::with_capacity(runs.len());
    let mut i = 0;
    while i < runs.len() {
        let mut j = i + 1;
        while j < runs.len() && keys[runs[j].key.clone()] == keys[runs[i].key.clone()] {
            j += 1;
        }
        groups.push(i..j);
        i = j;
    }
    // Copy the records out group by group (one random access per run, sequential writes) and
    // order each owner's records by type and rdata while they are in cache. Large zones are
    // gathered in two halves on two threads.
    let gather = |groups: &[std::ops::Range<usize>], capacity: usize| {
        let mut out: Vec<Record> = Vec::with_capacity(capacity);
        for group in groups {
            let start = out.len();
            for run in &runs[group.clone()] {
                out.extend_from_slice(&records[run.records.clone()]);
            }
            let owned = &mut out[start..];
            if owned.len() > 1
                && !owned.is_sorted_by(|a, b| (a.rtype, &a.rdata) <= (b.rtype, &b.rdata))
            {
                owned.sort_by(|a, b| a.rtype.cmp(&b.rtype).then_with(|| a.rdata.cmp(&b.rdata)));
            }
        }
        out
    };
    if records.len() < 100_000 {
        return gather(&groups, records.len());
    }
    let mut half = 0;
    let mut count = 0;
    while half < groups.len() && count < records.len() / 2 {
        count += groups[half]
            .clone()
            .map(|r| runs[r].records.len())
            .sum::<usize>();
        half += 1;
    }
    let (first, second) = groups.split_at(half);
    std::thread::scope(|s| {
        let tail = s.spawn(|| gather(second, records.len() - count));
        let mut sorted = gather(first, records.len());
        sorted.extend(tail.join().expect("gathering does not panic"));
        sorted
    })
}

/// The type an RRSIG covers (its first rdata field); `None` for other records.
pub(crate) fn covered_type(record: &Record) -> Option<u16> {
    (record.rtype == RecordType::RRSIG && record.rdata.len() >= 2)
        .then(|| u16::from_be_bytes([record.rdata[0], record.rdata[1]]))
}

/// Gives each RRSIG the TTL of the RRset it covers at its owner, as RFC 4034 §3 requires;
/// a zone image keeps one TTL per type and node, and answers with the covered TTL.
fn rrsig_ttls(records: &mut [Record], findings: &mut Vec<Finding>) {
    let mut start = 0;
    while start < records.len() {
        let len = records[start..]
            .iter()
            .take_while(|r| r.owner == records[start].owner)
            .count();
        let node = &mut records[start..start + len];
        for i in 0..node.len() {
            let Some(covered) = covered_type(&node[i]) else {
                continue;
            };
            let Some(ttl) = node.iter().find(|r| r.rtype.0 == covered).map(|r| r.ttl) else {
                continue;
            };
            if node[i].ttl != ttl {
                findings.push(Finding::new(
                    Severity::Warning,
                    Rule::TtlMismatch,
                    &node[i].owner,
                    Some(node[i].rtype),
                    format!(
                        "RRSIG TTL {} set to the TTL {ttl} of the RRset it covers",
                        node[i].ttl
                    ),
                ));
                node[i].ttl = ttl;
            }
        }
        start += len;
    }
}

/// Makes records in canonical order a zone's: duplicates dropped, the records of an RRset given
/// the lowest TTL among them (RFC 2181 §5.2), each RRSIG the TTL of the RRset it covers; every
/// change reported as a warning. `records` holds whole nodes (a zone, or one node of a zone
/// streamed in canonical order).
pub(crate) fn normalize(records: &mut Vec<Record>, findings: &mut Vec<Finding>) {
    records.dedup_by(|next, kept| {
        let duplicate = next.same_rr(kept);
        if duplicate {
            findings.push(Finding::new(
                Severity::Warning,
                Rule::DuplicateRecord,
                &next.owner,
                Some(next.rtype),
                // Which copy is dropped depends on the order they were read in; the message
                // does not.
                format!(
                    "duplicate record ignored: {} {} {} (the lower TTL kept)",
                    next.class,
                    next.rtype,
                    next.rdata_text()
                ),
            ));
            kept.ttl = kept.ttl.min(next.ttl);
        }
        duplicate
    });
    let mut start = 0;
    while start < records.len() {
        let (owner, rtype) = (&records[start].owner, records[start].rtype);
        let covered = covered_type(&records[start]);
        let len = records[start..]
            .iter()
            .take_while(|r| r.owner == *owner && r.rtype == rtype && covered_type(r) == covered)
            .count();
        let rrset = &mut records[start..start + len];
        let ttl = rrset.iter().map(|r| r.ttl).min().expect("non-empty");
        for record in rrset.iter_mut().filter(|r| r.ttl != ttl) {
            findings.push(Finding::new(
                Severity::Warning,
                Rule::TtlMismatch,
                &record.owner,
                Some(record.rtype),
                format!("TTL {} set to the RRset's lowest TTL {ttl}", record.ttl),
            ));
            record.ttl = ttl;
        }
        start += len;
    }
    rrsig_ttls(records, findings);
}

impl Zone {
    /// Builds a zone from records in any order, normalized: duplicate records
    /// dropped, and the records of an RRset with differing TTLs all given the lowest of them
    /// (RFC 2181 §5.2), each reported as a warning.
    pub fn new(origin: Name, class: Class, records: Vec<Record>) -> (Zone, Vec<Finding>) {
        let mut findings = Vec::new();
        let mut records = sort_canonically(records);
        normalize(&mut records, &mut findings);
        let zone = Zone {
            origin,
            class,
            records,
        };
        (zone, findings)
    }

    /// Builds a zone from records already in canonical order and without duplicates.
    pub(crate) fn from_sorted(origin: Name, class: Class, records: Vec<Record>) -> Zone {
        debug_assert!(
            records
                .windows(2)
                .all(|w| w[0].canonical_cmp(&w[1]).is_lt())
        );
        Zone {
            origin,
            class,
            records,
        }
    }

    /// Reads a master file. The origin is the one in `options` or, failing that, the owner of
    /// the file's first SOA record.
    pub fn read(path: &Path, options: ParseOptions) -> Result<(Zone, Vec<Finding>), ParseError> {
        let class = options.class;
        let given = options.origin.clone();
        let records: Vec<Record> = Reader::open(path, options)?.collect::<Result<_, _>>()?;
        Ok(Zone::from_records(given, class, records))
    }

    /// Builds a zone whose origin is `origin` or, when `None`, its first SOA's owner (the root
    /// when there is no SOA; the checks report that).
    pub fn from_records(
        origin: Option<Name>,
        class: Class,
        records: Vec<Record>,
    ) -> (Zone, Vec<Finding>) {
        let origin = origin
            .or_else(|| {
                records
                    .iter()
                    .find(|r| r.rtype == RecordType::SOA)
                    .map(|r| r.owner.clone())
            })
            .unwrap_or_else(Name::root);
        Zone::new(origin, class, records)
    }

    /// The zone's name.
    pub fn origin(&self) -> &Name {
        &self.origin
    }

    /// The zone's class.
    pub fn class(&self) -> Class {
        self.class
    }

    /// All records in canonical order.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Takes the records out.
    pub fn into_records(self) -> Vec<Record> {
        self.records
    }

    /// The SOA record at the apex, if there is exactly one.
    pub fn soa(&self) -> Option<&Record> {
        match self.get(&self.origin, RecordType::SOA) {
            [soa] => Some(soa),
            _ => None,
        }
    }

    /// The serial of the apex SOA.
    pub fn serial(&self) -> Option<u32> {
        self.soa().and_then(|soa| rdata::soa_serial(&soa.rdata))
    }

    /// The records of one RRset (empty if there is none).
    pub fn get(&self, owner: &Name, rtype: RecordType) -> &[Record] {
        let start = self
            .records
            .partition_point(|r| (&r.owner, r.rtype) < (owner, rtype));
        let len = self.records[start..]
            .iter()
            .take_while(|r| r.owner == *owner && r.rtype == rtype)
            .count();
        &self.records[start..start + len]
    }

    /// The records owned by one name (empty if there is none).
    pub fn node(&self, owner: &Name) -> &[Record] {
        let start = self.records.partition_point(|r| r.owner < *owner);
        let len = self.records[start..]
            .iter()
            .take_while(|r| r.owner == *owner)
            .count();
        &self.records[start..start + len]
    }

    /// True if some record is owned by `name` or a name below it.
    pub fn has_subtree(&self, name: &Name) -> bool {
        let start = self.records.partition_point(|r| r.owner < *name);
        self.records
            .get(start)
            .is_some_and(|r| r.owner.is_subdomain_of(name))
    }

    /// The RRsets in canonical order, each as a slice of records.
    pub fn rrsets(&self) -> impl Iterator<Item = &[Record]> {
        self.records
            .chunk_by(|a, b| a.owner == b.owner && a.rtype == b.rtype)
    }

    /// The nodes in canonical order, each as the slice of records its owner has.
    pub fn nodes(&self) -> impl Iterator<Item = &[Record]> {
        self.records.chunk_by(|a, b| a.owner == b.owner)
    }
}
