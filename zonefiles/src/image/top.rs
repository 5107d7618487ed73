//! A hash table of the names right below the apex, built in memory beside a large image so
//! that [`Image::find`](super::Image::find) answers most TLD queries with one probe instead of
//! a walk of the fst.
//!
//! Nearly every query to a TLD names something at or below a delegation (`www.example.tld`):
//! the label right below the apex decides the answer, and the fst walk to it costs a cache
//! miss per level. The table maps that label to its index value (node offset and flags), so a
//! delegation or DNAME there gives the referral at once, and a label that is not there gives
//! NXDOMAIN at once when the apex has no wildcard. Anything else walks the fst as before.
//!
//! Open addressing with linear probing over parallel arrays, labels in one arena: about 45
//! bytes per name (45 MB for a million delegations), built in a few hundred milliseconds on a
//! background thread after the image is opened, so it never delays the first answer.

use super::Image;
use super::index;
use crate::name::{MAX_KEY_LEN, Name};

/// The table.
#[derive(Debug)]
pub struct TopIndex {
    mask: usize,
    /// FNV-1a of the label, 0 for an empty slot (a real hash of 0 is stored as 1).
    hashes: Vec<u32>,
    starts: Vec<u32>,
    lens: Vec<u8>,
    values: Vec<u64>,
    arena: Vec<u8>,
}

fn hash(label: &[u8]) -> u32 {
    let h = label.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    h.max(1)
}

impl TopIndex {
    /// Reads every name right below the apex of `image` from its index: one pass to count
    /// them, one to fill the table (no other allocation).
    pub fn build(image: &Image) -> Option<TopIndex> {
        let mut prefix = [0u8; MAX_KEY_LEN];
        let prefix_len = crate::name::canonical_key_of_wire(image.origin().as_wire(), &mut prefix);
        let prefix = &prefix[..prefix_len];
        let fst = image.index.as_fst();
        let nodes = image.header.nodes;
        let children = index::Depth::Children;
        let mut count = 0usize;
        index::for_each_key(fst, prefix, children, nodes, |_, _| {
            count += 1;
            Ok::<(), ()>(())
        })
        .ok()?;
        let capacity = (count * 2).next_power_of_two().max(16);
        let mut top = TopIndex {
            mask: capacity - 1,
            hashes: vec![0; capacity],
            starts: vec![0; capacity],
            lens: vec![0; capacity],
            values: vec![0; capacity],
            arena: Vec::with_capacity(count * 12),
        };
        let apex_labels = image.origin().label_count();
        let mut failed = false;
        index::for_each_key(fst, prefix, children, nodes, |key, value| {
            let Ok(name) = Name::from_canonical_key(key) else {
                return Ok(());
            };
            if name.label_count() != apex_labels + 1 {
                return Ok(());
            }
            let wire = name.as_wire();
            let label = &wire[1..1 + usize::from(wire[0])];
            let Ok(start) = u32::try_from(top.arena.len()) else {
                failed = true;
                return Ok(());
            };
            let h = hash(label);
            let mut slot = h as usize & top.mask;
            while top.hashes[slot] != 0 {
                slot = (slot + 1) & top.mask;
            }
            top.hashes[slot] = h;
            top.starts[slot] = start;
            top.lens[slot] = label.len() as u8;
            top.values[slot] = value;
            top.arena.extend_from_slice(label);
            Ok::<(), ()>(())
        })
        .ok()?;
        (!failed).then_some(top)
    }

    /// The index value of the name with this label right below the apex (lower case).
    pub fn get(&self, label: &[u8]) -> Option<u64> {
        let h = hash(label);
        let mut slot = h as usize & self.mask;
        loop {
            let stored = self.hashes[slot];
            if stored == 0 {
                return None;
            }
            if stored == h {
                let start = self.starts[slot] as usize;
                let len = usize::from(self.lens[slot]);
                if &self.arena[start..start + len] == label {
                    return Some(self.values[slot]);
                }
            }
            slot = (slot + 1) & self.mask;
        }
    }

    /// Names in the table.
    pub fn len(&self) -> usize {
        self.hashes.iter().filter(|&&h| h != 0).count()
    }

    /// True if the table holds no name.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
