//! The table of names right below the apex: a hash table written into the image at compile
//! time, so that [`Image::find`](super::Image::find) answers most TLD queries with one probe
//! instead of a walk of the fst, from the first query after the file is mapped.
//!
//! Nearly every query to a TLD names something at or below a delegation (`www.example.tld`):
//! the label right below the apex decides the answer, and the fst walk to it costs a cache
//! miss per level. The table maps that label to its index value (node offset and flags), so a
//! delegation or DNAME there gives the referral at once, and a label that is not there gives
//! NXDOMAIN at once when the apex has no wildcard. Anything else walks the fst as before.
//!
//! # The table
//!
//! SipHash-1-3 of the label under the table's seed gives a 64-bit hash. The compiler sorts
//! the names by hash and lays them out in that order over `n × 1.25` slots, each at the slot
//! its hash scales to (its home) or, when that is taken, right after the name before it: a
//! linear-probing table whose runs are sorted, built in one sort and one pass. A look-up
//! reads from the label's home on until it meets its hash, a greater one or an empty slot —
//! about three slots of 13 bytes at this load, usually one cache line, where the walk of the
//! fst took a cache miss per level. The longest run is recorded at compile time and bounds
//! every look-up, so no table, however damaged, makes one scan further.
//!
//! The hash stands for the label: a name not in the table is told apart by its hash, and
//! passes for a name of the table only if its 64-bit SipHash is the same, a chance of 2⁻⁶⁴ per
//! look-up (at a million such queries a second, once in 580,000 years) — far below the rate
//! of memory errors. Forcing one takes about 2⁶⁴ SipHash evaluations per name aimed at, since
//! SipHash's output cannot be steered. Two names of the zone with the same hash make the
//! compiler take the next seed. SipHash is keyed and fully specified, so a file compiled on
//! one machine reads the same on any other, and the same zone always compiles to the same
//! bytes.
//!
//! # Layout (the image's `top` section, little-endian)
//!
//! ```text
//!  0  8  seed
//!  8  4  names n
//! 12  4  home slots h (n × 1.25)
//! 16  4  slots past the last home that hold a name pushed there (e)
//! 20  4  the longest distance from a name's home to its slot
//! 24  4  CRC32C of the section's other bytes (0..24, then from 28 on)
//! 28  4  zero
//! 32     slots: (h + e) × (hash u64 · index value u40: node offset × 256 + flags), in hash
//!        order; hash 0 = an empty slot (a real hash of 0 is stored as 1)
//! ```
//!
//! 16.3 bytes per name, against about 45 for the in-memory table built at every start before,
//! and nothing to build when the image is opened.

use siphasher::sip::SipHasher13;
use std::hash::Hasher;

use super::{CompileError, ImageError};

const FIXED: usize = 32;
/// Bytes of a slot: hash and index value.
const SLOT: usize = 13;
/// Seeds tried before giving up: a seed fails when two labels of the zone hash alike, or
/// when a run grows longer than [`MAX_RUN`].
const SEEDS: u64 = 16;
/// The longest run a table may have; at this load the longest is 29 slots in a million names
/// and 33 in ten million.
const MAX_RUN: u32 = 4096;
/// The second SipHash key: constant, so the seed alone makes a table.
const KEY1: u64 = 0x636f_6e73_7465_6c6c;

fn hash(seed: u64, label: &[u8]) -> u64 {
    let mut h = SipHasher13::new_with_keys(seed, KEY1);
    h.write(label);
    h.finish().max(1)
}

/// The home slot of a hash among `homes`: order-preserving, so slots stay in hash order.
fn home(hash: u64, homes: u32) -> usize {
    ((u128::from(hash) * u128::from(homes)) >> 64) as usize
}

/// The names right below the apex as the compiler meets them, then written as a section.
/// Each name is held as its label and, for the first seed, its hash and index value: 16 bytes
/// and the label, about 28 bytes a name (280 MB for 10 million delegations).
#[derive(Default)]
pub(super) struct TopWriter {
    /// The labels, each after its length byte, in the order they were added.
    labels: Vec<u8>,
    /// Each name's hash under the seed being tried, and its index value. The values grow in
    /// the order the names are added (node offsets), which gives that order back when a seed
    /// fails and the hashes are taken again.
    hashed: Vec<(u64, u64)>,
}

impl TopWriter {
    /// Adds the name with this label (lower case) and index value, greater than the last.
    pub(super) fn add(&mut self, label: &[u8], value: u64) -> Result<(), CompileError> {
        if value >> 40 != 0 {
            return Err(CompileError::TooLarge);
        }
        assert!(
            self.hashed.last().is_none_or(|&(_, last)| last < value),
            "names below the apex are added in the order of their nodes"
        );
        self.hashed.push((hash(0, label), value));
        self.labels.push(label.len() as u8);
        self.labels.extend_from_slice(label);
        Ok(())
    }

