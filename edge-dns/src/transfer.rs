//! Zone transfers out: AXFR (RFC 5936) and IXFR (RFC 1995), as a sequence of DNS messages.
//!
//! Sans-IO: [`plan`] decides what a request gets from the zone's state, and [`produce`]
//! writes the messages one by one into a callback (the TCP path signs each with TSIG and sends
//! it; backpressure comes from the callback blocking). Messages are up to 16 KiB, so name
//! compression (whose pointers reach 16 KiB) works through all of each message.
//!
//! - AXFR: the SOA, every other record of the zone in canonical order, the SOA again.
//! - IXFR from serial n: the current SOA, then per changeset the old SOA, the records removed,
//!   the new SOA and the records added, then the current SOA (RFC 1995 §4). A client already at
//!   the current serial (or newer) gets the current SOA alone; one the journal no longer reaches
//!   gets the whole zone in AXFR form.

use std::net::IpAddr;
use std::sync::Arc;

use zonefiles::changeset::Changeset;
use zonefiles::image::{ImageError, Node};
use zonefiles::{Name, RecordType, serial};

use crate::acl::Prefix;
use crate::config::ZoneConfig;
use crate::engine::message::{Section, Writer};
use crate::engine::{Stop, write_after_owner, write_record};
use crate::view::View;

/// The largest transfer message.
pub const MESSAGE_MAX: usize = 16 * 1024;

/// What a transfer request asks for.
#[derive(Debug, Clone)]
pub struct Request {
    /// Message id.
    pub id: u16,
    /// The zone.
    pub zone: Name,
    /// The question as sent (name in the client's case, type, class).
    pub question: Vec<u8>,
    /// AXFR (252) or IXFR (251).
    pub qtype: u16,
    /// For IXFR, the serial the client has (the SOA in the authority section).
    pub client_serial: Option<u32>,
}

/// What a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// The whole zone.
    Axfr,
    /// The changesets from this index of the history on.
    Ixfr(usize),
    /// The client is up to date: the current SOA alone.
    UpToDate,
}

/// Reads a transfer request (`message` is the request parsed by hickory-proto).
pub fn request(message: &hickory_proto::op::Message, bytes: &[u8]) -> Option<Request> {
    let query = message.queries.first()?;
    let zone: Name = query.name().to_ascii().parse().ok()?;
    let qtype = u16::from(query.query_type());
    // The question's bytes, as sent: it follows the header and is never compressed.
    let end = 12 + name_len(&bytes[12..])? + 4;
    let question = bytes.get(12..end)?.to_vec();
    let client_serial = message.authorities.iter().find_map(|r| match &r.data {
        hickory_proto::rr::RData::SOA(soa) => Some(soa.serial),
        _ => None,
    });
    Some(Request {
        id: message.metadata.id,
        zone,
        question,
        qtype,
        client_serial,
    })
}

fn name_len(wire: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let len = usize::from(*wire.get(at)?);
        if len == 0 {
            return Some(at + 1);
        }
        if len > 63 {
            return None;
        }
        at += 1 + len;
    }
}

/// True if the zone's rules allow this client (address, and the key the request was signed
/// with, if any) to transfer it.
pub fn allowed(config: &ZoneConfig, client: IpAddr, key: Option<&str>) -> bool {
    config.allow_transfer.iter().any(|rule| {
        let key_ok = match (&rule.key, key) {
            (Some(wanted), Some(used)) => wanted
                .trim_end_matches('.')
                .eq_ignore_ascii_case(used.trim_end_matches('.')),
            (Some(_), None) => false,
            (None, _) => true,
        };
        let from_ok = rule.from.is_empty()
            || rule
                .from
                .iter()
                .filter_map(|p| Prefix::parse(p).ok())
                .any(|p| p.contains(client));
        key_ok && from_ok
    })
}

/// Decides what an IXFR or AXFR request gets from a zone served as `view` with `history`.
pub fn plan(request: &Request, view: &View, history: &[Arc<Changeset>]) -> Plan {
    if request.qtype == 252 {
        return Plan::Axfr;
    }
    let Some(client) = request.client_serial else {
        return Plan::Axfr;
    };
    let current = view.serial();
    if client == current || serial::compare(client, current) == Some(std::cmp::Ordering::Greater) {
        return Plan::UpToDate;
    }
    // The history ends at the current serial; find where the client's serial starts.
    match history.iter().position(|c| c.from_serial() == client) {
        Some(i) if history.last().map(|c| c.to_serial()) == Some(current) => Plan::Ixfr(i),
        _ => Plan::Axfr,
    }
}

/// Why a transfer stopped.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The image could not be read.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// A record in the image does not read.
    #[error("the zone image holds a record that does not read")]
    Damaged,
    /// A record larger than a message.
    #[error("a record does not fit in a transfer message")]
    TooLarge,
    /// The receiver went away.
    #[error("the client went away")]
    Closed,
}

