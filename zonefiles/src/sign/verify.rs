//! Checking a signed zone before it is published (the publication checks of `control-plane
//! export` and `report zone-file`): every RRset that must be signed carries a signature that
//! verifies (`ring`) by a key of the zone's DNSKEY set and is valid at the given time, the
//! DNSKEY set by a key with the secure entry point bit, and the NSEC3 chain is a ring in hash
//! order. What BIND's `dnssec-verify` checks of the signatures, without the walk of every name
//! the chain must cover (the signer builds that; its tests check it against BIND's).
//!
//! Cost: one signature verification per signed RRset (about 50 µs for ECDSA P-256 on one core
//! of the reference machine, 10 µs for Ed25519), made on every core.

use std::collections::HashMap;

use ring::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};

use crate::name::Name;
use crate::record::Record;
use crate::rtype::RecordType;
use crate::zone::Zone;

/// The most problems reported (a zone signed with the wrong key would list every RRset).
pub const MAX_PROBLEMS: usize = 20;

/// Something wrong with a signed zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The RRset's owner.
    pub owner: Name,
    /// Its type.
    pub rtype: RecordType,
    /// What is wrong.
    pub why: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.owner, self.rtype, self.why)
    }
}

/// What [`verify_zone`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verified {
    /// Signatures checked.
    pub signatures: usize,
    /// RRsets that must be signed.
    pub rrsets: usize,
    /// Problems, the first [`MAX_PROBLEMS`]; none for a zone fit to publish.
    pub problems: Vec<Problem>,
    /// Problems in all.
    pub problem_count: usize,
}

/// A zone key as its DNSKEY record gives it.
struct Key {
    flags: u16,
    algorithm: u8,
    public: Vec<u8>,
}

/// One RRset to check: the records, and its signatures.
struct Job<'a> {
    rrset: &'a [Record],
    sigs: Vec<&'a Record>,
    by_sep: bool,
}

/// Checks `zone`'s signatures at `now` (seconds since 1970; see the module docs). An
/// unsigned zone (no DNSKEY at its apex) has nothing to check.
pub fn verify_zone(zone: &Zone, now: u32) -> Verified {
    let origin = zone.origin();
    let mut keys: HashMap<u16, Vec<Key>> = HashMap::new();
    for record in zone.records() {
        if record.rtype == RecordType::DNSKEY && record.owner == *origin && record.rdata.len() > 4 {
            let tag = super::keys::key_tag(&record.rdata);
            keys.entry(tag).or_default().push(Key {
                flags: u16::from_be_bytes([record.rdata[0], record.rdata[1]]),
                algorithm: record.rdata[3],
                public: record.rdata[4..].to_vec(),
            });
        }
    }
    let mut out = Verified::default();
    if keys.is_empty() {
        return out;
    }
    let problem = |out: &mut Verified, owner: &Name, rtype: RecordType, why: String| {
        out.problem_count += 1;
        if out.problems.len() < MAX_PROBLEMS {
            out.problems.push(Problem {
                owner: owner.clone(),
                rtype,
                why,
            });
        }
    };
    // The RRsets that must be signed, with their signatures.
    let mut jobs: Vec<Job<'_>> = Vec::new();
    let mut cut: Option<&Name> = None;
    for node in zone.nodes() {
        let owner = &node[0].owner;
        if cut.is_some_and(|c| owner.is_subdomain_of(c) && owner != c) {
            continue;
        }
        let delegation = owner != origin && node.iter().any(|r| r.rtype == RecordType::NS);
        cut = delegation
            .then_some(owner)
            .or(cut.filter(|c| owner.is_subdomain_of(c)));
        let sigs: Vec<&Record> = node
            .iter()
            .filter(|r| r.rtype == RecordType::RRSIG)
            .collect();
        for rrset in node.chunk_by(|a, b| a.rtype == b.rtype) {
            let rtype = rrset[0].rtype;
            let signed = match delegation {
                true => matches!(rtype, RecordType::DS | RecordType::NSEC | RecordType::NSEC3),
                false => rtype != RecordType::RRSIG,
            };
            if !signed {
                continue;
            }
            let covering: Vec<&Record> = sigs
                .iter()
                .copied()
                .filter(|s| s.rdata.get(..2) == Some(&rtype.0.to_be_bytes()[..]))
                .collect();
            if covering.is_empty() {
                problem(&mut out, owner, rtype, "not signed".into());
                continue;
            }
            jobs.push(Job {
                rrset,
                sigs: covering,
                by_sep: owner == origin
                    && matches!(
                        rtype,
                        RecordType::DNSKEY | RecordType::CDS | RecordType::CDNSKEY
                    ),
            });
        }
    }
    out.rrsets = jobs.len();
    // Verified on every core.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let share = jobs.len().div_ceil(threads).max(1);
    let results: Vec<Vec<(usize, Option<String>)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = jobs
            .chunks(share)
            .enumerate()
            .map(|(part, chunk)| {
                let keys = &keys;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .enumerate()
                        .map(|(i, job)| (part * share + i, check(job, keys, now)))
                        .collect()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a verifying thread panicked"))
            .collect()
    });
    for (i, why) in results.into_iter().flatten() {
        out.signatures += jobs[i].sigs.len();
        if let Some(why) = why {
            let first = &jobs[i].rrset[0];
            problem(&mut out, &first.owner, first.rtype, why);
        }
    }
    // The NSEC3 chain: each record's next hash is the following owner's, round the ring.
    let mut chain: Vec<(&[u8], Vec<u8>, &Name)> = Vec::new();
    for record in zone.records() {
        if record.rtype != RecordType::NSEC3 {
            continue;
        }
        let label = record.owner.labels().next().unwrap_or_default();
        let Some(next) = nsec3_next(&record.rdata) else {
            problem(
                &mut out,
                &record.owner,
                record.rtype,
                "rdata does not parse".into(),
            );
            continue;
        };
        chain.push((label, next, &record.owner));
    }
    chain.sort_by(|a, b| a.0.cmp(b.0));
    for (i, (_, next, owner)) in chain.iter().enumerate() {
        let following = chain[(i + 1) % chain.len()].0;
        let decoded = data_encoding::BASE32HEX_NOPAD.decode(&following.to_ascii_uppercase());
        if decoded.as_deref() != Ok(&next[..]) {
            problem(
                &mut out,
                owner,
                RecordType::NSEC3,
                "its next hash is not the following owner's: the chain is broken".into(),
            );
        }
    }
    out
}