    /// The section's bytes.
    pub(super) fn finish(mut self) -> Result<Vec<u8>, CompileError> {
        let n = self.hashed.len();
        let count = u32::try_from(n).map_err(|_| CompileError::TooLarge)?;
        let homes = u32::try_from(n + n / 4).map_err(|_| CompileError::TooLarge)?;
        'seeds: for seed in 0..SEEDS {
            let hashed = &mut self.hashed;
            if seed > 0 {
                hashed.sort_unstable_by_key(|&(_, value)| value);
                let mut at = 0;
                for entry in hashed.iter_mut() {
                    let len = usize::from(self.labels[at]);
                    entry.0 = hash(seed, &self.labels[at + 1..at + 1 + len]);
                    at += 1 + len;
                }
            }
            hashed.sort_unstable_by_key(|&(h, _)| h);
            // Each name at its home, or right after the name before it: first to learn the
            // table's length (or that the seed fails), then to fill it.
            let slots = || {
                let mut next = 0usize;
                hashed.iter().map(move |&(h, value)| {
                    let slot = home(h, homes).max(next);
                    next = slot + 1;
                    (h, value, slot, (slot - home(h, homes)) as u32)
                })
            };
            let mut longest = 0u32;
            let mut end = 0usize;
            let mut last = 0u64;
            for (h, _, slot, run) in slots() {
                if h == last || run > MAX_RUN {
                    continue 'seeds;
                }
                last = h;
                longest = longest.max(run);
                end = slot + 1;
            }
            let extra = end.saturating_sub(homes as usize) as u32;
            let len = homes as usize + extra as usize;
            let mut out = vec![0u8; FIXED + len * SLOT];
            out[..8].copy_from_slice(&seed.to_le_bytes());
            out[8..12].copy_from_slice(&count.to_le_bytes());
            out[12..16].copy_from_slice(&homes.to_le_bytes());
            out[16..20].copy_from_slice(&extra.to_le_bytes());
            out[20..24].copy_from_slice(&longest.to_le_bytes());
            for (h, value, slot, _) in slots() {
                let at = FIXED + slot * SLOT;
                out[at..at + 8].copy_from_slice(&h.to_le_bytes());
                out[at + 8..at + SLOT].copy_from_slice(&value.to_le_bytes()[..5]);
            }
            let crc = crc(&out);
            out[24..28].copy_from_slice(&crc.to_le_bytes());
            return Ok(out);
        }
        Err(CompileError::TopTable)
    }
}

/// The section's checksum: every byte but its own four.
fn crc(section: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&section[..24]), &section[28..])
}

/// The `top` section of an open image, its bounds checked once when it is opened.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct TopTable {
    seed: u64,
    names: u32,
    homes: u32,
    /// Slots in all: the homes and those past them.
    slots: usize,
    longest: u32,
}

impl TopTable {
    /// Reads the section's header and checks that its slots fill it exactly.
    pub(super) fn read(section: &[u8]) -> Result<TopTable, ImageError> {
        let corrupt = ImageError::Corrupt(0);
        let head = section.get(..FIXED).ok_or(ImageError::Corrupt(0))?;
        let u32_at = |at: usize| u32::from_le_bytes(head[at..at + 4].try_into().expect("4"));
        let table = TopTable {
            seed: u64::from_le_bytes(head[..8].try_into().expect("8")),
            names: u32_at(8),
            homes: u32_at(12),
            slots: u32_at(12) as usize + u32_at(16) as usize,
            longest: u32_at(20),
        };
        if table.homes < table.names
            || table.longest > MAX_RUN
            || FIXED + table.slots * SLOT != section.len()
        {
            return Err(corrupt);
        }
        Ok(table)
    }

    /// Checks the section's CRC32C: reads every byte of it.
    pub(super) fn check(section: &[u8]) -> Result<(), ImageError> {
        match section.get(24..28) {
            Some(stored)
                if section.len() >= FIXED
                    && u32::from_le_bytes(stored.try_into().expect("4")) == crc(section) =>
            {
                Ok(())
            }
            _ => Err(ImageError::Corrupt(0)),
        }
    }

    /// Names in the table.
    pub(super) fn len(&self) -> usize {
        self.names as usize
    }

    /// The index value of the name with this label right below the apex (lower case).
    /// `section` is the bytes [`TopTable::read`] was given; every read is bounds-checked, and
    /// no look-up reads more than the longest run.
    pub(super) fn get(&self, section: &[u8], label: &[u8]) -> Result<Option<u64>, ImageError> {
        self.get_hashed(section, self.hash(label))
    }

    /// The label's hash under this table's seed.
    pub(super) fn hash(&self, label: &[u8]) -> u64 {
        hash(self.seed, label)
    }

    /// Where in the section the look-up of a hash starts reading (None: an empty table).
    pub(super) fn home_at(&self, h: u64) -> Option<usize> {
        (self.names != 0).then(|| FIXED + home(h, self.homes) * SLOT)
    }

