//! The satellite's writer: applies verified changesets and snapshots to the zone directories
//! (which edge-dns follows) and the WHOIS tree (which edge-whois reads), crash-safely.
//!
//! # Order of writes for a batch of changesets
//!
//! Changesets are applied in batches: whatever arrived together (one during steady traffic,
//! thousands while catching up).
//!
//! 1. Append them to the zone directory's journal with one fsync: edge-dns answers from it at
//!    its next poll. The journal is the satellite's durable log: its last serial *is* the
//!    satellite's serial, and it is what is acknowledged upstream.
//! 2. Add what they change in the WHOIS search indexes as one small layer
//!    ([`index::Writer::add`], read from the records as they are before the batch), which also
//!    records the serial the index now holds: a search finds the change at once. The cost is
//!    the batch's, whatever the registry's size; layers are merged in the background.
//! 3. Write their WHOIS objects into the tree (each a temporary file renamed into place, so a
//!    reader never sees half a record), without waiting for the disk: edge-whois serves them
//!    at once. Only each object's last version in the batch is written
//!    ([`Tree::write_unsynced`]).
//! 4. At a checkpoint ([`Satellite::checkpoint`], at most a second after a change): one
//!    `syncfs` makes the tree and the index's files durable, and `<state>/<zone>.whois`
//!    records the serial up to which they are (temporary file, fsync, rename). Nothing of the
//!    registry's size is done.
//!
//! # Recovery (on open)
//!
//! - A torn journal tail is cut off (zonefiles' journal does it): that batch was never
//!   acknowledged and is asked for again.
//! - A WHOIS serial behind the journal (a crash between checkpoints): the WHOIS objects of the
//!   changesets after it are written again from the journal (setting an object to its latest
//!   version, or deleting it, twice is the same as once). If the machine has not stopped
//!   since (the boot id in `<state>/boot` is current), every write made before the crash is
//!   there: the index holds the changesets up to the serial its manifest records, the records
//!   of later ones were never written (step 2 comes before step 3), so only those later ones
//!   are added as a layer. Otherwise writes after the last `syncfs` may be lost in any order,
//!   and the index is rebuilt from the tree.
//! - An index that is missing or damaged (a segment that fails its checksum) is rebuilt from
//!   the tree.
//! - `<state>/<zone>.snapshot` (a snapshot received whole and verified, renamed into place
//!   before installing) is installed again from the start; after a reboot the index is then
//!   rebuilt from the tree, as the install's layers and files may be lost in any order.
//!
//! Compaction folds the journal into a new image on a thread of its own while appending goes
//! on ([`Satellite::compact_if_due`]); the new image is made current and the journal trimmed
//! only after a checkpoint, so the journal always reaches back to the WHOIS serial.
//!
//! # Snapshots
//!
//! A snapshot is received into `<state>/<zone>.partial` (with its signed header in
//! `<state>/<zone>.partial.header`), so a broken transfer resumes where it stopped. Once
//! whole and verified it is renamed to `<zone>.snapshot`, then installed: the image becomes the
//! zone directory's current image with an empty journal ([`ZoneDir::install`]), every WHOIS
//! object of the zone that differs from the file held is written (a satellite far behind
//! holds most of them already) and those of the zone that the snapshot lacks are deleted
//! (found from the tree's paths, no file opened), each batch's index changes added as a layer
//! before its files are written, as for changesets (`install_whois`); then the
//! WHOIS serial is recorded and the file removed. Nothing reads the tree back: at ten million
//! domains a rebuild of the index from eleven million files would take longer than writing
//! them.

use std::collections::{BTreeMap, HashMap};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use zonefiles::ZoneName;
use zonefiles::changeset::Changeset;
use zonefiles::journal::Journal;
use zonefiles::whois::index::{self, Delta, IndexError};
use zonefiles::whois::tree::{Held, Tree, WriterLock};
use zonefiles::whois::{Object, ObjectKey, WhoisOp};
use zonefiles::zonedir::{Folded, ZoneDir, ZoneDirError};

