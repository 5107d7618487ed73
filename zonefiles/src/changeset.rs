//! Changesets: the unit of change `serial n → n+1` (`docs/architecture.md`, contract 2), with IXFR
//! semantics (RFC 1995 §4): the records removed and the records added, the old and new SOA
//! apart, plus the WHOIS objects set or deleted.
//!
//! [`diff`] and [`apply`] are pure: `apply(a, &diff(a, b)?)? == b` for any two zones with the
//! same origin whose serials increase. A record is identified by owner, type, class and rdata;
//! a TTL change is a removal and an addition.
//!
//! # Encoding (version 1, integers big-endian)
//!
//! ```text
//! u8 version = 1 · origin (wire name)
//! old SOA: ttl u32 · rdlength u16 · rdata      new SOA: the same
//! u32 removed count · records     u32 added count · records
//!     record: owner (wire name) · type u16 · class u16 · ttl u32 · rdlength u16 · rdata
//! u32 WHOIS op count · ops: u32 length · postcard encoding of a WhoisOp
//! ```
//!
//! Decoding checks every name and rdata, the order of the record lists and the serials, and
//! never allocates more than the input's size warrants.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::check::{Checked, Finding, Severity};
use crate::image::{CompileError, Compiled, Image, Nodes, overlapped};
use crate::name::Name;
use crate::octets::Octets;
use crate::rdata;
use crate::record::Record;
use crate::rtype::{Class, RecordType};
use crate::serial;
use crate::whois::WhoisOp;
use crate::zone::Zone;

/// One change of a zone from one serial to the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changeset {
    /// The zone's name.
    pub origin: Name,
    /// The SOA before the change.
    pub old_soa: Record,
    /// The SOA after the change.
    pub new_soa: Record,
    /// Records removed, in canonical order, SOA excluded.
    pub removed: Vec<Record>,
    /// Records added, in canonical order, SOA excluded.
    pub added: Vec<Record>,
    /// WHOIS objects set or deleted, in order.
    pub whois: Vec<WhoisOp>,
}

/// Why two zones cannot be diffed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    /// One of the zones has no single apex SOA.
    #[error("a zone without a single apex SOA cannot be diffed")]
    NoSoa,
    /// The zones have different names.
    #[error("zones {0} and {1} differ in origin")]
    Origin(Name, Name),
    /// The new serial is not after the old one (RFC 1982).
    #[error("serial {new} is not after {old}; raise the new zone's serial")]
    Serial {
        /// The old serial.
        old: u32,
        /// The new serial.
        new: u32,
    },
}

/// Why a changeset does not apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The zone is not at the changeset's starting serial.
    #[error("zone is at serial {found}, changeset starts at {expected}")]
    Serial {
        /// The changeset's starting serial.
        expected: u32,
        /// The zone's serial.
        found: u32,
    },
    /// The zone has no single apex SOA, or the changeset's SOAs are not at the apex.
    #[error("no single SOA at the apex")]
    NoSoa,
    /// A record to remove is not in the zone.
    #[error("record to remove is not in the zone: {0}")]
    Missing(Box<Record>),
    /// A record to add is already in the zone.
    #[error("record to add is already in the zone: {0}")]
    Duplicate(Box<Record>),
    /// A record to add is outside the zone.
    #[error("record outside the zone: {0}")]
    OutOfZone(Box<Record>),
    /// The result would have an RRset with mixed TTLs.
    #[error("RRset {0}/{1} would have records with different TTLs")]
    TtlMismatch(Name, RecordType),
    /// Changesets do not follow each other.
    #[error("changeset to serial {to} is followed by one from serial {from}")]
    Sequence {
        /// Where the earlier one ends.
        to: u32,
        /// Where the later one starts.
        from: u32,
    },
}

impl Changeset {
    /// The serial the changeset starts from.
    pub fn from_serial(&self) -> u32 {
        rdata::soa_serial(&self.old_soa.rdata).unwrap_or(0)
    }

    /// The serial the changeset leads to.
    pub fn to_serial(&self) -> u32 {
        rdata::soa_serial(&self.new_soa.rdata).unwrap_or(0)
    }
}

