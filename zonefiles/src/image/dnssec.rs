//! DNSSEC look-ups over an image, for authenticated denial (RFC 4035 §3.1.3, RFC 5155 §7.2):
//! the NSEC record that covers a name, NSEC3 hashing, and the NSEC3 record that matches or
//! covers a hash.
//!
//! The NSEC search runs on the index: "the greatest name at most this one" is a walk of the fst
//! that follows the name's key and backs off to the next smaller branch. The NSEC3 searches
//! are binary searches of the image's table of NSEC3 owners ([`mod@super::nsec3`]), so the
//! delegations that share the apex with the hashed names cost nothing. No allocation for
//! names up to 30 octets.

use ring::digest;

use super::format::{NODE_EMPTY, NODE_OCCLUDED};
use super::{Find, Image, ImageError, Node, index, nsec3};
use crate::name::{MAX_KEY_LEN, Name};
use crate::rtype::RecordType;

/// Node visits one search may take: far more than any real zone needs.
const BUDGET: u32 = 1 << 14;
/// Candidates skipped (names without the record sought) before a search gives up.
const MAX_SKIPS: usize = 64;
/// The length of a SHA-1 NSEC3 hash, the only algorithm defined (RFC 5155 §11).
pub const NSEC3_HASH_LEN: usize = 20;
/// The most NSEC3 iterations hashed; beyond this a zone gets no NSEC3 proofs (RFC 9276 §3.2
/// asks for 0; RFC 5155's own ceiling was 2,500).
pub const MAX_NSEC3_ITERATIONS: u16 = 2500;

/// The NSEC3 parameters of a zone (its NSEC3PARAM record, RFC 5155 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nsec3Params<'a> {
    /// Additional iterations of the hash.
    pub iterations: u16,
    /// The salt.
    pub salt: &'a [u8],
}

impl Nsec3Params<'_> {
    /// The NSEC3 hash of a lower-case wire-format name (RFC 5155 §5).
    pub fn hash(&self, name: &[u8]) -> [u8; NSEC3_HASH_LEN] {
        let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
        ctx.update(name);
        ctx.update(self.salt);
        let mut hash = [0u8; NSEC3_HASH_LEN];
        hash.copy_from_slice(ctx.finish().as_ref());
        for _ in 0..self.iterations {
            let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
            ctx.update(&hash);
            ctx.update(self.salt);
            hash.copy_from_slice(ctx.finish().as_ref());
        }
        hash
    }
}

/// A record found for a proof: its owner and node.
pub type Owned<'a> = (Name, Node<'a>);

/// The base32hex form of a hash (RFC 4648 §7), lower case as in canonical names.
pub fn base32hex(hash: &[u8; NSEC3_HASH_LEN]) -> [u8; 32] {
    const DIGITS: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let mut out = [0u8; 32];
    for (group, chunk) in hash.chunks(5).enumerate() {
        let bits = chunk
            .iter()
            .fold(0u64, |acc, &byte| (acc << 8) | u64::from(byte));
        for i in 0..8 {
            out[group * 8 + i] = DIGITS[((bits >> (35 - 5 * i)) & 31) as usize];
        }
    }
    out
}

impl Image {
    /// True if the zone carries DNSSEC records (RRSIG, NSEC or NSEC3).
    pub fn is_signed(&self) -> bool {
        self.header.flags & super::format::FLAG_DNSSEC != 0
    }