use satellite_protocol::message::SnapshotHeader;

mod audit;
pub use audit::{AuditRead, AuditResult};

/// What the upstream is sending, for when to fold ([`Satellite::compact_if_due`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    /// Changes as they commit.
    Live,
    /// A backlog streaming in: more changesets are waiting to be read.
    Backlog,
}

/// Whether [`Satellite::finish_fold`] waits for a fold still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    /// Only a fold that has ended is made current.
    IfEnded,
    /// Waits for the fold to end.
    Wait,
}

/// How many times its usual length a journal may grow to while a backlog streams in
/// ([`Satellite::compact_if_due`]): bounded, so that edge-dns's overlays stay small.
pub const BACKLOG_FOLD: usize = 10;

/// A fold waits for changesets numbering at least this share of the image's names (a 64th):
/// a fold costs the whole zone, so folding after a share of it makes the cost per changeset
/// the same at every registry size (about 30 µs of compiling per changeset), where folding
/// every `compact_after` changesets would cost in proportion to the registry. edge-dns's
/// overlays hold the changesets meanwhile, at about √n partitions per change.
pub const FOLD_SHARE: u64 = 64;

/// The objects of a snapshot written per index layer while it is installed: what is held at
/// once (the batch, and its keys' changes) against how many layers the background merges
/// fold together (about 85 at ten million domains). Tests take a few, to cross batches.
const INSTALL_BATCH: usize = if cfg!(test) { 7 } else { 131_072 };

/// Where a satellite keeps its data.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The agent's own state (WHOIS serials, partial snapshots).
    pub state: PathBuf,
    /// The WHOIS tree.
    pub whois_tree: PathBuf,
    /// Each zone and its zone directory.
    pub zones: Vec<(ZoneName, PathBuf)>,
    /// Changesets appended before the agent folds the journal into a new image.
    pub compact_after: usize,
    /// Changesets the journal keeps after a compaction (for IXFR).
    pub journal_keep: usize,
}

struct ZoneWriter {
    directory: PathBuf,
    journal: Option<Journal>,
    /// Changesets appended after the current image.
    appended: usize,
    /// Names in the current image.
    image_names: u64,
    /// A fold running on its own thread ([`ZoneDir::fold`]).
    fold: Option<std::thread::JoinHandle<Result<Option<Folded>, ZoneDirError>>>,
}

/// The writer of one satellite's data.
pub struct Satellite {
    /// `<state>/lock`, held (flock) while this writer lives: one writer per satellite.
    _lock: std::fs::File,
    /// The WHOIS tree's writer lock: no other writer (another agent, or edge-whois's update
    /// listener) writes the tree meanwhile.
    _tree_lock: WriterLock,
    layout: Layout,
    tree: Tree,
    zones: BTreeMap<String, ZoneWriter>,
    /// The WHOIS search index's writer.
    index: index::Writer,
    /// Zones applied since the last checkpoint, with their serials.
    unsynced: BTreeMap<String, u32>,
    /// While an audit runs: the records of the objects changed since it started, as they were.
    before_audit: Option<HashMap<ObjectKey, Option<Object>>>,
}

/// A partial snapshot found on disk: its header and the bytes held.
#[derive(Debug)]
pub struct Partial {
    /// The signed header.
    pub header: SnapshotHeader,
    /// The bytes received so far.
    pub held: Vec<u8>,
}

fn now() -> i64 {
    i64::from(ops::unix_time())
}

