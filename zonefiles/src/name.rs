//! Domain names in wire format, stored in lower case (RFC 1035 §3.1, RFC 4343).
//!
//! A [`Name`] is always absolute and always lower case, which is also its DNSSEC canonical form
//! (RFC 4034 §6.2). Names order by [`Ord`] in DNSSEC canonical order (RFC 4034 §6.1): labels are
//! compared right to left as octet strings, and a name sorts before its descendants.
//!
//! The compiled zone image keys names by their [`canonical key`](Name::canonical_key): the labels
//! in reverse order, each followed by a `0x00` separator, with the bytes `0x00` and `0x01` inside a
//! label escaped as `0x01 0x01` and `0x01 0x02`. Comparing two keys bytewise gives the canonical
//! order of the names, so a sorted key set (the `fst` index) is a canonically ordered zone.

use std::cmp::Ordering;
use std::fmt;

use crate::octets::Octets;

/// The longest name in wire format, root label included (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// The longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// Why a name could not be read from presentation format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// A label is longer than 63 octets.
    #[error("label longer than 63 octets")]
    LabelTooLong,
    /// The name is longer than 255 octets in wire format.
    #[error("name longer than 255 octets")]
    NameTooLong,
    /// An empty label, as in `a..b` or a leading dot.
    #[error("empty label")]
    EmptyLabel,
    /// A `\DDD` escape above 255 or cut short, or a backslash at the end.
    #[error("bad escape sequence")]
    BadEscape,
    /// A relative name where no origin is known.
    #[error("relative name with no origin")]
    NoOrigin,
    /// Wire-format bytes that do not form a name.
    #[error("malformed wire-format name")]
    BadWire,
}

/// An absolute domain name in lower-case wire format.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Name(Octets);

impl Name {
    /// The root name `.`.
    pub fn root() -> Name {
        Name(Octets::new(&[0]))
    }

    /// Reads a name from presentation format (RFC 1035 §5.1): `\X` and `\DDD` escapes, `@` for
    /// the origin, and names without a trailing dot taken relative to `origin`.
    pub fn from_text(text: &[u8], origin: Option<&Name>) -> Result<Name, NameError> {
        if text == b"@" {
            return origin.cloned().ok_or(NameError::NoOrigin);
        }
        if text == b"." {
            return Ok(Name::root());
        }
        let mut wire = Vec::with_capacity(text.len() + 2);
        let mut label_start = 0;
        wire.push(0);
        let mut i = 0;
        let mut absolute = false;
        while i < text.len() {
            let c = text[i];
            match c {
                b'.' => {
                    close_label(&mut wire, label_start)?;
                    if i + 1 == text.len() {
                        absolute = true;
                    }
                    label_start = wire.len();
                    wire.push(0);
                    i += 1;
                    continue;
                }
                b'\\' => {
                    let (byte, used) = unescape(&text[i + 1..]).ok_or(NameError::BadEscape)?;
                    wire.push(byte.to_ascii_lowercase());
                    i += 1 + used;
                    continue;
                }
                _ => wire.push(c.to_ascii_lowercase()),
            }
            i += 1;
        }
        if absolute {
            // The last dot opened an empty label: that is the root label.
            wire.truncate(label_start);
            wire.push(0);
        } else {
            close_label(&mut wire, label_start)?;
            match origin {
                Some(origin) => wire.extend_from_slice(&origin.0),
                None => return Err(NameError::NoOrigin),
            }
        }
        if wire.len() > MAX_NAME_LEN {
            return Err(NameError::NameTooLong);
        }
        Ok(Name(Octets::new(&wire)))
    }

    /// Reads an uncompressed wire-format name from the start of `wire`, lower-casing it.
    /// Returns the name and the number of bytes it took.
    pub fn from_wire(wire: &[u8]) -> Result<(Name, usize), NameError> {
        let len = wire_name_len(wire)?;
        Ok((Name(Octets::lowered(wire, len)), len))
    }

    /// Builds a name from wire-format bytes already known to be a valid lower-case name.
    pub(crate) fn from_wire_unchecked(wire: &[u8]) -> Name {
        Name(Octets::new(wire))
    }

