//! The compiled zone image: one immutable file per zone version, memory-mapped and ready to
//! answer without parsing (`docs/architecture.md`, contract 1). The byte layout is in [`mod@format`].
//!
//! One file on purpose: the reader's types ([`Image`], nodes, RRsets, the look-ahead) borrow
//! each other's bytes and offsets; the writer (`build`) and the format ([`mod@format`]) are
//! modules of their own.
//!
//! [`Image::open`] reads the header and checks the CRC32C of the fst index (about 1 ms per
//! 10 MB once cached; the pages it touches are the ones look-ups need) and does not read the
//! rest. [`Image::open_trusted`] skips the index checksum for images verified when installed,
//! so a server answers within milliseconds of start even on a cold page cache.
//! [`Image::verify`] checks everything on demand: the SHA-256 digest and the structure of every
//! node and RRset. Every read through [`Node`] and [`Rrset`] is bounds-checked, so a damaged
//! image gives [`ImageError::Corrupt`], never a panic or a read outside the file.
//!
//! Look-ups: [`Image::find`] walks the fst once along the query name's canonical key and learns
//! every existing ancestor on the way, so the closest encloser, the zone cut above a name and
//! the wildcard that may apply come from one pass (RFC 1034 §4.3.2 steps 3a–3c, RFC 4592).

mod ahead;
mod build;
mod dnssec;
pub mod format;
pub mod guard;
mod index;
mod nsec3;
mod top;

use std::fs::File;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use memmap2::Mmap;

pub use crate::atomic::{write_atomically, write_atomically_with};
pub use ahead::Ahead;
pub use build::{CompileError, CompileStats, Compiled, Nodes, compile, compile_nodes, overlapped};
pub use dnssec::{MAX_NSEC3_ITERATIONS, NSEC3_HASH_LEN, Nsec3Params, Owned, base32hex};
use format::{Header, HeaderError};
use top::TopTable;

use crate::name::{MAX_KEY_LEN, Name, canonical_key_of_wire};
use crate::rdata;
use crate::record::Record;
use crate::rtype::{Class, RecordType};
use crate::zone::Zone;

/// Why an image could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The file could not be opened or mapped.
    #[error("cannot open zone image: {0}")]
    Io(#[from] std::io::Error),
    /// The header is wrong.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// The fst index is damaged.
    #[error("zone image index is damaged: {0}")]
    Index(#[from] fst::Error),
    /// A node or RRset points outside its section or is malformed.
    #[error("zone image is corrupt at byte {0} of a section")]
    Corrupt(u64),
    /// The content does not match the digest in the header.
    #[error("zone image digest does not match its content")]
    Digest,
}

enum Backing {
    Mapped(Mapped),
    Owned(Vec<u8>),
}

/// A mapped image file, with what tells whether it was changed in place since.
struct Mapped {
    // Field order matters: the guard is unregistered before the mapping goes.
    guard: Option<guard::Guard>,
    map: Mmap,
    file: File,
    /// Length and modification time when mapped.
    stamp: (u64, Option<std::time::SystemTime>),
}

impl AsRef<[u8]> for Backing {
    fn as_ref(&self) -> &[u8] {
        match self {
            Backing::Mapped(m) => &m.map,
            Backing::Owned(v) => v,
        }
    }
}

/// The bytes of the index section, shared with the image.
struct IndexBytes {
    backing: Arc<Backing>,
    start: usize,
    end: usize,
}

impl AsRef<[u8]> for IndexBytes {
    fn as_ref(&self) -> &[u8] {
        &self.backing.as_ref().as_ref()[self.start..self.end]
    }
}

/// An open compiled zone image. Cheap to share behind an `Arc`; immutable.
pub struct Image {
    backing: Arc<Backing>,
    header: Header,
    index: fst::Map<IndexBytes>,
    /// The apex's index value, looked up once: every negative answer needs its SOA.
    apex: Option<u64>,
    /// The hash table of the names right below the apex (see [`mod@top`]).
    top: TopTable,
    /// The table of NSEC3 owners of an image older than version 5, which has no `nsec3`
    /// section: built from the index the first time a proof needs it (see [`mod@nsec3`]).
    nsec3_built: OnceLock<Vec<u8>>,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("origin", &self.header.origin)
            .field("serial", &self.header.serial)
            .field("nodes", &self.header.nodes)
            .finish()
    }
}

impl Image {
    /// Maps and opens an image file, checking the header and the index checksum: safe on any
    /// file. Reads the whole index (about 15 MB for a million delegations).
    pub fn open(path: &Path) -> Result<Image, ImageError> {
        Image::with_backing(Image::map(path)?, true)
    }

