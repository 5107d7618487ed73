//! Authenticated denial of existence: the NSEC chain (RFC 4034 §4, RFC 4035 §2.3) and the NSEC3
//! chain (RFC 5155 §7.1), built over a zone whose DNSKEY (and NSEC3PARAM) records are already
//! in place.
//!
//! Which names a chain holds: every authoritative name and every delegation point, not the
//! names below a delegation (glue). NSEC3 also holds the empty non-terminals (names with
//! nothing of their own but names below them), and with opt-out leaves out the delegations
//! without DS and the empty non-terminals that only lead to them: in a TLD, where most
//! delegations are unsigned, the chain is as long as the signed delegations plus the apex.
//! A name's bitmap lists its types, plus RRSIG where something there is signed, plus NSEC for
//! NSEC (whose own record is signed there).

use std::collections::BTreeSet;

use crate::image::{NSEC3_HASH_LEN, Nsec3Params, base32hex};
use crate::name::Name;
use crate::octets::Octets;
use crate::rdata;
use crate::record::Record;
use crate::rtype::RecordType;
use crate::zone::Zone;

use super::SignError;

/// The kind of denial of existence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// NSEC (RFC 4034): small zones, where walking the names reveals nothing secret.
    Nsec,
    /// NSEC3 (RFC 5155): hashed names.
    Nsec3 {
        /// Extra hash iterations (RFC 9276: 0).
        iterations: u16,
        /// The salt (RFC 9276: none).
        salt: Vec<u8>,
        /// Opt-out: unsigned delegations are left out of the chain (a TLD's default).
        opt_out: bool,
    },
}

impl Default for Denial {
    /// NSEC3 with opt-out, no extra iteration and no salt: a TLD's default.
    fn default() -> Denial {
        Denial::Nsec3 {
            iterations: 0,
            salt: Vec::new(),
            opt_out: true,
        }
    }
}

/// NSEC3PARAM rdata: SHA-1, no flags, iterations, salt.
pub fn nsec3param_rdata(iterations: u16, salt: &[u8]) -> Vec<u8> {
    let mut out = vec![1, 0];
    out.extend_from_slice(&iterations.to_be_bytes());
    out.push(salt.len() as u8);
    out.extend_from_slice(salt);
    out
}

/// One name of a chain, with what its bitmap lists.
struct Entry {
    name: Name,
    types: Vec<RecordType>,
}

/// The names a chain covers, in canonical order, with their types (RRSIG added where
/// something is signed); delegations without DS too, marked by their types (NS, no DS).
fn entries(zone: &Zone) -> Vec<Entry> {
    let origin = zone.origin();
    let mut out = Vec::new();
    let mut cut: Option<Name> = None;
    for node in zone.nodes() {
        let owner = &node[0].owner;
        if cut.as_ref().is_some_and(|c| owner.is_subdomain_of(c)) {
            continue;
        }
        let mut types: Vec<RecordType> = node
            .chunk_by(|a, b| a.rtype == b.rtype)
            .map(|r| r[0].rtype)
            .collect();
        let delegation = owner != origin && types.contains(&RecordType::NS);
        cut = delegation.then(|| owner.clone());
        let signed = !delegation || types.contains(&RecordType::DS);
        if signed {
            types.push(RecordType::RRSIG);
            types.sort();
        }
        out.push(Entry {
            name: owner.clone(),
            types,
        });
    }
    out
}

/// True for an entry opt-out leaves out: a delegation without DS.
fn insecure_delegation(entry: &Entry) -> bool {
    entry.types.contains(&RecordType::NS)
        && !entry.types.contains(&RecordType::SOA)
        && !entry.types.contains(&RecordType::DS)
}

/// NSEC rdata: the next name, then the bitmap of `types` (sorted, NSEC and RRSIG among them).
pub fn nsec_rdata(next: &Name, types: &[RecordType]) -> Vec<u8> {
    let mut rdata = next.as_wire().to_ascii_lowercase();
    rdata::encode_bitmap(types, &mut rdata);
    rdata
}

