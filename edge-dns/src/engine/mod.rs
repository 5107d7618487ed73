//! The answer engine: query bytes and zone images in, response bytes out (RFC 1034 §4.3.2).
//!
//! [`answer`] is a pure function: no I/O, no clock, no allocation for names up to 30 octets
//! (the query name is lower-cased into an inline [`Name`]). The caller owns the buffer; the
//! response is built in place, section by section. Truncation (RFC 1035 §4.2.1, RFC 9471)
//! never cuts an RRset: when the answer or authority section does not fit, the response
//! keeps only its question (and OPT) and sets TC; additional data that does not fit is left
//! out, unless it is glue a referral needs, which sets TC too.
//!
//! # Call order
//!
//! [`respond`] parses the query ([`classify`] has already sent transfers, NOTIFY and signed
//! requests elsewhere), writes the header and question, answers what needs no zone (errors,
//! BADVERS, CHAOS identity: `chaos`) and selects the zone. A `Lookup` then writes the
//! sections in order: the answer while resolving the name through CNAMEs and DNAMEs
//! (`lookup`), negative answers' SOA and denial proofs (`denial`), the zone's NS in
//! authority, and additional data (`additional`); every record goes through
//! `records`, which writes an RRset whole or not at all. The look-up's outcome (RCODE, AA,
//! TC, what the response is about) is one `lookup::AnswerState`; finally the OPT record
//! goes in, in room reserved for it from the start.
//!
//! # Damaged images
//!
//! An image opened trusted (header only, index checked in the background) may hold bytes that
//! do not read. Such a read stops the look-up with `lookup::Stop::Damaged`: the response is
//! SERVFAIL (never a truncated or partial answer), its [`Source`] says
//! [`ResponseKind::Damaged`] (the servers count it), and the zone is marked damaged so that
//! the follower withdraws it at its next poll ([`crate::follow`]).

mod additional;
mod chaos;
mod cookie;
mod denial;
mod lookup;
pub(crate) mod message;
mod query;
mod records;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::sync::Arc;

use crate::view::View;

pub use cookie::Secrets as CookieSecrets;

use lookup::{AnswerState, Lookup};
use message::{Full, Section, Writer};
pub use query::{Edns, Kind, Malformed, Query, classify};
pub(crate) use records::Stop;
pub(crate) use records::{write_after_owner, write_record};
use zonefiles::image::{Ahead, Image};
use zonefiles::{Name, RecordType};

/// Response codes (RFC 1035 §4.1.1, RFC 6891 §9).
pub(crate) mod rcode {
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
/// The last of the meta query types answered NOTIMP (RFC 1035 §3.2.3: MAILA).
const MAILA: u16 = 254;

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
    pub kind: ResponseKind,
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
pub enum ResponseKind {
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
    /// SERVFAIL: the zone's image could not be read; about nothing but the client.
    Damaged,
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

/// Starts the look-up of a query before it is answered ([`zonefiles::image::Ahead`]): the UDP
/// path starts one for each query of a batch and advances them together, so the answers find
/// what they read in the cache. `None` when the message names nothing in a served zone.
pub fn ahead<'a>(msg: &[u8], zones: &'a Zones) -> Option<Ahead<'a>> {
    let (qname, _) = Name::from_wire(msg.get(12..)?).ok()?;
    let view = zones.select(&qname)?;
    Some(view.image_for(qname.as_wire()).ahead(&qname))
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
                kind: ResponseKind::Error,
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
    let about = |kind: ResponseKind, name_at: usize| Source {
        kind,
        qtype: query.qtype,
        name: match kind {
            ResponseKind::Error | ResponseKind::Damaged => 12..12,
            _ => 12 + name_at..qname_end,
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
    let error = || about(ResponseKind::Error, 0);
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
        (_, t) if t == RecordType::OPT.0 || t == RecordType::TSIG.0 => {
            return done(w, rcode::FORMERR, 0, error());
        }
        (CLASS_CH, _) => {
            let rcode = chaos::chaos(&mut w, &query, config);
            let kind = if rcode == rcode::NOERROR {
                ResponseKind::Answer
            } else {
                ResponseKind::Error
            };
            return done(w, rcode, 0, about(kind, 0));
        }
        // IXFR, AXFR (transfers are served over TCP by the transfer path), MAILB, MAILA.
        (CLASS_IN | CLASS_ANY, t) if (RecordType::IXFR.0..=MAILA).contains(&t) => {
            return done(w, rcode::NOTIMP, 0, error());
        }
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
    let after_question = w.mark();
    // DNSSEC records go out only to clients that ask (RFC 3225) and only from signed zones.
    let dnssec = query.edns.is_some_and(|e| e.dnssec_ok);
    let qtype = RecordType(query.qtype);
    // A query of class ANY gets no NS in authority.
    let minimal = config.minimal_responses || query.qclass == CLASS_ANY;
    let state = match Lookup::new(view, &qname, qtype, dnssec) {
        Ok(mut lookup) => {
            let outcome = lookup.run(&mut w, query.qname, qname, minimal);
            finish(&mut w, after_question, lookup.state, outcome)
        }
        Err(stop) => finish(&mut w, after_question, AnswerState::default(), Err(stop)),
    };
    if state.kind == ResponseKind::Damaged {
        view.mark_damaged();
    }
    let mut flags = flags;
    if state.authoritative {
        flags |= AA;
    }
    if state.truncated {
        flags |= TC;
    }
    w.set_flags(flags);
    let source = match state.kind {
        ResponseKind::Nxdomain | ResponseKind::Nodata => about(
            state.kind,
            query.qname.len() - view.origin().as_wire().len(),
        ),
        ResponseKind::Damaged => about(ResponseKind::Damaged, 0),
        _ if state.rcode != rcode::NOERROR => error(),
        kind => about(kind, state.about),
    };
    done(w, state.rcode, 0, source)
}

/// The look-up's outcome. Stopped early, the response keeps its question alone: truncated
/// (NOERROR, TC) when an answer or authority RRset did not fit, SERVFAIL when the image could
/// not be read.
fn finish(
    w: &mut Writer<'_>,
    after_question: message::Mark,
    mut state: AnswerState,
    outcome: Result<(), Stop>,
) -> AnswerState {
    match outcome {
        Ok(()) => return state,
        Err(Stop::Full) => {
            state.truncated = true;
            state.rcode = rcode::NOERROR;
        }
        Err(Stop::Damaged) => {
            state = AnswerState {
                rcode: rcode::SERVFAIL,
                authoritative: false,
                kind: ResponseKind::Damaged,
                ..AnswerState::default()
            };
        }
    }
    w.rewind(after_question);
    state
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

/// True if wire name `name` is at or below wire name `ancestor` (case-insensitive).
fn is_below(name: &[u8], ancestor: &[u8]) -> bool {
    name.len() >= ancestor.len()
        && name[name.len() - ancestor.len()..].eq_ignore_ascii_case(ancestor)
}
