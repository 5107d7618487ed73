//! The satellite session's frames as an agent reads them: arbitrary bytes split into frames
//! and fed to a session. No panic, no unbounded buffer; a frame that decodes encodes back to
//! the same bytes; the agent accepts nothing (it trusts a key whose private half is unknown
//! here), so every changeset is refused, never applied.
#![no_main]

use libfuzzer_sys::fuzz_target;
use satellite_protocol::message::{Deframer, Message};
use satellite_protocol::session::{Agent, Step, TrustedKey};

fuzz_target!(|data: &[u8]| {
    let mut agent = Agent::new(
        "fuzz",
        vec![TrustedKey::new(vec![7; 32])],
        [("tld".to_string(), Some(1)), ("name".to_string(), None)],
    );
    let mut deframer = Deframer::default();
    for piece in data.chunks(97) {
        deframer.push(piece);
        loop {
            match deframer.next_message() {
                Ok(Some(message)) => {
                    let frame = message.encode();
                    assert_eq!(Message::decode(&frame[4..]).as_ref(), Ok(&message));
                    match agent.receive(message) {
                        Ok(Step::Apply(_)) => panic!("applied an unsigned changeset"),
                        Ok(_) => {}
                        Err(_) => return,
                    }
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
