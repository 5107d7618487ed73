//! The WHOIS query parser and the answer path on arbitrary lines: no panic, every answer is
//! text with CRLF line ends, and answering from memory gives the same text as reading.
#![no_main]

use std::sync::{Arc, OnceLock};

use edge_whois::answer::{self, Service};
use edge_whois::render::Texts;
use libfuzzer_sys::fuzz_target;
use zonefiles::whois::cached::Wait;
use zonefiles::whois::tree::Tree;
use zonefiles::whois::{Domain, Object};

fn service() -> &'static (Arc<Service>, tempfile::TempDir) {
    static SERVICE: OnceLock<(Arc<Service>, tempfile::TempDir)> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let tree = Tree::open(dir.path()).unwrap();
        tree.put(&Object::Domain(Domain {
            name: "example.tld".into(),
            roid: "D1-TLD".into(),
            registrar: 1,
            statuses: vec![],
            nameservers: vec![],
            ds: vec![],
            created: 0,
            updated: 0,
            expires: 0,
        }))
        .unwrap();
        zonefiles::whois::index::rebuild(&tree).unwrap();
        let service = answer::service(tree, Texts::default(), vec!["tld".parse().unwrap()], 10);
        (service, dir)
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = edge_whois::query::parse(data, &["tld".parse().unwrap()]);
    let service = &service().0;
    let (text, _) = service
        .answer(data, Wait::Allowed)
        .expect("a read that may wait");
    // From memory the same text, or nothing when a record was not in the page cache.
    if let Ok((from_memory, _)) = service.answer(data, Wait::No) {
        assert_eq!(from_memory, text);
    }
    assert!(!text.is_empty());
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "bare LF in an answer"
    );
});
