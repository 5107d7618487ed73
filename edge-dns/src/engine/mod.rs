//! The answer engine: query bytes and zone images in, response bytes out (RFC 1034 §4.3.2).
//!
//! [`answer`] is a pure function: no I/O, no clock, no allocation for names up to 30 octets
//! (the query name is lower-cased into an inline [`Name`]). The caller owns the buffer; the
//! response is built in place, section by section. Truncation (RFC 1035 §4.2.1, RFC 9471)
//! never cuts an RRset: when the answer or authority section does not fit, the response
//! keeps only its question (and OPT) and sets TC; additional data that does not fit is left
//! out, unless it is glue a referral needs, which sets TC too.

mod cookie;
pub(crate) mod message;
mod query;

use std::net::IpAddr;
use std::sync::Arc;

use crate::view::View;

pub use cookie::Secrets as CookieSecrets;

use message::{Full, Section, Writer};
pub use query::{Edns, Kind, Malformed, Query, classify};
use zonefiles::image::{Find, Image, Node, Nsec3Params, Rrset};
use zonefiles::{Name, RecordType, rdata};

/// Response codes (RFC 1035 §4.1.1, RFC 6891 §9).
mod rcode {
    pub const NOERROR: u16 = 0;
    pub const FORMERR: u16 = 1;
    pub const SERVFAIL: u16 = 2;
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

/// What a response was made from, so that responses a client would get alike are counted
/// together by response rate limiting ([`crate::rrl`]): the same answer, the same referral,
/// the same zone's denial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The kind of response.
    pub class: Class,
    /// The query type.
    pub qtype: u16,
    /// Where, in the query message, the name the response is about lies: the query name or
    /// its suffix (a delegation, a wildcard's closest encloser, the zone); empty for errors.
    pub name: std::ops::Range<usize>,
    /// The client proved its address with a valid server cookie (RFC 7873 §5.3).
    pub verified: bool,
}

/// Kinds of response, as response rate limiting tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Data for the query name and type (CHAOS identity answers too).
    Answer,
    /// A referral to a delegation; about the delegation's name.
    Referral,
    /// Data synthesized from a wildcard; about its closest encloser.
    Wildcard,
    /// The name does not exist; about the zone.
    Nxdomain,
    /// The name exists without the type; about the zone.
    Nodata,
    /// FORMERR, NOTIMP, REFUSED, BADVERS and the like; about nothing but the client.
    Error,
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

/// The zones served, most specific first, and the zones withdrawn (answered SERVFAIL until an
/// operator restores them).
#[derive(Debug, Clone, Default)]
pub struct Zones {
    views: Vec<Arc<View>>,
    withdrawn: Vec<Name>,
}

impl Zones {
    /// A zone set from images (one per origin).
    pub fn new(images: Vec<Arc<Image>>) -> Zones {
        Zones::from_views(
            images
                .into_iter()
                .map(|i| Arc::new(View::plain(i)))
                .collect(),
        )
    }

    /// A zone set from views (one per origin).
    pub fn from_views(views: Vec<Arc<View>>) -> Zones {
        Zones::with_withdrawn(views, Vec::new())
    }

    /// A zone set from views, and the origins of zones withdrawn (damaged images).
    pub fn with_withdrawn(mut views: Vec<Arc<View>>, withdrawn: Vec<Name>) -> Zones {
        views.sort_by_key(|v| std::cmp::Reverse(v.origin().label_count()));
        Zones { views, withdrawn }
    }

    /// The zones withdrawn.
    pub fn withdrawn(&self) -> &[Name] {
        &self.withdrawn
    }

    /// True if `qname` belongs to a withdrawn zone rather than to `served` (the closest
    /// served zone, if any).
    fn in_withdrawn(&self, qname: &Name, served: Option<&View>) -> bool {
        let depth = served.map_or(0, |v| v.origin().label_count());
        self.withdrawn
            .iter()
            .any(|origin| origin.label_count() > depth && qname.is_subdomain_of(origin))
    }

    /// The zones served.
    pub fn views(&self) -> impl Iterator<Item = &View> {
        self.views.iter().map(|v| &**v)
    }

