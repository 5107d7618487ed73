//! Writing records into the message: one record, a whole RRset or nothing, with its signatures
//! when DNSSEC is wanted; an RRset already in the message is not repeated.

use zonefiles::RecordType;
use zonefiles::image::{ImageError, Node, Rrset};

use super::CLASS_IN;
use super::lookup::Lookup;
use super::message::{Full, Section, Writer};

/// Why writing a response stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// An answer or authority RRset did not fit: the response goes out truncated.
    Full,
    /// The zone's image could not be read (damaged bytes, or data a valid image always has
    /// is missing): SERVFAIL, and the zone is withdrawn.
    Damaged,
}

impl From<Full> for Stop {
    fn from(_: Full) -> Stop {
        Stop::Full
    }
}

impl From<ImageError> for Stop {
    fn from(_: ImageError) -> Stop {
        Stop::Damaged
    }
}

impl<'z> Lookup<'z> {
    /// Writes one RRset whole, or nothing; an RRset already in the message is not repeated.
    pub(super) fn rrset(
        &mut self,
        w: &mut Writer<'_>,
        section: Section,
        owner: &[u8],
        rtype: RecordType,
        rrset: Rrset<'z>,
    ) -> Result<(), Stop> {
        let key = rrset_key(owner, rtype);
        if self.written[..self.written_count].contains(&key) {
            return Ok(());
        }
        if self.written_count < self.written.len() {
            self.written[self.written_count] = key;
            self.written_count += 1;
        }
        let mark = w.mark();
        // Where the first record's owner went: the others repeat it without a look-up.
        let mut first_owner = None;
        for rdata in rrset.records() {
            let rdata = rdata?;
            let at = w.len();
            let owner_written = match first_owner {
                Some(first) => w.repeat_name(first, owner),
                None => w.name(owner, true),
            };
            let written = owner_written
                .map_err(Stop::from)
                .and_then(|()| write_after_owner(w, rtype, rrset.ttl(), rdata));
            if let Err(stop) = written {
                w.rewind(mark);
                return Err(stop);
            }
            first_owner.get_or_insert(at);
            w.count(section);
        }
        Ok(())
    }

    /// Writes an RRset and, when DNSSEC is wanted, its signatures from `node`; all or nothing.
    pub(super) fn signed(
        &mut self,
        w: &mut Writer<'_>,
        section: Section,
        owner: &[u8],
        rtype: RecordType,
        rrset: Rrset<'z>,
        node: Node<'z>,
    ) -> Result<(), Stop> {
        let mark = w.mark();
        let before = w.len();
        self.rrset(w, section, owner, rtype, rrset)?;
        if self.dnssec
            && w.len() > before
            && let Err(stop) = self.sigs(w, section, owner, rtype, rrset.ttl(), node)
        {
            w.rewind(mark);
            return Err(stop);
        }
        Ok(())
    }

    /// The RRSIGs at `node` that cover `rtype`, with the TTL of the RRset they sign
    /// (RFC 4034 §3).
    pub(super) fn sigs(
        &mut self,
        w: &mut Writer<'_>,
        section: Section,
        owner: &[u8],
        rtype: RecordType,
        ttl: u32,
        node: Node<'z>,
    ) -> Result<(), Stop> {
        let Some(sigs) = node.rrset(RecordType::RRSIG)? else {
            return Ok(());
        };
        let covered = rtype.0.to_be_bytes();
        for rdata in sigs.records() {
            let rdata = rdata?;
            if rdata.starts_with(&covered) {
                write_counted(w, section, owner, RecordType::RRSIG, ttl, rdata)?;
            }
        }
        Ok(())
    }

    /// An answer to a query for RRSIG: each signature with the TTL of the RRset it covers.
    pub(super) fn rrsigs(
        &mut self,
        w: &mut Writer<'_>,
        owner: &[u8],
        sigs: Rrset<'z>,
        node: Node<'z>,
    ) -> Result<(), Stop> {
        let mark = w.mark();
        for rdata in sigs.records() {
            let rdata = rdata?;
            let Some(&[c0, c1]) = rdata.get(..2) else {
                continue;
            };
            let covered = RecordType(u16::from_be_bytes([c0, c1]));
            let ttl = match node.rrset(covered)? {
                Some(rrset) => rrset.ttl(),
                None => sigs.ttl(),
            };
            if let Err(stop) =
                write_counted(w, Section::Answer, owner, RecordType::RRSIG, ttl, rdata)
            {
                w.rewind(mark);
                return Err(stop);
            }
        }
        Ok(())
    }
}

/// A hash of an owner (case-insensitive) and type (FNV-1a): an RRset appears in one section
/// of a message at most.
fn rrset_key(owner: &[u8], rtype: RecordType) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = owner
        .iter()
        .map(u8::to_ascii_lowercase)
        .chain(rtype.0.to_be_bytes());
    for b in bytes {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Writes one record into `section` and counts it, or writes nothing.
pub(super) fn write_counted(
    w: &mut Writer<'_>,
    section: Section,
    owner: &[u8],
    rtype: RecordType,
    ttl: u32,
    rdata: &[u8],
) -> Result<(), Stop> {
    let mark = w.mark();
    if let Err(stop) = write_record(w, owner, rtype, ttl, rdata) {
        w.rewind(mark);
        return Err(stop);
    }
    w.count(section);
    Ok(())
}

/// Writes one record; names in the rdata of the RFC 1035 types are compressed (RFC 3597 §4).
/// Rdata whose names do not read is [`Stop::Damaged`].
pub(crate) fn write_record(
    w: &mut Writer<'_>,
    owner: &[u8],
    rtype: RecordType,
    ttl: u32,
    rdata: &[u8],
) -> Result<(), Stop> {
    w.name(owner, true)?;
    write_after_owner(w, rtype, ttl, rdata)
}

/// Writes a record's type, class, TTL and rdata, its owner being written already.
pub(crate) fn write_after_owner(
    w: &mut Writer<'_>,
    rtype: RecordType,
    ttl: u32,
    rdata: &[u8],
) -> Result<(), Stop> {
    w.u16(rtype.0)?;
    w.u16(CLASS_IN)?;
    w.u32(ttl)?;
    let rdlen_at = w.len();
    w.u16(0)?;
    let start = w.len();
    // The writer compresses names it trusts to be well formed: those from an image that may
    // be damaged are checked first.
    let name = |wire: &[u8]| -> Result<usize, Stop> {
        zonefiles::name::wire_name_len(wire).map_err(|_| Stop::Damaged)
    };
    match rtype {
        RecordType::NS | RecordType::CNAME | RecordType::PTR => {
            w.name(&rdata[..name(rdata)?], true)?;
        }
        RecordType::MX => {
            let (preference, exchange) = rdata.split_at_checked(2).ok_or(Stop::Damaged)?;
            w.bytes(preference)?;
            w.name(&exchange[..name(exchange)?], true)?;
        }
        RecordType::SOA => {
            let mname = name(rdata)?;
            let rname = name(&rdata[mname..])?;
            w.name(&rdata[..mname], true)?;
            w.name(&rdata[mname..mname + rname], true)?;
            w.bytes(&rdata[mname + rname..])?;
        }
        _ => w.bytes(rdata)?,
    }
    let len = w.len() - start;
    w.patch_u16(rdlen_at, len as u16);
    Ok(())
}
