//! The answer engine: query bytes and zone images in, response bytes out (RFC 1034 §4.3.2).
//!
//! [`answer`] is a pure function: no I/O, no clock, no allocation for names up to 30 octets
//! (the query name is lower-cased into an inline [`Name`]). The caller owns the buffer; the
//! response is built in place, section by section. Truncation (RFC 1035 §4.2.1, RFC 9471)
//! never cuts an RRset: when the answer or authority section does not fit, the response
//! keeps only its question (and OPT) and sets TC; additional data that does not fit is left
//! out, unless it is glue a referral needs, which sets TC too.

mod cookie;
mod message;
mod query;

use std::net::IpAddr;
use std::sync::Arc;

pub use cookie::Secrets as CookieSecrets;

use message::{Full, Section, Writer};
pub use query::{Edns, Malformed, Query};
use zonefiles::image::{Find, Image, Node, Rrset};
use zonefiles::{Name, RecordType, rdata};

/// Response codes (RFC 1035 §4.1.1, RFC 6891 §9).
mod rcode {
    pub const NOERROR: u16 = 0;
    pub const FORMERR: u16 = 1;
    pub const NXDOMAIN: u16 = 3;
    pub const NOTIMP: u16 = 4;
    pub const REFUSED: u16 = 5;
    pub const YXDOMAIN: u16 = 6;
    /// BADVERS is 16: extended RCODE 1 in the OPT record, 0 in the header.
    pub const BADVERS_HIGH: u8 = 1;
}

const QR: u16 = 0x8000;
const AA: u16 = 0x0400;
const TC: u16 = 0x0200;
const RD: u16 = 0x0100;
const CD: u16 = 0x0010;
const CLASS_IN: u16 = 1;
const CLASS_CH: u16 = 3;
const CLASS_ANY: u16 = 255;
/// The longest CNAME/DNAME chain followed inside a zone.
const MAX_CHAIN: usize = 8;

/// Who asked, how, and when.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    /// How the query arrived.
    pub transport: Transport,
    /// The client's address (server cookies are bound to it).
    pub addr: IpAddr,
    /// The time, in seconds since 1970 (server cookie timestamps).
    pub now: u32,
}

/// How the query arrived: UDP responses are limited to the payload size the client allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP: 512 bytes, or the EDNS payload size up to [`Config::max_udp_payload`].
    Udp,
    /// TCP: up to 65535 bytes.
    Tcp,
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The largest UDP response, and the payload size announced in OPT (RFC 6891 §6.2.5;
    /// 1232 avoids fragmentation on today's paths).
    pub max_udp_payload: u16,
    /// This server's identity for NSID (RFC 5001) and `id.server`/`hostname.bind` (RFC 4892).
    pub identity: Option<Vec<u8>>,
    /// The answer to `version.bind`/`version.server`; refused when `None`.
    pub version: Option<Vec<u8>>,
    /// Leave the zone's NS RRset out of the authority section of positive answers (as BIND's
    /// `minimal-responses`); by default it is included, as BIND, NSD and Knot do.
    pub minimal_responses: bool,
    /// Answer DNS cookies (RFC 7873) with server cookies made with these secrets; cookies are
    /// ignored when `None`.
    pub cookies: Option<CookieSecrets>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_udp_payload: 1232,
            identity: None,
            version: None,
            minimal_responses: false,
            cookies: None,
        }
    }
}

/// The zones served, most specific first.
#[derive(Debug, Clone, Default)]
pub struct Zones {
    images: Vec<Arc<Image>>,
}

impl Zones {
    /// A zone set from images (one per origin).
    pub fn new(mut images: Vec<Arc<Image>>) -> Zones {
        images.sort_by_key(|i| std::cmp::Reverse(i.origin().label_count()));
        Zones { images }
    }

    /// The images served.
    pub fn images(&self) -> impl Iterator<Item = &Image> {
        self.images.iter().map(|i| &**i)
    }