    /// Maps and opens an image that passed [`Image::verify`] when it was installed, checking
    /// only the header: ready in the time of a few page reads, however large the zone. A file
    /// damaged since its verification can make look-ups fail (or, inside the fst index,
    /// panic); servers open this way to answer at once (catching a panic per query) and run
    /// [`Image::check_index`] in the background.
    pub fn open_trusted(path: &Path) -> Result<Image, ImageError> {
        Image::with_backing(Image::map(path)?, false)
    }

    fn map(path: &Path) -> Result<Backing, ImageError> {
        let file = File::open(path)?;
        let metadata = file.metadata()?;
        // SAFETY: images are replaced by rename, never modified in place; a file changed in
        // place anyway cannot end the process (a read past its new end is caught by
        // [`guard`]), and [`Image::changed_in_place`] tells the server to stop using it.
        let map = unsafe { Mmap::map(&file)? };
        // Look-ups jump around the file: no read-ahead around a fault. Where the kernel maps
        // files with 2 MiB pages (a filesystem with large folios), a page fault brings in 2 MiB
        // instead: one TLB entry then covers what 512 did, which saves about 4% of the CPU of a
        // UDP answer on a million-delegation zone.
        #[cfg(unix)]
        {
            let _ = map.advise(memmap2::Advice::Random);
            let _ = map.advise(memmap2::Advice::HugePage);
        }
        let guard = guard::Guard::new(map.as_ptr(), map.len());
        Ok(Backing::Mapped(Mapped {
            guard,
            map,
            file,
            stamp: (metadata.len(), metadata.modified().ok()),
        }))
    }

    /// Says why the image's file was changed in place since it was mapped (written over,
    /// truncated), if it was: its answers can no longer be trusted. `None` for an image that is
    /// as mapped, or held in memory.
    pub fn changed_in_place(&self) -> Option<String> {
        let Backing::Mapped(mapped) = &*self.backing else {
            return None;
        };
        if mapped.guard.as_ref().is_some_and(|g| g.damaged()) {
            return Some("the file was cut short under its mapping".into());
        }
        let metadata = mapped.file.metadata().ok()?;
        let (len, modified) = mapped.stamp;
        if metadata.len() != len || metadata.modified().ok() != modified {
            return Some(format!(
                "the file was written over in place (now {} bytes, was {len})",
                metadata.len()
            ));
        }
        None
    }

    /// Opens an image held in memory, checking it like [`Image::open`].
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Image, ImageError> {
        Image::with_backing(Backing::Owned(bytes), true)
    }

