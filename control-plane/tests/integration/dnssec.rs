//! Online DNSSEC signing: a registry whose zones are signed while registrars work. At every
//! step of a scripted life — signing turned on over existing domains, registrations with and
//! without DS, DS changes, deletions, a ZSK rollover by the keys' timing — the zone as
//! published (the zone file) is accepted by BIND's `dnssec-verify` and by
//! `ldns-verify-zone`, and the journal replays to exactly the zone held (`audit`), so the
//! changesets satellites apply carry every signature and chain record. Signatures are
//! renewed between batches; a zone without its keys refuses writes; kill -9 while signing
//! leaves a zone that validates.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use zonefiles::Name;
use zonefiles::sign::bind::{Private, write_bind};
use zonefiles::sign::keys::{Algorithm, KeyPair, SECURE_ENTRY_POINT, Timing, ZONE_KEY};

use crate::fixture::Registry;

const DS: &str = "12345 13 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE1E2B4A7B3E3F5A2D9C4B6E81";
const DS2: &str = "23456 13 2 0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C4B5A69788796A5B4C3D2E1F0";

pub fn keygen(folder: &Path, zone: &str, flags: u16, timing: &Timing) {
    keygen_with(Algorithm::EcdsaP256Sha256, folder, zone, flags, timing);
}

pub fn keygen_with(algorithm: Algorithm, folder: &Path, zone: &str, flags: u16, timing: &Timing) {
    let pair = KeyPair::generate(algorithm).unwrap();
    let zone: Name = format!("{zone}.").parse().unwrap();
    write_bind(
        folder,
        &zone,
        flags,
        Private::InFile(&pair),
        ops::now() as u64,
        timing,
    )
    .unwrap();
}

/// The `.private` file of the key with this tag in `folder`.
pub fn private_key_file(folder: &Path, tag: &str) -> PathBuf {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.extension().is_some_and(|e| e == "private")
                && p.to_string_lossy().contains(&format!("+{tag:0>5}."))
        })
        .unwrap()
}

/// A registry with `[dnssec]` (and `dnssec`'s extra settings), a KSK and a ZSK for each of
/// `zones` in its keys folder, and the commit thread's sweep every second if `sweeping`;
/// returns it with the keys folder.
fn signed_registry(dnssec: &str, zones: &[&str], sweeping: bool) -> (Registry, PathBuf) {
    let registry = Registry::new(&format!("[dnssec]\nkeys = \"keys/dnssec\"\n{dnssec}"));
    if sweeping {
        // sweep_interval_s belongs before the tables.
        let config = std::fs::read_to_string(registry.path("cp.toml")).unwrap();
        std::fs::write(
            registry.path("cp.toml"),
            format!("sweep_interval_s = 1\n{config}"),
        )
        .unwrap();
    }
    let keys = registry.path("keys/dnssec");
    std::fs::create_dir_all(&keys).unwrap();
    for zone in zones {
        keygen(&keys, zone, SECURE_ENTRY_POINT, &Timing::default());
        keygen(&keys, zone, ZONE_KEY, &Timing::default());
    }
    (registry, keys)
}