/// The changeset that turns `old` into `new`.
pub fn diff(old: &Zone, new: &Zone) -> Result<Changeset, DiffError> {
    if old.origin() != new.origin() {
        return Err(DiffError::Origin(
            old.origin().clone(),
            new.origin().clone(),
        ));
    }
    let (Some(old_soa), Some(new_soa)) = (old.soa(), new.soa()) else {
        return Err(DiffError::NoSoa);
    };
    let (old_serial, new_serial) = (old.serial().unwrap_or(0), new.serial().unwrap_or(0));
    if !serial::is_after(new_serial, old_serial) {
        return Err(DiffError::Serial {
            old: old_serial,
            new: new_serial,
        });
    }
    let mut removed = Vec::new();
    let mut added = Vec::new();
    let not_soa = |r: &&Record| !(r.rtype == RecordType::SOA && r.owner == *old.origin());
    let mut a = old.records().iter().filter(not_soa).peekable();
    let mut b = new.records().iter().filter(not_soa).peekable();
    loop {
        match (a.peek(), b.peek()) {
            (None, None) => break,
            (Some(_), None) => removed.push(a.next().expect("peeked").clone()),
            (None, Some(_)) => added.push(b.next().expect("peeked").clone()),
            (Some(x), Some(y)) => match x.canonical_cmp(y) {
                Ordering::Less => removed.push(a.next().expect("peeked").clone()),
                Ordering::Greater => added.push(b.next().expect("peeked").clone()),
                Ordering::Equal => {
                    let (x, y) = (a.next().expect("peeked"), b.next().expect("peeked"));
                    if x.ttl != y.ttl {
                        removed.push(x.clone());
                        added.push(y.clone());
                    }
                }
            },
        }
    }
    Ok(Changeset {
        origin: old.origin().clone(),
        old_soa: old_soa.clone(),
        new_soa: new_soa.clone(),
        removed,
        added,
        whois: Vec::new(),
    })
}

/// Applies one changeset to a zone.
pub fn apply(zone: Zone, changeset: &Changeset) -> Result<Zone, PatchError> {
    let origin = zone.origin().clone();
    let class = zone.class();
    let mut patch = Patch::new(changeset, zone.serial())?;
    let mut records = Vec::with_capacity(zone.records().len() + changeset.added.len());
    let mut keep = |node: &mut Vec<Record>| -> Result<(), PatchError> {
        records.append(node);
        Ok(())
    };
    for node in zone.nodes() {
        patch.node(node, &mut keep)?;
    }
    patch.finish(&mut keep)?;
    Ok(Zone::from_sorted(origin, class, records))
}

/// A changeset applied node by node to a zone coming in canonical order — a [`Zone`], or an
/// image read in order ([`Patched`]) — so that the result is never held whole: each node of
/// the base is handed on patched, preceded by the nodes made only of additions that sort
/// before it. Holds the changeset's records only.
pub(crate) struct Patch<'c> {
    origin: &'c Name,
    removed: &'c [Record],
    /// The additions and the new SOA, in canonical order, taken from the front.
    added: std::collections::VecDeque<&'c Record>,
    node: Vec<Record>,
}