    /// The zone with the closest enclosing origin.
    pub fn select(&self, qname: &Name) -> Option<&Image> {
        self.images
            .iter()
            .find(|i| qname.is_subdomain_of(i.origin()))
            .map(|i| &**i)
    }
}

/// Answers one query into `out`; returns the response length, or `None` when the query gets
/// no response at all (too short for a header, or itself a response).
pub fn answer(
    msg: &[u8],
    zones: &Zones,
    config: &Config,
    peer: &Peer,
    out: &mut [u8],
) -> Option<usize> {
    let query = match query::parse(msg) {
        Ok(query) => query,
        Err((Malformed::NoHeader | Malformed::Response, _, _)) => return None,
        Err((Malformed::FormErr, id, flags)) => {
            // The header was readable: FORMERR without a question.
            let mut w = Writer::new(out, 512);
            w.header(id, QR | (flags & (0x7800 | RD)) | rcode::FORMERR);
            return Some(w.finish());
        }
    };
    // The COOKIE option of the answer: the client cookie and our server cookie.
    let cookie = match (&config.cookies, query.edns.and_then(|e| e.cookie)) {
        (Some(secrets), Some(cookie)) => {
            Some((cookie.client, cookie.answer(secrets, peer.addr, peer.now).0))
        }
        _ => None,
    };
    let limit = match (peer.transport, query.edns) {
        (Transport::Tcp, _) => 65535,
        (Transport::Udp, None) => 512,
        (Transport::Udp, Some(edns)) => {
            usize::from(edns.udp_size.clamp(512, config.max_udp_payload))
        }
    };
    let mut w = Writer::new(out, limit);
    let opcode = query.flags & 0x7800;
    w.header(query.id, QR | opcode | (query.flags & (RD | CD)));
    // The question always fits: it came in a message no longer than this one may be.
    if !query.question.is_empty() {
        if w.name(query.qname, false).is_err()
            || w.bytes(&query.question[query.qname.len()..]).is_err()
        {
            return None;
        }
        w.count(Section::Question);
    }
    let flags = w.flags();
    let done = |mut w: Writer<'_>, rcode: u16, ext: u8| {
        w.set_flags((w.flags() & !0x000F) | rcode);
        if let Some(edns) = query.edns {
            // The sections were written under a limit that left room for the OPT record.
            w.set_limit(limit);
            let _ = write_opt(&mut w, config, edns, ext, cookie.as_ref());
        }
        Some(w.finish())
    };
    if query.question.is_empty() {
        // No question: only a request for a server cookie is answered (RFC 7873 §5.4).
        let rcode = if cookie.is_some() {
            rcode::NOERROR
        } else {
            rcode::FORMERR
        };
        return done(w, rcode, 0);
    }
    if opcode != 0 {
        return done(w, rcode::NOTIMP, 0);
    }
    if let Some(edns) = query.edns
        && edns.version > 0
    {
        return done(w, rcode::NOERROR, rcode::BADVERS_HIGH);
    }
    // Leave room for the OPT record we will add.
    let opt_room = query.edns.map_or(0, |e| {
        let nsid = if e.nsid {
            4 + config.identity.as_ref().map_or(0, Vec::len)
        } else {
            0
        };
        11 + nsid
            + if cookie.is_some() {
                4 + 8 + cookie::SERVER_LEN
            } else {
                0
            }
    });
    w.set_limit(limit - opt_room);
    match (query.qclass, query.qtype) {
        (_, 41 | 250) => return done(w, rcode::FORMERR, 0),
        (CLASS_CH, _) => {
            let rcode = chaos(&mut w, &query, config);
            return done(w, rcode, 0);
        }
        // IXFR, AXFR (transfers are served over TCP by the transfer path), MAILB, MAILA.
        (CLASS_IN | CLASS_ANY, 251..=254) => return done(w, rcode::NOTIMP, 0),
        (CLASS_IN | CLASS_ANY, _) => {}
        _ => return done(w, rcode::REFUSED, 0),
    }
    let Ok((qname, _)) = Name::from_wire(query.qname) else {
        return done(w, rcode::FORMERR, 0);
    };
    let Some(zone) = zones.select(&qname) else {
        return done(w, rcode::REFUSED, 0);
    };
    let after_question = w.mark();
    let mut lookup = Lookup {
        zone,
        qtype: RecordType(query.qtype),
        aa: true,
        rcode: rcode::NOERROR,
        tc: false,
        positive: false,
        written: [0; 16],
        written_count: 0,
    };
    let resolved = lookup.resolve(&mut w, query.qname, qname).and_then(|()| {
        if lookup.positive && !config.minimal_responses {
            lookup.zone_ns(&mut w)
        } else {
            Ok(())
        }
    });
    if resolved.is_err() {
        // An answer or authority RRset did not fit: send the question alone, truncated.
        w.rewind(after_question);
        lookup.tc = true;
        lookup.rcode = rcode::NOERROR;
    }
    let mut flags = flags;
    if lookup.aa {
        flags |= AA;
    }
    if lookup.tc {
        flags |= TC;
    }
    w.set_flags(flags);
    done(w, lookup.rcode, 0)
}