    /// The wire-format bytes, root label included.
    pub fn as_wire(&self) -> &[u8] {
        &self.0
    }

    /// True for the root name.
    pub fn is_root(&self) -> bool {
        self.0.len() == 1
    }

    /// The number of labels, not counting the root label.
    pub fn label_count(&self) -> usize {
        self.labels().count()
    }

    /// The labels from left to right, without the root label.
    pub fn labels(&self) -> Labels<'_> {
        Labels { wire: &self.0 }
    }

    /// The name with its leftmost label removed; `None` for the root.
    pub fn parent(&self) -> Option<Name> {
        if self.is_root() {
            return None;
        }
        let skip = 1 + self.0[0] as usize;
        Some(Name(Octets::new(&self.0[skip..])))
    }

    /// True if `self` equals `ancestor` or lies below it.
    pub fn is_subdomain_of(&self, ancestor: &Name) -> bool {
        let (a, b) = (&self.0[..], &ancestor.0[..]);
        if b.len() > a.len() {
            return false;
        }
        // The suffix must start on a label boundary of `self`.
        let mut pos = 0;
        while pos < a.len() {
            if a.len() - pos == b.len() {
                return a[pos..] == *b;
            }
            if a.len() - pos < b.len() {
                return false;
            }
            pos += 1 + a[pos] as usize;
        }
        false
    }

    /// True if the leftmost label is `*` (RFC 4592 §2.1.1).
    pub fn is_wildcard(&self) -> bool {
        self.0.len() >= 2 && self.0[0] == 1 && self.0[1] == b'*'
    }

    /// This name with `label` prepended.
    pub fn child(&self, label: &[u8]) -> Result<Name, NameError> {
        if label.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(NameError::LabelTooLong);
        }
        if self.0.len() + label.len() + 1 > MAX_NAME_LEN {
            return Err(NameError::NameTooLong);
        }
        let mut wire = [0u8; MAX_NAME_LEN];
        wire[0] = label.len() as u8;
        for (to, from) in wire[1..].iter_mut().zip(label) {
            *to = from.to_ascii_lowercase();
        }
        let len = 1 + label.len() + self.0.len();
        wire[1 + label.len()..len].copy_from_slice(&self.0);
        Ok(Name(Octets::new(&wire[..len])))
    }

    /// Appends the canonical key of this name to `out` (see the module docs).
    pub fn canonical_key(&self, out: &mut Vec<u8>) {
        let mut key = [0; MAX_KEY_LEN];
        let len = canonical_key_of_wire(&self.0, &mut key);
        out.extend_from_slice(&key[..len]);
    }

    /// Reads a name back from its canonical key, without allocating for short names.
    pub fn from_canonical_key(key: &[u8]) -> Result<Name, NameError> {
        // Label boundaries first (left to right in the key is right to left in the name).
        let mut ends = [0usize; 128];
        let mut count = 0;
        let mut i = 0;
        while i < key.len() {
            match key[i] {
                0 => {
                    if count == ends.len() {
                        return Err(NameError::NameTooLong);
                    }
                    ends[count] = i;
                    count += 1;
                }
                1 => i += 1,
                _ => {}
            }
            i += 1;
        }
        if key.last().is_some_and(|&b| b != 0) {
            return Err(NameError::BadWire);
        }
        let mut wire = [0u8; MAX_NAME_LEN];
        let mut len = 0;
        for label in (0..count).rev() {
            let start = if label == 0 { 0 } else { ends[label - 1] + 1 };
            let bytes = &key[start..ends[label]];
            let at = len;
            len += 1;
            let mut j = 0;
            while j < bytes.len() {
                let b = match bytes[j] {
                    1 => {
                        j += 1;
                        match bytes.get(j) {
                            Some(1) => 0,
                            Some(2) => 1,
                            _ => return Err(NameError::BadWire),
                        }
                    }
                    b => b.to_ascii_lowercase(),
                };
                if len >= MAX_NAME_LEN - 1 {
                    return Err(NameError::NameTooLong);
                }
                wire[len] = b;
                len += 1;
                j += 1;
            }
            let label_len = len - at - 1;
            if label_len == 0 {
                return Err(NameError::EmptyLabel);
            }
            if label_len > MAX_LABEL_LEN {
                return Err(NameError::LabelTooLong);
            }
            wire[at] = label_len as u8;
        }
        wire[len] = 0;
        Ok(Name(Octets::new(&wire[..len + 1])))
    }
}

