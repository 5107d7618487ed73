//! The table of NSEC3 owners: every NSEC3 record's owner hash in hash order, with its index
//! value, written into the image at compile time, so that the NSEC3 records of a denial proof
//! (RFC 5155 §7.2) are found by a binary search instead of a walk of the fst.
//!
//! A referral to an insecure delegation in an opt-out zone, asked with DO, carries two NSEC3
//! records: the closest encloser's and the one covering the next closer name. The one that
//! covers is the greatest owner hash below a hash, which the fst can only give by a walk that
//! follows the hash's key and backs off branch by branch: on a signed TLD that walk was 40% of
//! the CPU of a DO=1 query. Here it is a binary search over fixed-size entries: about 20 probes
//! at a million NSEC3 records, the last few in one or two cache lines.
//!
//! Base32hex keeps the order of the bytes it encodes (RFC 4648 §7), so the raw hashes' order is
//! the canonical order of the owner names.
//!
//! # Layout (the image's `nsec3` section, format version 5)
//!
//! ```text
//! entries, in ascending hash order, no two alike:
//!   hash [u8; 20] · index value u40 LE (node offset × 256 + flags, as the fst's)
//! ```
//!
//! Only owners right below the apex whose label is a base32hex SHA-1 hash and that own an
//! NSEC3 RRset are entries. Images of versions 3 and 4 have no section: the table is built in
//! memory from the index the first time a proof needs it (one pass over the names below the
//! apex), so that opening such an image still reads only its header.

use super::dnssec::{NSEC3_HASH_LEN, base32hex};
use super::{CompileError, Image, ImageError, format, index};
use crate::name::{MAX_KEY_LEN, Name, canonical_key_of_wire};
use crate::rtype::RecordType;

/// Bytes of an entry: the hash and the index value.
const ENTRY: usize = NSEC3_HASH_LEN + 5;

/// The hash a label stands for, if it is 32 base32hex digits (either case).
pub(super) fn hash_of_label(label: &[u8]) -> Option<[u8; NSEC3_HASH_LEN]> {
    let mut digits: [u8; 32] = label.try_into().ok()?;
    digits.make_ascii_uppercase();
    let mut hash = [0u8; NSEC3_HASH_LEN];
    data_encoding::BASE32HEX_NOPAD
        .decode_mut(&digits, &mut hash)
        .ok()?;
    Some(hash)
}

/// The NSEC3 owner `name` stands for: its hash, if it is right below `origin` and its label is
/// a hash.
pub(super) fn hash_of_owner(name: &Name, origin: &Name) -> Option<[u8; NSEC3_HASH_LEN]> {
    let wire = name.as_wire();
    let label = &wire[1..1 + usize::from(wire[0])];
    if name.label_count() != origin.label_count() + 1
        || &wire[1 + label.len()..] != origin.as_wire()
    {
        return None;
    }
    hash_of_label(label)
}

/// The owners as the compiler (or an older image's index) gives them, then the section.
#[derive(Default)]
pub(super) struct Nsec3Writer {
    entries: Vec<([u8; NSEC3_HASH_LEN], u64)>,
}

impl Nsec3Writer {
    /// Adds the owner with this hash and index value.
    pub(super) fn add(
        &mut self,
        hash: [u8; NSEC3_HASH_LEN],
        value: u64,
    ) -> Result<(), CompileError> {
        if value >> 40 != 0 {
            return Err(CompileError::TooLarge);
        }
        self.entries.push((hash, value));
        Ok(())
    }

    /// The section's bytes: the entries in hash order.
    pub(super) fn finish(mut self) -> Vec<u8> {
        // Names come in canonical order, which is hash order already; a sort keeps the table
        // sound whatever order they came in.
        self.entries.sort_unstable();
        self.entries.dedup_by_key(|(hash, _)| *hash);
        let mut out = Vec::with_capacity(self.entries.len() * ENTRY);
        for (hash, value) in &self.entries {
            out.extend_from_slice(hash);
            out.extend_from_slice(&value.to_le_bytes()[..5]);
        }
        out
    }
}

/// The `nsec3` section of an open image, or the table built for an image without one.
pub(super) struct Nsec3Table<'a> {
    bytes: &'a [u8],
}

impl<'a> Nsec3Table<'a> {
    /// The table in `bytes`, if they are whole entries.
    pub(super) fn new(bytes: &'a [u8]) -> Result<Nsec3Table<'a>, ImageError> {
        if !bytes.len().is_multiple_of(ENTRY) {
            return Err(ImageError::Corrupt(0));
        }
        Ok(Nsec3Table { bytes })
    }

    fn len(&self) -> usize {
        self.bytes.len() / ENTRY
    }

    fn hash(&self, i: usize) -> &'a [u8] {
        &self.bytes[i * ENTRY..i * ENTRY + NSEC3_HASH_LEN]
    }

    fn value(&self, i: usize) -> u64 {
        let mut value = [0u8; 8];
        value[..5].copy_from_slice(&self.bytes[i * ENTRY + NSEC3_HASH_LEN..(i + 1) * ENTRY]);
        u64::from_le_bytes(value)
    }