/// The zone file as published now, checked by BIND's and NLnet Labs' verifiers; returns its
/// text.
fn verify(registry: &Registry, zone: &str, step: &str) -> String {
    let out = registry.path("zone-files");
    std::fs::create_dir_all(&out).unwrap();
    registry.cli(&["report", "zone-file", zone, "-o", out.to_str().unwrap()]);
    let text = out.join(format!("{zone}.zone"));
    let gz = Command::new("gzip")
        .args(["-dc", out.join(format!("{zone}.zone.gz")).to_str().unwrap()])
        .output()
        .unwrap();
    assert!(gz.status.success());
    std::fs::write(&text, &gz.stdout).unwrap();
    let dnssec = Command::new("dnssec-verify")
        .args(["-o", zone, text.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        dnssec.status.success(),
        "{step}: dnssec-verify refused {zone}:\n{}{}",
        String::from_utf8_lossy(&dnssec.stdout),
        String::from_utf8_lossy(&dnssec.stderr)
    );
    let ldns = Command::new("ldns-verify-zone")
        .arg(text.to_str().unwrap())
        .output()
        .unwrap();
    assert!(
        ldns.status.success(),
        "{step}: ldns-verify-zone refused {zone}:\n{}{}",
        String::from_utf8_lossy(&ldns.stdout),
        String::from_utf8_lossy(&ldns.stderr)
    );
    // The journal replays to exactly this zone (the command fails otherwise).
    registry.cli(&["audit"]);
    String::from_utf8(gz.stdout).unwrap()
}

/// How many records of a type a zone file holds.
fn count(text: &str, rtype: &str) -> usize {
    text.lines()
        .filter(|l| l.split_whitespace().nth(3) == Some(rtype))
        .count()
}

#[test]
fn a_signed_registry_publishes_zones_that_validate_at_every_serial() {
    let (mut registry, keys) = signed_registry("", &["tld", "name"], false);
    registry.start();
    let srrp = |header: &str, attributes: &[(&str, &str)]| {
        let response = registry.as_registrar(1001, header, attributes);
        assert_eq!(
            response.code.number(),
            200,
            "{header} {attributes:?}: {response:?}"
        );
    };
    let create = |name: &str, ds: Option<&str>, glue: bool| {
        let ns1 = format!("ns1.{name}");
        let mut attributes = vec![("domain-name", name), ("domain-auth", "x-42")];
        match glue {
            true => attributes.extend([("ns1-name", ns1.as_str()), ("ns1-address", "192.0.2.9")]),
            false => attributes.push(("ns1-name", "ns.example.net")),
        }
        attributes.push(("ns2-name", "ns.example.org"));
        if let Some(ds) = ds {
            attributes.push(("ds", ds));
        }
        srrp("CREATE DOMAIN", &attributes);
    };
    // Domains before signing is on: secure and insecure, with glue, and shared
    // second-level labels in the level-3 zone (empty non-terminals).
    create("before.tld", None, false);
    create("secure.tld", Some(DS), true);
    create("john.smith.name", Some(DS), false);
    create("jane.smith.name", None, false);
    for zone in ["tld", "name"] {
        let out = registry.cli(&["dnssec", "on", zone]);
        assert!(out.contains("signed (nsec3-opt-out)"), "{out}");
        let text = verify(&registry, zone, "signing turned on");
        assert_eq!(count(&text, "NSEC3PARAM"), 1, "{text}");
        assert_eq!(count(&text, "DNSKEY"), 2, "{text}");
    }
    let status = registry.cli(&["dnssec", "status", "tld"]);
    assert!(
        status.contains("KSK ECDSAP256SHA256") && status.contains("DS for the parent"),
        "{status}"
    );

    create("a.tld", Some(DS), false);
    create("b.tld", None, true);
    create("mary.jones.name", Some(DS), true);
    let text = verify(&registry, "tld", "registrations");
    // Opt-out: the apex, its name servers a.nic and b.nic with their empty non-terminal
    // nic, and the two signed delegations; the unsigned ones are left out.
    assert_eq!(count(&text, "NSEC3"), 6, "{text}");
    verify(&registry, "name", "registrations");

    srrp("SET DS", &[("domain-name", "b.tld"), ("ds", DS2)]);
    srrp("SET DS", &[("domain-name", "a.tld"), ("ds", "")]);
    verify(&registry, "tld", "DS changes");

    srrp("DELETE DOMAIN", &[("domain-name", "secure.tld")]);
    srrp("DELETE DOMAIN", &[("domain-name", "john.smith.name")]);
    srrp("DELETE DOMAIN", &[("domain-name", "mary.jones.name")]);
    verify(&registry, "tld", "deletions");
    verify(
        &registry,
        "name",
        "deletions (the empty non-terminals gone with their names)",
    );

    // A new NSEC zone, and back: the policy changed signs the zone whole.
    registry.cli(&["dnssec", "on", "name", "--denial", "nsec"]);
    create("paul.smith.name", Some(DS), false);
    let text = verify(&registry, "name", "NSEC");
    assert!(
        count(&text, "NSEC") >= 4 && count(&text, "NSEC3") == 0,
        "{text}"
    );

    // A ZSK rollover by the keys' timing: the successor pre-published, then signing.
    let now = ops::now() as u64;
    keygen(
        &keys,
        "tld",
        ZONE_KEY,
        &Timing {
            publish: Some(now - 10),
            activate: Some(now + 3),
            ..Timing::default()
        },
    );
    create("c.tld", Some(DS), false);
    verify(&registry, "tld", "a ZSK pre-published");
    std::thread::sleep(std::time::Duration::from_secs(4));
    create("d.tld", None, false);
    verify(&registry, "tld", "two ZSKs signing");

    // An algorithm rollover, 13 to 15: Ed25519 keys published and signing, then the ECDSA
    // keys gone. Each step signs the zone whole (every RRset by each algorithm of the DNSKEY
    // set, RFC 4035 §2.2, which dnssec-verify checks).
    let algorithms = |text: &str, owner: &str| -> Vec<String> {
        let mut found: Vec<String> = rrsigs(text, owner, "DS")
            .iter()
            .map(|l| l.split_whitespace().nth(5).unwrap().to_owned())
            .collect();
        found.sort();
        found.dedup();
        found
    };
    let ecdsa: Vec<std::path::PathBuf> = std::fs::read_dir(&keys)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("Ktld.+013+"))
        .collect();
    for flags in [SECURE_ENTRY_POINT, ZONE_KEY] {
        keygen_with(Algorithm::Ed25519, &keys, "tld", flags, &Timing::default());
    }
    std::thread::sleep(std::time::Duration::from_millis(1100));
    create("e.tld", None, false);
    let text = verify(&registry, "tld", "an algorithm rollover: both algorithms");
    assert_eq!(algorithms(&text, "b.tld."), ["13", "15"], "{text}");
    for path in ecdsa {
        std::fs::remove_file(path).unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(1100));
    create("f.tld", None, false);
    let text = verify(&registry, "tld", "an algorithm rollover: Ed25519 alone");
    assert_eq!(algorithms(&text, "b.tld."), ["15"], "{text}");
    assert_eq!(count(&text, "DNSKEY"), 2, "{text}");

    registry.cli(&["dnssec", "off", "name"]);
    let out = registry.path("zone-files");
    registry.cli(&["report", "zone-file", "name", "-o", out.to_str().unwrap()]);
    let gz = Command::new("gzip")
        .args(["-dc", out.join("name.zone.gz").to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8(gz.stdout).unwrap();
    assert_eq!(
        count(&text, "RRSIG") + count(&text, "NSEC") + count(&text, "DNSKEY"),
        0,
        "{text}"
    );
    assert!(count(&text, "NS") > 2, "{text}");
    registry.cli(&["audit"]);
}

/// The RRSIGs of an owner and type in a zone file.
fn rrsigs(text: &str, owner: &str, covered: &str) -> Vec<String> {
    text.lines()
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 4 && f[0] == owner && f[3] == "RRSIG" && f[4] == covered
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn signatures_are_renewed_between_batches_and_a_zone_without_keys_refuses_writes() {
    // Every signature counts as about to expire (refresh 20 days, validity 14): the commit
    // thread renews them at each sweep, every second.
    let (mut registry, keys) =
        signed_registry("validity_days = 14\nrefresh_days = 20\n", &["tld"], true);
    registry.cli(&["dnssec", "on", "tld"]);
    registry.start();
    let create = |name: &str| {
        registry.as_registrar(
            1001,
            "CREATE DOMAIN",
            &[
                ("domain-name", name),
                ("ns1-name", "ns.example.net"),
                ("ns2-name", "ns.example.org"),
                ("ds", DS),
            ],
        )
    };
    let response = create("secure.tld");
    assert_eq!(response.code.number(), 200, "{response:?}");
    let first = verify(&registry, "tld", "a signed delegation");
    let before = rrsigs(&first, "secure.tld.", "DS");
    assert_eq!(before.len(), 1, "{first}");
    // No registrar writes; the sweep renews (a new signature over the same DS).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let now = verify(&registry, "tld", "signatures renewed by the commit thread");
        let after = rrsigs(&now, "secure.tld.", "DS");
        if after.len() == 1 && after != before {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never renewed: {after:?}"
        );
    }
    // The keys gone (an HSM unplugged): writes to the signed zone are refused with a
    // temporary error, nothing unsigned is published, and the failure is counted.
    let hidden = registry.path("keys/hidden");
    std::fs::rename(&keys, &hidden).unwrap();
    // The commit thread looks at the keys folder again at most a second after it last did:
    // until then it signs with the keys it holds.
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let response = create("refused.tld");
    assert_ne!(response.code.number(), 200, "{response:?}");
    let metrics = registry.metrics();
    let failures: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("control_plane_dnssec_signing_failures_total "))
        .unwrap_or_else(|| panic!("{metrics}"))
        .trim()
        .parse()
        .unwrap();
    assert!(failures >= 1, "{metrics}");
    // The keys back: writes go through again, signed.
    std::fs::rename(&hidden, &keys).unwrap();
    let response = create("accepted.tld");
    assert_eq!(response.code.number(), 200, "{response:?}");
    let text = verify(&registry, "tld", "keys back");
    assert_eq!(rrsigs(&text, "accepted.tld.", "DS").len(), 1, "{text}");
    assert!(!text.contains("refused.tld."), "{text}");
}

/// Registrars create signed delegations while signing is turned on over 6,000 domains
/// (NSEC3 without opt-out: some 12,600 DNSSEC records, stored in three transactions), and
/// `dnssec on` is killed (kill -9) at different points of its steps, then run to the end
/// with the writes still streaming; then the server is killed under signed creates, twice.
/// After each kill the zone passes the publication checks (every signature verifies, the
/// chain is whole) and the journal replays to exactly the database: a kill leaves the zone
/// unsigned as published, never half signed, and the signing that completes catches up with
/// every create made meanwhile.
#[test]
fn kill_9_while_signing_leaves_a_zone_that_validates() {
    let (mut registry, _) = signed_registry("", &["tld"], false);
    let mut lines = String::new();
    for n in 0..6_000 {
        let ds = match n % 20 {
            7 => format!(" ds=\"{} 13 2 {:064X}\"", n % 65_536, n),
            _ => String::new(),
        };
        lines.push_str(&format!(
            "{} CREATE DOMAIN domain-name=d{n}.tld ns1-name=ns1.p{}.example ns2-name=ns2.p{}.example{ds}\n",
            1001 + n % 2,
            n % 500,
            n % 500
        ));
    }
    std::fs::write(registry.path("lines.txt"), lines).unwrap();
    registry.cli(&["registrar", "credit", "1001", "100000000"]);
    registry.cli(&["registrar", "credit", "1002", "100000000"]);
    registry.cli(&["import", "lines.txt"]);
    // Rows of a table (and a condition).
    let count = |registry: &Registry, rows: &str| -> i64 {
        let conn = registry.database();
        conn.query_row(&format!("SELECT COUNT(*) FROM {rows}"), [], |r| r.get(0))
            .unwrap()
    };
    // The serial the records of a signing being turned on sign: a new one with each attempt,
    // as registrars write.
    let building = |registry: &Registry| -> Option<u32> {
        let conn = registry.database();
        conn.query_row("SELECT serial FROM dnssec_building", [], |r| r.get(0))
            .ok()
    };
    let check = |registry: &Registry, what: &str| {
        let out = registry.path("zone-files");
        // The publication checks verify every signature; the command fails otherwise.
        registry.cli(&["report", "zone-file", "tld", "-o", out.to_str().unwrap()]);
        registry.cli(&["audit"]);
        eprintln!("{what}: checked");
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Registrars create signed delegations until told to stop, each a create every 50 ms:
    // busy, not saturating (a commit thread that never lets go of the write lock starves
    // every other writer, SQLite's lock waits in no queue).
    let writers = |registry: &Registry, round: u64| {
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for client in 0..4u64 {
            let (address, config) = (registry.address, registry.client.clone());
            let stop = stop.clone();
            tasks.push(runtime.spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let name = format!("k{round}-{client}-{n}.tld");
                    n += 1;
                    let ds = format!("{} 13 2 {:064X}", n % 65_536, n);
                    let _ = crate::fixture::send(
                        address,
                        config.clone(),
                        "CREATE DOMAIN",
                        &[
                            ("registrar-id", "1001"),
                            ("registrar-auth", crate::fixture::password(1001)),
                            ("domain-name", &name),
                            ("ns1-name", "ns1.example.com"),
                            ("ns2-name", "ns2.example.com"),
                            ("ds", &ds),
                        ],
                    )
                    .await;
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }));
        }
        (stop, tasks)
    };
    let dir = registry.path("");
    let dnssec_on = || {
        Command::new(crate::fixture::BIN)
            .current_dir(&dir)
            .args(["-c", "cp.toml", "--operator", "tester"])
            .args(["dnssec", "on", "tld", "--denial", "nsec3"])
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("dnssec-on.log")).unwrap())
            .spawn()
            .unwrap()
    };
    let failed = || std::fs::read_to_string(dir.join("dnssec-on.log")).unwrap();
    registry.start();
    let (stop, tasks) = writers(&registry, 9);
    let (mut killed, mut mid_way) = (0, 0);
    // Each attempt is killed a while after its first records were stored: while it stores
    // the rest, or catches up, or (the longest wait) after it finished.
    for (attempt, wait) in [0u64, 150, 600, 5_000].into_iter().enumerate() {
        let started = std::time::Instant::now();
        let mut child = dnssec_on();
        let before = building(&registry);
        while child.try_wait().unwrap().is_none() && building(&registry) == before {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        std::thread::sleep(std::time::Duration::from_millis(wait));
        match child.try_wait().unwrap() {
            Some(status) => assert!(status.success(), "dnssec on: {}", failed()),
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                killed += 1;
            }
        }
        let (on, building) = (
            count(&registry, "dnssec_zones") > 0,
            count(&registry, "dnssec_building") > 0,
        );
        mid_way += building as u32;
        check(
            &registry,
            &format!(
                "dnssec on, attempt {attempt}, after {:?} (signed: {on}, stopped mid-way: {building})",
                started.elapsed()
            ),
        );
        if on {
            break;
        }
    }
    assert!(killed > 0, "no attempt was killed");
    assert!(
        mid_way > 0,
        "no kill came between the steps of turning signing on"
    );
    if count(&registry, "dnssec_zones") == 0 {
        assert!(
            dnssec_on().wait().unwrap().success(),
            "dnssec on: {}",
            failed()
        );
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        runtime.block_on(task).unwrap();
    }
    assert_eq!(count(&registry, "dnssec_building"), 0);
    check(&registry, "signed while registrars wrote");
    let during = count(&registry, "domains WHERE name LIKE 'k9-%'");
    assert!(
        during > 0,
        "registrars' creates went through while signing was turned on"
    );
    // Registrars create signed delegations; the server dies under them, twice.
    for round in 0..2u64 {
        registry.kill();
        registry.start();
        let (stop, tasks) = writers(&registry, round);
        std::thread::sleep(std::time::Duration::from_millis(400 + round * 150));
        registry.kill();
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            runtime.block_on(task).unwrap();
        }
        check(&registry, &format!("serve killed, round {round}"));
    }
    let created = count(&registry, "domains WHERE name LIKE 'k0-%'");
    assert!(created > 0, "the registrars' creates went through");
}