impl<'c> Patch<'c> {
    /// A patch for a zone at `serial` (`None`: the zone has no single apex SOA).
    pub(crate) fn new(
        changeset: &'c Changeset,
        serial: Option<u32>,
    ) -> Result<Patch<'c>, PatchError> {
        let origin = &changeset.origin;
        let found = serial.ok_or(PatchError::NoSoa)?;
        if found != changeset.from_serial() {
            return Err(PatchError::Serial {
                expected: changeset.from_serial(),
                found,
            });
        }
        if changeset.new_soa.owner != *origin || changeset.new_soa.rtype != RecordType::SOA {
            return Err(PatchError::NoSoa);
        }
        if let Some(record) = changeset
            .added
            .iter()
            .find(|r| !r.owner.is_subdomain_of(origin))
        {
            return Err(PatchError::OutOfZone(Box::new(record.clone())));
        }
        let mut added: Vec<&Record> = changeset.added.iter().collect();
        added.push(&changeset.new_soa);
        added.sort_by(|a, b| a.canonical_cmp(b));
        Ok(Patch {
            origin,
            removed: &changeset.removed,
            added: added.into(),
            node: Vec::new(),
        })
    }

    /// Patches one node of the base zone (its records in canonical order) and hands on the
    /// nodes that result, in canonical order.
    pub(crate) fn node<E: From<PatchError>>(
        &mut self,
        base: &[Record],
        emit: &mut dyn FnMut(&mut Vec<Record>) -> Result<(), E>,
    ) -> Result<(), E> {
        let owner = &base[0].owner;
        self.added_before(Some(owner), emit)?;
        if let Some(missing) = self.removed.first().filter(|r| r.owner < *owner) {
            return Err(PatchError::Missing(Box::new(missing.clone())).into());
        }
        let mine = self
            .removed
            .iter()
            .take_while(|r| r.owner == *owner)
            .count();
        let (mut removed, rest) = self.removed.split_at(mine);
        self.removed = rest;
        let is_soa = |r: &Record| r.rtype == RecordType::SOA && r.owner == *self.origin;
        self.node.clear();
        for record in base.iter().filter(|r| !is_soa(r)) {
            if let Some(r) = removed.first() {
                match r.canonical_cmp(record) {
                    // Removals sorting before this record are not in the zone.
                    Ordering::Less => return Err(PatchError::Missing(Box::new(r.clone())).into()),
                    Ordering::Equal => {
                        removed = &removed[1..];
                        continue;
                    }
                    Ordering::Greater => {}
                }
            }
            self.node.push(record.clone());
        }
        if let Some(r) = removed.first() {
            return Err(PatchError::Missing(Box::new(r.clone())).into());
        }
        let mine = self.added.iter().take_while(|r| r.owner == *owner).count();
        if mine > 0 {
            let kept = std::mem::take(&mut self.node);
            let mut adds = self.added.drain(..mine).peekable();
            for record in kept {
                while let Some(add) = adds.peek() {
                    match add.canonical_cmp(&record) {
                        Ordering::Less => self.node.push(adds.next().expect("peeked").clone()),
                        Ordering::Equal => {
                            return Err(PatchError::Duplicate(Box::new((*add).clone())).into());
                        }
                        Ordering::Greater => break,
                    }
                }
                self.node.push(record);
            }
            self.node.extend(adds.cloned());
        }
        self.emit_node(emit)
    }

    /// Hands on what is left: the nodes made only of additions after the last base node.
    /// A removal never met is an error.
    pub(crate) fn finish<E: From<PatchError>>(
        mut self,
        emit: &mut dyn FnMut(&mut Vec<Record>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.added_before(None, emit)?;
        if let Some(r) = self.removed.first() {
            return Err(PatchError::Missing(Box::new(r.clone())).into());
        }
        Ok(())
    }

    /// Hands on the nodes made only of additions that sort before `owner` (all when `None`).
    fn added_before<E: From<PatchError>>(
        &mut self,
        owner: Option<&Name>,
        emit: &mut dyn FnMut(&mut Vec<Record>) -> Result<(), E>,
    ) -> Result<(), E> {
        while let Some(first) = self
            .added
            .front()
            .filter(|r| owner.is_none_or(|o| r.owner < *o))
        {
            let first = &first.owner;
            let len = self.added.iter().take_while(|r| r.owner == *first).count();
            self.node.clear();
            self.node.extend(self.added.drain(..len).cloned());
            self.emit_node(emit)?;
        }
        Ok(())
    }

    /// Checks the node just built and hands it on unless nothing is left of it.
    fn emit_node<E: From<PatchError>>(
        &mut self,
        emit: &mut dyn FnMut(&mut Vec<Record>) -> Result<(), E>,
    ) -> Result<(), E> {
        for pair in self.node.windows(2) {
            let (x, y) = (&pair[0], &pair[1]);
            if x.canonical_cmp(y) == Ordering::Equal {
                return Err(PatchError::Duplicate(Box::new(y.clone())).into());
            }
            // RRSIGs are one RRset per type they cover (RFC 4034 §3), each with its TTL.
            let covered = crate::zone::covered_type;
            if x.rtype == y.rtype && covered(x) == covered(y) && x.ttl != y.ttl {
                return Err(PatchError::TtlMismatch(x.owner.clone(), x.rtype).into());
            }
        }
        if self.node.is_empty() {
            return Ok(());
        }
        emit(&mut self.node)
    }
}

/// An image with a changeset applied, read node by node: what a compaction compiles, without
/// the zone ever held whole. With no changeset, the image's own nodes.
pub struct Patched<'a> {
    /// The image at the changeset's starting serial.
    pub image: &'a Image,
    /// The changes.
    pub changeset: Option<&'a Changeset>,
}

impl Nodes for Patched<'_> {
    fn each_node(
        &mut self,
        visit: &mut dyn FnMut(&[Record]) -> Result<(), CompileError>,
    ) -> Result<(), CompileError> {
        let (image, changeset) = (self.image, self.changeset);
        // Reading the image and applying the changes overlap with the compiling.
        overlapped(
            |emit| {
                let Some(changeset) = changeset else {
                    return image.each_node_records(&mut |node| emit(&mut node.to_vec()));
                };
                let mut patch = Patch::new(changeset, Some(image.serial()))?;
                image.each_node_records(&mut |node| patch.node(node, emit))?;
                patch.finish(emit)
            },
            visit,
        )
    }
}

