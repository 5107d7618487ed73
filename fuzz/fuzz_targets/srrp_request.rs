//! SRRP requests as a server reads them: framing, parsing and decoding into a registry
//! command on arbitrary bytes. No panic; a request that parses renders to bytes that parse back
//! to the same request; a decoded command or the refusal's response renders. The same bytes as
//! a line of `control-plane import` (words, quoted values): a command or an error, no panic.
#![no_main]

use control_plane::front::srrp::grammar::{self, Limits};
use control_plane::front::srrp::translate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = control_plane::operator::import::parse(line);
    }
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
