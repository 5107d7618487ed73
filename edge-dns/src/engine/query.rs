//! Reading a query (RFC 1035 §4.1.1–4.1.2, RFC 6891 §6 for the OPT record).

use zonefiles::name::MAX_NAME_LEN;

use super::cookie::Cookie;

/// The parts of a query the engine answers from.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// Message id.
    pub id: u16,
    /// The flags word (opcode, RD, CD…).
    pub flags: u16,
    /// The query name as sent (case preserved), uncompressed wire format; empty when the
    /// query has no question (allowed only to ask for a server cookie, RFC 7873 §5.4).
    pub qname: &'a [u8],
    /// The query type.
    pub qtype: u16,
    /// The query class.
    pub qclass: u16,
    /// The question's bytes, to copy into the response.
    pub question: &'a [u8],
    /// The OPT record, if any.
    pub edns: Option<Edns>,
    /// The last additional record is a TSIG (RFC 8945).
    pub tsig: bool,
}

/// What the client's OPT record says (RFC 6891 §6.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edns {
    /// The requestor's UDP payload size.
    pub udp_size: u16,
    /// The EDNS version.
    pub version: u8,
    /// The DO bit (RFC 3225).
    pub dnssec_ok: bool,
    /// An NSID option was present (RFC 5001).
    pub nsid: bool,
    /// The first COOKIE option (RFC 7873 §5.2).
    pub cookie: Option<Cookie>,
}

/// Why a query is not answered normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// Not even a header: drop silently.
    NoHeader,
    /// A response, not a query: drop silently (never answer answers).
    Response,
    /// The header reads but the rest does not: FORMERR.
    FormErr,
}

const MAX_OPTIONS: usize = 16;

/// Reads a query: one question, or none (the caller answers that only with a cookie).
pub fn parse(msg: &[u8]) -> Result<Query<'_>, (Malformed, u16, u16)> {
    if msg.len() < 12 {
        return Err((Malformed::NoHeader, 0, 0));
    }
    let id = u16::from_be_bytes([msg[0], msg[1]]);
    let flags = u16::from_be_bytes([msg[2], msg[3]]);
    let formerr = (Malformed::FormErr, id, flags);
    if flags & 0x8000 != 0 {
        return Err((Malformed::Response, id, flags));
    }
    let count = |i: usize| u16::from_be_bytes([msg[4 + 2 * i], msg[5 + 2 * i]]);
    let (qdcount, ancount, nscount, arcount) = (count(0), count(1), count(2), count(3));
    if qdcount > 1 || ancount != 0 || nscount > 0 && (flags >> 11) & 0xF == 0 {
        return Err(formerr);
    }
    let mut at = 12;
    if qdcount == 1 {
        at = question_name_end(msg).ok_or(formerr)?;
    }
    let qname = &msg[12..at];
    let (mut qtype, mut qclass) = (0, 0);
    if qdcount == 1 {
        let fixed = msg.get(at..at + 4).ok_or(formerr)?;
        qtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        qclass = u16::from_be_bytes([fixed[2], fixed[3]]);
        at += 4;
    }
    let question = &msg[12..at];
    let mut edns = None;
    let mut tsig = false;
    for _ in 0..nscount {
        at = skip_record(msg, at).ok_or(formerr)?.1;
    }
    for _ in 0..arcount {
        let (rtype, next) = skip_record(msg, at).ok_or(formerr)?;
        // A TSIG record anywhere but last is FORMERR (RFC 8945 §5.1).
        if tsig {
            return Err(formerr);
        }
        if rtype == 41 {
            // One OPT, owned by the root (RFC 6891 §6.1.1).
            if edns.is_some() || msg[at] != 0 {
                return Err(formerr);
            }
            edns = Some(read_opt(&msg[at + 1..next]).ok_or(formerr)?);
        }
        tsig = rtype == 250;
        at = next;
    }
    // Bytes after the last record are not a DNS message (FORMERR, as NSD and Knot answer).
    if at != msg.len() {
        return Err(formerr);
    }
    Ok(Query {
        id,
        flags,
        qname,
        qtype,
        qclass,
        question,
        edns,
        tsig,
    })
}

/// What kind of request a message is, for the I/O layer to route it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An ordinary query (or something the engine answers with an error, or drops).
    Query,
    /// A zone transfer request (AXFR or IXFR).
    Transfer,
    /// A NOTIFY (RFC 1996).
    Notify,
    /// A query signed with TSIG.
    Signed,
}

