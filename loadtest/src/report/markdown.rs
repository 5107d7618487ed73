//! The Markdown report: per suite and shape, a table of every figure's median and range over
//! the repetitions, one column per server, and how many times better ours is than each other
//! server; the machine, the versions, the command and the plots.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::plot::{Plot, median_curves};
use super::stats::{Summary, format, whole};
use super::{Better, Header, Run, Suite};

/// Ours and the servers it is compared with, per suite.
fn sides(suite: &str) -> (&'static str, &'static [&'static str]) {
    match suite {
        "zone" => (
            "zonefiles",
            &["nsd-checkzone", "kzonecheck", "named-checkzone"],
        ),
        "whois" | "rdap" => (
            "edge-whois",
            &["bare limit", "bare limit, reading the tree"],
        ),
        "writes" | "propagation" | "catch-up" | "fanout" => ("", &[]),
        _ => ("edge-dns", &["nsd", "knot"]),
    }
}

fn title(suite: &str) -> &'static str {
    match suite {
        "zone" => {
            "Zone tooling: our compile (parse, check, compile, write) beside the checkers' load (parse, check)"
        }
        "dns" => "DNS serving: one server core, one worker, every client on the other core",
        "whois" => {
            "WHOIS on port 43, a connection per query, 32 clients, beside the cheapest server possible (accept, read a line, answer the same bytes, close)"
        }
        "rdap" => {
            "RDAP over 32 keep-alive HTTP/1.1 connections, beside edge-whois's own HTTP stack answering a fixed body (and reading the record from the tree first)"
        }
        "writes" => {
            "Registrar writes: durable creates on a fresh registry from 50 connections over 50 registrars, the control plane on the server core"
        }
        "propagation" => {
            "Propagation: registrar confirmation to answered by both satellites' DNS and WHOIS (a control plane and two full satellites sharing both cores)"
        }
        "catch-up" => {
            "Catch-up: satellite 2's agent stopped while the registry takes changes at the highest offered rate, then started again"
        }
        "fanout" => {
            "Fan-out: the control plane feeding update-agents (no servers) at 100 creates/s, directly or through one relay, beside the same load with no satellite; nothing pinned"
        }
        _ => {
            "Zone transfers (AXFR, the client counting records without decoding them) and live updates"
        }
    }
}

/// The domains of a registry the propagation suite filled first (its shape `registry-<N>`).
pub fn registry_size(shape: &str) -> Option<u64> {
    shape.strip_prefix("registry-")?.parse().ok()
}

/// The column order: ours first, the reflector (the floor) last.
fn column_rank(server: &str) -> usize {
    match server {
        "edge-dns" | "zonefiles" => 0,
        "nsd" | "nsd-checkzone" => 1,
        "knot" | "kzonecheck" => 2,
        "named-checkzone" => 3,
        "edge-whois" => 0,
        "bare limit" => 1,
        "bare limit, reading the tree" => 2,
        "reflector" => 9,
        label if label.starts_with("SRRP, TLS 1.3") => 0,
        label if label.starts_with("SRRP, TLS 1.2") => 1,
        label if label.starts_with("EPP") => 2,
        label if label.ends_with("satellites, directly") => 0,
        label if label.starts_with("1 relay + ") => 1,
        // Offered rates ("1,000 changes/s"), in increasing order.
        label => label
            .split(' ')
            .next()
            .and_then(|n| n.replace(',', "").parse::<usize>().ok())
            .map_or(5, |n| 10 + n),
    }
}

/// Rates as whole numbers with their thousands grouped, joined by `separator`.
fn listed(rates: &[u64], separator: &str) -> String {
    rates
        .iter()
        .map(|&r| whole(r))
        .collect::<Vec<_>>()
        .join(separator)
}

/// A date and time to the minute, UTC, from seconds since 1970.
pub fn utc(seconds: u64) -> String {
    let full = zonefiles::calendar::date_time(seconds as i64);
    format!("{} UTC", &full[..16])
}

