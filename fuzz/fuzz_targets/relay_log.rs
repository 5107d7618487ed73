//! A relay's log opened on arbitrary bytes (a torn or damaged file after a crash): no panic;
//! what is kept is one chain of changesets that ends exactly at the serial held, and it reads
//! back the same after a second open.
#![no_main]

use libfuzzer_sys::fuzz_target;
use satellite_protocol::message::{Deframer, MAX_FRAME, Message};
use satellite_protocol::log::{After, Log, read};

fuzz_target!(|data: &[u8]| {
    let Some((held, bytes)) = data.split_first_chunk::<4>() else {
        return;
    };
    let held = Some(u32::from_be_bytes(*held));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tld.relay");
    std::fs::write(&path, bytes).unwrap();
    let (log, _) = Log::open(&path, held, 1000).expect("a readable file opens");
    let (from, newest) = log.holding().expect("a serial is held");
    assert_eq!(Some(newest), held);
    let kept = log.behind(from).expect("the log reaches its first serial");
    if kept > 0 {
        let After::Frames(frames, to) = log.after(from, usize::MAX, None).unwrap() else {
            panic!("the log holds {kept} changesets after {from}");
        };
        assert_eq!(Some(to), held);
        let mut deframer = Deframer::with_limit(MAX_FRAME);
        deframer.push(&frames);
        let mut changesets = Vec::new();
        while let Some(message) = deframer.next_message().unwrap() {
            let Message::Changeset(c) = message else {
                panic!("{message:?}")
            };
            changesets.push(c);
        }
        assert_eq!(changesets.len() as u64, kept);
        // A copy of the file (a recovery reads one) holds the same changesets.
        assert_eq!(read(&path).unwrap(), changesets);
    }
    drop(log);
    let (again, note) = Log::open(&path, held, 1000).unwrap();
    assert_eq!(note, None, "a log cut back opens as it was");
    assert_eq!(again.holding(), Some((from, newest)));
});
