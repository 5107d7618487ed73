//! Escrow deposits checked by tools nobody here wrote — `gpg` decrypts every part and verifies
//! every signature with keys the test made (the escrow agent's by `gpg` itself), `xmllint`
//! validates every deposit and report against RFC 8909's and RFC 9022's schemas, BIND checks the
//! signed daily zone file — and a
//! registry restored from a full deposit and a differential one that publishes what the
//! original did. Bad deposits (a changed byte, a missing signature, a missing differential, a
//! part cut short, the wrong key) are refused with the reason, and nothing is imported.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::fixture::{Registry, free_port};

const SCHEMAS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/escrow-schemas");

/// Runs a command; panics with its output unless it succeeds.
fn run(command: &mut Command) -> String {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// gpg in the GnuPG home `home`, unattended (no passphrase asked for).
fn gpg(home: &Path) -> Command {
    let mut command = Command::new("gpg");
    command.env("GNUPGHOME", home).args([
        "--batch",
        "--quiet",
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        "",
    ]);
    command
}

/// Asserts that gpg in `home` verifies the detached signature `signature` of `file`.
fn gpg_verifies(home: &Path, signature: &Path, file: &Path) {
    let verified = gpg(home)
        .args(["--status-fd", "1", "--verify"])
        .arg(signature)
        .arg(file)
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&verified.stdout);
    assert!(
        verified.status.success() && status.contains("[GNUPG:] GOODSIG"),
        "{}: {status}{}",
        file.display(),
        String::from_utf8_lossy(&verified.stderr)
    );
}

/// A GnuPG home holding the escrow agent's key pair, made by gpg (Ed25519 and Cv25519), with
/// its armored secret and public keys exported beside it.
fn agent_keys(dir: &Path) -> (PathBuf, PathBuf) {
    let home = dir.join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    let home_gpg = |args: &[&str]| run(gpg(&home).args(args));
    home_gpg(&[
        "--quick-gen-key",
        "Escrow Agent <agent@escrow.example>",
        "ed25519",
        "sign",
        "never",
    ]);
    let listing = home_gpg(&["--with-colons", "--list-keys", "agent@escrow.example"]);
    let fingerprint = listing
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .and_then(|l| l.split(':').find(|f| !f.is_empty()))
        .unwrap()
        .to_string();
    home_gpg(&["--quick-add-key", &fingerprint, "cv25519", "encr", "never"]);
    let secret = dir.join("agent.asc");
    let public = dir.join("agent.pub.asc");
    std::fs::write(
        &secret,
        home_gpg(&["--armor", "--export-secret-keys", &fingerprint]),
    )
    .unwrap();
    std::fs::write(&public, home_gpg(&["--armor", "--export", &fingerprint])).unwrap();
    (secret, public)
}

/// A deposit's parts, in order.
fn parts(folder: &Path) -> Vec<PathBuf> {
    let mut parts: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ryde"))
        .collect();
    parts.sort_by_key(|p| {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let n: usize = name
            .rsplit_once("_S")
            .unwrap()
            .1
            .split('_')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        n
    });
    parts
}

/// What gpg and xmllint say of a deposit folder: every part's signature verifies with the
/// registry's public key, the joined parts decrypt with the agent's key into a tarball of one
/// XML file, which validates; the report validates. Returns the XML.
fn check_with_real_tools(folder: &Path, home: &Path, work: &Path) -> String {
    let parts = parts(folder);
    for part in &parts {
        let signature = part.with_extension("sig");
        gpg_verifies(home, &signature, part);
    }
    let joined = work.join("joined.ryde");
    let mut bytes = Vec::new();
    for part in &parts {
        bytes.extend(std::fs::read(part).unwrap());
    }
    std::fs::write(&joined, bytes).unwrap();
    let tarball = work.join("deposit.tar");
    let _ = std::fs::remove_file(&tarball);
    run(gpg(home)
        .arg("--output")
        .arg(&tarball)
        .arg("--decrypt")
        .arg(&joined));
    let listing = run(Command::new("tar").arg("tf").arg(&tarball));
    let members: Vec<&str> = listing.lines().collect();
    assert_eq!(members.len(), 1, "{listing}");
    assert!(members[0].ends_with("_S1_R0.xml"), "{listing}");
    run(Command::new("tar")
        .arg("xf")
        .arg(&tarball)
        .arg("-C")
        .arg(work));
    let xml = work.join(members[0]);
    run(Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(Path::new(SCHEMAS).join("deposit.xsd"))
        .arg(&xml));
    let report = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("-report.xml"))
        .unwrap();
    run(Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(Path::new(SCHEMAS).join("rde-report.xsd"))
        .arg(&report));
    std::fs::read_to_string(xml).unwrap()
}