fn cell(summary: Option<Summary>) -> String {
    match summary {
        None => String::new(),
        Some(s) if s.count > 1 => {
            format!("{} ({}–{})", format(s.median), format(s.min), format(s.max))
        }
        Some(s) => format(s.median),
    }
}

/// Renders the report; plots are linked under `plot_prefix`.
pub fn render(header: &Header, runs: &[Run], plots: &[Plot], plot_prefix: &str) -> String {
    let mut md = String::new();
    let o = &header.options;
    let m = &header.machine;
    let _ = writeln!(
        md,
        "## Report of {} (`loadtest report`)\n",
        utc(header.started)
    );
    let minutes = header.finished.saturating_sub(header.started) as f64 / 60.0;
    let _ = writeln!(
        md,
        "Made by `{}` in {:.0} minutes. Render the text and plots again from its JSON with `loadtest report --render-only --out DIR`.\n",
        header.command, minutes
    );
    let _ = writeln!(md, "| machine | |\n| --- | --- |");
    let _ = writeln!(md, "| CPU | {} |", m.cpu);
    let placement = match header.cores {
        (Some(s), Some(c)) => format!("servers pinned to core {s}, clients to core {c}"),
        _ => "nothing pinned".to_owned(),
    };
    let _ = writeln!(md, "| cores | {} ({placement}) |", m.cores);
    let _ = writeln!(md, "| memory | {} GiB |", m.memory_gib);
    let _ = writeln!(md, "| kernel | {} |", m.kernel);
    let _ = writeln!(md, "| virtualization | {} |", m.virtualization);
    let _ = writeln!(md, "\n| program | version |\n| --- | --- |");
    for (program, version) in &header.versions {
        let _ = writeln!(md, "| {program} | {version} |");
    }
    let _ = writeln!(
        md,
        "\nSettings: {} delegations per zone; {} repetition(s), the servers' order turning each time; \
         dnsperf `{}` for {} s per saturation run; the latency curve from `loadtest dns` (open loop, every answer timed) \
         for {} s at each of {} queries/s.\n",
        o.delegations,
        o.repetitions,
        super::DNSPERF_LOAD.join(" "),
        o.seconds,
        o.latency_seconds,
        listed(&o.rates, ", "),
    );
    let _ = writeln!(
        md,
        "Each cell is the median over the repetitions, with the smallest and largest in brackets. \
         A column \"× vs X\" says how many times better ours is than X on that line (above 1: ours is better; \
         below 1: X is). Server CPU per operation comes from the kernel's accounting of the server's processes \
         (`/proc/PID/stat`, the whole process tree), so a saturated load generator cannot flatter it; \
         the `reflector` column is edge-dns's own socket loops (UDP workers, TCP connections) answering each query with its own bytes: \
         its CPU per query is the floor under any server on this machine, and its queries per second \
         are the ceiling of what dnsperf can drive here. Memory is the proportional set size (PSS) of the process tree.\n"
    );
    if o.suites.contains(&Suite::Writes) || o.suites.contains(&Suite::Propagation) {
        let _ = writeln!(
            md,
            "The registry's suites: each write load runs {} s after a second of warm-up; propagation is offered {} \
             changes/s for {} s each, every `rate/100`-th confirmed change probed on every satellite, and the \
             catch-up cuts satellite 2 off for {} s at the highest of those rates.\n",
            o.seconds,
            listed(&o.change_rates, " and "),
            o.seconds,
            3 * o.seconds
        );
    }
    let stalls: Vec<[f64; 3]> = runs.iter().filter_map(|r| r.stalls).collect();
    if !stalls.is_empty() {
        let pick = |i: usize| {
            Summary::of(&stalls.iter().map(|s| s[i]).collect::<Vec<_>>()).map_or(0.0, |s| s.median)
        };
        let _ = writeln!(
            md,
            "The server core while idle, 2 s before each DNS run (`loadtest stalls`): a median of {} gaps over 300 µs, \
             {} ms in all, the longest {} ms — the floor under any tail latency here.\n",
            format(pick(0)),
            format(pick(1)),
            format(pick(2))
        );
    }

    let mut groups: BTreeMap<(usize, &str), Vec<&Run>> = BTreeMap::new();
    for run in runs {
        let rank = [
            "zone",
            "dns",
            "xfr",
            "whois",
            "rdap",
            "writes",
            "propagation",
            "catch-up",
            "fanout",
        ]
        .iter()
        .position(|s| *s == run.suite)
        .unwrap_or(9);
        groups
            .entry((rank, run.suite.as_str()))
            .or_default()
            .push(run);
    }
    for ((_, suite), suite_runs) in groups {
        let mut shapes: Vec<&str> = suite_runs.iter().map(|r| r.shape.as_str()).collect();
        shapes.sort_by_key(|s| {
            let known = header.options.shapes.iter().position(|x| x == s);
            (known.unwrap_or(usize::MAX), registry_size(s), *s)
        });
        shapes.dedup();
        for shape in shapes {
            let group: Vec<&Run> = suite_runs
                .iter()
                .copied()
                .filter(|r| r.shape == shape)
                .collect();
            // The registry's suites make their own data: no zone shape.
            if shape == "registry" {
                let _ = writeln!(md, "### {}\n", title(suite));
            } else if let Some(size) = registry_size(shape) {
                let _ = writeln!(
                    md,
                    "### {}; a registry of {} domains\n",
                    title(suite),
                    whole(size)
                );
            } else {
                let _ = writeln!(md, "### {}; shape `{shape}`\n", title(suite));
            }
            table(&mut md, suite, &group);
            if suite == "dns" {
                floor(&mut md, &group);
                latency_table(&mut md, &group);
            }
            for plot in plots
                .iter()
                .filter(|p| p.suite == suite && p.shape == shape)
            {
                let _ = writeln!(md, "![{}]({plot_prefix}{})\n", plot.title, plot.file);
            }
        }
    }
    md
}