impl Satellite {
    /// Opens the satellite's data and recovers from any crash (see the module docs); returns
    /// what recovery did, one line per action.
    pub fn open(layout: Layout) -> anyhow::Result<(Satellite, Vec<String>)> {
        std::fs::create_dir_all(&layout.state)
            .with_context(|| format!("creating {}", layout.state.display()))?;
        let lock = lock(&layout.state.join("lock"))?;
        let tree = Tree::open(&layout.whois_tree)?;
        let tree_lock = tree.lock_writer()?;
        let mut notes = Vec::new();
        let boot = ops::process::boot_id();
        let boot_file = layout.state.join("boot");
        let same_boot = boot.is_some()
            && std::fs::read_to_string(&boot_file)
                .ok()
                .map(|s| s.trim().to_owned())
                == boot;
        // An index to rebuild is rebuilt once, after the records are whole again (below).
        let mut rebuild = false;
        let index = match index::Writer::open(tree.root()) {
            Ok(index) => index,
            Err(error @ (IndexError::Missing(_) | IndexError::Damaged(_))) => {
                notes.push(format!(
                    "the WHOIS search indexes need rebuilding ({error})"
                ));
                rebuild = true;
                index::Writer::empty(tree.root())?
            }
            Err(error) => return Err(error.into()),
        };
        let mut satellite = Satellite {
            _lock: lock,
            _tree_lock: tree_lock,
            zones: layout
                .zones
                .iter()
                .map(|(zone, directory)| {
                    (
                        zone.to_string(),
                        ZoneWriter {
                            directory: directory.clone(),
                            journal: None,
                            appended: 0,
                            image_names: 0,
                            fold: None,
                        },
                    )
                })
                .collect(),
            layout,
            tree,
            index,
            unsynced: BTreeMap::new(),
            before_audit: None,
        };
        let zones: Vec<String> = satellite.zones.keys().cloned().collect();
        for zone in &zones {
            let ready = satellite.state_file(zone, "snapshot");
            if ready.exists() {
                let header = read_header(&satellite.state_file(zone, "snapshot.header"))?;
                satellite.install(zone, &header)?;
                // Its layers and files may have been lost in any order with the machine.
                rebuild |= !same_boot;
                notes.push(format!(
                    "{zone}: installed the snapshot at serial {} received before a restart",
                    header.serial
                ));
                continue;
            }
            satellite.open_journal(zone)?;
            let Some(serial) = satellite.serial(zone) else {
                continue;
            };
            let whois = satellite.whois_serial(zone);
            let covered = satellite.index.covered(zone);
            if whois == Some(serial) {
                // Durable at the last checkpoint; the index holds it unless it was rebuilt
                // without this zone just now, or was written by an earlier version.
                rebuild |= covered != Some(serial);
                continue;
            }
            let journal = satellite.zones[zone].journal.as_ref().expect("opened");
            let from = whois.unwrap_or(journal.base_serial());
            let changesets = journal.changesets_from(from).unwrap_or_default();
            // The changesets the index lacks, if what the index holds can be trusted.
            let unindexed = covered
                .filter(|_| same_boot)
                .and_then(|covered| journal.changesets_from(covered).ok());
            match unindexed {
                Some(unindexed) => {
                    let ops: Vec<&WhoisOp> = unindexed.iter().flat_map(|c| &c.whois).collect();
                    let delta = satellite.tree.changes(&ops);
                    satellite.index.add(delta, Some((zone, serial)))?;
                    notes.push(format!(
                        "{zone}: added the search index changes of {} changesets",
                        unindexed.len()
                    ));
                }
                None => rebuild = true,
            }
            let ops: Vec<&WhoisOp> = changesets.iter().flat_map(|c| &c.whois).collect();
            satellite.tree.write_unsynced(&ops)?;
            satellite.tree.sync()?;
            satellite.record_whois_serial(zone, serial)?;
            notes.push(format!(
                "{zone}: wrote the WHOIS objects of {} changesets again (serials {from} to {serial})",
                changesets.len()
            ));
        }
        if rebuild {
            let covers = satellite
                .serials()
                .into_iter()
                .filter_map(|(zone, serial)| Some((zone, serial?)))
                .collect();
            satellite.index.rebuild_here(&satellite.tree, covers)?;
            notes.push("rebuilt the WHOIS search indexes".into());
        }
        if let Some(boot) = boot {
            zonefiles::atomic::write_atomically(&boot_file, format!("{boot}\n").as_bytes())
                .with_context(|| format!("writing {}", boot_file.display()))?;
        }
        Ok((satellite, notes))
    }

