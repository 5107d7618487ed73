//! EPP frames as a session reads them: RFC 5734 length headers, the bounded XML reader, the
//! RFC-checked command reader and the plan for the registry, on arbitrary bytes. No panic; every
//! response the server would send (a refusal's, or one planned without the registry) is
//! well-formed XML that carries its result code.
#![no_main]

use control_plane::front::epp::command::{self, Frame};
use control_plane::front::epp::translate::{self, Plan};
use control_plane::front::epp::response::Response;
use control_plane::front::epp::{EXTENSIONS, frame, xml};
use libfuzzer_sys::fuzz_target;

fn well_formed(response: &Response) {
    let text = response.render(Some("fuzz-1"), "sv-1");
    let root = xml::parse(text.as_bytes()).expect("responses are well-formed");
    let code = response.code.number().to_string();
    let result = &root.children[0].children[0];
    assert_eq!(result.attribute("code"), Some(code.as_str()));
}

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    // A fuzz input without a plausible header is one whole payload.
    let whole = [data];
    let mut payloads: Vec<&[u8]> = Vec::new();
    while rest.len() >= frame::HEADER {
        let header = [rest[0], rest[1], rest[2], rest[3]];
        match frame::length(header, 64 * 1024) {
            Ok(length) if length <= rest.len() - frame::HEADER => {
                payloads.push(&rest[frame::HEADER..frame::HEADER + length]);
                rest = &rest[frame::HEADER + length..];
            }
            _ => break,
        }
    }
    let payloads = if payloads.is_empty() { &whole[..] } else { &payloads[..] };
    for payload in payloads {
        let root = match xml::parse(payload) {
            Ok(root) => root,
            Err(_) => continue,
        };
        match command::read(&root, &EXTENSIONS) {
            Ok(Frame::Hello) => {}
            Ok(Frame::Command { command, .. }) => {
                if let Plan::Answer(response) = translate::plan(&command) {
                    well_formed(&response);
                }
            }
            Err(failure) => {
                assert!(!failure.code.is_success());
                well_formed(&Response::with_message(failure.code, failure.text));
            }
        }
    }
});
