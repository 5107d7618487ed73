//! The deployment assets in `ops/deploy` hold up: the Prometheus configuration and alert rules
//! pass `promtool`, the alerts fire when they should in `promtool test rules`, and every
//! systemd unit is sandboxed to an exposure of at most 2.0 by `systemd-analyze security`.

use std::path::Path;
use std::process::Command;

fn deploy() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy"))
}

fn passes(program: &str, args: &[&str], dir: &Path) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} (test.sh installs it): {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program} {args:?}:\n{text}");
    text
}

#[test]
fn prometheus_configuration_and_alerts_check_and_fire_as_intended() {
    let dir = deploy().join("prometheus");
    passes("promtool", &["check", "config", "prometheus.yml"], &dir);
    passes(
        "promtool",
        &["check", "rules", "constellation.rules.yml"],
        &dir,
    );
    let tested = passes(
        "promtool",
        &["test", "rules", "constellation.rules.test.yml"],
        &dir,
    );
    assert!(tested.contains("SUCCESS"), "{tested}");
}

#[test]
fn every_systemd_unit_is_sandboxed() {
    let dir = deploy().join("systemd");
    let mut units = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().into_string().unwrap();
        if !name.ends_with(".service") {
            continue;
        }
        units += 1;
        let report = passes(
            "systemd-analyze",
            &["security", "--offline=true", "--threshold=20", &name],
            &dir,
        );
        let level: f64 = report
            .lines()
            .find_map(|l| l.split("Overall exposure level for").nth(1))
            .and_then(|rest| rest.split(':').nth(1))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name}: no exposure level in\n{report}"));
        assert!(level <= 2.0, "{name}: exposure {level}\n{report}");
    }
    assert_eq!(units, 6);
}

/// `constellation keygen tsig` prints a key that BIND, NSD and Knot each accept as written.
#[test]
fn a_tsig_key_is_configuration_the_partners_servers_accept() {
    let out = Command::new(env!("CARGO_BIN_EXE_constellation"))
        .args(["keygen", "tsig", "xfr.name"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let section = |title: &str| -> String {
        text.split("\n# ")
            .find(|s| s.starts_with(title))
            .unwrap_or_else(|| panic!("no {title} section in\n{text}"))
            .split_once('\n')
            .unwrap()
            .1
            .to_owned()
    };
    let dir = tempfile::tempdir().unwrap();
    for (title, file, program, args) in [
        ("BIND", "named.conf", "named-checkconf", vec!["named.conf"]),
        ("NSD", "nsd.conf", "nsd-checkconf", vec!["nsd.conf"]),
        (
            "Knot",
            "knot.conf",
            "knotc",
            vec!["-c", "knot.conf", "conf-check"],
        ),
    ] {
        std::fs::write(dir.path().join(file), section(title)).unwrap();
        passes(program, &args, dir.path());
    }
    assert!(text.starts_with("# edge-dns.toml"), "{text}");
}