/// Folds `changeset` (the journal's changes composed, if any) into `image`: the image of the
/// zone it leads to, checked and compiled as a stream ([`Patched`], [`Checked`]), or the
/// first error the checks find in that zone (`Ok(Err(finding))`).
pub fn fold(
    image: &Image,
    changeset: Option<&Changeset>,
) -> Result<Result<Compiled, Box<Finding>>, CompileError> {
    let origin = image.origin().clone();
    let patched = Patched { image, changeset };
    let mut nodes = Checked::new(patched, origin.clone());
    let compiled = crate::image::compile_nodes(&origin, image.class(), &mut nodes, |_| {});
    let (findings, _) = nodes.finish()?;
    if let Some(error) = findings.into_iter().find(|f| f.severity == Severity::Error) {
        return Ok(Err(Box::new(error)));
    }
    Ok(Ok(compiled?))
}

/// A record ordered as an RR (TTL aside), for sets of records.
#[derive(Clone, PartialEq, Eq)]
struct Rr(Record);

impl Ord for Rr {
    fn cmp(&self, other: &Rr) -> Ordering {
        self.0.canonical_cmp(&other.0)
    }
}

impl PartialOrd for Rr {
    fn partial_cmp(&self, other: &Rr) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Folds consecutive changesets into one with the same effect: records added and later
/// removed cancel out. Applying the result costs one pass over the zone, however many
/// changesets went in.
pub fn compose<'a>(
    changesets: impl IntoIterator<Item = &'a Changeset>,
) -> Result<Option<Changeset>, PatchError> {
    let mut changesets = changesets.into_iter();
    let Some(first) = changesets.next() else {
        return Ok(None);
    };
    let mut removed: BTreeMap<Rr, ()> = BTreeMap::new();
    let mut added: BTreeMap<Rr, ()> = BTreeMap::new();
    let mut whois = Vec::new();
    let mut to = first.from_serial();
    let mut last = first;
    for cs in std::iter::once(first).chain(changesets) {
        last = cs;
        if cs.from_serial() != to {
            return Err(PatchError::Sequence {
                to,
                from: cs.from_serial(),
            });
        }
        to = cs.to_serial();
        for r in &cs.removed {
            let rr = Rr(r.clone());
            match added.remove_entry(&rr) {
                // Added within the window and removed again: it never reaches the base.
                Some((was, ())) if was.0.ttl == r.ttl => {}
                Some((was, ())) => {
                    return Err(PatchError::Missing(Box::new(Record {
                        ttl: r.ttl,
                        ..was.0
                    })));
                }
                None => {
                    if removed.insert(rr, ()).is_some() {
                        return Err(PatchError::Missing(Box::new(r.clone())));
                    }
                }
            }
        }
        for r in &cs.added {
            let rr = Rr(r.clone());
            match removed.get_key_value(&rr) {
                // Removed from the base and put back unchanged: no net change.
                Some((was, ())) if was.0.ttl == r.ttl => {
                    removed.remove(&rr);
                }
                _ => {
                    if added.insert(rr, ()).is_some() {
                        return Err(PatchError::Duplicate(Box::new(r.clone())));
                    }
                }
            }
        }
        whois.extend(cs.whois.iter().cloned());
    }
    Ok(Some(Changeset {
        origin: first.origin.clone(),
        old_soa: first.old_soa.clone(),
        new_soa: last.new_soa.clone(),
        removed: removed.into_keys().map(|rr| rr.0).collect(),
        added: added.into_keys().map(|rr| rr.0).collect(),
        whois,
    }))
}

/// Why changeset bytes do not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes end early.
    #[error("changeset truncated")]
    Truncated,
    /// An unknown encoding version.
    #[error("changeset encoding version {0}; this build reads version 1")]
    Version(u8),
    /// A name does not read.
    #[error("malformed name in changeset")]
    Name,
    /// Rdata does not fit its type.
    #[error("malformed {0} rdata in changeset")]
    Rdata(RecordType),
    /// The SOAs are not SOAs of the zone, or the serial does not advance.
    #[error("changeset SOAs are inconsistent")]
    Soa,
    /// Record lists out of canonical order, duplicated, or holding an apex SOA.
    #[error("changeset records are out of order or duplicated")]
    Order,
    /// A WHOIS operation does not decode.
    #[error("malformed WHOIS operation in changeset")]
    Whois,
    /// Bytes after the end.
    #[error("{0} bytes after the end of the changeset")]
    Trailing(usize),
}

const ENCODING_VERSION: u8 = 1;