/// Writes the messages of a transfer, handing each (unsigned) to `emit`.
pub fn produce(
    request: &Request,
    plan: Plan,
    view: &View,
    history: &[Arc<Changeset>],
    emit: &mut dyn FnMut(Vec<u8>) -> Result<(), TransferError>,
) -> Result<(), TransferError> {
    let mut buf = vec![0u8; MESSAGE_MAX];
    let mut out = Messages {
        w: Writer::new(&mut buf, MESSAGE_MAX),
        emit,
        owner_at: None,
    };
    // QR, AA, opcode QUERY.
    out.w.header(request.id, 0x8400);
    out.w
        .bytes(&request.question)
        .map_err(|_| TransferError::TooLarge)?;
    out.w.count(Section::Question);
    let apex = view.apex_image().apex()?;
    let soa_set = apex.rrset(RecordType::SOA)?.ok_or(ImageError::Corrupt(0))?;
    let soa = soa_set.records().next().ok_or(ImageError::Corrupt(0))??;
    let origin = view.origin().as_wire();
    let soa_ttl = soa_set.ttl();
    out.record(origin, RecordType::SOA, soa_ttl, soa)?;
    match plan {
        Plan::UpToDate => {}
        Plan::Axfr => {
            let mut failed = None;
            let walked = view.for_each_node(|name, node| {
                out.node(name, node).map_err(|error| {
                    failed = Some(error);
                    ImageError::Corrupt(0)
                })
            });
            if let Some(error) = failed {
                return Err(error);
            }
            walked?;
            out.record(origin, RecordType::SOA, soa_ttl, soa)?;
        }
        Plan::Ixfr(from) => {
            for changeset in &history[from..] {
                let (old, new) = (&changeset.old_soa, &changeset.new_soa);
                out.record(old.owner.as_wire(), RecordType::SOA, old.ttl, &old.rdata)?;
                for r in &changeset.removed {
                    out.record(r.owner.as_wire(), r.rtype, r.ttl, &r.rdata)?;
                }
                out.record(new.owner.as_wire(), RecordType::SOA, new.ttl, &new.rdata)?;
                for r in &changeset.added {
                    out.record(r.owner.as_wire(), r.rtype, r.ttl, &r.rdata)?;
                }
            }
            out.record(origin, RecordType::SOA, soa_ttl, soa)?;
        }
    }
    out.finish()
}

struct Messages<'a, 'e> {
    w: Writer<'a>,
    emit: &'e mut dyn FnMut(Vec<u8>) -> Result<(), TransferError>,
    /// Where the owner of the node being written starts in the current message: its other
    /// records point there without hashing the name again (most of a TLD's records share an
    /// owner with the one before).
    owner_at: Option<u16>,
}

impl Messages<'_, '_> {
    /// Adds one record, starting a new message when this one is full.
    fn record(
        &mut self,
        owner: &[u8],
        rtype: RecordType,
        ttl: u32,
        rdata: &[u8],
    ) -> Result<(), TransferError> {
        self.owner_at = None;
        self.node_record(owner, rtype, ttl, rdata)
    }

    /// Adds one record of the node being written (see [`Messages::owner_at`]).
    fn node_record(
        &mut self,
        owner: &[u8],
        rtype: RecordType,
        ttl: u32,
        rdata: &[u8],
    ) -> Result<(), TransferError> {
        for _ in 0..2 {
            let mark = self.w.mark();
            let start = self.w.len();
            let written = match self.owner_at {
                Some(at) => self
                    .w
                    .u16(0xC000 | at)
                    .map_err(Stop::from)
                    .and_then(|()| write_after_owner(&mut self.w, rtype, ttl, rdata)),
                None => write_record(&mut self.w, owner, rtype, ttl, rdata),
            };
            match written {
                Ok(()) => {
                    if self.owner_at.is_none() && start < 0x4000 {
                        self.owner_at = Some(start as u16);
                    }
                    self.w.count(Section::Answer);
                    return Ok(());
                }
                Err(Stop::Damaged) => return Err(TransferError::Damaged),
                Err(Stop::Full) => {
                    self.w.rewind(mark);
                    if self.w.counted(Section::Answer) == 0 {
                        return Err(TransferError::TooLarge);
                    }
                    self.flush()?;
                    self.owner_at = None;
                }
            }
        }
        Err(TransferError::TooLarge)
    }

