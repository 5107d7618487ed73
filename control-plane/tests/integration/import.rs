//! `control-plane import`: SRRP commands from a file, through the same rules as SRRP.

use std::process::Command;

use crate::fixture::{BIN, Registry};

#[test]
fn an_import_goes_through_the_rules_and_the_journal() {
    let mut registry = Registry::new("");
    let mut lines = String::from("# sample data\n\n");
    for i in 0..250 {
        lines.push_str(&format!(
            "1001 CREATE DOMAIN domain-name=imp{i}.smith.name ns1-name=ns1.imp{i}.smith.name ns1-address=192.0.2.{} ns2-name=ns.example.net\n",
            i % 250 + 1
        ));
    }
    lines.push_str("1001 CREATE DOMAIN domain-name=imp7.smith.name\n"); // taken
    lines.push_str("4242 CREATE DOMAIN domain-name=ghost.smith.name\n"); // no such registrar
    lines.push_str("1003 CREATE DOMAIN domain-name=broke.smith.name\n"); // no credit
    lines.push_str("1001 CREATE DOMAIN\n"); // malformed
    lines.push_str("1002 CREATE DOMAIN domain-name=two.smith.name domain-auth=s3cret ns1-name=ns.example.net ns2-name=ns.example.org\n");
    std::fs::write(registry.path("import.txt"), lines).unwrap();
    let out = Command::new(BIN)
        .current_dir(registry.path("."))
        .args(["-c", "cp.toml", "import", "import.txt", "--batch", "100"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "refusals make the import fail: {stdout}"
    );
    assert!(
        stdout.contains("import: 251 commands carried out in 3 transaction(s)"),
        "{stdout}"
    );
    assert!(stdout.contains("4 refused"), "{stdout}");
    for line in [253, 254, 255, 256] {
        assert!(stdout.contains(&format!("line {line}: ")), "{stdout}");
    }
    // Journaled and consistent: the audit replays the journal to the database's state.
    assert!(registry.audit().contains(" 0 problems"));
    // The domains are the registrars' as if created over SRRP, passwords included.
    registry.start();
    // (The metrics tell when the SRRP certificate expires, for the expiry alert.)
    let expiry: i64 = registry
        .metrics()
        .lines()
        .find_map(|l| l.strip_prefix("control_plane_srrp_certificate_expiry_seconds "))
        .expect("the certificate's expiry in the metrics")
        .parse()
        .unwrap();
    assert!(expiry > ops::now(), "{expiry}");
    let queried =
        registry.as_registrar(1001, "QUERY DOMAIN", &[("domain-name", "imp42.smith.name")]);
    assert_eq!(queried.code.number(), 200, "{queried:?}");
    let transfer = registry.as_registrar(
        1001,
        "TRANSFER DOMAIN",
        &[("domain-name", "two.smith.name"), ("domain-auth", "s3cret")],
    );
    assert_eq!(transfer.code.number(), 200, "{transfer:?}");
}
