//! `loadtest report` end to end with the real servers and tools (NSD, Knot, dnsperf, the zone
//! checkers) on a small zone: a JSON file per run with figures for every server, the servers'
//! order turning between repetitions, the Markdown report and its plots, rendering again from
//! the JSON alone, and splicing into a documentation file; and the registry's suites (writes,
//! propagation with catch-up, fan-out) with our control plane, agents and servers.

use std::path::Path;
use std::process::Command;

use loadtest::report::Run;

/// Each test is a benchmark that pins its servers and clients to the machine's cores: they
/// take turns, or each would measure the other.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Whether an external tool is on the PATH; under CI a missing tool fails the test.
fn have_tool(tool: &str) -> bool {
    let found = loadtest::report::on_path(tool);
    assert!(
        found || std::env::var_os("CI").is_none(),
        "{tool} is required under CI; test.sh installs it"
    );
    if !found {
        eprintln!("skipping: {tool} is not installed");
    }
    found
}

/// Our servers' binaries, beside this test's loadtest (where cargo test puts them); returns
/// their directory. They are built as `cargo test --workspace` builds them, with the features
/// that command unifies: under `./test.sh` they are there already and this costs nothing,
/// where a `cargo build -p` of a few packages would resolve other features and build them
/// again (minutes).
fn built() -> &'static Path {
    let status = ops::process::cargo()
        .args(["test", "--workspace", "--no-run", "--locked", "-q"])
        .status()
        .expect("cargo runs");
    assert!(status.success());
    Path::new(env!("CARGO_BIN_EXE_loadtest")).parent().unwrap()
}