    /// Every record of a node but the SOA (which opens and closes the transfer). An RRSIG
    /// goes out with the TTL of the RRset it covers (RFC 4034 §3).
    fn node(&mut self, name: &Name, node: Node<'_>) -> Result<(), TransferError> {
        self.owner_at = None;
        for rrset in node.rrsets() {
            let (rtype, rrset) = rrset?;
            if rtype == RecordType::SOA && node.is_apex() {
                continue;
            }
            for rdata in rrset.records() {
                let rdata = rdata?;
                let mut ttl = rrset.ttl();
                if rtype == RecordType::RRSIG
                    && let Some(&[c0, c1]) = rdata.get(..2)
                    && let Some(covered) = node.rrset(RecordType(u16::from_be_bytes([c0, c1])))?
                {
                    ttl = covered.ttl();
                }
                self.node_record(name.as_wire(), rtype, ttl, rdata)?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), TransferError> {
        let mut message = Vec::with_capacity(MESSAGE_MAX + 256);
        self.w.flush_into(&mut message);
        (self.emit)(message)
    }

    fn finish(mut self) -> Result<(), TransferError> {
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Message;
    use zonefiles::master::{self, ParseOptions};
    use zonefiles::{Class, Zone, changeset, image};

    fn zone(serial: u32, extra: &str) -> Zone {
        let text = format!(
            "tld. 300 IN SOA a.nic.tld. h.tld. {serial} 2 3 4 5\ntld. 300 IN NS a.nic.tld.\n\
             a.nic.tld. 300 IN A 192.0.2.1\n{extra}"
        );
        let records = master::parse_bytes("t", text.as_bytes(), ParseOptions::default()).unwrap();
        Zone::from_records(None, Class::IN, records).0
    }

    fn image_of(zone: &Zone) -> View {
        let image = zonefiles::image::Image::from_bytes(image::compile(zone, |_| {}).unwrap().0);
        View::plain(std::sync::Arc::new(image.unwrap()))
    }

    fn request(qtype: u16, client_serial: Option<u32>) -> Request {
        let mut question = b"\x03tld\x00".to_vec();
        question.extend_from_slice(&qtype.to_be_bytes());
        question.extend_from_slice(&1u16.to_be_bytes());
        Request {
            id: 9,
            zone: "tld.".parse().unwrap(),
            question,
            qtype,
            client_serial,
        }
    }

    fn records(messages: &[Vec<u8>]) -> Vec<String> {
        messages
            .iter()
            .flat_map(|m| Message::from_vec(m).unwrap().answers)
            .map(|r| r.to_string())
            .collect()
    }

    fn run(
        request: &Request,
        plan: Plan,
        image: &View,
        history: &[Arc<Changeset>],
    ) -> Vec<Vec<u8>> {
        let mut messages = Vec::new();
        produce(request, plan, image, history, &mut |m| {
            messages.push(m);
            Ok(())
        })
        .unwrap();
        messages
    }

    #[test]
    fn axfr_streams_the_zone_between_two_soas_in_many_messages() {
        let mut extra = String::new();
        for i in 0..3000 {
            extra.push_str(&format!("d{i}.tld. 300 IN NS ns{}.example.net.\n", i % 7));
        }
        let zone = zone(7, &extra);
        let image = image_of(&zone);
        let messages = run(&request(252, None), Plan::Axfr, &image, &[]);
        assert!(messages.len() > 3, "{} messages", messages.len());
        assert!(messages.iter().all(|m| m.len() <= MESSAGE_MAX));
        let got = records(&messages);
        assert_eq!(got.len(), zone.records().len() + 1);
        assert!(got.first().unwrap().contains("SOA") && got.last().unwrap().contains("SOA"));
        let first = Message::from_vec(&messages[0]).unwrap();
        assert_eq!(first.queries.len(), 1);
        assert!(first.metadata.authoritative);
    }

    #[test]
    fn ixfr_sends_the_changesets_or_falls_back() {
        let z1 = zone(1, "");
        let z2 = zone(2, "x.tld. 300 IN NS ns.example.\n");
        let z3 = zone(3, "y.tld. 300 IN NS ns.example.\n");
        let history = vec![
            Arc::new(changeset::diff(&z1, &z2).unwrap()),
            Arc::new(changeset::diff(&z2, &z3).unwrap()),
        ];
        let image = image_of(&z3);
        assert_eq!(
            plan(&request(251, Some(1)), &image, &history),
            Plan::Ixfr(0)
        );
        assert_eq!(
            plan(&request(251, Some(2)), &image, &history),
            Plan::Ixfr(1)
        );
        assert_eq!(
            plan(&request(251, Some(3)), &image, &history),
            Plan::UpToDate
        );
        assert_eq!(plan(&request(251, Some(0)), &image, &history), Plan::Axfr);
        let got = records(&run(
            &request(251, Some(1)),
            Plan::Ixfr(0),
            &image,
            &history,
        ));
        // SOA 3, SOA 1, SOA 2, +x, SOA 2, -x, SOA 3, +y, SOA 3.
        assert_eq!(got.len(), 9, "{got:#?}");
        assert!(got[1].contains(" 1 2 3 4 5") && got[4].contains(" 2 2 3 4 5"));
        let got = records(&run(
            &request(251, Some(3)),
            Plan::UpToDate,
            &image,
            &history,
        ));
        assert_eq!(got.len(), 1);
    }
}
