//! Signing a change to a signed zone (RFC 4035 §2, RFC 5155 §7.1), sans-IO: which RRsets and
//! names changed in, the DNSSEC records to remove and to add out, so that the zone after the
//! change validates as it is.
//!
//! The zone's state is read through [`State`]: the records at a name after the change, and the
//! DNSSEC records as they were before it (each RRSIG at its owner; the chain's records by their
//! owners, with the names they stand for). A registry keeps both in its database, so a change
//! costs what it touches, not the zone's size.
//!
//! For each name the change touched, [`sign_change`]:
//!
//! 1. signs again each changed RRset that is authoritative there (everything at the apex and at
//!    names with data of their own; at a delegation only its DS), and removes the signatures of
//!    RRsets that are gone or no longer signed; an RRset signed by other keys than the active
//!    ones is signed again too;
//! 2. puts the name in the chain, takes it out, or updates its type bitmap. A name joining
//!    the chain changes its predecessor's next field, and so does one leaving it: the
//!    predecessor is signed again. With NSEC3 the empty non-terminals above a name in the chain
//!    join it, and leave it with their last name below;
//! 3. at the apex, also keeps the records the keys make (DNSKEY, CDS, CDNSKEY, NSEC3PARAM) as
//!    the keys' timing says at `now`, and signs the SOA, which every change advances.
//!
//! Within one change, what it has already edited is read back first (an overlay over the
//! state), so that two names joining the chain side by side link up.
//!
//! Cost: one signature per changed RRset, per chain record added or updated (a name joining or
//! leaving the chain signs two), and the SOA's; in a TLD with opt-out a delegation without DS
//! costs nothing but the SOA's share. The state is read a few times per name touched.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ops::Bound;

use crate::image::NSEC3_HASH_LEN;
use crate::name::Name;
use crate::octets::Octets;
use crate::rdata;
use crate::record::Record;
use crate::rtype::{Class, RecordType};

use super::denial::{self, Denial};
use super::keys::ZoneKey;
use super::{Policy, SignError, Validity, apex_records, negative_ttl, rrsig, signers};

/// A chain record (NSEC or NSEC3) with the name it stands for.
pub type Link = (Record, Name);

/// The zone as a change leaves it, and its DNSSEC records as they were.
pub trait State {
    /// Why the state could not be read.
    type Error;
    /// The records at `owner` after the change, without DNSSEC records (the signer's apex
    /// records — DNSKEY, CDS, CDNSKEY, NSEC3PARAM — are its own business).
    fn node(&mut self, owner: &Name) -> Result<Vec<Record>, Self::Error>;
    /// The DNSSEC records at `owner` but its chain record: its RRSIGs and, at the apex, the
    /// signer's records.
    fn dnssec(&mut self, owner: &Name) -> Result<Vec<Record>, Self::Error>;
    /// The chain record owned by `owner`.
    fn chain_at(&mut self, owner: &Name) -> Result<Option<Link>, Self::Error>;
    /// The chain record with the greatest owner before `owner` in canonical order; if there is
    /// none before, the one with the greatest owner of all (the chain is a ring).
    fn chain_before(&mut self, owner: &Name) -> Result<Option<Link>, Self::Error>;
    /// Up to `limit` names in the chain strictly below `name`.
    fn chain_below(&mut self, name: &Name, limit: usize) -> Result<Vec<Name>, Self::Error>;
    /// Up to `limit` RRsets (owner, type covered) whose signatures expire before `before`,
    /// soonest first.
    fn expiring(
        &mut self,
        before: u32,
        limit: usize,
    ) -> Result<Vec<(Name, RecordType)>, Self::Error>;
}

/// What signs a change, and when.
#[derive(Debug, Clone, Copy)]
pub struct Signing<'a> {
    /// The zone's apex.
    pub origin: &'a Name,
    /// Its class.
    pub class: Class,
    /// Its keys (those published and active at `now` by their timing take part).
    pub keys: &'a [ZoneKey],
    /// Its policy.
    pub policy: &'a Policy,
    /// The signing time, in seconds since 1970.
    pub now: u64,
}

