//! Compiles a checked [`Zone`] into an image (layout in [`super::format`]).
//!
//! Two steps, all in memory: (1) address RRsets are written first, so that (2), writing the
//! nodes in canonical order, every NS, MX and SRV RRset can carry the offsets of its targets'
//! addresses (an NS RRset through its targets, each stored once with its addresses). Identical
//! RRsets are stored once. Empty non-terminals are filled in and node flags worked out from a
//! stack of ancestors, and each name goes into the fst index in order; the names right below
//! the apex also go into the hash table of the `top` section, and the NSEC3 owners among them
//! into the `nsec3` section's table.

use std::hash::Hasher;

use fst::MapBuilder;
use hashbrown::HashTable;
use rustc_hash::{FxHashMap, FxHashSet, FxHasher};

use super::format::{self, Header, Section};
use super::nsec3::{self, Nsec3Writer};
use super::top::TopWriter;
use crate::name::{Name, wire_is_subdomain, wire_suffixes};
use crate::octets::Octets;
use crate::rdata::{self, schema};
use crate::record::Record;
use crate::rtype::{Class, RecordType};
use crate::zone::Zone;

/// Why a zone could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The zone has no single SOA at its apex.
    #[error("the zone has no single SOA record at its apex")]
    NoSoa,
    /// A record lies outside the zone; run the checks first.
    #[error("record outside the zone: {0}")]
    OutOfZone(Name),
    /// A node has more than 255 RRsets.
    #[error("{0} has more than 255 RRsets")]
    TooManyTypes(Name),
    /// An RRset has more than 65535 records.
    #[error("an RRset at {0} has more than 65535 records")]
    RrsetTooLarge(Name),
    /// The RRset section would pass 4 GiB.
    #[error("zone too large for image format 1: RRset data over 4 GiB")]
    TooLarge,
    /// No seed gave a table of the names below the apex (two labels whose 64-bit hashes
    /// agree, or a run of thousands of slots, under every seed tried: not seen in practice).
    #[error("no seed gives a table of the names below the apex")]
    TopTable,
    /// Writing the index failed.
    #[error("building the name index: {0}")]
    Index(#[from] fst::Error),
    /// Reading or writing a file failed.
    #[error("reading or writing a file: {0}")]
    Io(#[from] std::io::Error),
    /// The image the zone is read from is damaged.
    #[error("reading the zone image: {0}")]
    Image(#[from] super::ImageError),
    /// A changeset applied to the zone on the way does not fit it.
    #[error("applying changes: {0}")]
    Patch(#[from] crate::changeset::PatchError),
}

/// Figures about a compiled image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompileStats {
    /// Names indexed, empty non-terminals included.
    pub nodes: u64,
    /// Distinct RRsets stored.
    pub rrsets: u64,
    /// Records in the zone.
    pub records: u64,
    /// Bytes in the image.
    pub bytes: u64,
}

struct RrsetHeap {
    bytes: Vec<u8>,
    /// Each distinct RRset once, as its offset and length in `bytes`, found by the hash of
    /// its bytes: no copy of an RRset outside the heap.
    shared: HashTable<(u32, u32)>,
    scratch: Vec<u8>,
    /// The target offsets of the NS RRset being stored.
    targets: Vec<u32>,
    /// Distinct RRsets stored (targets not counted).
    count: u64,
}

fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(bytes);
    h.finish()
}

impl RrsetHeap {
    fn stored(bytes: &[u8], (offset, len): (u32, u32)) -> &[u8] {
        &bytes[offset as usize..offset as usize + len as usize]
    }

    /// Stores the RRset in `self.scratch`, or finds the identical one stored before.
    fn intern(&mut self) -> Result<u32, CompileError> {
        let (offset, added) = self.store()?;
        self.count += u64::from(added);
        Ok(offset)
    }

    /// Stores the bytes in `self.scratch` (an RRset or a target), or finds the identical ones
    /// stored before; true if they are new.
    fn store(&mut self) -> Result<(u32, bool), CompileError> {
        let hash = hash_bytes(&self.scratch);
        let (bytes, scratch) = (&self.bytes, self.scratch.as_slice());
        if let Some(&(offset, _)) = self
            .shared
            .find(hash, |&entry| Self::stored(bytes, entry) == scratch)
        {
            return Ok((offset, false));
        }
        let offset = u32::try_from(self.bytes.len()).map_err(|_| CompileError::TooLarge)?;
        let len = u32::try_from(self.scratch.len()).map_err(|_| CompileError::TooLarge)?;
        if offset == format::NONE || offset.checked_add(len).is_none() {
            return Err(CompileError::TooLarge);
        }
        self.bytes.extend_from_slice(&self.scratch);
        let bytes = &self.bytes;
        self.shared.insert_unique(hash, (offset, len), |&entry| {
            hash_bytes(Self::stored(bytes, entry))
        });
        Ok((offset, true))
    }

    /// Puts the records of `rrset` in `self.scratch`; additionals are appended by the caller.
    fn encode(
        &mut self,
        rrset: &[Record],
        additional: &[(u16, u32, u32)],
    ) -> Result<(), CompileError> {
        let too_large = || CompileError::RrsetTooLarge(rrset[0].owner.clone());
        let count = u16::try_from(rrset.len()).map_err(|_| too_large())?;
        let additional_count = u16::try_from(additional.len())
            .ok()
            .filter(|&n| n != format::BY_TARGET)
            .ok_or_else(too_large)?;
        let s = &mut self.scratch;
        s.clear();
        s.extend_from_slice(&rrset[0].ttl.to_be_bytes());
        s.extend_from_slice(&count.to_be_bytes());
        s.extend_from_slice(&additional_count.to_be_bytes());
        for record in rrset {
            s.extend_from_slice(&(record.rdata.len() as u16).to_be_bytes());
            s.extend_from_slice(&record.rdata);
        }
        for &(index, a, aaaa) in additional {
            s.extend_from_slice(&index.to_be_bytes());
            s.extend_from_slice(&a.to_be_bytes());
            s.extend_from_slice(&aaaa.to_be_bytes());
        }
        Ok(())
    }

    /// Stores an NS RRset by target: each record's rdata once as a target, with the offsets
    /// of its addresses from `addresses`, and the RRset as its targets' offsets (so the name
    /// servers a million delegations share in pairs are each written once).
    fn intern_by_target(
        &mut self,
        rrset: &[Record],
        addresses: impl Fn(&[u8]) -> (u32, u32),
    ) -> Result<u32, CompileError> {
        let count = u16::try_from(rrset.len())
            .map_err(|_| CompileError::RrsetTooLarge(rrset[0].owner.clone()))?;
        let mut targets = std::mem::take(&mut self.targets);
        targets.clear();
        for record in rrset {
            let (a, aaaa) = addresses(&record.rdata);
            let s = &mut self.scratch;
            s.clear();
            s.extend_from_slice(&(record.rdata.len() as u16).to_be_bytes());
            s.extend_from_slice(&record.rdata);
            s.extend_from_slice(&a.to_be_bytes());
            s.extend_from_slice(&aaaa.to_be_bytes());
            targets.push(self.store()?.0);
        }
        let s = &mut self.scratch;
        s.clear();
        s.extend_from_slice(&rrset[0].ttl.to_be_bytes());
        s.extend_from_slice(&count.to_be_bytes());
        s.extend_from_slice(&format::BY_TARGET.to_be_bytes());
        for offset in &targets {
            s.extend_from_slice(&offset.to_be_bytes());
        }
        self.targets = targets;
        self.intern()
    }
}

/// Nodes in canonical order, each the records of one owner as a [`Zone`] holds them
/// (normalized, sorted): a zone in memory, one streamed from disk
/// ([`crate::spill::RunNodes`]), or an image with changes applied
/// ([`crate::changeset::Patched`]). The compiler reads them twice.
pub trait Nodes {
    /// Calls `visit` with each node in canonical order; stops at the first error.
    fn each_node(
        &mut self,
        visit: &mut dyn FnMut(&[Record]) -> Result<(), CompileError>,
    ) -> Result<(), CompileError>;
}

impl<N: Nodes + ?Sized> Nodes for &mut N {
    fn each_node(
        &mut self,
        visit: &mut dyn FnMut(&[Record]) -> Result<(), CompileError>,
    ) -> Result<(), CompileError> {
        (**self).each_node(visit)
    }
}

impl Nodes for &Zone {
    fn each_node(
        &mut self,
        visit: &mut dyn FnMut(&[Record]) -> Result<(), CompileError>,
    ) -> Result<(), CompileError> {
        self.nodes().try_for_each(visit)
    }
}

/// Runs `produce` on a thread of its own and calls `visit` with each node it emits, in order.
/// The nodes are handed over in batches of about 4,096 records, moved rather than
/// copied, so that producing them (merging runs, reading an image and applying changes) and
/// visiting them (compiling) overlap on two cores. Stops at the first error of either side.
pub fn overlapped(
    produce: impl FnOnce(
        &mut dyn FnMut(&mut Vec<Record>) -> Result<(), CompileError>,
    ) -> Result<(), CompileError>
    + Send,
    visit: &mut dyn FnMut(&[Record]) -> Result<(), CompileError>,
) -> Result<(), CompileError> {
    use std::sync::mpsc;
    std::thread::scope(|s| {
        let (batches, received) = mpsc::sync_channel::<Batch>(4);
        let (recycle, recycled) = mpsc::channel::<Batch>();
        let producer = s.spawn(move || {
            let mut batch = Batch::default();
            let produced = produce(&mut |node: &mut Vec<Record>| {
                batch.records.append(node);
                batch.ends.push(batch.records.len());
                if batch.records.len() < Batch::RECORDS {
                    return Ok(());
                }
                let mut next = recycled.try_recv().unwrap_or_default();
                next.records.clear();
                next.ends.clear();
                // A closed channel means the visitor stopped; its error is the one reported.
                batches
                    .send(std::mem::replace(&mut batch, next))
                    .map_err(|_| std::io::Error::other("the visitor stopped").into())
            });
            if produced.is_ok() && !batch.ends.is_empty() {
                let _ = batches.send(batch);
            }
            produced
        });
        let mut visited = Ok(());
        'batches: for batch in received.iter() {
            let mut start = 0;
            for &end in &batch.ends {
                if let Err(e) = visit(&batch.records[start..end]) {
                    visited = Err(e);
                    break 'batches;
                }
                start = end;
            }
            // The producer may have finished; then the batch is dropped here.
            let _ = recycle.send(batch);
        }
        // Dropping the receiver stops a producer still sending.
        drop(received);
        let produced = producer.join().expect("node producers do not panic");
        visited.and(produced)
    })
}