/// Answers CHAOS-class identity queries (RFC 4892): `id.server`/`hostname.bind` and
/// `version.server`/`version.bind`, TXT or ANY.
fn chaos(w: &mut Writer<'_>, query: &Query<'_>, config: &Config) -> u16 {
    let name = query.qname;
    let is = |text: &[u8]| name.eq_ignore_ascii_case(text);
    let value = if is(b"\x02id\x06server\x00") || is(b"\x08hostname\x04bind\x00") {
        config.identity.as_deref()
    } else if is(b"\x07version\x06server\x00") || is(b"\x07version\x04bind\x00") {
        config.version.as_deref()
    } else {
        None
    };
    let Some(value) = value else {
        return rcode::REFUSED;
    };
    if query.qtype != RecordType::TXT.0 && query.qtype != 255 {
        w.set_flags(w.flags() | AA);
        return rcode::NOERROR;
    }
    let value = &value[..value.len().min(255)];
    let written = (|| -> Result<(), Full> {
        w.name(name, true)?;
        w.u16(RecordType::TXT.0)?;
        w.u16(CLASS_CH)?;
        w.u32(0)?;
        w.u16(value.len() as u16 + 1)?;
        w.bytes(&[value.len() as u8])?;
        w.bytes(value)
    })();
    if written.is_ok() {
        w.count(Section::Answer);
    }
    w.set_flags(w.flags() | AA);
    rcode::NOERROR
}

fn write_opt(
    w: &mut Writer<'_>,
    config: &Config,
    edns: Edns,
    ext: u8,
    cookie: Option<&([u8; 8], [u8; cookie::SERVER_LEN])>,
) -> Result<(), Full> {
    let nsid = config.identity.as_deref().filter(|_| edns.nsid);
    let options = nsid.map_or(0, |id| 4 + id.len())
        + if cookie.is_some() {
            4 + 8 + cookie::SERVER_LEN
        } else {
            0
        };
    w.bytes(&[0])?;
    w.u16(41)?;
    w.u16(config.max_udp_payload)?;
    w.bytes(&[ext, 0])?;
    w.u16(if edns.dnssec_ok { 0x8000 } else { 0 })?;
    w.u16(options as u16)?;
    if let Some(id) = nsid {
        w.u16(3)?;
        w.u16(id.len() as u16)?;
        w.bytes(id)?;
    }
    if let Some((client, server)) = cookie {
        w.u16(10)?;
        w.u16((client.len() + server.len()) as u16)?;
        w.bytes(client)?;
        w.bytes(server)?;
    }
    w.count(Section::Additional);
    Ok(())
}