fn table(md: &mut String, suite: &str, runs: &[&Run]) {
    let mut servers: Vec<&str> = Vec::new();
    let mut metrics: Vec<(&str, &str, Better)> = Vec::new();
    let mut values: BTreeMap<(&str, &str), Vec<f64>> = BTreeMap::new();
    for run in runs {
        for m in &run.measurements {
            if !servers.contains(&m.server.as_str()) {
                servers.push(&m.server);
            }
            if !metrics.iter().any(|(name, ..)| *name == m.metric) {
                metrics.push((&m.metric, &m.unit, m.better));
            }
            values
                .entry((&m.metric, &m.server))
                .or_default()
                .push(m.value);
        }
    }
    servers.sort_by_key(|s| column_rank(s));
    let (ours, rivals) = sides(suite);
    let rivals: Vec<&str> = rivals
        .iter()
        .copied()
        .filter(|r| servers.contains(r) && servers.contains(&ours))
        .collect();
    let _ = write!(md, "| figure |");
    for s in &servers {
        let _ = write!(md, " {s} |");
    }
    for r in &rivals {
        let _ = write!(md, " × vs {r} |");
    }
    let _ = write!(md, "\n| --- |");
    for _ in 0..servers.len() + rivals.len() {
        let _ = write!(md, " --- |");
    }
    let _ = writeln!(md);
    for (metric, unit, better) in metrics {
        let label = if unit.is_empty() {
            metric.to_owned()
        } else {
            format!("{metric} ({unit})")
        };
        let _ = write!(md, "| {label} |");
        let summary = |server: &str| values.get(&(metric, server)).and_then(|v| Summary::of(v));
        for s in &servers {
            let _ = write!(md, " {} |", cell(summary(s)));
        }
        for r in &rivals {
            let ratio = match (summary(ours), summary(r), better) {
                (Some(a), Some(b), Better::Lower) if a.median > 0.0 => {
                    format!("{:.2}", b.median / a.median)
                }
                (Some(a), Some(b), Better::Higher) if b.median > 0.0 => {
                    format!("{:.2}", a.median / b.median)
                }
                _ => String::new(),
            };
            let _ = write!(md, " {ratio} |");
        }
        let _ = writeln!(md);
    }
    let _ = writeln!(md);
}