    fn with_backing(backing: Backing, check_index: bool) -> Result<Image, ImageError> {
        let header = Header::read(backing.as_ref())?;
        let backing = Arc::new(backing);
        let s = header.index_section;
        let bytes = IndexBytes {
            backing: backing.clone(),
            start: s.offset as usize,
            end: (s.offset + s.len) as usize,
        };
        let index = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fst::Map::new(bytes)))
            .map_err(|_| ImageError::Corrupt(s.offset))??;
        let mut image = Image {
            backing,
            header,
            index,
            apex: None,
            top: TopTable::default(),
            nsec3_built: OnceLock::new(),
        };
        image.top = TopTable::read(image.section(image.header.top_section))?;
        nsec3::Nsec3Table::new(image.section(image.header.nsec3_section))?;
        if check_index {
            image.check_index()?;
        }
        let mut key = [0u8; MAX_KEY_LEN];
        let len = canonical_key_of_wire(image.header.origin.as_wire(), &mut key);
        image.apex = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            image.index.get(&key[..len])
        }))
        .map_err(|_| ImageError::Corrupt(s.offset))?;
        Ok(image)
    }

    /// The index check of [`Image::open`]: the fst checksum, and every node of the index
    /// decoded once, so that look-ups cannot fail inside it. For an image opened with
    /// [`Image::open_trusted`], run it before trusting the answers (a server does so in the
    /// background, answering meanwhile).
    pub fn check_index(&self) -> Result<(), ImageError> {
        let s = self.header.index_section;
        // The check reads the whole index: ask the kernel for it in one sweep rather than
        // page by page as the random-access advice on the mapping would have it (from a cold
        // disk, 0.5 s down to the time of one sequential read).
        #[cfg(unix)]
        if let Backing::Mapped(Mapped { map, .. }) = &*self.backing
            && let (Ok(offset), Ok(len)) = (usize::try_from(s.offset), usize::try_from(s.len))
            && offset.checked_add(len).is_some_and(|end| end <= map.len())
        {
            let _ = map.advise_range(memmap2::Advice::WillNeed, offset, len);
        }
        self.index.as_fst().verify()?;
        if !index::check(self.index.as_fst()) {
            return Err(ImageError::Corrupt(s.offset));
        }
        TopTable::check(self.section(self.header.top_section))
    }

    /// The zone's name.
    pub fn origin(&self) -> &Name {
        &self.header.origin
    }

    /// The SOA serial.
    pub fn serial(&self) -> u32 {
        self.header.serial
    }

    /// The zone's class.
    pub fn class(&self) -> Class {
        Class(self.header.class)
    }

    /// The header as read.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The SHA-256 digest recorded in the header.
    pub fn digest(&self) -> [u8; 32] {
        self.header.digest
    }

    fn section(&self, s: format::Section) -> &[u8] {
        &self.backing.as_ref().as_ref()[s.offset as usize..(s.offset + s.len) as usize]
    }

    /// Checks the digest and the structure of every node and RRset.
    pub fn verify(&self) -> Result<(), ImageError> {
        let file = self.backing.as_ref().as_ref();
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        let at = format::digest_at(self.header.version);
        ctx.update(&file[..at]);
        ctx.update(&[0; 32]);
        ctx.update(&file[at + 32..]);
        if ctx.finish().as_ref() != self.header.digest {
            return Err(ImageError::Digest);
        }
        let mut result = Ok(());
        self.for_each_node(|name, node| {
            for rrset in node.rrsets() {
                let (rtype, rrset) = rrset?;
                for rdata in rrset.records() {
                    let rdata = rdata?;
                    let mut copy = rdata.to_vec();
                    rdata::canonicalize(rtype, &mut copy).map_err(|_| ImageError::Corrupt(0))?;
                    if copy != rdata || !name.is_subdomain_of(self.origin()) {
                        return Err(ImageError::Corrupt(0));
                    }
                }
                for entry in rrset.additionals() {
                    let (_, a, aaaa) = entry?;
                    for rrset in [a, aaaa].into_iter().flatten() {
                        rrset.records().try_for_each(|r| r.map(|_| ()))?;
                    }
                }
            }
            Ok(())
        })
        .unwrap_or_else(|e| result = Err(e));
        result?;
        self.verify_top()?;
        self.verify_nsec3()
    }

    /// Checks that the table of names below the apex holds exactly the index's names one
    /// label below the apex, with the same values: each is found in the table, and the table
    /// holds no more names than that.
    fn verify_top(&self) -> Result<(), ImageError> {
        let section = self.section(self.header.top_section);
        let damaged = || ImageError::Corrupt(self.header.top_section.offset);
        let mut prefix = [0u8; MAX_KEY_LEN];
        let prefix_len = canonical_key_of_wire(self.origin().as_wire(), &mut prefix);
        let top_labels = self.origin().label_count() + 1;
        let mut children = 0usize;
        self.for_each_key(
            &prefix[..prefix_len],
            index::Depth::Children,
            |name, value| {
                if name.label_count() == top_labels {
                    let wire = name.as_wire();
                    let label = &wire[1..1 + usize::from(wire[0])];
                    if self.top.get(section, label)? != Some(value) {
                        return Err(damaged());
                    }
                    children += 1;
                }
                Ok(())
            },
        )?;
        if children != self.top.len() || self.top.filled(section) != children {
            return Err(damaged());
        }
        Ok(())
    }

    /// The apex node, without a look-up.
    pub fn apex(&self) -> Result<Node<'_>, ImageError> {
        self.apex
            .map(|value| self.node_at(value))
            .ok_or(ImageError::Corrupt(0))
    }

    /// The node of `name`, if the name exists in the zone (empty non-terminals included).
    pub fn node(&self, name: &Name) -> Result<Option<Node<'_>>, ImageError> {
        let mut key = [0u8; MAX_KEY_LEN];
        let len = canonical_key_of_wire(name.as_wire(), &mut key);
        Ok(self.index.get(&key[..len]).map(|value| self.node_at(value)))
    }

    /// The node an index value points at; its table is read only when asked for.
    fn node_at(&self, value: u64) -> Node<'_> {
        Node {
            image: self,
            flags: value as u8,
            offset: value >> 8,
        }
    }

    fn node_table(&self, offset: u64) -> Result<&[u8], ImageError> {
        let nodes = self.section(self.header.nodes_section);
        let at = usize::try_from(offset).map_err(|_| ImageError::Corrupt(offset))?;
        let head = nodes.get(at..at + 2).ok_or(ImageError::Corrupt(offset))?;
        let count = head[1] as usize;
        nodes
            .get(at + 2..at + 2 + count * 6)
            .ok_or(ImageError::Corrupt(offset))
    }

    /// Places `qname` in the zone (RFC 1034 §4.3.2 step 3, RFC 4592 §3.3.1). Costs one walk of
    /// the index along the name; no node is read and nothing is allocated.
    pub fn find(&self, qname: &Name) -> Result<Find<'_>, ImageError> {
        if !qname.is_subdomain_of(self.origin()) {
            return Ok(Find::OutOfZone);
        }
        if let Some(found) = self.find_by_top(qname)? {
            return Ok(found);
        }
        self.walk(qname)
    }

    /// [`Image::find`] from the walk of the fst alone, without the table of names below the
    /// apex: the same answer, at the cost of a walk. Checks hold the two paths against each
    /// other.
    pub fn find_walking(&self, qname: &Name) -> Result<Find<'_>, ImageError> {
        if !qname.is_subdomain_of(self.origin()) {
            return Ok(Find::OutOfZone);
        }
        self.walk(qname)
    }

    /// The walk of [`Image::find_walking`], for a name inside the zone.
    fn walk(&self, qname: &Name) -> Result<Find<'_>, ImageError> {
        let mut key = [0u8; MAX_KEY_LEN];
        let key_len = canonical_key_of_wire(qname.as_wire(), &mut key);
        let key = &key[..key_len];
        let qname_labels = qname.label_count() as u8;
        // One walk along the key meets every existing ancestor at a label boundary; the index
        // value carries its flags, so the topmost zone cut above qname and the deepest
        // existing name come out of the walk without reading any node.
        let fst = self.index.as_fst();
        let mut node = fst.root();
        let mut deepest: Option<(u8, u64)> = None;
        let mut cut: Option<(u8, u64)> = None;
        let mut meet = |labels: u8, value: u64| {
            let flags = value as u8;
            if cut.is_none()
                && labels < qname_labels
                && flags & (format::NODE_DELEGATION | format::NODE_DNAME) != 0
            {
                cut = Some((labels, value));
            }
            deepest = Some((labels, value));
        };
        if node.is_final() {
            // The root zone: its apex has the empty key.
            meet(0, index::add(0, node.final_output()));
        }
        let mut output = 0u64;
        let mut labels = 0u8;
        for &byte in key {
            let Some(i) = node.find_input(byte) else {
                break;
            };
            let t = node.transition(i);
            output = index::add(output, t.out);
            node = fst.node(t.addr);
            if byte == 0 {
                labels = labels.saturating_add(1);
                if node.is_final() {
                    meet(labels, index::add(output, node.final_output()));
                }
            }
        }
        if let Some((labels, value)) = cut {
            let offset = label_offset(qname, qname_labels - labels);
            let node = self.node_at(value);
            return Ok(if node.flags & format::NODE_DELEGATION != 0 {
                Find::Referral { cut: node, offset }
            } else {
                Find::Dname {
                    owner: node,
                    offset,
                }
            });
        }
        // The apex is always indexed, so a name inside the zone meets at least it.
        let (deepest_labels, deepest_value) = deepest.ok_or(ImageError::Corrupt(0))?;
        let deepest = self.node_at(deepest_value);
        if deepest_labels == qname_labels {
            return Ok(Find::Exact(deepest));
        }
        let offset = label_offset(qname, qname_labels - deepest_labels);
        if deepest.flags & format::NODE_WILDCARD_CHILD != 0 {
            let ce_name = Name::from_wire_unchecked(&qname.as_wire()[offset..]);
            let wildcard = ce_name.child(b"*").map_err(|_| ImageError::Corrupt(0))?;
            let source = self
                .node(&wildcard)?
                .ok_or(ImageError::Corrupt(deepest.offset))?;
            return Ok(Find::Wildcard {
                closest_encloser: deepest,
                offset,
                source,
            });
        }
        Ok(Find::NxDomain {
            closest_encloser: deepest,
            offset,
        })
    }

    /// The label of `qname` right below the apex and where it starts in `qname`'s wire form,
    /// for a name of the zone below the apex.
    fn label_below_apex<'n>(&self, qname: &'n Name) -> Option<(usize, &'n [u8])> {
        crate::name::label_below(qname.as_wire(), self.origin().label_count())
    }

    /// The answer of [`Image::find`] from the table of names below the apex, when that table
    /// decides it: a delegation or DNAME right below the apex, or a label that is not there
    /// (and no wildcard at the apex). `None`: walk the index.
    fn find_by_top(&self, qname: &Name) -> Result<Option<Find<'_>>, ImageError> {
        let apex = self.apex()?;
        // A DNAME at the apex rewrites every name below it: the walk handles that.
        if apex.flags() & format::NODE_DNAME != 0 {
            return Ok(None);
        }
        let Some((offset, label)) = self.label_below_apex(qname) else {
            return Ok(None);
        };
        match self.top.get(self.section(self.header.top_section), label)? {
            Some(value) => {
                let flags = value as u8;
                if flags & (format::NODE_DELEGATION | format::NODE_DNAME) == 0 {
                    return Ok(None);
                }
                let node = self.node_at(value);
                // The label below the apex is the name's first: the name itself.
                Ok(Some(if offset == 0 {
                    Find::Exact(node)
                } else if flags & format::NODE_DELEGATION != 0 {
                    Find::Referral { cut: node, offset }
                } else {
                    Find::Dname {
                        owner: node,
                        offset,
                    }
                }))
            }
            None => {
                if apex.has_wildcard_child() {
                    return Ok(None);
                }
                // The closest encloser is the apex, right after that label.
                Ok(Some(Find::NxDomain {
                    closest_encloser: apex,
                    offset: offset + 1 + label.len(),
                }))
            }
        }
    }

    /// Calls `visit` with every name and node in canonical order; stops at the first error.
    pub fn for_each_node(
        &self,
        visit: impl FnMut(&Name, Node<'_>) -> Result<(), ImageError>,
    ) -> Result<(), ImageError> {
        self.for_each_node_from_key(&[], visit)
    }

    /// Calls `visit` with `name` (when it is in the zone) and every name below it, in
    /// canonical order; stops at the first error. Costs the size of that subtree only.
    pub fn for_each_node_under(
        &self,
        name: &Name,
        visit: impl FnMut(&Name, Node<'_>) -> Result<(), ImageError>,
    ) -> Result<(), ImageError> {
        let mut key = Vec::with_capacity(crate::name::MAX_KEY_LEN);
        name.canonical_key(&mut key);
        self.for_each_node_from_key(&key, visit)
    }

    /// Up to `limit` names one label below `name` (empty non-terminals included), in
    /// canonical order: a walk of the index that stops at the limit.
    pub fn children(&self, name: &Name, limit: usize) -> Result<Vec<Name>, ImageError> {
        let mut key = Vec::with_capacity(crate::name::MAX_KEY_LEN);
        name.canonical_key(&mut key);
        let below = name.label_count() + 1;
        let mut out = Vec::new();
        let walked = index::for_each_key(
            self.index.as_fst(),
            &key,
            index::Depth::Children,
            self.header.nodes,
            |key, value| {
                if out.len() == limit {
                    return Err(None);
                }
                let child =
                    Name::from_canonical_key(key).map_err(|_| Some(ImageError::Corrupt(value)))?;
                if child.label_count() == below {
                    out.push(child);
                }
                Ok(())
            },
        );
        match walked {
            Ok(()) | Err(index::Stop::Visit(None)) => Ok(out),
            Err(index::Stop::Visit(Some(error))) => Err(error),
            Err(index::Stop::Malformed) => {
                Err(ImageError::Corrupt(self.header.index_section.offset))
            }
        }
    }

    fn for_each_node_from_key(
        &self,
        prefix: &[u8],
        mut visit: impl FnMut(&Name, Node<'_>) -> Result<(), ImageError>,
    ) -> Result<(), ImageError> {
        self.for_each_key(prefix, index::Depth::All, |name, value| {
            visit(name, self.node_at(value))
        })
    }

    /// Calls `visit` with each name of the index below `prefix` (as [`index::for_each_key`]
    /// selects them) and its index value.
    fn for_each_key(
        &self,
        prefix: &[u8],
        depth: index::Depth,
        mut visit: impl FnMut(&Name, u64) -> Result<(), ImageError>,
    ) -> Result<(), ImageError> {
        // A node takes at least two bytes of its section: a damaged header's count cannot
        // make the walk longer than the file allows.
        let nodes = self.header.nodes.min(self.header.nodes_section.len / 2);
        index::for_each_key(self.index.as_fst(), prefix, depth, nodes, |key, value| {
            let name = Name::from_canonical_key(key).map_err(|_| ImageError::Corrupt(value))?;
            visit(&name, value)
        })
        .map_err(|stop| match stop {
            index::Stop::Visit(error) => error,
            index::Stop::Malformed => ImageError::Corrupt(self.header.index_section.offset),
        })
    }

    /// Reads the whole zone back into records. The index gives names in canonical order, so
    /// the records come out sorted; the order inside each node is checked, not re-sorted.
    pub fn to_zone(&self) -> Result<Zone, ImageError> {
        let mut records: Vec<Record> =
            Vec::with_capacity(self.header.records.min(1 << 24) as usize);
        self.each_node_records(&mut |node| -> Result<(), ImageError> {
            records.extend_from_slice(node);
            Ok(())
        })?;
        Ok(Zone::from_sorted(
            self.origin().clone(),
            self.class(),
            records,
        ))
    }

    /// Calls `visit` with the records of each node in canonical order, as a [`Zone`] holds
    /// them, checking the order of types and rdata and, at the end, the record count; stops
    /// at the first error. Holds one node at a time.
    pub fn each_node_records<E: From<ImageError>>(
        &self,
        visit: &mut dyn FnMut(&[Record]) -> Result<(), E>,
    ) -> Result<(), E> {
        let class = self.class();
        let mut count = 0u64;
        let mut records: Vec<Record> = Vec::new();
        let mut failed = None;
        self.for_each_node(|name, node| {
            records.clear();
            let mut last_type: Option<RecordType> = None;
            for rrset in node.rrsets() {
                let (rtype, rrset) = rrset?;
                if last_type.is_some_and(|t| t >= rtype) {
                    return Err(ImageError::Corrupt(node.offset));
                }
                last_type = Some(rtype);
                let mut last: Option<&[u8]> = None;
                for rdata in rrset.records() {
                    let rdata = rdata?;
                    if last.is_some_and(|l| l >= rdata) {
                        return Err(ImageError::Corrupt(node.offset));
                    }
                    last = Some(rdata);
                    records.push(Record {
                        owner: name.clone(),
                        rtype,
                        class,
                        ttl: rrsig_ttl(&node, rtype, rdata)?.unwrap_or(rrset.ttl()),
                        rdata: rdata.into(),
                    });
                }
            }
            count += records.len() as u64;
            if records.is_empty() {
                return Ok(());
            }
            // The visitor's error stops the walk; it is handed back below.
            visit(&records).map_err(|e| {
                failed = Some(e);
                ImageError::Corrupt(node.offset)
            })
        })
        .or_else(|e| failed.take().map_or(Err(e.into()), Err))?;
        if count != self.header.records {
            return Err(ImageError::Corrupt(0).into());
        }
        Ok(())
    }
}

/// An RRSIG's TTL: that of the RRset it covers at its node (RFC 4034 §3), which the image
/// stores once; `None` for other records, or when that RRset is absent.
fn rrsig_ttl(node: &Node<'_>, rtype: RecordType, rdata: &[u8]) -> Result<Option<u32>, ImageError> {
    if rtype != RecordType::RRSIG || rdata.len() < 2 {
        return Ok(None);
    }
    let covered = RecordType(u16::from_be_bytes([rdata[0], rdata[1]]));
    Ok(node.rrset(covered)?.map(|rrset| rrset.ttl()))
}

/// The byte offset in `name`'s wire form after skipping `labels` labels.
fn label_offset(name: &Name, labels: u8) -> usize {
    let wire = name.as_wire();
    let mut at = 0;
    for _ in 0..labels {
        at += 1 + wire[at] as usize;
    }
    at
}

/// Where a query name falls in the zone.
#[derive(Debug)]
pub enum Find<'a> {
    /// The name exists and no zone cut lies strictly above it (it may be a cut itself).
    Exact(Node<'a>),
    /// A delegation point lies strictly above the name; `offset` is where the cut's name
    /// starts in the query name's wire form.
    Referral {
        /// The delegation point.
        cut: Node<'a>,
        /// Byte offset of the cut's name in the query name.
        offset: usize,
    },
    /// A DNAME owner lies strictly above the name (RFC 6672 §3.2).
    Dname {
        /// The DNAME owner.
        owner: Node<'a>,
        /// Byte offset of the owner's name in the query name.
        offset: usize,
    },
    /// The name does not exist but the wildcard at its closest encloser applies.
    Wildcard {
        /// The closest encloser (RFC 4592 §3.3.1).
        closest_encloser: Node<'a>,
        /// Byte offset of the closest encloser in the query name.
        offset: usize,
        /// The `*` node below the closest encloser.
        source: Node<'a>,
    },
    /// The name does not exist and no wildcard applies.
    NxDomain {
        /// The closest encloser.
        closest_encloser: Node<'a>,
        /// Byte offset of the closest encloser in the query name.
        offset: usize,
    },
    /// The name is not in this zone.
    OutOfZone,
}

/// One name's entry in the image. Its flags come with the index; its RRset table is read
/// from the nodes section only when asked for.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    image: &'a Image,
    flags: u8,
    offset: u64,
}

impl std::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let types: Vec<RecordType> = self.types().map(Iterator::collect).unwrap_or_default();
        write!(f, "Node(flags={:#04x}, types={types:?})", self.flags)
    }
}

