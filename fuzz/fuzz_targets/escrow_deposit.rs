//! Escrow deposits as a restore reads them (the streaming reader, RFC 9022's objects), on
//! arbitrary bytes. No panic; memory stays one object's; every domain and host object read
//! writes back as XML that reads as the same object.
#![no_main]

use control_plane::escrow::objects::{self, Content, NAMESPACES};
use control_plane::escrow::restore::{Item, read_deposit};
use control_plane::front::epp::xml;
use libfuzzer_sys::fuzz_target;

fn read_back(written: &str) -> Content {
    let document = format!("<rde:contents {NAMESPACES}>{written}</rde:contents>");
    let root = xml::parse(document.as_bytes()).expect("written objects are well-formed");
    objects::read_content(&root.children[0]).expect("written objects read back")
}

fuzz_target!(|data: &[u8]| {
    let _ = read_deposit(data, |item| {
        match item {
            Item::Content(Content::Domain(entry)) => {
                let mut out = String::new();
                objects::domain(
                    &mut out,
                    "name",
                    &entry.domain,
                    &entry.nameservers,
                    entry.transfer.as_ref(),
                );
                let Content::Domain(again) = read_back(&out) else {
                    panic!("a domain reads back as a domain");
                };
                assert_eq!(*again, *entry);
            }
            Item::Content(Content::Host(host)) => {
                let mut out = String::new();
                objects::host(&mut out, &host);
                assert_eq!(read_back(&out), Content::Host(host));
            }
            _ => {}
        }
        Ok(())
    });
});
