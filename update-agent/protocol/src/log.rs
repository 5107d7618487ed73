//! The changeset log every agent keeps per zone (`<state>/<zone>.relay`): the signed CHANGESET
//! frames it applied, as they arrived. A relay serves agents downstream from it, and the
//! registry is rebuilt from the newest log any satellite holds after a loss of its disk
//! ([`read`]; `control-plane recover`).
//!
//! # Format
//!
//! ```text
//! record   u32 CRC-32C of the frame (little-endian) · frame
//! frame    the CHANGESET frame as sent ([`crate::message`]), its u32 length prefix included
//! ```
//!
//! Records follow each other with no header; the serials of consecutive records form one chain.
//! A reader stops at the first torn or damaged record or break in the chain. The writer
//! appends after the changesets are durable in the zone directory, without an fsync of its own:
//! on open, records are checked and cut back to the serial the satellite holds; a log that does
//! not reach that serial is started again, empty, from it.

use std::collections::{HashMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use zonefiles::serial::is_after;

use crate::message::{Message, SignedChangeset};

/// Changesets kept per zone for downstream agents, by default.
pub const DEFAULT_KEEP: usize = 100_000;

/// Where one changeset's frame is in the log file.
struct Entry {
    from: u32,
    to: u32,
    /// The offset of its record (CRC, then the frame).
    at: u64,
    /// The frame's length, length prefix included.
    len: u32,
}

impl Entry {
    fn end(&self) -> u64 {
        self.at + 4 + u64::from(self.len)
    }
}

/// What a log holds after a serial.
#[derive(Debug, PartialEq, Eq)]
pub enum After {
    /// These CHANGESET frames, back to back, and the serial they lead to.
    Frames(Vec<u8>, u32),
    /// Nothing yet: the serial is the newest, or ahead of it.
    Wait,
    /// The log no longer reaches back to the serial.
    Gone,
}

/// One zone's signed changesets, as received: a file of records
/// `u32 CRC-32C of the frame · frame` (the CHANGESET frame with its length prefix). Only
/// where each record is stays in memory (24 octets a changeset); frames are read back from the
/// file (the page cache, in practice) when an agent downstream asks for them.
pub struct Log {
    path: PathBuf,
    file: File,
    /// The serial the log leads to (the satellite's serial); `None` before any data.
    newest: Option<u32>,
    entries: VecDeque<Entry>,
    /// The position of `entries[0]` since the log was opened.
    first: u64,
    /// Serial → position of the entry that starts from it.
    index: HashMap<u32, u64>,
    keep: usize,
}

fn record(frame: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&crc32c::crc32c(frame).to_le_bytes());
    out.extend_from_slice(frame);
}

/// The first record of `bytes`, if whole and intact: its changeset and its frame's length.
fn read_record(bytes: &[u8]) -> Option<(SignedChangeset, u32)> {
    let crc = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
    let len = u32::from_be_bytes(bytes.get(4..8)?.try_into().ok()?);
    let frame = bytes.get(4..8 + len as usize)?;
    if crc32c::crc32c(frame) != crc {
        return None;
    }
    let Ok(Message::Changeset(c)) = Message::decode(&frame[4..]) else {
        return None;
    };
    Some((c, len + 4))
}

/// The signed changesets a log file holds, in order, up to the first torn or damaged record
/// or break in the chain of serials (a copy of a satellite's log, read for a recovery).
pub fn read(path: &Path) -> io::Result<Vec<SignedChangeset>> {
    let bytes = fs::read(path)?;
    let mut changesets: Vec<SignedChangeset> = Vec::new();
    let mut at = 0;
    while let Some((c, len)) = read_record(&bytes[at..]) {
        if changesets.last().is_some_and(|last| last.to != c.from) {
            break;
        }
        changesets.push(c);
        at += 4 + len as usize;
    }
    Ok(changesets)
}