/// The last line of `escrow deposit`: the deposit's folder.
fn deposit(registry: &Registry, kind: &str) -> PathBuf {
    let out = registry.cli(&["escrow", "deposit", "tld", "--kind", kind]);
    registry.path(out.lines().last().unwrap())
}

/// Domains, host objects, transfers and registrars as a deposit carries them.
fn registration_data(registry: &Registry) -> Vec<String> {
    let db = registry.database();
    let queries = [
        "SELECT name, id, registrar, statuses, created, expires, updated, ds, deleted IS NOT NULL, redeemable, case_reason, case_reference, \
         (SELECT group_concat(name || '=' || addresses, ' ') FROM cluster_nameservers WHERE cluster = domains.cluster) FROM domains ORDER BY name",
        "SELECT name, id, registrar, creator, parent, created, updated, addresses FROM hosts ORDER BY name",
        "SELECT name, status, gaining, losing, requested, acted, expires FROM transfers ORDER BY name",
        "SELECT id, iana_id, name, whois_server, url, abuse_email, abuse_phone, active, updated FROM registrars ORDER BY id",
    ];
    let mut rows = Vec::new();
    for sql in queries {
        let mut statement = db.prepare(sql).unwrap();
        let columns = statement.column_count();
        let mut result = statement.query([]).unwrap();
        while let Some(row) = result.next().unwrap() {
            let fields: Vec<String> = (0..columns)
                .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                .collect();
            rows.push(fields.join(" | "));
        }
    }
    rows
}