/// Why a change could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError<E> {
    /// Signing failed (no key, a key that fails).
    #[error(transparent)]
    Sign(#[from] SignError),
    /// The state could not be read.
    #[error("reading the zone's state: {0}")]
    State(E),
    /// The zone's state is not that of a signed zone.
    #[error("the zone's signed state is broken: {0}")]
    Broken(String),
}

/// The DNSSEC records a change removes and adds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Records removed (as the state held them), in canonical order.
    pub removed: Vec<Record>,
    /// Records added, in canonical order.
    pub added: Vec<Record>,
    /// For each chain record added, by owner, the name it stands for.
    pub names: BTreeMap<Name, Name>,
}

/// Signs a change: `changed` lists the RRsets (owner and type) whose records the change
/// removed, added or altered. Up to `refresh` more RRsets whose signatures expire within the
/// policy's refresh time are signed again (see the module docs).
pub fn sign_change<S: State>(
    state: &mut S,
    signing: &Signing<'_>,
    changed: &BTreeSet<(Name, RecordType)>,
    refresh: usize,
) -> Result<Edit, ChangeError<S::Error>> {
    let Signing {
        origin,
        class,
        keys,
        policy,
        now,
    } = *signing;
    let (ksks, zsks) = signers(keys, now)?;
    let mut run = Run {
        zone: Overlay::new(state, origin.clone()),
        origin,
        class,
        ksks,
        zsks,
        policy,
        validity: Validity::new(policy, now),
        changed: changed.clone(),
        apex: apex_records(origin, class, keys, policy, now),
        negative_ttl: 0,
    };
    run.changed.insert((origin.clone(), RecordType::SOA));
    // The signer's apex records as the keys' timing has them now.
    let before: Vec<Record> = run
        .zone
        .dnssec(origin)?
        .into_iter()
        .filter(|r| is_signers(r.rtype))
        .collect();
    for record in before.iter().filter(|r| !run.apex.contains(r)) {
        run.changed.insert((origin.clone(), record.rtype));
        run.zone.remove(record.clone());
    }
    for record in run.apex.iter().filter(|r| !before.contains(r)) {
        run.changed.insert((origin.clone(), record.rtype));
        run.zone.add(record.clone());
    }
    let apex = run.node(origin)?;
    let soa = apex
        .iter()
        .find(|r| r.rtype == RecordType::SOA)
        .ok_or(SignError::NoSoa)?;
    run.negative_ttl = negative_ttl(soa);
    let owners: BTreeSet<Name> = run.changed.iter().map(|(o, _)| o.clone()).collect();
    for owner in &owners {
        run.owner(owner)?;
    }
    // Signatures about to expire, renewed a share at a time.
    if refresh > 0 {
        let before = now
            .saturating_add(u64::from(policy.refresh))
            .min(u64::from(u32::MAX)) as u32;
        let due = run
            .zone
            .state
            .expiring(before, refresh)
            .map_err(ChangeError::State)?;
        for (owner, covered) in due {
            match covered {
                RecordType::NSEC | RecordType::NSEC3 => {
                    if let Some(link) = run.zone.chain_at(&owner)? {
                        let record = link.0.clone();
                        run.replace(&record, Some(link))?;
                    }
                }
                _ => {
                    run.changed.insert((owner.clone(), covered));
                    run.owner(&owner)?;
                }
            }
        }
    }
    Ok(run.zone.finish())
}

/// The apex types the signer makes from the keys.
fn is_signers(rtype: RecordType) -> bool {
    matches!(
        rtype,
        RecordType::DNSKEY | RecordType::CDS | RecordType::CDNSKEY | RecordType::NSEC3PARAM
    )
}