impl Changeset {
    /// Encodes the changeset (format in the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 48 * (self.removed.len() + self.added.len()));
        out.push(ENCODING_VERSION);
        out.extend_from_slice(self.origin.as_wire());
        for soa in [&self.old_soa, &self.new_soa] {
            out.extend_from_slice(&soa.ttl.to_be_bytes());
            out.extend_from_slice(&(soa.rdata.len() as u16).to_be_bytes());
            out.extend_from_slice(&soa.rdata);
        }
        for list in [&self.removed, &self.added] {
            out.extend_from_slice(&(list.len() as u32).to_be_bytes());
            for r in list {
                out.extend_from_slice(r.owner.as_wire());
                out.extend_from_slice(&r.rtype.0.to_be_bytes());
                out.extend_from_slice(&r.class.0.to_be_bytes());
                out.extend_from_slice(&r.ttl.to_be_bytes());
                out.extend_from_slice(&(r.rdata.len() as u16).to_be_bytes());
                out.extend_from_slice(&r.rdata);
            }
        }
        out.extend_from_slice(&(self.whois.len() as u32).to_be_bytes());
        for op in &self.whois {
            let bytes = postcard::to_stdvec(op).expect("WHOIS ops serialise");
            out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            out.extend_from_slice(&bytes);
        }
        out
    }

    /// Decodes and checks a changeset.
    pub fn decode(bytes: &[u8]) -> Result<Changeset, DecodeError> {
        let mut r = Cursor { bytes, at: 0 };
        let version = r.u8()?;
        if version != ENCODING_VERSION {
            return Err(DecodeError::Version(version));
        }
        let origin = r.name()?;
        let mut soa = || -> Result<Record, DecodeError> {
            let ttl = r.u32()?;
            let rdata = r.rdata(RecordType::SOA)?;
            Ok(Record {
                owner: origin.clone(),
                rtype: RecordType::SOA,
                class: Class::IN,
                ttl,
                rdata,
            })
        };
        let old_soa = soa()?;
        let new_soa = soa()?;
        let (Some(old), Some(new)) = (
            rdata::soa_serial(&old_soa.rdata),
            rdata::soa_serial(&new_soa.rdata),
        ) else {
            return Err(DecodeError::Soa);
        };
        if !serial::is_after(new, old) {
            return Err(DecodeError::Soa);
        }
        let mut lists = [Vec::new(), Vec::new()];
        for list in &mut lists {
            let count = r.u32()? as usize;
            // Each record takes at least 11 bytes: never reserve more than the input holds.
            if count > r.remaining() / 11 {
                return Err(DecodeError::Truncated);
            }
            list.reserve(count);
            for _ in 0..count {
                let owner = r.name()?;
                let rtype = RecordType(r.u16()?);
                let class = Class(r.u16()?);
                let ttl = r.u32()?;
                let rdata = r.rdata(rtype)?;
                let record = Record {
                    owner,
                    rtype,
                    class,
                    ttl,
                    rdata,
                };
                let apex_soa = record.rtype == RecordType::SOA && record.owner == origin;
                if apex_soa
                    || list
                        .last()
                        .is_some_and(|l: &Record| l.canonical_cmp(&record) != Ordering::Less)
                {
                    return Err(DecodeError::Order);
                }
                list.push(record);
            }
        }
        let count = r.u32()? as usize;
        if count > r.remaining() / 4 {
            return Err(DecodeError::Truncated);
        }
        let mut whois = Vec::with_capacity(count);
        for _ in 0..count {
            let len = r.u32()? as usize;
            let op = postcard::from_bytes(r.take(len)?).map_err(|_| DecodeError::Whois)?;
            whois.push(op);
        }
        if r.remaining() > 0 {
            return Err(DecodeError::Trailing(r.remaining()));
        }
        let [removed, added] = lists;
        Ok(Changeset {
            origin,
            old_soa,
            new_soa,
            removed,
            added,
            whois,
        })
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.at.checked_add(n).ok_or(DecodeError::Truncated)?;
        let slice = self.bytes.get(self.at..end).ok_or(DecodeError::Truncated)?;
        self.at = end;
        Ok(slice)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.take(2)?.try_into().expect("2")))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().expect("4")))
    }
    fn name(&mut self) -> Result<Name, DecodeError> {
        let (name, used) =
            Name::from_wire(&self.bytes[self.at..]).map_err(|_| DecodeError::Name)?;
        self.at += used;
        Ok(name)
    }
    fn rdata(&mut self, rtype: RecordType) -> Result<Octets, DecodeError> {
        let len = self.u16()? as usize;
        let mut rdata = self.take(len)?.to_vec();
        if rtype.is_meta() {
            return Err(DecodeError::Rdata(rtype));
        }
        rdata::canonicalize(rtype, &mut rdata).map_err(|_| DecodeError::Rdata(rtype))?;
        Ok(rdata.into())
    }
}
