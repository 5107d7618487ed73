//! One segment: an immutable fst map from `<kind><key>` to a value, or to [`TOMBSTONE`] where a
//! newer segment removes a key an older one holds. Written once through a temporary file and a
//! rename, then only read (mapped) and, after a merge, deleted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use fst::{Map, MapBuilder, Streamer};
use memmap2::Mmap;

/// The value of a removed key: no index value is this large (registrar ids are 32 bits, sets
/// hold 0).
pub const TOMBSTONE: u64 = u64::MAX;

/// Which index a key belongs to: its first byte in a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Kind {
    /// `"<address>\0<host name>"`: name servers by address.
    Address = b'a',
    /// Every domain name: prefix search.
    Domain = b'd',
    /// `"<name server>\0<domain>"`: domains by name server.
    Nameserver = b'n',
    /// Lower-case registrar name → IANA id.
    Registrar = b'r',
}

/// A segment's key: the kind's byte, then the key.
pub fn key(kind: Kind, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 1);
    out.push(kind as u8);
    out.extend_from_slice(key);
    out
}

/// The file of segment `id` in the index folder.
pub fn path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("segment-{id:012}.fst"))
}

/// The id in a segment file's name, if it is one.
pub fn id_of(file_name: &str) -> Option<u64> {
    file_name
        .strip_prefix("segment-")?
        .strip_suffix(".fst")?
        .parse()
        .ok()
}

/// A mapped segment.
pub struct Segment {
    /// Its id (newer segments have larger ids).
    pub id: u64,
    /// Its keys and values.
    pub map: Map<Mmap>,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Segment({}, {} keys)", self.id, self.map.len())
    }
}

/// Why a segment could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    /// The file is not there (removed by a merge since the manifest was read, or lost).
    #[error("{0}: missing")]
    Missing(PathBuf),
    /// The file is there but is not a whole segment (its checksum fails, or it is no fst).
    #[error("{path}: damaged: {reason}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Another file error.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl Segment {
    /// Maps segment `id` and checks its checksum (the whole file is read once: about 20 ms for
    /// a 10-million-domain registry's base segment).
    pub fn open(dir: &Path, id: u64) -> Result<Segment, SegmentError> {
        let path = path(dir, id);
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SegmentError::Missing(path));
            }
            Err(source) => return Err(SegmentError::Io { path, source }),
        };
        // SAFETY: segment files are written whole under a temporary name and renamed into
        // place, never written again, so the mapped bytes cannot change underneath.
        let bytes = unsafe { Mmap::map(&file) }.map_err(|source| SegmentError::Io {
            path: path.clone(),
            source,
        })?;
        let damaged = |reason: String| SegmentError::Damaged {
            path: path.clone(),
            reason,
        };
        let map = Map::new(bytes).map_err(|e| damaged(e.to_string()))?;
        map.as_fst().verify().map_err(|e| damaged(e.to_string()))?;
        Ok(Segment { id, map })
    }
}

/// Writes segment `id` from entries in key order (without fsync: a checkpoint's `syncfs` makes
/// it durable); returns the number of keys written.
pub fn write(
    dir: &Path,
    id: u64,
    entries: impl IntoIterator<Item = (Vec<u8>, u64)>,
) -> std::io::Result<u64> {
    let mut count = 0;
    crate::atomic::replace_unsynced_with(&path(dir, id), |out| {
        let mut builder = MapBuilder::new(out).map_err(std::io::Error::other)?;
        for (key, value) in entries {
            builder.insert(&key, value).map_err(std::io::Error::other)?;
            count += 1;
        }
        builder.into_inner().map_err(std::io::Error::other)?.flush()
    })?;
    Ok(count)
}

/// Writes segment `id` as the union of `segments` (oldest first): for a key several hold, the
/// newest one's value; tombstones are left out with `drop_tombstones` (when the oldest segment
/// of the index is among them, nothing older is left for a tombstone to hide). Streams from
/// the mapped files to the new file: memory stays small whatever the sizes. Returns the
/// number of keys written; once `stop` is set it gives up (with
/// [`std::io::ErrorKind::Interrupted`]) and leaves no file.
pub fn merge(
    dir: &Path,
    id: u64,
    segments: &[&Segment],
    drop_tombstones: bool,
    stop: &AtomicBool,
) -> std::io::Result<u64> {
    let mut op = fst::map::OpBuilder::new();
    for segment in segments {
        op.push(segment.map.stream());
    }
    let mut union = op.union();
    let mut count = 0;
    crate::atomic::replace_unsynced_with(&path(dir, id), |out| {
        let mut builder = MapBuilder::new(out).map_err(std::io::Error::other)?;
        while let Some((key, values)) = union.next() {
            let value = newest(values);
            if drop_tombstones && value == TOMBSTONE {
                continue;
            }
            builder.insert(key, value).map_err(std::io::Error::other)?;
            count += 1;
            if count % 65_536 == 0 && stop.load(Ordering::Relaxed) {
                return Err(std::io::ErrorKind::Interrupted.into());
            }
        }
        builder.into_inner().map_err(std::io::Error::other)?.flush()
    })?;
    Ok(count)
}

/// Of the values a union found for one key, the one from the newest segment (the highest
/// index: segments are added oldest first).
pub fn newest(values: &[fst::map::IndexedValue]) -> u64 {
    values
        .iter()
        .max_by_key(|v| v.index)
        .map_or(TOMBSTONE, |v| v.value)
}