impl<'a> Node<'a> {
    /// The node flags ([`mod@format`]`::NODE_*`).
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// True at the zone apex.
    pub fn is_apex(&self) -> bool {
        self.flags & format::NODE_APEX != 0
    }

    /// True at a delegation point.
    pub fn is_delegation(&self) -> bool {
        self.flags & format::NODE_DELEGATION != 0
    }

    /// True below a zone cut (glue).
    pub fn is_occluded(&self) -> bool {
        self.flags & format::NODE_OCCLUDED != 0
    }

    /// True for an empty non-terminal.
    pub fn is_empty_non_terminal(&self) -> bool {
        self.flags & format::NODE_EMPTY != 0
    }

    /// True if `*.` this name exists.
    pub fn has_wildcard_child(&self) -> bool {
        self.flags & format::NODE_WILDCARD_CHILD != 0
    }

    fn table(&self) -> Result<&'a [u8], ImageError> {
        let table = self.image.node_table(self.offset)?;
        // The flags stored with the node must agree with the index.
        let nodes = self.image.section(self.image.header.nodes_section);
        if nodes.get(self.offset as usize) != Some(&self.flags) {
            return Err(ImageError::Corrupt(self.offset));
        }
        Ok(table)
    }

    /// The record types present, ascending.
    pub fn types(&self) -> Result<impl Iterator<Item = RecordType> + 'a, ImageError> {
        Ok(self
            .table()?
            .chunks_exact(6)
            .map(|c| RecordType(u16::from_be_bytes([c[0], c[1]]))))
    }

    /// The RRset of `rtype`, if present.
    pub fn rrset(&self, rtype: RecordType) -> Result<Option<Rrset<'a>>, ImageError> {
        for entry in self.table()?.chunks_exact(6) {
            if u16::from_be_bytes([entry[0], entry[1]]) == rtype.0 {
                let offset = u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]);
                return self.image.rrset_at(offset).map(Some);
            }
        }
        Ok(None)
    }

    /// All RRsets with their types, ascending by type.
    pub fn rrsets(&self) -> impl Iterator<Item = Result<(RecordType, Rrset<'a>), ImageError>> + 'a {
        let image = self.image;
        let (table, error) = match self.table() {
            Ok(table) => (table, None),
            Err(e) => (&[][..], Some(e)),
        };
        error
            .map(Err)
            .into_iter()
            .chain(table.chunks_exact(6).map(move |entry| {
                let rtype = RecordType(u16::from_be_bytes([entry[0], entry[1]]));
                let offset = u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]);
                image.rrset_at(offset).map(|r| (rtype, r))
            }))
    }
}

