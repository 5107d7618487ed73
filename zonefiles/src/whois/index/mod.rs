//! Search indexes beside the WHOIS tree, kept as an LSM tree of fst segments:
//!
//! ```text
//! <root>/index/MANIFEST                  the segments now, oldest first (JSON; replaced by rename)
//! <root>/index/segment-<id>.fst          one segment: "<kind><key>" → value, or a tombstone
//! ```
//!
//! Four indexes share the segments, told apart by a key's first byte (`segment::Kind`):
//! every domain name (prefix search), `"<address>\0<host name>"` (name servers by address),
//! `"<name server>\0<domain>"` (domains by name server), and lower-case registrar name → IANA
//! id (registrar by name).
//!
//! # Costs follow the change
//!
//! A rebuild ([`Writer::rebuild`]) reads the whole tree into one base segment. After that,
//! each batch of writes adds a small layer holding only the keys it adds or removes
//! ([`Writer::add`]: one file of the batch's size and a new manifest), and searches read every
//! segment together, the newest segment's word on a key winning ([`Index`]). Layers are merged
//! in the background ([`writer`]'s policy), off the path that applies changes. A reader opens
//! the manifest's segments once and, when the generation moves, maps only the new ones.
//!
//! Lookups of one object never need an index: its path comes from its name.

mod delta;
mod manifest;
mod segment;
pub mod writer;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fst::{IntoStreamer, Streamer};

pub use delta::Delta;
use delta::{keys_of, registrar_key};
use manifest::{Listed, Manifest};
use segment::{Kind, Segment, SegmentError, TOMBSTONE};
pub use writer::{IndexError, Writer};

use super::tree::Tree;

/// The index folder of the tree at `root`.
fn dir(root: &Path) -> PathBuf {
    root.join("index")
}

/// The files of the index's earlier layout (one fst per index, no layers), removed when the
/// index is rebuilt in this one.
const EARLIER_FILES: [&str; 5] = [
    "domains.fst",
    "addresses.fst",
    "nameservers.fst",
    "registrars.fst",
    "GENERATION",
];

/// The generation written last, 0 if none.
pub fn generation(root: &Path) -> u64 {
    Manifest::generation(&dir(root))
}

/// Rebuilds the index from every record of the tree as one segment; returns the new
/// generation. For a tree no writer is changing (a generator, an operator's rebuild with the
/// writer stopped); a writer uses [`Writer::rebuild`].
pub fn rebuild(tree: &Tree) -> Result<u64, IndexError> {
    rebuild_with(tree, BTreeMap::new())
}

fn rebuild_with(tree: &Tree, covers: BTreeMap<String, u32>) -> Result<u64, IndexError> {
    let root = tree.root();
    let dir = dir(root);
    let started = std::time::Instant::now();
    let mut keys: Vec<(Kind, String, u64)> = Vec::new();
    let mut read = 0u64;
    // In inode order: at ten million domains not in memory, four times as fast as the
    // directories' order.
    tree.for_each_record(|file, bytes| {
        read += 1;
        if read.is_multiple_of(100_000) {
            tracing::info!(
                records = read,
                seconds = started.elapsed().as_secs(),
                "indexing the WHOIS tree"
            );
        }
        match serde_json::from_slice::<super::Object>(&bytes) {
            Ok(object) => keys.extend(keys_of(&object)),
            Err(_) => tracing::warn!(file = %file.display(), "not a WHOIS record; not indexed"),
        }
        Ok(())
    })?;
    keys.sort_unstable();
    keys.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    let before = Manifest::read(&dir).ok().flatten().unwrap_or_default();
    let id = before.next_id();
    let count = segment::write(
        &dir,
        id,
        keys.into_iter()
            .map(|(kind, key, value)| (segment::key(kind, key.as_bytes()), value)),
    )
    .map_err(|source| IndexError::Io {
        path: segment::path(&dir, id),
        source,
    })?;
    let manifest = Manifest {
        generation: before.generation + 1,
        segments: vec![Listed { id, keys: count }],
        covers,
    };
    // Durable before the manifest names it, and the manifest before the old files go.
    let synced = (|| {
        std::fs::File::open(segment::path(&dir, id))?.sync_all()?;
        manifest.write(&dir)?;
        std::fs::File::open(&dir)?.sync_all()
    })();
    synced.map_err(|source| IndexError::Io {
        path: dir.clone(),
        source,
    })?;
    for listed in &before.segments {
        let _ = std::fs::remove_file(segment::path(&dir, listed.id));
    }
    for file in EARLIER_FILES {
        let _ = std::fs::remove_file(dir.join(file));
    }
    tracing::info!(
        records = read,
        generation = manifest.generation,
        ms = started.elapsed().as_millis() as u64,
        "search indexes written"
    );
    Ok(manifest.generation)
}

