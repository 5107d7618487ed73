//! The push pipeline end to end, with the real binaries: a control plane and satellites of
//! update-agent + edge-dns + edge-whois on loopback, checked with `dig` and the `whois` client.

use std::process::Command;
use std::time::{Duration, Instant};

use super::satellite::{Satellite, newest};
use crate::fixture::{Registry, free_port};

#[test]
fn changes_reach_every_satellite_and_a_cut_off_one_catches_up_from_the_journal() {
    let push = free_port();
    let mut registry = Registry::new(&format!(
        "\n[push]\nlisten = \"{push}\"\nkey = \"keys/tunnel.key\"\n"
    ));
    registry.start();
    let a = Satellite::new(&registry, "ams-1", push);
    let mut b = Satellite::new(&registry, "nrt-1", push);
    let both = [&a, &b];

    // Register: a referral with glue in DNS, the record in WHOIS, on both satellites.
    let created = registry.as_registrar(
        1001,
        "CREATE DOMAIN",
        &[
            ("domain-name", "john.smith.name"),
            ("ns1-name", "ns1.john.smith.name"),
            ("ns1-address", "192.0.2.80"),
            ("ns2-name", "ns.example.net"),
        ],
    );
    assert_eq!(created.code.number(), 200, "{created:?}");
    for s in both {
        s.wait_answer(
            "www.john.smith.name.",
            |d| d.contains("ns1.john.smith.name.") && d.contains("192.0.2.80"),
            |w| {
                w.to_ascii_lowercase()
                    .contains("domain name: john.smith.name")
            },
        );
    }
    // Update: new name servers for the domain's cluster.
    let cluster = created
        .attributes
        .iter()
        .find(|(k, _)| k == "cluster-id")
        .map(|(_, v)| v.clone())
        .unwrap();
    let updated = registry.as_registrar(
        1001,
        "SET NAMESERVERS",
        &[
            ("cluster-id", cluster.as_str()),
            ("ns1-name", "ns.example.org"),
            ("ns2-name", "ns.example.com"),
        ],
    );
    assert_eq!(updated.code.number(), 200, "{updated:?}");
    for s in both {
        s.wait_answer(
            "www.john.smith.name.",
            |d| d.contains("ns.example.org.") && !d.contains("192.0.2.80"),
            |w| w.to_ascii_lowercase().contains("ns.example.org"),
        );
    }
    // Delete: NXDOMAIN, and WHOIS says the name is free.
    let deleted =
        registry.as_registrar(1001, "DELETE DOMAIN", &[("domain-name", "john.smith.name")]);
    assert_eq!(deleted.code.number(), 200, "{deleted:?}");
    for s in both {
        s.wait_answer(
            "www.john.smith.name.",
            |d| d.contains("NXDOMAIN"),
            |w| w.contains("No match"),
        );
    }

    // Cut one satellite off, change the registry, bring it back: it catches up from the
    // journal, with no second snapshot, to the same data.
    b.kill_agent();
    let changes: usize = std::env::var("PUSH_CUT_OFF_CHANGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    for i in 0..changes {
        let name = format!("d{i}.smith.name");
        registry.register(1002, &name);
    }
    let target = newest(&registry);
    a.wait_for(
        |s| s.serial() == Some(target),
        "catch-up on the live satellite",
    );
    let started = Instant::now();
    b.start_agent();
    b.wait_for(|s| s.serial() == Some(target), "catch-up after the cut");
    eprintln!("{changes} changes caught up in {:?}", started.elapsed());
    assert_eq!(
        b.metric("update_agent_snapshots_installed_total"),
        0,
        "caught up without a snapshot"
    );
    assert_eq!(
        b.log().matches("receiving a snapshot").count(),
        1,
        "one snapshot in all, at the start"
    );
    b.wait_answer(
        "www.d7.smith.name.",
        |d| d.contains("ns.example.net."),
        |w| {
            w.to_ascii_lowercase()
                .contains("domain name: d7.smith.name")
        },
    );
    // Compactions ran (compact_after = 50) and the data is the same on both.
    assert!(a.metric("update_agent_compactions_total") > 0);
    assert!(
        a.data() == b.data(),
        "the two satellites hold different data"
    );

    // A new, empty satellite converges from a snapshot plus the changes after it.
    let c = Satellite::new(&registry, "gru-1", push);
    c.wait_for(
        |s| s.serial() == Some(target),
        "a new satellite's convergence",
    );
    assert!(
        c.data() == a.data(),
        "the new satellite holds different data"
    );

    // The control plane knows where every satellite stands.
    std::thread::sleep(Duration::from_millis(1500));
    let status = registry.cli(&["satellites", "--json"]);
    for name in ["ams-1", "nrt-1", "gru-1"] {
        let line = status
            .lines()
            .find(|l| l.contains(&format!("\"satellite\":\"{name}\"")))
            .unwrap_or_else(|| panic!("{status}"));
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(row["serial"], target, "{line}");
        assert_eq!(row["lag_changes"], 0, "{line}");
        assert_eq!(row["connected"], true, "{line}");
    }

    // A satellite removed is cut off at once.
    registry.cli(&["satellite", "remove", "gru-1"]);
    c.wait_for(
        |s| s.metric("update_agent_connected") == 0,
        "disconnection after removal",
    );
}

