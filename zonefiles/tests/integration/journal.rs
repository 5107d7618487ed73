//! The journal: durability, torn tails, reading from a serial, rebasing.

use std::io::Write;

use zonefiles::Zone;
use zonefiles::changeset::{self, Changeset};
use zonefiles::journal::{Journal, JournalError};

fn zones(n: u32) -> Vec<Zone> {
    (1..=n)
        .map(|serial| {
            let mut text = format!("@ 300 SOA ns.tld. h.tld. {serial} 2 3 4 5\n@ 300 NS ns.x.\n");
            for i in 0..serial {
                text.push_str(&format!("d{i} 300 NS ns{}.x.\n", serial % 3));
            }
            crate::support::zone(&text).0
        })
        .collect()
}

fn changesets(zones: &[Zone]) -> Vec<Changeset> {
    zones
        .windows(2)
        .map(|w| changeset::diff(&w[0], &w[1]).unwrap())
        .collect()
}

#[test]
fn appended_changesets_survive_reopening_and_read_from_any_serial() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tld.journal");
    let zones = zones(6);
    let cs = changesets(&zones);
    let mut journal = Journal::create(&path, zones[0].origin(), 1).unwrap();
    for c in &cs {
        journal.append(c).unwrap();
    }
    drop(journal);
    let (journal, recovery) = Journal::open(&path).unwrap();
    assert_eq!(recovery.cut_bytes, 0);
    assert_eq!(journal.last_serial(), 6);
    assert_eq!(journal.changesets_from(1).unwrap(), cs);
    assert_eq!(journal.changesets_from(4).unwrap(), cs[3..]);
    assert!(journal.changesets_from(6).unwrap().is_empty());
    assert!(matches!(
        journal.changesets_from(9),
        Err(JournalError::NotFound(9))
    ));
}

#[test]
fn a_changeset_that_does_not_follow_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let zones = zones(3);
    let cs = changesets(&zones);
    let mut journal = Journal::create(&dir.path().join("j"), zones[0].origin(), 1).unwrap();
    assert!(matches!(
        journal.append(&cs[1]),
        Err(JournalError::Serial {
            expected: 1,
            found: 2
        })
    ));
}

/// Every possible torn write of the last entry is cut off on open, and the entries before it
/// are kept whole.
#[test]
fn torn_tails_are_cut_back_to_the_last_whole_changeset() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let zones = zones(4);
    let cs = changesets(&zones);
    let mut journal = Journal::create(&path, zones[0].origin(), 1).unwrap();
    journal.append(&cs[0]).unwrap();
    journal.append(&cs[1]).unwrap();
    let whole = journal.size();
    journal.append(&cs[2]).unwrap();
    let full = std::fs::read(&path).unwrap();
    drop(journal);
    for len in whole as usize + 1..full.len() {
        std::fs::write(&path, &full[..len]).unwrap();
        let (journal, recovery) = Journal::open(&path).unwrap();
        assert_eq!(journal.last_serial(), 3, "torn at {len}");
        assert_eq!(recovery.cut_bytes, (len - whole as usize) as u64);
        assert!(recovery.reason.unwrap().contains("torn"));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), whole);
        let mut again = journal;
        again.append(&cs[2]).unwrap();
    }
}

#[test]
fn a_damaged_entry_and_everything_after_it_are_never_applied() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let zones = zones(4);
    let cs = changesets(&zones);
    let mut journal = Journal::create(&path, zones[0].origin(), 1).unwrap();
    let header = journal.size();
    for c in &cs {
        journal.append(c).unwrap();
    }
    drop(journal);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[header as usize + 20] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let (journal, recovery) = Journal::open(&path).unwrap();
    assert_eq!(journal.last_serial(), 1);
    assert!(journal.is_empty());
    assert_eq!(recovery.reason.as_deref(), Some("entry checksum mismatch"));
}

#[test]
fn garbage_is_not_a_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(b"not a journal at all")
        .unwrap();
    assert!(matches!(Journal::open(&path), Err(JournalError::Header(_))));
}

#[test]
fn rebase_keeps_only_the_changesets_after_the_new_image() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let zones = zones(5);
    let cs = changesets(&zones);
    let mut journal = Journal::create(&path, zones[0].origin(), 1).unwrap();
    for c in &cs {
        journal.append(c).unwrap();
    }
    journal.rebase(3).unwrap();
    assert_eq!(journal.base_serial(), 3);
    assert_eq!(journal.changesets_from(3).unwrap(), cs[2..]);
    let (reopened, _) = Journal::open(&path).unwrap();
    assert_eq!(reopened.last_serial(), 5);
}

#[test]
fn compaction_folds_the_journal_into_an_image_identical_to_a_fresh_compile() {
    let dir = tempfile::tempdir().unwrap();
    let zones = zones(4);
    let cs = changesets(&zones);
    let (bytes, _) = zonefiles::image::compile(&zones[0], |_| {}).unwrap();
    let image_path = dir.path().join("1.img");
    zonefiles::image::write_atomically(&image_path, &bytes).unwrap();
    let mut journal = Journal::create(&dir.path().join("j"), zones[0].origin(), 1).unwrap();
    for c in &cs {
        journal.append(c).unwrap();
    }
    let image = zonefiles::Image::open(&image_path).unwrap();
    let output = dir.path().join("4.img");
    let done = zonefiles::journal::compact(&image, &mut journal, &output).unwrap();
    assert_eq!((done.serial, done.changesets), (4, 3));
    let (fresh, _) = zonefiles::image::compile(&zones[3], |_| {}).unwrap();
    assert_eq!(std::fs::read(&output).unwrap(), fresh);
    assert_eq!(journal.base_serial(), 4);
    assert!(journal.is_empty());
}