/// The type an RRSIG covers.
fn covered(rrsig: &Record) -> RecordType {
    RecordType(u16::from_be_bytes([rrsig.rdata[0], rrsig.rdata[1]]))
}

/// An RRSIG's algorithm and key tag.
fn signed_by(rrsig: &Record) -> (u8, u16) {
    (
        rrsig.rdata[2],
        u16::from_be_bytes([rrsig.rdata[16], rrsig.rdata[17]]),
    )
}

/// One signing of a change.
struct Run<'a, 's, S: State> {
    zone: Overlay<'s, S>,
    origin: &'a Name,
    class: Class,
    ksks: Vec<&'a ZoneKey>,
    zsks: Vec<&'a ZoneKey>,
    policy: &'a Policy,
    validity: Validity,
    changed: BTreeSet<(Name, RecordType)>,
    /// The signer's apex records now.
    apex: Vec<Record>,
    negative_ttl: u32,
}

impl<S: State> Run<'_, '_, S> {
    /// The records at `owner` after the change, the signer's apex records included.
    fn node(&mut self, owner: &Name) -> Result<Vec<Record>, ChangeError<S::Error>> {
        let mut records = self.zone.node(owner)?;
        if owner == self.origin {
            records.extend(self.apex.iter().cloned());
        }
        records.sort_by(|a, b| a.canonical_cmp(b));
        Ok(records)
    }

    /// The names strictly between the apex and `owner`, nearest first.
    fn ancestors(&self, owner: &Name) -> Vec<Name> {
        let mut out = Vec::new();
        let mut name = owner.parent();
        while let Some(n) = name {
            if n == *self.origin || !n.is_subdomain_of(self.origin) {
                break;
            }
            name = n.parent();
            out.push(n);
        }
        out
    }

