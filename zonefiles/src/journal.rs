//! The journal: an append-only, checksummed file of the changesets that follow an image's
//! serial (`docs/architecture.md`, contract 3). On a satellite it is the crash-recovery log, the overlay
//! edge-dns answers from on top of the image, and the source of IXFR.
//!
//! # Layout (integers little-endian)
//!
//! ```text
//! header  magic "CSTLJRNL" · version u32 = 1 · base serial u32 · CRC32C u32 of the header
//!         with this field zeroed · origin (wire name)
//! entry   payload length u32 · CRC32C u32 of (length ‖ payload) · payload
//!         (payload: the changeset encoding of `changeset`)
//! ```
//!
//! Entries chain: the first starts at the base serial and each starts where the previous one
//! ended. An append writes one entry and fsyncs before it returns. On open every entry is
//! checked (length, CRC, decoding, chaining); the first one that fails and everything after it
//! is cut off the file — a torn or damaged tail is never applied — and [`Recovery`] says so.
//! Reading "all changesets from serial n" seeks straight to n's entry through an in-memory
//! index built on open.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::changeset::{Changeset, DecodeError};
use crate::name::Name;

const MAGIC: &[u8; 8] = b"CSTLJRNL";
const VERSION: u32 = 1;
const ENTRY_HEADER: usize = 8;
/// The largest changeset a journal accepts (64 MiB).
pub const MAX_ENTRY: usize = 64 << 20;

/// Why a journal could not be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading, writing or syncing failed.
    #[error("journal {path}: {source}")]
    Io {
        /// The journal file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not a journal, another version, or a damaged header.
    #[error("journal {0}: bad header (not a journal of this version, or damaged)")]
    Header(PathBuf),
    /// The changeset belongs to another zone.
    #[error("changeset for {found} appended to the journal of {expected}")]
    Origin {
        /// The journal's zone.
        expected: Name,
        /// The changeset's zone.
        found: Name,
    },
    /// The changeset does not start where the journal ends.
    #[error("changeset starts at serial {found}; the journal ends at {expected}")]
    Serial {
        /// The journal's last serial.
        expected: u32,
        /// The changeset's first serial.
        found: u32,
    },
    /// The serial asked for is not in the journal.
    #[error("serial {0} is not in the journal")]
    NotFound(u32),
    /// A changeset larger than [`MAX_ENTRY`].
    #[error("changeset of {0} bytes is larger than the journal allows")]
    TooLarge(usize),
    /// An entry that was whole on open no longer decodes (the file changed underneath).
    #[error("journal entry no longer decodes: {0}")]
    Decode(#[from] DecodeError),
}

/// What opening a journal had to repair.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recovery {
    /// Bytes cut from the end of the file.
    pub cut_bytes: u64,
    /// Why, when something was cut.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    to: u32,
    offset: u64,
    len: u32,
}

/// An open journal.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    origin: Name,
    base_serial: u32,
    entries: Vec<Entry>,
    by_serial: HashMap<u32, usize>,
    end: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_owned(),
        source,
    }
}

fn header_bytes(origin: &Name, base_serial: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(20 + origin.as_wire().len());
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&VERSION.to_le_bytes());
    h.extend_from_slice(&base_serial.to_le_bytes());
    h.extend_from_slice(&[0; 4]);
    h.extend_from_slice(origin.as_wire());
    let crc = crc32c::crc32c(&h);
    h[16..20].copy_from_slice(&crc.to_le_bytes());
    h
}

fn entry_crc(len: u32, payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&len.to_le_bytes()), payload)
}

impl Journal {
    /// Creates an empty journal following the image at `base_serial`, replacing any file at
    /// `path` atomically.
    pub fn create(path: &Path, origin: &Name, base_serial: u32) -> Result<Journal, JournalError> {
        crate::image::write_atomically(path, &header_bytes(origin, base_serial))
            .map_err(io(path))?;
        Ok(Journal::open(path)?.0)
    }