/// The longest canonical key: every octet of a 255-octet name escaped.
pub const MAX_KEY_LEN: usize = 2 * MAX_NAME_LEN;

/// Writes the canonical key of a lower-case wire-format name into `out`; returns its length.
pub(crate) fn canonical_key_of_wire(wire: &[u8], out: &mut [u8; MAX_KEY_LEN]) -> usize {
    let (starts, count) = label_starts(wire);
    let mut len = 0;
    for &start in starts[..count].iter().rev() {
        for &b in label_at(wire, start) {
            match b {
                0 | 1 => {
                    out[len] = 1;
                    out[len + 1] = b + 1;
                    len += 2;
                }
                b => {
                    out[len] = b;
                    len += 1;
                }
            }
        }
        out[len] = 0;
        len += 1;
    }
    len
}

/// True if the wire-format name `name` equals `ancestor` or lies below it.
pub(crate) fn wire_is_subdomain(name: &[u8], ancestor: &[u8]) -> bool {
    wire_suffixes(name).any(|suffix| suffix == ancestor)
}

/// The wire-format name and each of its ancestors, down to the root, as slices of it.
pub(crate) fn wire_suffixes(name: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut at = Some(0usize);
    std::iter::from_fn(move || {
        let pos = at?;
        let suffix = name.get(pos..)?;
        let len = *suffix.first()? as usize;
        at = (len != 0).then_some(pos + 1 + len);
        Some(suffix)
    })
}

/// The length of the uncompressed wire-format name at the start of `wire`.
pub fn wire_name_len(wire: &[u8]) -> Result<usize, NameError> {
    let mut pos = 0;
    loop {
        let len = *wire.get(pos).ok_or(NameError::BadWire)? as usize;
        if len == 0 {
            pos += 1;
            break;
        }
        if len > MAX_LABEL_LEN {
            return Err(NameError::BadWire);
        }
        pos += 1 + len;
        if pos >= MAX_NAME_LEN {
            return Err(NameError::NameTooLong);
        }
    }
    if pos > wire.len() || pos > MAX_NAME_LEN {
        return Err(NameError::BadWire);
    }
    Ok(pos)
}

/// The label of the wire name `name` right below a suffix of `origin_labels` labels (the
/// label a TLD's look-ups turn on), and where it starts; `None` when the name has no more
/// labels than that. Walks the labels twice rather than storing them: this runs on every
/// query.
pub fn label_below(name: &[u8], origin_labels: usize) -> Option<(usize, &[u8])> {
    let starts = || {
        let mut at = 0;
        std::iter::from_fn(move || {
            let len = *name.get(at)?;
            let start = at;
            at += 1 + usize::from(len);
            (len != 0).then_some(start)
        })
    };
    let below = starts().count().checked_sub(origin_labels + 1)?;
    let start = starts().nth(below)?;
    let label = name.get(start + 1..start + 1 + usize::from(name[start]))?;
    Some((start, label))
}

/// The eight bytes of `word` with ASCII `A`–`Z` turned to `a`–`z`, all at once: a byte gets
/// 0x20 when adding 0x3F to its low seven bits carries into the top bit (it is at least `A`),
/// adding 0x25 does not (it is at most `Z`), and its own top bit is clear. A wire name's
/// length bytes (at most 63) are never letters, so a whole name can be lowered this way.
pub fn lower_case_word(word: u64) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    const TOP: u64 = 0x8080_8080_8080_8080;
    let low = word & LOW7;
    let at_least_a = low + 0x3F3F_3F3F_3F3F_3F3F;
    let above_z = low + 0x2525_2525_2525_2525;
    let upper = at_least_a & !above_z & !word & TOP;
    word | (upper >> 2)
}

