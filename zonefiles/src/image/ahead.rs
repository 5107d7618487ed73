//! Look-ups started ahead: the cache lines a query will read, asked for before it is answered.
//!
//! On a large zone nearly every read of a look-up misses the cache, and each read depends on
//! the one before: the slot in the table of names below the apex gives the node's offset, the
//! node gives its RRsets' offsets, an NS RRset gives its name servers' entries. Answered one
//! after another, the queries of a batch wait for these misses one at a time. A server that
//! holds a batch (a `recvmmsg` of up to 64 datagrams) can instead start an [`Ahead`] for each
//! query, then [`Ahead::advance`] them all, one level at a time: every query's next lines are
//! requested before any is waited for, so the memory system serves them side by side, and the
//! answers that follow find the lines in the cache.
//!
//! An `Ahead` only issues prefetch instructions: it changes nothing, returns nothing, and a
//! wrong guess costs a cache line. It reads through the same bounds-checked accessors as a
//! look-up, so a damaged image stops it early and never makes it panic. Names the table does
//! not decide (the apex, names under a DNAME at the apex) are not looked ahead.
//!
//! Levels, after [`Image::ahead`] has hashed the label below the apex and asked for its slot:
//!
//! 1. the slot's index value → the node's table of RRsets;
//! 2. the node's table → the head and records of each of its RRsets;
//! 3. each NS RRset stored by target → its name servers' entries (name and address offsets).
//!
//! On x86-64 a level costs a few nanoseconds per query; elsewhere the prefetch is a no-op and
//! so is the gain.

use super::Image;
use crate::Name;

/// A query's look-up, started ahead of answering it (see the module docs).
#[derive(Debug)]
pub struct Ahead<'a> {
    image: &'a Image,
    level: Level,
}

#[derive(Debug, Clone, Copy)]
enum Level {
    /// The slot was asked for; the label's hash finds the index value in it.
    Slot(u64),
    /// The node's table was asked for; it sits at this offset.
    Node(u64),
    /// The node's RRsets were asked for.
    Rrsets(u64),
    Done,
}

impl Image {
    /// Starts looking `qname` up ahead: asks for its slot in the table of names below the apex.
    /// `qname` must be in this image's zone.
    pub fn ahead(&self, qname: &Name) -> Ahead<'_> {
        let top = self.section(self.header.top_section);
        let level = match self.label_below_apex(qname) {
            Some((_, label)) => {
                let hash = self.top.hash(label);
                match self.top.home_at(hash) {
                    Some(at) => {
                        // A look-up reads about three slots of 13 bytes from its home.
                        prefetch(top, at);
                        prefetch(top, at + 38);
                        Level::Slot(hash)
                    }
                    None => Level::Done,
                }
            }
            None => Level::Done,
        };
        Ahead { image: self, level }
    }
}

impl Ahead<'_> {
    /// Asks for the next level's lines. False once there is nothing more to ask for.
    pub fn advance(&mut self) -> bool {
        let image = self.image;
        self.level = match self.level {
            Level::Slot(hash) => {
                match image
                    .top
                    .get_hashed(image.section(image.header.top_section), hash)
                {
                    Ok(Some(value)) => {
                        let nodes = image.section(image.header.nodes_section);
                        let at = (value >> 8) as usize;
                        // Flags, count and three 6-byte entries.
                        prefetch(nodes, at);
                        prefetch(nodes, at + 19);
                        Level::Node(value >> 8)
                    }
                    _ => Level::Done,
                }
            }
            Level::Node(offset) => {
                let heap = image.section(image.header.rrsets_section);
                for rrset in rrset_offsets(image, offset) {
                    prefetch(heap, rrset as usize);
                    prefetch(heap, rrset as usize + 63);
                }
                Level::Rrsets(offset)
            }
            Level::Rrsets(offset) => {
                let heap = image.section(image.header.rrsets_section);
                for rrset in rrset_offsets(image, offset) {
                    let Ok(rrset) = image.rrset_at(rrset) else {
                        break;
                    };
                    if rrset.by_target {
                        for entry in rrset.records.chunks_exact(4) {
                            let at = u32::from_be_bytes([entry[0], entry[1], entry[2], entry[3]]);
                            prefetch(heap, at as usize);
                        }
                    }
                }
                Level::Done
            }
            Level::Done => Level::Done,
        };
        !matches!(self.level, Level::Done)
    }
}

/// The offsets of a node's RRsets (none when its table does not read).
fn rrset_offsets(image: &Image, node: u64) -> impl Iterator<Item = u32> + '_ {
    image
        .node_table(node)
        .unwrap_or_default()
        .chunks_exact(6)
        .map(|entry| u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]))
}

/// Asks the CPU to bring the cache line holding `bytes[at]` in, if `at` is in `bytes`.
#[inline]
fn prefetch(bytes: &[u8], at: usize) {
    if let Some(byte) = bytes.get(at) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch is a hint: it reads nothing the program sees and cannot fault,
        // and the address is inside the mapping anyway.
        unsafe {
            use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            _mm_prefetch::<_MM_HINT_T0>((byte as *const u8).cast());
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = byte;
    }
}

#[cfg(test)]
mod tests {
    use crate::image::{Image, compile};
    use crate::master::{self, ParseOptions};
    use crate::{Class, Name, Zone};

    fn compiled(text: &str) -> Vec<u8> {
        let records = master::parse_bytes("t", text.as_bytes(), ParseOptions::default()).unwrap();
        compile(&Zone::from_records(None, Class::IN, records).0, |_| {})
            .unwrap()
            .0
    }

    fn image(text: &str) -> Image {
        Image::from_bytes(compiled(text)).unwrap()
    }

    const ZONE: &str = "\
$ORIGIN tld.
$TTL 3600
@ SOA ns1.nic.tld. h.nic.tld. 1 7200 900 1209600 300
@ NS ns1.nic.tld.
ns1.nic NS ns1.nic.tld.
ns1.nic.tld. A 192.0.2.1
example NS ns1.host.tld.
example NS ns2.other.
example DS 1 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE
ns1.host A 192.0.2.2
";

    /// The levels a look-ahead of `name` goes through.
    fn levels(image: &Image, name: &str) -> usize {
        let mut ahead = image.ahead(&name.parse::<Name>().unwrap());
        let mut levels = 0;
        while ahead.advance() {
            levels += 1;
            assert!(levels <= 3);
        }
        levels
    }

    #[test]
    fn a_delegation_is_looked_ahead_to_its_name_servers() {
        let image = image(ZONE);
        assert_eq!(levels(&image, "www.example.tld."), 2);
        assert_eq!(levels(&image, "example.tld."), 2);
        assert_eq!(levels(&image, "ns1.host.tld."), 2);
    }

    #[test]
    fn names_the_table_does_not_hold_stop_at_once() {
        let image = image(ZONE);
        assert_eq!(levels(&image, "tld."), 0);
        assert_eq!(levels(&image, "absent.tld."), 0);
    }

    #[test]
    fn damaged_images_stop_the_look_ahead_without_a_panic() {
        let bytes = compiled(ZONE);
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0xff;
            if let Ok(image) = Image::from_bytes(damaged) {
                for name in ["www.example.tld.", "ns1.host.tld.", "x.tld.", "tld."] {
                    levels(&image, name);
                }
            }
        }
    }
}