    /// Opens a journal, cutting off a torn or damaged tail.
    pub fn open(path: &Path) -> Result<(Journal, Recovery), JournalError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io(path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io(path))?;
        let (origin, base_serial, header_len) = read_header(&bytes, path)?;
        let mut journal = Journal {
            path: path.to_owned(),
            file,
            origin,
            base_serial,
            entries: Vec::new(),
            by_serial: HashMap::new(),
            end: header_len as u64,
        };
        let mut recovery = Recovery::default();
        let mut at = header_len;
        while at < bytes.len() {
            match check_entry(&bytes[at..], &journal.origin, journal.last_serial()) {
                Ok((changeset, len)) => {
                    let (from, to) = (changeset.from_serial(), changeset.to_serial());
                    journal.push_entry(from, to, at as u64, len);
                    at += ENTRY_HEADER + len as usize;
                }
                Err(reason) => {
                    recovery = Recovery {
                        cut_bytes: (bytes.len() - at) as u64,
                        reason: Some(reason),
                    };
                    journal.file.set_len(at as u64).map_err(io(path))?;
                    journal.file.sync_all().map_err(io(path))?;
                    break;
                }
            }
        }
        journal.end = at.min(bytes.len()) as u64;
        Ok((journal, recovery))
    }

    fn push_entry(&mut self, from: u32, to: u32, offset: u64, len: u32) {
        self.by_serial.insert(from, self.entries.len());
        self.entries.push(Entry { to, offset, len });
    }

    /// The zone the journal belongs to.
    pub fn origin(&self) -> &Name {
        &self.origin
    }

    /// The serial of the image the journal follows.
    pub fn base_serial(&self) -> u32 {
        self.base_serial
    }

    /// The serial after the last changeset (the base serial when empty).
    pub fn last_serial(&self) -> u32 {
        self.entries.last().map_or(self.base_serial, |e| e.to)
    }

    /// The number of changesets.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if the journal holds no changeset.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The file size in bytes.
    pub fn size(&self) -> u64 {
        self.end
    }

    /// Appends a changeset and fsyncs it; when this returns `Ok` the change is durable.
    pub fn append(&mut self, changeset: &Changeset) -> Result<(), JournalError> {
        self.append_all(std::slice::from_ref(changeset))
    }

    /// Appends changesets that follow each other, with one fsync for all of them; when this
    /// returns `Ok` they are all durable. On an error none of them is in the journal.
    pub fn append_all(&mut self, changesets: &[Changeset]) -> Result<(), JournalError> {
        let mut bytes = Vec::new();
        let mut entries = Vec::with_capacity(changesets.len());
        let mut serial = self.last_serial();
        for changeset in changesets {
            if changeset.origin != self.origin {
                return Err(JournalError::Origin {
                    expected: self.origin.clone(),
                    found: changeset.origin.clone(),
                });
            }
            if changeset.from_serial() != serial {
                return Err(JournalError::Serial {
                    expected: serial,
                    found: changeset.from_serial(),
                });
            }
            serial = changeset.to_serial();
            let payload = changeset.encode();
            if payload.len() > MAX_ENTRY {
                return Err(JournalError::TooLarge(payload.len()));
            }
            let len = payload.len() as u32;
            entries.push((
                changeset.from_serial(),
                changeset.to_serial(),
                bytes.len() as u64,
                len,
            ));
            bytes.extend_from_slice(&len.to_le_bytes());
            bytes.extend_from_slice(&entry_crc(len, &payload).to_le_bytes());
            bytes.extend_from_slice(&payload);
        }
        let path = self.path.clone();
        let offset = self.end;
        let written = (|| {
            self.file.seek(SeekFrom::Start(offset))?;
            self.file.write_all(&bytes)?;
            self.file.sync_data()
        })();
        if let Err(source) = written {
            // Leave no partial entry behind for the next append to follow.
            let _ = self.file.set_len(offset);
            return Err(JournalError::Io { path, source });
        }
        for (from, to, at, len) in entries {
            self.push_entry(from, to, offset + at, len);
        }
        self.end = offset + bytes.len() as u64;
        Ok(())
    }

    /// The index of the entry that starts at `serial` (the number of entries if `serial` is
    /// the last one); `None` if the journal does not hold it.
    fn index_of(&self, serial: u32) -> Option<usize> {
        if serial == self.last_serial() {
            return Some(self.entries.len());
        }
        self.by_serial.get(&serial).copied()
    }

    /// How many changesets follow `serial` (`None` if the journal does not hold it).
    pub fn count_from(&self, serial: u32) -> Option<usize> {
        self.index_of(serial).map(|i| self.entries.len() - i)
    }

    /// The serial `n` changesets before `serial`, or the journal's base serial if it holds
    /// fewer; `None` if it does not hold `serial`.
    pub fn serial_before(&self, serial: u32, n: usize) -> Option<u32> {
        Some(match self.index_of(serial)?.saturating_sub(n) {
            0 => self.base_serial,
            i => self.entries[i - 1].to,
        })
    }

    /// All changesets from `serial` to the end, in order; empty if `serial` is the last one.
    pub fn changesets_from(&self, serial: u32) -> Result<Vec<Changeset>, JournalError> {
        if serial == self.last_serial() {
            return Ok(Vec::new());
        }
        let &first = self
            .by_serial
            .get(&serial)
            .ok_or(JournalError::NotFound(serial))?;
        let start = self.entries[first].offset;
        let mut bytes = vec![0; (self.end - start) as usize];
        let mut file = &self.file;
        file.seek(SeekFrom::Start(start)).map_err(io(&self.path))?;
        file.read_exact(&mut bytes).map_err(io(&self.path))?;
        self.entries[first..]
            .iter()
            .map(|e| {
                let at = (e.offset - start) as usize + ENTRY_HEADER;
                Ok(Changeset::decode(&bytes[at..at + e.len as usize])?)
            })
            .collect()
    }

    /// Rewrites the journal to follow the image at `serial`, keeping the changesets after it;
    /// used after a compaction. Atomic: a crash leaves the old journal or the new one.
    pub fn rebase(&mut self, serial: u32) -> Result<(), JournalError> {
        let first = self
            .index_of(serial)
            .ok_or(JournalError::NotFound(serial))?;
        // The entries kept are copied as they are: each is checksummed on its own.
        let start = self.entries.get(first).map_or(self.end, |e| e.offset);
        let mut bytes = header_bytes(&self.origin, serial);
        let header = bytes.len();
        bytes.resize(header + (self.end - start) as usize, 0);
        let mut file = &self.file;
        file.seek(SeekFrom::Start(start)).map_err(io(&self.path))?;
        file.read_exact(&mut bytes[header..])
            .map_err(io(&self.path))?;
        crate::image::write_atomically(&self.path, &bytes).map_err(io(&self.path))?;
        *self = Journal::open(&self.path)?.0;
        Ok(())
    }
}