impl Image {
    fn rrset_at(&self, offset: u32) -> Result<Rrset<'_>, ImageError> {
        let heap = self.section(self.header.rrsets_section);
        let corrupt = || ImageError::Corrupt(u64::from(offset));
        let at = offset as usize;
        let head = heap.get(at..at + 8).ok_or_else(corrupt)?;
        let ttl = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let count = u16::from_be_bytes([head[4], head[5]]);
        let additional = u16::from_be_bytes([head[6], head[7]]);
        if additional == format::BY_TARGET && self.header.version >= 4 {
            let records = heap
                .get(at + 8..at + 8 + 4 * usize::from(count))
                .ok_or_else(corrupt)?;
            return Ok(Rrset {
                image: self,
                heap,
                ttl,
                count,
                records,
                additional: &[],
                by_target: true,
            });
        }
        let mut end = at + 8;
        for _ in 0..count {
            let len = heap.get(end..end + 2).ok_or_else(corrupt)?;
            end += 2 + u16::from_be_bytes([len[0], len[1]]) as usize;
        }
        let records = heap.get(at + 8..end).ok_or_else(corrupt)?;
        let additional = heap
            .get(end..end + usize::from(additional) * 10)
            .ok_or_else(corrupt)?;
        Ok(Rrset {
            image: self,
            heap,
            ttl,
            count,
            records,
            additional,
            by_target: false,
        })
    }
}

