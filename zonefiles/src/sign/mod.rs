//! DNSSEC signing of a whole zone (RFC 4033–4035, RFC 5155, RFC 6781), sans-IO: records and
//! keys in, the signed zone out.
//!
//! [`sign_zone`] drops the zone's DNSSEC records, then adds:
//!
//! - the apex DNSKEY RRset: the keys published at the time of signing, by their
//!   [`keys::Timing`] (a key pre-published for a rollover, or retired and not yet removed, is in
//!   the set without signing);
//! - the CDS and CDNSKEY records of the keys whose DS the parent is asked for (their
//!   `SyncPublish` time; RFC 7344, RFC 8078);
//! - the denial of existence: NSEC, or NSEC3 with the RFC 9276 parameters (no extra iteration,
//!   no salt) and opt-out by default ([`denial`]);
//! - an RRSIG over every authoritative RRset: the DNSKEY, CDS and CDNSKEY RRsets by the active
//!   keys with the secure entry point bit, every other RRset by the active zone-signing keys
//!   (with none, the KSKs sign everything: a CSK).
//!
//! Delegation NS RRsets and glue are not signed (RFC 4035 §2.2); a delegation's DS is.
//!
//! Signatures are valid from an hour before `now` (clock skew) for the policy's validity,
//! shortened by up to its jitter by a hash of the RRset's owner and type: a zone signed at
//! once does not expire at once, so re-signing spreads out.
//!
//! Cost: one signature per authoritative RRset and per NSEC(3) record, made on every core
//! (`std::thread::scope`, the records cut into one share per core). Measured: a zone of 1M
//! delegations (30k with DS, NSEC3 with opt-out, 60k signatures) is signed in 1.4 s on two cores,
//! beside 1.9 s of reading and writing it (`docs/benchmarks.md`). Memory: the zone and its
//! signatures.
//!
//! - [`keys`]: algorithms, the [`keys::Signer`] interface, keys in memory, key timing.
//! - [`bind`]: BIND's key files.
//! - [`denial`]: the NSEC and NSEC3 chains.
//! - [`incremental`]: signing a change to a signed zone.
//! - [`pkcs11`]: keys in a hardware security module.
//! - [`rollover`]: ZSK rollovers by pre-publication, as key timing.
//! - [`verify`]: the signatures of a signed zone checked before it is published.

pub mod bind;
pub mod denial;
pub mod incremental;
pub mod keys;
pub mod pkcs11;
pub mod rollover;
pub mod verify;

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

use crate::name::Name;
use crate::octets::Octets;
use crate::rdata;
use crate::record::Record;
use crate::rtype::{Class, RecordType};
use crate::zone::Zone;

pub use denial::Denial;
use keys::{KeyError, ZoneKey};

/// How a zone is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// NSEC or NSEC3.
    pub denial: Denial,
    /// How long a signature is valid, in seconds (14 days).
    pub validity: u32,
    /// Up to how much shorter a signature's validity is, by its RRset (2 days).
    pub jitter: u32,
    /// How long before signing a signature is valid from, for clocks behind (1 hour).
    pub inception_offset: u32,
    /// The DNSKEY RRset's TTL (3600).
    pub dnskey_ttl: u32,
    /// Signatures expiring within this many seconds are renewed by an incremental signer (4
    /// days).
    pub refresh: u32,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            denial: Denial::default(),
            validity: 14 * 86_400,
            jitter: 2 * 86_400,
            inception_offset: 3600,
            dnskey_ttl: 3600,
            refresh: 4 * 86_400,
        }
    }
}

