//! [`Octets`]: a byte string stored inline when short.
//!
//! Names and rdata in a TLD zone are short (a delegation's NS target is about 20 octets), so
//! storing up to 30 octets inside the value avoids one heap allocation per name and per rdata
//! and, more importantly, keeps a sorted record list contiguous in memory: the passes over a
//! million-delegation zone (checks, compilation, diffs) then stream through memory instead of
//! chasing a pointer per record.

use std::fmt;
use std::ops::Deref;

/// The most octets stored inline.
pub const INLINE: usize = 30;

/// An immutable byte string, inline up to [`INLINE`] octets.
#[derive(Clone)]
pub struct Octets(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Octets {
    /// Copies `bytes`.
    pub fn new(bytes: &[u8]) -> Octets {
        if bytes.len() <= INLINE {
            let mut inline = [0; INLINE];
            inline[..bytes.len()].copy_from_slice(bytes);
            Octets(Repr::Inline {
                len: bytes.len() as u8,
                bytes: inline,
            })
        } else {
            Octets(Repr::Heap(bytes.into()))
        }
    }
}

impl Octets {
    /// The first `len` bytes of `bytes` (a valid wire name), ASCII letters lowered a word at
    /// a time: names from queries are read this way on every query. The words are read from
    /// as much of `bytes` as an inline array holds (bytes past `len` are never read, see
    /// `Deref`), the last one overlapping the one before (lowering twice is lowering once),
    /// and written straight into the value.
    pub(crate) fn lowered(bytes: &[u8], len: usize) -> Octets {
        let lower = crate::name::lower_case_word;
        let window = &bytes[..bytes.len().min(INLINE)];
        if len > window.len() || window.len() < 8 {
            let mut octets = Octets::new(&bytes[..len]);
            crate::name::lowercase_wire(octets.as_mut_slice());
            return octets;
        }
        let mut octets = Octets(Repr::Inline {
            len: len as u8,
            bytes: [0; INLINE],
        });
        if let Repr::Inline { bytes: inline, .. } = &mut octets.0 {
            for at in [0, 8, 16, INLINE - 8] {
                let at = at.min(window.len() - 8);
                let word = u64::from_le_bytes(window[at..at + 8].try_into().expect("8 bytes"));
                inline[at..at + 8].copy_from_slice(&lower(word).to_le_bytes());
            }
        }
        octets
    }

    /// The bytes, to change in place.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        match &mut self.0 {
            Repr::Inline { len, bytes } => &mut bytes[..usize::from(*len)],
            Repr::Heap(bytes) => bytes,
        }
    }
}

impl Deref for Octets {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Repr::Heap(bytes) => bytes,
        }
    }
}

impl AsRef<[u8]> for Octets {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::borrow::Borrow<[u8]> for Octets {
    fn borrow(&self) -> &[u8] {
        self
    }
}

impl PartialEq for Octets {
    fn eq(&self, other: &Octets) -> bool {
        **self == **other
    }
}

impl Eq for Octets {}

impl PartialOrd for Octets {
    fn partial_cmp(&self, other: &Octets) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Octets {
    fn cmp(&self, other: &Octets) -> std::cmp::Ordering {
        (**self).cmp(&**other)
    }
}

impl std::hash::Hash for Octets {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl fmt::Debug for Octets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Octets({:02x?})", &**self)
    }
}

impl From<&[u8]> for Octets {
    fn from(bytes: &[u8]) -> Octets {
        Octets::new(bytes)
    }
}

impl From<Vec<u8>> for Octets {
    fn from(bytes: Vec<u8>) -> Octets {
        if bytes.len() <= INLINE {
            Octets::new(&bytes)
        } else {
            Octets(Repr::Heap(bytes.into_boxed_slice()))
        }
    }
}

impl<const N: usize> From<[u8; N]> for Octets {
    fn from(bytes: [u8; N]) -> Octets {
        Octets::new(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap_compare_by_content() {
        let short = Octets::new(b"abc");
        let long = Octets::from(vec![7u8; 100]);
        assert_eq!(&*short, b"abc");
        assert_eq!(long.len(), 100);
        assert_eq!(Octets::new(&[7u8; 100]), long);
        assert!(short < Octets::new(b"abd"));
        assert_eq!(std::mem::size_of::<Octets>(), 32);
    }
}