/// The index as one generation of the manifest lists it, for searches: every segment mapped.
#[derive(Debug, Default)]
pub struct Index {
    generation: u64,
    /// Oldest first.
    segments: Vec<Arc<Segment>>,
}

impl Index {
    /// Opens the current generation. An index that is missing or damaged is left out (its
    /// searches find nothing, and a warning says so).
    pub fn open(root: &Path) -> Index {
        Index::default().refreshed(root).unwrap_or_default()
    }

    /// The current generation if it is not this one (`None` if it is, or if it does not
    /// open): segments this index already maps are shared, so only new ones are mapped and
    /// checked. Costs one read of the manifest when nothing changed.
    pub fn refreshed(&self, root: &Path) -> Option<Index> {
        let dir = dir(root);
        // A merge may remove a segment between reading the manifest and opening it: read
        // the manifest again.
        for _ in 0..10 {
            let manifest = match Manifest::read(&dir) {
                Ok(Some(manifest)) => manifest,
                Ok(None) => return None,
                Err(error) => {
                    tracing::warn!(%error, dir = %dir.display(), "the search index's manifest does not read");
                    return None;
                }
            };
            if manifest.generation == self.generation {
                return None;
            }
            let opened: Result<Vec<Arc<Segment>>, SegmentError> = manifest
                .segments
                .iter()
                .map(
                    |listed| match self.segments.iter().find(|s| s.id == listed.id) {
                        Some(held) => Ok(held.clone()),
                        None => Segment::open(&dir, listed.id).map(Arc::new),
                    },
                )
                .collect();
            match opened {
                Ok(segments) => {
                    return Some(Index {
                        generation: manifest.generation,
                        segments,
                    });
                }
                Err(SegmentError::Missing(_)) => continue,
                Err(error) => {
                    tracing::warn!(%error, "a search index segment does not open; searches use the generation held");
                    return None;
                }
            }
        }
        None
    }

    /// The generation this is.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The number of segments a search reads.
    pub fn segments(&self) -> usize {
        self.segments.len()
    }

    /// Calls `visit` with each live key of `kind` from `from` (inclusive) up to every key that
    /// starts with `prefix`, in order, without the kind's byte, and its value, until it
    /// returns false. Where segments disagree the newest says; a tombstone hides the key.
    fn scan(
        &self,
        kind: Kind,
        prefix: &[u8],
        from: &[u8],
        mut visit: impl FnMut(&[u8], u64) -> bool,
    ) {
        let lower = segment::key(kind, from);
        let mut upper = segment::key(kind, prefix);
        upper.push(0xFF);
        let mut op = fst::map::OpBuilder::new();
        for segment in &self.segments {
            op.push(segment.map.range().ge(&lower).lt(&upper));
        }
        let mut union = op.union();
        while let Some((key, values)) = union.next() {
            let value = segment::newest(values);
            if value != TOMBSTONE && !visit(&key[1..], value) {
                return;
            }
        }
    }

