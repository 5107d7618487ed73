//! DNSSEC signing checked by tools nobody here wrote: BIND's `dnssec-verify` and ldns's
//! `ldns-verify-zone` accept every zone `zonefiles sign` writes (NSEC3 with and without
//! opt-out, NSEC, ECDSA P-256 and Ed25519, KSK + ZSK and CSK); BIND's `dnssec-signzone`, given
//! the same zone and keys, builds the very same NSEC3 and NSEC chains; and keys made by BIND's
//! `dnssec-keygen` sign here.

use std::path::Path;
use std::process::Command;

use zonefiles::generate::{self, Options, Shape};

use crate::support::have_tool;

const BIN: &str = env!("CARGO_BIN_EXE_zonefiles");

fn run(program: &str, dir: &Path, args: &[&str]) -> String {
    let out = Command::new(program)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{program} {args:?}: {text}");
    text
}

/// The chain's records (`NSEC3` or `NSEC`) of a signed zone, in ldns's canonical text.
fn chain(dir: &Path, file: &str, rtype: &str) -> Vec<String> {
    let text = run("ldns-read-zone", dir, &["-c", file]);
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| l.split_whitespace().nth(3) == Some(rtype))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    lines
}

/// Writes a generated TLD zone of `delegations` in `shape` to `file` in `dir`.
fn generated(dir: &Path, file: &str, delegations: u64, shape: Shape) {
    let options = Options {
        delegations,
        shape,
        ..Options::default()
    };
    let mut text = Vec::new();
    generate::generate(&options, &mut text).unwrap();
    std::fs::write(dir.join(file), text).unwrap();
}

fn verified(dir: &Path, file: &str, csk: bool) {
    let mut args = vec!["-o", "tld"];
    if csk {
        // A CSK's signatures count as a ZSK's.
        args.push("-z");
    }
    args.push(file);
    let text = run("dnssec-verify", dir, &args);
    assert!(text.contains("Zone fully signed"), "{text}");
    let text = run("ldns-verify-zone", dir, &[file]);
    assert!(text.contains("Zone is verified and complete"), "{text}");
}

#[test]
fn bind_and_ldns_verify_our_signed_zones_and_bind_builds_the_same_chains() {
    if ![
        "dnssec-verify",
        "dnssec-signzone",
        "dnssec-keygen",
        "ldns-verify-zone",
        "ldns-read-zone",
    ]
    .iter()
    .all(|t| have_tool(t))
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (shape, file) in [
        (Shape::Glue, "glue.zone"),
        (Shape::Providers, "providers.zone"),
    ] {
        generated(d, file, 3_000, shape);
    }
    let ksk = run(BIN, d, &["keygen", "tld", "--ksk"]);
    let zsk = run(BIN, d, &["keygen", "tld"]);
    let (ksk, zsk) = (
        format!("{}.key", ksk.trim()),
        format!("{}.private", zsk.trim()),
    );
    let csk = run(
        BIN,
        d,
        &["keygen", "tld", "--ksk", "--algorithm", "15", "-o", "ed"],
    );
    let csk = format!("{}.key", csk.trim());

    for zone in ["glue.zone", "providers.zone"] {
        for (mode, extra) in [
            ("opt-out", &[][..]),
            ("nsec3", &["--no-opt-out"][..]),
            ("nsec", &["--nsec"][..]),
        ] {
            let out = format!("{zone}.{mode}.signed");
            let mut args = vec!["sign", zone, "--key", &ksk, "--key", &zsk, "-o", &out];
            args.extend_from_slice(extra);
            run(BIN, d, &args);
            verified(d, &out, false);
        }
        let out = format!("{zone}.csk.signed");
        run(BIN, d, &["sign", zone, "--key", &csk, "-o", &out]);
        verified(d, &out, true);
    }

    // BIND's signer, given the same zone and keys (from the key folder, `-S`), makes the same
    // NSEC3 chain (opt-out, no salt, no extra iteration) and the same NSEC chain: owners, TTLs,
    // flags, next names and type bitmaps.
    for (ours, bind_args, rtype) in [
        (
            "glue.zone.opt-out.signed",
            &["-3", "-", "-H", "0", "-A"][..],
            "NSEC3",
        ),
        ("glue.zone.nsec.signed", &[][..], "NSEC"),
    ] {
        let mut args = vec!["-S", "-K", ".", "-o", "tld", "-f", "bind.signed"];
        args.extend_from_slice(bind_args);
        args.push("glue.zone");
        run("dnssec-signzone", d, &args);
        let (bind, ours) = (chain(d, "bind.signed", rtype), chain(d, ours, rtype));
        assert!(ours.len() > 100, "{rtype}: {}", ours.len());
        assert_eq!(bind, ours, "{rtype} chains differ");
    }

    // The DS for the parent is the one BIND's dnssec-dsfromkey computes from the same key.
    assert_eq!(
        run(BIN, d, &["ds", "tld"]).trim(),
        run("dnssec-dsfromkey", d, &["-2", &ksk]).trim()
    );

    // A key pair made by BIND's dnssec-keygen signs here.
    let bind_key = run(
        "dnssec-keygen",
        d,
        &[
            "-q",
            "-a",
            "ECDSAP256SHA256",
            "-f",
            "KSK",
            "-K",
            "ed",
            "tld",
        ],
    );
    let bind_key = format!("ed/{}.private", bind_key.trim());
    run(
        BIN,
        d,
        &[
            "sign",
            "glue.zone",
            "--key",
            &bind_key,
            "-o",
            "bind-key.signed",
        ],
    );
    verified(d, "bind-key.signed", true);
}