/// The target stored at `offset` in the RRset section: its rdata and the offsets of its A and
/// AAAA RRsets.
fn target(heap: &[u8], offset: u32) -> Result<(&[u8], [u32; 2]), ImageError> {
    let corrupt = || ImageError::Corrupt(u64::from(offset));
    let at = offset as usize;
    let len = heap.get(at..at + 2).ok_or_else(corrupt)?;
    let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
    let entry = heap.get(at + 2..at + 2 + len + 8).ok_or_else(corrupt)?;
    let (rdata, addresses) = entry.split_at(len);
    Ok((rdata, link_offsets(addresses)))
}

/// The A and AAAA RRset offsets of an additional-data link (two big-endian u32).
fn link_offsets(link: &[u8]) -> [u32; 2] {
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    [be(&link[..4]), be(&link[4..8])]
}

/// The A and AAAA RRsets at a link's offsets ([`format::NONE`]: none).
#[allow(clippy::type_complexity)]
fn linked_rrsets(
    image: &Image,
    offsets: [u32; 2],
) -> Result<(Option<Rrset<'_>>, Option<Rrset<'_>>), ImageError> {
    let get = |offset| match offset {
        format::NONE => Ok(None),
        offset => image.rrset_at(offset).map(Some),
    };
    Ok((get(offsets[0])?, get(offsets[1])?))
}