/// One query's look-up in one zone.
struct Lookup<'z> {
    zone: &'z Image,
    qtype: RecordType,
    aa: bool,
    rcode: u16,
    tc: bool,
    /// The answer section holds data (not a referral, not a negative answer).
    positive: bool,
    /// Hashes of the owner and type of each RRset written, so a chain that meets the same
    /// RRset twice writes it once.
    written: [u64; 16],
    written_count: usize,
}

impl<'z> Lookup<'z> {
    /// RFC 1034 §4.3.2 steps 3–6, following CNAMEs and DNAMEs inside the zone.
    fn resolve(&mut self, w: &mut Writer<'_>, wire: &[u8], mut name: Name) -> Result<(), Full> {
        // The owner as written so far: the query name as sent, then each alias target.
        let mut owner_buf = [0u8; 255];
        owner_buf[..wire.len()].copy_from_slice(wire);
        let mut owner_len = wire.len();
        let mut next = [0u8; 512];
        for step in 0..MAX_CHAIN {
            let owner = &owner_buf[..owner_len];
            let found = self.zone.find(&name).map_err(|_| Full)?;
            let target = match found {
                Find::OutOfZone => return Ok(()),
                Find::Referral { cut, offset } => {
                    if step == 0 {
                        self.referral(w, &owner[offset..], cut)?;
                    }
                    return Ok(());
                }
                Find::Dname {
                    owner: node,
                    offset,
                } => {
                    let dname = node.rrset(RecordType::DNAME).ok().flatten().ok_or(Full)?;
                    self.rrset(
                        w,
                        Section::Answer,
                        &owner[offset..],
                        RecordType::DNAME,
                        dname,
                    )?;
                    let target = dname.records().next().and_then(Result::ok).ok_or(Full)?;
                    // A DNAME whose target lies at or below its owner would rewrite names
                    // forever: synthesize once for the query name and stop; a chain that runs
                    // into it ends with the DNAME itself (as NSD does; RFC 6672 §3.4 lets the
                    // client synthesize).
                    let loops = is_below(target, &owner[offset..]);
                    if loops && step > 0 {
                        return Ok(());
                    }
                    // The new name: the labels above the DNAME owner, then its target.
                    let prefix = &owner[..offset];
                    next[..prefix.len()].copy_from_slice(prefix);
                    next[prefix.len()..prefix.len() + target.len()].copy_from_slice(target);
                    let len = prefix.len() + target.len();
                    if len > 255 {
                        self.rcode = rcode::YXDOMAIN;
                        return Ok(());
                    }
                    self.cname(w, owner, dname.ttl(), &next[..len])?;
                    if loops {
                        return Ok(());
                    }
                    Some(len)
                }
                Find::Exact(node) => self.at_node(w, owner, node, step, &mut next)?,
                Find::Wildcard { source, .. } => self.at_node(w, owner, source, step, &mut next)?,
                Find::NxDomain { .. } => {
                    self.rcode = rcode::NXDOMAIN;
                    self.negative(w)?;
                    return Ok(());
                }
            };
            let Some(len) = target else {
                return Ok(());
            };
            owner_buf[..len].copy_from_slice(&next[..len]);
            owner_len = len;
            let Ok((next, _)) = Name::from_wire(&owner_buf[..owner_len]) else {
                return Ok(());
            };
            if !next.is_subdomain_of(self.zone.origin()) {
                return Ok(());
            }
            name = next;
        }
        Ok(())
    }

