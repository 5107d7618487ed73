//! Compiles a checked [`Zone`] into an image (layout in [`super::format`]).
//!
//! Three steps, all in memory: (1) address RRsets are written first, so (2) every NS, MX and
//! SRV RRset can carry the offsets of its targets' addresses; identical RRsets are stored once.
//! (3) Nodes are written in canonical order with empty non-terminals filled in and their flags
//! worked out from a stack of ancestors, and each name goes into the fst index.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use fst::MapBuilder;

use super::format::{self, Header, Section};
use crate::name::Name;
use crate::rdata::{self, schema};
use crate::record::Record;
use crate::rtype::RecordType;
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
    /// Writing the index failed.
    #[error("building the name index: {0}")]
    Index(#[from] fst::Error),
    /// Writing the file failed.
    #[error("writing the zone image: {0}")]
    Io(#[from] std::io::Error),
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
    shared: HashMap<Box<[u8]>, u32>,
    scratch: Vec<u8>,
    count: u64,
}

impl RrsetHeap {
    /// Stores the RRset in `self.scratch`, or finds the identical one stored before.
    fn intern(&mut self) -> Result<u32, CompileError> {
        if let Some(&offset) = self.shared.get(self.scratch.as_slice()) {
            return Ok(offset);
        }
        let offset = u32::try_from(self.bytes.len()).map_err(|_| CompileError::TooLarge)?;
        if offset == format::NONE {
            return Err(CompileError::TooLarge);
        }
        self.bytes.extend_from_slice(&self.scratch);
        self.shared.insert(self.scratch.as_slice().into(), offset);
        self.count += 1;
        Ok(offset)
    }

    /// Puts the records of `rrset` in `self.scratch`; additionals are appended by the caller.
    fn encode(
        &mut self,
        rrset: &[Record],
        additional: &[(u16, u32, u32)],
    ) -> Result<(), CompileError> {
        let count = u16::try_from(rrset.len())
            .map_err(|_| CompileError::RrsetTooLarge(rrset[0].owner.clone()))?;
        let s = &mut self.scratch;
        s.clear();
        s.extend_from_slice(&rrset[0].ttl.to_be_bytes());
        s.extend_from_slice(&count.to_be_bytes());
        s.extend_from_slice(&(additional.len() as u16).to_be_bytes());
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
}

/// Compiles `zone` and returns the image bytes. `progress` is called with the records done.
pub fn compile(
    zone: &Zone,
    mut progress: impl FnMut(u64),
) -> Result<(Vec<u8>, CompileStats), CompileError> {
    let origin = zone.origin();
    let serial = zone.serial().ok_or(CompileError::NoSoa)?;
    if let Some(r) = zone
        .records()
        .iter()
        .find(|r| !r.owner.is_subdomain_of(origin))
    {
        return Err(CompileError::OutOfZone(r.owner.clone()));
    }
    let cuts: HashSet<&Name> = zone
        .nodes()
        .filter(|node| {
            let owner = &node[0].owner;
            node.iter().any(|r| {
                r.rtype == RecordType::DNAME || (r.rtype == RecordType::NS && owner != origin)
            })
        })
        .map(|node| &node[0].owner)
        .collect();
    let below_cut = |name: &Name| {
        let mut n = name.parent();
        while let Some(p) = n {
            if !p.is_subdomain_of(origin) {
                return false;
            }
            if cuts.contains(&p) {
                return true;
            }
            n = p.parent();
        }
        false
    };

    let mut heap = RrsetHeap {
        bytes: Vec::with_capacity(zone.records().len() * 16),
        shared: HashMap::new(),
        scratch: Vec::new(),
        count: 0,
    };
    // Step 1: address RRsets.
    let mut addresses: HashMap<&Name, (u32, u32)> = HashMap::new();
    for rrset in zone.rrsets() {
        let rtype = rrset[0].rtype;
        if rtype == RecordType::A || rtype == RecordType::AAAA {
            heap.encode(rrset, &[])?;
            let offset = heap.intern()?;
            let entry = addresses
                .entry(&rrset[0].owner)
                .or_insert((format::NONE, format::NONE));
            if rtype == RecordType::A {
                entry.0 = offset;
            } else {
                entry.1 = offset;
            }
        }
    }
    // Step 2: the other RRsets, with the addresses of their targets.
    let mut offsets: HashMap<(&Name, RecordType), u32> = HashMap::new();
    let mut additional = Vec::new();
    let mut done = 0u64;
    for rrset in zone.rrsets() {
        let (owner, rtype) = (&rrset[0].owner, rrset[0].rtype);
        done += rrset.len() as u64;
        if done % 65_536 < rrset.len() as u64 {
            progress(done);
        }
        if rtype == RecordType::A || rtype == RecordType::AAAA {
            continue;
        }
        additional.clear();
        if let Some(field) = schema::additional_name_field(rtype) {
            for (index, record) in rrset.iter().enumerate() {
                let Some(target) = rdata::name_field(rtype, &record.rdata, field) else {
                    continue;
                };
                if !target.is_subdomain_of(origin)
                    || (rtype != RecordType::NS && below_cut(&target))
                {
                    continue;
                }
                if let Some(&(a, aaaa)) = addresses.get(&target) {
                    additional.push((index as u16, a, aaaa));
                }
            }
        }
        heap.encode(rrset, &additional)?;
        offsets.insert((owner, rtype), heap.intern()?);
    }
    progress(done);

    // Step 3: nodes and the index.
    let mut nodes: Vec<u8> = Vec::with_capacity(zone.records().len() * 8);
    let mut index = MapBuilder::new(Vec::with_capacity(zone.records().len() * 8))?;
    let mut key = Vec::with_capacity(512);
    // The path from the apex to the last node written: name, node offset, flags.
    let mut path: Vec<(Name, usize, u8)> = Vec::new();
    let mut node_count = 0u64;
    let mut write_node = |name: &Name,
                          flags: u8,
                          rrsets: &[(RecordType, u32)],
                          nodes: &mut Vec<u8>,
                          index: &mut MapBuilder<Vec<u8>>|
     -> Result<usize, CompileError> {
        let at = nodes.len();
        let count =
            u8::try_from(rrsets.len()).map_err(|_| CompileError::TooManyTypes(name.clone()))?;
        nodes.push(flags);
        nodes.push(count);
        for &(rtype, offset) in rrsets {
            nodes.extend_from_slice(&rtype.0.to_be_bytes());
            nodes.extend_from_slice(&offset.to_be_bytes());
        }
        key.clear();
        name.canonical_key(&mut key);
        index.insert(&key, at as u64)?;
        node_count += 1;
        Ok(at)
    };
    let mut types: Vec<(RecordType, u32)> = Vec::new();
    for node in zone.nodes() {
        let owner = &node[0].owner;
        while path
            .last()
            .is_some_and(|(name, _, _)| !owner.is_subdomain_of(name))
        {
            path.pop();
        }
        // Empty non-terminals between the last ancestor written and this name.
        let mut missing = Vec::new();
        let mut n = owner.parent();
        while let Some(p) = n {
            if !p.is_subdomain_of(origin) || path.last().is_some_and(|(name, _, _)| *name == p) {
                break;
            }
            n = p.parent();
            missing.push(p);
        }
        for name in missing.into_iter().rev() {
            let flags = format::NODE_EMPTY | inherited(&path);
            let at = write_node(&name, flags, &[], &mut nodes, &mut index)?;
            mark_wildcard_parent(&name, &path, &mut nodes);
            path.push((name, at, flags));
        }
        types.clear();
        for rrset in node.chunk_by(|a, b| a.rtype == b.rtype) {
            let rtype = rrset[0].rtype;
            let offset = match rtype {
                RecordType::A => addresses[owner].0,
                RecordType::AAAA => addresses[owner].1,
                _ => offsets[&(owner, rtype)],
            };
            types.push((rtype, offset));
        }
        let has = |t| types.iter().any(|&(rtype, _)| rtype == t);
        let mut flags = inherited(&path);
        if owner == origin {
            flags |= format::NODE_APEX;
        }
        if flags & format::NODE_OCCLUDED == 0 {
            if owner != origin && has(RecordType::NS) {
                flags |= format::NODE_DELEGATION;
            }
            if has(RecordType::DNAME) {
                flags |= format::NODE_DNAME;
            }
        }
        let at = write_node(owner, flags, &types, &mut nodes, &mut index)?;
        mark_wildcard_parent(owner, &path, &mut nodes);
        path.push((owner.clone(), at, flags));
    }
    let index = index.into_inner()?;

    let mut header = Header {
        len: Header::len_for(origin),
        serial,
        class: zone.class().0,
        flags: if zone.records().iter().any(|r| {
            matches!(
                r.rtype,
                RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3
            )
        }) {
            format::FLAG_DNSSEC
        } else {
            0
        },
        nodes: node_count,
        rrsets: heap.count,
        records: zone.records().len() as u64,
        rrsets_section: Section::default(),
        nodes_section: Section::default(),
        index_section: Section::default(),
        digest: [0; 32],
        origin: origin.clone(),
    };
    let mut at = header.len as u64;
    for (section, len) in [
        (&mut header.rrsets_section, heap.bytes.len()),
        (&mut header.nodes_section, nodes.len()),
        (&mut header.index_section, index.len()),
    ] {
        *section = Section {
            offset: at,
            len: len as u64,
        };
        at = (at + len as u64).next_multiple_of(8);
    }
    let mut image = Vec::with_capacity(at as usize);
    header.write(&mut image);
    for bytes in [&heap.bytes, &nodes, &index] {
        image.extend_from_slice(bytes);
        image.resize(image.len().next_multiple_of(8), 0);
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, &image);
    image[format::DIGEST_AT..format::DIGEST_AT + 32].copy_from_slice(digest.as_ref());
    let stats = CompileStats {
        nodes: node_count,
        rrsets: heap.count,
        records: zone.records().len() as u64,
        bytes: image.len() as u64,
    };
    Ok((image, stats))
}

/// Flags the parent of a wildcard name (the last node on `path`) as its source of synthesis's
/// parent; an empty non-terminal wildcard counts too (RFC 4592 §2.2.2).
fn mark_wildcard_parent(name: &Name, path: &[(Name, usize, u8)], nodes: &mut [u8]) {
    if name.is_wildcard()
        && let Some((_, parent_at, _)) = path.last()
    {
        nodes[*parent_at] |= format::NODE_WILDCARD_CHILD;
    }
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

/// Writes `bytes` to `path` crash-safely: a temporary file in the same directory, fsync,
/// rename over `path`, fsync of the directory. Readers see the old file or the new one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