/// The floor sentence: how much of edge-dns's CPU per UDP query the engine takes.
fn floor(md: &mut String, runs: &[&Run]) {
    let median = |server: &str| {
        let v: Vec<f64> = runs
            .iter()
            .flat_map(|r| &r.measurements)
            .filter(|m| m.server == server && m.metric == "UDP server CPU per query")
            .map(|m| m.value)
            .collect();
        Summary::of(&v).map(|s| s.median)
    };
    if let (Some(ours), Some(floor)) = (median("edge-dns"), median("reflector")) {
        let _ = write!(
            md,
            "Of edge-dns's {} µs of CPU per UDP query, the socket loop alone (the reflector) takes {} µs; \
             the answer engine and what it touches take {} µs ({:.0}%).",
            format(ours),
            format(floor),
            format(ours - floor),
            100.0 * (ours - floor) / ours
        );
        if let Some(nsd) = median("nsd") {
            let target = nsd / 1.5;
            let _ = if target > floor {
                write!(
                    md,
                    " Using 1/1.5 of NSD's CPU per query would mean {} µs per query, {} µs above the floor.",
                    format(target),
                    format(target - floor)
                )
            } else {
                write!(
                    md,
                    " Using 1/1.5 of NSD's CPU per query would mean {} µs per query: below the floor \
                     itself, out of reach for any engine on this socket loop.",
                    format(target)
                )
            };
        }
        let _ = writeln!(md, "\n");
    }
}