    /// The zone with the closest enclosing origin.
    pub fn select(&self, qname: &Name) -> Option<&View> {
        self.views
            .iter()
            .find(|v| qname.is_subdomain_of(v.origin()))
            .map(|v| &**v)
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
    respond(msg, zones, config, peer, out).map(|(len, _)| len)
}

/// [`answer`], also saying what the response was made from.
pub fn respond(
    msg: &[u8],
    zones: &Zones,
    config: &Config,
    peer: &Peer,
    out: &mut [u8],
) -> Option<(usize, Source)> {
    let query = match query::parse(msg) {
        Ok(query) => query,
        Err((Malformed::NoHeader | Malformed::Response, _, _)) => return None,
        Err((Malformed::FormErr, id, flags)) => {
            // The header was readable: FORMERR without a question.
            let mut w = Writer::new(out, 512);
            w.header(id, QR | (flags & (0x7800 | RD)) | rcode::FORMERR);
            let source = Source {
                class: Class::Error,
                qtype: 0,
                name: 12..12,
                verified: false,
            };
            return Some((w.finish(), source));
        }
    };
    // The COOKIE option of the answer: the client cookie and our server cookie.
    let (cookie, verified) = match (&config.cookies, query.edns.and_then(|e| e.cookie)) {
        (Some(secrets), Some(cookie)) => {
            let (server, valid) = cookie.answer(secrets, peer.addr, peer.now);
            (Some((cookie.client, server)), valid)
        }
        _ => (None, false),
    };
    let qname_end = 12 + query.qname.len();
    let about = |class: Class, name_at: usize| Source {
        class,
        qtype: query.qtype,
        name: if class == Class::Error {
            12..12
        } else {
            12 + name_at..qname_end
        },
        verified,
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
    let done = |mut w: Writer<'_>, rcode: u16, ext: u8, source: Source| {
        w.set_flags((w.flags() & !0x000F) | rcode);
        if let Some(edns) = query.edns {
            // The sections were written under a limit that left room for the OPT record.
            w.set_limit(limit);
            let _ = write_opt(&mut w, config, edns, ext, cookie.as_ref());
        }
        Some((w.finish(), source))
    };
    let error = || about(Class::Error, 0);
    if query.question.is_empty() {
        // No question: only a request for a server cookie is answered (RFC 7873 §5.4).
        let rcode = if cookie.is_some() {
            rcode::NOERROR
        } else {
            rcode::FORMERR
        };
        return done(w, rcode, 0, error());
    }
    if opcode != 0 {
        return done(w, rcode::NOTIMP, 0, error());
    }
    if let Some(edns) = query.edns
        && edns.version > 0
    {
        return done(w, rcode::NOERROR, rcode::BADVERS_HIGH, error());
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
        (_, 41 | 250) => return done(w, rcode::FORMERR, 0, error()),
        (CLASS_CH, _) => {
            let rcode = chaos(&mut w, &query, config);
            let class = if rcode == rcode::NOERROR {
                Class::Answer
            } else {
                Class::Error
            };
            return done(w, rcode, 0, about(class, 0));
        }
        // IXFR, AXFR (transfers are served over TCP by the transfer path), MAILB, MAILA.
        (CLASS_IN | CLASS_ANY, 251..=254) => return done(w, rcode::NOTIMP, 0, error()),
        (CLASS_IN | CLASS_ANY, _) => {}
        _ => return done(w, rcode::REFUSED, 0, error()),
    }
    let Ok((qname, _)) = Name::from_wire(query.qname) else {
        return done(w, rcode::FORMERR, 0, error());
    };
    let selected = zones.select(&qname);
    if zones.in_withdrawn(&qname, selected) {
        return done(w, rcode::SERVFAIL, 0, error());
    }
    let Some(view) = selected else {
        return done(w, rcode::REFUSED, 0, error());
    };
    let zone = view.image_for(qname.as_wire());
    let after_question = w.mark();
    // DNSSEC records go out only to clients that ask (RFC 3225) and only from signed zones.
    let dnssec = query.edns.is_some_and(|e| e.dnssec_ok) && view.apex_image().is_signed();
    let nsec3 = if dnssec {
        view.apex_image().nsec3_params().ok().flatten()
    } else {
        None
    };
    let mut lookup = Lookup {
        view,
        zone,
        dnssec,
        nsec3,
        wildcard: None,
        wildcard_proofs: Default::default(),
        answer_additional: None,
        qtype: RecordType(query.qtype),
        aa: true,
        rcode: rcode::NOERROR,
        tc: false,
        positive: false,
        class: Class::Answer,
        class_at: 0,
        written: [0; 16],
        written_count: 0,
    };
    // Sections are written in order: the answer (and negative proofs) while resolving, then
    // the wildcard proofs and the zone's NS in authority, then additional data.
    let resolved = lookup.resolve(&mut w, query.qname, qname).and_then(|()| {
        lookup.flush_wildcard_proofs(&mut w)?;
        // As NSD: no NS RRset after DNSKEY, DS or ANY answers, which are large enough already
        // (resolvers priming trust anchors should not be pushed to TCP).
        let wants_ns = !matches!(query.qtype, 43 | 48 | 255) && query.qclass != CLASS_ANY;
        if lookup.positive && wants_ns && !config.minimal_responses {
            lookup.zone_ns(&mut w)?;
        }
        match lookup.answer_additional.take() {
            Some(rrset) => lookup.additional(&mut w, lookup.qtype, rrset, None),
            None => Ok(()),
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
    let source = match lookup.class {
        Class::Nxdomain | Class::Nodata => about(
            lookup.class,
            query.qname.len() - view.origin().as_wire().len(),
        ),
        _ if lookup.rcode != rcode::NOERROR => error(),
        class => about(class, lookup.class_at),
    };
    done(w, lookup.rcode, 0, source)
}

/// Cuts a response down to its header, question and OPT record, with TC set: what a client
/// over its rate gets instead of the whole response ([`crate::rrl`]), so that a real one asks
/// again over TCP. Returns the new length; `None` if the response cannot be read (a response
/// [`respond`] wrote always can).
pub fn truncate(response: &mut [u8], len: usize) -> Option<usize> {
    let msg = response.get(..len)?;
    let count = |i: usize| usize::from(u16::from_be_bytes([msg[4 + 2 * i], msg[5 + 2 * i]]));
    if len < 12 || count(0) > 1 {
        return None;
    }
    let mut at = 12;
    if count(0) == 1 {
        at = query::question_name_end(msg)? + 4;
        if at > len {
            return None;
        }
    }
    let question_end = at;
    let mut opt = None;
    for _ in 0..count(1) + count(2) + count(3) {
        let (rtype, next) = query::skip_record(msg, at)?;
        if rtype == 41 {
            opt = Some(at..next);
        }
        at = next;
    }
    let mut end = question_end;
    let mut additional = 0u16;
    if let Some(opt) = opt {
        response.copy_within(opt.clone(), question_end);
        end += opt.len();
        additional = 1;
    }
    response[6..12].copy_from_slice(&[0, 0, 0, 0, 0, 0]);
    response[10..12].copy_from_slice(&additional.to_be_bytes());
    response[2] |= (TC >> 8) as u8;
    Some(end)
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
    /// The zone.
    view: &'z View,
    /// The image answering for the name at the current step of the chain.
    zone: &'z Image,
    /// RRSIGs and denial proofs are wanted (DO set, zone signed).
    dnssec: bool,
    /// The zone's NSEC3 parameters; NSEC proofs when `None`.
    nsec3: Option<Nsec3Params<'z>>,
    /// The answer comes from a wildcard: where the closest encloser starts in the name.
    wildcard: Option<usize>,
    /// Names answered from a wildcard along the chain, and where their closest encloser
    /// starts: their proofs go in authority once the answer section is complete.
    wildcard_proofs: [Option<(Name, usize)>; MAX_CHAIN],
    /// The answer RRset whose additional data goes out after the authority section.
    answer_additional: Option<Rrset<'z>>,
    qtype: RecordType,
    aa: bool,
    rcode: u16,
    tc: bool,
    /// The answer section holds data (not a referral, not a negative answer).
    positive: bool,
    /// What the response is made from (see [`Source`]), and where in the query name the
    /// name it is about starts.
    class: Class,
    class_at: usize,
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
            self.zone = self.view.image_for(name.as_wire());
            let found = self.zone.find(&name).map_err(|_| Full)?;
            let target = match found {
                Find::OutOfZone => return Ok(()),
                Find::Referral { cut, offset } => {
                    if step == 0 {
                        (self.class, self.class_at) = (Class::Referral, offset);
                        let cut_name = Name::from_wire(&name.as_wire()[offset..])
                            .map_err(|_| Full)?
                            .0;
                        self.referral(w, &owner[offset..], &cut_name, cut)?;
                    }
                    return Ok(());
                }
                Find::Dname {
                    owner: node,
                    offset,
                } => {
                    let dname = node.rrset(RecordType::DNAME).ok().flatten().ok_or(Full)?;
                    self.signed(
                        w,
                        Section::Answer,
                        &owner[offset..],
                        RecordType::DNAME,
                        dname,
                        node,
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
                Find::Exact(node) if is_nsec3_only(self.zone, node) => {
                    // An NSEC3 owner name holds no data: answer as if it did not exist
                    // (RFC 5155 §7.2.8); its closest encloser is its parent.
                    self.rcode = rcode::NXDOMAIN;
                    self.negative(w)?;
                    if self.dnssec {
                        let parent = 1 + usize::from(name.as_wire()[0]);
                        self.deny_name(w, &name, parent)?;
                    }
                    return Ok(());
                }
                Find::Exact(node) => {
                    self.wildcard = None;
                    self.at_node(w, owner, &name, node, step, &mut next)?
                }
                Find::Wildcard { offset, source, .. } => {
                    self.wildcard = Some(offset);
                    if step == 0 {
                        (self.class, self.class_at) = (Class::Wildcard, offset);
                    }
                    self.at_node(w, owner, &name, source, step, &mut next)?
                }
                Find::NxDomain { offset, .. } => {
                    self.rcode = rcode::NXDOMAIN;
                    self.negative(w)?;
                    if self.dnssec {
                        self.deny_name(w, &name, offset)?;
                    }
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
        name: &Name,
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
                        self.signed(w, Section::Answer, owner, RecordType::DS, ds, node)
                            .map(|()| None)
                    }
                    None => {
                        self.negative(w)?;
                        self.deny_type(w, name, node).map(|()| None)
                    }
                };
            }
            if step == 0 {
                (self.class, self.class_at) = (Class::Referral, 0);
                self.referral(w, owner, name, node)?;
            }
            return Ok(None);
        }
        if self.qtype.0 == 255 {
            // One RRset, as RFC 8482 §4.1 suggests (and NSD does): the small, popular types
            // first, the large DNSSEC ones last; never NSEC3, nor RRSIG when signatures go
            // with each RRset anyway.
            let mut best: Option<(u8, RecordType, Rrset<'z>)> = None;
            for rrset in node.rrsets() {
                let (rtype, rrset) = rrset.map_err(|_| Full)?;
                let rank = match rtype {
                    RecordType::A
                    | RecordType::AAAA
                    | RecordType::SOA
                    | RecordType::MX
                    | RecordType::PTR => 0,
                    RecordType::NSEC3 => continue,
                    RecordType::RRSIG if self.dnssec => continue,
                    RecordType::DNSKEY | RecordType::RRSIG | RecordType::NSEC => 2,
                    _ => 1,
                };
                if best.as_ref().is_none_or(|(r, _, _)| rank < *r) {
                    best = Some((rank, rtype, rrset));
                }
            }
            match best {
                Some((_, rtype, rrset)) => {
                    self.signed(w, Section::Answer, owner, rtype, rrset, node)?;
                    self.positive = true;
                    self.prove_wildcard(name);
                }
                None => {
                    self.negative(w)?;
                    self.deny_type(w, name, node)?;
                }
            }
            return Ok(None);
        }
        if self.qtype == RecordType::NSEC3 {
            // NSEC3 records are not data of their owner names (RFC 5155 §7.2.8 leaves them
            // unanswered; NSD answers NODATA).
            self.negative(w)?;
            self.deny_type(w, name, node)?;
            return Ok(None);
        }
        if let Some(rrset) = node.rrset(self.qtype).map_err(|_| Full)? {
            if self.qtype == RecordType::RRSIG && self.dnssec {
                self.rrsigs(w, owner, rrset, node)?;
            } else {
                self.signed(w, Section::Answer, owner, self.qtype, rrset, node)?;
            }
            self.positive = true;
            self.prove_wildcard(name);
            self.answer_additional = Some(rrset);
            return Ok(None);
        }
        if let Some(cname) = node.rrset(RecordType::CNAME).map_err(|_| Full)? {
            self.signed(w, Section::Answer, owner, RecordType::CNAME, cname, node)?;
            self.prove_wildcard(name);
            let target = cname.records().next().and_then(Result::ok).ok_or(Full)?;
            next[..target.len()].copy_from_slice(target);
            return Ok(Some(target.len()));
        }
        self.negative(w)?;
        self.deny_type(w, name, node)?;
        Ok(None)
    }

    /// A referral: not authoritative, the cut's NS in authority, glue in additional. With
    /// DNSSEC, the DS RRset and its signatures, or the proof that there is none (RFC 4035
    /// §3.1.4).
    fn referral(
        &mut self,
        w: &mut Writer<'_>,
        cut_owner: &[u8],
        cut_name: &Name,
        cut: Node<'z>,
    ) -> Result<(), Full> {
        self.aa = false;
        let ns = cut.rrset(RecordType::NS).map_err(|_| Full)?.ok_or(Full)?;
        self.rrset(w, Section::Authority, cut_owner, RecordType::NS, ns)?;
        if self.dnssec {
            match cut.rrset(RecordType::DS).map_err(|_| Full)? {
                Some(ds) => {
                    self.signed(w, Section::Authority, cut_owner, RecordType::DS, ds, cut)?
                }
                None => self.deny_type(w, cut_name, cut)?,
            }
        }
        self.additional(w, RecordType::NS, ns, Some(cut_owner))
    }

    /// The zone's NS RRset in authority, with addresses for the name servers inside the zone
    /// (RFC 1034 §4.3.2 step 6 and §6.2's examples), when the answer did not already carry it.
    fn zone_ns(&mut self, w: &mut Writer<'_>) -> Result<(), Full> {
        let apex = self.view.apex_image().apex().map_err(|_| Full)?;
        let Some(ns) = apex.rrset(RecordType::NS).map_err(|_| Full)? else {
            return Ok(());
        };
        let origin = self.zone.origin().as_wire();
        self.signed(w, Section::Authority, origin, RecordType::NS, ns, apex)?;
        self.additional(w, RecordType::NS, ns, None)
    }

    /// The SOA for a negative answer, its TTL capped by the SOA minimum (RFC 2308 §3).
    fn negative(&mut self, w: &mut Writer<'_>) -> Result<(), Full> {
        self.class = match (self.rcode, self.class) {
            (rcode::NXDOMAIN, _) => Class::Nxdomain,
            // A wildcard's NODATA stays about its closest encloser.
            (_, Class::Wildcard) => Class::Wildcard,
            _ => Class::Nodata,
        };
        let apex = self.view.apex_image().apex().map_err(|_| Full)?;
        let soa = apex.rrset(RecordType::SOA).map_err(|_| Full)?.ok_or(Full)?;
        let rdata = soa.records().next().and_then(Result::ok).ok_or(Full)?;
        let ttl = soa.ttl().min(rdata::soa_minimum(rdata).unwrap_or(u32::MAX));
        let origin = self.zone.origin().as_wire();
        write_counted(w, Section::Authority, origin, RecordType::SOA, ttl, rdata)?;
        if self.dnssec {
            self.sigs(w, Section::Authority, origin, RecordType::SOA, ttl, apex)?;
        }
        Ok(())
    }

    /// Writes an RRset and, when DNSSEC is wanted, its signatures from `node`; all or nothing.
    fn signed(
        &mut self,
        w: &mut Writer<'_>,
        section: Section,
        owner: &[u8],
        rtype: RecordType,
        rrset: Rrset<'z>,
        node: Node<'z>,
    ) -> Result<(), Full> {
        let mark = w.mark();
        let before = w.len();
        self.rrset(w, section, owner, rtype, rrset)?;
        if self.dnssec
            && w.len() > before
            && let Err(full) = self.sigs(w, section, owner, rtype, rrset.ttl(), node)
        {
            w.rewind(mark);
            return Err(full);
        }
        Ok(())
    }

    /// The RRSIGs at `node` that cover `rtype`, with the TTL of the RRset they sign
    /// (RFC 4034 §3).
    fn sigs(
        &mut self,
        w: &mut Writer<'_>,
        section: Section,
        owner: &[u8],
        rtype: RecordType,
        ttl: u32,
        node: Node<'z>,
    ) -> Result<(), Full> {
        let Some(sigs) = node.rrset(RecordType::RRSIG).map_err(|_| Full)? else {
            return Ok(());
        };
        let covered = rtype.0.to_be_bytes();
        for rdata in sigs.records() {
            let rdata = rdata.map_err(|_| Full)?;
            if rdata.starts_with(&covered) {
                write_counted(w, section, owner, RecordType::RRSIG, ttl, rdata)?;
            }
        }
        Ok(())
    }

    /// Proof that `name` (which exists, or is a cut) has no RRset of the type asked for: its
    /// NSEC, or the NSEC3 that matches it (RFC 4035 §3.1.3.1, RFC 5155 §7.2.3–7.2.4). After a
    /// wildcard, the proof that the name itself does not exist comes first (§3.1.3.4, §7.2.5).
    fn deny_type(&mut self, w: &mut Writer<'_>, name: &Name, node: Node<'z>) -> Result<(), Full> {
        if !self.dnssec {
            return Ok(());
        }
        if let Some(ce) = self.wildcard {
            // `node` is the wildcard: deny the query name, then the type at `*.<ce>`.
            let mut star = [0u8; 257];
            let star = wildcard_of(&name.as_wire()[ce..], &mut star).ok_or(Full)?;
            return match self.nsec3 {
                None => {
                    self.nsec_for(w, name)?;
                    self.nsec_for(w, &star)
                }
                Some(params) => {
                    self.closest_provable(w, name.as_wire(), params)?;
                    self.nsec3_matching(w, star.as_wire(), params).map(|_| ())
                }
            };
        }
        match self.nsec3 {
            None if node.is_empty_non_terminal() => self.nsec_for(w, name),
            None => match node.rrset(RecordType::NSEC).map_err(|_| Full)? {
                Some(nsec) => self.signed(
                    w,
                    Section::Authority,
                    name.as_wire(),
                    RecordType::NSEC,
                    nsec,
                    node,
                ),
                None => self.nsec_for(w, name),
            },
            Some(params) => self.closest_provable(w, name.as_wire(), params).map(|_| ()),
        }
    }

    /// Proof that `name` does not exist, nor the wildcard at its closest encloser (which
    /// starts at `ce` in the name): RFC 4035 §3.1.3.2, RFC 5155 §7.2.2.
    fn deny_name(&mut self, w: &mut Writer<'_>, name: &Name, ce: usize) -> Result<(), Full> {
        let mut star = [0u8; 257];
        match self.nsec3 {
            None => {
                self.nsec_for(w, name)?;
                let star = wildcard_of(&name.as_wire()[ce..], &mut star).ok_or(Full)?;
                self.nsec_for(w, &star)
            }
            Some(params) => {
                let ce = self
                    .closest_provable(w, name.as_wire(), params)?
                    .unwrap_or(ce);
                let star = wildcard_of(&name.as_wire()[ce..], &mut star).ok_or(Full)?;
                self.nsec3_covering(w, star.as_wire(), params)
            }
        }
    }

    /// After an answer synthesized from a wildcard: notes that the proof that the query name
    /// itself does not exist is due (RFC 4035 §3.1.3.3, RFC 5155 §7.2.6).
    fn prove_wildcard(&mut self, name: &Name) {
        let (true, Some(ce)) = (self.dnssec, self.wildcard) else {
            return;
        };
        if let Some(slot) = self.wildcard_proofs.iter_mut().find(|p| p.is_none()) {
            *slot = Some((name.clone(), ce));
        }
    }

    /// Writes the proofs noted by [`Lookup::prove_wildcard`].
    fn flush_wildcard_proofs(&mut self, w: &mut Writer<'_>) -> Result<(), Full> {
        for i in 0..self.wildcard_proofs.len() {
            let Some((name, ce)) = self.wildcard_proofs[i].take() else {
                break;
            };
            match self.nsec3 {
                None => self.nsec_for(w, &name)?,
                Some(params) => {
                    let next_closer = next_closer(name.as_wire(), ce);
                    self.nsec3_covering(w, &name.as_wire()[next_closer..], params)?;
                }
            }
        }
        Ok(())
    }

    /// An answer to a query for RRSIG: each signature with the TTL of the RRset it covers.
    fn rrsigs(
        &mut self,
        w: &mut Writer<'_>,
        owner: &[u8],
        sigs: Rrset<'z>,
        node: Node<'z>,
    ) -> Result<(), Full> {
        let mark = w.mark();
        for rdata in sigs.records() {
            let rdata = rdata.map_err(|_| Full)?;
            let Some(&[c0, c1]) = rdata.get(..2) else {
                continue;
            };
            let covered = RecordType(u16::from_be_bytes([c0, c1]));
            let ttl = match node.rrset(covered).map_err(|_| Full)? {
                Some(rrset) => rrset.ttl(),
                None => sigs.ttl(),
            };
            if let Err(full) =
                write_counted(w, Section::Answer, owner, RecordType::RRSIG, ttl, rdata)
            {
                w.rewind(mark);
                return Err(full);
            }
        }
        Ok(())
    }

    /// The NSEC at or before `name` in canonical order, signed, in authority.
    fn nsec_for(&mut self, w: &mut Writer<'_>, name: &Name) -> Result<(), Full> {
        let Some((owner, node)) = self.zone.nsec_covering(name).map_err(|_| Full)? else {
            return Ok(());
        };
        let Some(nsec) = node.rrset(RecordType::NSEC).map_err(|_| Full)? else {
            return Ok(());
        };
        self.signed(
            w,
            Section::Authority,
            owner.as_wire(),
            RecordType::NSEC,
            nsec,
            node,
        )
    }

    /// The closest provable encloser proof for `wire` (RFC 5155 §7.2.1): the NSEC3 matching
    /// the deepest ancestor that has one and, below it, the NSEC3 covering the next closer
    /// name. Returns where that encloser starts in `wire`.
    fn closest_provable(
        &mut self,
        w: &mut Writer<'_>,
        wire: &[u8],
        params: Nsec3Params<'z>,
    ) -> Result<Option<usize>, Full> {
        let origin_len = self.zone.origin().as_wire().len();
        let mut below: Option<usize> = None;
        let mut at = 0;
        loop {
            if self.nsec3_matching(w, &wire[at..], params)? {
                if let Some(next) = below {
                    self.nsec3_covering(w, &wire[next..], params)?;
                }
                return Ok(Some(at));
            }
            if wire.len() - at <= origin_len {
                return Ok(None);
            }
            below = Some(at);
            at += 1 + usize::from(wire[at]);
        }
    }

    /// Writes the NSEC3 whose owner is the hash of `wire`, if there is one.
    fn nsec3_matching(
        &mut self,
        w: &mut Writer<'_>,
        wire: &[u8],
        params: Nsec3Params<'z>,
    ) -> Result<bool, Full> {
        let hash = params.hash(wire);
        let Some((owner, node)) = self.zone.nsec3_matching(&hash).map_err(|_| Full)? else {
            return Ok(false);
        };
        self.nsec3_record(w, &owner, node)?;
        Ok(true)
    }

    /// Writes the NSEC3 that covers the hash of `wire`.
    fn nsec3_covering(
        &mut self,
        w: &mut Writer<'_>,
        wire: &[u8],
        params: Nsec3Params<'z>,
    ) -> Result<(), Full> {
        let hash = params.hash(wire);
        match self.zone.nsec3_covering(&hash).map_err(|_| Full)? {
            Some((owner, node)) => self.nsec3_record(w, &owner, node),
            None => Ok(()),
        }
    }

    fn nsec3_record(
        &mut self,
        w: &mut Writer<'_>,
        owner: &Name,
        node: Node<'z>,
    ) -> Result<(), Full> {
        let nsec3 = node
            .rrset(RecordType::NSEC3)
            .map_err(|_| Full)?
            .ok_or(Full)?;
        self.signed(
            w,
            Section::Authority,
            owner.as_wire(),
            RecordType::NSEC3,
            nsec3,
            node,
        )
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
        let mut stored: [Option<Addresses<'z>>; 64] = [None; 64];
        for entry in rrset.additionals() {
            if let Ok((index, a, aaaa)) = entry
                && let Some(slot) = stored.get_mut(index)
            {
                *slot = Some((a, aaaa));
            }
        }
        // Data from the base image pointing into a subtree changed since: the overlay has the
        // addresses as they are now.
        let rebased = self.view.has_overlay() && std::ptr::eq(rrset.image(), &**self.view.base());
        for (index, rdata) in records.iter().enumerate() {
            let Some(rdata) = rdata else { continue };
            let Some(target) = rdata::name_field_wire(rtype, rdata, field) else {
                continue;
            };
            let changed = rebased.then(|| self.view.overlay_for(target)).flatten();
            let (a, aaaa) = match changed {
                Some(overlay) => overlay_addresses(overlay, target),
                None => match stored[index] {
                    Some(addresses) => addresses,
                    None => continue,
                },
            };
            // Authoritative addresses are signed; glue below a cut is not (RFC 4035 §3.1.1).
            let signer = match self.dnssec {
                true => Name::from_wire(target)
                    .ok()
                    .and_then(|(name, _)| self.zone.node(&name).ok().flatten())
                    .filter(|node| !node.is_occluded()),
                false => None,
            };
            for (atype, addresses) in [(RecordType::A, a), (RecordType::AAAA, aaaa)] {
                let Some(addresses) = addresses else { continue };
                let before = w.len();
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
                if let Some(node) = signer.filter(|_| w.len() > before) {
                    let mark = w.mark();
                    let ttl = addresses.ttl();
                    if self
                        .sigs(w, Section::Additional, target, atype, ttl, node)
                        .is_err()
                    {
                        // The addresses may stay without their signatures (§3.1.1).
                        w.rewind(mark);
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }
}

/// The A and AAAA RRsets of a name.
type Addresses<'z> = (Option<Rrset<'z>>, Option<Rrset<'z>>);

/// The addresses of `target` in the overlay image.
fn overlay_addresses<'z>(overlay: &'z Image, target: &[u8]) -> Addresses<'z> {
    let Some(node) = Name::from_wire(target)
        .ok()
        .and_then(|(name, _)| overlay.node(&name).ok().flatten())
    else {
        return (None, None);
    };
    (
        node.rrset(RecordType::A).ok().flatten(),
        node.rrset(RecordType::AAAA).ok().flatten(),
    )
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

/// True for a node of a signed zone that holds only an NSEC3 record and its signatures.
fn is_nsec3_only(zone: &Image, node: Node<'_>) -> bool {
    zone.is_signed()
        && node.types().is_ok_and(|mut types| {
            let mut nsec3 = false;
            let only = types.all(|t| {
                nsec3 |= t == RecordType::NSEC3;
                t == RecordType::NSEC3 || t == RecordType::RRSIG
            });
            only && nsec3
        })
}

/// `*.` followed by the wire name `parent`, as a name; `None` if too long.
fn wildcard_of(parent: &[u8], buf: &mut [u8; 257]) -> Option<Name> {
    buf[0] = 1;
    buf[1] = b'*';
    buf[2..2 + parent.len()].copy_from_slice(parent);
    Name::from_wire(&buf[..2 + parent.len()])
        .ok()
        .map(|(name, _)| name)
}

/// Where the next closer name (RFC 5155 §1.3: the closest encloser with one more label of
/// the query name) starts in `wire`, given where the closest encloser starts.
fn next_closer(wire: &[u8], ce: usize) -> usize {
    let mut at = 0;
    loop {
        let next = at + 1 + usize::from(wire[at]);
        if next >= ce {
            return at;
        }
        at = next;
    }
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
pub(crate) fn write_record(
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
