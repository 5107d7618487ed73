//! One query's look-up in one zone (RFC 1034 §4.3.2 steps 3–6): the answer, a referral or a
//! negative answer, following CNAMEs and DNAMEs inside the zone. What the response becomes is
//! kept in one [`AnswerState`]; denial proofs ([`super::denial`]), additional data
//! ([`super::additional`]) and the record writers ([`super::records`]) are the same
//! [`Lookup`]'s, in their own modules.

use zonefiles::image::{Find, Image, Node, Nsec3Params, Rrset};
use zonefiles::{Name, RecordType, rdata};

use super::denial::is_nsec3_only;
use super::message::{Section, Writer};
use super::records::{Stop, write_counted};
use super::{MAX_CHAIN, ResponseKind, is_below, rcode};
use crate::view::View;

/// What the look-up has made of the response so far: everything besides the sections that
/// the header and the rate limiter need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct AnswerState {
    /// The response code.
    pub rcode: u16,
    /// AA: cleared by a referral.
    pub authoritative: bool,
    /// TC: set when glue a referral needs did not fit.
    pub truncated: bool,
    /// The answer section holds data (not a referral, not a negative answer).
    pub positive: bool,
    /// What the response is made from (see [`super::Source`]) ...
    pub kind: ResponseKind,
    /// ... and where in the query name the name it is about starts.
    pub about: usize,
}

impl Default for AnswerState {
    fn default() -> AnswerState {
        AnswerState {
            rcode: rcode::NOERROR,
            authoritative: true,
            truncated: false,
            positive: false,
            kind: ResponseKind::Answer,
            about: 0,
        }
    }
}

/// One query's look-up in one zone.
pub(super) struct Lookup<'z> {
    /// The zone.
    pub view: &'z View,
    /// The image answering for the name at the current step of the chain.
    pub zone: &'z Image,
    /// RRSIGs and denial proofs are wanted (DO set, zone signed).
    pub dnssec: bool,
    /// The zone's NSEC3 parameters; NSEC proofs when `None`.
    pub nsec3: Option<Nsec3Params<'z>>,
    /// The answer comes from a wildcard: where the closest encloser starts in the name.
    pub wildcard: Option<usize>,
    /// Names answered from a wildcard along the chain, and where their closest encloser
    /// starts: their proofs go in authority once the answer section is complete.
    pub wildcard_proofs: [Option<(Name, usize)>; MAX_CHAIN],
    /// The answer RRset whose additional data goes out after the authority section.
    pub answer_additional: Option<Rrset<'z>>,
    /// The type asked for.
    pub qtype: RecordType,
    /// The response as made so far.
    pub state: AnswerState,
    /// Hashes of the owner and type of each RRset written, so a chain that meets the same
    /// RRset twice writes it once.
    pub written: [u64; 16],
    pub written_count: usize,
}

