//! A signed registry seen by a validating resolver: BIND's `named`, with the zone's KSK as its
//! trust anchor (the DS `control-plane dnssec status` prints) and a satellite's edge-dns as the
//! zone's forwarder, while registrations stream into the registry. Every answer validates: the
//! apex, a secure delegation's DS, an empty non-terminal, a name that does not exist, an
//! unsigned delegation's missing DS, and the DS of each new registration as soon as the
//! satellite serves it, with no SERVFAIL at any serial.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zonefiles::Name;
use zonefiles::sign::bind::{self, Private, write_bind};
use zonefiles::sign::keys::{Algorithm, KeyPair, SECURE_ENTRY_POINT, Timing, ZONE_KEY};

use super::satellite::Satellite;
use crate::fixture::{Registry, free_port};

const DS: &str = "12345 13 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE1E2B4A7B3E3F5A2D9C4B6E81";

struct Named(Child);

impl Drop for Named {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `named` on `port`, validating `name` with the KSK's DS as its trust anchor and forwarding
/// the zone to `upstream`.
fn resolver(dir: &Path, port: u16, upstream: std::net::SocketAddr, ds: &[u8]) -> Named {
    let d = dir.display();
    let (tag, alg, digest_type) = (u16::from_be_bytes([ds[0], ds[1]]), ds[2], ds[3]);
    let digest = data_encoding::HEXUPPER.encode(&ds[4..]);
    let conf = format!(
        "options {{\n  directory \"{d}\";\n  pid-file \"{d}/named.pid\";\n  session-keyfile \"{d}/session.key\";\n  \
         managed-keys-directory \"{d}\";\n  listen-on port {port} {{ 127.0.0.1; }};\n  listen-on-v6 {{ none; }};\n  \
         recursion yes;\n  allow-query {{ 127.0.0.1; }};\n  dnssec-validation yes;\n  max-ncache-ttl 1;\n  max-cache-ttl 1;\n}};\n\
         controls {{ }};\n\
         trust-anchors {{ name. static-ds {tag} {alg} {digest_type} \"{digest}\"; }};\n\
         zone \"name\" {{ type forward; forward only; forwarders {{ {} port {}; }}; }};\n\
         logging {{ channel all {{ file \"{d}/named.log\"; severity info; }}; category default {{ all; }}; }};\n",
        upstream.ip(),
        upstream.port()
    );
    std::fs::write(dir.join("named.conf"), conf).unwrap();
    let child = Command::new("named")
        .args(["-f", "-4", "-c"])
        .arg(dir.join("named.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let named = Named(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "named did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    named
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
fn a_validating_resolver_trusts_what_a_satellite_serves_while_registrations_stream() {
    let push = free_port();
    let mut registry = Registry::new(&format!(
        "\n[push]\nlisten = \"{push}\"\nkey = \"keys/tunnel.key\"\n[dnssec]\nkeys = \"keys/dnssec\"\n"
    ));
    let keys = registry.path("keys/dnssec");
    std::fs::create_dir_all(&keys).unwrap();
    let origin: Name = "name.".parse().unwrap();
    for flags in [SECURE_ENTRY_POINT, ZONE_KEY] {
        let pair = KeyPair::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let private = Private::InFile(&pair);
        write_bind(
            &keys,
            &origin,
            flags,
            private,
            ops::now() as u64,
            &Timing::default(),
        )
        .unwrap();
    }
    // NSEC3 without opt-out: names that do not exist and unsigned delegations are proven
    // securely (AD), not only insecurely.
    registry.cli(&["dnssec", "on", "name", "--denial", "nsec3"]);
    registry.start();
    let satellite = Satellite::new(&registry, "sat-1", push);
    let create = |name: &str, ds: bool| {
        let mut attributes = vec![
            ("domain-name", name),
            ("ns1-name", "ns.example.net"),
            ("ns2-name", "ns.example.org"),
        ];
        if ds {
            attributes.push(("ds", DS));
        }
        let response = registry.as_registrar(1001, "CREATE DOMAIN", &attributes);
        assert_eq!(response.code.number(), 200, "{name}: {response:?}");
    };
    create("john.smith.name", true);
    create("jane.smith.name", false);
    satellite.wait_registered("jane.smith.name");

    let ksk = bind::zone_keys(&origin, &keys)
        .unwrap()
        .into_iter()
        .map(|(_, key)| key.open().unwrap())
        .find(|key| key.is_sep())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().port();
    let _named = resolver(dir.path(), port, satellite.dns, &ksk.ds_rdata(&origin));
    let secure = |name: &str, rtype: &str, status: &str| {
        let (got, ad) = ask(port, name, rtype);
        assert!(
            got == status && ad,
            "{name} {rtype}: {got}, AD {ad}; named log:\n{}",
            std::fs::read_to_string(dir.path().join("named.log")).unwrap_or_default()
        );
    };
    let checks = |serial: usize| {
        secure("name.", "SOA", "NOERROR");
        secure("john.smith.name.", "DS", "NOERROR");
        secure("jane.smith.name.", "DS", "NOERROR");
        secure("smith.name.", "A", "NOERROR");
        secure(&format!("nothing-{serial}.name."), "A", "NXDOMAIN");
        secure(&format!("nobody-{serial}.smith.name."), "A", "NXDOMAIN");
    };
    checks(0);
    // Registrations stream in; each new secure delegation's DS validates once served, and the
    // rest keeps validating at every serial in between.
    for i in 1..=8 {
        let name = format!("user{i}.family{}.name", i % 3);
        create(&name, i % 2 == 0);
        satellite.wait_registered(&name);
        secure(&format!("{name}."), "DS", "NOERROR");
        checks(i);
    }
}