/// The keys' timing is followed with no registrar writing: a KSK rollover by double DS
/// (`dnssec rollover-ksk`: the successor's DS printed first, the DNSKEY set switching at the
/// time set, with the new key's CDS) and a ZSK rollover by pre-publication (the new ZSK
/// published, then signing: every signature of the old one replaced, then its DNSKEY gone).
/// The commit thread publishes each step; the zone verifies at each.
#[test]
fn keys_roll_by_their_timing_with_no_registrar_writing() {
    let (mut registry, keys) = signed_registry("", &["tld"], true);
    registry.cli(&["dnssec", "on", "tld"]);
    registry.start();
    let response = registry.as_registrar(
        1001,
        "CREATE DOMAIN",
        &[
            ("domain-name", "secure.tld"),
            ("ns1-name", "ns.example.net"),
            ("ns2-name", "ns.example.org"),
            ("ds", DS),
        ],
    );
    assert_eq!(response.code.number(), 200, "{response:?}");
    let tags = |text: &str, covered: &str| -> Vec<String> {
        let mut tags: Vec<String> = rrsigs(text, "tld.", covered)
            .iter()
            .chain(rrsigs(text, "secure.tld.", covered).iter())
            .map(|l| l.split_whitespace().nth(10).unwrap().to_owned())
            .collect();
        tags.sort();
        tags.dedup();
        tags
    };
    let first = verify(&registry, "tld", "signed");
    let (old_ksk, old_zsk) = (tags(&first, "DNSKEY"), tags(&first, "DS"));
    let wait = |what: &str, done: &dyn Fn(&str) -> bool| -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let text = verify(&registry, "tld", what);
            if done(&text) {
                return text;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{what}: never\n{text}"
            );
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    };

    // The KSK, by double DS: the successor's DS first, the switch three seconds on.
    let out = registry.cli(&["dnssec", "rollover-ksk", "tld", "--switch-in", "3"]);
    assert!(out.contains("give the parent its DS now: tld."), "{out}");
    let status = registry.cli(&["dnssec", "status", "tld"]);
    assert_eq!(status.matches("DS for the parent").count(), 2, "{status}");
    assert!(status.contains("generated (not yet published)"), "{status}");
    let switched = wait("the KSK switched", &|text| tags(text, "DNSKEY") != old_ksk);
    assert_eq!(count(&switched, "DNSKEY"), 2, "{switched}");
    assert_eq!(count(&switched, "CDS"), 1, "{switched}");
    assert_eq!(count(&switched, "CDNSKEY"), 1, "{switched}");

    // The ZSK, by pre-publication: the successor published now and signing in three
    // seconds, the current one retired then and removed three seconds later.
    let now = ops::now() as u64;
    keygen(
        &keys,
        "tld",
        ZONE_KEY,
        &Timing {
            publish: Some(now),
            activate: Some(now + 3),
            ..Timing::default()
        },
    );
    let current = private_key_file(&keys, &old_zsk[0]);
    zonefiles::sign::bind::set_timing(
        &current,
        &Timing {
            inactive: Some(now + 3),
            delete: Some(now + 6),
            ..Timing::default()
        },
    )
    .unwrap();
    wait("the new ZSK published", &|text| count(text, "DNSKEY") == 3);
    let resigned = wait("the new ZSK signing", &|text| {
        !tags(text, "DS").is_empty() && tags(text, "DS") != old_zsk
    });
    assert_eq!(tags(&resigned, "SOA"), tags(&resigned, "DS"), "{resigned}");
    wait("the old ZSK removed", &|text| count(text, "DNSKEY") == 2);
}
