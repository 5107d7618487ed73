//! Writing a DNS message into a caller's buffer (RFC 1035 §4.1) with name compression
//! (§4.1.4), without allocating: compression targets live in a fixed table of offsets into
//! the message, a few hundred bytes that a new message clears.

use zonefiles::name::lower_case_word as lower_case;

/// The header length.
pub const HEADER: usize = 12;

/// The message does not fit its buffer or size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// Compression targets kept.
const SLOTS: usize = 64;
/// Targets never replaced: the first names of a message (the question, the origin).
const KEEP: usize = 8;

/// Labels and pointers a name in the message may take: 127 labels, each pointer followed once.
const MAX_NAME_STEPS: usize = 256;

/// Hash buckets for the targets (a power of two).
const BUCKETS: usize = 256;
/// Buckets a suffix may take, from the one its hash names on: two suffixes whose hashes
/// meet in a bucket both stay found.
const PROBES: usize = 4;

/// Labels of a name whose suffixes are compression targets (the last ones: a TLD's names
/// have a handful).
const TRACKED: usize = 16;

/// Names already written, for compression: where each suffix starts in the message and its
/// length, one fixed slot each, found through a table of suffix hashes (a suffix takes the
/// first free of [`PROBES`] buckets from its own) and confirmed against the message itself
/// (following its pointers). When the slots are full the oldest after the first [`KEEP`] is
/// reused, so a long message (a zone transfer) keeps compressing against recent names.
struct Targets {
    offsets: [u16; SLOTS],
    /// The suffix's wire length; 0 for a slot taken back by [`Writer::rewind`].
    lens: [u8; SLOTS],
    count: usize,
    next: usize,
    /// Slot index + 1 by suffix hash; 0 for none.
    buckets: [u8; BUCKETS],
}

/// A message being written. Sections are written in order; `mark`/`rewind` undo whole
/// RRsets when the size limit is reached, so no RRset is ever cut.
pub struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
    limit: usize,
    targets: Targets,
    counts: [u16; 4],
}

/// A point to rewind to.
#[derive(Clone, Copy)]
pub struct Mark {
    len: usize,
    counts: [u16; 4],
}

/// The sections of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Question.
    Question = 0,
    /// Answer.
    Answer = 1,
    /// Authority.
    Authority = 2,
    /// Additional.
    Additional = 3,
}

impl<'a> Writer<'a> {
    /// Starts a message in `buf`, never longer than `limit` bytes.
    pub fn new(buf: &'a mut [u8], limit: usize) -> Writer<'a> {
        let limit = limit.min(buf.len());
        Writer {
            buf,
            len: HEADER,
            limit,
            targets: Targets {
                offsets: [0; SLOTS],
                lens: [0; SLOTS],
                count: 0,
                next: KEEP,
                buckets: [0; BUCKETS],
            },
            counts: [0; 4],
        }
    }

    /// Bytes written so far, header included.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Lowers the size limit (for example to the client's UDP payload size).
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.min(self.buf.len());
    }

    /// Writes the header fields; counts are filled in by [`Writer::finish`].
    pub fn header(&mut self, id: u16, flags: u16) {
        self.buf[0..2].copy_from_slice(&id.to_be_bytes());
        self.buf[2..4].copy_from_slice(&flags.to_be_bytes());
    }

    /// Sets the header flags word again (for TC, RCODE changes).
    pub fn set_flags(&mut self, flags: u16) {
        self.buf[2..4].copy_from_slice(&flags.to_be_bytes());
    }

    /// The flags word as written.
    pub fn flags(&self) -> u16 {
        u16::from_be_bytes([self.buf[2], self.buf[3]])
    }

    /// A point to come back to.
    pub fn mark(&self) -> Mark {
        Mark {
            len: self.len,
            counts: self.counts,
        }
    }

    /// Forgets everything written after `mark`.
    pub fn rewind(&mut self, mark: Mark) {
        self.len = mark.len;
        self.counts = mark.counts;
        // Forget the targets that pointed into what was taken back.
        let t = &mut self.targets;
        for i in 0..t.count {
            if usize::from(t.offsets[i]) >= mark.len {
                t.lens[i] = 0;
            }
        }
    }