/// An NSEC3 record's next hashed owner.
fn nsec3_next(rdata: &[u8]) -> Option<Vec<u8>> {
    let salt = usize::from(*rdata.get(4)?);
    let len = usize::from(*rdata.get(5 + salt)?);
    rdata.get(6 + salt..6 + salt + len).map(<[u8]>::to_vec)
}

/// `None` if one of a job's signatures verifies and is valid at `now`; otherwise why not.
fn check(job: &Job<'_>, keys: &HashMap<u16, Vec<Key>>, now: u32) -> Option<String> {
    let mut why = String::from("no signature");
    for sig in &job.sigs {
        match verify_one(job.rrset, sig, keys, now, job.by_sep) {
            Ok(()) => return None,
            Err(e) => why = e,
        }
    }
    Some(why)
}

/// Verifies one RRSIG over an RRset (RFC 4035 §5.3).
fn verify_one(
    rrset: &[Record],
    sig: &Record,
    keys: &HashMap<u16, Vec<Key>>,
    now: u32,
    by_sep: bool,
) -> Result<(), String> {
    let rdata = &sig.rdata[..];
    if rdata.len() < 19 {
        return Err("an RRSIG too short".into());
    }
    let algorithm = rdata[2];
    let original_ttl = &rdata[4..8];
    let expiration = u32::from_be_bytes([rdata[8], rdata[9], rdata[10], rdata[11]]);
    let inception = u32::from_be_bytes([rdata[12], rdata[13], rdata[14], rdata[15]]);
    let tag = u16::from_be_bytes([rdata[16], rdata[17]]);
    let signer_len = crate::name::wire_name_len(&rdata[18..])
        .map_err(|_| "an RRSIG's signer name does not parse".to_string())?;
    let header = 18 + signer_len;
    let signature = &rdata[header..];
    // RFC 1982 serial arithmetic: times wrap in 2106.
    if (now.wrapping_sub(inception) as i32) < 0 {
        return Err(format!("signed by key {tag}, not valid until {inception}"));
    }
    if (expiration.wrapping_sub(now) as i32) < 0 {
        return Err(format!("signed by key {tag}, expired at {expiration}"));
    }
    let candidates = keys
        .get(&tag)
        .ok_or_else(|| format!("signed by key {tag}, which is not in the DNSKEY set"))?;
    let mut data = rdata[..header].to_vec();
    let owner = rrset[0].owner.as_wire().to_ascii_lowercase();
    let mut sorted: Vec<&Record> = rrset.iter().collect();
    sorted.sort_by(|a, b| a.rdata.cmp(&b.rdata));
    for record in sorted {
        data.extend_from_slice(&owner);
        data.extend_from_slice(&record.rtype.0.to_be_bytes());
        data.extend_from_slice(&record.class.0.to_be_bytes());
        data.extend_from_slice(original_ttl);
        data.extend_from_slice(&(record.rdata.len() as u16).to_be_bytes());
        data.extend_from_slice(&record.rdata);
    }
    let mut last = format!("signed by key {tag} with algorithm {algorithm}, not one of ours");
    for key in candidates.iter().filter(|k| k.algorithm == algorithm) {
        if by_sep && key.flags & 1 == 0 {
            last = format!("the DNSKEY set is signed by key {tag}, which is not a KSK");
            continue;
        }
        let verified = match algorithm {
            13 => {
                let point = [&[4u8][..], &key.public].concat();
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(&data, signature)
            }
            15 => UnparsedPublicKey::new(&ED25519, &key.public).verify(&data, signature),
            _ => {
                last = format!("algorithm {algorithm} is not checked here");
                continue;
            }
        };
        match verified {
            Ok(()) => return Ok(()),
            Err(_) => last = format!("the signature by key {tag} does not verify"),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::octets::Octets;
    use crate::rtype::Class;
    use crate::sign::keys::{Algorithm, KeyPair, SECURE_ENTRY_POINT, ZONE_KEY, ZoneKey};
    use crate::sign::{Policy, sign_zone};

    const NOW: u64 = 1_800_000_000;

    fn zone() -> Zone {
        let text = "\
tld. 3600 IN SOA ns.tld. hostmaster.tld. 1 3600 900 604800 300
tld. 3600 IN NS ns.tld.
ns.tld. 3600 IN A 192.0.2.1
a.tld. 3600 IN NS ns.example.
a.tld. 3600 IN DS 1 13 2 0000000000000000000000000000000000000000000000000000000000000000
b.tld. 3600 IN NS ns.b.tld.
ns.b.tld. 3600 IN A 192.0.2.2
";
        let origin: Name = "tld.".parse().unwrap();
        let options = crate::master::ParseOptions {
            origin: Some(origin.clone()),
            ..Default::default()
        };
        let records = crate::master::Reader::from_bytes("t", text.as_bytes().to_vec(), options)
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        Zone::new(origin, Class::IN, records).0
    }

    fn signed(algorithm: Algorithm) -> Zone {
        let key = |flags| ZoneKey::new(flags, Box::new(KeyPair::generate(algorithm).unwrap()));
        let keys = [key(SECURE_ENTRY_POINT), key(ZONE_KEY)];
        sign_zone(&zone(), &keys, &Policy::default(), NOW).unwrap()
    }

    #[test]
    fn a_zone_signed_here_verifies_and_a_changed_byte_does_not() {
        for algorithm in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            let zone = signed(algorithm);
            let good = verify_zone(&zone, NOW as u32);
            assert!(good.problems.is_empty(), "{:?}", good.problems);
            assert!(good.signatures >= 6, "{good:?}");
            // The glue changed after signing: not signed, so still fine; the DS changed: not.
            let mut records = zone.records().to_vec();
            let ds = records
                .iter_mut()
                .find(|r| r.rtype == RecordType::DS)
                .unwrap();
            let mut rdata = ds.rdata.to_vec();
            rdata[5] ^= 1;
            ds.rdata = Octets::from(rdata);
            let (bad, _) = Zone::new(zone.origin().clone(), Class::IN, records);
            let found = verify_zone(&bad, NOW as u32);
            assert_eq!(found.problem_count, 1, "{:?}", found.problems);
            assert!(found.problems[0].why.contains("does not verify"));
            // Too late: every signature has expired.
            let late = verify_zone(&zone, NOW as u32 + 30 * 86_400);
            assert!(late.problem_count >= 6, "{late:?}");
            assert!(late.problems[0].why.contains("expired"));
        }
    }

    #[test]
    fn an_unsigned_rrset_and_a_broken_chain_are_found() {
        let zone = signed(Algorithm::Ed25519);
        let mut records: Vec<Record> = zone
            .records()
            .iter()
            .filter(|r| {
                !(r.rtype == RecordType::RRSIG && r.rdata[..2] == RecordType::DS.0.to_be_bytes())
            })
            .cloned()
            .collect();
        let first = records
            .iter()
            .position(|r| r.rtype == RecordType::NSEC3)
            .unwrap();
        records.remove(first);
        let (bad, _) = Zone::new(zone.origin().clone(), Class::IN, records);
        let found = verify_zone(&bad, NOW as u32);
        let text: Vec<String> = found.problems.iter().map(|p| p.to_string()).collect();
        assert!(
            text.iter().any(|t| t.contains("DS: not signed")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t.contains("chain is broken")),
            "{text:?}"
        );
        assert!(verify_zone(&self::zone(), NOW as u32).problems.is_empty());
    }
}