#[test]
fn keys_made_in_a_softhsm_token_sign_a_zone_that_bind_and_ldns_verify() {
    if !["softhsm2-util", "dnssec-verify", "ldns-verify-zone"]
        .iter()
        .all(|t| have_tool(t))
    {
        return;
    }
    let module = [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    ]
    .into_iter()
    .find(|m| Path::new(m).exists())
    .expect("softhsm2's PKCS#11 module");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A token of its own, in the test's folder.
    std::fs::create_dir(d.join("tokens")).unwrap();
    let conf = d.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}/tokens\nobjectstore.backend = file\n",
            d.display()
        ),
    )
    .unwrap();
    let with_hsm = |program: &str, args: &[&str]| {
        Command::new(program)
            .current_dir(d)
            .env("SOFTHSM2_CONF", &conf)
            .args(args)
            .output()
            .unwrap()
    };
    let init = with_hsm(
        "softhsm2-util",
        &[
            "--init-token",
            "--free",
            "--label",
            "dnssec",
            "--pin",
            "1234",
            "--so-pin",
            "5678",
        ],
    );
    assert!(init.status.success(), "{init:?}");
    std::fs::write(d.join("pin"), "1234\n").unwrap();
    std::fs::write(d.join("wrong-pin"), "9999\n").unwrap();
    let uri = |object: &str, pin: &str| {
        format!(
            "pkcs11:token=dnssec;object={object}?module-path={module}&pin-source={}/{pin}",
            d.display()
        )
    };
    let mut bases = Vec::new();
    for (object, ksk) in [("tld-ksk", true), ("tld-zsk", false)] {
        let mut args = vec!["keygen", "tld", "--pkcs11"];
        let uri = uri(object, "pin");
        args.push(&uri);
        if ksk {
            args.push("--ksk");
        }
        let out = with_hsm(BIN, &args);
        assert!(out.status.success(), "{out:?}");
        let base = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        // The private file names the key in the token; no key material is in it.
        let private = std::fs::read_to_string(d.join(format!("{base}.private"))).unwrap();
        assert!(
            private.contains("Label: pkcs11:token=dnssec") && !private.contains("PrivateKey"),
            "{private}"
        );
        bases.push(base);
    }
    generated(d, "glue.zone", 2_000, Shape::Glue);
    let (ksk, zsk) = (format!("{}.key", bases[0]), format!("{}.key", bases[1]));
    let out = with_hsm(
        BIN,
        &[
            "sign",
            "glue.zone",
            "--key",
            &ksk,
            "--key",
            &zsk,
            "-o",
            "hsm.signed",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    verified(d, "hsm.signed", false);

    // A token that refuses the PIN (a login holds for the whole token, so both keys name the
    // wrong one): nothing is signed and nothing written, and the error says why.
    for base in &bases {
        let private = d.join(format!("{base}.private"));
        let text = std::fs::read_to_string(&private).unwrap();
        std::fs::write(&private, text.replace("/pin\n", "/wrong-pin\n")).unwrap();
    }
    let out = with_hsm(
        BIN,
        &[
            "sign",
            "glue.zone",
            "--key",
            &ksk,
            "--key",
            &zsk,
            "-o",
            "refused.signed",
        ],
    );
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("logging in to \"dnssec\""), "{said}");
    assert!(!d.join("refused.signed").exists());
}

