//! Journal open on arbitrary bytes: a bad header is an error, a bad tail is cut, and what is
//! kept reads back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zonefiles::journal::Journal;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    std::fs::write(&path, data).unwrap();
    if let Ok((journal, _)) = Journal::open(&path) {
        let all = journal.changesets_from(journal.base_serial()).expect("kept entries read back");
        assert_eq!(all.len(), journal.len());
    }
});