/// Lower-cases the label bytes of a valid wire-format name in place.
pub(crate) fn lowercase_wire(wire: &mut [u8]) {
    let mut pos = 0;
    while pos < wire.len() && wire[pos] != 0 {
        let len = wire[pos] as usize;
        wire[pos + 1..pos + 1 + len].make_ascii_lowercase();
        pos += 1 + len;
    }
}

fn close_label(wire: &mut [u8], label_start: usize) -> Result<(), NameError> {
    let len = wire.len() - label_start - 1;
    if len == 0 {
        return Err(NameError::EmptyLabel);
    }
    if len > MAX_LABEL_LEN {
        return Err(NameError::LabelTooLong);
    }
    wire[label_start] = len as u8;
    Ok(())
}

/// Decodes the escape after a backslash: `\DDD` (three decimal digits) or `\X`.
/// Returns the byte and how many input bytes after the backslash it used.
pub(crate) fn unescape(rest: &[u8]) -> Option<(u8, usize)> {
    let first = *rest.first()?;
    if first.is_ascii_digit() {
        let digits = rest.get(..3)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let value = digits
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
        u8::try_from(value).ok().map(|b| (b, 3))
    } else {
        Some((first, 1))
    }
}

/// Iterator over the labels of a [`Name`], left to right.
pub struct Labels<'a> {
    wire: &'a [u8],
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let len = *self.wire.first()? as usize;
        if len == 0 {
            return None;
        }
        let label = &self.wire[1..1 + len];
        self.wire = &self.wire[1 + len..];
        Some(label)
    }
}

impl Ord for Name {
    /// DNSSEC canonical order (RFC 4034 §6.1), without allocating.
    fn cmp(&self, other: &Name) -> Ordering {
        if self.0 == other.0 {
            return Ordering::Equal;
        }
        let (a, a_count) = label_starts(&self.0);
        let (b, b_count) = label_starts(&other.0);
        for i in 1..=a_count.min(b_count) {
            let la = label_at(&self.0, a[a_count - i]);
            let lb = label_at(&other.0, b[b_count - i]);
            match la.cmp(lb) {
                Ordering::Equal => {}
                unequal => return unequal,
            }
        }
        a_count.cmp(&b_count)
    }
}

fn label_starts(wire: &[u8]) -> ([u8; 128], usize) {
    let mut starts = [0u8; 128];
    let mut count = 0;
    let mut pos = 0;
    while pos < wire.len() && wire[pos] != 0 && count < starts.len() {
        starts[count] = pos as u8;
        count += 1;
        pos += 1 + wire[pos] as usize;
    }
    (starts, count)
}

fn label_at(wire: &[u8], start: u8) -> &[u8] {
    let start = usize::from(start);
    &wire[start + 1..start + 1 + usize::from(wire[start])]
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Writes one label in presentation format, escaping what RFC 1035 §5.1 requires.
pub(crate) fn write_label(f: &mut impl fmt::Write, label: &[u8]) -> fmt::Result {
    for &b in label {
        match b {
            b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                f.write_char('\\')?;
                f.write_char(b as char)?;
            }
            0x21..=0x7e => f.write_char(b as char)?,
            _ => write!(f, "\\{b:03}")?,
        }
    }
    Ok(())
}