#[test]
fn key_timing_set_by_bind_s_dnssec_settime_publishes_and_signs_as_bind_does() {
    if ![
        "dnssec-settime",
        "dnssec-signzone",
        "dnssec-verify",
        "ldns-read-zone",
    ]
    .iter()
    .all(|t| have_tool(t))
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    generated(d, "glue.zone", 1_000, Shape::Glue);
    let keygen = |ksk: bool| {
        let mut args = vec!["keygen", "tld"];
        if ksk {
            args.push("--ksk");
        }
        run(BIN, d, &args)
            .trim()
            .trim_start_matches("./")
            .to_owned()
    };
    // A ZSK rollover by pre-publication, midway: the old ZSK still signs and goes inactive in a
    // week; the new one is published, to sign from next week; an older one is retired
    // (inactive, its DNSKEY kept until tomorrow); a fourth is already deleted.
    let (ksk, old, new, retired, gone) = (
        keygen(true),
        keygen(false),
        keygen(false),
        keygen(false),
        keygen(false),
    );
    for (key, times) in [
        // The KSK's DS is asked of the parent: CDS and CDNSKEY.
        (&ksk, &["-P", "sync", "now"][..]),
        (&old, &["-I", "+7d"][..]),
        (&new, &["-P", "now", "-A", "+7d"][..]),
        (&retired, &["-A", "-30d", "-I", "-1d", "-D", "+1d"][..]),
        (&gone, &["-A", "-60d", "-I", "-30d", "-D", "-1d"][..]),
    ] {
        let mut args = times.to_vec();
        args.extend(["-K", ".", key.as_str()]);
        run("dnssec-settime", d, &args);
    }
    let keys: Vec<String> = [&ksk, &old, &new, &retired, &gone]
        .iter()
        .flat_map(|k| ["--key".to_owned(), format!("{k}.key")])
        .collect();
    let mut args = vec!["sign", "glue.zone", "-o", "ours.signed"];
    args.extend(keys.iter().map(String::as_str));
    run(BIN, d, &args);
    verified(d, "ours.signed", false);
    run(
        "dnssec-signzone",
        d,
        &[
            "-S",
            "-x",
            "-T",
            "3600",
            "-K",
            ".",
            "-3",
            "-",
            "-H",
            "0",
            "-A",
            "-o",
            "tld",
            "-f",
            "bind.signed",
            "glue.zone",
        ],
    );

    // The DNSKEY, CDS and CDNSKEY sets (TTLs included), and which keys sign what, are BIND's.
    let tag = |key: &str| {
        key.rsplit('+')
            .next()
            .unwrap()
            .trim_start_matches('0')
            .to_owned()
    };
    let summary = |file: &str| -> (Vec<String>, Vec<String>) {
        let text = run("ldns-read-zone", d, &["-c", file]);
        let mut dnskeys = Vec::new();
        let mut signers = std::collections::BTreeSet::new();
        for line in text.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.get(3) {
                Some(&kind @ ("DNSKEY" | "CDS" | "CDNSKEY")) => dnskeys.push(format!(
                    "{kind} {}",
                    fields[1..3]
                        .iter()
                        .chain(&fields[4..])
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" ")
                )),
                Some(&"RRSIG") => {
                    signers.insert(format!("{} {}", fields[4], fields[10]));
                }
                _ => {}
            }
        }
        dnskeys.sort();
        (dnskeys, signers.into_iter().collect())
    };
    let (our_keys, our_signers) = summary("ours.signed");
    let (bind_keys, bind_signers) = summary("bind.signed");
    assert_eq!(
        our_keys.len(),
        6,
        "KSK, old, new and retired ZSKs, the KSK's CDS and CDNSKEY: {our_keys:?}"
    );
    assert_eq!(our_keys, bind_keys);
    assert_eq!(our_signers, bind_signers);
    assert!(
        our_signers.contains(&format!("DNSKEY {}", tag(&ksk))),
        "{our_signers:?}"
    );
    assert!(
        our_signers.contains(&format!("SOA {}", tag(&old))),
        "{our_signers:?}"
    );
    for idle in [&new, &retired, &gone] {
        assert!(
            !our_signers
                .iter()
                .any(|s| s.ends_with(&format!(" {}", tag(idle)))),
            "{idle}: {our_signers:?}"
        );
    }
}