/// Nodes on their way from a producer to the compiler: the records, and where each node ends.
#[derive(Default)]
struct Batch {
    records: Vec<Record>,
    ends: Vec<usize>,
}

impl Batch {
    /// Records per batch (about 300 KB).
    const RECORDS: usize = 4096;
}

/// A compiled image as its header and sections, written out by [`Compiled::write_to`] without
/// first being copied into one buffer.
pub struct Compiled {
    header: Header,
    sections: [Vec<u8>; 5],
    /// Figures about the image.
    pub stats: CompileStats,
}

impl Compiled {
    /// The image's bytes in order after `header`: each section, then the zeros that align
    /// the next to 8 bytes.
    fn pieces<'a>(&'a self, header: &'a [u8]) -> impl Iterator<Item = &'a [u8]> {
        let mut at = header.len();
        std::iter::once(header).chain(self.sections.iter().flat_map(move |section| {
            at += section.len();
            let padding = at.next_multiple_of(8) - at;
            at += padding;
            [section.as_slice(), &[0; 8][..padding]]
        }))
    }

    /// Writes the image: the header with its digest (SHA-256 over the image with the digest
    /// field zero), then the sections.
    pub fn write_to(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        let mut header = Vec::with_capacity(self.header.len);
        self.header.write(&mut header);
        let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
        self.pieces(&header).for_each(|piece| digest.update(piece));
        let at = format::digest_at(self.header.version);
        header[at..at + 32].copy_from_slice(digest.finish().as_ref());
        self.pieces(&header)
            .try_for_each(|piece| out.write_all(piece))
    }

