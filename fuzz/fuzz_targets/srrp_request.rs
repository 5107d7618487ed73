//! SRRP requests as a server reads them: framing, parsing and decoding into a registry
//! command on arbitrary bytes. No panic; a request that parses renders to bytes that parse back
//! to the same request; a decoded command or the refusal's response renders.
#![no_main]

use control_plane::srrp::{self, Limits};
use control_plane::srrp_front;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let message = match srrp::find_end(data) {
        Some(end) => &data[..end],
        None => data,
    };
    let Ok(request) = srrp::parse(message, Limits::default()) else {
        return;
    };
    let wire = request.render();
    let end = srrp::find_end(&wire).expect("rendered requests end with %x00");
    let back = srrp::parse(&wire[..end], Limits::default()).expect("rendered requests parse");
    assert_eq!(back, request);
    match srrp_front::decode(&request) {
        Ok(decoded) => assert!(!decoded.command.kind().is_empty()),
        Err(response) => assert!(response.render().ends_with(b"\0")),
    }
});