/// kill -9 of the agent at random points (while it installs its first snapshot, while it
/// applies, while it compacts), with changes arriving all along: after each restart it
/// resumes from what it holds durably, and in the end it holds exactly what a satellite that
/// was never killed holds, its search indexes included.
///
/// `AGENT_KILL_ITERATIONS` sets the number of kills (default 8).
#[test]
fn kill_9_of_the_agent_in_a_loop_leaves_a_consistent_satellite() {
    let iterations: u64 = std::env::var("AGENT_KILL_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let push = free_port();
    let mut registry = Registry::new(&format!(
        "\n[push]\nlisten = \"{push}\"\nkey = \"keys/tunnel.key\"\n"
    ));
    registry.start();
    let steady = Satellite::new(&registry, "steady", push);
    let mut victim = Satellite::new(&registry, "victim", push);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (address, client, stop) = (registry.address, registry.client.clone(), stop.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let name = format!("k{n}.crash.name");
                let response = runtime
                    .block_on(crate::fixture::send(
                        address,
                        client.clone(),
                        "CREATE DOMAIN",
                        &[
                            ("registrar-id", "1001"),
                            ("registrar-auth", crate::fixture::password(1001)),
                            ("domain-name", &name),
                            ("ns1-name", &format!("ns1.{name}")),
                            ("ns1-address", "192.0.2.9"),
                            ("ns2-name", "ns.example.net"),
                        ],
                    ))
                    .unwrap();
                assert_eq!(response.code.number(), 200, "{response:?}");
                n += 1;
            }
            n
        })
    };
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..iterations {
        victim.kill_agent();
        victim.start_agent();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(50 + seed % 400));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let created = writer.join().unwrap();
    let target = newest(&registry);
    steady.wait_for(
        |s| s.serial() == Some(target),
        "the steady satellite's catch-up",
    );
    victim.wait_for(
        |s| s.serial() == Some(target),
        "the killed satellite's catch-up",
    );
    eprintln!("{created} domains created over {iterations} kills of the agent");
    assert!(created > 0);
    assert!(
        steady.data() == victim.data(),
        "the killed satellite holds different data"
    );
    // Its search indexes, layers and merges cut short included, hold what a rebuild from its
    // tree would.
    let whois = victim.dir.path().join("whois");
    let indexed = zonefiles::whois::index::Index::open(&whois).entries();
    let copy = tempfile::tempdir().unwrap();
    for kind in ["domain", "host", "registrar"].map(|k| whois.join(k)) {
        if !kind.exists() {
            continue;
        }
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(&kind)
            .arg(copy.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
    let tree = zonefiles::whois::tree::Tree::open(copy.path()).unwrap();
    zonefiles::whois::index::rebuild(&tree).unwrap();
    let rebuilt = zonefiles::whois::index::Index::open(copy.path()).entries();
    assert!(indexed.len() > created as usize);
    assert!(
        indexed == rebuilt,
        "the search indexes differ from a rebuild"
    );
    // The search indexes follow the tree: a prefix search finds the last domain created.
    let last = format!("k{}.crash.name", created - 1);
    victim.wait_answer(
        &format!("www.{last}."),
        |d| d.contains("192.0.2.9"),
        |w| {
            w.to_ascii_lowercase()
                .contains(&format!("domain name: {last}"))
        },
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = victim.whois(&format!("k{}*", created - 1));
        if found.to_ascii_lowercase().contains(&last) {
            break;
        }
        assert!(Instant::now() < deadline, "prefix search:\n{found}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The self-audit: every second here, the control plane computes its digest of the zone and
/// each satellite compares its own at the same serial. A satellite whose WHOIS tree was changed
/// behind the agent's back (a record altered, one added) finds out, says so, and resynchronises
/// from a snapshot: the altered record is restored and the extra one removed.
#[test]
fn an_audit_finds_data_changed_behind_the_agent_and_a_snapshot_repairs_it() {
    let push = free_port();
    let mut registry = Registry::new(&format!(
        "\n[push]\nlisten = \"{push}\"\nkey = \"keys/tunnel.key\"\naudit_interval_s = 1\n"
    ));
    registry.start();
    let satellite = Satellite::new(&registry, "ams-1", push);
    registry.register(1001, "jane.smith.name");
    satellite.wait_answer(
        "www.jane.smith.name.",
        |d| d.contains("ns.example.net."),
        |w| w.contains("ns.example.net"),
    );
    satellite.wait_for(
        |s| s.metric("update_agent_audits_total") > 0,
        "a first audit",
    );
    assert_eq!(
        satellite.metric("update_agent_audit_mismatches_total"),
        0,
        "{}",
        satellite.log()
    );

    // Behind the agent's back: alter the record, and plant one the registry never had.
    let tree = zonefiles::whois::tree::Tree::open(&satellite.dir.path().join("whois")).unwrap();
    let key = zonefiles::whois::ObjectKey::Domain("jane.smith.name".into());
    let Some(zonefiles::whois::Object::Domain(mut domain)) = tree.get(&key).unwrap() else {
        panic!("no record")
    };
    domain.nameservers[0].name = "ns.attacker.example".into();
    tree.put(&zonefiles::whois::Object::Domain(domain.clone()))
        .unwrap();
    domain.name = "planted.smith.name".into();
    tree.put(&zonefiles::whois::Object::Domain(domain)).unwrap();
    assert!(
        satellite
            .whois("jane.smith.name")
            .contains("ns.attacker.example")
    );

    satellite.wait_for(
        |s| s.metric("update_agent_audit_mismatches_total") > 0,
        "the audit to find the change",
    );
    satellite.wait_answer(
        "www.jane.smith.name.",
        |d| d.contains("ns.example.net."),
        |w| w.contains("ns.example.net") && !w.contains("ns.attacker.example"),
    );
    satellite.wait_answer(
        "www.planted.smith.name.",
        |d| d.contains("NXDOMAIN"),
        |w| w.contains("No match"),
    );
    assert!(satellite.log().contains("snapshot installed"));
    // Audits after the repair find the same data again.
    let audits = satellite.metric("update_agent_audits_total");
    let deadline = Instant::now() + Duration::from_secs(30);
    while satellite.metric("update_agent_audits_total") <= audits + 1 {
        assert!(
            Instant::now() < deadline,
            "no audits after the repair; control plane:\n{}",
            std::fs::read_to_string(registry.path("serve.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(satellite.metric("update_agent_audit_mismatches_total"), 1);
    let status = registry.cli(&["satellites", "--json"]);
    assert!(status.contains("same at serial"), "{status}");
}

/// Relays, two levels deep: the control plane feeds relay `r1`, which feeds relay `r2`, which
/// feeds the satellite `leaf`. Each empty node starts from a snapshot its relay fetched from
/// upstream (signed by the control plane: a relay cannot make one), changes reach the leaf's
/// DNS and WHOIS through both relays, a leaf cut off catches up from its relay's log without a
/// snapshot (also after a kill -9 of the relay in the middle), the control plane's audits reach
/// the leaf, and every node holds the same data.
#[test]
fn relays_two_levels_deep_carry_changes_snapshots_and_audits() {
    let push = free_port();
    let mut registry = Registry::new(&format!(
        "\n[push]\nlisten = \"{push}\"\nkey = \"keys/tunnel.key\"\naudit_interval_s = 2\n"
    ));
    registry.start();
    let r1 = Satellite::relay(&registry, "r1", push);
    let mut r2 = Satellite::behind(&r1, "r2", true);
    let mut leaf = Satellite::behind(&r2, "leaf", false);
    assert!(
        r1.log().contains("snapshot fetched from upstream"),
        "{}",
        r1.log()
    );
    assert!(
        r2.log().contains("snapshot fetched from upstream"),
        "{}",
        r2.log()
    );

    let created = registry.as_registrar(
        1001,
        "CREATE DOMAIN",
        &[
            ("domain-name", "relayed.smith.name"),
            ("ns1-name", "ns1.relayed.smith.name"),
            ("ns1-address", "192.0.2.44"),
            ("ns2-name", "ns.example.net"),
        ],
    );
    assert_eq!(created.code.number(), 200, "{created:?}");
    leaf.wait_answer(
        "www.relayed.smith.name.",
        |d| d.contains("192.0.2.44"),
        |w| {
            w.to_ascii_lowercase()
                .contains("domain name: relayed.smith.name")
        },
    );

    // Cut the leaf off; changes go on; back, it catches up from r2's log.
    leaf.kill_agent();
    for i in 0..150 {
        let name = format!("r{i}.smith.name");
        registry.register(1002, &name);
    }
    let target = newest(&registry);
    leaf.start_agent();
    for node in [&r1, &r2, &leaf] {
        node.wait_for(|s| s.serial() == Some(target), "the newest serial");
    }
    assert_eq!(
        leaf.log().matches("receiving a snapshot").count(),
        1,
        "one snapshot in all, at the start:\n{}",
        leaf.log()
    );
    assert!(r1.data() == leaf.data(), "the leaf holds different data");
    assert!(r2.data() == leaf.data(), "r2 holds different data");

    // kill -9 of the middle relay: its log survives, and the leaf resumes from it (again with
    // no snapshot) once r2 is back and has caught up.
    r2.kill_agent();
    for i in 0..50 {
        let name = format!("k{i}.smith.name");
        registry.register(1002, &name);
    }
    let target = newest(&registry);
    r2.start_agent();
    for node in [&r1, &r2, &leaf] {
        node.wait_for(
            |s| s.serial() == Some(target),
            "the newest serial after r2's restart",
        );
    }
    assert_eq!(leaf.log().matches("receiving a snapshot").count(), 1);
    assert!(r1.data() == leaf.data(), "the leaf holds different data");

    // Each relay knows where its downstream agent stands.
    let serial_of = |relay: &Satellite, name: &str| {
        relay.metric(&format!(
            "update_agent_downstream_serial{{satellite=\"{name}\",zone=\"name\"}}"
        ))
    };
    r1.wait_for(|r| serial_of(r, "r2") == u64::from(target), "r2's ACK");
    r2.wait_for(
        |r| serial_of(r, "leaf") == u64::from(target),
        "the leaf's ACK",
    );

    // The control plane's audits reach the leaf through both relays, and match.
    leaf.wait_for(
        |s| s.metric("update_agent_audits_total") > 0,
        "an audit passed on by the relays",
    );
    assert_eq!(leaf.metric("update_agent_audit_mismatches_total"), 0);
    r2.wait_for(
        |r| {
            r.metric("update_agent_downstream_audits_total{satellite=\"leaf\",result=\"same\"}") > 0
        },
        "the leaf's audit result",
    );
    // The control plane sees only r1: one long-haul tunnel.
    let status = registry.cli(&["satellites", "--json"]);
    assert_eq!(status.lines().count(), 1, "{status}");
}

/// A satellite further behind than is worth replaying (`replay_limit`, and more changesets
/// than the zone has domains) gets a snapshot though the journal reaches it, and then holds
/// the same data as one that followed every change.
#[test]
fn a_satellite_far_behind_gets_a_snapshot_rather_than_the_journal() {
    let push = free_port();
    let mut registry = Registry::new(&format!(
        "\n[push]\nlisten = \"{push}\"\nkey = \"keys/tunnel.key\"\nreplay_limit = 20\n"
    ));
    registry.start();
    let live = Satellite::new(&registry, "live", push);
    let mut far = Satellite::new(&registry, "far", push);
    far.kill_agent();
    // 61 changesets, and one domain more at the end than at the start.
    for i in 0..30 {
        let name = format!("churn{i}.smith.name");
        registry.register(1001, &name);
        let deleted = registry.as_registrar(1001, "DELETE DOMAIN", &[("domain-name", &name)]);
        assert_eq!(deleted.code.number(), 200, "{deleted:?}");
    }
    registry.register(1001, "kept.smith.name");
    let target = newest(&registry);
    far.start_agent();
    for s in [&live, &far] {
        s.wait_for(|s| s.serial() == Some(target), "the newest serial");
    }
    assert_eq!(
        far.log().matches("snapshot installed").count(),
        2,
        "{}",
        far.log()
    );
    assert_eq!(live.log().matches("snapshot installed").count(), 1);
    assert!(far.data() == live.data(), "different data");

    // Item by item against the registry's export at that serial: the same; then a record
    // planted behind the agent's back is found.
    registry.cli(&[
        "export",
        "name",
        "--serial",
        &target.to_string(),
        "-o",
        "export",
    ]);
    let export = registry.path("export");
    let (same, report) = far.verify(&export);
    assert!(same, "{report}");
    assert!(
        report.contains("missing 0, extra 0, different 0"),
        "{report}"
    );
    let tree = zonefiles::whois::tree::Tree::open(&far.dir.path().join("whois")).unwrap();
    let Some(zonefiles::whois::Object::Domain(mut planted)) = tree
        .zone_objects("name")
        .unwrap()
        .into_iter()
        .find(|o| matches!(o, zonefiles::whois::Object::Domain(_)))
    else {
        panic!("no domain in the tree")
    };
    planted.name = "planted.smith.name".into();
    tree.put(&zonefiles::whois::Object::Domain(planted))
        .unwrap();
    let (same, report) = far.verify(&export);
    assert!(!same, "{report}");
    assert!(
        report.contains("extra: Domain(\"planted.smith.name\")"),
        "{report}"
    );
}

/// The signing-key rotation runbook (docs/ops/rotate-signing-key.md), step by step with a live
/// satellite: it trusts the new key beside the old, the control plane signs with the new one,
/// the satellite keeps applying, the old key is withdrawn, and nothing needs a snapshot.
#[test]
fn the_signing_key_rotates_without_a_satellite_missing_a_change() {
    let push = free_port();
    let mut registry = Registry::new(&format!(
        "\n[push]\nlisten = \"{push}\"\nkey = \"keys/tunnel.key\"\n"
    ));
    registry.start();
    let mut satellite = Satellite::new(&registry, "ams-1", push);
    registry.register(1001, "before.smith.name");
    satellite.wait_registered("before.smith.name");

    // 1. The next key; the satellite trusts it beside the current one.
    registry.cli(&["keygen", "--signing-only", "--dir", "new"]);
    let read = |p: &str| {
        std::fs::read_to_string(registry.path(p))
            .unwrap()
            .trim()
            .to_owned()
    };
    let (old, new) = (read("keys/signing.pub"), read("new/signing.pub"));
    let config = satellite.dir.path().join("agent.toml");
    let trust = |keys: &str| {
        let text = std::fs::read_to_string(&config).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("signing_keys"))
            .unwrap()
            .to_owned();
        std::fs::write(
            &config,
            text.replace(&line, &format!("signing_keys = [{keys}]")),
        )
        .unwrap();
    };
    trust(&format!("\"{old}\", \"{new}\""));
    satellite.kill_agent();
    satellite.start_agent();
    // 2. The control plane signs with the new key; the old one stays for the journal's audit.
    let cp = std::fs::read_to_string(registry.path("cp.toml")).unwrap();
    std::fs::write(
        registry.path("cp.toml"),
        cp.replace(
            "signing_key = \"keys/signing.key\"",
            "signing_key = \"new/signing.key\"\nprevious_public_keys = [\"keys/signing.pub\"]",
        ),
    )
    .unwrap();
    registry.kill();
    registry.start();
    registry.register(1001, "during.smith.name");
    satellite.wait_registered("during.smith.name");
    // 3. Every satellite has applied a change signed by the new key: withdraw the old one.
    trust(&format!("\"{new}\""));
    satellite.kill_agent();
    satellite.start_agent();
    registry.register(1001, "after.smith.name");
    satellite.wait_registered("after.smith.name");
    assert_eq!(
        satellite.metric("update_agent_refused_total"),
        0,
        "{}",
        satellite.log()
    );
    assert_eq!(
        satellite.log().matches("snapshot installed").count(),
        1,
        "no snapshot after the first: {}",
        satellite.log()
    );
    assert!(registry.audit().contains(" 0 problems"));
    // The old key alone no longer makes an acceptable upstream: an agent that trusts only it
    // refuses what the control plane now signs.
    trust(&format!("\"{old}\""));
    satellite.kill_agent();
    satellite.start_agent();
    registry.register(1001, "refused.smith.name");
    satellite.wait_for(
        |s| s.log().contains("not signed by a trusted key"),
        "a refusal of changesets signed by an untrusted key",
    );
}

/// Moving the control plane to another host (docs/ops/move-the-control-plane.md) under a
/// steady stream of registrations: stopped (kill -9), its folder copied, started on new
/// addresses while a registrar keeps sending and a prober keeps asking the satellite's DNS and
/// WHOIS. Every confirmed registration is in the moved registry and on the satellite, no probe
/// fails, and the satellite resumes from its serial without a snapshot.
#[test]
fn the_control_plane_moves_while_satellites_keep_serving() {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let push = free_port();
    let mut registry = Registry::new(&format!(
        "\n[push]\nlisten = \"{push}\"\nkey = \"keys/tunnel.key\"\n"
    ));
    registry.start();
    let mut satellite = Satellite::new(&registry, "ams-1", push);
    registry.register(1001, "before.smith.name");
    satellite.wait_answer(
        "www.before.smith.name.",
        |d| d.contains("ns.example.net."),
        |w| w.contains("Domain Name:"),
    );

    let target = Mutex::new((registry.address, registry.client.clone()));
    let stop = AtomicBool::new(false);
    let confirmed = Mutex::new(Vec::new());
    let (probes, failed) = (AtomicU64::new(0), AtomicU64::new(0));
    let (dns, whois) = (satellite.dns, satellite.whois);
    let new_push = free_port();
    let moved = std::thread::scope(|scope| {
        // A registrar: creates one after another, against whichever address is current.
        scope.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let name = format!("m{n}.smith.name");
                n += 1;
                let (address, client) = target.lock().unwrap().clone();
                let sent = runtime.block_on(crate::fixture::send(
                    address,
                    client,
                    "CREATE DOMAIN",
                    &[
                        ("registrar-id", "1001"),
                        ("registrar-auth", crate::fixture::password(1001)),
                        ("domain-name", &name),
                        ("ns1-name", "ns.example.net"),
                        ("ns2-name", "ns.example.org"),
                    ],
                ));
                match sent {
                    Ok(response) if response.code.number() == 200 => {
                        confirmed.lock().unwrap().push(name)
                    }
                    // Unconfirmed (the old host gone, the new one not up yet): not counted.
                    _ => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        });
        // Resolvers and WHOIS clients: the satellite must answer throughout.
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                let dig = Command::new("dig")
                    .args([
                        &format!("@{}", dns.ip()),
                        "-p",
                        &dns.port().to_string(),
                        "www.before.smith.name",
                        "A",
                        "+norec",
                        "+time=1",
                        "+tries=1",
                    ])
                    .output()
                    .unwrap();
                let whois = Command::new("whois")
                    .args([
                        "-h",
                        &whois.ip().to_string(),
                        "-p",
                        &whois.port().to_string(),
                    ])
                    .arg("before.smith.name")
                    .output()
                    .unwrap();
                let good = String::from_utf8_lossy(&dig.stdout).contains("ns.example.net.")
                    && String::from_utf8_lossy(&whois.stdout).contains("Domain Name:");
                probes.fetch_add(1, Ordering::Relaxed);
                if !good {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        std::thread::sleep(Duration::from_secs(1));
        // The old host stops (abruptly: the database's write-ahead log travels with it).
        registry.kill();
        let mut moved = registry.moved(push, new_push);
        moved.start();
        *target.lock().unwrap() = (moved.address, moved.client.clone());
        // The agent follows the new address (in production: the name it dials, repointed).
        let config = satellite.dir.path().join("agent.toml");
        let text = std::fs::read_to_string(&config).unwrap();
        std::fs::write(
            &config,
            text.replace(&push.to_string(), &new_push.to_string()),
        )
        .unwrap();
        satellite.kill_agent();
        satellite.start_agent();
        std::thread::sleep(Duration::from_secs(2));
        stop.store(true, Ordering::Relaxed);
        moved
    });
    let confirmed = confirmed.into_inner().unwrap();
    let (probes, failed) = (probes.into_inner(), failed.into_inner());
    eprintln!(
        "{} registrations confirmed across the move; {probes} probes",
        confirmed.len()
    );
    assert!(confirmed.len() > 10, "the registrar kept registering");
    assert_eq!(
        failed, 0,
        "of {probes} DNS and WHOIS probes of the satellite"
    );
    // No confirmation lost: every confirmed name is registered after the move, and the
    // satellite holds exactly the moved registry's data.
    let db = moved.database();
    for name in &confirmed {
        let found: i64 = db
            .query_row(
                "SELECT count(*) FROM domains WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(found, 1, "{name} was confirmed but is not registered");
    }
    let newest: u32 = db
        .query_row("SELECT serial FROM zones WHERE origin = 'name'", [], |r| {
            r.get(0)
        })
        .unwrap();
    satellite.wait_for(
        |s| s.serial() == Some(newest),
        "the moved registry's newest serial",
    );
    moved.cli(&[
        "export",
        "name",
        "--serial",
        &newest.to_string(),
        "-o",
        "export",
    ]);
    let (same, report) = satellite.verify(&moved.path("export"));
    assert!(same, "{report}");
    assert_eq!(
        satellite.log().matches("snapshot installed").count(),
        1,
        "resumed without a snapshot: {}",
        satellite.log()
    );
    assert!(moved.audit().contains(" 0 problems"));
}