    /// Counts one more record in `section`.
    pub fn count(&mut self, section: Section) {
        self.counts[section as usize] += 1;
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, bytes: &[u8]) -> Result<(), Full> {
        let end = self.len + bytes.len();
        if end > self.limit {
            return Err(Full);
        }
        self.buf[self.len..end].copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// Appends a big-endian u16.
    pub fn u16(&mut self, value: u16) -> Result<(), Full> {
        self.bytes(&value.to_be_bytes())
    }

    /// Appends a big-endian u32.
    pub fn u32(&mut self, value: u32) -> Result<(), Full> {
        self.bytes(&value.to_be_bytes())
    }

    /// Overwrites a u16 at `at` (an rdlength written before its rdata).
    pub fn patch_u16(&mut self, at: usize, value: u16) {
        self.buf[at..at + 2].copy_from_slice(&value.to_be_bytes());
    }

    /// Writes a name as given (`wire` uncompressed, any case), compressing against the names
    /// written before; `compress` false writes it whole but still offers it as a target.
    ///
    /// Only the last [`TRACKED`] labels' suffixes are looked up and remembered (a name with
    /// more has its first labels written out): the per-call state stays a few cache lines,
    /// which matters on a path taken several times per response.
    pub fn name(&mut self, wire: &[u8], compress: bool) -> Result<(), Full> {
        let wire = &wire[..name_len(wire)];
        // Where each label starts (offsets fit a byte: a name is at most 255).
        let mut starts = [0u8; TRACKED];
        let mut labels = 0;
        let mut at = 0;
        let mut skip = 0;
        while at < wire.len() && wire[at] != 0 {
            if labels == TRACKED {
                // Keep the last TRACKED labels: drop the first one kept so far.
                starts.copy_within(1.., 0);
                labels -= 1;
                skip = usize::from(starts[0]);
            }
            starts[labels] = at as u8;
            labels += 1;
            at += 1 + usize::from(wire[at]);
        }
        if skip > 0 {
            self.bytes(&wire[..skip])?;
        }
        // Each suffix's hash, from the root up, so each label is hashed once.
        let mut hashes = [0u32; TRACKED];
        let mut hash = 0u64;
        for i in (0..labels).rev() {
            hash = hash_label(hash, wire, usize::from(starts[i]));
            // The product's top byte is the one every input byte reaches.
            hashes[i] = (hash >> 56) as u32;
        }
        for i in 0..labels {
            let suffix = &wire[usize::from(starts[i])..];
            if compress && let Some(target) = self.find(suffix, hashes[i]) {
                return self.u16(0xC000 | target);
            }
            let at = self.len;
            let label = 1 + suffix[0] as usize;
            self.bytes(&suffix[..label])?;
            self.remember(suffix, at, hashes[i]);
        }
        self.bytes(&[0])
    }

    /// Writes again the name written at `at` by [`Writer::name`] (`wire`, the same name): a
    /// pointer to it, or the pointer it is, or the root label; written whole when `at` is
    /// beyond a pointer's reach.
    pub fn repeat_name(&mut self, at: usize, wire: &[u8]) -> Result<(), Full> {
        match self.buf[..self.len].get(at..at + 2) {
            Some(&[high, low]) if high & 0xC0 == 0xC0 => self.bytes(&[high, low]),
            _ if self.buf.get(at) == Some(&0) => self.bytes(&[0]),
            Some(_) if at <= 0x3FFF => self.u16(0xC000 | at as u16),
            _ => self.name(wire, true),
        }
    }

    fn find(&self, suffix: &[u8], hash: u32) -> Option<u16> {
        let t = &self.targets;
        for probe in 0..PROBES {
            let slot = usize::from(t.buckets[(hash as usize + probe) % BUCKETS]).checked_sub(1)?;
            let at = t.offsets[slot];
            if usize::from(t.lens[slot]) == suffix.len() && self.written_is(usize::from(at), suffix)
            {
                return Some(at);
            }
        }
        None
    }

    /// True if the name written at `at` (labels, then a root label or a pointer to an earlier
    /// name) is the wire name `suffix`, ignoring case.
    fn written_is(&self, mut at: usize, suffix: &[u8]) -> bool {
        let written = &self.buf[..self.len];
        let mut i = 0;
        // This writer's pointers only go back; the bound keeps a walk finite regardless.
        for _ in 0..MAX_NAME_STEPS {
            let Some(&len) = written.get(at) else {
                return false;
            };
            if len & 0xC0 == 0xC0 {
                let Some(&low) = written.get(at + 1) else {
                    return false;
                };
                at = usize::from(len & 0x3F) << 8 | usize::from(low);
                continue;
            }
            if suffix.get(i) != Some(&len) {
                return false;
            }
            if len == 0 {
                return true;
            }
            let n = usize::from(len);
            match (
                written.get(at + 1..at + 1 + n),
                suffix.get(i + 1..i + 1 + n),
            ) {
                (Some(a), Some(b)) if eq_ignore_case(a, b) => {}
                _ => return false,
            }
            at += 1 + n;
            i += 1 + n;
        }
        false
    }

    fn remember(&mut self, suffix: &[u8], at: usize, hash: u32) {
        let t = &mut self.targets;
        if at > 0x3FFF {
            return;
        }
        let i = if t.count < SLOTS {
            t.count += 1;
            t.count - 1
        } else {
            let i = t.next;
            t.next = if t.next + 1 == SLOTS {
                KEEP
            } else {
                t.next + 1
            };
            i
        };
        t.offsets[i] = at as u16;
        t.lens[i] = suffix.len() as u8;
        // The first free bucket of the suffix's probes, or its own when all are taken.
        let bucket = (0..PROBES)
            .map(|probe| (hash as usize + probe) % BUCKETS)
            .find(|&b| t.buckets[b] == 0)
            .unwrap_or(hash as usize % BUCKETS);
        t.buckets[bucket] = i as u8 + 1;
    }

    /// Writes the section counts, appends the message to `out` and starts an empty one with
    /// the same id and flags (the next message of a zone transfer).
    pub fn flush_into(&mut self, out: &mut Vec<u8>) {
        for (i, count) in self.counts.iter().enumerate() {
            self.buf[4 + 2 * i..6 + 2 * i].copy_from_slice(&count.to_be_bytes());
        }
        out.extend_from_slice(&self.buf[..self.len]);
        self.len = HEADER;
        self.targets.count = 0;
        self.targets.next = KEEP;
        self.targets.buckets = [0; BUCKETS];
        self.counts = [0; 4];
    }

    /// Records counted so far in `section`.
    pub fn counted(&self, section: Section) -> u16 {
        self.counts[section as usize]
    }

    /// Writes the section counts and returns the message length.
    pub fn finish(self) -> usize {
        for (i, count) in self.counts.iter().enumerate() {
            self.buf[4 + 2 * i..6 + 2 * i].copy_from_slice(&count.to_be_bytes());
        }
        self.len
    }
}

/// The length of the wire name at the start of `wire`, root label included.
fn name_len(wire: &[u8]) -> usize {
    let mut at = 0;
    while at < wire.len() && wire[at] != 0 {
        at += 1 + usize::from(wire[at]);
    }
    (at + 1).min(wire.len())
}

/// Chains the label at `start` (its length byte and its bytes, letters in lower case) onto
/// the hash of the suffix after it, eight bytes per multiplication: names are hashed once per
/// label on every response, and a byte at a time this was the writer's largest cost.
fn hash_label(mut hash: u64, wire: &[u8], start: usize) -> u64 {
    let end = (start + 1 + usize::from(wire[start])).min(wire.len());
    let mut at = start;
    while at < end {
        let n = (end - at).min(8);
        let le = |at: usize| u64::from_le_bytes(wire[at..at + 8].try_into().expect("8 bytes"));
        // The label's next n bytes in the low bytes of a word, read with one load (a copy
        // through memory would stall on the load after it).
        let word = if at + 8 <= wire.len() {
            let word = le(at);
            if n < 8 {
                word & ((1 << (8 * n)) - 1)
            } else {
                word
            }
        } else if end >= 8 {
            // Near the buffer's end: the eight bytes ending with the label's last, shifted.
            le(end - 8) >> (8 * (8 - n))
        } else {
            wire[at..end]
                .iter()
                .rev()
                .fold(0, |word, &b| word << 8 | u64::from(b))
        };
        hash = (hash ^ lower_case(word)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        at += 8;
    }
    hash
}

/// Whether two labels of the same length are equal ignoring ASCII case, compared a word at a
/// time: the labels a response compares are short, and a byte at a time this was a quarter of
/// [`Writer::name`]. Lengths of 4 to 8 compare two overlapping halves, longer ones words and an
/// overlapping last word, shorter ones their first, middle and last bytes (which, for 1 to 3
/// bytes, are all of them).
fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| {
        lower_case(u64::from_le_bytes(
            s[at..at + 8].try_into().expect("8 bytes"),
        ))
    };
    let half = |s: &[u8], at: usize| {
        u64::from(u32::from_le_bytes(
            s[at..at + 4].try_into().expect("4 bytes"),
        ))
    };
    match n {
        0 => true,
        1..=3 => {
            let w = |s: &[u8]| {
                lower_case(u64::from(s[0]) | u64::from(s[n / 2]) << 8 | u64::from(s[n - 1]) << 16)
            };
            w(a) == w(b)
        }
        4..=8 => {
            let w = |s: &[u8]| lower_case(half(s, 0) | half(s, n - 4) << 32);
            w(a) == w(b)
        }
        _ => {
            let mut at = 0;
            while at + 8 < n {
                if word(a, at) != word(b, at) {
                    return false;
                }
                at += 8;
            }
            word(a, n - 8) == word(b, n - 8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_whose_hashes_meet_in_a_bucket_still_compress() {
        let mut buf = vec![0u8; 4096];
        let mut w = Writer::new(&mut buf, 4096);
        let names: Vec<Vec<u8>> = (0..40)
            .map(|i| {
                let label = format!("host{i}");
                let mut wire = vec![label.len() as u8];
                wire.extend_from_slice(label.as_bytes());
                wire.extend_from_slice(b"\x07example\x00");
                wire
            })
            .collect();
        for name in &names {
            w.name(name, true).unwrap();
        }
        for name in &names {
            let before = w.len();
            w.name(name, true).unwrap();
            assert_eq!(w.len() - before, 2, "{name:?} was not compressed");
        }
    }

    #[test]
    fn a_repeated_name_is_the_pointer_it_was_or_one_to_it() {
        let mut buf = vec![0u8; 40_000];
        let mut w = Writer::new(&mut buf, 40_000);
        let name = b"\x07example\x03tld\x00";
        let whole = w.len();
        w.name(name, true).unwrap();
        let pointer = w.len();
        w.name(name, true).unwrap();
        let root = w.len();
        w.name(b"\x00", true).unwrap();
        for (at, expected) in [
            (whole, vec![0xC0, whole as u8]),
            (pointer, vec![0xC0, whole as u8]),
            (root, vec![0]),
        ] {
            let before = w.len();
            w.repeat_name(at, name).unwrap();
            assert_eq!(w.buf[before..w.len()], expected[..], "at {at}");
        }
        // Beyond a pointer's reach the name is written again, compressed if it can be.
        w.bytes(&[0; 0x4000]).unwrap();
        let far = w.len();
        w.name(b"\x03www\x07example\x03tld\x00", false).unwrap();
        let before = w.len();
        w.repeat_name(far, b"\x03www\x07example\x03tld\x00")
            .unwrap();
        assert_eq!(
            w.buf[before..w.len()],
            [3, b'w', b'w', b'w', 0xC0, whole as u8]
        );
    }

    #[test]
    fn labels_compare_a_word_at_a_time_as_byte_by_byte() {
        // Every length a label takes, against copies differing at each position by case
        // (equal) or by one bit elsewhere (different, including the bit that case flips on a
        // byte that is not a letter).
        let bytewise = |a: &[u8], b: &[u8]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
        };
        const SAMPLE: &[u8] = b"aZ0-_@[`{\xC1";
        for n in 0..=63usize {
            let label: Vec<u8> = (0..n).map(|i| SAMPLE[i % SAMPLE.len()]).collect();
            for at in 0..n {
                for flip in [0x20u8, 0x01, 0x80, 0x40] {
                    let mut other = label.clone();
                    other[at] ^= flip;
                    assert_eq!(
                        eq_ignore_case(&label, &other),
                        bytewise(&label, &other),
                        "{label:?} {other:?}"
                    );
                }
            }
            assert!(eq_ignore_case(&label, &label.to_ascii_uppercase()));
            assert!(!eq_ignore_case(&label, &[label.as_slice(), b"a"].concat()));
        }
    }

    #[test]
    fn a_suffix_hashes_alike_in_any_case_and_wherever_it_is_read() {
        let hash = |wire: &[u8], start: usize| hash_label(0, wire, start);
        let a = b"\x0bNS-Provider\x03tld\x00";
        let b = b"\x03www\x0bns-provider\x03TLD\x00";
        assert_eq!(hash(a, 12), hash(b, 16));
        assert_eq!(hash_label(hash(a, 12), a, 0), hash_label(hash(b, 16), b, 4));
        assert_ne!(hash(a, 0), hash(b"\x0cns-providers\x03tld\x00", 0));
        // Labels read at the end of a short buffer, of a long one, and inside one.
        let end = hash(b"\x03tld", 0);
        assert_eq!(end, hash(b"\x03TLD\x00\x07", 0));
        assert_eq!(end, hash(b"\x09something\x03tld", 10));
        assert_eq!(
            end,
            hash(b"\x09something\x03tld\x00\x00\x00\x00\x00\x00", 10)
        );
        let long = b"\x0bns-provider\x0bns-provider";
        assert_eq!(hash(long, 0), hash(long, 12));
    }

    /// Reads the name at `at`, following compression pointers.
    fn read_name(msg: &[u8], mut at: usize) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let len = msg[at];
            if len & 0xC0 == 0xC0 {
                at = usize::from(u16::from_be_bytes([len & 0x3F, msg[at + 1]]));
                continue;
            }
            out.push(len);
            if len == 0 {
                return out;
            }
            out.extend_from_slice(&msg[at + 1..at + 1 + usize::from(len)]);
            at += 1 + usize::from(len);
        }
    }

    #[test]
    fn names_of_any_length_read_back_and_compress() {
        let long: Vec<u8> = (0..40u8)
            .flat_map(|i| [1, b'a' + i % 26])
            .chain([3, b't', b'l', b'd', 0])
            .collect();
        for wire in [&b"\x03www\x07example\x03tld\x00"[..], &long] {
            let mut buf = [0u8; 512];
            let mut w = Writer::new(&mut buf, 512);
            let first = w.len();
            w.name(wire, true).unwrap();
            let second = w.len();
            w.name(wire, true).unwrap();
            let third = w.len();
            w.name(&wire[wire.len() - 5..], true).unwrap();
            let end = w.finish();
            assert_eq!(read_name(&buf[..end], first), wire);
            assert_eq!(read_name(&buf[..end], second), wire);
            assert_eq!(read_name(&buf[..end], third), &wire[wire.len() - 5..]);
            assert!(third - second < wire.len(), "the repeat is compressed");
            assert_eq!(end - third, 2, "the zone's name is a pointer");
        }
    }

    #[test]
    fn a_name_compressed_once_is_a_target_through_its_pointer() {
        let mut buf = [0u8; 512];
        let mut w = Writer::new(&mut buf, 512);
        w.name(b"\x01a\x07example\x03tld\x00", true).unwrap();
        let second = w.len();
        // "b" then a pointer to "example.tld".
        w.name(b"\x01B\x07EXAMPLE\x03tld\x00", true).unwrap();
        assert_eq!(w.len() - second, 4);
        let third = w.len();
        w.name(b"\x01b\x07example\x03tld\x00", true).unwrap();
        let end = w.finish();
        assert_eq!(end - third, 2, "a pointer to the second name");
        assert_eq!(
            u16::from_be_bytes([buf[third], buf[third + 1]]),
            0xC000 | second as u16
        );
        assert_eq!(
            read_name(&buf[..end], third),
            b"\x01B\x07example\x03tld\x00"
        );
    }
}