    /// How many entries have a hash below `hash` (all of them for `None`).
    fn below(&self, hash: Option<&[u8; NSEC3_HASH_LEN]>) -> usize {
        let Some(hash) = hash else {
            return self.len();
        };
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let mid = low + (high - low) / 2;
            if self.hash(mid) < &hash[..] {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        low
    }

    /// The index value of the owner whose hash is `hash`.
    pub(super) fn matching(&self, hash: &[u8; NSEC3_HASH_LEN]) -> Option<u64> {
        let at = self.below(Some(hash));
        (at < self.len() && self.hash(at) == hash).then(|| self.value(at))
    }

    /// The owners with a hash below `hash` (with `None`, every owner), greatest first: each
    /// hash and index value.
    pub(super) fn before(
        &self,
        hash: Option<&[u8; NSEC3_HASH_LEN]>,
    ) -> impl Iterator<Item = ([u8; NSEC3_HASH_LEN], u64)> + '_ {
        (0..self.below(hash)).rev().map(|i| {
            let hash = self.hash(i).try_into().expect("an entry's hash");
            (hash, self.value(i))
        })
    }
}

impl Image {
    /// The table of NSEC3 owners: the image's section or, for an older image, the one built
    /// from its index (the first call builds it).
    pub(super) fn nsec3_table(&self) -> Result<Nsec3Table<'_>, ImageError> {
        if self.header.version >= format::NSEC3_SINCE {
            return Nsec3Table::new(self.section(self.header.nsec3_section));
        }
        if let Some(built) = self.nsec3_built.get() {
            return Nsec3Table::new(built);
        }
        let built = self.nsec3_from_index()?;
        Nsec3Table::new(self.nsec3_built.get_or_init(|| built))
    }

    /// The table's bytes as the index gives them: every name right below the apex whose
    /// label is a hash and that owns an NSEC3 RRset. One pass over those names.
    pub(super) fn nsec3_from_index(&self) -> Result<Vec<u8>, ImageError> {
        let mut prefix = [0u8; MAX_KEY_LEN];
        let prefix_len = canonical_key_of_wire(self.origin().as_wire(), &mut prefix);
        let mut writer = Nsec3Writer::default();
        self.for_each_key(
            &prefix[..prefix_len],
            index::Depth::Children,
            |name, value| {
                if let Some(hash) = hash_of_owner(name, self.origin())
                    && self.node_at(value).rrset(RecordType::NSEC3)?.is_some()
                {
                    writer
                        .add(hash, value)
                        .map_err(|_| ImageError::Corrupt(value))?;
                }
                Ok(())
            },
        )?;
        Ok(writer.finish())
    }

    /// Checks that the `nsec3` section holds exactly the table the index gives.
    pub(super) fn verify_nsec3(&self) -> Result<(), ImageError> {
        if self.header.version >= format::NSEC3_SINCE
            && self.nsec3_from_index()? != self.section(self.header.nsec3_section)
        {
            return Err(ImageError::Corrupt(self.header.nsec3_section.offset));
        }
        Ok(())
    }
}

/// The owner name of an NSEC3 hash in the zone `origin`.
pub(super) fn owner(origin: &Name, hash: &[u8; NSEC3_HASH_LEN]) -> Result<Name, ImageError> {
    origin
        .child(&base32hex(hash))
        .map_err(|_| ImageError::Corrupt(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_decode_to_the_hashes_they_encode() {
        let hash: [u8; NSEC3_HASH_LEN] = std::array::from_fn(|i| (i * 37 + 5) as u8);
        let label = base32hex(&hash);
        assert_eq!(hash_of_label(&label), Some(hash));
        assert_eq!(hash_of_label(&label.to_ascii_uppercase()), Some(hash));
        assert_eq!(hash_of_label(&label[..31]), None);
        let mut bad = label;
        bad[7] = b'w';
        assert_eq!(hash_of_label(&bad), None);
    }

    #[test]
    fn searches_find_the_match_and_the_greatest_below() {
        let hashes: Vec<[u8; NSEC3_HASH_LEN]> = [30u8, 10, 20]
            .iter()
            .map(|&b| [b; NSEC3_HASH_LEN])
            .collect();
        let mut writer = Nsec3Writer::default();
        for (i, hash) in hashes.iter().enumerate() {
            writer.add(*hash, i as u64 + 100).unwrap();
        }
        let bytes = writer.finish();
        let table = Nsec3Table::new(&bytes).unwrap();
        assert_eq!(table.matching(&[20; NSEC3_HASH_LEN]), Some(102));
        assert_eq!(table.matching(&[21; NSEC3_HASH_LEN]), None);
        let below: Vec<u64> = table
            .before(Some(&[25; NSEC3_HASH_LEN]))
            .map(|e| e.1)
            .collect();
        assert_eq!(below, [102, 101]);
        assert_eq!(table.before(Some(&[10; NSEC3_HASH_LEN])).count(), 0);
        assert_eq!(table.before(None).next().map(|e| e.1), Some(100));
        assert!(Nsec3Table::new(&bytes[1..]).is_err());
    }
}
