//! The byte layout of a compiled zone image, version 5. Versions 3 (every RRset inline) and 4
//! (no `nsec3` section: its header ends with the digest at 112 and the origin at 144) are still
//! read; versions 1 and 2, never released, had plain node offsets as index values, and no
//! table of the names below the apex.
//!
//! ```text
//! header (little-endian integers)
//!   0   8  magic "CSTLZIMG"
//!   8   4  format version = 5 (3 and 4 are read too)
//!  12   4  header length, origin included, padded to 8
//!  16   4  SOA serial
//!  20   2  class
//!  22   2  flags: bit 0 = the zone carries DNSSEC records
//!  24   8  node count (names, empty non-terminals included)
//!  32   8  RRset count after sharing identical RRsets
//!  40   8  record count
//!  48  16  rrsets section: offset, length
//!  64  16  nodes section: offset, length
//!  80  16  index section: offset, length
//!  96  16  top section: offset, length
//! 112  16  nsec3 section: offset, length
//! 128  32  SHA-256 of the whole file with these 32 bytes zeroed
//! 160   1  origin length, then the origin in wire format
//!
//! rrsets section: RRsets, each shared by every node that has identical data, and targets
//!   RRset: ttl u32 BE · record count u16 BE · additional count u16 BE, then either
//!   - inline (additional count below 0xFFFF):
//!     records: rdlength u16 BE · rdata          (exactly the wire-format RR tail)
//!     additional: record index u16 BE · A rrset offset u32 BE · AAAA rrset offset u32 BE
//!                 (offsets into this section; 0xFFFFFFFF = none) — the addresses of a name
//!                 that an MX or SRV record of this RRset points to inside the zone
//!   - by target (additional count 0xFFFF, version 4; every NS RRset):
//!     records: target offset u32 BE (into this section), one per record
//!   target: one per distinct NS rdata, shared by every NS RRset that names it
//!     rdlength u16 BE · rdata · A rrset offset u32 BE · AAAA rrset offset u32 BE
//!     (the addresses when the name is inside the zone, else 0xFFFFFFFF)
//!
//! nodes section: one node per name in canonical order
//!   flags u8 · RRset count u8 · per RRset: type u16 BE · rrset offset u32 BE (types ascending)
//!
//! index section: an fst map from each name's canonical key (see `name`) to its node offset
//!   × 256 + its node flags, so look-ups learn every flag without reading the node
//!
//! top section: a hash table from each label right below the apex to the same index value
//!   as the fst's (layout in `top`), so most TLD look-ups skip the fst walk
//!
//! nsec3 section: the NSEC3 owners' hashes in order, each with the same index value (layout in
//!   `nsec3`), so a denial proof's NSEC3 records come from a binary search
//! ```
//!
//! Big-endian fields inside the sections are copied straight into DNS messages.

use crate::name::{MAX_NAME_LEN, Name};

/// The file magic.
pub const MAGIC: &[u8; 8] = b"CSTLZIMG";
/// The format version this crate writes.
pub const VERSION: u32 = 5;
/// The oldest format version this crate reads (RRsets inline only).
pub const OLDEST_READ: u32 = 3;
/// The additional count of an RRset stored by target (version 4).
pub const BY_TARGET: u16 = 0xFFFF;
/// The first format version with an `nsec3` section.
pub const NSEC3_SINCE: u32 = 5;
/// "No RRset" in an additional entry.
pub const NONE: u32 = u32::MAX;
/// Image flag: the zone carries RRSIG, NSEC or NSEC3 records.
pub const FLAG_DNSSEC: u16 = 1;

/// Node flag: the zone apex.
pub const NODE_APEX: u8 = 0x01;
/// Node flag: a delegation point (NS below the apex, RFC 1034 §4.2.1).
pub const NODE_DELEGATION: u8 = 0x02;
/// Node flag: owns a DNAME (RFC 6672).
pub const NODE_DNAME: u8 = 0x04;
/// Node flag: strictly below a delegation point or DNAME; only glue lives here.
pub const NODE_OCCLUDED: u8 = 0x08;
/// Node flag: `*.` this name exists (RFC 4592 source of synthesis).
pub const NODE_WILDCARD_CHILD: u8 = 0x10;
/// Node flag: an empty non-terminal (RFC 4592 §2.2.2).
pub const NODE_EMPTY: u8 = 0x20;

/// A byte range of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Section {
    /// Offset from the start of the file.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

/// The decoded header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The format version.
    pub version: u32,
    /// Header length including the origin and padding.
    pub len: usize,
    /// The SOA serial.
    pub serial: u32,
    /// The zone's class.
    pub class: u16,
    /// Image flags.
    pub flags: u16,
    /// Names in the index.
    pub nodes: u64,
    /// Distinct RRsets stored.
    pub rrsets: u64,
    /// Records in the zone.
    pub records: u64,
    /// The rrsets section.
    pub rrsets_section: Section,
    /// The nodes section.
    pub nodes_section: Section,
    /// The index section.
    pub index_section: Section,
    /// The table of names right below the apex.
    pub top_section: Section,
    /// The table of NSEC3 owners (empty before version 5).
    pub nsec3_section: Section,
    /// SHA-256 of the file with the digest zeroed.
    pub digest: [u8; 32],
    /// The zone's name.
    pub origin: Name,
}

