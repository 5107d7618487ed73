//! Full zone and WHOIS exports at any serial, with the publication checks; the images answer
//! as the registry says and pass BIND's zone checker.

use std::process::Command;

use control_plane::front::srrp::grammar::Code;
use zonefiles::{Find, Image, Name};

use crate::fixture::{Registry, expect};

fn name(text: &str) -> Name {
    text.parse().unwrap()
}

#[test]
fn exports_at_any_serial_with_publication_checks() {
    let mut registry = Registry::new("");
    registry.start();
    let r = &registry;
    for i in 0..20 {
        let domain = format!("d{i}.tld");
        let response = r.as_registrar(
            1001,
            "CREATE DOMAIN",
            &[
                ("domain-name", &domain),
                ("ns1-name", &format!("ns1.{domain}")),
                ("ns1-address", "192.0.2.7"),
                ("ns2-name", "ns.example.net"),
            ],
        );
        expect(&response, Code::Success);
    }
    let out = r.cli(&["export", "tld", "-o", "exports"]);
    let serial: u32 = out
        .split("at serial ")
        .nth(1)
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let image = Image::open(&r.path(&format!("exports/tld-{serial}.img"))).unwrap();
    image.verify().unwrap();
    assert!(
        matches!(
            image.find(&name("www.d7.tld.")).unwrap(),
            Find::Referral { .. }
        ),
        "d7.tld is delegated"
    );
    let whois = std::fs::read_to_string(r.path(&format!("exports/tld-{serial}.whois"))).unwrap();
    assert_eq!(
        whois.lines().filter(|l| l.contains("\"Domain\"")).count(),
        20
    );
    assert_eq!(
        whois
            .lines()
            .filter(|l| l.contains("\"Registrar\""))
            .count(),
        3
    );
    // A satellite's snapshot, streamed from the database (records sorted in runs on disk, the
    // domains read one at a time), holds the export's image byte for byte and its WHOIS
    // objects, line for line in another order.
    let mut db = r.database();
    let tx = db.transaction().unwrap();
    let zone = control_plane::store::Store::zones(&*tx)
        .unwrap()
        .into_iter()
        .find(|z| z.origin == "tld")
        .unwrap();
    let mut streamed = Vec::new();
    let written =
        control_plane::push::snapshot::write_current(&tx, &zone, &r.path("exports"), &mut streamed)
            .unwrap();
    assert_eq!(written.serial, serial);
    let exported = std::fs::read(r.path(&format!("exports/tld-{serial}.img"))).unwrap();
    assert_eq!(written.image_len as usize, exported.len());
    assert!(streamed[..exported.len()] == exported[..], "the same image");
    let mut lines: Vec<&str> = std::str::from_utf8(&streamed[exported.len()..])
        .unwrap()
        .lines()
        .collect();
    let mut expected: Vec<&str> = whois.lines().collect();
    lines.sort();
    expected.sort();
    assert_eq!(lines, expected);
    // The audit's digest, streamed the same way, is the one of the zone held whole.
    let whole = control_plane::push::snapshot::current(&tx, &zone).unwrap();
    assert_eq!(
        control_plane::push::snapshot::digest_current(&tx, &zone, &r.path("exports")).unwrap(),
        satellite_protocol::digest::of("tld", &whole.zone, whole.whois.values())
    );
    drop(tx);

    // BIND's checker agrees the zone is sound (when BIND's tools are installed, as test.sh does).
    let mut text = Vec::new();
    zonefiles::master::write_zone(&image.to_zone().unwrap(), &mut text).unwrap();
    std::fs::write(r.path("exports/tld.zone"), &text).unwrap();
    if let Ok(out) = Command::new("named-checkzone")
        .arg("tld")
        .arg(r.path("exports/tld.zone"))
        .output()
    {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    // An earlier serial: replayed from the journal, without the domains created after it.
    let early = serial - 15;
    r.cli(&[
        "export",
        "tld",
        "--serial",
        &early.to_string(),
        "-o",
        "exports",
    ]);
    let old = Image::open(&r.path(&format!("exports/tld-{early}.img"))).unwrap();
    assert_eq!(old.serial(), early);
    assert!(matches!(
        old.find(&name("www.d2.tld.")).unwrap(),
        Find::Referral { .. }
    ));
    assert!(!matches!(
        old.find(&name("www.d19.tld.")).unwrap(),
        Find::Referral { .. }
    ));

    // Deleting most domains makes the next export shrink past the ratio: refused, unless forced.
    for i in 0..15 {
        expect(
            &r.as_registrar(
                1001,
                "DELETE DOMAIN",
                &[("domain-name", &format!("d{i}.tld"))],
            ),
            Code::Success,
        );
    }
    let refused = Command::new(env!("CARGO_BIN_EXE_control-plane"))
        .current_dir(r.dir.path())
        .args(["-c", "cp.toml", "export", "tld", "-o", "exports"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("refusing to publish"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    r.cli(&["export", "tld", "-o", "exports", "--force"]);
    let audit = r.audit();
    assert!(audit.contains(", 0 problems"), "{audit}");
}

/// A signing-key rotation: changesets signed by the old key stay verifiable through
/// `previous_public_keys`; without it the audit reports them.
#[test]
fn signing_key_rotation() {
    let mut registry = Registry::new("");
    registry.start();
    expect(
        &registry.as_registrar(1001, "CREATE DOMAIN", &[("domain-name", "before.tld")]),
        Code::Success,
    );
    registry.kill();
    registry.cli(&["keygen", "--signing-only", "--dir", "keys2"]);
    let config = std::fs::read_to_string(registry.path("cp.toml")).unwrap();
    let rotated = config.replace(
        "signing_key = \"keys/signing.key\"",
        "signing_key = \"keys2/signing.key\"\nprevious_public_keys = [\"keys/signing.pub\"]",
    );
    std::fs::write(registry.path("cp.toml"), &rotated).unwrap();
    registry.start();
    expect(
        &registry.as_registrar(1001, "CREATE DOMAIN", &[("domain-name", "after.tld")]),
        Code::Success,
    );
    let journal = registry.cli(&["journal"]);
    assert!(journal.contains("signed by another key"), "{journal}");
    assert!(
        journal.lines().last().unwrap().contains("signature ok"),
        "{journal}"
    );
    let audit = registry.audit();
    assert!(audit.contains(", 0 problems"), "{audit}");
    std::fs::write(
        registry.path("cp.toml"),
        rotated.replace("previous_public_keys = [\"keys/signing.pub\"]", ""),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_control-plane"))
        .current_dir(registry.dir.path())
        .args(["-c", "cp.toml", "audit"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("not signed by a known key"));
}