    /// The live keys of `kind` that start with `prefix` (at most `limit`), each without its
    /// first `skip` bytes, and whether there are more.
    fn with_prefix(
        &self,
        kind: Kind,
        prefix: &str,
        skip: usize,
        limit: usize,
    ) -> (Vec<String>, bool) {
        let mut out = Vec::new();
        let mut more = false;
        self.scan(kind, prefix.as_bytes(), prefix.as_bytes(), |key, _| {
            if out.len() == limit {
                more = true;
                return false;
            }
            out.push(String::from_utf8_lossy(&key[skip..]).into_owned());
            true
        });
        (out, more)
    }

    /// Up to `limit` domain names starting with `prefix`, and whether there were more.
    pub fn domains_with_prefix(&self, prefix: &str, limit: usize) -> (Vec<String>, bool) {
        self.with_prefix(Kind::Domain, prefix, 0, limit)
    }

    /// Host names with this address (at most `limit`).
    pub fn hosts_with_address(&self, address: IpAddr, limit: usize) -> Vec<String> {
        let prefix = format!("{address}\0");
        self.with_prefix(Kind::Address, &prefix, prefix.len(), limit)
            .0
    }

    /// Domains delegated to this name server (at most `limit`), and whether there are more.
    pub fn domains_using(&self, nameserver: &str, limit: usize) -> (Vec<String>, bool) {
        let prefix = format!("{nameserver}\0");
        self.with_prefix(Kind::Nameserver, &prefix, prefix.len(), limit)
    }

    /// Up to `limit` distinct name servers (used by some domain) whose names start with
    /// `prefix`, and whether there were more. Each name costs one range of the index, however
    /// many domains use it.
    pub fn nameservers_with_prefix(&self, prefix: &str, limit: usize) -> (Vec<String>, bool) {
        let mut out: Vec<String> = Vec::new();
        let mut from = prefix.as_bytes().to_vec();
        loop {
            let mut found = None;
            self.scan(Kind::Nameserver, prefix.as_bytes(), &from, |key, _| {
                found = Some(key.split(|&b| b == 0).next().unwrap_or(key).to_vec());
                false
            });
            let Some(name) = found else {
                return (out, false);
            };
            if out.len() == limit {
                return (out, true);
            }
            out.push(String::from_utf8_lossy(&name).into_owned());
            // The next name server: past every "<name>\0…" key.
            from = name;
            from.push(1);
        }
    }

    /// Up to `limit` IANA ids of registrars whose names start with `prefix`
    /// (case-insensitive), and whether there were more.
    pub fn registrars_with_prefix(&self, prefix: &str, limit: usize) -> (Vec<u32>, bool) {
        let prefix = registrar_key(prefix);
        let mut out = Vec::new();
        let mut more = false;
        self.scan(
            Kind::Registrar,
            prefix.as_bytes(),
            prefix.as_bytes(),
            |_, id| {
                if out.len() == limit {
                    more = true;
                    return false;
                }
                out.extend(u32::try_from(id).ok());
                true
            },
        );
        (out, more)
    }

    /// The IANA id of the registrar with this name (case-insensitive).
    pub fn registrar_named(&self, name: &str) -> Option<u32> {
        let key = segment::key(Kind::Registrar, registrar_key(name).as_bytes());
        let value = self.segments.iter().rev().find_map(|s| s.map.get(&key))?;
        (value != TOMBSTONE)
            .then(|| u32::try_from(value).ok())
            .flatten()
    }

    /// Every live key of every index, in order, with its value (for tests and checks: the
    /// index as one segment would hold it).
    pub fn entries(&self) -> Vec<(Vec<u8>, u64)> {
        let mut op = fst::map::OpBuilder::new();
        for segment in &self.segments {
            op.push(segment.map.into_stream());
        }
        let mut union = op.union();
        let mut out = Vec::new();
        while let Some((key, values)) = union.next() {
            let value = segment::newest(values);
            if value != TOMBSTONE {
                out.push((key.to_vec(), value));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
