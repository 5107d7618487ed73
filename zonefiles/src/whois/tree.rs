//! The WHOIS tree (`docs/architecture.md`, contract 5): one file per object, changed only by writing a
//! temporary file in the same directory, fsyncing it and renaming it into place, so a reader
//! sees the old record or the new one, never a mix.
//!
//! ```text
//! <root>/domain/<tld>/<h1>/<h2>/<label2>.json            example.tld
//! <root>/domain/<tld>/<h1>/<h2>/<label2>/<label3>.json   john.smith.name
//! <root>/host/<tld>/<h1>/<h2>/<label2>/<label3>.json     ns1.example.tld
//! <root>/registrar/<IANA id>.json
//! <root>/LAST_UPDATE                                      seconds since 1970 of the last change
//! ```
//!
//! Labels are reversed as in the .name plan (`name/smith/john`), with two levels of 256
//! directories picked by a hash of the second-level label in between, so ten million domains
//! make directories of about 150 entries, and every name below one second-level label shares
//! its directory. Records are JSON of the shared record model ([`crate::whois`]); names are
//! checked to be A-labels before they become paths.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::index::Delta;
use super::{Object, ObjectKey, WhoisOp};

use super::cached::{self, Wait};

/// Why the tree could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Not a name a record can be kept under.
    #[error("{0:?} is not a domain name in A-label form")]
    BadName(String),
    /// Another process writes the tree (an update-agent, or edge-whois's update listener).
    #[error(
        "{0} is locked: another writer (an update-agent, or edge-whois's update listener) writes this WHOIS tree; only one may (stop the other first)"
    )]
    Locked(PathBuf),
    /// A read with [`Wait::No`] that would have waited for the disk.
    #[error("not in memory")]
    NotCached,
    /// A record file that does not read.
    #[error("{path}: not a WHOIS record: {reason}")]
    BadRecord {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TreeError + '_ {
    move |source| TreeError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A WHOIS tree.
#[derive(Debug, Clone)]
pub struct Tree {
    root: PathBuf,
}

/// The name of the writer's lock file in the tree's root.
pub const WRITER_LOCK: &str = ".writer.lock";

/// The tree's writer lock ([`Tree::lock_writer`]), held while this value lives.
#[derive(Debug)]
pub struct WriterLock {
    _file: std::fs::File,
}

/// What the tree holds in place of a record ([`Tree::compare`]).
#[derive(Debug, PartialEq)]
pub enum Held {
    /// Exactly that record.
    Same,
    /// Another record of the object (its earlier state), or none.
    Other(Option<Object>),
}

impl Tree {
    /// The tree at `root` (created if absent).
    pub fn open(root: &Path) -> Result<Tree, TreeError> {
        std::fs::create_dir_all(root).map_err(io(root))?;
        Ok(Tree {
            root: root.to_owned(),
        })
    }

    /// The tree's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Takes the tree's writer lock (`flock` on [`WRITER_LOCK`] in its root), so that two
    /// writers never write one tree: the update-agent takes it, and so does edge-whois when its
    /// update listener is on. Readers take nothing. The lock goes with its process, even after a
    /// `kill -9`.
    pub fn lock_writer(&self) -> Result<WriterLock, TreeError> {
        use std::os::fd::AsRawFd;
        let path = self.root.join(WRITER_LOCK);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        // SAFETY: flock on a descriptor this function owns.
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if locked != 0 {
            return Err(TreeError::Locked(path));
        }
        Ok(WriterLock { _file: file })
    }

    /// Where the record named `key` lives.
    pub fn path_of(&self, key: &ObjectKey) -> Result<PathBuf, TreeError> {
        let (kind, name) = match key {
            ObjectKey::Registrar(id) => {
                return Ok(self.root.join("registrar").join(format!("{id}.json")));
            }
            ObjectKey::Domain(name) => ("domain", name),
            ObjectKey::Host(name) => ("host", name),
        };
        let labels = checked_labels(name)?;
        let mut path = self.root.join(kind).join(labels[0]);
        let hash = fnv1a(labels[1].as_bytes());
        path.push(format!("{:02x}", hash & 0xFF));
        path.push(format!("{:02x}", (hash >> 8) & 0xFF));
        for label in &labels[1..labels.len() - 1] {
            path.push(label);
        }
        path.push(format!("{}.json", labels[labels.len() - 1]));
        Ok(path)
    }

    /// Reads a record; `None` if there is none.
    pub fn get(&self, key: &ObjectKey) -> Result<Option<Object>, TreeError> {
        self.read(key, Wait::Allowed)
    }

    /// Reads a record, or with [`Wait::No`] fails with [`TreeError::NotCached`] rather than
    /// wait for the disk.
    pub fn read(&self, key: &ObjectKey, wait: Wait) -> Result<Option<Object>, TreeError> {
        let path = self.path_of(key)?;
        let bytes = match cached::read(&path, wait) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                return Err(TreeError::NotCached);
            }
            Err(source) => return Err(TreeError::Io { path, source }),
        };
        let object: Object = serde_json::from_slice(&bytes).map_err(|e| TreeError::BadRecord {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if object.key() != *key {
            return Err(TreeError::BadRecord {
                path,
                reason: "the record names another object".into(),
            });
        }
        Ok(Some(object))
    }

    /// Creates or replaces a record: temporary file, fsync, rename, directory fsync.
    pub fn put(&self, object: &Object) -> Result<(), TreeError> {
        let path = self.path_of(&object.key())?;
        let bytes = serde_json::to_vec_pretty(object).expect("records serialize");
        write_atomically(&path, &bytes)
    }

    /// Writes a record for a bulk load: temporary file and rename, without the fsyncs; call
    /// [`Tree::sync`] once at the end. For filling a tree nobody reads yet.
    pub fn put_unsynced(&self, object: &Object) -> Result<(), TreeError> {
        let path = self.path_of(&object.key())?;
        let bytes = serde_json::to_vec_pretty(object).expect("records serialize");
        replace_unsynced(&path, &bytes)
    }

    /// What the tree holds where `object` goes, compared with it: reading a small file costs
    /// far less than creating one, so a bulk load writes only the records that differ
    /// ([`Held::Other`], with the record held, whose index keys then change).
    pub fn compare(&self, object: &Object) -> Result<Held, TreeError> {
        let path = self.path_of(&object.key())?;
        let bytes = serde_json::to_vec_pretty(object).expect("records serialize");
        match std::fs::read(&path) {
            Ok(held) if held == bytes => Ok(Held::Same),
            // A file that does not read holds no record (and no index keys).
            Ok(held) => Ok(Held::Other(serde_json::from_slice(&held).ok())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Held::Other(None)),
            Err(source) => Err(TreeError::Io { path, source }),
        }
    }

    /// Flushes everything written to the tree's filesystem to disk (after a bulk load).
    pub fn sync(&self) -> Result<(), TreeError> {
        let dir = std::fs::File::open(&self.root).map_err(io(&self.root))?;
        // SAFETY: syncfs on a descriptor this function owns.
        let done = unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&dir)) };
        if done != 0 {
            return Err(TreeError::Io {
                path: self.root.clone(),
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    /// Removes a record (nothing happens if there is none).
    pub fn delete(&self, key: &ObjectKey) -> Result<(), TreeError> {
        let path = self.path_of(key)?;
        match std::fs::remove_file(&path) {
            Ok(()) => sync_dir(&path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(TreeError::Io { path, source }),
        }
    }

    /// Applies the WHOIS operations of a changeset, then records the time of the change.
    pub fn apply(&self, ops: &[WhoisOp], now: i64) -> Result<(), TreeError> {
        for op in ops {
            match op {
                WhoisOp::Set(object) => self.put(object)?,
                WhoisOp::Delete(key) => self.delete(key)?,
            }
        }
        self.touch(now)
    }

    /// What a batch of operations changes in the search indexes, read from the records as they
    /// are before any of it is written (so call it first: the index's layer goes in before the
    /// records, see `update-agent`'s order of writes). Only each object's last operation in
    /// the batch counts, as in [`Tree::write_unsynced`].
    pub fn changes(&self, ops: &[&WhoisOp]) -> Delta {
        let mut delta = Delta::default();
        for op in last_of_each(ops) {
            let before = self.get(&op.key()).ok().flatten();
            match op {
                WhoisOp::Set(object) => delta.record(before.as_ref(), Some(object)),
                WhoisOp::Delete(_) => delta.record(before.as_ref(), None),
            }
        }
        delta
    }

    /// Writes a batch of operations without waiting for the disk (call [`Tree::sync`] to make
    /// them durable). Only each object's last operation in the batch is carried out: a reader
    /// sees the tree jump to the batch's end, object by object, and an object changed many
    /// times in a batch costs one file.
    pub fn write_unsynced(&self, ops: &[&WhoisOp]) -> Result<(), TreeError> {
        for op in last_of_each(ops) {
            match op {
                WhoisOp::Set(object) => self.put_unsynced(object)?,
                WhoisOp::Delete(key) => self.delete_unsynced(key)?,
            }
        }
        Ok(())
    }

    /// Removes a record without waiting for the disk (nothing happens if there is none).
    fn delete_unsynced(&self, key: &ObjectKey) -> Result<(), TreeError> {
        let path = self.path_of(key)?;
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(TreeError::Io { path, source: e })
            }
            _ => Ok(()),
        }
    }

    /// Records `now` as the time of the last change (shown as "Last update of WHOIS database").
    pub fn touch(&self, now: i64) -> Result<(), TreeError> {
        let path = self.root.join("LAST_UPDATE");
        write_atomically(&path, format!("{now}\n").as_bytes())
    }

    /// The time of the last change, if any was recorded; [`TreeError::NotCached`] as for
    /// [`Tree::read`].
    pub fn last_update(&self, wait: Wait) -> Result<Option<i64>, TreeError> {
        match cached::read(&self.root.join("LAST_UPDATE"), wait) {
            Ok(bytes) => Ok(std::str::from_utf8(&bytes)
                .ok()
                .and_then(|s| s.trim().parse().ok())),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Err(TreeError::NotCached),
            Err(_) => Ok(None),
        }
    }
}

impl Tree {
    /// Every object of a zone (named as a [`crate::ZoneName`] spells it) — its domains and
    /// hosts — and every registrar, read from their files (temporary files left by an
    /// interrupted write are skipped).
    pub fn zone_objects(&self, zone: &str) -> Result<Vec<Object>, TreeError> {
        let mut objects = Vec::new();
        self.for_each_zone_object(zone, |object| {
            objects.push(object);
            Ok(())
        })?;
        Ok(objects)
    }

    /// [`Tree::zone_objects`], each object handed to `visit` as it is read rather than all
    /// held at once.
    pub fn for_each_zone_object(
        &self,
        zone: &str,
        mut visit: impl FnMut(Object) -> Result<(), TreeError>,
    ) -> Result<(), TreeError> {
        let suffix = format!(".{zone}");
        read_in_inode_order(&self.zone_dirs(zone), &mut |path, bytes| {
            let object: Object =
                serde_json::from_slice(&bytes).map_err(|e| TreeError::BadRecord {
                    path: path.to_owned(),
                    reason: e.to_string(),
                })?;
            if in_zone(&object.key(), &suffix) {
                visit(object)?;
            }
            Ok(())
        })
    }

    /// Every record file of the tree, every zone's, handed to `visit` with its bytes as read
    /// (in inode order, as [`Tree::for_each_zone_object`]): what the search index is rebuilt
    /// from.
    pub fn for_each_record(
        &self,
        mut visit: impl FnMut(&Path, Vec<u8>) -> Result<(), TreeError>,
    ) -> Result<(), TreeError> {
        let dirs = ["domain", "host", "registrar"].map(|kind| self.root.join(kind));
        read_in_inode_order(&dirs, &mut visit)
    }

    /// The key of every object of a zone the tree holds, as [`Tree::zone_objects`] would read
    /// them, told by the files' paths alone: no file is opened, so at ten million domains
    /// this costs the directories' listing, not eleven million reads. A file that is not where
    /// its name puts it is no record and is skipped.
    pub fn for_each_zone_key(
        &self,
        zone: &str,
        mut visit: impl FnMut(ObjectKey) -> Result<(), TreeError>,
    ) -> Result<(), TreeError> {
        let suffix = format!(".{zone}");
        for dir in self.zone_dirs(zone) {
            json_files(&dir, &mut |path, _| {
                let Some(key) = self.key_of(path) else {
                    return Ok(());
                };
                if in_zone(&key, &suffix) && self.path_of(&key).is_ok_and(|p| p == path) {
                    visit(key)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// The object a record file's path names (the inverse of [`Tree::path_of`]).
    fn key_of(&self, path: &Path) -> Option<ObjectKey> {
        let relative = path.strip_prefix(&self.root).ok()?.with_extension("");
        let parts: Vec<&str> = relative.iter().map(|p| p.to_str()).collect::<Option<_>>()?;
        match parts.as_slice() {
            ["registrar", id] => id.parse().ok().map(ObjectKey::Registrar),
            [kind, tld, _h1, _h2, labels @ ..] if !labels.is_empty() => {
                let mut name: Vec<&str> = labels.iter().rev().copied().collect();
                name.push(tld);
                let name = name.join(".");
                match *kind {
                    "domain" => Some(ObjectKey::Domain(name)),
                    "host" => Some(ObjectKey::Host(name)),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The directories whose record files may hold an object of `zone`.
    fn zone_dirs(&self, zone: &str) -> [PathBuf; 3] {
        let tld = zone.rsplit('.').next().unwrap_or("");
        [
            self.root.join("domain").join(tld),
            self.root.join("host").join(tld),
            self.root.join("registrar"),
        ]
    }
}

/// Whether the object named `key` is one of a zone's (`suffix` is `.<zone>`): its domains and
/// hosts, and every registrar.
fn in_zone(key: &ObjectKey, suffix: &str) -> bool {
    match key {
        ObjectKey::Domain(name) | ObjectKey::Host(name) => name.ends_with(suffix),
        ObjectKey::Registrar(_) => true,
    }
}

/// Whether the object named `key` is one of `zone`'s, as [`Tree::zone_objects`] reads them.
pub fn of_zone(key: &ObjectKey, zone: &str) -> bool {
    in_zone(key, &format!(".{zone}"))
}

/// Each object's last operation in `ops`, in the order of those operations.
fn last_of_each<'a>(ops: &[&'a WhoisOp]) -> Vec<&'a WhoisOp> {
    let keys: Vec<ObjectKey> = ops.iter().map(|op| op.key()).collect();
    let last: HashMap<&ObjectKey, usize> = keys.iter().enumerate().map(|(n, k)| (k, n)).collect();
    ops.iter()
        .zip(&keys)
        .enumerate()
        .filter(|(n, (_, key))| last[key] == *n)
        .map(|(_, (op, _))| *op)
        .collect()
}

/// Calls `visit` with each `.json` file below `dir` and its inode number, depth first, as the
/// directories are read (nothing if `dir` does not exist). Temporary files left by an
/// interrupted write (`.json.tmp`) are not records and are skipped.
fn json_files(
    dir: &Path,
    visit: &mut dyn FnMut(&Path, u64) -> Result<(), TreeError>,
) -> Result<(), TreeError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(TreeError::Io {
                path: dir.to_owned(),
                source,
            });
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            json_files(&path, visit)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            visit(&path, std::os::unix::fs::DirEntryExt::ino(&entry))?;
        }
    }
    Ok(())
}

/// What is handed each record file read: its path and bytes.
type ReadVisitor<'a> = dyn FnMut(&Path, Vec<u8>) -> Result<(), TreeError> + 'a;

/// The record files read per sort by inode number ([`read_in_inode_order`]): about 60 MB of
/// paths held at once. Tests take a few, to cross chunks.
const INODE_ORDER_CHUNK: usize = if cfg!(test) { 3 } else { 1 << 20 };

/// Reads the record files below `dirs` and hands each one's path and bytes to `visit`, in the
/// order of their inode numbers, a million files at a time. On ext4 inodes lie in their tables
/// in that order, files near their directory's, and with `inline_data` a record's bytes lie in
/// its inode: a tree larger than memory is then read mostly in sequence instead of at random.
/// Measured on a tree of ten million domains not in memory: 14,300 files a second, against
/// 3,300 in the directories' (hash) order. A file gone since its directory was listed is
/// skipped (deleted meanwhile: a reader beside the writer sees the tree move on).
fn read_in_inode_order(dirs: &[PathBuf], visit: &mut ReadVisitor) -> Result<(), TreeError> {
    let mut chunk = InodeChunk::default();
    for dir in dirs {
        json_files(dir, &mut |path, inode| {
            chunk.push(path, inode);
            if chunk.files.len() >= INODE_ORDER_CHUNK {
                chunk.read(visit)?;
            }
            Ok(())
        })?;
    }
    chunk.read(visit)
}

/// Paths found and their inode numbers, the paths' text in one buffer.
#[derive(Default)]
struct InodeChunk {
    /// (inode, start, end) of each path in `text`.
    files: Vec<(u64, usize, usize)>,
    text: String,
}

impl InodeChunk {
    fn push(&mut self, path: &Path, inode: u64) {
        // Record paths are ASCII (names are checked to be A-labels); another is no record.
        if let Some(path) = path.to_str() {
            let start = self.text.len();
            self.text.push_str(path);
            self.files.push((inode, start, self.text.len()));
        }
    }

    /// Reads the files held, in inode order, and starts again empty.
    fn read(&mut self, visit: &mut ReadVisitor) -> Result<(), TreeError> {
        self.files.sort_unstable();
        for &(_, start, end) in &self.files {
            let path = Path::new(&self.text[start..end]);
            match std::fs::read(path) {
                Ok(bytes) => visit(path, bytes)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(TreeError::Io {
                        path: path.to_owned(),
                        source,
                    });
                }
            }
        }
        self.files.clear();
        self.text.clear();
        Ok(())
    }
}

/// The labels of `name`, reversed (TLD first); at least two, each an LDH label.
fn checked_labels(name: &str) -> Result<Vec<&str>, TreeError> {
    let bad = || TreeError::BadName(name.to_owned());
    if name.is_empty() || name.len() > 253 {
        return Err(bad());
    }
    let labels: Vec<&str> = name.split('.').rev().collect();
    let ldh = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if labels.len() < 2 || !labels.iter().all(ldh) {
        return Err(bad());
    }
    Ok(labels)
}

/// FNV-1a: spreads second-level labels over the directory levels.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Temporary file and rename, without fsyncs.
fn replace_unsynced(path: &Path, bytes: &[u8]) -> Result<(), TreeError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Writes a file of the tree through a temporary file, fsync and rename
/// ([`crate::atomic::write_atomically`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), TreeError> {
    crate::atomic::write_atomically(path, bytes).map_err(|source| TreeError::Io {
        path: path.to_owned(),
        source,
    })
}

fn sync_dir(path: &Path) -> Result<(), TreeError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::whois::{Domain, DomainStatus, Nameserver};

    #[test]
    fn one_writer_per_tree() {
        let dir = tempfile::tempdir().unwrap();
        let tree = Tree::open(dir.path()).unwrap();
        let first = tree.lock_writer().unwrap();
        let again = Tree::open(dir.path()).unwrap().lock_writer();
        assert!(matches!(again, Err(TreeError::Locked(_))), "{again:?}");
        drop(first);
        assert!(tree.lock_writer().is_ok(), "the lock goes with its writer");
        // The lock file is no record: readers and the index never see it.
        assert_eq!(tree.zone_objects("tld").unwrap(), vec![]);
    }

    pub(crate) fn domain(name: &str) -> Domain {
        Domain {
            name: name.into(),
            roid: "D1-TLD".into(),
            registrar: 9999,
            statuses: vec![DomainStatus::ClientTransferProhibited],
            nameservers: vec![Nameserver {
                name: "ns1.example.net".into(),
                addresses: vec![],
            }],
            ds: vec![],
            created: 1_600_000_000,
            updated: 1_700_000_000,
            expires: 1_800_000_000,
        }
    }

    #[test]
    fn records_live_under_reversed_labels_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let tree = Tree::open(dir.path()).unwrap();
        let key = ObjectKey::Domain("john.smith.name".into());
        let path = tree.path_of(&key).unwrap();
        let relative = path
            .strip_prefix(dir.path())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(relative.starts_with("domain/name/") && relative.ends_with("/smith/john.json"));
        let object = Object::Domain(domain("john.smith.name"));
        tree.put(&object).unwrap();
        assert_eq!(tree.get(&key).unwrap(), Some(object));
        tree.put(&Object::Domain(domain("smith.name"))).unwrap();
        let mut names: Vec<ObjectKey> = tree
            .zone_objects("name")
            .unwrap()
            .iter()
            .map(Object::key)
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                ObjectKey::Domain("john.smith.name".into()),
                ObjectKey::Domain("smith.name".into())
            ]
        );
        tree.delete(&key).unwrap();
        assert_eq!(tree.get(&key).unwrap(), None);
        tree.delete(&key).unwrap();
    }

    #[test]
    fn a_record_is_compared_with_the_one_held() {
        let dir = tempfile::tempdir().unwrap();
        let tree = Tree::open(dir.path()).unwrap();
        let mut record = Object::Domain(domain("john.smith.name"));
        assert_eq!(tree.compare(&record).unwrap(), Held::Other(None));
        tree.put(&record).unwrap();
        assert_eq!(tree.compare(&record).unwrap(), Held::Same);
        let held = record.clone();
        let Object::Domain(d) = &mut record else {
            unreachable!()
        };
        d.expires += 1;
        assert_eq!(tree.compare(&record).unwrap(), Held::Other(Some(held)));
        // A damaged file holds no record.
        std::fs::write(tree.path_of(&record.key()).unwrap(), b"{").unwrap();
        assert_eq!(tree.compare(&record).unwrap(), Held::Other(None));
    }

    /// Keys told from paths are the keys of the objects read from the files.
    #[test]
    fn a_zone_keys_are_told_by_their_paths() {
        let dir = tempfile::tempdir().unwrap();
        let tree = Tree::open(dir.path()).unwrap();
        for name in ["smith.name", "john.smith.name", "a.b.c.name", "other.tld"] {
            tree.put(&Object::Domain(domain(name))).unwrap();
        }
        let host = crate::whois::Host {
            name: "ns1.smith.name".into(),
            roid: "H1-NAME".into(),
            registrar: 9999,
            addresses: vec!["192.0.2.1".parse().unwrap()],
            created: 1,
            updated: 1,
        };
        tree.put(&Object::Host(host)).unwrap();
        let registrar = crate::whois::Registrar {
            iana_id: 9999,
            name: "Example".into(),
            whois_server: String::new(),
            url: String::new(),
            abuse_email: String::new(),
            abuse_phone: String::new(),
            updated: 1,
        };
        tree.put(&Object::Registrar(registrar)).unwrap();
        // Neither a temporary file nor a file out of its place is a record.
        let dir_of = tree
            .path_of(&ObjectKey::Domain("smith.name".into()))
            .unwrap();
        std::fs::write(dir_of.with_extension("json.tmp"), b"{}").unwrap();
        std::fs::write(dir_of.with_file_name("stray.json"), b"{}").unwrap();
        let mut from_paths = Vec::new();
        tree.for_each_zone_key("name", |key| {
            from_paths.push(key);
            Ok(())
        })
        .unwrap();
        from_paths.sort();
        let mut read: Vec<ObjectKey> = ["john.smith.name", "a.b.c.name", "smith.name"]
            .map(|n| ObjectKey::Domain(n.into()))
            .into_iter()
            .chain([
                ObjectKey::Host("ns1.smith.name".into()),
                ObjectKey::Registrar(9999),
            ])
            .collect();
        read.sort();
        assert_eq!(from_paths, read);
    }

    /// A batch, each object's last operation only, leaves the tree and its indexes as writing
    /// every operation in order does, whatever objects come back in it.
    #[test]
    fn a_batch_ends_as_its_operations_written_in_order() {
        use crate::whois::index::{Index, Writer};
        let mut ops = Vec::new();
        for n in 0..600u32 {
            let mut record = domain(&format!("d{}.tld", n % 400));
            record.nameservers[0].name = format!("ns{}.example.net", n % 7);
            ops.push(WhoisOp::Set(Object::Domain(record)));
            if n % 5 == 0 {
                let gone = format!("d{}.tld", (n * 7) % 400);
                ops.push(WhoisOp::Delete(ObjectKey::Domain(gone)));
            }
        }
        let held = Object::Domain(domain("held.tld"));
        let batched = tempfile::tempdir().unwrap();
        let ordered = tempfile::tempdir().unwrap();
        let trees = [&batched, &ordered].map(|d| Tree::open(d.path()).unwrap());
        let mut writers = trees.clone().map(|tree| {
            tree.put(&held).unwrap();
            Writer::rebuild(&tree, Default::default()).unwrap()
        });
        let refs: Vec<&WhoisOp> = ops.iter().collect();
        writers[0].add(trees[0].changes(&refs), None).unwrap();
        trees[0].write_unsynced(&refs).unwrap();
        for op in &ops {
            writers[1].add(trees[1].changes(&[op]), None).unwrap();
            trees[1].write_unsynced(&[op]).unwrap();
        }
        let objects = |tree: &Tree| {
            let mut all = tree.zone_objects("tld").unwrap();
            all.sort_by_key(Object::key);
            all
        };
        assert_eq!(objects(&trees[0]), objects(&trees[1]));
        assert!(objects(&trees[0]).len() > 100);
        for writer in &mut writers {
            writer.wait();
        }
        let merged = Index::open(batched.path()).entries();
        assert_eq!(merged, Index::open(ordered.path()).entries());
        drop(writers);
        crate::whois::index::rebuild(&trees[0]).unwrap();
        assert_eq!(
            merged,
            Index::open(batched.path()).entries(),
            "as a rebuild would have it"
        );
    }

    #[test]
    fn names_that_are_not_a_labels_never_become_paths() {
        let dir = tempfile::tempdir().unwrap();
        let tree = Tree::open(dir.path()).unwrap();
        for bad in [
            "",
            "tld",
            "../etc.tld",
            "a/b.tld",
            "UPPER.tld",
            "a..tld",
            "-a.tld",
            "x.\u{e9}",
        ] {
            assert!(
                tree.path_of(&ObjectKey::Domain(bad.into())).is_err(),
                "{bad}"
            );
        }
    }
}