fn epp_document(
    registry: &Registry,
    epp: std::net::SocketAddr,
    registrar: &str,
    password: &str,
    body: &str,
) {
    let file = registry.path("command.xml");
    std::fs::write(
        &file,
        format!(r#"<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command>{body}<clTRID>escrow-test</clTRID></command></epp>"#),
    )
    .unwrap();
    let out = registry.cli(&[
        "epp",
        "--server",
        &epp.to_string(),
        "--ca",
        "keys/srrp.crt",
        "--client",
        registrar,
        "--password",
        password,
        "command.xml",
    ]);
    assert!(out.contains("result code=\"1000\""), "{body}: {out}");
}

#[test]
fn deposits_pass_gpg_and_xmllint_and_restore_a_registry_that_publishes_the_same() {
    let epp = free_port();
    let mut original = Registry::new(&format!(
        "\n[epp]\nlisten = [\"{epp}\"]\n\n[escrow]\nfolder = \"escrow\"\nsigning_key = \"keys/escrow.asc\"\nagent_key = \"agent/agent.pub.asc\"\nbrda_key = \"keys/icann.pub.asc\"\nsplit_bytes = 8000\n"
    ));
    let agent_dir = original.path("agent");
    let (agent_secret, _) = agent_keys(&agent_dir);
    let home = agent_dir.join("gnupg");
    original.cli(&[
        "escrow",
        "keygen",
        "--user-id",
        "Registry <escrow@nic.tld>",
        "--out",
        "keys/escrow.asc",
    ]);
    // ICANN's key for the thin file, its secret half in the same gpg home for the check.
    original.cli(&[
        "escrow",
        "keygen",
        "--user-id",
        "ICANN BRDA",
        "--out",
        "keys/icann.asc",
    ]);
    run(gpg(&home)
        .arg("--import")
        .arg(original.path("keys/escrow.pub.asc"))
        .arg(original.path("keys/icann.asc")));
    original.cli(&[
        "zone",
        "grace",
        "tld",
        "--transfer-timeout-days",
        "5",
        "--redemption-days",
        "30",
    ]);
    original.cli(&["registrar", "credit", "1001", "100000000"]);
    original.cli(&["registrar", "credit", "1002", "100000000"]);

    // Thousands of domains, some with their name servers inside them (glue).
    let mut lines = String::new();
    for i in 0..3000 {
        let registrar = 1001 + i % 2;
        if i % 10 == 0 {
            lines.push_str(&format!(
                "{registrar} CREATE DOMAIN domain-name=d{i}.tld ns1-name=ns.d{i}.tld ns1-address=192.0.2.{} ns2-name=ns.example.org\n",
                i % 250 + 1
            ));
        } else {
            lines.push_str(&format!(
                "{registrar} CREATE DOMAIN domain-name=d{i}.tld ns1-name=ns.example.net ns2-name=ns.example.org\n"
            ));
        }
    }
    std::fs::write(original.path("domains.txt"), lines).unwrap();
    original.cli(&["import", "domains.txt"]);
    original.start();
    let srrp = |registrar: u32, header: &str, attributes: &[(&str, &str)]| {
        let response = original.as_registrar(registrar, header, attributes);
        assert_eq!(
            response.code.number(),
            200,
            "{header} {attributes:?}: {response:?}"
        );
    };
    for name in ["moved.tld", "waiting.tld", "later.tld"] {
        srrp(
            1001,
            "CREATE DOMAIN",
            &[
                ("domain-name", name),
                ("domain-auth", "move-it-42"),
                ("ns1-name", "ns.example.net"),
                ("ns2-name", "ns.example.org"),
            ],
        );
    }
    srrp(
        1002,
        "TRANSFER DOMAIN",
        &[("domain-name", "moved.tld"), ("domain-auth", "move-it-42")],
    );
    srrp(
        1001,
        "TRANSFER DOMAIN",
        &[("domain-name", "moved.tld"), ("transfer-response", "yes")],
    );
    srrp(
        1002,
        "TRANSFER DOMAIN",
        &[
            ("domain-name", "waiting.tld"),
            ("domain-auth", "move-it-42"),
        ],
    );
    srrp(
        1001,
        "SET EXPIRE",
        &[
            ("domain-name", "d2.tld"),
            (
                "expiry-date",
                &zonefiles::calendar::date(ops::now() + 3 * 365 * 86_400),
            ),
        ],
    );
    srrp(1001, "DELETE DOMAIN", &[("domain-name", "d4.tld")]);
    srrp(
        1001,
        "SET DS",
        &[
            ("domain-name", "d6.tld"),
            (
                "ds",
                "12345 13 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE0E64C4A2A5F5A3A3D8C4F0E1",
            ),
        ],
    );
    srrp(
        1001,
        "SET STATUS",
        &[("domain-name", "d8.tld"), ("status", "inactive")],
    );
    original.cli(&[
        "domain",
        "hold",
        "d12.tld",
        "--reason",
        "udrp",
        "--reference",
        "UDRP-2026-7",
    ]);
    epp_document(
        &original,
        epp,
        "1001",
        "pass-one",
        r#"<create><host:create xmlns:host="urn:ietf:params:xml:ns:host-1.0"><host:name>ns2.d20.tld</host:name><host:addr ip="v4">198.51.100.20</host:addr><host:addr ip="v6">2001:db8::20</host:addr></host:create></create>"#,
    );
    epp_document(
        &original,
        epp,
        "1002",
        "pass two = x",
        r#"<create><host:create xmlns:host="urn:ietf:params:xml:ns:host-1.0"><host:name>ns.elsewhere.example</host:name></host:create></create>"#,
    );

    let full = deposit(&original, "full");
    let work = original.path("work");
    std::fs::create_dir_all(&work).unwrap();
    assert!(
        parts(&full).len() > 1,
        "a deposit larger than split_bytes is split"
    );
    let xml = check_with_real_tools(&full, &home, &work);
    assert_eq!(xml.matches("<rdeDomain:domain>").count(), 3003);
    assert!(
        xml.contains(r#"<rdeDomain:status s="serverHold">udrp: UDRP-2026-7</rdeDomain:status>"#)
    );
    assert!(xml.contains(r#"<rdeDomain:rgpStatus s="redemptionPeriod"/>"#));
    assert!(xml.contains("<rdeHost:name>ns2.d20.tld</rdeHost:name>"));
    assert!(xml.contains("<rdeDomain:trStatus>pending</rdeDomain:trStatus>"));
    assert!(xml.contains("<secDNS:keyTag>12345</secDNS:keyTag>"));

    // The thin file for ICANN: every domain and registrar, no name servers, no host objects;
    // it does not interrupt the chain of deposits.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let thin = deposit(&original, "thin");
    assert!(
        thin.to_string_lossy().contains("_thin_R0"),
        "{}",
        thin.display()
    );
    let thin_xml = check_with_real_tools(&thin, &home, &work);
    assert_eq!(thin_xml.matches("<rdeDomain:domain>").count(), 3003);
    assert!(!thin_xml.contains("<rdeDomain:ns>") && !thin_xml.contains("<rdeHost:host>"));
    assert!(thin_xml.contains("<rdeRegistrar:registrar>"));

    // The registry changes on; the next deposit carries only that, and the deletions.
    srrp(1001, "DELETE DOMAIN", &[("domain-name", "d10.tld")]);
    srrp(
        1002,
        "CREATE DOMAIN",
        &[
            ("domain-name", "fresh.tld"),
            ("ns1-name", "ns.example.net"),
            ("ns2-name", "ns.example.org"),
        ],
    );
    srrp(
        1001,
        "SET DS",
        &[
            ("domain-name", "d6.tld"),
            (
                "ds",
                "54321 13 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE0E64C4A2A5F5A3A3D8C4F0E1",
            ),
        ],
    );
    srrp(
        1001,
        "TRANSFER DOMAIN",
        &[("domain-name", "waiting.tld"), ("transfer-response", "yes")],
    );
    epp_document(
        &original,
        epp,
        "1001",
        "pass-one",
        r#"<update><host:update xmlns:host="urn:ietf:params:xml:ns:host-1.0"><host:name>ns2.d20.tld</host:name><host:rem><host:addr ip="v4">198.51.100.20</host:addr></host:rem></host:update></update>"#,
    );
    epp_document(
        &original,
        epp,
        "1002",
        "pass two = x",
        r#"<delete><host:delete xmlns:host="urn:ietf:params:xml:ns:host-1.0"><host:name>ns.elsewhere.example</host:name></host:delete></delete>"#,
    );
    // Deposit ids name the second.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let diff = deposit(&original, "diff");
    let diff_xml = check_with_real_tools(&diff, &home, &work);
    assert!(
        diff_xml.contains(r#"type="DIFF""#) && diff_xml.contains("prevId="),
        "{diff_xml}"
    );
    assert!(diff_xml.contains(
        "<rdeHost:delete><rdeHost:name>ns.elsewhere.example</rdeHost:name></rdeHost:delete>"
    ));
    assert!(diff_xml.contains("<rdeDomain:name>fresh.tld</rdeDomain:name>"));
    assert!(
        diff_xml.matches("<rdeDomain:domain>").count() < 10,
        "a differential deposit carries what changed: {diff_xml}"
    );
    let verified = original.cli(&[
        "escrow",
        "verify",
        "--registry-key",
        "keys/escrow.pub.asc",
        "--agent-key",
        agent_secret.to_str().unwrap(),
        full.to_str().unwrap(),
        diff.to_str().unwrap(),
    ]);
    assert_eq!(verified.matches("ok: ").count(), 2, "{verified}");
    assert!(verified.contains("ok: DIFF deposit"), "{verified}");
    let listed = original.cli(&["escrow", "list"]);
    assert_eq!(listed.lines().count(), 3, "{listed}");
    // The daily zone file for zone file access: gzip, a zone BIND accepts, signed.
    let out = original.cli(&["report", "zone-file", "tld", "-o", "czds"]);
    assert!(out.contains("signed in"), "{out}");
    let gz = original.path("czds/tld.zone.gz");
    run(Command::new("gzip").arg("-t").arg(&gz));
    let checked = run(Command::new("sh").arg("-c").arg(format!(
        "zcat {} | named-checkzone -i local tld /dev/stdin",
        gz.display()
    )));
    assert!(checked.contains("OK"), "{checked}");
    gpg_verifies(&home, &original.path("czds/tld.zone.gz.sig"), &gz);
    let metrics = original.metrics();
    for kind in ["FULL", "DIFF"] {
        assert!(
            metrics.contains(&format!(
                "control_plane_escrow_last_deposit_timestamp_seconds{{zone=\"tld\",kind=\"{kind}\"}}"
            )),
            "{metrics}"
        );
    }
    original.kill();

    // A new registry, set up with the zone and its registrars, restored from the deposits.
    let restored = Registry::new("");
    let registry_key = original.path("keys/escrow.pub.asc");
    let restore = |deposits: &[&Path], agent: &Path| {
        Command::new(crate::fixture::BIN)
            .current_dir(restored.path(""))
            .args(["-c", "cp.toml", "escrow", "restore", "--registry-key"])
            .arg(&registry_key)
            .arg("--agent-key")
            .arg(agent)
            .args(deposits)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap()
    };
    let refused = |deposits: &[&Path], agent: &Path, why: &str| {
        let out = restore(deposits, agent);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(why),
            "wanted {why:?}: {stderr}"
        );
        let domains: i64 = restored
            .database()
            .query_row("SELECT count(*) FROM domains", [], |r| r.get(0))
            .unwrap();
        assert_eq!(domains, 0, "a refused restore imports nothing");
    };

    // Bad deposits, each refused with its reason.
    refused(&[&diff], &agent_secret, "starts from a full deposit");
    let (other_agent, _) = agent_keys(&restored.path("other"));
    refused(
        &[&full],
        &other_agent,
        "does not decrypt with the escrow agent's key",
    );
    let tampered = restored.path("tampered");
    run(Command::new("cp").arg("-r").arg(&full).arg(&tampered));
    let part = parts(&tampered)[0].clone();
    let mut bytes = std::fs::read(&part).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&part, &bytes).unwrap();
    refused(
        &[&tampered, &diff],
        &agent_secret,
        "signature does not verify",
    );
    std::fs::write(&part, &bytes[..bytes.len() / 2]).unwrap();
    refused(&[&tampered], &agent_secret, "signature does not verify");
    run(Command::new("cp").arg(parts(&full)[0].clone()).arg(&part));
    std::fs::remove_file(part.with_extension("sig")).unwrap();
    refused(&[&tampered], &agent_secret, "no signature file");
    std::fs::remove_dir_all(&tampered).unwrap();
    run(Command::new("cp").arg("-r").arg(&full).arg(&tampered));
    std::fs::remove_file(parts(&tampered).last().unwrap()).unwrap();
    refused(
        &[&tampered],
        &agent_secret,
        "a part is missing or cut short",
    );

    let out = restore(&[&full, &diff], &agent_secret);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let audit = restored.audit();
    assert!(audit.contains("0 problems"), "{audit}");
    assert_eq!(registration_data(&restored), registration_data(&original));
    let (want, got) = (original.published("tld"), restored.published("tld"));
    assert_eq!(want.len(), got.len());
    for (x, y) in want.iter().zip(&got) {
        assert_eq!(
            x, y,
            "the original (left) and the restored registry (right) publish differently"
        );
    }
}

#[test]
fn a_deposit_killed_midway_leaves_nothing_that_looks_complete() {
    let registry = Registry::new(
        "\n[escrow]\nfolder = \"escrow\"\nsigning_key = \"keys/escrow.asc\"\nagent_key = \"keys/agent.pub.asc\"\nsplit_bytes = 100000\n",
    );
    registry.cli(&[
        "escrow",
        "keygen",
        "--user-id",
        "Registry",
        "--out",
        "keys/escrow.asc",
    ]);
    registry.cli(&[
        "escrow",
        "keygen",
        "--user-id",
        "Agent",
        "--out",
        "keys/agent.asc",
    ]);
    registry.cli(&["registrar", "credit", "1001", "1000000000"]);
    let lines: String = (0..20_000)
        .map(|i| format!("1001 CREATE DOMAIN domain-name=k{i}.tld ns1-name=ns.example.net ns2-name=ns.example.org\n"))
        .collect();
    std::fs::write(registry.path("domains.txt"), lines).unwrap();
    registry.cli(&["import", "domains.txt"]);
    let folder = registry.path("escrow");
    let recorded = || -> Vec<String> {
        if !folder.join("escrow.sqlite").exists() {
            return Vec::new();
        }
        registry
            .cli(&["escrow", "list"])
            .lines()
            .map(|l| l.rsplit('\t').next().unwrap().to_string())
            .collect()
    };
    let mut interrupted = 0;
    for delay in [10, 40, 80, 150, 250, 400, 700] {
        let count = recorded().len();
        let mut child = Command::new(crate::fixture::BIN)
            .current_dir(registry.path(""))
            .args([
                "-c", "cp.toml", "escrow", "deposit", "tld", "--kind", "full",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
        // Every folder not marked unfinished is a recorded deposit.
        let known = recorded();
        if known.len() == count {
            interrupted += 1;
        }
        if let Ok(entries) = std::fs::read_dir(&folder) {
            for entry in entries {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if !path.is_dir() || name.ends_with(".partial") {
                    continue;
                }
                assert!(
                    known.contains(&name),
                    "{name} looks complete but was never recorded"
                );
                assert!(!parts(&path).is_empty());
            }
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    eprintln!("{interrupted} of 7 deposits killed before they were recorded");
    assert!(
        interrupted >= 3,
        "the kills land while deposits are being made"
    );
    let before = recorded().len();
    let out = registry.cli(&["escrow", "deposit", "tld", "--kind", "full"]);
    let made = registry.path(out.lines().last().unwrap());
    assert_eq!(recorded().len(), before + 1);
    let leftovers: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "the next run removes what a killed one left: {leftovers:?}"
    );
    // The deposit made after the kills restores whole.
    let restored = Registry::new("");
    let out = Command::new(crate::fixture::BIN)
        .current_dir(restored.path(""))
        .args(["-c", "cp.toml", "escrow", "restore", "--registry-key"])
        .arg(registry.path("keys/escrow.pub.asc"))
        .arg("--agent-key")
        .arg(registry.path("keys/agent.asc"))
        .arg(&made)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("restored 20000 domains"));
}