    /// The answer at an existing node (or the wildcard standing in for it). Returns the
    /// length of the alias target written to `next` when the look-up goes on.
    fn at_node(
        &mut self,
        w: &mut Writer<'_>,
        owner: &[u8],
        node: Node<'z>,
        step: usize,
        next: &mut [u8; 512],
    ) -> Result<Option<usize>, Full> {
        if node.is_delegation() {
            if self.qtype == RecordType::DS && step == 0 {
                // DS lives on the parent side of the cut (RFC 4035 §3.1.4.1).
                return match node.rrset(RecordType::DS).map_err(|_| Full)? {
                    Some(ds) => {
                        // As NSD: a DS answer carries no NS RRset (it is the parent's data at a cut).
                        self.rrset(w, Section::Answer, owner, RecordType::DS, ds)
                            .map(|()| None)
                    }
                    None => self.negative(w).map(|()| None),
                };
            }
            if step == 0 {
                self.referral(w, owner, node)?;
            }
            return Ok(None);
        }
        if self.qtype.0 == 255 {
            let mut any = false;
            for rrset in node.rrsets() {
                let (rtype, rrset) = rrset.map_err(|_| Full)?;
                self.rrset(w, Section::Answer, owner, rtype, rrset)?;
                any = true;
            }
            self.positive = any;
            if !any {
                self.negative(w)?;
            }
            return Ok(None);
        }
        if let Some(rrset) = node.rrset(self.qtype).map_err(|_| Full)? {
            self.rrset(w, Section::Answer, owner, self.qtype, rrset)?;
            self.positive = true;
            self.additional(w, self.qtype, rrset, None)?;
            return Ok(None);
        }
        if let Some(cname) = node.rrset(RecordType::CNAME).map_err(|_| Full)? {
            self.rrset(w, Section::Answer, owner, RecordType::CNAME, cname)?;
            let target = cname.records().next().and_then(Result::ok).ok_or(Full)?;
            next[..target.len()].copy_from_slice(target);
            return Ok(Some(target.len()));
        }
        self.negative(w)?;
        Ok(None)
    }

    /// A referral: not authoritative, the cut's NS in authority, glue in additional.
    fn referral(
        &mut self,
        w: &mut Writer<'_>,
        cut_owner: &[u8],
        cut: Node<'z>,
    ) -> Result<(), Full> {
        self.aa = false;
        let ns = cut.rrset(RecordType::NS).map_err(|_| Full)?.ok_or(Full)?;
        self.rrset(w, Section::Authority, cut_owner, RecordType::NS, ns)?;
        self.additional(w, RecordType::NS, ns, Some(cut_owner))
    }

    /// The zone's NS RRset in authority, with addresses for the name servers inside the zone
    /// (RFC 1034 §4.3.2 step 6 and §6.2's examples), when the answer did not already carry it.
    fn zone_ns(&mut self, w: &mut Writer<'_>) -> Result<(), Full> {
        let apex = self.zone.apex().map_err(|_| Full)?;
        let Some(ns) = apex.rrset(RecordType::NS).map_err(|_| Full)? else {
            return Ok(());
        };
        let origin = self.zone.origin().as_wire();
        self.rrset(w, Section::Authority, origin, RecordType::NS, ns)?;
        self.additional(w, RecordType::NS, ns, None)
    }

    /// The SOA for a negative answer, its TTL capped by the SOA minimum (RFC 2308 §3).
    fn negative(&mut self, w: &mut Writer<'_>) -> Result<(), Full> {
        let apex = self.zone.apex().map_err(|_| Full)?;
        let soa = apex.rrset(RecordType::SOA).map_err(|_| Full)?.ok_or(Full)?;
        let rdata = soa.records().next().and_then(Result::ok).ok_or(Full)?;
        let ttl = soa.ttl().min(rdata::soa_minimum(rdata).unwrap_or(u32::MAX));
        let origin = self.zone.origin().as_wire();
        write_counted(w, Section::Authority, origin, RecordType::SOA, ttl, rdata)
    }

    /// A synthesized CNAME from a DNAME (RFC 6672 §3.1).
    fn cname(
        &mut self,
        w: &mut Writer<'_>,
        owner: &[u8],
        ttl: u32,
        target: &[u8],
    ) -> Result<(), Full> {
        write_counted(w, Section::Answer, owner, RecordType::CNAME, ttl, target)
    }

