//! SRRP requests as a server reads them: framing, parsing and decoding into a registry
//! command on arbitrary bytes. No panic; a request that parses renders to bytes that parse back
//! to the same request; a decoded command or the refusal's response renders.
#![no_main]

use control_plane::front::srrp::grammar::{self, Limits};
use control_plane::front::srrp::translate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let message = match grammar::find_end(data) {
        Some(end) => &data[..end],
        None => data,
    };
    let Ok(request) = grammar::parse(message, Limits::default()) else {
        return;
    };
    let wire = request.render();
    let end = grammar::find_end(&wire).expect("rendered requests end with %x00");
    let back = grammar::parse(&wire[..end], Limits::default()).expect("rendered requests parse");
    assert_eq!(back, request);
    match translate::decode(&request) {
        Ok(decoded) => assert!(!decoded.command.kind().is_empty()),
        Err(response) => assert!(response.render().ends_with(b"\0")),
    }
});