/// Why a zone could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The zone has no SOA at its apex.
    #[error("the zone has no SOA record at its apex")]
    NoSoa,
    /// No key with the secure entry point bit, or none without it and no CSK.
    #[error("no key signs {0}: give a KSK and a ZSK, or a CSK")]
    NoKey(&'static str),
    /// Two names hash to one NSEC3 owner (RFC 5155 §7.1: a salt change is the way out).
    #[error("NSEC3 hash collision between {0} and {1}")]
    Collision(String, String),
    /// A key failed to sign.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// The types a signer adds and replaces (the apex's DNSKEY, CDS and CDNSKEY sets too): the
/// zone's own are dropped before signing.
pub fn is_dnssec(record: &Record, origin: &Name) -> bool {
    matches!(
        record.rtype,
        RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3 | RecordType::NSEC3PARAM
    ) || (matches!(
        record.rtype,
        RecordType::DNSKEY | RecordType::CDS | RecordType::CDNSKEY
    ) && record.owner == *origin)
}

/// Signs a zone with `keys` at `now` (seconds since 1970): see the module docs.
pub fn sign_zone(
    zone: &Zone,
    keys: &[ZoneKey],
    policy: &Policy,
    now: u64,
) -> Result<Zone, SignError> {
    Ok(sign_whole(zone, keys, policy, now)?.0)
}

/// [`sign_zone`], and the name each chain record stands for, by owner (what an
/// [`incremental`] signer's state keeps).
pub fn sign_whole(
    zone: &Zone,
    keys: &[ZoneKey],
    policy: &Policy,
    now: u64,
) -> Result<(Zone, BTreeMap<Name, Name>), SignError> {
    let origin = zone.origin().clone();
    let soa = zone.soa().ok_or(SignError::NoSoa)?;
    let (ksks, zsks) = signers(keys, now)?;
    // RFC 9077: the negative TTL is the lower of the SOA's TTL and its MINIMUM.
    let negative_ttl = negative_ttl(soa);
    let mut records: Vec<Record> = zone
        .records()
        .iter()
        .filter(|r| !is_dnssec(r, &origin))
        .cloned()
        .collect();
    records.extend(apex_records(&origin, zone.class(), keys, policy, now));
    let (unsigned, _) = Zone::new(origin.clone(), zone.class(), records);
    let chain = denial::chain(&unsigned, &policy.denial, negative_ttl)?;
    let mut records = unsigned.into_records();
    let mut names = BTreeMap::new();
    for (record, name) in chain {
        names.insert(record.owner.clone(), name);
        records.push(record);
    }
    let (with_chain, _) = Zone::new(origin.clone(), zone.class(), records);

    // The RRsets to sign: everything authoritative, but delegation NS sets.
    let mut jobs: Vec<&[Record]> = Vec::new();
    let mut cut: Option<&Name> = None;
    for node in with_chain.nodes() {
        let owner = &node[0].owner;
        if cut.is_some_and(|c| owner.is_subdomain_of(c) && owner != c) {
            continue;
        }
        let delegation = *owner != origin && node.iter().any(|r| r.rtype == RecordType::NS);
        cut = delegation
            .then_some(owner)
            .or(cut.filter(|c| owner.is_subdomain_of(c)));
        for rrset in node.chunk_by(|a, b| a.rtype == b.rtype) {
            let rtype = rrset[0].rtype;
            let signed = match delegation {
                true => matches!(rtype, RecordType::DS | RecordType::NSEC | RecordType::NSEC3),
                false => true,
            };
            if signed {
                jobs.push(rrset);
            }
        }
    }
    let timing = Validity::new(policy, now);
    let class = zone.class();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let share = jobs.len().div_ceil(threads).max(1);
    let signatures: Vec<Result<Vec<Record>, SignError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = jobs
            .chunks(share)
            .map(|part| {
                let (ksks, zsks, origin, timing) = (&ksks, &zsks, &origin, &timing);
                scope.spawn(move || {
                    let mut out = Vec::with_capacity(part.len());
                    for rrset in part {
                        let signers = match rrset[0].rtype {
                            // RFC 7344 §4.1: CDS and CDNSKEY by a key the parent's DS
                            // names, as the DNSKEY set.
                            RecordType::DNSKEY | RecordType::CDS | RecordType::CDNSKEY
                                if rrset[0].owner == *origin =>
                            {
                                ksks
                            }
                            _ => zsks,
                        };
                        for key in signers {
                            out.push(rrsig(rrset, key, origin, class, timing)?);
                        }
                    }
                    Ok(out)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a signing thread panicked"))
            .collect()
    });
    let mut records = with_chain.into_records();
    for part in signatures {
        records.extend(part?);
    }
    let (signed, _) = Zone::new(origin, class, records);
    Ok((signed, names))
}

/// The keys that sign at `now`: the active KSKs (the DNSKEY, CDS and CDNSKEY sets), and the
/// active ZSKs (everything else; with none, the KSKs sign everything: a CSK).
fn signers(keys: &[ZoneKey], now: u64) -> Result<(Vec<&ZoneKey>, Vec<&ZoneKey>), SignError> {
    let active: Vec<&ZoneKey> = keys.iter().filter(|k| k.timing.active(now)).collect();
    let ksks: Vec<&ZoneKey> = active.iter().copied().filter(|k| k.is_sep()).collect();
    let zsks: Vec<&ZoneKey> = match active
        .iter()
        .copied()
        .filter(|k| !k.is_sep())
        .collect::<Vec<_>>()
    {
        zsks if zsks.is_empty() => ksks.clone(),
        zsks => zsks,
    };
    if ksks.is_empty() {
        return Err(SignError::NoKey("the DNSKEY RRset"));
    }
    if zsks.is_empty() {
        return Err(SignError::NoKey("the zone's data"));
    }
    Ok((ksks, zsks))
}

/// The key tags that sign at `now`: the KSKs' (the DNSKEY, CDS and CDNSKEY sets) and the
/// ZSKs' (everything else; the KSKs' for a CSK).
pub fn signing_tags(
    keys: &[ZoneKey],
    now: u64,
) -> Result<(BTreeSet<u16>, BTreeSet<u16>), SignError> {
    let (ksks, zsks) = signers(keys, now)?;
    let tags = |keys: &[&ZoneKey]| keys.iter().map(|k| k.key_tag()).collect();
    Ok((tags(&ksks), tags(&zsks)))
}

/// The TTL of denial records (RFC 9077): the lower of the SOA's TTL and its MINIMUM.
fn negative_ttl(soa: &Record) -> u32 {
    soa.ttl
        .min(rdata::soa_minimum(&soa.rdata).unwrap_or(soa.ttl))
}

/// The apex records a signer owns at `now`: the DNSKEY set of the published keys, the CDS and
/// CDNSKEY records of the keys whose DS the parent is asked for (RFC 7344, RFC 8078), and the
/// NSEC3PARAM record of an NSEC3 zone.
pub fn apex_records(
    origin: &Name,
    class: Class,
    keys: &[ZoneKey],
    policy: &Policy,
    now: u64,
) -> Vec<Record> {
    let mut records = Vec::new();
    let mut apex = |rtype, ttl, rdata: Vec<u8>| {
        records.push(Record {
            owner: origin.clone(),
            rtype,
            class,
            ttl,
            rdata: Octets::from(rdata),
        })
    };
    for key in keys.iter().filter(|k| k.timing.published(now)) {
        apex(RecordType::DNSKEY, policy.dnskey_ttl, key.dnskey_rdata());
        if key.is_sep() && key.timing.sync(now) {
            apex(RecordType::CDNSKEY, policy.dnskey_ttl, key.dnskey_rdata());
            apex(RecordType::CDS, policy.dnskey_ttl, key.ds_rdata(origin));
        }
    }
    if let Denial::Nsec3 {
        iterations, salt, ..
    } = &policy.denial
    {
        apex(
            RecordType::NSEC3PARAM,
            0,
            denial::nsec3param_rdata(*iterations, salt),
        );
    }
    records
}

/// When signatures made at one time are valid: from an hour (the policy's offset) before,
/// for the policy's validity less a jitter drawn from the RRset's owner and type.
struct Validity {
    inception: u32,
    now: u64,
    validity: u32,
    jitter: u32,
}

impl Validity {
    fn new(policy: &Policy, now: u64) -> Validity {
        Validity {
            inception: now.saturating_sub(u64::from(policy.inception_offset)) as u32,
            now,
            validity: policy.validity,
            jitter: policy.jitter,
        }
    }

    fn expiration(&self, owner: &Name, rtype: RecordType) -> u32 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (owner, rtype.0).hash(&mut hasher);
        let jitter = match self.jitter {
            0 => 0,
            j => hasher.finish() % u64::from(j),
        };
        (self.now + u64::from(self.validity) - jitter) as u32
    }
}

/// The number of labels of an owner for RRSIG (RFC 4034 §3.1.3): the root and a leading `*`
/// do not count.
fn rrsig_labels(owner: &Name) -> u8 {
    let labels = owner.label_count() as u8;
    match owner.is_wildcard() {
        true => labels - 1,
        false => labels,
    }
}

/// The RRSIG of one RRset (RFC 4034 §3.1.8.1: the RRSIG rdata without its signature, then
/// each record in canonical form and order, with the original TTL).
fn rrsig(
    rrset: &[Record],
    key: &ZoneKey,
    origin: &Name,
    class: Class,
    timing: &Validity,
) -> Result<Record, SignError> {
    let first = &rrset[0];
    let mut data = Vec::with_capacity(64 + rrset.len() * 64);
    data.extend_from_slice(&first.rtype.0.to_be_bytes());
    data.push(key.signer.algorithm().number());
    data.push(rrsig_labels(&first.owner));
    data.extend_from_slice(&first.ttl.to_be_bytes());
    data.extend_from_slice(&timing.expiration(&first.owner, first.rtype).to_be_bytes());
    data.extend_from_slice(&timing.inception.to_be_bytes());
    data.extend_from_slice(&key.key_tag().to_be_bytes());
    data.extend_from_slice(&origin.as_wire().to_ascii_lowercase());
    let header = data.len();
    let owner = first.owner.as_wire().to_ascii_lowercase();
    for record in rrset {
        data.extend_from_slice(&owner);
        data.extend_from_slice(&record.rtype.0.to_be_bytes());
        data.extend_from_slice(&class.0.to_be_bytes());
        data.extend_from_slice(&first.ttl.to_be_bytes());
        data.extend_from_slice(&(record.rdata.len() as u16).to_be_bytes());
        data.extend_from_slice(&record.rdata);
    }
    let signature = key.signer.sign(&data)?;
    data.truncate(header);
    data.extend_from_slice(&signature);
    Ok(Record {
        owner: first.owner.clone(),
        rtype: RecordType::RRSIG,
        class,
        ttl: first.ttl,
        rdata: Octets::from(data),
    })
}

#[cfg(test)]
mod tests;