impl fmt::Display for Name {
    /// Presentation format with a trailing dot.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str(".");
        }
        for label in self.labels() {
            write_label(f, label)?;
            f.write_str(".")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

impl std::str::FromStr for Name {
    type Err = NameError;
    /// Parses an absolute name; a missing trailing dot is allowed.
    fn from_str(s: &str) -> Result<Name, NameError> {
        Name::from_text(s.as_bytes(), Some(&Name::root()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_and_only_letters_are_lowered_eight_at_a_time() {
        for first in (0..=255u8).step_by(1) {
            let bytes = [
                first,
                first.wrapping_add(1),
                b'A',
                b'Z',
                b'@',
                b'[',
                0xC1,
                b'z',
            ];
            let lowered = lower_case_word(u64::from_le_bytes(bytes)).to_le_bytes();
            let expected = bytes.map(|b| b.to_ascii_lowercase());
            assert_eq!(lowered, expected, "{bytes:?}");
        }
    }

    #[test]
    fn names_from_the_wire_are_lowered_whatever_follows_them() {
        // Every length up to the longest name, with and without bytes after it (a query's
        // type and class), in mixed case.
        for labels in 1..=127usize {
            for width in [1usize, 2, 5, 63] {
                let mut wire = Vec::new();
                for i in 0..labels {
                    let len = 1 + (i * width) % 63;
                    if wire.len() + 1 + len + 1 > MAX_NAME_LEN {
                        break;
                    }
                    wire.push(len as u8);
                    wire.extend((0..len).map(|j| b"aB-Z_9y@["[(i + j) % 9]));
                }
                wire.push(0);
                let expected: Vec<u8> = wire.iter().map(u8::to_ascii_lowercase).collect();
                for tail in [&[][..], &[0, 1], &[b'Q'; 40]] {
                    let input = [&wire[..], tail].concat();
                    let (name, len) = Name::from_wire(&input).unwrap();
                    assert_eq!(len, wire.len());
                    assert_eq!(name.as_wire(), &expected[..], "{input:?}");
                }
            }
        }
    }

    #[test]
    fn the_label_below_a_suffix_and_where_it_starts() {
        let name: Name = "www.example.tld.".parse().unwrap();
        assert_eq!(label_below(name.as_wire(), 1), Some((4, &b"example"[..])));
        assert_eq!(label_below(name.as_wire(), 2), Some((0, &b"www"[..])));
        assert_eq!(label_below(name.as_wire(), 3), None);
        assert_eq!(label_below(b"\x03www\x07exam", 0), None);
    }

    fn n(s: &str) -> Name {
        s.parse().unwrap()
    }

    #[test]
    fn parses_escapes_and_lowercases() {
        let name = Name::from_text(br"A\.b.\065\099.", None).unwrap();
        assert_eq!(name.as_wire(), b"\x03a.b\x02ac\x00");
        assert_eq!(name.to_string(), r"a\.b.ac.");
    }

    #[test]
    fn relative_names_take_the_origin() {
        let origin = n("tld.");
        assert_eq!(
            Name::from_text(b"www", Some(&origin)).unwrap(),
            n("www.tld.")
        );
        assert_eq!(Name::from_text(b"@", Some(&origin)).unwrap(), origin);
        assert_eq!(Name::from_text(b"www", None), Err(NameError::NoOrigin));
    }

    #[test]
    fn rejects_bad_names() {
        assert_eq!(Name::from_text(b"a..b.", None), Err(NameError::EmptyLabel));
        assert_eq!(
            Name::from_text(&[b'a'; 64], Some(&Name::root())),
            Err(NameError::LabelTooLong)
        );
        let long = "a.".repeat(128);
        assert_eq!(
            Name::from_text(long.as_bytes(), None),
            Err(NameError::NameTooLong)
        );
        assert_eq!(Name::from_text(br"a\256.", None), Err(NameError::BadEscape));
    }

    #[test]
    fn canonical_order_matches_rfc4034_example() {
        // RFC 4034 §6.1.
        let ordered = [
            "example.",
            "a.example.",
            "yljkjljk.a.example.",
            "Z.a.example.",
            "zABC.a.EXAMPLE.",
            "z.example.",
            "\\001.z.example.",
            "*.z.example.",
            "\\200.z.example.",
        ];
        let names: Vec<Name> = ordered.iter().map(|s| n(s)).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        for name in &names {
            let mut key = Vec::new();
            name.canonical_key(&mut key);
            assert_eq!(&Name::from_canonical_key(&key).unwrap(), name);
        }
    }

    #[test]
    fn subdomains() {
        assert!(n("a.b.tld.").is_subdomain_of(&n("tld.")));
        assert!(n("tld.").is_subdomain_of(&n("tld.")));
        assert!(!n("xtld.").is_subdomain_of(&n("tld.")));
        assert!(n("x.tld.").is_subdomain_of(&Name::root()));
        assert_eq!(n("a.b.").parent().unwrap(), n("b."));
    }
}
