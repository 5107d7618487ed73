//! A signed registry seen by a validating resolver: BIND's `named`, with the zone's KSK as its
//! trust anchor (the DS `control-plane dnssec status` prints) and a satellite's edge-dns as the
//! zone's forwarder, while registrations stream into the registry. Every answer validates: the
//! apex, a secure delegation's DS, an empty non-terminal, a name that does not exist, an
//! unsigned delegation's missing DS, and the DS of each new registration as soon as the
//! satellite serves it, with no SERVFAIL at any serial; and so through a ZSK rollover, a KSK
//! rollover and an algorithm rollover, asked without a pause the whole time.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use zonefiles::Name;
use zonefiles::sign::bind;
use zonefiles::sign::keys::{Algorithm, SECURE_ENTRY_POINT, Timing, ZONE_KEY};

use super::satellite::Satellite;
use crate::dnssec::{keygen, keygen_with, private_key_file};
use crate::fixture::{Registry, free_port};

const DS: &str = "12345 13 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE1E2B4A7B3E3F5A2D9C4B6E81";

struct Named(Child);

impl Drop for Named {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `named` on `port`, validating `name` with the KSKs' DS (the parent's DS set) as its trust
/// anchors and forwarding the zone to `upstream`.
fn resolver(dir: &Path, port: u16, upstream: SocketAddr, ds_set: &[Vec<u8>]) -> Named {
    let d = dir.display();
    let anchors: String = ds_set
        .iter()
        .map(|ds| {
            let (tag, alg, digest_type) = (u16::from_be_bytes([ds[0], ds[1]]), ds[2], ds[3]);
            let digest = data_encoding::HEXUPPER.encode(&ds[4..]);
            format!("name. static-ds {tag} {alg} {digest_type} \"{digest}\"; ")
        })
        .collect();
    let conf = format!(
        "options {{\n  directory \"{d}\";\n  pid-file \"{d}/named.pid\";\n  session-keyfile \"{d}/session.key\";\n  \
         managed-keys-directory \"{d}\";\n  listen-on port {port} {{ 127.0.0.1; }};\n  listen-on-v6 {{ none; }};\n  \
         recursion yes;\n  allow-query {{ 127.0.0.1; }};\n  dnssec-validation yes;\n  max-ncache-ttl 1;\n  max-cache-ttl 1;\n}};\n\
         controls {{ }};\n\
         trust-anchors {{ {anchors}}};\n\
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

/// A registry of `name` signed with NSEC3 (no opt-out: names that do not exist and unsigned
/// delegations are proven securely, AD, not only insecurely), an ECDSA KSK and ZSK in its keys
/// folder, the commit thread's sweep every second (it publishes key timing steps), and a
/// satellite; `john.smith.name` (with DS) and `jane.smith.name` registered and served.
struct Signed {
    registry: Registry,
    satellite: Satellite,
    keys: PathBuf,
}

impl Signed {
    fn new() -> Signed {
        let push = free_port();
        let mut registry = Registry::new(&format!(
            "\n[push]\nlisten = \"{push}\"\nkey = \"keys/tunnel.key\"\n[dnssec]\nkeys = \"keys/dnssec\"\n"
        ));
        // sweep_interval_s belongs before the tables.
        let config = std::fs::read_to_string(registry.path("cp.toml")).unwrap();
        std::fs::write(
            registry.path("cp.toml"),
            format!("sweep_interval_s = 1\n{config}"),
        )
        .unwrap();
        let keys = registry.path("keys/dnssec");
        std::fs::create_dir_all(&keys).unwrap();
        for flags in [SECURE_ENTRY_POINT, ZONE_KEY] {
            keygen(&keys, "name", flags, &Timing::default());
        }
        registry.cli(&["dnssec", "on", "name", "--denial", "nsec3"]);
        registry.start();
        let satellite = Satellite::new(&registry, "sat-1", push);
        let signed = Signed {
            registry,
            satellite,
            keys,
        };
        signed.create("john.smith.name", true);
        signed.create("jane.smith.name", false);
        signed.satellite.wait_registered("jane.smith.name");
        signed
    }

    fn create(&self, name: &str, ds: bool) {
        let mut attributes = vec![
            ("domain-name", name),
            ("ns1-name", "ns.example.net"),
            ("ns2-name", "ns.example.org"),
        ];
        if ds {
            attributes.push(("ds", DS));
        }
        let response = self
            .registry
            .as_registrar(1001, "CREATE DOMAIN", &attributes);
        assert_eq!(response.code.number(), 200, "{name}: {response:?}");
    }

    /// The DS rdata of each KSK in the keys folder, as the parent would publish them.
    fn ds_set(&self) -> Vec<Vec<u8>> {
        let origin: Name = "name.".parse().unwrap();
        bind::zone_keys(&origin, &self.keys)
            .unwrap()
            .into_iter()
            .map(|(_, key)| key.open().unwrap())
            .filter(|key| key.is_sep())
            .map(|key| key.ds_rdata(&origin))
            .collect()
    }
}

/// Asserts that the resolver on `port` validates `name`'s answer for `rtype` with `status`.
fn secure(dir: &Path, port: u16, name: &str, rtype: &str, status: &str) {
    let (got, ad) = ask(port, name, rtype);
    assert!(
        got == status && ad,
        "{name} {rtype}: {got}, AD {ad}; named log:\n{}",
        std::fs::read_to_string(dir.join("named.log")).unwrap_or_default()
    );
}

#[test]
fn a_validating_resolver_trusts_what_a_satellite_serves_while_registrations_stream() {
    let signed = Signed::new();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().port();
    let _named = resolver(dir.path(), port, signed.satellite.dns, &signed.ds_set());
    let secure =
        |name: &str, rtype: &str, status: &str| secure(dir.path(), port, name, rtype, status);
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
        signed.create(&name, i % 2 == 0);
        signed.satellite.wait_registered(&name);
        secure(&format!("{name}."), "DS", "NOERROR");
        checks(i);
    }
}

/// Sets its flag when dropped.
struct Stop<'a>(&'a AtomicBool);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The apex's answer for `rtype` as the satellite serves it: each record's type and, for an
/// RRSIG, the type it covers, its algorithm and its key tag.
fn served(server: SocketAddr, rtype: &str) -> Vec<String> {
    let out = Command::new("dig")
        .args([
            "@".to_owned() + &server.ip().to_string(),
            "-p".into(),
            server.port().to_string(),
        ])
        .args(["+dnssec", "+norec", "+noall", "+answer", "name.", rtype])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.get(3) {
                Some(&"RRSIG") => format!("RRSIG {} {} {}", f[4], f[5], f[10]),
                _ => f.get(3).unwrap_or(&"").to_string(),
            }
        })
        .collect()
}