#[test]
fn zsks_roll_through_a_scripted_year_and_every_signed_zone_verifies_at_its_time() {
    if !have_tool("ldns-verify-zone") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    generated(d, "tld.zone", 300, Shape::Providers);
    std::fs::create_dir(d.join("keys")).unwrap();
    run(BIN, d, &["keygen", "tld", "--ksk", "-o", "keys"]);
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60;
    let mut published_counts = std::collections::BTreeSet::new();
    let mut zsks_seen = std::collections::BTreeSet::new();
    // Every 5 days for a year, and at each rollover's edges: plan, sign, verify at that time.
    let mut times: Vec<u64> = (0..73).map(|k| start + k * 5 * 86_400).collect();
    for rollover in 1..4u64 {
        let end = start + rollover * 90 * 86_400;
        times.extend([
            end - 7 * 86_400 - 3600,
            end - 1,
            end + 1,
            end + 26 * 3600 + 7201,
        ]);
    }
    times.sort();
    for at in times {
        let stamp = zonefiles::sign::bind::format_bind_time(at);
        run(BIN, d, &["rollover", "tld", "-K", "keys", "--at", &stamp]);
        let keys: Vec<String> = std::fs::read_dir(d.join("keys"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "key"))
            .flat_map(|p| ["--key".to_owned(), p.display().to_string()])
            .collect();
        let mut args = vec!["sign", "tld.zone", "--at", &stamp, "-o", "signed.zone"];
        args.extend(keys.iter().map(String::as_str));
        run(BIN, d, &args);
        let verified = run("ldns-verify-zone", d, &["-t", &stamp, "signed.zone"]);
        assert!(
            verified.contains("Zone is verified and complete"),
            "at {stamp}: {verified}"
        );
        let signed = std::fs::read_to_string(d.join("signed.zone")).unwrap();
        let dnskeys = signed.lines().filter(|l| l.contains("\tDNSKEY\t")).count();
        published_counts.insert(dnskeys);
        for line in signed.lines().filter(|l| l.contains("\tRRSIG\tSOA ")) {
            zsks_seen.insert(line.split_whitespace().nth(10).unwrap().to_owned());
        }
    }
    // A rollover every 90 days: five ZSKs signed in turn in the year; the DNSKEY set held the
    // KSK and one ZSK, and two ZSKs while one was pre-published or retired.
    assert_eq!(zsks_seen.len(), 5, "{zsks_seen:?}");
    assert_eq!(published_counts, [2, 3].into(), "{published_counts:?}");
}