    /// [`TopTable::get`] for a label's [`TopTable::hash`].
    pub(super) fn get_hashed(&self, section: &[u8], h: u64) -> Result<Option<u64>, ImageError> {
        if self.names == 0 {
            return Ok(None);
        }
        let first = home(h, self.homes);
        let last = (first + self.longest as usize).min(self.slots - 1);
        for slot in first..=last {
            let (stored, value) = self.slot(section, slot).ok_or(ImageError::Corrupt(0))?;
            if stored == h {
                return Ok(Some(value));
            }
            if stored == 0 || stored > h {
                break;
            }
        }
        Ok(None)
    }

    /// The hash and value in a slot.
    fn slot(&self, section: &[u8], slot: usize) -> Option<(u64, u64)> {
        let at = FIXED + slot * SLOT;
        let bytes = section.get(at..at + SLOT)?;
        let mut value = [0u8; 8];
        value[..5].copy_from_slice(&bytes[8..]);
        Some((
            u64::from_le_bytes(bytes[..8].try_into().expect("8")),
            u64::from_le_bytes(value),
        ))
    }

    /// Slots that hold a name.
    pub(super) fn filled(&self, section: &[u8]) -> usize {
        (0..self.slots)
            .filter(|&s| self.slot(section, s).is_some_and(|(h, _)| h != 0))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(labels: &[Vec<u8>]) -> (Vec<u8>, TopTable) {
        let mut writer = TopWriter::default();
        for (i, label) in labels.iter().enumerate() {
            writer.add(label, (i as u64) << 8 | 2).unwrap();
        }
        let bytes = writer.finish().unwrap();
        let table = TopTable::read(&bytes).unwrap();
        TopTable::check(&bytes).unwrap();
        (bytes, table)
    }

    #[test]
    fn every_name_is_found_and_no_other() {
        for n in [0usize, 1, 2, 3, 5, 17, 1000, 50_000] {
            let labels: Vec<Vec<u8>> = (0..n).map(|i| format!("d{i}").into_bytes()).collect();
            let (bytes, table) = table(&labels);
            assert_eq!(table.len(), n);
            assert_eq!(table.filled(&bytes), n);
            for (i, label) in labels.iter().enumerate() {
                assert_eq!(table.get(&bytes, label).unwrap(), Some((i as u64) << 8 | 2));
            }
            for i in n..n + 100_000 {
                let other = format!("d{i}");
                assert_eq!(table.get(&bytes, other.as_bytes()).unwrap(), None);
            }
        }
    }

    #[test]
    fn a_failed_seed_hashes_the_names_again_in_their_order() {
        let labels: Vec<Vec<u8>> = (0..1000).map(|i| format!("r{i}").into_bytes()).collect();
        let mut writer = TopWriter::default();
        for (i, label) in labels.iter().enumerate() {
            writer.add(label, (i as u64) << 8 | 2).unwrap();
        }
        // Two names with one hash under the first seed: it fails, the second must not.
        writer.hashed[7].0 = writer.hashed[500].0;
        let bytes = writer.finish().unwrap();
        let table = TopTable::read(&bytes).unwrap();
        assert_eq!(table.seed, 1);
        for (i, label) in labels.iter().enumerate() {
            assert_eq!(table.get(&bytes, label).unwrap(), Some((i as u64) << 8 | 2));
        }
    }

    #[test]
    fn the_same_names_give_the_same_bytes() {
        let labels: Vec<Vec<u8>> = (0..5000).map(|i| format!("x{i}").into_bytes()).collect();
        assert_eq!(table(&labels).0, table(&labels).0);
    }

    #[test]
    fn a_name_costs_under_seventeen_bytes_and_runs_stay_short() {
        let labels: Vec<Vec<u8>> = (0..100_000)
            .map(|i| format!("{i:08}").into_bytes())
            .collect();
        let (bytes, table) = table(&labels);
        assert!(bytes.len() < 100_000 * 17, "{}", bytes.len());
        assert!(table.longest < 100, "{}", table.longest);
    }

    #[test]
    fn damaged_bytes_give_errors_or_answers_never_a_panic() {
        let labels: Vec<Vec<u8>> = (0..300).map(|i| format!("n{i}").into_bytes()).collect();
        let (bytes, _) = table(&labels);
        for at in (0..bytes.len()).filter(|at| !(24..28).contains(at)) {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[at] ^= flip;
                assert!(TopTable::check(&damaged).is_err());
                let Ok(table) = TopTable::read(&damaged) else {
                    continue;
                };
                for label in &labels[..20] {
                    let _ = table.get(&damaged, label);
                }
                let _ = table.filled(&damaged);
            }
        }
        for len in 0..bytes.len() {
            assert!(TopTable::read(&bytes[..len]).is_err());
        }
    }
}
