//! Publication checks on every push: a bulk deletion is held back from the satellites, which
//! keep serving the zone as it was, until the operator releases it (the satellites then take
//! the held changes) or, once the data is put right, discards it (the satellites skip the held
//! states by a snapshot, so the deletions are never served).

use super::satellite::{Satellite, newest};
use crate::fixture::{Registry, free_port};

#[test]
fn a_bulk_deletion_is_held_from_satellites_until_released_or_discarded() {
    let push = free_port();
    // 20% of the delegations' NS records, and more than 4 of them.
    let mut registry = Registry::new(&format!(
        "\n[push]\nlisten = \"{push}\"\nkey = \"keys/tunnel.key\"\nmax_shrink = 0.2\nshrink_floor = 4\n"
    ));
    registry.start();
    let satellite = Satellite::new(&registry, "ams-1", push);
    let names: Vec<String> = (0..10).map(|i| format!("d{i}.smith.name")).collect();
    for name in &names {
        registry.register(1001, name);
    }
    satellite.wait_registered(&names[9]);
    // The check nets additions against losses within its window: restarted, the control plane
    // counts the zone as it is and measures losses from there.
    registry.kill();
    registry.start();
    let delete = |name: &str| {
        let response = registry.as_registrar(1001, "DELETE DOMAIN", &[("domain-name", name)]);
        assert_eq!(response.code.number(), 200, "{response:?}");
    };
    let delegated = |name: &str| {
        satellite
            .dig(&format!("www.{name}."), "A")
            .contains("\tNS\t")
    };
    let gone = |name: &str| {
        satellite
            .dig(&format!("www.{name}."), "A")
            .contains("status: NXDOMAIN")
    };
    let held = |registry: &Registry| {
        registry
            .metrics()
            .contains("control_plane_publication_held{zone=\"name\"} 1")
    };

    // Ten domains, twenty NS records: two deletions (4 records) pass, the third is held.
    delete(&names[0]);
    delete(&names[1]);
    satellite.wait_for(|_| gone(&names[1]), "the first deletions");
    let before = newest(&registry);
    delete(&names[2]);
    delete(&names[3]);
    let wait = std::time::Instant::now();
    while !held(&registry) {
        assert!(wait.elapsed().as_secs() < 10, "{}", registry.metrics());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let status = registry.cli(&["publication", "status"]);
    assert!(
        status.contains(&format!("HELD at serial {before}")) && status.contains("6 of 20"),
        "{status}"
    );
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert!(delegated(&names[2]) && delegated(&names[3]));
    assert_eq!(satellite.serial(), Some(before));

    // Released: the satellite takes the held deletions.
    registry.cli(&[
        "publication",
        "release",
        "name",
        "--reason",
        "registrar clean-up, TKT-5",
    ]);
    satellite.wait_for(|_| gone(&names[3]), "the released deletions");
    satellite.wait_for(
        |s| s.serial() == Some(newest(&registry)),
        "the newest serial",
    );
    assert!(!held(&registry));

    // Six domains, twelve records left: the third deletion is held again.
    for name in &names[4..7] {
        delete(name);
    }
    let wait = std::time::Instant::now();
    while !held(&registry) {
        assert!(wait.elapsed().as_secs() < 10, "{}", registry.metrics());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let at = satellite.serial();
    delete(&names[7]);
    delete(&names[8]);
    // More than the check allows lost since the hold: no discard until the data is right.
    let refused = std::process::Command::new(super::super::fixture::BIN)
        .current_dir(registry.path(""))
        .args([
            "-c",
            "cp.toml",
            "publication",
            "discard",
            "name",
            "--reason",
            "x",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("still lacks 6"),
        "{refused:?}"
    );
    // The staff register again what was lost; then the held states are discarded.
    for name in &names[6..9] {
        registry.register(1001, name);
    }
    let snapshots = satellite.metric("update_agent_snapshots_installed_total");
    let out = registry.cli(&[
        "publication",
        "discard",
        "name",
        "--reason",
        "compromised account",
    ]);
    assert!(out.contains("discarded"), "{out}");
    satellite.wait_for(
        |s| s.serial() == Some(newest(&registry)),
        "the newest serial",
    );
    assert_eq!(
        satellite.metric("update_agent_snapshots_installed_total"),
        snapshots + 1,
        "moved on by a snapshot"
    );
    assert_ne!(at, satellite.serial());
    for name in &names[6..9] {
        assert!(
            delegated(name),
            "{name} was never out of the satellite's zone"
        );
    }
    assert!(gone(&names[4]) && gone(&names[5]) && delegated(&names[9]));
    let history = registry.cli(&["publication", "status"]);
    assert!(history.contains("Discarded"), "{history}");
    let audit = registry.audit();
    assert!(audit.contains("0 problems"), "{audit}");
}