    /// True if `owner` lies below a delegation (glue, or nothing).
    fn occluded(&mut self, owner: &Name) -> Result<bool, ChangeError<S::Error>> {
        for ancestor in self.ancestors(owner) {
            if self.zone.has_ns(&ancestor)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn nsec3(&self) -> Option<(u16, &[u8], bool)> {
        match &self.policy.denial {
            Denial::Nsec => None,
            Denial::Nsec3 {
                iterations,
                salt,
                opt_out,
            } => Some((*iterations, salt, *opt_out)),
        }
    }

    /// Signs what changed at one name and puts its chain right.
    fn owner(&mut self, owner: &Name) -> Result<(), ChangeError<S::Error>> {
        let node = self.node(owner)?;
        let occluded = owner != self.origin && self.occluded(owner)?;
        let delegation =
            owner != self.origin && !occluded && node.iter().any(|r| r.rtype == RecordType::NS);
        let has_ds = node.iter().any(|r| r.rtype == RecordType::DS);
        let mut sets: BTreeMap<RecordType, Vec<Record>> = BTreeMap::new();
        for record in &node {
            sets.entry(record.rtype).or_default().push(record.clone());
        }
        let signed: BTreeSet<RecordType> = match (occluded, delegation) {
            (true, _) => BTreeSet::new(),
            (false, true) => sets
                .keys()
                .copied()
                .filter(|t| *t == RecordType::DS)
                .collect(),
            (false, false) => sets.keys().copied().collect(),
        };
        let mut existing: BTreeMap<RecordType, Vec<Record>> = BTreeMap::new();
        for rrsig in self.zone.dnssec(owner)? {
            if rrsig.rtype != RecordType::RRSIG {
                continue;
            }
            let t = covered(&rrsig);
            if !matches!(t, RecordType::NSEC | RecordType::NSEC3) {
                existing.entry(t).or_default().push(rrsig);
            }
        }
        let types: BTreeSet<RecordType> = signed.iter().chain(existing.keys()).copied().collect();
        for rtype in types {
            let old = existing.remove(&rtype).unwrap_or_default();
            let by_ksk = owner == self.origin
                && matches!(
                    rtype,
                    RecordType::DNSKEY | RecordType::CDS | RecordType::CDNSKEY
                );
            let keys = if by_ksk { &self.ksks } else { &self.zsks };
            let want: BTreeSet<(u8, u16)> = keys
                .iter()
                .map(|k| (k.signer.algorithm().number(), k.key_tag()))
                .collect();
            let have: BTreeSet<(u8, u16)> = old.iter().map(signed_by).collect();
            let stale = self.changed.contains(&(owner.clone(), rtype)) || want != have;
            if signed.contains(&rtype) && !stale {
                continue;
            }
            for rrsig in old {
                self.zone.remove(rrsig);
            }
            if let Some(rrset) = sets.get(&rtype).filter(|_| signed.contains(&rtype)) {
                for key in keys.clone() {
                    let record = rrsig(rrset, key, self.origin, self.class, &self.validity)?;
                    self.zone.add(record);
                }
            }
        }
        // The chain.
        let mut bitmap: Vec<RecordType> = sets.keys().copied().collect();
        if !signed.is_empty() {
            bitmap.push(RecordType::RRSIG);
            bitmap.sort();
        }
        let in_chain = !occluded
            && !node.is_empty()
            && match self.nsec3() {
                Some((_, _, opt_out)) => !(opt_out && delegation && !has_ds),
                None => true,
            };
        let nsec3 = self.nsec3().is_some();
        let entry = match (in_chain, nsec3) {
            (true, _) => Some(bitmap),
            // An empty non-terminal: no data of its own, names of the chain below. (A name
            // with data that is not in the chain is an unsigned delegation, with nothing below
            // it in the chain.)
            (false, true)
                if !occluded && node.is_empty() && !self.zone.chain_below(owner, 1)?.is_empty() =>
            {
                Some(Vec::new())
            }
            (false, _) => None,
        };
        self.set_chain(owner, entry)?;
        if self.nsec3().is_some() && !occluded {
            for ancestor in self.ancestors(owner) {
                if !self.node(&ancestor)?.is_empty() {
                    break;
                }
                let needed = !self.zone.chain_below(&ancestor, 1)?.is_empty();
                self.set_chain(&ancestor, needed.then(Vec::new))?;
            }
        }
        Ok(())
    }

    /// The owner of `name`'s chain record.
    fn chain_owner(&self, name: &Name) -> Name {
        match self.nsec3() {
            Some((iterations, salt, _)) => denial::nsec3_owner(self.origin, iterations, salt, name),
            None => name.clone(),
        }
    }

    /// A chain record for `owner` pointing at `next` (a name for NSEC, an NSEC3 owner
    /// otherwise), listing `types` (sorted; NSEC adds NSEC and RRSIG).
    fn chain_record(&self, owner: &Name, next: &Name, types: &[RecordType]) -> Record {
        let (rtype, rdata) = match self.nsec3() {
            None => {
                let mut types = types.to_vec();
                types.extend([RecordType::NSEC, RecordType::RRSIG]);
                types.sort();
                types.dedup();
                (RecordType::NSEC, denial::nsec_rdata(next, &types))
            }
            Some((iterations, salt, opt_out)) => {
                let hash = next_hash(next);
                (
                    RecordType::NSEC3,
                    denial::nsec3_rdata(iterations, salt, opt_out, &hash, types),
                )
            }
        };
        Record {
            owner: owner.clone(),
            rtype,
            class: self.class,
            ttl: self.negative_ttl,
            rdata: Octets::from(rdata),
        }
    }

    /// A chain record's next owner and its types.
    fn parse(&self, record: &Record) -> Result<(Name, Vec<RecordType>), ChangeError<S::Error>> {
        let broken = || ChangeError::Broken(format!("the chain record {record} does not parse"));
        match record.rtype {
            RecordType::NSEC => {
                let (next, len) = Name::from_wire(&record.rdata).map_err(|_| broken())?;
                Ok((next, rdata::bitmap_types(&record.rdata[len..])))
            }
            RecordType::NSEC3 => {
                let data = &record.rdata[..];
                let salt = *data.get(4).ok_or_else(broken)? as usize;
                let at = 5 + salt;
                if data.get(at) != Some(&(NSEC3_HASH_LEN as u8)) {
                    return Err(broken());
                }
                let hash: [u8; NSEC3_HASH_LEN] = data
                    .get(at + 1..at + 1 + NSEC3_HASH_LEN)
                    .ok_or_else(broken)?
                    .try_into()
                    .map_err(|_| broken())?;
                let label = crate::image::base32hex(&hash);
                let next = self.origin.child(&label).map_err(|_| broken())?;
                let types = rdata::bitmap_types(&data[at + 1 + NSEC3_HASH_LEN..]);
                Ok((next, types))
            }
            _ => Err(broken()),
        }
    }

    /// Puts `name` in the chain with `types` (`Some`), or takes it out (`None`).
    fn set_chain(
        &mut self,
        name: &Name,
        types: Option<Vec<RecordType>>,
    ) -> Result<(), ChangeError<S::Error>> {
        let owner = self.chain_owner(name);
        let current = self.zone.chain_at(&owner)?;
        match (current, types) {
            (None, None) => {}
            (Some((record, _)), Some(types)) => {
                let (next, _) = self.parse(&record)?;
                let new = self.chain_record(&owner, &next, &types);
                if new != record {
                    self.replace(&record, Some((new, name.clone())))?;
                }
            }
            (None, Some(types)) => {
                let (pred, pred_name) = self.predecessor(&owner)?;
                let (next, pred_types) = self.parse(&pred)?;
                let new = self.chain_record(&owner, &next, &types);
                let linked = self.chain_record(&pred.owner, &owner, &pred_types);
                self.replace(&pred, Some((linked, pred_name)))?;
                self.link(None, Some((new, name.clone())))?;
            }
            (Some((record, _)), None) => {
                let (pred, pred_name) = self.predecessor(&owner)?;
                if pred.owner == owner {
                    return Err(ChangeError::Broken(format!(
                        "{name} is the chain's only name and cannot leave it"
                    )));
                }
                let (next, _) = self.parse(&record)?;
                let (_, pred_types) = self.parse(&pred)?;
                let linked = self.chain_record(&pred.owner, &next, &pred_types);
                self.replace(&pred, Some((linked, pred_name)))?;
                self.replace(&record, None)?;
            }
        }
        Ok(())
    }

    fn predecessor(&mut self, owner: &Name) -> Result<Link, ChangeError<S::Error>> {
        self.zone
            .chain_before(owner)?
            .ok_or_else(|| ChangeError::Broken("the zone has no chain: sign it whole first".into()))
    }

    /// Replaces a chain record (and its signatures) by another, or removes it.
    fn replace(&mut self, old: &Record, new: Option<Link>) -> Result<(), ChangeError<S::Error>> {
        for rrsig in self.zone.dnssec(&old.owner)? {
            if rrsig.rtype == RecordType::RRSIG && covered(&rrsig) == old.rtype {
                self.zone.remove(rrsig);
            }
        }
        self.link(Some(old), new)
    }

    /// Sets the chain record at an owner, signing the new one.
    fn link(
        &mut self,
        old: Option<&Record>,
        new: Option<Link>,
    ) -> Result<(), ChangeError<S::Error>> {
        if let Some((record, _)) = &new {
            for key in self.zsks.clone() {
                let signature = rrsig(
                    std::slice::from_ref(record),
                    key,
                    self.origin,
                    self.class,
                    &self.validity,
                )?;
                self.zone.add(signature);
            }
        }
        let owner = match (old, &new) {
            (Some(r), _) => r.owner.clone(),
            (None, Some((r, _))) => r.owner.clone(),
            (None, None) => return Ok(()),
        };
        self.zone.set_link(&owner, new)
    }
}

/// The hash an NSEC3 owner's first label spells (every NSEC3 owner here is one this module
/// or [`denial`] made from a hash).
fn next_hash(owner: &Name) -> [u8; NSEC3_HASH_LEN] {
    let label = owner.labels().next().unwrap_or_default();
    let mut hash = [0; NSEC3_HASH_LEN];
    if let Ok(bytes) = data_encoding::BASE32HEX_NOPAD.decode(&label.to_ascii_uppercase())
        && bytes.len() == NSEC3_HASH_LEN
    {
        hash.copy_from_slice(&bytes);
    }
    hash
}

/// The state with this change's edits laid over it.
struct Overlay<'s, S: State> {
    state: &'s mut S,
    origin: Name,
    /// Records of the state this change removed.
    removed: HashSet<Record>,
    /// Records this change added (chain records apart), by owner.
    added: BTreeMap<Name, Vec<Record>>,
    /// Chain records this change set (`Some`) or removed (`None`), by owner.
    chain: BTreeMap<Name, Option<Link>>,
    /// Names this change put in the chain (`true`) or took out (`false`).
    names: BTreeMap<Name, bool>,
    /// Nodes read, by owner.
    nodes: BTreeMap<Name, Vec<Record>>,
}

impl<'s, S: State> Overlay<'s, S> {
    fn new(state: &'s mut S, origin: Name) -> Overlay<'s, S> {
        Overlay {
            state,
            origin,
            removed: HashSet::new(),
            added: BTreeMap::new(),
            chain: BTreeMap::new(),
            names: BTreeMap::new(),
            nodes: BTreeMap::new(),
        }
    }

    fn node(&mut self, owner: &Name) -> Result<Vec<Record>, ChangeError<S::Error>> {
        if let Some(node) = self.nodes.get(owner) {
            return Ok(node.clone());
        }
        let node: Vec<Record> = self
            .state
            .node(owner)
            .map_err(ChangeError::State)?
            .into_iter()
            .filter(|r| {
                !matches!(
                    r.rtype,
                    RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3
                ) && !is_signers(r.rtype)
            })
            .collect();
        self.nodes.insert(owner.clone(), node.clone());
        Ok(node)
    }

    fn has_ns(&mut self, owner: &Name) -> Result<bool, ChangeError<S::Error>> {
        Ok(self.node(owner)?.iter().any(|r| r.rtype == RecordType::NS))
    }

    fn dnssec(&mut self, owner: &Name) -> Result<Vec<Record>, ChangeError<S::Error>> {
        let mut records: Vec<Record> = self
            .state
            .dnssec(owner)
            .map_err(ChangeError::State)?
            .into_iter()
            .filter(|r| !self.removed.contains(r))
            .collect();
        records.extend(self.added.get(owner).into_iter().flatten().cloned());
        Ok(records)
    }

    fn remove(&mut self, record: Record) {
        if let Some(added) = self.added.get_mut(&record.owner)
            && let Some(at) = added.iter().position(|r| *r == record)
        {
            added.remove(at);
            return;
        }
        self.removed.insert(record);
    }

    fn add(&mut self, record: Record) {
        self.added
            .entry(record.owner.clone())
            .or_default()
            .push(record);
    }

    fn chain_at(&mut self, owner: &Name) -> Result<Option<Link>, ChangeError<S::Error>> {
        match self.chain.get(owner) {
            Some(link) => Ok(link.clone()),
            None => self.state.chain_at(owner).map_err(ChangeError::State),
        }
    }

    /// Sets the chain record at `owner`; the state's, if it had one, is removed.
    fn set_link(&mut self, owner: &Name, new: Option<Link>) -> Result<(), ChangeError<S::Error>> {
        if !self.chain.contains_key(owner)
            && let Some((record, _)) = self.state.chain_at(owner).map_err(ChangeError::State)?
        {
            self.removed.insert(record);
        }
        let before = self.chain_at(owner)?.map(|(_, name)| name);
        let after = new.as_ref().map(|(_, name)| name.clone());
        if before != after {
            if let Some(name) = before {
                self.names.insert(name, false);
            }
            if let Some(name) = after {
                self.names.insert(name, true);
            }
        }
        self.chain.insert(owner.clone(), new);
        Ok(())
    }

    /// The state's greatest chain record before `owner` that this change has not touched.
    fn state_before(&mut self, owner: &Name) -> Result<Option<Link>, ChangeError<S::Error>> {
        let mut at = owner.clone();
        loop {
            let Some(link) = self.state.chain_before(&at).map_err(ChangeError::State)? else {
                return Ok(None);
            };
            if link.0.owner >= at {
                return Ok(None);
            }
            if !self.chain.contains_key(&link.0.owner) {
                return Ok(Some(link));
            }
            at = link.0.owner.clone();
        }
    }

    /// The state's greatest chain record of all that this change has not touched.
    fn state_last(&mut self) -> Result<Option<Link>, ChangeError<S::Error>> {
        let Some(link) = self
            .state
            .chain_before(&self.origin.clone())
            .map_err(ChangeError::State)?
        else {
            return Ok(None);
        };
        if !self.chain.contains_key(&link.0.owner) {
            return Ok(Some(link));
        }
        let owner = link.0.owner.clone();
        self.state_before(&owner)
    }

    fn chain_before(&mut self, owner: &Name) -> Result<Option<Link>, ChangeError<S::Error>> {
        let mine = self
            .chain
            .range(..owner.clone())
            .rev()
            .find_map(|(_, link)| link.clone());
        let theirs = self.state_before(owner)?;
        if let Some(link) = later(mine, theirs) {
            return Ok(Some(link));
        }
        let mine = self.chain.values().rev().find_map(|link| link.clone());
        let theirs = self.state_last()?;
        Ok(later(mine, theirs))
    }

    fn chain_below(
        &mut self,
        name: &Name,
        limit: usize,
    ) -> Result<Vec<Name>, ChangeError<S::Error>> {
        let below = |n: &&Name| n.is_subdomain_of(name);
        let mine: Vec<(Name, bool)> = self
            .names
            .range((Bound::Excluded(name.clone()), Bound::Unbounded))
            .map(|(n, present)| (n.clone(), *present))
            .take_while(|(n, _)| below(&n))
            .collect();
        let gone = mine.iter().filter(|(_, present)| !present).count();
        let mut out: Vec<Name> = mine
            .iter()
            .filter(|(_, present)| *present)
            .map(|(n, _)| n.clone())
            .collect();
        for n in self
            .state
            .chain_below(name, limit + gone)
            .map_err(ChangeError::State)?
        {
            if !self.names.contains_key(&n) {
                out.push(n);
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    fn finish(self) -> Edit {
        let mut added: Vec<Record> = self.added.into_values().flatten().collect();
        let mut names = BTreeMap::new();
        for (owner, link) in self.chain {
            if let Some((record, name)) = link {
                added.push(record);
                names.insert(owner, name);
            }
        }
        // A record removed and put back unchanged is no change.
        let kept: HashSet<Record> = added
            .iter()
            .filter(|r| self.removed.contains(*r))
            .cloned()
            .collect();
        added.retain(|r| !kept.contains(r));
        let mut removed: Vec<Record> = self
            .removed
            .into_iter()
            .filter(|r| !kept.contains(r))
            .collect();
        removed.sort_by(|a, b| a.canonical_cmp(b));
        added.sort_by(|a, b| a.canonical_cmp(b));
        Edit {
            removed,
            added,
            names,
        }
    }
}

/// The one of two chain records with the greater owner.
fn later(a: Option<Link>, b: Option<Link>) -> Option<Link> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if a.0.owner >= b.0.owner { a } else { b }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests;
