//! Disaster recovery (docs/ops/disaster-recovery.md): the control plane's disk is lost; the
//! registry is rebuilt from an online backup and a satellite's changeset log, and is then
//! exactly what was lost.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::satellite::{Satellite, newest};
use crate::fixture::{BIN, Registry, free_port};

type Rows = Vec<Vec<rusqlite::types::Value>>;

/// Every row of every table the registry record covers, and the journal (without its
/// position numbers), sorted.
fn dump(db: &Path) -> BTreeMap<String, Rows> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut out = BTreeMap::new();
    let journal = "SELECT zone, from_serial, to_serial, changeset, signature, key_id, committed, record FROM journal";
    for (name, sql) in control_plane::store::sqlite::record::RECORDED
        .iter()
        .map(|t| (t.to_string(), format!("SELECT * FROM \"{t}\"")))
        .chain([("journal".to_string(), journal.to_string())])
    {
        let mut statement = conn.prepare(&sql).unwrap();
        let columns = statement.column_count();
        let mut rows: Rows = statement
            .query_map([], |r| {
                (0..columns)
                    .map(|i| r.get::<_, rusqlite::types::Value>(i))
                    .collect()
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        out.insert(name, rows);
    }
    out
}

fn copy_database(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let file = from.join(format!("registry.db{suffix}"));
        if file.exists() {
            std::fs::copy(&file, to.join(format!("registry.db{suffix}"))).unwrap();
        }
    }
}

#[test]
fn the_registry_is_rebuilt_from_a_backup_and_a_satellites_log_after_its_disk_is_lost() {
    let push = free_port();
    let mut registry = Registry::new(&format!(
        "\n[push]\nlisten = \"{push}\"\nkey = \"keys/tunnel.key\"\n"
    ));
    // The recovery private key lives offline, not with the control plane.
    let offline = tempfile::tempdir().unwrap();
    let recovery_key = offline.path().join("recovery.key");
    std::fs::rename(registry.path("keys/recovery.key"), &recovery_key).unwrap();
    registry.start();
    let mut satellite = Satellite::new(&registry, "ams-1", push);
    registry.register(1001, "kept.smith.name");
    registry.register(1001, "gone.smith.name");

    // The nightly backup, taken while the registry serves.
    let backup = registry.cli(&["backup", "backup.db"]);
    assert!(backup.contains("name at serial"), "{backup}");

    // After the backup: a registrar creating domains one after another while an operator
    // adds credit and accepts a satellite (changes that publish nothing themselves), and
    // another registrar deletes a domain and registers one.
    let stop = AtomicBool::new(false);
    let confirmed = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let name = format!("r{n}.smith.name");
                n += 1;
                let response = registry.as_registrar(
                    1001,
                    "CREATE DOMAIN",
                    &[
                        ("domain-name", &name),
                        ("ns1-name", "ns.example.net"),
                        ("ns2-name", "ns.example.org"),
                    ],
                );
                if response.code.number() == 200 {
                    confirmed.lock().unwrap().push(name);
                }
            }
        });
        std::thread::sleep(Duration::from_millis(500));
        registry.cli(&["registrar", "credit", "1002", "777"]);
        let key = data_encoding::BASE64.encode(&[7u8; 32]);
        registry.cli(&["satellite", "add", "fra-1", &key]);
        let deleted =
            registry.as_registrar(1001, "DELETE DOMAIN", &[("domain-name", "gone.smith.name")]);
        assert_eq!(deleted.code.number(), 200, "{deleted:?}");
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, Ordering::Relaxed);
    });
    registry.register(1002, "last.smith.name");
    let confirmed = confirmed.into_inner().unwrap();
    assert!(confirmed.len() > 5, "the registrar kept registering");
    let serial = newest(&registry);
    satellite.wait_for(|s| s.serial() == Some(serial), "the newest serial");

    // The disk is lost (the server killed first, as a failing disk would stop it). What it
    // held is kept aside only to compare with what the recovery rebuilds.
    registry.kill();
    let lost = tempfile::tempdir().unwrap();
    copy_database(registry.dir.path(), lost.path());
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(registry.path(&format!("registry.db{suffix}")));
    }
    std::fs::copy(registry.path("backup.db"), registry.path("registry.db")).unwrap();
    let before = dump(&registry.path("registry.db"));
    assert!(
        !before["domains"]
            .iter()
            .any(|row| format!("{row:?}").contains("last.smith.name")),
        "the backup predates the changes"
    );

    // Recovery from the satellite's changeset log (copied off it in production).
    let log = satellite.dir.path().join("state/name.relay");
    let out = Command::new(BIN)
        .current_dir(registry.dir.path())
        .args(["-c", "cp.toml", "recover", "--recovery-key"])
        .arg(&recovery_key)
        .arg(&log)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{report}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "recover failed");
    assert!(
        report.contains(&format!("recovered to serial {serial}")),
        "{report}"
    );
    assert!(report.contains("Registrars re-send"), "{report}");
    assert!(report.contains(" 0 problems"), "{report}");

    // The registry is exactly what was lost: every row of every table, the ledger and the
    // history included, and the journal as signed.
    let recovered = dump(&registry.path("registry.db"));
    let lost = dump(&lost.path().join("registry.db"));
    for (table, rows) in &lost {
        assert_eq!(
            &recovered[table], rows,
            "table {table} differs from the registry that was lost"
        );
    }
    for name in &confirmed {
        assert!(
            format!("{:?}", recovered["domains"]).contains(name.as_str()),
            "{name} was confirmed and is lost"
        );
    }

    // Served again: the satellite's agent notices the old tunnel is dead (its idle timeout),
    // dials again, resumes from the serial it holds without a snapshot, and takes new changes.
    registry.start();
    registry.register(1001, "after.smith.name");
    let after = newest(&registry);
    satellite.wait_for(
        |s| s.serial() == Some(after),
        "the change after the recovery",
    );
    satellite.wait_registered("after.smith.name");
    assert_eq!(
        satellite.log().matches("snapshot installed").count(),
        1,
        "resumed without a snapshot: {}",
        satellite.log()
    );
    satellite.kill_agent();
    assert!(registry.audit().contains(" 0 problems"));
}