/// Knot as a differential signer: `kzonesign`, given the same zone and our keys (imported into
/// its key database with `keymgr import-bind`), builds the very same NSEC3 chain, publishes the
/// same DNSKEY set (so one trust anchor serves both), and both signed zones pass BIND's
/// verifier; Knot's own verifier (`kzonesign -v`) accepts ours.
#[test]
fn knot_given_our_keys_signs_the_same_chain_and_verifies_our_zone() {
    if !["kzonesign", "keymgr", "dnssec-verify", "ldns-read-zone"]
        .iter()
        .all(|t| have_tool(t))
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    generated(d, "tld.zone", 3_000, Shape::Providers);
    std::fs::create_dir_all(d.join("keys")).unwrap();
    let ksk = run(BIN, d, &["keygen", "tld", "--ksk", "-o", "keys"]);
    let zsk = run(BIN, d, &["keygen", "tld", "-o", "keys"]);
    let knot_conf = |zone: &str| {
        format!(
            "database:\n    storage: {d}\n    kasp-db: {d}/kasp\n\
             policy:\n  - id: ours\n    manual: on\n    nsec3: on\n    nsec3-opt-out: on\n    \
             nsec3-iterations: 0\n    nsec3-salt-length: 0\n\
             zone:\n  - domain: tld\n    file: {d}/{zone}\n    dnssec-signing: on\n    dnssec-policy: ours\n",
            d = d.display()
        )
    };
    std::fs::write(d.join("knot.conf"), knot_conf("tld.zone")).unwrap();
    for key in [&ksk, &zsk] {
        run(
            "keymgr",
            d,
            &[
                "-c",
                "knot.conf",
                "tld",
                "import-bind",
                &format!("{}.private", key.trim()),
            ],
        );
    }
    std::fs::create_dir_all(d.join("knot")).unwrap();
    run("kzonesign", d, &["-c", "knot.conf", "-o", "knot", "tld"]);
    let (ksk, zsk) = (format!("{}.key", ksk.trim()), format!("{}.key", zsk.trim()));
    run(
        BIN,
        d,
        &[
            "sign",
            "tld.zone",
            "--key",
            &ksk,
            "--key",
            &zsk,
            "-o",
            "ours.signed",
        ],
    );
    for file in ["knot/tld.zone", "ours.signed"] {
        let text = run("dnssec-verify", d, &["-o", "tld", file]);
        assert!(text.contains("Zone fully signed"), "{file}: {text}");
    }
    let (knot, ours) = (
        chain(d, "knot/tld.zone", "NSEC3"),
        chain(d, "ours.signed", "NSEC3"),
    );
    assert!(ours.len() > 50, "{}", ours.len());
    // All but the TTLs, which are the signer's policy (Knot gives the DNSKEY set the SOA's
    // TTL; we give it the policy's DNSKEY TTL, 3600, as dnssec-signzone does).
    let no_ttl = |lines: Vec<String>| -> Vec<String> {
        lines
            .iter()
            .map(|l| {
                let mut f: Vec<&str> = l.split_whitespace().collect();
                f.remove(1);
                f.join(" ")
            })
            .collect()
    };
    assert_eq!(no_ttl(knot), no_ttl(ours), "NSEC3 chains differ");
    assert_eq!(
        no_ttl(chain(d, "knot/tld.zone", "DNSKEY")),
        no_ttl(chain(d, "ours.signed", "DNSKEY")),
        "DNSKEY sets differ"
    );
    // Knot's verifier on our signed zone.
    std::fs::write(d.join("knot.conf"), knot_conf("ours.signed")).unwrap();
    run("kzonesign", d, &["-c", "knot.conf", "-v", "tld"]);
}