    fn state_file(&self, zone: &str, what: &str) -> PathBuf {
        self.layout.state.join(format!("{zone}.{what}"))
    }

    fn open_journal(&mut self, zone: &str) -> anyhow::Result<()> {
        let writer = self.zones.get_mut(zone).expect("a configured zone");
        writer.journal = None;
        if !writer.directory.join(zonefiles::zonedir::CURRENT).exists() {
            return Ok(());
        }
        let dir = ZoneDir::open(&writer.directory)?;
        let (journal, recovery) = Journal::open(&dir.journal_path())?;
        if recovery.cut_bytes > 0 {
            tracing::warn!(zone, bytes = recovery.cut_bytes, "cut a torn journal tail");
        }
        writer.journal = Some(journal);
        writer.image_names = image_names(&dir);
        Ok(())
    }

    /// The serial each zone holds (`None`: no data yet).
    pub fn serials(&self) -> Vec<(String, Option<u32>)> {
        self.zones
            .keys()
            .map(|zone| (zone.clone(), self.serial(zone)))
            .collect()
    }

    /// The serial a zone holds.
    pub fn serial(&self, zone: &str) -> Option<u32> {
        self.zones
            .get(zone)?
            .journal
            .as_ref()
            .map(Journal::last_serial)
    }

    fn whois_serial(&self, zone: &str) -> Option<u32> {
        std::fs::read_to_string(self.state_file(zone, "whois"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    fn record_whois_serial(&self, zone: &str, serial: u32) -> anyhow::Result<()> {
        let path = self.state_file(zone, "whois");
        zonefiles::atomic::write_atomically(&path, format!("{serial}\n").as_bytes())
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Applies verified changesets of one zone that follow each other (see the module docs
    /// for the order); returns the serial now held, durably.
    pub fn apply(&mut self, zone: &str, changesets: &[&[u8]]) -> anyhow::Result<u32> {
        let decoded = changesets
            .iter()
            .map(|bytes| Changeset::decode(bytes))
            .collect::<Result<Vec<_>, _>>()
            .context("a changeset does not decode")?;
        for changeset in &decoded {
            let origin = changeset.origin.to_string();
            if ZoneName::parse(&origin).ok().as_deref() != Some(zone) {
                bail!("a changeset of {origin} sent for {zone}");
            }
        }
        let writer = self.zones.get_mut(zone).context("a zone not served here")?;
        let journal = writer.journal.as_mut().context("no data yet")?;
        journal.append_all(&decoded)?;
        writer.appended += decoded.len();
        let serial = journal.last_serial();
        let ops: Vec<&WhoisOp> = decoded.iter().flat_map(|c| &c.whois).collect();
        self.index
            .add(self.tree.changes(&ops), Some((zone, serial)))?;
        self.keep_for_audit(&ops);
        self.tree.write_unsynced(&ops)?;
        self.unsynced.insert(zone.to_owned(), serial);
        Ok(serial)
    }

    /// Makes the WHOIS tree and its search indexes durable, and records the serial up to which
    /// they are.
    pub fn checkpoint(&mut self) -> anyhow::Result<()> {
        if self.unsynced.is_empty() {
            return Ok(());
        }
        self.tree.touch(now())?;
        self.tree.sync()?;
        for (zone, serial) in std::mem::take(&mut self.unsynced) {
            self.record_whois_serial(&zone, serial)?;
        }
        Ok(())
    }

    /// Starts folding a zone's journal into a new image, on a thread of its own, when enough
    /// changesets have been appended (`compact_after`, and a [`FOLD_SHARE`] of the image's
    /// names), and makes a fold that has ended current; returns the new image's serial if it
    /// did. Appending goes on while a fold runs: it folds what the journal held when it
    /// started (at 10 million delegations that takes half a minute). While a backlog streams
    /// in ([`Upstream::Backlog`]: a returning satellite catching up), a fold waits for up to
    /// [`BACKLOG_FOLD`] times as many changesets: each one compiles the whole zone, on the
    /// cores that apply the backlog.
    pub fn compact_if_due(
        &mut self,
        zone: &str,
        upstream: Upstream,
    ) -> anyhow::Result<Option<u32>> {
        let made = self.finish_fold(zone, Fold::IfEnded)?;
        let Some(writer) = self.zones.get_mut(zone) else {
            return Ok(made);
        };
        let live = (self.layout.compact_after as u64).max(writer.image_names / FOLD_SHARE);
        let due = match upstream {
            Upstream::Backlog => live.saturating_mul(BACKLOG_FOLD as u64),
            Upstream::Live => live,
        } as usize;
        if writer.fold.is_none() && writer.journal.is_some() && writer.appended >= due {
            let dir = ZoneDir::open(&writer.directory)?;
            let name = zone.to_owned();
            let thread = std::thread::Builder::new()
                .name(format!("fold {zone}"))
                .spawn(move || {
                    let started = std::time::Instant::now();
                    let folded = dir.fold();
                    if let Ok(Some(folded)) = &folded {
                        tracing::info!(
                            zone = name,
                            changesets = folded.compaction.changesets,
                            bytes = folded.compaction.bytes,
                            fold_ms = started.elapsed().as_millis() as u64,
                            "journal folded"
                        );
                    }
                    folded
                })
                .context("starting a fold")?;
            writer.fold = Some(thread);
        }
        Ok(made)
    }

    /// Makes a zone's fold current once it has ended ([`Fold::Wait`] waits for it): a
    /// checkpoint first, so that the journal, trimmed here, still reaches back to the WHOIS
    /// serial. Returns the new image's serial.
    pub fn finish_fold(&mut self, zone: &str, fold: Fold) -> anyhow::Result<Option<u32>> {
        let Some(writer) = self.zones.get_mut(zone) else {
            return Ok(None);
        };
        if !writer
            .fold
            .as_ref()
            .is_some_and(|f| fold == Fold::Wait || f.is_finished())
        {
            return Ok(None);
        }
        let thread = writer.fold.take().expect("a fold");
        let directory = writer.directory.clone();
        let folded = thread
            .join()
            .map_err(|_| anyhow::anyhow!("the fold of {zone} panicked"))?
            .with_context(|| format!("folding the journal of {zone}"))?;
        let Some(folded) = folded else {
            return Ok(None);
        };
        self.checkpoint()?;
        let writer = self.zones.get_mut(zone).expect("configured");
        let journal = writer.journal.as_mut().context("no data yet")?;
        let dir = ZoneDir::open(&directory)?;
        let done = dir.make_current(folded, journal, self.layout.journal_keep)?;
        // Appended while it ran, and not in it: the next fold's count starts there.
        writer.appended = journal.count_from(done.serial).unwrap_or(0);
        writer.image_names = image_names(&dir);
        Ok(Some(done.serial))
    }

    /// A partial snapshot held for a zone, to resume.
    pub fn partial(&self, zone: &str) -> Option<Partial> {
        let header = read_header(&self.state_file(zone, "partial.header")).ok()?;
        let held = std::fs::read(self.state_file(zone, "partial")).ok()?;
        (held.len() as u64 <= header.len()).then_some(Partial { header, held })
    }

    /// Deletes a partly received snapshot (it failed its digest check).
    pub fn discard_partial(&self, zone: &str) {
        let _ = std::fs::remove_file(self.state_file(zone, "partial"));
        let _ = std::fs::remove_file(self.state_file(zone, "partial.header"));
    }

    /// Starts (or resumes, at `header.offset`) receiving a snapshot.
    pub fn snapshot_start(&mut self, header: &SnapshotHeader) -> anyhow::Result<()> {
        let path = self.state_file(&header.zone, "partial");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        file.set_len(header.offset)?;
        write_header(&self.state_file(&header.zone, "partial.header"), header)
    }

    /// Writes received snapshot bytes; with `complete`, the snapshot is whole and verified:
    /// it is made durable and installed.
    pub fn snapshot_bytes(
        &mut self,
        zone: &str,
        offset: u64,
        bytes: &[u8],
        complete: Option<&SnapshotHeader>,
    ) -> anyhow::Result<Option<u32>> {
        let path = self.state_file(zone, "partial");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        file.seek(SeekFrom::Start(offset))?;
        file.write_all(bytes)?;
        let Some(header) = complete else {
            return Ok(None);
        };
        file.sync_all()?;
        write_header(&self.state_file(zone, "snapshot.header"), header)?;
        std::fs::rename(&path, self.state_file(zone, "snapshot"))?;
        let _ = std::fs::remove_file(self.state_file(zone, "partial.header"));
        self.install(zone, header)?;
        Ok(Some(header.serial))
    }

    /// Installs the verified snapshot `<state>/<zone>.snapshot`.
    fn install(&mut self, zone: &str, header: &SnapshotHeader) -> anyhow::Result<()> {
        // An audit running compares data the snapshot replaces: it is dropped.
        self.before_audit = None;
        // Other zones' changes first: the index and the tree must agree before the install's
        // changes go in.
        self.checkpoint()?;
        let path = self.state_file(zone, "snapshot");
        let file = std::fs::File::open(&path).with_context(|| format!("{}", path.display()))?;
        // Mapped, not read: at ten million domains a snapshot is gigabytes.
        // SAFETY: the agent's own file in its state folder, which nothing writes while it
        // installs; it is removed (not changed) once installed.
        let bytes = unsafe { memmap2::Mmap::map(&file) }
            .with_context(|| format!("mapping {}", path.display()))?;
        let image_len = usize::try_from(header.image_len)?;
        if bytes.len() as u64 != header.len() {
            bail!("{}: the snapshot file has the wrong length", path.display());
        }
        // A fold of the data the snapshot replaces: its end is waited for, and its image
        // removed with the others no longer current.
        let writer = self.zones.get_mut(zone).context("a zone not served here")?;
        if let Some(fold) = writer.fold.take() {
            let _ = fold.join();
        }
        let directory = writer.directory.clone();
        ZoneDir::install(&directory, &bytes[..image_len])?;
        self.install_whois(zone, header.serial, &bytes[image_len..])?;
        self.record_whois_serial(zone, header.serial)?;
        std::fs::remove_file(&path)?;
        let _ = std::fs::remove_file(self.state_file(zone, "snapshot.header"));
        self.open_journal(zone)?;
        self.zones.get_mut(zone).expect("configured").appended = 0;
        ops::process::release_free_memory();
        Ok(())
    }

    /// Makes the WHOIS tree and its search indexes hold exactly the snapshot's objects of
    /// `zone` (JSON lines), at a cost that follows what differs: an object's file is written
    /// only if it holds something else, the index takes each batch's key changes as one more
    /// layer (merged in the background) before the batch's files are written, as applying
    /// does, and the objects to remove are found from the tree's paths without opening a
    /// file. What it holds is a batch and a 16-byte fingerprint of each object's key (176 MB
    /// at ten million domains); the index is never rebuilt from the tree.
    ///
    /// Killed midway, the install is done again from the start at the next open: every file
    /// written then already had its keys in the index, and what differs still is written.
    fn install_whois(&mut self, zone: &str, serial: u32, lines: &[u8]) -> anyhow::Result<()> {
        let mut present: Vec<u128> = Vec::new();
        let mut batch: Vec<Object> = Vec::new();
        let mut delta = Delta::default();
        for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let object: Object =
                serde_json::from_slice(line).context("a WHOIS object in the snapshot")?;
            present.push(fingerprint(&object.key()));
            if let Held::Other(before) = self.tree.compare(&object)? {
                delta.record(before.as_ref(), Some(&object));
                batch.push(object);
            }
            if batch.len() >= INSTALL_BATCH {
                self.index.add(std::mem::take(&mut delta), None)?;
                for object in batch.drain(..) {
                    self.tree.put_unsynced(&object)?;
                }
            }
        }
        present.sort_unstable();
        let mut gone = Vec::new();
        self.tree.for_each_zone_key(zone, |key| {
            if present.binary_search(&fingerprint(&key)).is_err() {
                gone.push(key);
            }
            Ok(())
        })?;
        drop(present);
        for key in &gone {
            let before = self.tree.get(key).ok().flatten();
            delta.record(before.as_ref(), None);
        }
        self.index.add(delta, Some((zone, serial)))?;
        for object in batch {
            self.tree.put_unsynced(&object)?;
        }
        for key in &gone {
            self.tree.delete(key)?;
        }
        self.tree.touch(now())?;
        self.tree.sync()?;
        Ok(())
    }
}

/// A 128-bit fingerprint of an object's key (the first half of its SHA-256): what an audit's
/// read and a snapshot's install hold per object instead of its key.
fn fingerprint(key: &ObjectKey) -> u128 {
    let (kind, name) = match key {
        ObjectKey::Domain(name) => (b'd', name.as_bytes().to_vec()),
        ObjectKey::Host(name) => (b'h', name.as_bytes().to_vec()),
        ObjectKey::Registrar(id) => (b'r', id.to_be_bytes().to_vec()),
    };
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(&[kind]);
    context.update(&name);
    let digest = context.finish();
    u128::from_be_bytes(digest.as_ref()[..16].try_into().expect("16 octets"))
}

/// The names in a zone directory's current image (0 if it cannot be read: the next fold is
/// then due after `compact_after` changesets).
fn image_names(dir: &ZoneDir) -> u64 {
    dir.current_image()
        .ok()
        .and_then(|path| zonefiles::image::Image::open_trusted(&path).ok())
        .map_or(0, |image| image.header().nodes)
}

/// Takes the writer's lock, or says who holds it.
fn lock(path: &Path) -> anyhow::Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    // SAFETY: flock on a descriptor this function owns.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if locked != 0 {
        bail!(
            "{} is locked: another update-agent writes this satellite's data (stop it first)",
            path.display()
        );
    }
    Ok(file)
}

/// The serial a zone directory holds, read without writing anything (for `status` while the
/// agent runs); `None` if it holds no zone yet.
pub fn serial_on_disk(directory: &Path) -> anyhow::Result<Option<u32>> {
    if !directory.join(zonefiles::zonedir::CURRENT).exists() {
        return Ok(None);
    }
    let snapshot = ZoneDir::open(directory)?.load()?;
    Ok(Some(
        snapshot
            .changesets
            .last()
            .map_or(snapshot.image.serial(), Changeset::to_serial),
    ))
}

fn write_header(path: &Path, header: &SnapshotHeader) -> anyhow::Result<()> {
    let frame = satellite_protocol::message::Message::Snapshot(header.clone()).encode();
    zonefiles::atomic::write_atomically(path, &frame)
        .with_context(|| format!("writing {}", path.display()))
}

fn read_header(path: &Path) -> anyhow::Result<SnapshotHeader> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    match bytes
        .get(4..)
        .map(satellite_protocol::message::Message::decode)
        .transpose()?
    {
        Some(satellite_protocol::message::Message::Snapshot(header)) => Ok(header),
        _ => bail!("{}: not a snapshot header", path.display()),
    }
}

#[cfg(test)]
pub(crate) mod tests;