/// NSEC3 rdata: SHA-1, the opt-out flag, the parameters, the next hash and the bitmap.
pub fn nsec3_rdata(
    iterations: u16,
    salt: &[u8],
    opt_out: bool,
    next: &[u8; NSEC3_HASH_LEN],
    types: &[RecordType],
) -> Vec<u8> {
    let mut rdata = vec![1, u8::from(opt_out)];
    rdata.extend_from_slice(&iterations.to_be_bytes());
    rdata.push(salt.len() as u8);
    rdata.extend_from_slice(salt);
    rdata.push(NSEC3_HASH_LEN as u8);
    rdata.extend_from_slice(next);
    rdata::encode_bitmap(types, &mut rdata);
    rdata
}

/// The owner of the NSEC3 record of `name`: its hash in base32hex below `origin`.
pub fn nsec3_owner(origin: &Name, iterations: u16, salt: &[u8], name: &Name) -> Name {
    let params = Nsec3Params { iterations, salt };
    let label = base32hex(&params.hash(&name.as_wire().to_ascii_lowercase()));
    origin
        .child(&label)
        .expect("a 32-octet label below the origin")
}

/// The chain's records (NSEC or NSEC3), each with the negative TTL `ttl` and the name it
/// stands for (an NSEC3 record's owner is that name hashed).
pub fn chain(zone: &Zone, denial: &Denial, ttl: u32) -> Result<Vec<(Record, Name)>, SignError> {
    let entries = entries(zone);
    let class = zone.class();
    let record = |owner: Name, rtype, rdata: Vec<u8>| Record {
        owner,
        rtype,
        class,
        ttl,
        rdata: Octets::from(rdata),
    };
    match denial {
        Denial::Nsec => {
            let mut out = Vec::with_capacity(entries.len());
            for (i, entry) in entries.iter().enumerate() {
                let next = &entries[(i + 1) % entries.len()].name;
                let mut types = entry.types.clone();
                types.extend([RecordType::NSEC, RecordType::RRSIG]);
                types.sort();
                types.dedup();
                let rdata = nsec_rdata(next, &types);
                out.push((
                    record(entry.name.clone(), RecordType::NSEC, rdata),
                    entry.name.clone(),
                ));
            }
            Ok(out)
        }
        Denial::Nsec3 {
            iterations,
            salt,
            opt_out,
        } => {
            let origin = zone.origin();
            let kept: Vec<&Entry> = entries
                .iter()
                .filter(|e| !(*opt_out && insecure_delegation(e)))
                .collect();
            // Empty non-terminals above the names kept.
            let existing: BTreeSet<&Name> = entries.iter().map(|e| &e.name).collect();
            let mut empty: BTreeSet<Name> = BTreeSet::new();
            for entry in &kept {
                let mut name = entry.name.parent();
                while let Some(n) = name {
                    if !n.is_subdomain_of(origin) || n == *origin || existing.contains(&n) {
                        break;
                    }
                    name = n.parent();
                    empty.insert(n);
                }
            }
            let params = Nsec3Params {
                iterations: *iterations,
                salt,
            };
            let mut hashed: Vec<([u8; 20], &Name, &[RecordType])> = kept
                .iter()
                .map(|e| (&e.name, e.types.as_slice()))
                .chain(empty.iter().map(|n| (n, &[][..])))
                .map(|(name, types)| {
                    (
                        params.hash(&name.as_wire().to_ascii_lowercase()),
                        name,
                        types,
                    )
                })
                .collect();
            hashed.sort_unstable_by_key(|h| h.0);
            for pair in hashed.windows(2) {
                if pair[0].0 == pair[1].0 {
                    return Err(SignError::Collision(
                        pair[0].1.to_string(),
                        pair[1].1.to_string(),
                    ));
                }
            }
            let mut out = Vec::with_capacity(hashed.len());
            for (i, (hash, name, types)) in hashed.iter().enumerate() {
                let next = &hashed[(i + 1) % hashed.len()].0;
                let rdata = nsec3_rdata(*iterations, salt, *opt_out, next, types);
                let label = base32hex(hash);
                let owner = origin
                    .child(&label)
                    .expect("a 32-octet label below the origin");
                out.push((record(owner, RecordType::NSEC3, rdata), (*name).clone()));
            }
            Ok(out)
        }
    }
}
