//! Journal open on arbitrary bytes: a bad header is an error, a bad tail is cut, and what is
//! kept reads back. The read-only follower (what edge-dns uses) reads the same entries from
//! the untouched bytes, never more.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zonefiles::journal::{Journal, JournalReader, NewEntries};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    std::fs::write(&path, data).unwrap();
    let followed = JournalReader::open(&path).ok().map(|mut reader| {
        match reader.read_new().expect("a readable file reads") {
            NewEntries::Appended(changesets) => changesets.len(),
            NewEntries::Replaced => panic!("nothing replaced the file"),
        }
    });
    if let Ok((journal, _)) = Journal::open(&path) {
        let all = journal
            .changesets_from(journal.base_serial())
            .expect("kept entries read back");
        assert_eq!(all.len(), journal.len());
        assert_eq!(
            followed,
            Some(journal.len()),
            "the follower reads what open keeps"
        );
    }
});