/// p50 / p99 / loss at each offered load, one column per server.
fn latency_table(md: &mut String, runs: &[&Run]) {
    let p50 = median_curves(runs, "latency-p50");
    let p99 = median_curves(runs, "latency-p99");
    let lost = median_curves(runs, "lost");
    let mut servers: Vec<&str> = p99
        .iter()
        .filter(|(_, p)| !p.is_empty())
        .map(|(s, _)| s.as_str())
        .collect();
    if servers.is_empty() {
        return;
    }
    servers.sort_by_key(|s| column_rank(s));
    let mut rates: Vec<f64> = p99
        .iter()
        .flat_map(|(_, p)| p.iter().map(|x| x.0))
        .collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    let _ = writeln!(
        md,
        "UDP latency against offered load (`loadtest dns`; p50 / p99 in ms, and the share of queries unanswered; medians over the repetitions):\n"
    );
    let _ = write!(md, "| offered queries/s |");
    for s in &servers {
        let _ = write!(md, " {s} |");
    }
    let _ = write!(md, "\n| --- |");
    for _ in &servers {
        let _ = write!(md, " --- |");
    }
    let _ = writeln!(md);
    let at = |curves: &[(String, Vec<(f64, f64)>)], server: &str, rate: f64| {
        curves
            .iter()
            .find(|(s, _)| s == server)
            .and_then(|(_, p)| p.iter().find(|x| x.0 == rate))
            .map(|x| x.1)
    };
    for rate in rates {
        let _ = write!(md, "| {} |", format(rate));
        for s in &servers {
            match (at(&p50, s, rate), at(&p99, s, rate), at(&lost, s, rate)) {
                (Some(a), Some(b), Some(l)) => {
                    let _ = write!(
                        md,
                        " {} / {} ms, {}% lost |",
                        format(a),
                        format(b),
                        format(l)
                    );
                }
                _ => {
                    let _ = write!(md, " |");
                }
            }
        }
        let _ = writeln!(md);
    }
    let _ = writeln!(md);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Measurement, Options, Series, env::Machine};

    fn run(rep: u32, edge_qps: f64, nsd_qps: f64) -> Run {
        let m = |server: &str, metric: &str, value: f64, better| Measurement {
            server: server.into(),
            metric: metric.into(),
            unit: String::new(),
            value,
            better,
        };
        Run {
            suite: "dns".into(),
            shape: "pairs".into(),
            repetition: rep,
            order: vec!["edge-dns".into(), "nsd".into()],
            started: 0,
            stalls: Some([1.0, 0.5, 0.5]),
            measurements: vec![
                m("nsd", "UDP queries per second", nsd_qps, Better::Higher),
                m(
                    "edge-dns",
                    "UDP queries per second",
                    edge_qps,
                    Better::Higher,
                ),
                m("edge-dns", "UDP server CPU per query", 4.0, Better::Lower),
                m("nsd", "UDP server CPU per query", 6.0, Better::Lower),
                m("reflector", "UDP server CPU per query", 2.0, Better::Lower),
            ],
            series: vec![Series {
                plot: "latency-p99".into(),
                server: "edge-dns".into(),
                points: vec![[1000.0, rep as f64]],
            }],
        }
    }

    fn test_header() -> Header {
        Header {
            command: "loadtest report".into(),
            started: 1_796_300_000,
            finished: 1_796_300_600,
            machine: Machine {
                cpu: "test".into(),
                cores: 2,
                memory_gib: 1.0,
                kernel: "6".into(),
                virtualization: "kvm".into(),
                host: "h".into(),
            },
            versions: BTreeMap::new(),
            options: Options {
                delegations: 10,
                shapes: vec!["pairs".into()],
                suites: vec![crate::report::Suite::Dns],
                servers: vec!["edge-dns".into(), "nsd".into()],
                repetitions: 3,
                seconds: 1,
                latency_seconds: 1,
                rates: vec![1000],
                change_rates: vec![100, 1000],
                registry_sizes: vec![2000],
                dnssec: vec![false],
                agents: 50,
            },
            cores: (Some(0), Some(1)),
        }
    }

    #[test]
    fn medians_ranges_and_ratios() {
        let header = test_header();
        let runs = [
            run(1, 150_000.0, 100_000.0),
            run(2, 160_000.0, 90_000.0),
            run(3, 140_000.0, 110_000.0),
        ];
        let md = render(&header, &runs, &[], "plots/");
        assert!(md.contains("## Report of 2026-12-03 12:13 UTC"), "{md}");
        // Columns: ours first, the reflector last; one ratio column against NSD.
        assert!(
            md.contains("| figure | edge-dns | nsd | reflector | × vs nsd |"),
            "{md}"
        );
        assert!(md.contains("| UDP queries per second | 150,000 (140,000–160,000) | 100,000 (90,000–110,000) |  | 1.50 |"), "{md}");
        assert!(md.contains("| UDP server CPU per query | 4.00 (4.00–4.00) | 6.00 (6.00–6.00) | 2.00 (2.00–2.00) | 1.50 |"), "{md}");
        assert!(
            md.contains("the answer engine and what it touches take 2.00 µs (50%)"),
            "{md}"
        );
        assert!(md.contains("| 1,000 | "), "{md}");
    }

    #[test]
    fn registry_suites_have_no_shape_and_keep_their_columns_in_order() {
        let mut header = test_header();
        header.options.suites = vec![Suite::Writes, Suite::Propagation];
        let mut writes = Run::new("writes", "registry", 1, vec![]);
        for (label, rate) in [
            ("EPP, one session per connection", 3.0),
            ("SRRP, TLS 1.2 resumption", 2.0),
            ("SRRP, TLS 1.3 resumption", 1.0),
        ] {
            writes.add(
                label,
                "confirmed creates per second",
                "",
                rate,
                Better::Higher,
            );
        }
        let mut propagation = Run::new("propagation", "registry", 1, vec![]);
        for label in ["1,000 changes/s", "100 changes/s"] {
            propagation.add(
                label,
                "control plane CPU per change",
                "µs",
                500.0,
                Better::Lower,
            );
        }
        let md = render(&header, &[writes, propagation], &[], "plots/");
        assert!(md.contains("### Registrar writes: durable creates"), "{md}");
        assert!(!md.contains("shape `registry`"), "{md}");
        assert!(md.contains("| figure | SRRP, TLS 1.3 resumption | SRRP, TLS 1.2 resumption | EPP, one session per connection |\n"), "{md}");
        assert!(
            md.contains("| figure | 100 changes/s | 1,000 changes/s |\n"),
            "{md}"
        );
        assert!(
            md.contains("propagation is offered 100 and 1,000 changes/s"),
            "{md}"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_796_300_000), "2026-12-03 12:13 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
    }
}