fn loadtest(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_loadtest"))
        .args(args)
        .output()
        .expect("loadtest runs");
    assert!(
        out.status.success(),
        "loadtest {args:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn figure(run: &Run, server: &str, metric: &str) -> f64 {
    run.measurements
        .iter()
        .find(|m| m.server == server && m.metric == metric)
        .unwrap_or_else(|| {
            panic!(
                "{} run {}: no {metric} for {server}",
                run.suite, run.repetition
            )
        })
        .value
}

#[test]
fn report_runs_renders_again_and_splices_into_docs() {
    let tools = [
        "nsd",
        "knotd",
        "dnsperf",
        "nsd-checkzone",
        "kzonecheck",
        "named-checkzone",
    ];
    if !tools.iter().all(|t| have_tool(t)) {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let bin = built();
    let tmp = tempfile::tempdir().unwrap();
    let (out, work) = (tmp.path().join("out"), tmp.path().join("work"));
    let (out_s, work_s) = (out.to_str().unwrap(), work.to_str().unwrap());
    loadtest(&[
        "report",
        "--delegations",
        "2000",
        "--shapes",
        "pairs",
        "--suites",
        "zone,dns,xfr,whois",
        "--repetitions",
        "2",
        "--seconds",
        "1",
        "--latency-seconds",
        "1",
        "--rates",
        "2000",
        "--out",
        out_s,
        "--work",
        work_s,
        "--bin",
        bin.to_str().unwrap(),
    ]);

    let mut runs = Vec::new();
    for entry in std::fs::read_dir(out.join("runs")).unwrap() {
        let run: Run =
            serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
        runs.push(run);
    }
    runs.sort_by_key(|r| (r.repetition, r.suite.clone()));
    let suites: Vec<(u32, &str)> = runs
        .iter()
        .map(|r| (r.repetition, r.suite.as_str()))
        .collect();
    let each = ["dns", "rdap", "whois", "xfr", "zone"];
    let expected: Vec<(u32, &str)> = [1, 2]
        .into_iter()
        .flat_map(|r| each.map(|s| (r, s)))
        .collect();
    assert_eq!(suites, expected);
    let dns: Vec<&Run> = runs.iter().filter(|r| r.suite == "dns").collect();
    assert_eq!(dns[0].order, ["edge-dns", "nsd", "knot"]);
    assert_eq!(dns[1].order, ["nsd", "knot", "edge-dns"], "the order turns");
    for run in &dns {
        for server in ["edge-dns", "nsd", "knot", "reflector"] {
            assert!(figure(run, server, "UDP queries per second") > 0.0);
            assert!(figure(run, server, "UDP server CPU per query") > 0.0);
        }
        for server in ["edge-dns", "nsd", "knot"] {
            // A peer that stalls in a one-second run (Knot over TCP, now and then) answers a
            // handful of queries and gets no CPU figure; ours must always have one.
            let stalled = server != "edge-dns"
                && figure(run, server, "TCP queries per second") < 1000.0
                && !run
                    .measurements
                    .iter()
                    .any(|m| m.server == server && m.metric == "TCP server CPU per query");
            assert!(stalled || figure(run, server, "TCP server CPU per query") > 0.0);
            assert!(figure(run, server, "memory after the runs (PSS)") > 1.0);
            let p99 = run
                .series
                .iter()
                .find(|s| s.server == server && s.plot == "latency-p99");
            assert_eq!(
                p99.map(|s| s.points.len()),
                Some(1),
                "{server}: one point per offered load"
            );
        }
        assert!(run.stalls.is_some());
    }
    // The three servers transfer the same zone: the same number of records.
    for run in runs.iter().filter(|r| r.suite == "xfr") {
        let edge = figure(run, "edge-dns", "records transferred");
        assert!(edge > 4000.0, "{edge}");
        assert_eq!(figure(run, "nsd", "records transferred"), edge);
        assert_eq!(figure(run, "knot", "records transferred"), edge);
        // Live updates: changesets of 2, 4 and 6 delegations (a thousandth of the zone, and more).
        for n in [2, 4, 6] {
            let metric = format!("a changeset of {n} delegations, append to answer");
            assert!(figure(run, "edge-dns", &metric) > 0.0);
        }
    }
    for run in runs.iter().filter(|r| r.suite == "whois") {
        for server in ["edge-whois", "bare limit"] {
            assert!(figure(run, server, "WHOIS queries per second") > 0.0);
            assert!(figure(run, server, "WHOIS server CPU per query") > 0.0);
            assert_eq!(figure(run, server, "WHOIS failed"), 0.0);
        }
    }
    for run in runs.iter().filter(|r| r.suite == "rdap") {
        for server in ["edge-whois", "bare limit", "bare limit, reading the tree"] {
            assert!(figure(run, server, "RDAP requests per second") > 0.0);
            assert_eq!(figure(run, server, "RDAP failed"), 0.0);
        }
    }
    for run in runs.iter().filter(|r| r.suite == "zone") {
        for tool in [
            "zonefiles",
            "nsd-checkzone",
            "kzonecheck",
            "named-checkzone",
        ] {
            let peak = figure(run, tool, "peak memory");
            // The tool's own peak, not the report process's (see process::measure).
            assert!(peak > 0.5 && peak < 200.0, "{tool}: {peak} MiB");
        }
        assert!(figure(run, "zonefiles", "image size, share of the text") > 10.0);
        assert!(
            run.measurements
                .iter()
                .any(|m| m.metric.starts_with("diff against") && m.value > 0.0),
            "the diff is measured"
        );
    }

    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    for expected in [
        "## Report of ",
        "| CPU |",
        "NSD version",
        "| figure | edge-dns | nsd | knot | reflector | × vs nsd | × vs knot |",
        "| figure | zonefiles | nsd-checkzone | kzonecheck | named-checkzone |",
        "| figure | edge-whois | bare limit | × vs bare limit |",
        "| figure | edge-whois | bare limit | bare limit, reading the tree | × vs bare limit | × vs bare limit, reading the tree |",
        "| 2,000 | ",
        "the answer engine and what it touches take",
    ] {
        assert!(
            report.contains(expected),
            "{expected:?} missing from:\n{report}"
        );
    }
    let plots: Vec<&str> = report
        .lines()
        .filter_map(|l| {
            l.strip_prefix("![")?
                .split("](plots/")
                .nth(1)?
                .strip_suffix(')')
        })
        .collect();
    assert_eq!(plots.len(), 4, "{report}");
    for plot in &plots {
        let svg = std::fs::read_to_string(out.join("plots").join(plot)).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("edge-dns"),
            "{plot}"
        );
    }

    // The same report again from the JSON alone.
    std::fs::remove_file(out.join("report.md")).unwrap();
    std::fs::remove_dir_all(out.join("plots")).unwrap();
    let docs = tmp.path().join("docs/benchmarks.md");
    std::fs::create_dir_all(docs.parent().unwrap()).unwrap();
    std::fs::write(
        &docs,
        "# Benchmarks\n\n<!-- report:begin -->\nold\n<!-- report:end -->\n\nContext.\n",
    )
    .unwrap();
    loadtest(&[
        "report",
        "--render-only",
        "--out",
        out_s,
        "--docs",
        docs.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(out.join("report.md")).unwrap(),
        report
    );
    let spliced = std::fs::read_to_string(&docs).unwrap();
    let inside = report.replace("](plots/", "](benchmarks/");
    assert_eq!(
        spliced,
        format!("# Benchmarks\n\n<!-- report:begin -->\n{inside}<!-- report:end -->\n\nContext.\n")
    );
    for plot in plots {
        assert!(tmp.path().join("docs/benchmarks").join(plot).is_file());
    }
    let kept = std::fs::read_dir(tmp.path().join("docs/benchmarks/runs"))
        .unwrap()
        .count();
    assert_eq!(kept, runs.len(), "the runs' JSON is kept beside the page");
    assert!(tmp.path().join("docs/benchmarks/report.json").is_file());
}

#[test]
fn registry_suites_measure_writes_propagation_and_fan_out() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let bin = built();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    loadtest(&[
        "report",
        "--suites",
        "writes,propagation,fanout",
        "--repetitions",
        "1",
        "--seconds",
        "1",
        "--change-rates",
        "20,100",
        "--registry-sizes",
        "300",
        "--agents",
        "3",
        "--out",
        out.to_str().unwrap(),
        "--work",
        tmp.path().join("work").to_str().unwrap(),
        "--bin",
        bin.to_str().unwrap(),
    ]);
    let read = |name: &str| -> Run {
        serde_json::from_slice(&std::fs::read(out.join("runs").join(name)).unwrap()).unwrap()
    };
    let writes = read("01-registry-writes.json");
    for variant in [
        "SRRP, TLS 1.3 resumption",
        "SRRP, TLS 1.2 resumption",
        "EPP, one session per connection",
    ] {
        assert!(figure(&writes, variant, "confirmed creates per second") > 0.0);
        assert!(figure(&writes, variant, "control plane CPU per create") > 0.0);
        assert!(figure(&writes, variant, "commands per commit") >= 1.0);
        assert_eq!(figure(&writes, variant, "failed"), 0.0);
    }
    let propagation = read("01-registry-300-propagation.json");
    assert_eq!(
        figure(
            &propagation,
            "one at a time (10/s, one connection)",
            "domains registered"
        ),
        300.0
    );
    for rate in [
        "one at a time (10/s, one connection)",
        "20 changes/s",
        "100 changes/s",
    ] {
        let p99 = figure(
            &propagation,
            rate,
            "answered by every satellite's DNS and WHOIS: p99",
        );
        assert!(p99 > 0.0 && p99 < 10_000.0, "{rate}: {p99} ms");
        assert!(figure(&propagation, rate, "changes probed") > 0.0);
        assert_eq!(
            figure(&propagation, rate, "probes that gave up (10 s)"),
            0.0
        );
        assert!(figure(&propagation, rate, "CPU per change, each agent") > 0.0);
        let curve = propagation
            .series
            .iter()
            .find(|s| s.plot == "propagation" && s.server == rate)
            .expect("a distribution per rate");
        assert!(curve.points.windows(2).all(|w| w[0][1] <= w[1][1]));
    }
    let catch_up = read("01-registry-300-catch-up.json");
    assert!(figure(&catch_up, "satellite 2", "changesets while cut off") > 0.0);
    assert!(
        figure(
            &catch_up,
            "satellite 2",
            "caught up in (agent start included)"
        ) > 0.0
    );
    let fanout = read("01-registry-fanout.json");
    assert_eq!(
        fanout.order,
        ["3 satellites, directly", "1 relay + 2 satellites behind it"]
    );
    assert!(
        figure(
            &fanout,
            "3 satellites, directly",
            "push cost per changeset per satellite"
        )
        .is_finite()
    );
    assert!(
        figure(
            &fanout,
            "1 relay + 2 satellites behind it",
            "relay CPU per changeset per agent it feeds"
        ) > 0.0
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    for expected in [
        "| figure | SRRP, TLS 1.3 resumption | SRRP, TLS 1.2 resumption | EPP, one session per connection |",
        "a registry of 300 domains",
        "| figure | one at a time (10/s, one connection) | 20 changes/s | 100 changes/s |",
        "| figure | satellite 2 |",
        "| figure | 3 satellites, directly | 1 relay + 2 satellites behind it |",
        "](plots/propagation-registry-300.svg)",
    ] {
        assert!(
            report.contains(expected),
            "{expected:?} missing from:\n{report}"
        );
    }
    assert!(out.join("plots/propagation-registry-300.svg").is_file());
}