/// Checks one entry at the start of `bytes`: returns its serials and payload length.
/// Reads a journal header: the zone, the base serial and the header's length.
fn read_header(bytes: &[u8], path: &Path) -> Result<(Name, u32, usize), JournalError> {
    let bad_header = || JournalError::Header(path.to_owned());
    if bytes.len() < 21 || &bytes[..8] != MAGIC {
        return Err(bad_header());
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4"));
    let base_serial = u32::from_le_bytes(bytes[12..16].try_into().expect("4"));
    let (origin, origin_len) = Name::from_wire(&bytes[20..]).map_err(|_| bad_header())?;
    let header_len = 20 + origin_len;
    if version != VERSION || bytes[..header_len] != header_bytes(&origin, base_serial)[..] {
        return Err(bad_header());
    }
    Ok((origin, base_serial, header_len))
}

/// Follows a journal that another process appends to, never writing it: each
/// [`JournalReader::read_new`] returns the whole entries added since the last call and stops
/// before an entry that is not complete yet (an append in progress) or damaged (which the
/// writer cuts off when it next opens the journal). A journal replaced by rename (a rebase)
/// is noticed, and read again from its start.
#[derive(Debug)]
pub struct JournalReader {
    path: PathBuf,
    file: File,
    origin: Name,
    base_serial: u32,
    last_serial: u32,
    offset: u64,
}

/// What [`JournalReader::read_new`] found.
#[derive(Debug)]
pub enum NewEntries {
    /// Changesets appended since the last read, in order (possibly none).
    Appended(Vec<Changeset>),
    /// The file was replaced (rebased); open a new reader.
    Replaced,
}

impl JournalReader {
    /// Opens a journal for reading; nothing is read past the header yet.
    pub fn open(path: &Path) -> Result<JournalReader, JournalError> {
        let mut file = File::open(path).map_err(io(path))?;
        let mut head = vec![0u8; 20 + crate::name::MAX_NAME_LEN];
        let mut filled = 0;
        while filled < head.len() {
            let n = file.read(&mut head[filled..]).map_err(io(path))?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        let (origin, base_serial, header_len) = read_header(&head[..filled], path)?;
        Ok(JournalReader {
            path: path.to_owned(),
            file,
            origin,
            base_serial,
            last_serial: base_serial,
            offset: header_len as u64,
        })
    }

    /// The zone the journal belongs to.
    pub fn origin(&self) -> &Name {
        &self.origin
    }

    /// The serial the journal starts from.
    pub fn base_serial(&self) -> u32 {
        self.base_serial
    }

    /// The serial after the last changeset read.
    pub fn last_serial(&self) -> u32 {
        self.last_serial
    }

    /// Reads the entries appended since the last call.
    pub fn read_new(&mut self) -> Result<NewEntries, JournalError> {
        use std::os::unix::fs::MetadataExt;
        let path = self.path.clone();
        let here = self.file.metadata().map_err(io(&path))?;
        match std::fs::metadata(&path) {
            Ok(now) if now.ino() == here.ino() && now.dev() == here.dev() => {}
            // Renamed over, or removed while a new one is being put in place.
            _ => return Ok(NewEntries::Replaced),
        }
        if here.len() <= self.offset {
            return Ok(NewEntries::Appended(Vec::new()));
        }
        let mut bytes = Vec::with_capacity((here.len() - self.offset) as usize);
        self.file
            .seek(SeekFrom::Start(self.offset))
            .map_err(io(&path))?;
        // Up to the length just seen, or less: a writer reopening the journal may cut a torn
        // tail in between, and the whole entries before it are all a reader ever takes.
        (&mut self.file)
            .take(here.len() - self.offset)
            .read_to_end(&mut bytes)
            .map_err(io(&path))?;
        let mut at = 0;
        let mut changesets = Vec::new();
        while let Ok((changeset, len)) = check_entry(&bytes[at..], &self.origin, self.last_serial) {
            self.last_serial = changeset.to_serial();
            changesets.push(changeset);
            at += ENTRY_HEADER + len as usize;
        }
        self.offset += at as u64;
        Ok(NewEntries::Appended(changesets))
    }
}

/// Checks one entry at the start of `bytes`: returns its changeset and payload length.
fn check_entry(bytes: &[u8], origin: &Name, last_serial: u32) -> Result<(Changeset, u32), String> {
    if bytes.len() < ENTRY_HEADER {
        return Err(format!("torn entry header ({} bytes)", bytes.len()));
    }
    let len = u32::from_le_bytes(bytes[..4].try_into().expect("4"));
    let crc = u32::from_le_bytes(bytes[4..8].try_into().expect("4"));
    let Some(payload) = bytes.get(ENTRY_HEADER..ENTRY_HEADER + len as usize) else {
        return Err(format!(
            "torn entry: {len} bytes announced, {} present",
            bytes.len() - 8
        ));
    };
    if entry_crc(len, payload) != crc {
        return Err("entry checksum mismatch".into());
    }
    let changeset =
        Changeset::decode(payload).map_err(|e| format!("entry does not decode: {e}"))?;
    if changeset.origin != *origin {
        return Err(format!("entry for another zone ({})", changeset.origin));
    }
    if changeset.from_serial() != last_serial {
        return Err(format!(
            "entry starts at serial {} but the journal is at {}",
            changeset.from_serial(),
            last_serial
        ));
    }
    Ok((changeset, len))
}

/// Why a compaction failed; the old image and journal are untouched.
#[derive(Debug, thiserror::Error)]
pub enum CompactError {
    /// The image could not be read.
    #[error(transparent)]
    Image(#[from] crate::image::ImageError),
    /// The journal could not be read or rebased.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The changesets do not apply to the image.
    #[error("the journal does not apply to the image: {0}")]
    Patch(#[from] crate::changeset::PatchError),
    /// The resulting zone fails the checks.
    #[error("the journal leads to a zone with errors, first: {0}")]
    Check(Box<crate::check::Finding>),
    /// The new image could not be compiled or written.
    #[error(transparent)]
    Compile(#[from] crate::image::CompileError),
}

/// What a compaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compaction {
    /// The serial of the new image.
    pub serial: u32,
    /// Changesets folded into it.
    pub changesets: usize,
    /// Size of the new image in bytes.
    pub bytes: u64,
}

/// Folds `image` and the changesets of `journal` after it into a new image at `output`
/// ([`changeset::fold`](crate::changeset::fold): as a stream; written to a temporary file,
/// fsynced and renamed), then rebases the journal on the new
/// serial. A crash at any point leaves a usable pair: the old image with the old journal, or
/// the new image with a journal that still starts at the old serial (whose changesets up to
/// the new serial are then simply skipped).
pub fn compact(
    image: &crate::image::Image,
    journal: &mut Journal,
    output: &Path,
) -> Result<Compaction, CompactError> {
    let changesets = journal.changesets_from(image.serial())?;
    let net = crate::changeset::compose(&changesets)?;
    let compiled = crate::changeset::fold(image, net.as_ref())
        .map_err(|e| match e {
            crate::image::CompileError::Image(e) => CompactError::Image(e),
            crate::image::CompileError::Patch(e) => CompactError::Patch(e),
            other => CompactError::Compile(other),
        })?
        .map_err(CompactError::Check)?;
    let (serial, stats) = (compiled.serial(), compiled.stats);
    crate::image::write_atomically_with(output, |out| compiled.write_to(out))
        .map_err(crate::image::CompileError::Io)?;
    journal.rebase(serial)?;
    Ok(Compaction {
        serial,
        changesets: changesets.len(),
        bytes: stats.bytes,
    })
}
