//! An RRP session's bytes as the server reads them: requests split at their `.` lines, each
//! parsed and planned as a registry command. No panic; every answer the server would send
//! renders as one response that reads back with its code and attributes.
#![no_main]

use control_plane::front::rrp::grammar::{self, Response};
use control_plane::front::rrp::translate::{self, Plan};
use libfuzzer_sys::fuzz_target;

fn renders(response: &Response) {
    let wire = response.render();
    assert_eq!(grammar::find_end(&wire), Some(wire.len()), "one response");
    let back = Response::parse(&wire).expect("a rendered response reads back");
    assert_eq!(back.code, response.code);
    assert_eq!(back.attributes.len(), response.attributes.len());
}

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Some(end) = grammar::find_end(rest) {
        match grammar::parse(&rest[..end]) {
            Ok(request) => match translate::plan(&request) {
                Plan::Answer(response) => renders(&response),
                Plan::Run { command, .. } => assert!(!command.kind().is_empty()),
            },
            Err(response) => renders(&response),
        }
        rest = &rest[end..];
    }
});
