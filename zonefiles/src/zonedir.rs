//! The zone directory of a satellite (`docs/architecture.md`, contract 4): the current image, the journal of
//! the changesets after it, and a pointer to the current image that changes by atomic rename.
//!
//! ```text
//! <dir>/CURRENT        the current image's file name and a newline; replaced by rename
//! <dir>/<serial>.img   zone images; the current one, and older ones until a compaction
//! <dir>/journal        changesets from some serial at or before the current image's
//! ```
//!
//! One process writes a zone directory (the update-agent, or `zonefiles dir`); any number
//! read it (edge-dns). Every change is atomic for readers:
//!
//! - [`ZoneDir::append`] adds one changeset to the journal and fsyncs it; a reader sees the
//!   entry whole or not at all ([`JournalReader`] stops before an incomplete entry).
//! - [`ZoneDir::compact`] writes the next image (temporary file, fsync, rename), then points
//!   `CURRENT` at it (same), then trims the journal to the changesets it keeps for IXFR. A
//!   crash between the steps leaves a directory that reads the same: an unused image, or a
//!   journal that still starts before the current image (readers skip what the image holds).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::changeset::{self, Changeset, PatchError};
use crate::check::Finding;
use crate::image::{self, CompileError, Image, ImageError};
use crate::journal::{Journal, JournalError, JournalReader, NewEntries};
use crate::zone::Zone;

/// The pointer file's name.
pub const CURRENT: &str = "CURRENT";
/// The journal's file name.
pub const JOURNAL: &str = "journal";