impl<'z> Lookup<'z> {
    /// A look-up of a query for `qtype` in `view`; `dnssec` when the client set DO.
    pub fn new(
        view: &'z View,
        qname: &Name,
        qtype: RecordType,
        dnssec: bool,
    ) -> Result<Lookup<'z>, Stop> {
        let dnssec = dnssec && view.apex_image().is_signed();
        let nsec3 = if dnssec {
            view.apex_image().nsec3_params()?
        } else {
            None
        };
        Ok(Lookup {
            view,
            zone: view.image_for(qname.as_wire()),
            dnssec,
            nsec3,
            wildcard: None,
            wildcard_proofs: Default::default(),
            answer_additional: None,
            qtype,
            state: AnswerState::default(),
            written: [0; 16],
            written_count: 0,
        })
    }

    /// The whole look-up, sections in order: the answer (and negative proofs) while
    /// resolving, then the wildcard proofs and the zone's NS in authority (unless
    /// `minimal`), then additional data.
    pub fn run(
        &mut self,
        w: &mut Writer<'_>,
        wire: &[u8],
        name: Name,
        minimal: bool,
    ) -> Result<(), Stop> {
        self.resolve(w, wire, name)?;
        self.flush_wildcard_proofs(w)?;
        // As NSD: no NS RRset after DNSKEY, DS or ANY answers, which are large enough already
        // (resolvers priming trust anchors should not be pushed to TCP).
        let wants_ns = !matches!(
            self.qtype,
            RecordType::DS | RecordType::DNSKEY | RecordType::ANY
        );
        if self.state.positive && wants_ns && !minimal {
            self.zone_ns(w)?;
        }
        match self.answer_additional.take() {
            Some(rrset) => self.additional(w, self.qtype, rrset, None),
            None => Ok(()),
        }
    }

    /// RFC 1034 §4.3.2 steps 3–6, following CNAMEs and DNAMEs inside the zone.
    fn resolve(&mut self, w: &mut Writer<'_>, wire: &[u8], mut name: Name) -> Result<(), Stop> {
        // The owner as written so far: the query name as sent, then each alias target.
        let mut owner_buf = [0u8; 255];
        owner_buf[..wire.len()].copy_from_slice(wire);
        let mut owner_len = wire.len();
        let mut next = [0u8; 512];
        for step in 0..MAX_CHAIN {
            let owner = &owner_buf[..owner_len];
            self.zone = self.view.image_for(name.as_wire());
            let found = self.zone.find(&name)?;
            let target = match found {
                Find::OutOfZone => return Ok(()),
                Find::Referral { cut, offset } => {
                    if step == 0 {
                        (self.state.kind, self.state.about) = (ResponseKind::Referral, offset);
                        self.referral(w, &owner[offset..], (&name, offset), cut)?;
                    }
                    return Ok(());
                }
                Find::Dname {
                    owner: node,
                    offset,
                } => {
                    let dname = node
                        .rrset(RecordType::DNAME)
                        .ok()
                        .flatten()
                        .ok_or(Stop::Damaged)?;
                    self.signed(
                        w,
                        Section::Answer,
                        &owner[offset..],
                        RecordType::DNAME,
                        dname,
                        node,
                    )?;
                    let target = dname
                        .records()
                        .next()
                        .and_then(Result::ok)
                        .ok_or(Stop::Damaged)?;
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
                        self.state.rcode = rcode::YXDOMAIN;
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
                    self.state.rcode = rcode::NXDOMAIN;
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
                        (self.state.kind, self.state.about) = (ResponseKind::Wildcard, offset);
                    }
                    self.at_node(w, owner, &name, source, step, &mut next)?
                }
                Find::NxDomain { offset, .. } => {
                    self.state.rcode = rcode::NXDOMAIN;
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
    ) -> Result<Option<usize>, Stop> {
        if node.is_delegation() {
            if self.qtype == RecordType::DS && step == 0 {
                // DS lives on the parent side of the cut (RFC 4035 §3.1.4.1).
                return match node.rrset(RecordType::DS)? {
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
                (self.state.kind, self.state.about) = (ResponseKind::Referral, 0);
                self.referral(w, owner, (name, 0), node)?;
            }
            return Ok(None);
        }
        if self.qtype.0 == 255 {
            // One RRset, as RFC 8482 §4.1 suggests (and NSD does): the small, popular types
            // first, the large DNSSEC ones last; never NSEC3, nor RRSIG when signatures go
            // with each RRset anyway.
            let mut best: Option<(u8, RecordType, Rrset<'z>)> = None;
            for rrset in node.rrsets() {
                let (rtype, rrset) = rrset?;
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
                    self.state.positive = true;
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
        if let Some(rrset) = node.rrset(self.qtype)? {
            if self.qtype == RecordType::RRSIG && self.dnssec {
                self.rrsigs(w, owner, rrset, node)?;
            } else {
                self.signed(w, Section::Answer, owner, self.qtype, rrset, node)?;
            }
            self.state.positive = true;
            self.prove_wildcard(name);
            self.answer_additional = Some(rrset);
            return Ok(None);
        }
        if let Some(cname) = node.rrset(RecordType::CNAME)? {
            self.signed(w, Section::Answer, owner, RecordType::CNAME, cname, node)?;
            self.prove_wildcard(name);
            let target = cname
                .records()
                .next()
                .and_then(Result::ok)
                .ok_or(Stop::Damaged)?;
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
    /// The cut's name is the part of `name` from the wire offset given with it.
    fn referral(
        &mut self,
        w: &mut Writer<'_>,
        cut_owner: &[u8],
        (name, offset): (&Name, usize),
        cut: Node<'z>,
    ) -> Result<(), Stop> {
        self.state.authoritative = false;
        let ns = cut.rrset(RecordType::NS)?.ok_or(Stop::Damaged)?;
        self.rrset(w, Section::Authority, cut_owner, RecordType::NS, ns)?;
        if self.dnssec {
            match cut.rrset(RecordType::DS)? {
                Some(ds) => {
                    self.signed(w, Section::Authority, cut_owner, RecordType::DS, ds, cut)?
                }
                None => {
                    let suffix;
                    let cut_name = if offset == 0 {
                        name
                    } else {
                        suffix = Name::from_wire(&name.as_wire()[offset..])
                            .map_err(|_| Stop::Damaged)?
                            .0;
                        &suffix
                    };
                    self.deny_type(w, cut_name, cut)?
                }
            }
        }
        self.additional(w, RecordType::NS, ns, Some(cut_owner))
    }

    /// The zone's NS RRset in authority, with addresses for the name servers inside the zone
    /// (RFC 1034 §4.3.2 step 6 and §6.2's examples), when the answer did not already carry it.
    fn zone_ns(&mut self, w: &mut Writer<'_>) -> Result<(), Stop> {
        let apex = self.view.apex_image().apex()?;
        let Some(ns) = apex.rrset(RecordType::NS)? else {
            return Ok(());
        };
        let origin = self.zone.origin().as_wire();
        self.signed(w, Section::Authority, origin, RecordType::NS, ns, apex)?;
        self.additional(w, RecordType::NS, ns, None)
    }

    /// The SOA for a negative answer, its TTL capped by the SOA minimum (RFC 2308 §3).
    fn negative(&mut self, w: &mut Writer<'_>) -> Result<(), Stop> {
        self.state.kind = match (self.state.rcode, self.state.kind) {
            (rcode::NXDOMAIN, _) => ResponseKind::Nxdomain,
            // A wildcard's NODATA stays about its closest encloser.
            (_, ResponseKind::Wildcard) => ResponseKind::Wildcard,
            _ => ResponseKind::Nodata,
        };
        let apex = self.view.apex_image().apex()?;
        let soa = apex.rrset(RecordType::SOA)?.ok_or(Stop::Damaged)?;
        let rdata = soa
            .records()
            .next()
            .and_then(Result::ok)
            .ok_or(Stop::Damaged)?;
        let ttl = soa.ttl().min(rdata::soa_minimum(rdata).unwrap_or(u32::MAX));
        let origin = self.zone.origin().as_wire();
        write_counted(w, Section::Authority, origin, RecordType::SOA, ttl, rdata)?;
        if self.dnssec {
            self.sigs(w, Section::Authority, origin, RecordType::SOA, ttl, apex)?;
        }
        Ok(())
    }

    /// A synthesized CNAME from a DNAME (RFC 6672 §3.1).
    fn cname(
        &mut self,
        w: &mut Writer<'_>,
        owner: &[u8],
        ttl: u32,
        target: &[u8],
    ) -> Result<(), Stop> {
        write_counted(w, Section::Answer, owner, RecordType::CNAME, ttl, target)
    }
}