    /// Writes one RRset whole, or nothing; an RRset already in the message is not repeated.
    fn rrset(
        &mut self,
        w: &mut Writer<'_>,
        section: Section,
        owner: &[u8],
        rtype: RecordType,
        rrset: Rrset<'z>,
    ) -> Result<(), Full> {
        let key = rrset_key(owner, rtype);
        if self.written[..self.written_count].contains(&key) {
            return Ok(());
        }
        if self.written_count < self.written.len() {
            self.written[self.written_count] = key;
            self.written_count += 1;
        }
        let mark = w.mark();
        for rdata in rrset.records() {
            let rdata = rdata.map_err(|_| Full)?;
            if let Err(full) = write_record(w, owner, rtype, rrset.ttl(), rdata) {
                w.rewind(mark);
                return Err(full);
            }
            w.count(section);
        }
        Ok(())
    }

    /// Addresses of the names an NS, MX or SRV RRset points to (RFC 1034 §4.3.2 step 6).
    /// For a referral, glue below the cut must fit (RFC 9471): if it does not, TC is set.
    fn additional(
        &mut self,
        w: &mut Writer<'_>,
        rtype: RecordType,
        rrset: Rrset<'z>,
        cut: Option<&[u8]>,
    ) -> Result<(), Full> {
        let Some(field) = rdata::schema::additional_name_field(rtype) else {
            return Ok(());
        };
        let records: [Option<&[u8]>; 64] = {
            let mut all = [None; 64];
            for (slot, rdata) in all.iter_mut().zip(rrset.records()) {
                *slot = rdata.ok();
            }
            all
        };
        for entry in rrset.additionals() {
            let Ok((index, a, aaaa)) = entry else {
                continue;
            };
            let Some(Some(rdata)) = records.get(index) else {
                continue;
            };
            let Some(target) = rdata::name_field_wire(rtype, rdata, field) else {
                continue;
            };
            for (atype, addresses) in [(RecordType::A, a), (RecordType::AAAA, aaaa)] {
                let Some(addresses) = addresses else { continue };
                if self
                    .rrset(w, Section::Additional, target, atype, addresses)
                    .is_err()
                {
                    let required = cut.is_some_and(|cut| is_below(target, cut));
                    if required {
                        self.tc = true;
                    }
                    return Ok(());
                }
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

/// True if wire name `name` is at or below wire name `ancestor` (case-insensitive).
fn is_below(name: &[u8], ancestor: &[u8]) -> bool {
    name.len() >= ancestor.len()
        && name[name.len() - ancestor.len()..].eq_ignore_ascii_case(ancestor)
}

/// Writes one record into `section` and counts it, or writes nothing.
fn write_counted(
    w: &mut Writer<'_>,
    section: Section,
    owner: &[u8],
    rtype: RecordType,
    ttl: u32,
    rdata: &[u8],
) -> Result<(), Full> {
    let mark = w.mark();
    if let Err(full) = write_record(w, owner, rtype, ttl, rdata) {
        w.rewind(mark);
        return Err(full);
    }
    w.count(section);
    Ok(())
}

/// Writes one record; names in the rdata of the RFC 1035 types are compressed (RFC 3597 §4).
fn write_record(
    w: &mut Writer<'_>,
    owner: &[u8],
    rtype: RecordType,
    ttl: u32,
    rdata: &[u8],
) -> Result<(), Full> {
    w.name(owner, true)?;
    w.u16(rtype.0)?;
    w.u16(CLASS_IN)?;
    w.u32(ttl)?;
    let rdlen_at = w.len();
    w.u16(0)?;
    let start = w.len();
    match rtype {
        RecordType::NS | RecordType::CNAME | RecordType::PTR => w.name(rdata, true)?,
        RecordType::MX => {
            w.bytes(&rdata[..2])?;
            w.name(&rdata[2..], true)?;
        }
        RecordType::SOA => {
            let mname = zonefiles::name::wire_name_len(rdata).map_err(|_| Full)?;
            let rname = zonefiles::name::wire_name_len(&rdata[mname..]).map_err(|_| Full)?;
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