/// One RRset in the image.
#[derive(Clone, Copy)]
pub struct Rrset<'a> {
    image: &'a Image,
    /// The RRset section, where targets are.
    heap: &'a [u8],
    ttl: u32,
    count: u16,
    /// Inline: `rdlength rdata` repeated; by target: the targets' offsets.
    records: &'a [u8],
    additional: &'a [u8],
    by_target: bool,
}

impl std::fmt::Debug for Rrset<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rrset(ttl={}, count={})", self.ttl, self.count)
    }
}

impl<'a> Rrset<'a> {
    /// The image this RRset is stored in.
    pub fn image(&self) -> &'a Image {
        self.image
    }

    /// The TTL.
    pub fn ttl(&self) -> u32 {
        self.ttl
    }

    /// The number of records.
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// True if the RRset has no records (never, in a well-formed image).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Each record's rdata.
    pub fn records(&self) -> impl Iterator<Item = Result<&'a [u8], ImageError>> + 'a {
        let (heap, by_target) = (self.heap, self.by_target);
        let mut rest = self.records;
        std::iter::from_fn(move || {
            if by_target {
                let [b0, b1, b2, b3, tail @ ..] = rest else {
                    return None;
                };
                rest = tail;
                let offset = u32::from_be_bytes([*b0, *b1, *b2, *b3]);
                return Some(target(heap, offset).map(|(rdata, _)| rdata));
            }
            let [l0, l1, tail @ ..] = rest else {
                return None;
            };
            let len = u16::from_be_bytes([*l0, *l1]) as usize;
            let Some(rdata) = tail.get(..len) else {
                rest = &[];
                return Some(Err(ImageError::Corrupt(0)));
            };
            rest = &tail[len..];
            Some(Ok(rdata))
        })
    }

    /// Each record's rdata, in order, with the A and AAAA RRsets of the name it points to when
    /// the image links them (additional section data, RFC 1034 §4.3.2 step 6; glue for NS):
    /// one pass over the records and their links, for the answer path. Inline RRsets' links
    /// are stored in record order; a link out of that order (a damaged image) is passed over.
    #[allow(clippy::type_complexity)]
    pub fn records_and_addresses(
        &self,
    ) -> impl Iterator<Item = Result<(&'a [u8], Option<Rrset<'a>>, Option<Rrset<'a>>), ImageError>> + 'a
    {
        let (image, heap, by_target) = (self.image, self.heap, self.by_target);
        let entry =
            move |rdata, offsets| linked_rrsets(image, offsets).map(|(a, aaaa)| (rdata, a, aaaa));
        // Parsed here rather than through `records()`: one pass without its per-record branch
        // on the storage kind (this runs on every referral).
        let mut records = self.records;
        let mut links = self.additional;
        let mut index = 0u16;
        std::iter::from_fn(move || {
            if by_target {
                let (offset, rest) = records.split_at_checked(4)?;
                records = rest;
                let offset = u32::from_be_bytes(offset.try_into().expect("4 bytes"));
                return Some(target(heap, offset).and_then(|(rdata, a)| entry(rdata, a)));
            }
            let (len, rest) = records.split_at_checked(2)?;
            let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
            let Some((rdata, rest)) = rest.split_at_checked(len) else {
                records = &[];
                return Some(Err(ImageError::Corrupt(0)));
            };
            records = rest;
            let mut offsets = [format::NONE; 2];
            while let Some((link, rest)) = links.split_at_checked(10) {
                let linked = u16::from_be_bytes([link[0], link[1]]);
                if linked > index {
                    break;
                }
                links = rest;
                if linked == index {
                    offsets = link_offsets(&link[2..]);
                    break;
                }
            }
            index = index.wrapping_add(1);
            Some(entry(rdata, offsets))
        })
    }

    /// For records whose target name is in the zone: the record index and the target's A and
    /// AAAA RRsets (additional section data, RFC 1034 §4.3.2 step 6; glue for NS).
    #[allow(clippy::type_complexity)]
    pub fn additionals(
        &self,
    ) -> impl Iterator<Item = Result<(usize, Option<Rrset<'a>>, Option<Rrset<'a>>), ImageError>> + 'a
    {
        let (image, heap, by_target) = (self.image, self.heap, self.by_target);
        let (records, additional) = (self.records, self.additional);
        let entry = move |index: usize, offsets: [u32; 2]| {
            linked_rrsets(image, offsets).map(|(a, aaaa)| (index, a, aaaa))
        };
        let mut next = 0usize;
        std::iter::from_fn(move || {
            loop {
                let index = next;
                next += 1;
                if !by_target {
                    let e = additional.get(10 * index..10 * index + 10)?;
                    let record = usize::from(u16::from_be_bytes([e[0], e[1]]));
                    return Some(entry(record, link_offsets(&e[2..])));
                }
                let e = records.get(4 * index..4 * index + 4)?;
                match target(heap, u32::from_be_bytes([e[0], e[1], e[2], e[3]])) {
                    Err(error) => return Some(Err(error)),
                    Ok((_, [format::NONE, format::NONE])) => continue,
                    Ok((_, addresses)) => return Some(entry(index, addresses)),
                }
            }
        })
    }
}
