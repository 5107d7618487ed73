//! A validating resolver over edge-dns: BIND's `named`, with the zone's KSK as its trust
//! anchor (a static DS) and edge-dns as the zone's forwarder, validates what edge-dns serves
//! from a zone signed by `zonefiles::sign`: positive answers, a secure delegation's DS, empty
//! non-terminals, NXDOMAIN and an unsigned delegation's missing DS, with NSEC3 with and without
//! opt-out. With opt-out a name error and an unsigned delegation are proven insecure (no AD),
//! as RFC 5155 §9.2 has it, but never bogus. A trust anchor for another key gets SERVFAIL: the
//! resolver does check.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use zonefiles::generate::{self, Options, Shape};
use zonefiles::sign::keys::{Algorithm, KeyPair, SECURE_ENTRY_POINT, ZONE_KEY, ZoneKey};
use zonefiles::sign::{Denial, Policy, sign_zone};
use zonefiles::{Class, RecordType, Zone};

use crate::support::{Server, free_port, have_tool, spawn_edge_dns, spawn_named};

fn key(flags: u16) -> ZoneKey {
    ZoneKey::new(
        flags,
        Box::new(KeyPair::generate(Algorithm::EcdsaP256Sha256).unwrap()),
    )
}

/// `named` as a validating resolver on `port`, trusting `ds` for `tld` and forwarding the zone
/// to edge-dns on `upstream`.
fn resolver(dir: &Path, port: u16, upstream: u16, ds: &[u8]) -> Server {
    let d = dir.display();
    let (tag, alg, digest_type) = (u16::from_be_bytes([ds[0], ds[1]]), ds[2], ds[3]);
    let digest = data_encoding::HEXUPPER.encode(&ds[4..]);
    let conf = format!(
        "options {{\n  directory \"{d}\";\n  pid-file \"{d}/named.pid\";\n  session-keyfile \"{d}/session.key\";\n  \
         managed-keys-directory \"{d}\";\n  listen-on port {port} {{ 127.0.0.1; }};\n  listen-on-v6 {{ none; }};\n  \
         recursion yes;\n  allow-query {{ 127.0.0.1; }};\n  dnssec-validation yes;\n}};\n\
         controls {{ }};\n\
         trust-anchors {{ tld. static-ds {tag} {alg} {digest_type} \"{digest}\"; }};\n\
         zone \"tld\" {{ type forward; forward only; forwarders {{ 127.0.0.1 port {upstream}; }}; }};\n\
         logging {{ channel all {{ file \"{d}/named.log\"; severity info; }}; category default {{ all; }}; }};\n"
    );
    let server = spawn_named(dir, &conf);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "named did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// The resolver's status and whether it set AD.
fn ask(port: u16, name: &str, rtype: &str) -> (String, bool) {
    let out = Command::new("dig")
        .args([
            "@127.0.0.1",
            "-p",
            &port.to_string(),
            "+dnssec",
            "+time=5",
            "+tries=2",
        ])
        .args([name, rtype])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let status = text
        .split("status: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or("no answer")
        .to_owned();
    let ad = text
        .lines()
        .find(|l| l.starts_with(";; flags:"))
        .is_some_and(|l| {
            l.split(';')
                .nth(2)
                .unwrap_or("")
                .split_whitespace()
                .any(|f| f == "ad")
        });
    (status, ad)
}

#[test]
fn bind_validates_what_edge_dns_serves_from_a_signed_zone() {
    if !(have_tool("named") && have_tool("dig")) {
        return;
    }
    let options = Options {
        delegations: 2_000,
        shape: Shape::Providers,
        ..Options::default()
    };
    let mut text = Vec::new();
    generate::generate(&options, &mut text).unwrap();
    let records =
        zonefiles::master::parse_bytes("tld", &text, zonefiles::ParseOptions::default()).unwrap();
    let (zone, _) = Zone::from_records(None, Class::IN, records);
    let name_of = |rtype: RecordType, with_ds: bool| -> String {
        zone.nodes()
            .find(|node| {
                node[0].owner.label_count() == 2
                    && node.iter().any(|r| r.rtype == rtype)
                    && node.iter().any(|r| r.rtype == RecordType::DS) == with_ds
            })
            .map(|node| node[0].owner.to_string())
            .unwrap()
    };
    let (secure, insecure) = (
        name_of(RecordType::NS, true),
        name_of(RecordType::NS, false),
    );
    let keys = [key(SECURE_ENTRY_POINT), key(ZONE_KEY)];
    let ds = keys[0].ds_rdata(zone.origin());
    let stranger = key(SECURE_ENTRY_POINT).ds_rdata(zone.origin());

    for opt_out in [true, false] {
        let policy = Policy {
            denial: Denial::Nsec3 {
                iterations: 0,
                salt: Vec::new(),
                opt_out,
            },
            ..Policy::default()
        };
        let signed = sign_zone(&zone, &keys, &policy, now()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("tld.img");
        std::fs::write(
            &image,
            zonefiles::image::compile(&signed, |_| {}).unwrap().0,
        )
        .unwrap();
        let dns = free_port();
        let listen = format!("127.0.0.1:{dns}");
        let _edge = spawn_edge_dns(
            &["--zone", image.to_str().unwrap(), "--listen", &listen],
            dns,
        );
        let port = free_port();
        let _named = resolver(dir.path(), port, dns, &ds);
        let secure_answers = [
            ("tld.", "SOA", "NOERROR"),
            ("tld.", "DNSKEY", "NOERROR"),
            ("a.nic.tld.", "A", "NOERROR"),
            ("a.nic.tld.", "TXT", "NOERROR"),
            // An empty non-terminal: nic.tld has a.nic.tld below it.
            ("nic.tld.", "A", "NOERROR"),
            (secure.as_str(), "DS", "NOERROR"),
        ];
        for (name, rtype, status) in secure_answers {
            let got = ask(port, name, rtype);
            assert_eq!(
                got,
                (status.to_owned(), true),
                "opt-out {opt_out}: {name} {rtype}"
            );
        }
        // Denials that opt-out cannot prove secure: insecure, never bogus.
        for (name, rtype, status) in [
            ("no-such-name.tld.", "A", "NXDOMAIN"),
            (insecure.as_str(), "DS", "NOERROR"),
        ] {
            let got = ask(port, name, rtype);
            assert_eq!(
                got,
                (status.to_owned(), !opt_out),
                "opt-out {opt_out}: {name} {rtype}"
            );
        }
        if !opt_out {
            // A resolver that trusts another key finds the zone bogus.
            drop(_named);
            let other = tempfile::tempdir().unwrap();
            let _named = resolver(other.path(), port, dns, &stranger);
            assert_eq!(ask(port, "tld.", "SOA").0, "SERVFAIL");
        }
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
