//! The RDAP path and query parser and the answer path on arbitrary request targets: no panic,
//! every answer is an RDAP JSON object with `rdapConformance`, an error object carries its
//! status as `errorCode`, and answering from memory gives the same answer as reading.
#![no_main]

use std::sync::{Arc, OnceLock};

use edge_whois::answer::{self, Service};
use edge_whois::rdap::{self, request};
use edge_whois::render::Texts;
use libfuzzer_sys::fuzz_target;
use zonefiles::whois::cached::Wait;
use zonefiles::whois::tree::Tree;
use zonefiles::whois::{Domain, DomainStatus, Nameserver, Object};

fn service() -> &'static (Arc<Service>, tempfile::TempDir) {
    static SERVICE: OnceLock<(Arc<Service>, tempfile::TempDir)> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let tree = Tree::open(dir.path()).unwrap();
        for name in ["example.tld", "exa.tld", "xn--bcher-kva.tld"] {
            tree.put(&Object::Domain(Domain {
                name: name.into(),
                roid: "D1-TLD".into(),
                registrar: 1,
                statuses: vec![DomainStatus::Ok],
                nameservers: vec![Nameserver {
                    name: "ns1.example.net".into(),
                    addresses: vec![],
                }],
                ds: vec![],
                created: 1,
                updated: 1,
                expires: 2,
            }))
            .unwrap();
        }
        zonefiles::whois::index::rebuild(&tree).unwrap();
        let service = answer::service(tree, Texts::default(), vec!["tld".parse().unwrap()], 10);
        (service, dir)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(target) = std::str::from_utf8(data) else {
        return;
    };
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let parsed = request::parse(path, query);
    let service = &service().0;
    let config = rdap::Config::default();
    let (base, url) = ("http://127.0.0.1/", "http://127.0.0.1/x");
    let reply = rdap::answer(service, &config, base, url, parsed.clone(), Wait::Allowed)
        .expect("a read that may wait");
    assert!([200, 400, 404, 422, 501].contains(&reply.status));
    let body: serde_json::Value = serde_json::from_slice(&reply.body).expect("JSON");
    assert!(body["rdapConformance"].is_array());
    if reply.status != 200 {
        assert_eq!(body["errorCode"], reply.status);
    }
    if let Ok(from_memory) = rdap::answer(service, &config, base, url, parsed, Wait::No) {
        assert_eq!(from_memory.body, reply.body);
    }
});