impl Log {
    /// Opens (or creates) the log at `path` for a zone whose data stands at `held`. Returns
    /// the log and, if it had to be cut back or started again, what happened.
    pub fn open(path: &Path, held: Option<u32>, keep: usize) -> io::Result<(Log, Option<String>)> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut entries: Vec<Entry> = Vec::new();
        let mut at = 0;
        while let Some((c, len)) = read_record(&bytes[at..]) {
            if entries.last().is_some_and(|last| last.to != c.from) {
                break;
            }
            entries.push(Entry {
                from: c.from,
                to: c.to,
                at: at as u64,
                len,
            });
            at += 4 + len as usize;
        }
        drop(bytes);
        let read = entries.len();
        match held.and_then(|h| entries.iter().rposition(|e| e.to == h)) {
            Some(last) => entries.truncate(last + 1),
            None => entries.clear(),
        }
        let kept_end = entries.last().map_or(0, Entry::end);
        let note = (kept_end != at as u64 || entries.len() != read).then(|| {
            format!(
                "changeset log {}: kept {} of {read} changesets (serial held: {held:?})",
                path.display(),
                entries.len()
            )
        });
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        file.set_len(kept_end)?;
        let mut log = Log {
            path: path.to_owned(),
            file,
            newest: held,
            entries: VecDeque::new(),
            first: 0,
            index: HashMap::new(),
            keep: keep.max(1),
        };
        for entry in entries {
            log.index.insert(entry.from, log.entries.len() as u64);
            log.entries.push_back(entry);
        }
        Ok((log, note))
    }

    /// Moves the records held to the start of a new file that replaces the old one (after
    /// the oldest were dropped).
    fn rewrite(&mut self) -> io::Result<()> {
        let start = self.entries.front().map_or(0, |e| e.at);
        let end = self.entries.back().map_or(0, Entry::end);
        let mut kept = vec![0; (end - start) as usize];
        self.file.read_exact_at(&mut kept, start)?;
        let temporary = self.path.with_extension("relay.tmp");
        fs::write(&temporary, &kept)?;
        fs::rename(&temporary, &self.path)?;
        self.file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path)?;
        for entry in &mut self.entries {
            entry.at -= start;
        }
        Ok(())
    }

    /// The first serial the log starts from and the newest, if it holds data.
    pub fn holding(&self) -> Option<(u32, u32)> {
        let newest = self.newest?;
        Some((self.entries.front().map_or(newest, |e| e.from), newest))
    }

    /// How many changesets it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends changesets applied after the newest serial. One that does not continue it
    /// starts the log again from its own serial.
    pub fn append(&mut self, changesets: &[SignedChangeset]) -> io::Result<()> {
        let mut out = Vec::new();
        let mut at = self.entries.back().map_or(0, Entry::end);
        for c in changesets {
            if self.newest != Some(c.from) {
                self.reset(c.from)?;
                out.clear();
                at = 0;
            }
            let frame = Message::Changeset(c.clone()).encode();
            record(&frame, &mut out);
            self.index
                .insert(c.from, self.first + self.entries.len() as u64);
            self.entries.push_back(Entry {
                from: c.from,
                to: c.to,
                at,
                len: frame.len() as u32,
            });
            at += 4 + frame.len() as u64;
            self.newest = Some(c.to);
        }
        self.file.write_all(&out)?;
        if self.entries.len() >= self.keep + self.keep / 2 {
            while self.entries.len() > self.keep {
                let entry = self.entries.pop_front().expect("not empty");
                self.index.remove(&entry.from);
                self.first += 1;
            }
            self.rewrite()?;
        }
        Ok(())
    }

    /// Starts the log again, empty, at `serial` (a snapshot was installed).
    pub fn reset(&mut self, serial: u32) -> io::Result<()> {
        self.first += self.entries.len() as u64;
        self.entries.clear();
        self.index.clear();
        self.newest = Some(serial);
        self.file.set_len(0)
    }

    /// Up to `max` frames after `serial`, stopping after the one that reaches `stop` (an
    /// audit point), read back from the file.
    pub fn after(&self, serial: u32, max: usize, stop: Option<u32>) -> io::Result<After> {
        let Some(newest) = self.newest else {
            return Ok(After::Wait);
        };
        if serial == newest || is_after(serial, newest) {
            return Ok(After::Wait);
        }
        let Some(&position) = self.index.get(&serial) else {
            return Ok(After::Gone);
        };
        let skip = (position - self.first) as usize;
        let mut taken = 0;
        let mut to = serial;
        for entry in self.entries.iter().skip(skip) {
            taken += 1;
            to = entry.to;
            if taken == max || Some(to) == stop {
                break;
            }
        }
        let span = self.entries.range(skip..skip + taken);
        let (Some(first), Some(last)) = (span.clone().next(), span.clone().last()) else {
            return Ok(After::Wait);
        };
        let mut records = vec![0; (last.end() - first.at) as usize];
        self.file.read_exact_at(&mut records, first.at)?;
        let mut frames = Vec::with_capacity(records.len());
        for entry in span {
            let at = (entry.at - first.at) as usize + 4;
            frames.extend_from_slice(&records[at..at + entry.len as usize]);
        }
        Ok(After::Frames(frames, to))
    }

    /// How many changesets after `serial` the log holds; `None` if it does not reach it.
    pub fn behind(&self, serial: u32) -> Option<u64> {
        if Some(serial) == self.newest {
            return Some(0);
        }
        let position = self.index.get(&serial)?;
        Some(self.first + self.entries.len() as u64 - position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changeset(from: u32) -> SignedChangeset {
        SignedChangeset {
            zone: "tld".into(),
            from,
            to: from + 1,
            committed: 0,
            key_id: "k".into(),
            signature: vec![1; 64],
            bytes: vec![from as u8; 40],
            record: vec![from as u8; 10],
        }
    }

    fn changesets(from: u32, n: u32) -> Vec<SignedChangeset> {
        (from..from + n).map(changeset).collect()
    }

    /// The changesets of what `after` returned, and the serial they lead to.
    fn changesets_of(after: io::Result<After>) -> (Vec<SignedChangeset>, u32) {
        match after.unwrap() {
            After::Frames(frames, to) => {
                let mut deframer = crate::message::Deframer::with_limit(crate::message::MAX_FRAME);
                deframer.push(&frames);
                let mut out = Vec::new();
                while let Some(message) = deframer.next_message().unwrap() {
                    let Message::Changeset(c) = message else {
                        panic!("{message:?}")
                    };
                    out.push(c);
                }
                (out, to)
            }
            other => panic!("{other:?}"),
        }
    }

    fn frames_of(after: io::Result<After>) -> (usize, u32) {
        let (changesets, to) = changesets_of(after);
        (changesets.len(), to)
    }

    #[test]
    fn serves_what_follows_a_serial_and_survives_a_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tld.relay");
        let (mut log, note) = Log::open(&path, Some(10), 100).unwrap();
        assert_eq!(note, None);
        assert_eq!(log.after(10, 10, None).unwrap(), After::Wait);
        log.append(&changesets(10, 20)).unwrap();
        assert_eq!(log.holding(), Some((10, 30)));
        assert_eq!(frames_of(log.after(10, 5, None)), (5, 15));
        assert_eq!(frames_of(log.after(15, 100, Some(20))), (5, 20));
        assert_eq!(frames_of(log.after(29, 100, None)), (1, 30));
        assert_eq!(log.after(30, 100, None).unwrap(), After::Wait);
        assert_eq!(log.after(31, 100, None).unwrap(), After::Wait);
        assert_eq!(log.after(9, 100, None).unwrap(), After::Gone);
        assert_eq!(log.behind(25), Some(5));
        // The frames are the changesets as they were signed.
        assert_eq!(changesets_of(log.after(12, 1, None)).0, vec![changeset(12)]);
        assert_eq!(
            changesets_of(log.after(10, 100, None)).0,
            changesets(10, 20)
        );
        drop(log);
        let (log, note) = Log::open(&path, Some(30), 100).unwrap();
        assert_eq!(note, None);
        assert_eq!(log.holding(), Some((10, 30)));
        assert_eq!(frames_of(log.after(10, 100, None)), (20, 30));
        // A copy of the file reads back as the changesets, records included.
        assert_eq!(read(&path).unwrap(), changesets(10, 20));
        let mut torn = fs::read(&path).unwrap();
        torn.truncate(torn.len() - 3);
        fs::write(&path, torn).unwrap();
        assert_eq!(read(&path).unwrap(), changesets(10, 19));
    }

    #[test]
    fn recovery_cuts_back_to_the_serial_held_and_drops_torn_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tld.relay");
        let (mut log, _) = Log::open(&path, Some(1), 100).unwrap();
        log.append(&changesets(1, 10)).unwrap();
        drop(log);
        // The journal's torn tail was cut at serial 8: the log follows it.
        let (log, note) = Log::open(&path, Some(8), 100).unwrap();
        assert!(note.is_some());
        assert_eq!(log.holding(), Some((1, 8)));
        drop(log);
        // A torn last record: dropped; the log then ends before the serial held (8 reached
        // in the journal by a batch the log lost): it starts again, empty, at 8.
        let len = fs::metadata(&path).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let (log, note) = Log::open(&path, Some(8), 100).unwrap();
        assert!(note.is_some());
        assert_eq!(log.holding(), Some((8, 8)));
        assert_eq!(log.after(5, 10, None).unwrap(), After::Gone);
        // A corrupted byte in the middle: the records after it go too.
        drop(log);
        let (mut log, _) = Log::open(&path, Some(8), 100).unwrap();
        log.append(&changesets(8, 10)).unwrap();
        drop(log);
        let mut bytes = fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        fs::write(&path, &bytes).unwrap();
        let (log, _) = Log::open(&path, Some(18), 100).unwrap();
        assert_eq!(log.holding(), Some((18, 18)));
    }

    #[test]
    fn keeps_the_newest_and_starts_again_at_a_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tld.relay");
        let (mut log, _) = Log::open(&path, Some(0), 10).unwrap();
        for n in 0..10 {
            log.append(&changesets(n * 5, 5)).unwrap();
        }
        let (from, newest) = log.holding().unwrap();
        assert_eq!(newest, 50);
        assert!((35..=40).contains(&from), "{from}");
        assert_eq!(log.after(10, 100, None).unwrap(), After::Gone);
        assert!(fs::metadata(&path).unwrap().len() < 15 * 200);
        // What is kept reads back whole after the file was rewritten.
        assert_eq!(
            changesets_of(log.after(from, 100, None)),
            (changesets(from, 50 - from), 50)
        );
        assert_eq!(read(&path).unwrap(), changesets(from, 50 - from));
        log.reset(70).unwrap();
        assert_eq!(log.holding(), Some((70, 70)));
        assert_eq!(log.after(45, 100, None).unwrap(), After::Gone);
        // A changeset that does not continue the log starts it again from its own serial.
        log.append(&changesets(100, 2)).unwrap();
        assert_eq!(log.holding(), Some((100, 102)));
        drop(log);
        let (log, _) = Log::open(&path, Some(102), 10).unwrap();
        assert_eq!(log.holding(), Some((100, 102)));
        assert_eq!(
            changesets_of(log.after(100, 100, None)),
            (changesets(100, 2), 102)
        );
    }
}