/// Classifies a message without answering it: transfers, NOTIFY and signed requests take
/// their own path; everything else goes to [`super::answer`].
pub fn classify(msg: &[u8]) -> Kind {
    if msg.len() < 12 || msg[2] & 0x80 != 0 {
        return Kind::Query;
    }
    if (msg[2] >> 3) & 0xF == 4 {
        return Kind::Notify;
    }
    let count = |i: usize| u16::from_be_bytes([msg[4 + 2 * i], msg[5 + 2 * i]]);
    if count(0) != 1 {
        return Kind::Query;
    }
    let Some(mut at) = question_name_end(msg) else {
        return Kind::Query;
    };
    let Some(fixed) = msg.get(at..at + 4) else {
        return Kind::Query;
    };
    let qtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    at += 4;
    let transfer = msg[2] & 0x78 == 0 && matches!(qtype, 251 | 252);
    // The common query: nothing after the question but, perhaps, an OPT record (owned by
    // the root, type 41), which is all a glance needs.
    if count(1) == 0 && count(2) == 0 && count(3) <= 1 && !transfer {
        let opt_or_nothing = count(3) == 0 || msg.get(at..at + 3) == Some(&[0, 0, 41]);
        if opt_or_nothing {
            return Kind::Query;
        }
    }
    // A TSIG record is the last of the message (RFC 8945 §5.1).
    let records = u32::from(count(1)) + u32::from(count(2)) + u32::from(count(3));
    let mut last = 0;
    for _ in 0..records {
        let Some((rtype, next)) = skip_record(msg, at) else {
            return Kind::Query;
        };
        last = rtype;
        at = next;
    }
    if count(3) > 0 && last == 250 {
        Kind::Signed
    } else if transfer {
        Kind::Transfer
    } else {
        Kind::Query
    }
}

/// Where the question name ends: plain labels only (a pointer in a question is not accepted),
/// no longer than a name may be.
pub(super) fn question_name_end(msg: &[u8]) -> Option<usize> {
    let mut at = 12;
    loop {
        let len = *msg.get(at)? as usize;
        if len == 0 {
            return Some(at + 1);
        }
        if len > 63 {
            return None;
        }
        at += 1 + len;
        if at - 12 >= MAX_NAME_LEN {
            return None;
        }
    }
}

/// Skips one resource record; returns its type and where the next begins.
pub(super) fn skip_record(msg: &[u8], mut at: usize) -> Option<(u16, usize)> {
    loop {
        let len = *msg.get(at)? as usize;
        match len {
            0 => {
                at += 1;
                break;
            }
            0xC0..=0xFF => {
                msg.get(at + 1)?;
                at += 2;
                break;
            }
            64..=0xBF => return None,
            _ => at += 1 + len,
        }
    }
    let fixed = msg.get(at..at + 10)?;
    let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    let rdlen = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
    let end = at + 10 + rdlen;
    (end <= msg.len()).then_some((rtype, end))
}

/// Reads an OPT record after its owner: type, class (UDP size), TTL (extended RCODE, version,
/// flags), rdata (options).
fn read_opt(rr: &[u8]) -> Option<Edns> {
    let udp_size = u16::from_be_bytes([rr[2], rr[3]]);
    let version = rr[5];
    let dnssec_ok = rr[6] & 0x80 != 0;
    let mut options = &rr[10..];
    let mut nsid = false;
    let mut cookie = None;
    let mut seen = 0;
    while !options.is_empty() {
        let [c0, c1, l0, l1, rest @ ..] = options else {
            return None;
        };
        let len = u16::from_be_bytes([*l0, *l1]) as usize;
        if rest.len() < len || seen == MAX_OPTIONS {
            return None;
        }
        seen += 1;
        match u16::from_be_bytes([*c0, *c1]) {
            3 => nsid = true,
            // Only the first COOKIE counts; a malformed one is FORMERR (RFC 7873 §5.2.2).
            10 if cookie.is_none() => cookie = Some(Cookie::read(&rest[..len])?),
            _ => {}
        }
        options = &rest[len..];
    }
    Some(Edns {
        udp_size,
        version,
        dnssec_ok,
        nsid,
        cookie,
    })
}