    /// The zone's NSEC3 parameters, when it is signed with NSEC3 (SHA-1, iterations within
    /// [`MAX_NSEC3_ITERATIONS`]); `None` for NSEC zones.
    pub fn nsec3_params(&self) -> Result<Option<Nsec3Params<'_>>, ImageError> {
        let Some(set) = self.apex()?.rrset(RecordType::NSEC3PARAM)? else {
            return Ok(None);
        };
        for rdata in set.records() {
            // algorithm u8 · flags u8 · iterations u16 · salt length u8 · salt
            let rdata = rdata?;
            let [1, 0, i0, i1, len, salt @ ..] = rdata else {
                continue;
            };
            let iterations = u16::from_be_bytes([*i0, *i1]);
            if salt.len() == usize::from(*len) && iterations <= MAX_NSEC3_ITERATIONS {
                return Ok(Some(Nsec3Params { iterations, salt }));
            }
        }
        Ok(None)
    }

    /// The NSEC record that proves `name` does not exist or, for an existing name, its own:
    /// the one at the greatest name at most `name` in canonical order that owns an NSEC. A
    /// name below a zone cut is covered by the cut's NSEC (RFC 4035 §2.3).
    pub fn nsec_covering(&self, name: &Name) -> Result<Option<Owned<'_>>, ImageError> {
        let mut target = [0u8; MAX_KEY_LEN];
        let mut target_len = crate::name::canonical_key_of_wire(name.as_wire(), &mut target);
        let mut inclusive = true;
        let mut key = [0u8; MAX_KEY_LEN];
        for _ in 0..MAX_SKIPS {
            let fst = self.index.as_fst();
            let Some((len, value)) =
                index::last_at_most(fst, &target[..target_len], inclusive, &mut key, BUDGET)
            else {
                return Ok(None);
            };
            let owner =
                Name::from_canonical_key(&key[..len]).map_err(|_| ImageError::Corrupt(value))?;
            let flags = value as u8;
            if flags & NODE_OCCLUDED != 0 {
                // Glue or data below a cut: the cut's NSEC covers it.
                if let Find::Referral { cut, offset } | Find::Dname { owner: cut, offset } =
                    self.find(&owner)?
                {
                    let cut_name = Name::from_wire(&owner.as_wire()[offset..])
                        .map_err(|_| ImageError::Corrupt(value))?
                        .0;
                    if cut.rrset(RecordType::NSEC)?.is_some() {
                        return Ok(Some((cut_name, cut)));
                    }
                }
            } else if flags & NODE_EMPTY == 0 {
                let node = self.node_at(value);
                if node.rrset(RecordType::NSEC)?.is_some() {
                    return Ok(Some((owner, node)));
                }
            }
            target[..len].copy_from_slice(&key[..len]);
            target_len = len;
            inclusive = false;
        }
        Ok(None)
    }

    /// The NSEC3 record whose owner is the hash `hash` (RFC 5155 §7.2: "matches").
    pub fn nsec3_matching(
        &self,
        hash: &[u8; NSEC3_HASH_LEN],
    ) -> Result<Option<Owned<'_>>, ImageError> {
        let Some(value) = self.nsec3_table()?.matching(hash) else {
            return Ok(None);
        };
        Ok(Some((
            nsec3::owner(self.origin(), hash)?,
            self.node_at(value),
        )))
    }

    /// The NSEC3 record whose owner hash comes before `hash` and whose next hash comes after
    /// it, wrapping around the end of the chain (RFC 5155 §7.2: "covers"). Call it for a hash
    /// that has no matching record.
    pub fn nsec3_covering(
        &self,
        hash: &[u8; NSEC3_HASH_LEN],
    ) -> Result<Option<Owned<'_>>, ImageError> {
        match self.nsec3_before(Some(hash), |_| true)? {
            Some(found) => Ok(Some(found)),
            // Before the first hash: the last record of the chain covers it.
            None => self.nsec3_before(None, |_| true),
        }
    }

    /// The NSEC3 record with the greatest owner hash below `hash` (with `None`, the greatest
    /// of all) among the owners `accept` takes: a zone served as an image with overlays
    /// skips the owners an overlay answers for. `None` when there is none below.
    pub fn nsec3_before(
        &self,
        hash: Option<&[u8; NSEC3_HASH_LEN]>,
        mut accept: impl FnMut(&Name) -> bool,
    ) -> Result<Option<Owned<'_>>, ImageError> {
        for (hash, value) in self.nsec3_table()?.before(hash) {
            let owner = nsec3::owner(self.origin(), &hash)?;
            if accept(&owner) {
                return Ok(Some((owner, self.node_at(value))));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5155 Appendix A: example. with salt aabbccdd and 12 iterations.
    #[test]
    fn hashes_match_rfc5155_appendix_a() {
        let params = Nsec3Params {
            iterations: 12,
            salt: &[0xaa, 0xbb, 0xcc, 0xdd],
        };
        let example: Name = "example.".parse().unwrap();
        assert_eq!(
            &base32hex(&params.hash(example.as_wire())),
            b"0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"
        );
        let a: Name = "a.example.".parse().unwrap();
        assert_eq!(
            &base32hex(&params.hash(a.as_wire())),
            b"35mthgpgcu1qg68fab165klnsnk3dpvl"
        );
    }
}
