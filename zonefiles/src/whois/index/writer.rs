//! The index's one writer: adds a layer per batch of changes and merges layers in the
//! background.
//!
//! # Thread model
//!
//! The writer's owner (the update-agent's apply loop, or edge-whois's update listener) calls
//! [`Writer::add`] on its own thread: the layer is written and the manifest replaced before it
//! returns, so a search made after the call finds the change. Merges run on threads of their
//! own at a lower CPU priority; a merge reads the segments of its run from their mapped files,
//! writes the merged segment, and installs it by replacing the run in the manifest. The one
//! lock (on the manifest and the mapped segments) is held only to read or replace the manifest (microseconds), never while a
//! segment is read or written, so adding never waits for a merge.
//!
//! # Merge policy
//!
//! Segments are weighed by their keys. A run is the newest segments, extended to an older one
//! while that one holds no more keys than the run so far; it is merged once it is at least
//! [`MIN_RUN`] segments long. Segments thus double in size from newest to oldest: a search
//! reads about log₂(changes) segments, each key is rewritten about log₂(changes) times, and
//! the base (the oldest, largest segment) is rewritten only once the layers together are as
//! large as it is. Merges of disjoint runs may run at once (at most [`MAX_MERGES`]), so a long
//! merge of the base does not let small layers pile up behind it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::delta::Delta;
use super::manifest::{Listed, Manifest};
use super::segment::{self, Segment, SegmentError};
use crate::whois::tree::{Tree, TreeError};

/// The fewest segments a merge takes.
pub const MIN_RUN: usize = 4;

/// The most merges running at once.
pub const MAX_MERGES: usize = 3;

/// Why the index could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// No manifest: the index was never built (or was built by an older version).
    #[error("{0}: no search index yet")]
    Missing(PathBuf),
    /// A segment or the manifest is missing or damaged (after the machine stopped before a
    /// checkpoint, for example): the index must be rebuilt from the tree.
    #[error("the search index needs rebuilding: {0}")]
    Damaged(String),
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Reading the tree for a rebuild failed.
    #[error(transparent)]
    Tree(#[from] TreeError),
}

impl From<SegmentError> for IndexError {
    fn from(error: SegmentError) -> IndexError {
        match error {
            SegmentError::Io { path, source } => IndexError::Io { path, source },
            other => IndexError::Damaged(other.to_string()),
        }
    }
}

/// The manifest and its segments, mapped, in the manifest's order.
struct State {
    manifest: Manifest,
    segments: Vec<Arc<Segment>>,
    next_id: u64,
    /// Ids of the segments that running merges are reading.
    merging: Vec<u64>,
}