/// A ZSK rollover by pre-publication, a KSK rollover by double DS and an algorithm rollover
/// (13 to 15), each step published by the commit thread at its time while registrations stream
/// in, with a validating resolver asked all the while (the parent's DS set, its trust anchors,
/// gains a new KSK's DS when it is given and loses the old one once it is gone): every answer
/// validates, with no SERVFAIL at any moment.
#[test]
fn a_validating_resolver_sees_no_servfail_through_zsk_ksk_and_algorithm_rollovers() {
    let signed = Signed::new();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().port();
    let named = Mutex::new(Some(resolver(
        dir.path(),
        port,
        signed.satellite.dns,
        &signed.ds_set(),
    )));
    // Held by each question, taken whole while the resolver restarts with new anchors.
    let asking = RwLock::new(());
    let done = AtomicBool::new(false);
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let answers = std::sync::atomic::AtomicUsize::new(0);
    let start = Instant::now();
    let serving = |rtype: &str, done: &dyn Fn(&[String]) -> bool, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut n = 0;
        loop {
            let records = served(signed.satellite.dns, rtype);
            if done(&records) {
                return records;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: never; served {records:?}"
            );
            n += 1;
            let name = format!("r{n}.roll{}.name", start.elapsed().as_millis());
            signed.create(&name, n % 2 == 0);
            std::thread::sleep(Duration::from_millis(300));
        }
    };
    // The key tags, or the algorithms, of the signatures over `covered`.
    let signers = |records: &[String], covered: &str, field: usize| -> Vec<String> {
        let mut found: Vec<String> = records
            .iter()
            .filter_map(|r| r.strip_prefix(&format!("RRSIG {covered} ")))
            .map(|r| r.split(' ').nth(field).unwrap().to_owned())
            .collect();
        found.sort();
        found.dedup();
        found
    };
    let tags = |records: &[String], covered: &str| signers(records, covered, 1);
    let algorithms = |records: &[String], covered: &str| signers(records, covered, 0);
    let restart = |ds_set: &[Vec<u8>]| {
        let _all = asking.write().unwrap();
        let mut named = named.lock().unwrap();
        drop(named.take());
        *named = Some(resolver(dir.path(), port, signed.satellite.dns, ds_set));
    };
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut round = 0;
            while !done.load(Ordering::Relaxed) {
                round += 1;
                let _one = asking.read().unwrap();
                for (name, rtype, status) in [
                    ("name.".to_owned(), "SOA", "NOERROR"),
                    ("john.smith.name.".to_owned(), "DS", "NOERROR"),
                    ("jane.smith.name.".to_owned(), "DS", "NOERROR"),
                    (format!("nothing-{round}.name."), "A", "NXDOMAIN"),
                ] {
                    let (got, ad) = ask(port, &name, rtype);
                    answers.fetch_add(1, Ordering::Relaxed);
                    if got != status || !ad {
                        failures.lock().unwrap().push(format!(
                            "{:.1} s: {name} {rtype}: {got}, AD {ad}",
                            start.elapsed().as_secs_f64()
                        ));
                    }
                }
            }
        });
        // The prober stops when this ends, however it ends.
        let _stop = Stop(&done);

        // The ZSK: the successor published now and signing in three seconds; the current one
        // retired then and removed three seconds later.
        let before = served(signed.satellite.dns, "SOA");
        let old_zsk = tags(&before, "SOA");
        let now = ops::now() as u64;
        let current = private_key_file(&signed.keys, &old_zsk[0]);
        keygen(
            &signed.keys,
            "name",
            ZONE_KEY,
            &Timing {
                publish: Some(now),
                activate: Some(now + 3),
                ..Timing::default()
            },
        );
        bind::set_timing(
            &current,
            &Timing {
                inactive: Some(now + 3),
                delete: Some(now + 6),
                ..Timing::default()
            },
        )
        .unwrap();
        let count =
            |records: &[String], rtype: &str| records.iter().filter(|r| *r == rtype).count();
        serving(
            "DNSKEY",
            &|r| count(r, "DNSKEY") == 3,
            "the new ZSK published",
        );
        serving(
            "SOA",
            &|r| !tags(r, "SOA").is_empty() && tags(r, "SOA") != old_zsk,
            "the new ZSK signing",
        );
        serving(
            "DNSKEY",
            &|r| count(r, "DNSKEY") == 2,
            "the old ZSK removed",
        );

        // The KSK, by double DS: the successor's DS given to the parent at once, the DNSKEY set
        // switching six seconds on, the old DS withdrawn after.
        let old_ksk = tags(&served(signed.satellite.dns, "DNSKEY"), "DNSKEY");
        let old_ds = signed.ds_set();
        let out = signed
            .registry
            .cli(&["dnssec", "rollover-ksk", "name", "--switch-in", "6"]);
        assert!(out.contains("give the parent its DS now"), "{out}");
        let both = signed.ds_set();
        let new_ds: Vec<Vec<u8>> = both
            .iter()
            .filter(|d| !old_ds.contains(d))
            .cloned()
            .collect();
        assert_eq!(new_ds.len(), 1, "{out}");
        restart(&both);
        serving(
            "DNSKEY",
            &|r| !tags(r, "DNSKEY").is_empty() && tags(r, "DNSKEY") != old_ksk,
            "the KSK switched",
        );
        restart(&new_ds);

        // The algorithm, 13 to 15: Ed25519 keys published and signing beside the ECDSA ones
        // (every RRset signed by both), the parent given the new KSK's DS, then the ECDSA keys
        // gone and their DS withdrawn.
        let ecdsa: Vec<PathBuf> = std::fs::read_dir(&signed.keys)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains("Kname.+013+"))
            .collect();
        let before = signed.ds_set();
        for flags in [SECURE_ENTRY_POINT, ZONE_KEY] {
            keygen_with(
                Algorithm::Ed25519,
                &signed.keys,
                "name",
                flags,
                &Timing::default(),
            );
        }
        let ed25519_ds: Vec<Vec<u8>> = signed
            .ds_set()
            .into_iter()
            .filter(|d| !before.contains(d))
            .collect();
        serving(
            "SOA",
            &|r| algorithms(r, "SOA") == ["13", "15"],
            "signed by both algorithms",
        );
        serving(
            "DNSKEY",
            &|r| algorithms(r, "DNSKEY") == ["13", "15"],
            "both KSKs signing the DNSKEY set",
        );
        restart(&[new_ds.clone(), ed25519_ds.clone()].concat());
        for path in ecdsa {
            std::fs::remove_file(path).unwrap();
        }
        serving(
            "DNSKEY",
            &|r| algorithms(r, "DNSKEY") == ["15"] && count(r, "DNSKEY") == 2,
            "Ed25519 alone",
        );
        serving(
            "SOA",
            &|r| algorithms(r, "SOA") == ["15"],
            "the SOA by Ed25519 alone",
        );
        restart(&ed25519_ds);
        signed.create("after.rollovers.name", true);
        signed.satellite.wait_registered("after.rollovers.name");
        std::thread::sleep(Duration::from_secs(2));
    });
    let failures = failures.into_inner().unwrap();
    let answers = answers.into_inner();
    assert!(answers > 40, "only {answers} answers");
    assert!(
        failures.is_empty(),
        "{} of {answers} answers did not validate:\n{}\nnamed log:\n{}",
        failures.len(),
        failures.join("\n"),
        std::fs::read_to_string(dir.path().join("named.log")).unwrap_or_default()
    );
}