    /// The zone's serial.
    pub fn serial(&self) -> u32 {
        self.header.serial
    }

    /// The image as one buffer.
    pub fn into_bytes(self) -> Vec<u8> {
        let mut image = Vec::with_capacity(self.stats.bytes as usize);
        self.write_to(&mut image).expect("writing to memory");
        image
    }
}

/// Compiles `zone` and returns the image bytes. `progress` is called with the records done,
/// counted over both passes (twice the records at the end).
pub fn compile(
    zone: &Zone,
    progress: impl FnMut(u64),
) -> Result<(Vec<u8>, CompileStats), CompileError> {
    let compiled = compile_nodes(zone.origin(), zone.class(), zone, progress)?;
    let stats = compiled.stats;
    Ok((compiled.into_bytes(), stats))
}

/// What the first pass over the nodes learns for the second.
struct Survey {
    serial: Option<u32>,
    records: u64,
    dnssec: bool,
    /// Names with a `*` child, that child an owner or an empty non-terminal (RFC 4592 §2.2.2).
    wildcard_parents: FxHashSet<Octets>,
    /// The A and AAAA RRsets of each name that has any, and whether a zone cut lies above it
    /// (an MX or SRV target there is not given addresses; an NS target is, wherever it is).
    addresses: FxHashMap<Octets, Addresses>,
}

