//! DNSSEC denial of existence: the NSEC or NSEC3 records that prove a name or a type absent
//! (RFC 4035 §3.1.3, RFC 5155 §7.2), and the proof that a wildcard answer's name itself does
//! not exist.

use zonefiles::image::{Image, NSEC3_HASH_LEN, Node, Nsec3Params};
use zonefiles::{Name, RecordType};

use super::lookup::Lookup;
use super::message::{Section, Writer};
use super::records::Stop;

impl<'z> Lookup<'z> {
    /// Proof that `name` (which exists, or is a cut) has no RRset of the type asked for: its
    /// NSEC, or the NSEC3 that matches it (RFC 4035 §3.1.3.1, RFC 5155 §7.2.3–7.2.4). After a
    /// wildcard, the proof that the name itself does not exist comes first (§3.1.3.4, §7.2.5).
    pub(super) fn deny_type(
        &mut self,
        w: &mut Writer<'_>,
        name: &Name,
        node: Node<'z>,
    ) -> Result<(), Stop> {
        if !self.dnssec {
            return Ok(());
        }
        if let Some(ce) = self.wildcard {
            // `node` is the wildcard: deny the query name, then the type at `*.<ce>`.
            let mut star = [0u8; 257];
            let star = wildcard_of(&name.as_wire()[ce..], &mut star).ok_or(Stop::Damaged)?;
            return match self.nsec3 {
                None => {
                    self.nsec_for(w, name)?;
                    self.nsec_for(w, &star)
                }
                Some(params) => {
                    self.closest_provable(w, name.as_wire(), params)?;
                    self.nsec3_matching(w, &params.hash(star.as_wire()))
                        .map(|_| ())
                }
            };
        }
        match self.nsec3 {
            None if node.is_empty_non_terminal() => self.nsec_for(w, name),
            None => match node.rrset(RecordType::NSEC)? {
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
    pub(super) fn deny_name(
        &mut self,
        w: &mut Writer<'_>,
        name: &Name,
        ce: usize,
    ) -> Result<(), Stop> {
        let mut star = [0u8; 257];
        match self.nsec3 {
            None => {
                self.nsec_for(w, name)?;
                let star = wildcard_of(&name.as_wire()[ce..], &mut star).ok_or(Stop::Damaged)?;
                self.nsec_for(w, &star)
            }
            Some(params) => {
                let ce = self
                    .closest_provable(w, name.as_wire(), params)?
                    .unwrap_or(ce);
                let star = wildcard_of(&name.as_wire()[ce..], &mut star).ok_or(Stop::Damaged)?;
                self.nsec3_covering(w, &params.hash(star.as_wire()))
            }
        }
    }

    /// After an answer synthesized from a wildcard: notes that the proof that the query name
    /// itself does not exist is due (RFC 4035 §3.1.3.3, RFC 5155 §7.2.6).
    pub(super) fn prove_wildcard(&mut self, name: &Name) {
        let (true, Some(ce)) = (self.dnssec, self.wildcard) else {
            return;
        };
        if let Some(slot) = self.wildcard_proofs.iter_mut().find(|p| p.is_none()) {
            *slot = Some((name.clone(), ce));
        }
    }

    /// Writes the proofs noted by [`Lookup::prove_wildcard`].
    pub(super) fn flush_wildcard_proofs(&mut self, w: &mut Writer<'_>) -> Result<(), Stop> {
        for i in 0..self.wildcard_proofs.len() {
            let Some((name, ce)) = self.wildcard_proofs[i].take() else {
                break;
            };
            match self.nsec3 {
                None => self.nsec_for(w, &name)?,
                Some(params) => {
                    let next_closer = next_closer(name.as_wire(), ce);
                    self.nsec3_covering(w, &params.hash(&name.as_wire()[next_closer..]))?;
                }
            }
        }
        Ok(())
    }

    /// The NSEC at or before `name` in canonical order, signed, in authority.
    pub(super) fn nsec_for(&mut self, w: &mut Writer<'_>, name: &Name) -> Result<(), Stop> {
        let Some((owner, node)) = self.zone.nsec_covering(name)? else {
            return Ok(());
        };
        let Some(nsec) = node.rrset(RecordType::NSEC)? else {
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
    /// name. Returns where that encloser starts in `wire`. Each name is hashed once: the next
    /// closer name's hash is the one tried just before.
    pub(super) fn closest_provable(
        &mut self,
        w: &mut Writer<'_>,
        wire: &[u8],
        params: Nsec3Params<'z>,
    ) -> Result<Option<usize>, Stop> {
        let origin_len = self.zone.origin().as_wire().len();
        let mut below: Option<[u8; NSEC3_HASH_LEN]> = None;
        let mut at = 0;
        loop {
            let hash = if wire.len() - at == origin_len {
                *self.view.origin_hash(params)
            } else {
                params.hash(&wire[at..])
            };
            if self.nsec3_matching(w, &hash)? {
                if let Some(next_closer) = below {
                    self.nsec3_covering(w, &next_closer)?;
                }
                return Ok(Some(at));
            }
            if wire.len() - at <= origin_len {
                return Ok(None);
            }
            below = Some(hash);
            at += 1 + usize::from(wire[at]);
        }
    }

    /// Writes the NSEC3 whose owner is `hash`, if there is one.
    pub(super) fn nsec3_matching(
        &mut self,
        w: &mut Writer<'_>,
        hash: &[u8; NSEC3_HASH_LEN],
    ) -> Result<bool, Stop> {
        // The chain as served: a hashed owner's record comes from the image answering for it.
        let Some(((owner, node), _)) = self.view.nsec3_matching(hash)? else {
            return Ok(false);
        };
        self.nsec3_record(w, &owner, node)?;
        Ok(true)
    }

    /// Writes the NSEC3 that covers `hash`.
    pub(super) fn nsec3_covering(
        &mut self,
        w: &mut Writer<'_>,
        hash: &[u8; NSEC3_HASH_LEN],
    ) -> Result<(), Stop> {
        match self.view.nsec3_covering(hash)? {
            Some(((owner, node), _)) => self.nsec3_record(w, &owner, node),
            None => Ok(()),
        }
    }

    pub(super) fn nsec3_record(
        &mut self,
        w: &mut Writer<'_>,
        owner: &Name,
        node: Node<'z>,
    ) -> Result<(), Stop> {
        let nsec3 = node.rrset(RecordType::NSEC3)?.ok_or(Stop::Damaged)?;
        self.signed(
            w,
            Section::Authority,
            owner.as_wire(),
            RecordType::NSEC3,
            nsec3,
            node,
        )
    }
}

/// True for a node of a signed zone that holds only an NSEC3 record and its signatures.
pub(super) fn is_nsec3_only(zone: &Image, node: Node<'_>) -> bool {
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