/// Why a zone directory could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum ZoneDirError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `CURRENT` does not name an image file in the directory.
    #[error("{0}: CURRENT does not name an image in this directory")]
    Current(PathBuf),
    /// The image could not be opened.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The journal could not be read or written.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The journal does not reach back to the image.
    #[error("the journal starts at serial {journal}, after the current image's serial {image}")]
    Gap {
        /// The current image's serial.
        image: u32,
        /// The journal's first serial.
        journal: u32,
    },
    /// The changesets do not apply to the image.
    #[error("the journal does not apply to the image: {0}")]
    Patch(#[from] PatchError),
    /// The zone the journal leads to fails a check.
    #[error("the journal leads to a zone with errors, first: {0}")]
    Check(Box<Finding>),
    /// The next image could not be compiled.
    #[error(transparent)]
    Compile(#[from] CompileError),
}

impl ZoneDirError {
    /// A streamed compile's error, as the step that failed: reading the image, applying the
    /// journal, or compiling.
    fn from_compile(error: CompileError) -> ZoneDirError {
        match error {
            CompileError::Image(e) => ZoneDirError::Image(e),
            CompileError::Patch(e) => ZoneDirError::Patch(e),
            other => ZoneDirError::Compile(other),
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ZoneDirError + '_ {
    move |source| ZoneDirError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A zone directory.
#[derive(Debug, Clone)]
pub struct ZoneDir {
    path: PathBuf,
}

/// What a reader finds in a zone directory.
#[derive(Debug)]
pub struct Snapshot {
    /// The current image.
    pub image: Image,
    /// Its file.
    pub image_path: PathBuf,
    /// The changesets after the image's serial, in order.
    pub changesets: Vec<Changeset>,
    /// Every changeset the journal holds, for IXFR (it may start before the image).
    pub history: Vec<Changeset>,
    /// Reads the changesets appended from now on.
    pub reader: JournalReader,
}

/// An image folded by [`ZoneDir::fold`], written but not yet current.
#[derive(Debug)]
pub struct Folded {
    /// Its file name in the directory.
    name: String,
    /// What it holds.
    pub compaction: Compaction,
}

/// What a compaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compaction {
    /// The new image's serial.
    pub serial: u32,
    /// Changesets folded into it.
    pub changesets: usize,
    /// Its size in bytes.
    pub bytes: u64,
}

impl ZoneDir {
    /// Creates a zone directory holding `zone` as its first image and an empty journal.
    pub fn create(path: &Path, zone: &Zone) -> Result<ZoneDir, ZoneDirError> {
        std::fs::create_dir_all(path).map_err(io(path))?;
        let dir = ZoneDir {
            path: path.to_owned(),
        };
        let serial = zone.serial().unwrap_or(0);
        let (bytes, _) = image::compile(zone, |_| {})?;
        let name = image_name(serial);
        let image_path = path.join(&name);
        image::write_atomically(&image_path, &bytes).map_err(io(&image_path))?;
        Journal::create(&dir.journal_path(), zone.origin(), serial)?;
        dir.point_at(&name)?;
        Ok(dir)
    }

    /// Opens an existing zone directory.
    pub fn open(path: &Path) -> Result<ZoneDir, ZoneDirError> {
        let dir = ZoneDir {
            path: path.to_owned(),
        };
        dir.current_image()?;
        Ok(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The journal's path.
    pub fn journal_path(&self) -> PathBuf {
        self.path.join(JOURNAL)
    }

    /// The current image's path, as `CURRENT` names it.
    pub fn current_image(&self) -> Result<PathBuf, ZoneDirError> {
        let pointer = self.path.join(CURRENT);
        let text = std::fs::read_to_string(&pointer).map_err(io(&pointer))?;
        let name = text.trim();
        let plain = !name.is_empty()
            && !name.starts_with('.')
            && !name.contains('/')
            && name.ends_with(".img");
        if !plain {
            return Err(ZoneDirError::Current(pointer));
        }
        Ok(self.path.join(name))
    }

    /// Reads the directory as a server does: the current image (checked as
    /// [`Image::open`] does) and the journal.
    pub fn load(&self) -> Result<Snapshot, ZoneDirError> {
        self.load_with(Image::open)
    }

    /// [`ZoneDir::load`] with the image opened by [`Image::open_trusted`]: for a server that
    /// answers at once and runs [`Image::check_index`] in the background.
    pub fn load_trusted(&self) -> Result<Snapshot, ZoneDirError> {
        self.load_with(Image::open_trusted)
    }

    fn load_with(
        &self,
        open: fn(&Path) -> Result<Image, ImageError>,
    ) -> Result<Snapshot, ZoneDirError> {
        let image_path = self.current_image()?;
        let image = open(&image_path)?;
        let mut reader = JournalReader::open(&self.journal_path())?;
        let history = match reader.read_new()? {
            NewEntries::Appended(changesets) => changesets,
            // Replaced between opening and reading: read the new one.
            NewEntries::Replaced => return self.load_with(open),
        };
        let serial = image.serial();
        let first = reader.base_serial();
        let skip = match history.iter().position(|cs| cs.from_serial() == serial) {
            Some(i) => i,
            None if reader.last_serial() == serial => history.len(),
            None => {
                return Err(ZoneDirError::Gap {
                    image: serial,
                    journal: first,
                });
            }
        };
        Ok(Snapshot {
            changesets: history[skip..].to_vec(),
            history,
            image,
            image_path,
            reader,
        })
    }

    /// Makes a compiled image (a snapshot received whole) the directory's current image,
    /// creating the directory if needed, with an empty journal after it. The image is written
    /// and checked ([`Image::open`]) before anything else changes; then the journal is replaced
    /// and `CURRENT` points at the image. A crash in between leaves a directory whose journal
    /// starts after its image ([`ZoneDirError::Gap`]): the writer installs again.
    pub fn install(path: &Path, image_bytes: &[u8]) -> Result<ZoneDir, ZoneDirError> {
        ZoneDir::install_with(path, |out| out.write_all(image_bytes))
    }

    /// As [`ZoneDir::install`], the image written by `write` (a compiled image's
    /// [`write_to`](image::Compiled::write_to), with no copy of it in one buffer).
    pub fn install_with(
        path: &Path,
        write: impl FnOnce(&mut std::io::BufWriter<&std::fs::File>) -> std::io::Result<()>,
    ) -> Result<ZoneDir, ZoneDirError> {
        std::fs::create_dir_all(path).map_err(io(path))?;
        let dir = ZoneDir {
            path: path.to_owned(),
        };
        let staged = path.join(".install.img");
        image::write_atomically_with(&staged, write).map_err(io(&staged))?;
        let checked = Image::open(&staged);
        let image = match checked {
            Ok(image) => image,
            Err(e) => {
                let _ = std::fs::remove_file(&staged);
                return Err(e.into());
            }
        };
        let name = image_name(image.serial());
        let image_path = path.join(&name);
        std::fs::rename(&staged, &image_path).map_err(io(&image_path))?;
        Journal::create(&dir.journal_path(), image.origin(), image.serial())?;
        dir.point_at(&name)?;
        dir.remove_stale_images(&name)?;
        Ok(dir)
    }

    /// Appends a changeset to the journal (durable when this returns).
    pub fn append(&self, changeset: &Changeset) -> Result<(), ZoneDirError> {
        let (mut journal, _) = Journal::open(&self.journal_path())?;
        journal.append(changeset)?;
        Ok(())
    }

    /// Folds the changesets after the current image into a new image and makes it current,
    /// then trims the journal to its last `keep` changesets (the IXFR history) and removes
    /// images no longer current. `None` when there was nothing to fold. It is
    /// [`ZoneDir::fold`] then [`ZoneDir::make_current`].
    pub fn compact(&self, keep: usize) -> Result<Option<Compaction>, ZoneDirError> {
        let Some(folded) = self.fold()? else {
            return Ok(None);
        };
        let (mut journal, _) = Journal::open(&self.journal_path())?;
        self.make_current(folded, &mut journal, keep).map(Some)
    }

    /// The first half of a compaction: folds the changesets after the current image into the
    /// next image and writes it beside it (temporary file, fsync, rename), not yet current.
    /// It reads the journal as a server does, never writing it, so it may run on a thread of
    /// its own while the writer goes on appending: it folds what was whole when it started.
    /// `None` when there was nothing to fold.
    pub fn fold(&self) -> Result<Option<Folded>, ZoneDirError> {
        let snapshot = self.load()?;
        let Some(net) = changeset::compose(&snapshot.changesets)? else {
            return Ok(None);
        };
        // The image read in order with the changes applied, checked and compiled node by
        // node: the zone is never held whole.
        let compiled = changeset::fold(&snapshot.image, Some(&net))
            .map_err(ZoneDirError::from_compile)?
            .map_err(ZoneDirError::Check)?;
        let (serial, stats) = (compiled.serial(), compiled.stats);
        let name = image_name(serial);
        let path = self.path.join(&name);
        image::write_atomically_with(&path, |out| compiled.write_to(out)).map_err(io(&path))?;
        Ok(Some(Folded {
            name,
            compaction: Compaction {
                serial,
                changesets: snapshot.changesets.len(),
                bytes: stats.bytes,
            },
        }))
    }

    /// The second half of a compaction, by the directory's writer with its journal: points
    /// `CURRENT` at the folded image, trims the journal to the last `keep` changesets up to
    /// the image's serial (for IXFR) and every one after it (appended while it was folded),
    /// and removes images no longer current.
    pub fn make_current(
        &self,
        folded: Folded,
        journal: &mut Journal,
        keep: usize,
    ) -> Result<Compaction, ZoneDirError> {
        let serial = folded.compaction.serial;
        self.point_at(&folded.name)?;
        let from = journal
            .serial_before(serial, keep)
            .ok_or(JournalError::NotFound(serial))?;
        if from != journal.base_serial() {
            journal.rebase(from)?;
        }
        self.remove_stale_images(&folded.name)?;
        Ok(folded.compaction)
    }

    /// Points `CURRENT` at `name` (temporary file, fsync, rename, directory fsync).
    fn point_at(&self, name: &str) -> Result<(), ZoneDirError> {
        let pointer = self.path.join(CURRENT);
        image::write_atomically(&pointer, format!("{name}\n").as_bytes()).map_err(io(&pointer))
    }

    /// Removes the images no longer current, and any an interrupted write left behind.
    fn remove_stale_images(&self, current: &str) -> Result<(), ZoneDirError> {
        let entries = std::fs::read_dir(&self.path).map_err(io(&self.path))?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            // An image a crash left half written (`.<serial>.img.<pid>.<n>.tmp`): only the
            // directory's one writer makes them, and it is here, not folding.
            let torn = name.starts_with('.') && name.contains(".img.") && name.ends_with(".tmp");
            if (name.ends_with(".img") && name != current) || torn {
                // Readers that still map it keep its pages until they let go.
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(())
    }
}

/// The file name of the image at `serial`.
fn image_name(serial: u32) -> String {
    format!("{serial}.img")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::ParseOptions;
    use crate::rtype::Class;

    fn zone(serial: u32, extra: &str) -> Zone {
        let text = format!(
            "tld. 300 IN SOA a.nic.tld. h.tld. {serial} 2 3 4 5\ntld. 300 IN NS a.nic.tld.\n\
             a.nic.tld. 300 IN A 192.0.2.1\n{extra}"
        );
        let records =
            crate::master::parse_bytes("t", text.as_bytes(), ParseOptions::default()).unwrap();
        Zone::from_records(None, Class::IN, records).0
    }

    #[test]
    fn appends_are_seen_by_readers_and_compaction_keeps_history() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tld");
        let zd = ZoneDir::create(&path, &zone(1, "")).unwrap();
        let snapshot = zd.load().unwrap();
        assert_eq!(snapshot.image.serial(), 1);
        assert!(snapshot.changesets.is_empty());
        let mut reader = snapshot.reader;

        let mut previous = zone(1, "");
        for serial in 2..=5 {
            let next = zone(serial, &format!("d{serial}.tld. 300 IN NS ns.example.\n"));
            zd.append(&changeset::diff(&previous, &next).unwrap())
                .unwrap();
            previous = next;
        }
        let NewEntries::Appended(new) = reader.read_new().unwrap() else {
            panic!("not replaced")
        };
        assert_eq!(new.len(), 4);
        assert_eq!(reader.last_serial(), 5);

        let compaction = zd.compact(2).unwrap().unwrap();
        assert_eq!((compaction.serial, compaction.changesets), (5, 4));
        assert!(matches!(reader.read_new().unwrap(), NewEntries::Replaced));
        let snapshot = zd.load().unwrap();
        assert_eq!(snapshot.image.serial(), 5);
        assert_eq!(snapshot.image.to_zone().unwrap(), previous);
        assert!(snapshot.changesets.is_empty());
        let serials: Vec<u32> = snapshot.history.iter().map(|c| c.from_serial()).collect();
        assert_eq!(serials, [3, 4], "the last two changesets stay for IXFR");
        let images: Vec<_> = std::fs::read_dir(&path)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".img"))
            .collect();
        assert_eq!(images.len(), 1);
        assert!(zd.compact(2).unwrap().is_none(), "nothing left to fold");
    }

    /// A fold runs beside appends: what was appended meanwhile stays in the journal after the
    /// new image, and readers see the same zone before and after it becomes current.
    #[test]
    fn a_fold_beside_appends_keeps_what_came_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tld");
        let zd = ZoneDir::create(&path, &zone(1, "")).unwrap();
        let mut previous = zone(1, "");
        let mut extra = String::new();
        let mut append = |serials: std::ops::RangeInclusive<u32>| {
            for serial in serials {
                extra += &format!("d{serial}.tld. 300 IN NS ns.example.\n");
                let next = zone(serial, &extra);
                zd.append(&changeset::diff(&previous, &next).unwrap())
                    .unwrap();
                previous = next;
            }
            previous.clone()
        };
        append(2..=6);
        let folded = std::thread::scope(|s| s.spawn(|| zd.fold()).join().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(folded.compaction.serial, 6);
        // Appended while the fold ran: the fold is not current yet.
        let newest = append(7..=9);
        assert_eq!(zd.load().unwrap().image.serial(), 1);
        let (mut journal, _) = Journal::open(&zd.journal_path()).unwrap();
        let done = zd.make_current(folded, &mut journal, 2).unwrap();
        assert_eq!((done.serial, done.changesets), (6, 5));
        let snapshot = zd.load().unwrap();
        assert_eq!(snapshot.image.serial(), 6);
        let after: Vec<u32> = snapshot
            .changesets
            .iter()
            .map(|c| c.from_serial())
            .collect();
        assert_eq!(after, [6, 7, 8], "every changeset after the image stays");
        let history: Vec<u32> = snapshot.history.iter().map(|c| c.from_serial()).collect();
        assert_eq!(
            history,
            [4, 5, 6, 7, 8],
            "and the last two before it, for IXFR"
        );
        let net = changeset::compose(&snapshot.changesets).unwrap().unwrap();
        let zone = changeset::apply(snapshot.image.to_zone().unwrap(), &net);
        assert_eq!(zone.unwrap(), newest);
        // Nothing was appended after 9: the next compaction folds the rest, and removes what a
        // fold killed halfway left.
        let torn = path.join(".12.img.4242.0.tmp");
        std::fs::write(&torn, b"half an image").unwrap();
        assert_eq!(zd.compact(0).unwrap().unwrap().serial, 9);
        assert!(zd.load().unwrap().history.is_empty());
        assert!(!torn.exists());
    }

    #[test]
    fn a_torn_append_is_invisible_to_readers() {
        let dir = tempfile::tempdir().unwrap();
        let zd = ZoneDir::create(dir.path(), &zone(1, "")).unwrap();
        let mut reader = zd.load().unwrap().reader;
        let next = zone(2, "x.tld. 300 IN NS ns.example.\n");
        let bytes = changeset::diff(&zone(1, ""), &next).unwrap().encode();
        // Half an entry, as a writer caught mid-append leaves it.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(zd.journal_path())
            .unwrap();
        std::io::Write::write_all(&mut file, &(bytes.len() as u32).to_le_bytes()).unwrap();
        let NewEntries::Appended(new) = reader.read_new().unwrap() else {
            panic!()
        };
        assert!(new.is_empty());
        assert_eq!(zd.load().unwrap().changesets.len(), 0);
    }
}