/// A log that does not reach back to the backup, or is signed by another registry, is refused
/// with what to do, and the database is left as restored.
#[test]
fn recovery_refuses_logs_it_cannot_trust_or_chain() {
    let push = free_port();
    let mut registry = Registry::new(&format!(
        "\n[push]\nlisten = \"{push}\"\nkey = \"keys/tunnel.key\"\n"
    ));
    registry.start();
    let satellite = Satellite::new(&registry, "ams-1", push);
    registry.cli(&["backup", "old.db"]);
    registry.register(1001, "one.smith.name");
    let serial = newest(&registry);
    satellite.wait_for(|s| s.serial() == Some(serial), "the newest serial");
    registry.cli(&["backup", "newer.db"]);
    registry.register(1001, "two.smith.name");
    let serial = newest(&registry);
    satellite.wait_for(|s| s.serial() == Some(serial), "the newest serial");
    registry.kill();
    let log = satellite.dir.path().join("state/name.relay");
    let recover = |registry: &Registry, log: &Path| {
        Command::new(BIN)
            .current_dir(registry.dir.path())
            .args([
                "-c",
                "cp.toml",
                "recover",
                "--recovery-key",
                "keys/recovery.key",
            ])
            .arg(log)
            .output()
            .unwrap()
    };

    // Another registry's keys: its signature does not check.
    let other = Registry::new("");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(other.path(&format!("registry.db{suffix}")));
    }
    std::fs::copy(registry.path("newer.db"), other.path("registry.db")).unwrap();
    let out = recover(&other, &log);
    assert!(!out.status.success());
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(
        error.contains("not signed by a key of this registry"),
        "{error}"
    );

    // Served from the newer backup without a recovery: the satellite holds changes the
    // registry lacks, so it is refused (and keeps serving them) rather than rolled back.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(registry.path(&format!("registry.db{suffix}")));
    }
    std::fs::copy(registry.path("newer.db"), registry.path("registry.db")).unwrap();
    registry.start();
    satellite.wait_for(
        |s| s.log().contains("newer than the registry's"),
        "the refusal of a registry that lost changes",
    );
    assert_eq!(satellite.serial(), Some(serial), "not rolled back");
    satellite.wait_registered("two.smith.name");
    registry.kill();

    // Its own keys, but the log was cut back: make it start after the backup by keeping only
    // its last changeset.
    let changesets = satellite_protocol::log::read(&log).unwrap();
    assert!(changesets.len() >= 2);
    let short = registry.path("short.relay");
    let mut bytes = Vec::new();
    let frame = satellite_protocol::message::Message::Changeset(changesets.last().unwrap().clone())
        .encode();
    bytes.extend_from_slice(&crc32c::crc32c(&frame).to_le_bytes());
    bytes.extend_from_slice(&frame);
    std::fs::write(&short, bytes).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(registry.path(&format!("registry.db{suffix}")));
    }
    std::fs::copy(registry.path("old.db"), registry.path("registry.db")).unwrap();
    let before = dump(&registry.path("registry.db"));
    let out = recover(&registry, &short);
    assert!(!out.status.success());
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(error.contains("reaches back to the backup"), "{error}");
    assert_eq!(
        dump(&registry.path("registry.db")),
        before,
        "left as restored"
    );

    // The whole log from the older backup works.
    let out = recover(&registry, &log);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains(&format!("recovered to serial {serial}")),
        "{report}"
    );
}