/// The index's writer. One per index: the owner holds the tree's writer lock. Dropping it
/// stops its merges (a merge cut short leaves nothing behind).
pub struct Writer {
    dir: PathBuf,
    state: Arc<Mutex<State>>,
    merges: Vec<std::thread::JoinHandle<()>>,
    /// Set to make running merges give up.
    stop: Arc<AtomicBool>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop_merges();
    }
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Writer({})", self.dir.display())
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> IndexError + '_ {
    move |source| IndexError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Writer {
    /// Opens the index of the tree at `root`: every listed segment is mapped and its checksum
    /// checked, and files no manifest lists (left by a merge or a layer cut short) are
    /// removed. [`IndexError::Missing`] or [`IndexError::Damaged`] ask for [`Writer::rebuild`].
    pub fn open(root: &Path) -> Result<Writer, IndexError> {
        let dir = super::dir(root);
        let manifest = match Manifest::read(&dir) {
            Ok(Some(manifest)) => manifest,
            Ok(None) => return Err(IndexError::Missing(dir)),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(IndexError::Damaged(format!("{}: {e}", dir.display())));
            }
            Err(e) => return Err(io(&dir)(e)),
        };
        let segments = manifest
            .segments
            .iter()
            .map(|listed| Segment::open(&dir, listed.id).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        remove_unlisted(&dir, &manifest)?;
        let next_id = manifest.next_id();
        Ok(Writer {
            dir,
            state: Arc::new(Mutex::new(State {
                manifest,
                segments,
                next_id,
                merging: Vec::new(),
            })),
            merges: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Starts the index of the tree at `root` afresh, holding nothing (until a rebuild): the
    /// files of the one there (missing or damaged) are removed.
    pub fn empty(root: &Path) -> Result<Writer, IndexError> {
        let dir = super::dir(root);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let before = Manifest::read(&dir).ok().flatten().unwrap_or_default();
        let manifest = Manifest {
            generation: before.generation + 1,
            ..Manifest::default()
        };
        manifest.write(&dir).map_err(io(&dir))?;
        Writer::open(root)
    }

    /// Builds the index again from every record of the tree (one segment; the layers and
    /// merges are dropped) and opens it; `covers` is recorded as the serials it holds.
    pub fn rebuild(tree: &Tree, covers: BTreeMap<String, u32>) -> Result<Writer, IndexError> {
        super::rebuild_with(tree, covers)?;
        Writer::open(tree.root())
    }

    /// As [`Writer::rebuild`], in place: running merges are stopped first.
    pub fn rebuild_here(
        &mut self,
        tree: &Tree,
        covers: BTreeMap<String, u32>,
    ) -> Result<(), IndexError> {
        self.stop_merges();
        *self = Writer::rebuild(tree, covers)?;
        Ok(())
    }

    /// The generation of the manifest written last.
    pub fn generation(&self) -> u64 {
        lock(&self.state).manifest.generation
    }

    /// The serial of `zone` up to which the index holds the changes.
    pub fn covered(&self, zone: &str) -> Option<u32> {
        lock(&self.state).manifest.covers.get(zone).copied()
    }

    /// Every zone's serial up to which the index holds the changes.
    pub fn covers(&self) -> BTreeMap<String, u32> {
        lock(&self.state).manifest.covers.clone()
    }

    /// The number of segments now (what a search reads).
    pub fn segments(&self) -> usize {
        lock(&self.state).segments.len()
    }

    /// Adds a batch's changes as a new layer (none if `delta` is empty) and records that the
    /// index holds `zone`'s changes up to `serial`; returns the new generation. The layer and
    /// the manifest are written without fsync (a checkpoint's `syncfs` makes them durable).
    /// Starts a merge if one is due.
    pub fn add(&mut self, delta: Delta, covers: Option<(&str, u32)>) -> Result<u64, IndexError> {
        let layer = if delta.is_empty() {
            None
        } else {
            let id = {
                let mut state = lock(&self.state);
                state.next_id += 1;
                state.next_id - 1
            };
            let keys = segment::write(&self.dir, id, delta.into_entries())
                .map_err(io(&segment::path(&self.dir, id)))?;
            Some((Listed { id, keys }, Arc::new(Segment::open(&self.dir, id)?)))
        };
        let generation = {
            let mut state = lock(&self.state);
            if let Some((listed, segment)) = layer {
                state.manifest.segments.push(listed);
                state.segments.push(segment);
            }
            if let Some((zone, serial)) = covers {
                state.manifest.covers.insert(zone.to_owned(), serial);
            }
            state.manifest.generation += 1;
            state.manifest.write(&self.dir).map_err(io(&self.dir))?;
            state.manifest.generation
        };
        self.merge_if_due();
        Ok(generation)
    }

    /// Starts a merge of the newest segments that no merge is reading, if the policy says so
    /// and fewer than [`MAX_MERGES`] run.
    fn merge_if_due(&mut self) {
        self.merges.retain(|m| !m.is_finished());
        if self.merges.len() >= MAX_MERGES {
            return;
        }
        let (run, ids, drop_tombstones, id) = {
            let mut state = lock(&self.state);
            // Only segments newer than every one a running merge reads.
            let free = state
                .segments
                .iter()
                .rposition(|s| state.merging.contains(&s.id))
                .map_or(0, |p| p + 1);
            let sizes: Vec<u64> = state.manifest.segments[free..]
                .iter()
                .map(|s| s.keys)
                .collect();
            let Some(start) = plan(&sizes) else {
                return;
            };
            let start = free + start;
            let run: Vec<Arc<Segment>> = state.segments[start..].to_vec();
            let ids: Vec<u64> = run.iter().map(|s| s.id).collect();
            state.merging.extend(&ids);
            state.next_id += 1;
            (run, ids, start == 0, state.next_id - 1)
        };
        let dir = self.dir.clone();
        let state = self.state.clone();
        let stop = self.stop.clone();
        let spawned = std::thread::Builder::new()
            .name("index merge".into())
            .spawn(move || {
                lower_priority();
                let merged = merge(&dir, &state, &run, id, drop_tombstones, &stop);
                lock(&state).merging.retain(|i| !ids.contains(i));
                match merged {
                    Err(IndexError::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(error) => tracing::error!(
                        %error,
                        "merging search index segments (the index stays as it was)"
                    ),
                    Ok(()) => {}
                }
            });
        match spawned {
            Ok(thread) => self.merges.push(thread),
            Err(error) => {
                tracing::error!(%error, "starting a search index merge");
                lock(&self.state).merging.clear();
            }
        }
    }

    /// Waits for the running merges to end.
    pub fn wait(&mut self) {
        for merge in self.merges.drain(..) {
            let _ = merge.join();
        }
    }

    /// Makes the running merges give up, and waits for them (promptly: a merge looks every
    /// 65,536 keys).
    fn stop_merges(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.wait();
        self.stop.store(false, Ordering::Relaxed);
    }
}

/// Where the newest run worth merging starts, among segments of these sizes (oldest first).
pub fn plan(sizes: &[u64]) -> Option<usize> {
    let mut total = 0u64;
    let mut start = sizes.len();
    for (n, &size) in sizes.iter().enumerate().rev() {
        if start < sizes.len() && size > total {
            break;
        }
        total += size;
        start = n;
    }
    (sizes.len() - start >= MIN_RUN).then_some(start)
}

/// Merges `run` into segment `id` and installs it: the run is replaced in the manifest where
/// it still stands whole (a rebuild meanwhile drops the result), and its files are removed.
fn merge(
    dir: &Path,
    state: &Mutex<State>,
    run: &[Arc<Segment>],
    id: u64,
    drop_tombstones: bool,
    stop: &AtomicBool,
) -> Result<(), IndexError> {
    let started = std::time::Instant::now();
    let parts: Vec<&Segment> = run.iter().map(Arc::as_ref).collect();
    let keys = segment::merge(dir, id, &parts, drop_tombstones, stop)
        .map_err(io(&segment::path(dir, id)))?;
    let merged = Arc::new(Segment::open(dir, id)?);
    let mut held = lock(state);
    if stop.load(Ordering::Relaxed) {
        drop(held);
        let _ = std::fs::remove_file(segment::path(dir, id));
        return Err(io(dir)(std::io::ErrorKind::Interrupted.into()));
    }
    let Some(start) = held.segments.iter().position(|s| s.id == run[0].id) else {
        drop(held);
        let _ = std::fs::remove_file(segment::path(dir, id));
        return Ok(());
    };
    let end = start + run.len();
    let whole = held
        .segments
        .get(start..end)
        .is_some_and(|now| now.iter().map(|s| s.id).eq(run.iter().map(|s| s.id)));
    if !whole {
        drop(held);
        let _ = std::fs::remove_file(segment::path(dir, id));
        return Ok(());
    }
    held.segments.splice(start..end, [merged]);
    held.manifest
        .segments
        .splice(start..end, [Listed { id, keys }]);
    held.manifest.generation += 1;
    held.manifest.write(dir).map_err(io(dir))?;
    let generation = held.manifest.generation;
    drop(held);
    for segment in run {
        let _ = std::fs::remove_file(segment::path(dir, segment.id));
    }
    tracing::debug!(
        segments = run.len(),
        keys,
        generation,
        ms = started.elapsed().as_millis() as u64,
        "search index segments merged"
    );
    Ok(())
}

/// Lowers the calling thread's CPU priority (nice 10): merges yield to applying and answering.
fn lower_priority() {
    // SAFETY: setpriority on the calling thread (a Linux thread id is a PRIO_PROCESS id).
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10);
    }
}

/// Removes the index folder's files that the manifest does not list: segments of a merge or
/// layer cut short, temporary files, and the files of the index's earlier layout.
fn remove_unlisted(dir: &Path, manifest: &Manifest) -> Result<(), IndexError> {
    let entries = std::fs::read_dir(dir).map_err(io(dir))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let listed =
            segment::id_of(&name).is_some_and(|id| manifest.segments.iter().any(|s| s.id == id));
        if name == super::manifest::FILE || listed {
            continue;
        }
        let stray = segment::id_of(&name).is_some()
            || name.ends_with(".tmp")
            || super::EARLIER_FILES.contains(&name.as_str());
        if stray {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Layers of one key each, merged by the policy as they come: the number of segments
    /// stays logarithmic, and so does the number of times a key is written.
    #[test]
    fn the_policy_keeps_segments_and_rewrites_logarithmic() {
        let mut sizes: Vec<u64> = vec![1_000_000];
        let mut written = 0u64;
        let mut most = 0;
        let layers = 100_000u64;
        for _ in 0..layers {
            sizes.push(1);
            written += 1;
            while let Some(start) = plan(&sizes) {
                let merged: u64 = sizes[start..].iter().sum();
                written += merged;
                sizes.truncate(start);
                sizes.push(merged);
            }
            most = most.max(sizes.len());
        }
        assert!(most <= 2 + 3 + 17, "{most} segments at once");
        // log2(100,000) ≈ 17 writes per key, and the base was never rewritten.
        assert!(written < layers * 20, "{written} keys written");
        assert_eq!(sizes[0], 1_000_000);
        // Once the layers together are as large as the base, it is merged too.
        let mut sizes = vec![8, 4, 2, 1, 1];
        assert_eq!(plan(&sizes), Some(0));
        sizes[0] = 9;
        assert_eq!(plan(&sizes), Some(1));
        assert_eq!(plan(&[5, 1, 1, 1]), None);
    }
}