#[derive(Clone, Copy)]
struct Addresses {
    a: u32,
    aaaa: u32,
    below_cut: bool,
}

/// Compiles the nodes of the zone `origin`, read twice: first for the serial, the names with
/// a wildcard child and the address RRsets (stored first, so that every NS, MX and SRV RRset
/// written in the second pass can point at them), then for every node in order. What is held
/// is the image being built and the addresses, never the zone's records. `progress` is called
/// with the records done, counted over both passes (twice the records at the end).
pub fn compile_nodes(
    origin: &Name,
    class: Class,
    mut nodes: impl Nodes,
    mut progress: impl FnMut(u64),
) -> Result<Compiled, CompileError> {
    let apex = origin.as_wire();
    let mut heap = RrsetHeap {
        bytes: Vec::new(),
        shared: HashTable::new(),
        scratch: Vec::new(),
        targets: Vec::new(),
        count: 0,
    };
    let mut survey = Survey {
        serial: None,
        records: 0,
        dnssec: false,
        wildcard_parents: FxHashSet::default(),
        addresses: FxHashMap::default(),
    };
    // Step 1: the survey, and the address RRsets stored.
    let mut cuts: Vec<Name> = Vec::new();
    nodes.each_node(&mut |node| {
        let owner = &node[0].owner;
        if !owner.is_subdomain_of(origin) {
            return Err(CompileError::OutOfZone(owner.clone()));
        }
        survey.records += node.len() as u64;
        if survey.records % 65_536 < node.len() as u64 {
            progress(survey.records);
        }
        survey.dnssec |= node.iter().any(|r| {
            matches!(
                r.rtype,
                RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3
            )
        });
        if owner == origin {
            let mut soas = node.iter().filter(|r| r.rtype == RecordType::SOA);
            survey.serial = match (soas.next(), soas.next()) {
                (Some(soa), None) => rdata::soa_serial(&soa.rdata),
                _ => None,
            };
        }
        for suffix in wire_suffixes(owner.as_wire()) {
            if suffix.len() > apex.len() && suffix.starts_with(b"\x01*") {
                survey.wildcard_parents.insert(Octets::new(&suffix[2..]));
            }
        }
        while cuts.last().is_some_and(|cut| !owner.is_subdomain_of(cut)) {
            cuts.pop();
        }
        let below_cut = !cuts.is_empty();
        if owner != origin
            && node
                .iter()
                .any(|r| r.rtype == RecordType::DNAME || r.rtype == RecordType::NS)
        {
            cuts.push(owner.clone());
        }
        for rrset in node.chunk_by(|a, b| a.rtype == b.rtype) {
            let rtype = rrset[0].rtype;
            if rtype == RecordType::A || rtype == RecordType::AAAA {
                heap.encode(rrset, &[])?;
                let offset = heap.intern()?;
                let entry = survey
                    .addresses
                    .entry(Octets::new(owner.as_wire()))
                    .or_insert(Addresses {
                        a: format::NONE,
                        aaaa: format::NONE,
                        below_cut,
                    });
                if rtype == RecordType::A {
                    entry.a = offset;
                } else {
                    entry.aaaa = offset;
                }
            }
        }
        Ok(())
    })?;
    let serial = survey.serial.ok_or(CompileError::NoSoa)?;
    let Survey {
        addresses,
        wildcard_parents,
        ..
    } = &survey;

    // Step 2: nodes in canonical order and their other RRsets. The fst index is built from
    // their keys on a second thread as they come: it is a third of the work.
    let (index, built) = std::thread::scope(|s| -> Result<(Vec<u8>, _), CompileError> {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<KeyBatch>(64);
        let builder = s.spawn(move || -> Result<Vec<u8>, CompileError> {
            let mut index = MapBuilder::new(Vec::new())?;
            for batch in receiver {
                let mut at = 0;
                for &(len, offset) in &batch.entries {
                    index.insert(&batch.keys[at..at + len as usize], offset)?;
                    at += len as usize;
                }
            }
            Ok(index.into_inner()?)
        });
        let mut batch = KeyBatch::default();
        let mut section: Vec<u8> = Vec::with_capacity(survey.records as usize * 8);
        // The path from the apex to the last node written: name, node offset, flags.
        let mut path: Vec<(Name, usize, u8)> = Vec::new();
        let mut node_count = 0u64;
        let mut top = TopWriter::default();
        let mut hashed = Nsec3Writer::default();
        let top_labels = origin.label_count() + 1;
        let mut write_node = |name: &Name,
                              flags: u8,
                              rrsets: &[(RecordType, u32)],
                              section: &mut Vec<u8>,
                              batch: &mut KeyBatch|
         -> Result<usize, CompileError> {
            let at = section.len();
            let count =
                u8::try_from(rrsets.len()).map_err(|_| CompileError::TooManyTypes(name.clone()))?;
            section.push(flags);
            section.push(count);
            for &(rtype, offset) in rrsets {
                section.extend_from_slice(&rtype.0.to_be_bytes());
                section.extend_from_slice(&offset.to_be_bytes());
            }
            let before = batch.keys.len();
            name.canonical_key(&mut batch.keys);
            let value = (at as u64) << 8 | u64::from(flags);
            if name.label_count() == top_labels {
                let wire = name.as_wire();
                let label = &wire[1..1 + usize::from(wire[0])];
                top.add(label, value)?;
                if let Some(hash) = nsec3::hash_of_label(label)
                    && rrsets.iter().any(|&(t, _)| t == RecordType::NSEC3)
                {
                    hashed.add(hash, value)?;
                }
            }
            batch
                .entries
                .push(((batch.keys.len() - before) as u16, value));
            if batch.entries.len() == KeyBatch::SIZE {
                // A closed channel means the builder failed; its error is reported below.
                let _ = sender.send(std::mem::take(batch));
            }
            node_count += 1;
            Ok(at)
        };
        let mut types: Vec<(RecordType, u32)> = Vec::new();
        let mut additional = Vec::new();
        let mut done = survey.records;
        nodes.each_node(&mut |node| {
            let owner = &node[0].owner;
            done += node.len() as u64;
            if done % 65_536 < node.len() as u64 {
                progress(done);
            }
            while path
                .last()
                .is_some_and(|(name, _, _)| !owner.is_subdomain_of(name))
            {
                path.pop();
            }
            // Empty non-terminals between the last ancestor written and this name.
            let parent_on_path = path.last().map_or(&[][..], |(name, _, _)| name.as_wire());
            let missing: Vec<&[u8]> = wire_suffixes(owner.as_wire())
                .skip(1)
                .take_while(|s| s.len() >= apex.len() && *s != parent_on_path)
                .collect();
            for wire in missing.into_iter().rev() {
                let name = Name::from_wire_unchecked(wire);
                let mut flags = format::NODE_EMPTY | inherited(&path);
                if wildcard_parents.contains(wire) {
                    flags |= format::NODE_WILDCARD_CHILD;
                }
                let at = write_node(&name, flags, &[], &mut section, &mut batch)?;
                path.push((name, at, flags));
            }
            types.clear();
            for rrset in node.chunk_by(|a, b| a.rtype == b.rtype) {
                let rtype = rrset[0].rtype;
                let offset = match rtype {
                    RecordType::A => addresses[owner.as_wire()].a,
                    RecordType::AAAA => addresses[owner.as_wire()].aaaa,
                    // Glue may sit below another cut: an NS target is looked up wherever it is.
                    RecordType::NS => heap.intern_by_target(rrset, |rdata| {
                        Some(rdata)
                            .filter(|target| wire_is_subdomain(target, apex))
                            .and_then(|target| addresses.get(target))
                            .map(|found| (found.a, found.aaaa))
                            .unwrap_or((format::NONE, format::NONE))
                    })?,
                    _ => {
                        additional.clear();
                        if let Some(field) = schema::additional_name_field(rtype) {
                            for (i, record) in rrset.iter().enumerate() {
                                let Some(target) =
                                    rdata::name_field_wire(rtype, &record.rdata, field)
                                else {
                                    continue;
                                };
                                if !wire_is_subdomain(target, apex) {
                                    continue;
                                }
                                if let Some(found) =
                                    addresses.get(target).filter(|found| !found.below_cut)
                                {
                                    additional.push((i as u16, found.a, found.aaaa));
                                }
                            }
                        }
                        heap.encode(rrset, &additional)?;
                        heap.intern()?
                    }
                };
                types.push((rtype, offset));
            }
            let has = |t| types.iter().any(|&(rtype, _)| rtype == t);
            let mut flags = inherited(&path);
            if owner == origin {
                flags |= format::NODE_APEX;
            }
            if wildcard_parents.contains(owner.as_wire()) {
                flags |= format::NODE_WILDCARD_CHILD;
            }
            if flags & format::NODE_OCCLUDED == 0 {
                if owner != origin && has(RecordType::NS) {
                    flags |= format::NODE_DELEGATION;
                }
                if has(RecordType::DNAME) {
                    flags |= format::NODE_DNAME;
                }
            }
            let at = write_node(owner, flags, &types, &mut section, &mut batch)?;
            path.push((owner.clone(), at, flags));
            Ok(())
        })?;
        progress(done);
        let _ = sender.send(batch);
        drop(sender);
        let top = top.finish()?;
        let index = builder.join().expect("the index builder does not panic")?;
        Ok((index, (section, node_count, top, hashed.finish())))
    })?;
    let (section, node_count, top, hashed) = built;

    let mut header = Header {
        version: format::VERSION,
        len: Header::len_for(origin),
        serial,
        class: class.0,
        flags: if survey.dnssec {
            format::FLAG_DNSSEC
        } else {
            0
        },
        nodes: node_count,
        rrsets: heap.count,
        records: survey.records,
        rrsets_section: Section::default(),
        nodes_section: Section::default(),
        index_section: Section::default(),
        top_section: Section::default(),
        nsec3_section: Section::default(),
        digest: [0; 32],
        origin: origin.clone(),
    };
    let mut at = header.len as u64;
    for (section, len) in [
        (&mut header.rrsets_section, heap.bytes.len()),
        (&mut header.nodes_section, section.len()),
        (&mut header.index_section, index.len()),
        (&mut header.top_section, top.len()),
        (&mut header.nsec3_section, hashed.len()),
    ] {
        *section = Section {
            offset: at,
            len: len as u64,
        };
        at = (at + len as u64).next_multiple_of(8);
    }
    let stats = CompileStats {
        nodes: node_count,
        rrsets: heap.count,
        records: survey.records,
        bytes: at,
    };
    Ok(Compiled {
        header,
        sections: [heap.bytes, section, index, top, hashed],
        stats,
    })
}

/// Keys and node offsets on their way to the index builder.
#[derive(Default)]
struct KeyBatch {
    keys: Vec<u8>,
    entries: Vec<(u16, u64)>,
}

impl KeyBatch {
    const SIZE: usize = 4096;
}

/// The flags a new node inherits from its closest ancestor on `path`.
fn inherited(path: &[(Name, usize, u8)]) -> u8 {
    match path.last() {
        Some((_, _, flags))
            if flags & (format::NODE_OCCLUDED | format::NODE_DELEGATION | format::NODE_DNAME)
                != 0 =>
        {
            format::NODE_OCCLUDED
        }
        _ => 0,
    }
}