/// Why a header does not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Not an image file.
    #[error("not a zone image: bad magic")]
    Magic,
    /// An image of another version.
    #[error(
        "zone image format version {0}; this build reads versions 3 to 5: compile the zone again"
    )]
    Version(u32),
    /// Too short, or a length that does not fit the file.
    #[error("zone image header is truncated or inconsistent")]
    Truncated,
    /// A section outside the file.
    #[error("zone image section lies outside the file")]
    Section,
    /// The origin is not a name.
    #[error("zone image origin is malformed")]
    Origin,
}

fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// The length of the fixed part of a header of `version`: sections, digest.
fn fixed_len(version: u32) -> usize {
    digest_at(version) + 32
}

/// Where the digest is in a header of `version`: after the sections.
pub fn digest_at(version: u32) -> usize {
    if version >= NSEC3_SINCE { 128 } else { 112 }
}

impl Header {
    /// Reads and bounds-checks the header of `file`.
    pub fn read(file: &[u8]) -> Result<Header, HeaderError> {
        if file.len() < 12 {
            return Err(if file.starts_with(MAGIC) || file.len() < 8 {
                HeaderError::Truncated
            } else {
                HeaderError::Magic
            });
        }
        if &file[..8] != MAGIC {
            return Err(HeaderError::Magic);
        }
        let version = le_u32(file, 8);
        if !(OLDEST_READ..=VERSION).contains(&version) {
            return Err(HeaderError::Version(version));
        }
        let fixed = fixed_len(version);
        if file.len() < fixed + 1 {
            return Err(HeaderError::Truncated);
        }
        let len = le_u32(file, 12) as usize;
        let origin_len = file[fixed] as usize;
        if origin_len == 0
            || origin_len > MAX_NAME_LEN
            || len < fixed + 1 + origin_len
            || len > file.len()
        {
            return Err(HeaderError::Truncated);
        }
        let origin_wire = &file[fixed + 1..fixed + 1 + origin_len];
        let (origin, used) = Name::from_wire(origin_wire).map_err(|_| HeaderError::Origin)?;
        if used != origin_len || origin.as_wire() != origin_wire {
            return Err(HeaderError::Origin);
        }
        let section = |at: usize| -> Result<Section, HeaderError> {
            let s = Section {
                offset: le_u64(file, at),
                len: le_u64(file, at + 8),
            };
            let end = s.offset.checked_add(s.len).ok_or(HeaderError::Section)?;
            if s.offset < len as u64 || end > file.len() as u64 {
                return Err(HeaderError::Section);
            }
            Ok(s)
        };
        let (rrsets_section, nodes_section, index_section, top_section) =
            (section(48)?, section(64)?, section(80)?, section(96)?);
        let nsec3_section = if version >= NSEC3_SINCE {
            section(112)?
        } else {
            Section::default()
        };
        let end = [
            rrsets_section,
            nodes_section,
            index_section,
            top_section,
            nsec3_section,
        ]
        .iter()
        .map(|s| s.offset + s.len)
        .max()
        .unwrap_or(0)
        .next_multiple_of(8);
        if end != file.len() as u64 {
            return Err(HeaderError::Truncated);
        }
        Ok(Header {
            version,
            len,
            serial: le_u32(file, 16),
            class: le_u16(file, 20),
            flags: le_u16(file, 22),
            nodes: le_u64(file, 24),
            rrsets: le_u64(file, 32),
            records: le_u64(file, 40),
            rrsets_section,
            nodes_section,
            index_section,
            top_section,
            nsec3_section,
            digest: file[digest_at(version)..digest_at(version) + 32]
                .try_into()
                .expect("32 bytes"),
            origin,
        })
    }

    /// Writes the header in the layout of the version this crate writes; the digest field is
    /// written as given (zero while computing it).
    pub fn write(&self, out: &mut Vec<u8>) {
        assert_eq!(
            self.version, VERSION,
            "images are written in the current format"
        );
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&(self.len as u32).to_le_bytes());
        out.extend_from_slice(&self.serial.to_le_bytes());
        out.extend_from_slice(&self.class.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.nodes.to_le_bytes());
        out.extend_from_slice(&self.rrsets.to_le_bytes());
        out.extend_from_slice(&self.records.to_le_bytes());
        for s in [
            self.rrsets_section,
            self.nodes_section,
            self.index_section,
            self.top_section,
            self.nsec3_section,
        ] {
            out.extend_from_slice(&s.offset.to_le_bytes());
            out.extend_from_slice(&s.len.to_le_bytes());
        }
        out.extend_from_slice(&self.digest);
        out.push(self.origin.as_wire().len() as u8);
        out.extend_from_slice(self.origin.as_wire());
        while out.len() < self.len {
            out.push(0);
        }
    }

    /// The header length for an origin: fixed part, origin, padding to 8.
    pub fn len_for(origin: &Name) -> usize {
        (fixed_len(VERSION) + 1 + origin.as_wire().len()).next_multiple_of(8)
    }
}
