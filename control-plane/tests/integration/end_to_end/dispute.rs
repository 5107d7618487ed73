//! A dispute as the registry's staff carry it out, seen from a satellite: a registry lock at
//! the registrar's request, a hold on a court order, a transfer to the registrar that won, and
//! the release once confirmed. Each step reaches the satellite's DNS, WHOIS (`whois`) and RDAP
//! (`curl`, and ICANN's `rdap-test` on the held domain), and ends in the history, the poll
//! queues and both registrars' statements.

use super::satellite::Satellite;
use crate::fixture::{Registry, free_port};

#[test]
fn a_dispute_locks_holds_transfers_and_releases_a_domain_everywhere() {
    let push = free_port();
    let mut registry = Registry::new(&format!(
        "\n[push]\nlisten = \"{push}\"\nkey = \"keys/tunnel.key\"\n"
    ));
    registry.start();
    let satellite = Satellite::new(&registry, "ams-1", push);
    let name = "disputed.smith.name";
    registry.register(1001, name);
    satellite.wait_registered(name);
    let delegated = |d: &str| d.contains("status: NOERROR") && d.contains("\tNS\t");
    let step = |args: &[&str]| registry.cli(&[&["domain"][..], args].concat());
    let statuses = |satellite: &Satellite| -> Vec<String> {
        let rdap = satellite.rdap(&format!("/domain/{name}"));
        rdap["status"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };

    // The registrar asks for a registry lock on its customer's behalf.
    step(&[
        "lock",
        name,
        "--reason",
        "registry-lock",
        "--reference",
        "REQ-1",
    ]);
    satellite.wait_answer(
        &format!("www.{name}."),
        delegated,
        |w| w.contains("Domain Status: serverTransferProhibited https://icann.org/epp#serverTransferProhibited"),
    );
    assert!(statuses(&satellite).contains(&"server transfer prohibited".to_owned()));

    // A court orders the site taken down: out of the DNS, the lock kept.
    step(&[
        "hold",
        name,
        "--reason",
        "court-order",
        "--reference",
        "CV-2026-17",
    ]);
    satellite.wait_answer(
        &format!("www.{name}."),
        |d| d.contains("status: NXDOMAIN"),
        |w| w.contains("Domain Status: serverHold"),
    );
    let held = statuses(&satellite);
    assert!(
        held.contains(&"server hold".to_owned())
            && held.contains(&"server update prohibited".to_owned()),
        "{held:?}"
    );
    // ICANN's conformance tool finds the held and locked domain's RDAP object clean.
    if let Some(findings) = satellite.rdap_findings(&format!("/domain/{name}")) {
        assert!(findings.is_empty(), "rdap-test: {findings:#?}");
    }

    // The decision: the domain goes to registrar 1002.
    step(&[
        "transfer",
        name,
        "--to",
        "1002",
        "--reason",
        "udrp",
        "--reference",
        "D2026-0001",
    ]);
    satellite.wait_answer(
        &format!("www.{name}."),
        |d| d.contains("status: NXDOMAIN"),
        |w| w.contains("Registrar IANA ID: 91002"),
    );
    // Released once the registrar confirms by telephone: back in the DNS, its new sponsor's.
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_control-plane"))
        .current_dir(registry.path(""))
        .args(["-c", "cp.toml", "domain", "release", name])
        .args(["--reason", "registry-lock", "--reference", "REQ-2"])
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "a registry lock needs its confirmation"
    );
    step(&[
        "release",
        name,
        "--reason",
        "registry-lock",
        "--reference",
        "REQ-2",
        "--confirmation",
        "CALL-0412",
    ]);
    satellite.wait_answer(&format!("www.{name}."), delegated, |w| {
        w.contains("Domain Status: ok")
    });
    assert_eq!(statuses(&satellite), ["active"]);

    // The history tells it all, with each case.
    let history = registry.cli(&["history", name]);
    for line in [
        "LOCK (+serverDeleteProhibited +serverTransferProhibited +serverUpdateProhibited; registry-lock, REQ-1)",
        "HOLD (+serverHold; court-order, CV-2026-17)",
        "TRANSFER BY THE REGISTRY (from registrar 1001 to registrar 1002; udrp, D2026-0001)",
        "RELEASE (-serverDeleteProhibited -serverHold -serverTransferProhibited -serverUpdateProhibited; registry-lock, REQ-2; confirmed CALL-0412)",
    ] {
        assert!(history.contains(line), "{line} in {history}");
    }
    // Both registrars' statements list the transfer, uncharged.
    let month = &registry.cli(&["history", name]).lines().nth(1).unwrap()[..7].to_owned();
    let billing = registry.cli(&["report", "billing", "--month", month]);
    for registrar in ["1001", "1002"] {
        assert!(
            billing
                .lines()
                .any(|l| l.starts_with(&format!("{registrar},"))
                    && l.contains(&format!(",registry-transfer,{name},0.00,"))),
            "{registrar} in {billing}"
        );
    }
    let audit = registry.audit();
    assert!(audit.contains("0 problems"), "{audit}");
}
