//! Propagation: the time from a registrar's confirmation to the change being answered by every
//! satellite's DNS and WHOIS, and a cut-off satellite's catch-up.
//!
//! A registry ([`Registry`]) of each size asked for (`--registry-sizes`: the domains imported
//! before anything is measured, so that costs which grow with the registry show) and two full
//! satellites (update-agent, edge-dns and edge-whois each, the agents compacting after 1,000
//! changesets or a 64th of the zone's names) on loopback, in sync through a snapshot first. As in the fan-out
//! suite, and unlike the others, the constellation's seven processes are not pinned: they share both cores, as they
//! would share a small machine, while the load ([`crate::propagation`]: SRRP creates at a
//! fixed rate, a new TLS connection each, and probes that ask each satellite for every
//! `rate/100`-th name until it is answered) runs on the client core.
//!
//! Per registry: the import's time, the time until both satellites hold it, the control
//! plane's first audit (a whole-zone read on every satellite, a minute after it starts and an
//! hour apart after that: waited for and its agent CPU measured on its own, so that what
//! follows is what each change costs), and the memory of the control plane and the agents.
//! Then creates one at a time (one connection, 10 a second),
//! and at each offered rate: the confirmed rate, the latency to DNS, to WHOIS and to both on
//! every satellite (p50, p99, max), probes that gave up, the CPU per change of the control
//! plane (SRRP, commit, push to both satellites) and of each agent, from `/proc`, and the
//! memory after. The
//! distribution of the latency to both is plotted. Then satellite 2's agent is stopped while
//! the registry takes `3 × seconds` of changes at the highest rate, and started again: the time
//! until it holds the newest serial (process start included), from the journal, is the
//! catch-up.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use ops::scrape::Samples;

use super::process::{self, Server, local, wait_until};
use super::registrar::{self, Ports, Registry};
use super::stats::whole;
use super::{Better, Context, Run, Series};
use crate::propagation::{Load, Satellite};

const SATELLITES: u16 = 2;
/// Quantiles of the plotted distribution.
const QUANTILES: [f64; 15] = [
    0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 1.0,
];

/// Estimated seconds for one repetition, every registry size.
pub fn estimate(ctx: &Context) -> f64 {
    let s = ctx.seconds as f64;
    // The first audit comes a minute after the control plane starts; the servers' first
    // answers take a few seconds.
    let per_registry = 93.0 + (ctx.change_rates.len() + 1) as f64 * (s + 2.0) + 3.0 * s * 1.3;
    // Import and snapshot: about 4 minutes per million domains on two cores.
    let filling: f64 = ctx.registry_sizes.iter().map(|&n| n as f64 * 240e-6).sum();
    per_registry * ctx.registry_sizes.len() as f64 + filling
}

/// The shape a registry size is reported under (`registry-<domains>`, `-signed` when it is;
/// a fresh unsigned one is the other registry suites' `registry`).
fn shape(size: u64, signed: bool) -> String {
    let name = match size {
        0 => "registry".into(),
        n => format!("registry-{n}"),
    };
    match signed {
        true => format!("{name}-signed"),
        false => name,
    }
}

/// One satellite's three processes and their addresses.
struct Node {
    dir: std::path::PathBuf,
    agent: Option<Server>,
    servers: Vec<Server>,
    agent_metrics: u16,
    service: Satellite,
}

impl Node {
    /// Makes satellite `n`'s directory, keys and configurations, and lists it in the registry.
    fn create(registry: &Registry, bin: &Path, n: u16) -> anyhow::Result<Self> {
        let dir = registry.dir.join(format!("sat{n}"));
        registrar::agent_keys(bin, &dir)?;
        registry.add_satellite(&format!("sat{n}"), &dir)?;
        // Metrics of edge-dns and edge-whois on their service port + 5.
        let ports = [4860, 4870, 4875, 4880].map(|p| p + n);
        let [agent_metrics, dns, dns_metrics, whois] = ports;
        let push = registry
            .ports
            .push
            .expect("a registry with satellites has push");
        std::fs::write(
            dir.join("agent.toml"),
            format!(
                "id = \"sat{n}\"\nupstream = \"{}\"\nupstream_key = \"{}\"\nsigning_keys = [\"{}\"]\n\
                 metrics_listen = \"{}\"\ncompact_after = 1000\n\
                 [[zone]]\norigin = \"{}\"\ndirectory = \"zones/tld\"\n",
                local(push),
                registry.key("tunnel.pub")?,
                registry.key("signing.pub")?,
                local(agent_metrics),
                registrar::ZONE,
            ),
        )?;
        std::fs::write(
            dir.join("dns.toml"),
            format!(
                "listen = [\"{}\"]\nmetrics_listen = \"{}\"\n[[zone]]\ndirectory = \"zones/tld\"\n",
                local(dns),
                local(dns_metrics)
            ),
        )?;
        Ok(Self {
            dir,
            agent: None,
            servers: Vec::new(),
            agent_metrics,
            service: Satellite {
                dns: local(dns),
                whois: local(whois),
            },
        })
    }

    /// Starts the agent, on any core.
    fn start_agent(&mut self, bin: &Path) -> anyhow::Result<()> {
        let mut command = Command::new(bin.join("update-agent"));
        command.current_dir(&self.dir).args(["-c", "agent.toml"]);
        self.agent = Some(Server::start(
            &mut command,
            None,
            &self.dir.join("agent.log"),
        )?);
        Ok(())
    }

    /// Starts edge-dns and edge-whois once the agent has written a first serial, and waits
    /// until both answer.
    fn start_servers(&mut self, bin: &Path) -> anyhow::Result<()> {
        wait_until("the agent's first serial", &|| Ok(self.serial().is_some()))?;
        let mut dns = Command::new(bin.join("edge-dns"));
        dns.current_dir(&self.dir).args(["--config", "dns.toml"]);
        self.servers
            .push(Server::start(&mut dns, None, &self.dir.join("dns.log"))?);
        let mut whois = Command::new(bin.join("edge-whois"));
        whois.current_dir(&self.dir).args([
            "--tree",
            "whois",
            "--tld",
            registrar::ZONE,
            "--listen",
            &self.service.whois.to_string(),
            "--metrics-listen",
            &local(self.service.whois.port() + 5).to_string(),
        ]);
        self.servers.push(Server::start(
            &mut whois,
            None,
            &self.dir.join("whois.log"),
        )?);
        process::accepting(self.service.whois, &self.dir.join("whois.log"))?;
        let dns_metrics = self.service.dns.port() + 5;
        wait_until("edge-dns", &|| {
            Ok(Samples::fetch(local(dns_metrics)).is_some())
        })
    }

    /// The serial the agent holds, from its metrics.
    fn serial(&self) -> Option<f64> {
        Samples::fetch(local(self.agent_metrics))?.get(&format!(
            "update_agent_serial{{zone=\"{}\"}}",
            registrar::ZONE
        ))
    }

    /// Snapshots the agent has installed, from its metrics.
    fn snapshots_installed(&self) -> f64 {
        Samples::fetch(local(self.agent_metrics))
            .map_or(0.0, |s| s.sum("update_agent_snapshots_installed_total"))
    }

    /// Audits the agent has answered, from its metrics.
    fn audits(&self) -> f64 {
        Samples::fetch(local(self.agent_metrics))
            .map_or(0.0, |s| s.sum("update_agent_audits_total"))
    }

    /// The agent's proportional set size, in bytes.
    fn agent_memory(&self) -> f64 {
        self.agent
            .as_ref()
            .map_or(0.0, |a| process::memory_bytes(a.pid()) as f64)
    }

    fn agent_cpu(&self) -> f64 {
        self.agent
            .as_ref()
            .map_or(0.0, |a| process::cpu_seconds(a.pid()))
    }

    fn check(&mut self) -> anyhow::Result<()> {
        let running = self.agent.as_mut().is_some_and(Server::running)
            && self.servers.iter_mut().all(Server::running);
        anyhow::ensure!(
            running,
            "a process of satellite {} stopped: see its logs",
            self.dir.display()
        );
        Ok(())
    }
}

/// Removes the files of the registry of `size` domains and its satellites, once its runs are
/// written: a large registry's go before the next one's (at ten million domains, 24 million
/// files: removing them takes about as long as writing them).
pub fn remove(ctx: &Context, size: u64) {
    let _ = std::fs::remove_dir_all(home(ctx, size));
}

fn home(ctx: &Context, size: u64) -> PathBuf {
    ctx.work.join(format!("constellation-{size}"))
}

/// Runs propagation on a registry of `size` domains (`signed`: DNSSEC-signed after the
/// import): one create at a time, each rate, then the catch-up; returns the `propagation` and
/// `catch-up` runs.
pub fn run(ctx: &Context, repetition: u32, size: u64, signed: bool) -> anyhow::Result<Vec<Run>> {
    let shape = shape(size, signed);
    let step = |what: &str| {
        ctx.progress
            .step(&format!("rep {repetition} · {shape} · {what}"))
    };
    step("propagation · a registry and two satellites");
    let ports = Ports::from(4855, true);
    let home = home(ctx, size);
    let registry = Registry::create(&ctx.bin, &home, ports)?;
    let imported = match size {
        0 => 0.0,
        n => {
            step(&format!("importing {} domains", whole(n)));
            registry.import(n)?
        }
    };
    if signed {
        step("signing the zone (control-plane dnssec on)");
        registry.sign()?;
    }
    let mut control = registry.serve(None)?;
    let mut nodes = (1..=SATELLITES)
        .map(|n| Node::create(&registry, &ctx.bin, n))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let started = Instant::now();
    let newest = registry.newest()?;
    for node in &mut nodes {
        node.start_agent(&ctx.bin)?;
    }
    step("both satellites taking the registry (snapshot)");
    // The serial moves when the snapshot's zone is in place; its WHOIS records and search
    // indexes are written after that: wait for the install to end.
    process::wait_within(
        "both satellites to hold the registry",
        // About four minutes a million domains here: half an hour, or more for a larger one.
        std::time::Duration::from_secs_f64((size as f64 * 600e-6).max(1800.0)),
        &|| {
            Ok(nodes
                .iter()
                .all(|n| n.serial() == Some(newest) && n.snapshots_installed() > 0.0))
        },
    )?;
    let in_sync = started.elapsed().as_secs_f64();
    // The control plane's first audit (a minute after it starts, an hour apart after that)
    // reads the whole zone on every satellite: its cost is measured here, on its own, so that
    // the runs below measure what each change costs.
    step("the first audit");
    let (audit_started, cpu_before) = (
        Instant::now(),
        nodes.iter().map(Node::agent_cpu).sum::<f64>(),
    );
    // At ten million domains an agent reads 11 million files, most of them not in memory.
    let audit_within = (size as f64 * 150e-6).max(180.0);
    while nodes.iter().any(|n| n.audits() < 1.0)
        && audit_started.elapsed().as_secs_f64() < audit_within
    {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let audited = audit_started.elapsed().as_secs_f64();
    let audit_cpu =
        (nodes.iter().map(Node::agent_cpu).sum::<f64>() - cpu_before) / nodes.len() as f64;
    for node in &mut nodes {
        node.start_servers(&ctx.bin)?;
    }
    registry.warm()?;
    ctx.progress.advance(30.0 + size as f64 * 240e-6);

    let one_at_a_time = "one at a time (10/s, one connection)".to_string();
    let labels: Vec<String> = std::iter::once(one_at_a_time.clone())
        .chain(
            ctx.change_rates
                .iter()
                .map(|&r| format!("{} changes/s", whole(r))),
        )
        .collect();
    let mut propagation = Run::new("propagation", &shape, repetition, labels.clone());
    let mb = |pid: u32| process::memory_bytes(pid) as f64 / 1e6;
    let memory = |run: &mut Run, label: &str, control: &Server, nodes: &[Node]| {
        run.add(
            label,
            "control plane memory (PSS)",
            "MB",
            mb(control.pid()),
            Better::Lower,
        );
        let agents: f64 = nodes.iter().map(Node::agent_memory).sum::<f64>() / nodes.len() as f64;
        run.add(
            label,
            "memory of each agent (PSS)",
            "MB",
            agents / 1e6,
            Better::Lower,
        );
    };
    let first = &labels[0];
    propagation.add(
        first,
        "domains registered",
        "",
        size as f64,
        Better::Neither,
    );
    propagation.add(
        first,
        "import (control-plane import)",
        "s",
        imported,
        Better::Lower,
    );
    propagation.add(
        first,
        "both satellites in sync (agent start to newest serial)",
        "s",
        in_sync,
        Better::Lower,
    );
    propagation.add(
        first,
        "first audit answered by both (after in sync; the audit comes a minute after start)",
        "s",
        audited,
        Better::Neither,
    );
    propagation.add(
        first,
        "first audit: each agent's CPU (a whole-zone read, an hour apart)",
        "s",
        audit_cpu,
        Better::Lower,
    );
    let services: Vec<Satellite> = nodes.iter().map(|n| n.service).collect();
    let ms = |h: &hdrhistogram::Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1e3;
    // The servers were started just now and have answered nothing yet: their first answers
    // read a large registry's pages from disk. Measured apart, so the windows below measure
    // servers in their running state, as they would be after months of it.
    step("propagation · the servers' first answers");
    let cold = crate::propagation::run(
        &Load {
            connections: 1,
            ..load(&registry, 10, 1, "f-", 1)
        },
        &registry.certificate(),
        &services,
    )?;
    log_slowest(ctx, "the servers' first answers", &cold.slowest);
    propagation.add(
        first,
        "the servers' first answers (a second of creates at 10/s before the windows): max",
        "ms",
        ms(&cold.both, 1.0),
        Better::Lower,
    );
    let loads =
        std::iter::once((10, 1, 1, "o-".to_string())).chain(ctx.change_rates.iter().map(|&rate| {
            (
                rate,
                registrar::CONNECTIONS,
                rate / 100,
                format!("p{rate}-"),
            )
        }));
    for ((rate, connections, sample, prefix), label) in loads.zip(&labels) {
        step(&format!("propagation · {label}"));
        let cpu = |nodes: &[Node]| -> Vec<f64> {
            std::iter::once(process::cpu_seconds(control.pid()))
                .chain(nodes.iter().map(Node::agent_cpu))
                .collect()
        };
        let before = cpu(&nodes);
        let applied = |nodes: &[Node]| {
            Samples::fetch(local(nodes[0].agent_metrics))
                .map_or(0.0, |s| s.sum("update_agent_changesets_applied_total"))
        };
        let applied_before = applied(&nodes);
        let mut load = load(&registry, rate, ctx.seconds, &prefix, sample);
        load.connections = connections;
        let report = crate::propagation::run(&load, &registry.certificate(), &services)?;
        // The CPU of applying every change: until both satellites hold the newest serial.
        let newest = registry.newest()?;
        wait_until("both satellites to hold the newest serial", &|| {
            Ok(nodes.iter().all(|n| n.serial() == Some(newest)))
        })?;
        let after = cpu(&nodes);
        ctx.progress.advance(ctx.seconds as f64 + 2.0);
        memory(&mut propagation, label, &control, &nodes);
        let confirmed = report.confirmed.max(1) as f64;
        let agents =
            (after[1..].iter().sum::<f64>() - before[1..].iter().sum::<f64>()) / nodes.len() as f64;
        let add = |run: &mut Run, metric: &str, unit: &str, value: f64, better: Better| {
            run.add(label, metric, unit, value, better);
        };
        add(
            &mut propagation,
            "confirmed changes per second",
            "",
            report.confirmed as f64 / report.elapsed.as_secs_f64(),
            Better::Higher,
        );
        for (what, histogram) in [
            ("DNS and WHOIS", &report.both),
            ("DNS", &report.dns),
            ("WHOIS", &report.whois),
        ] {
            for (q, name) in [(0.5, "p50"), (0.99, "p99"), (1.0, "max")] {
                add(
                    &mut propagation,
                    &format!("answered by every satellite's {what}: {name}"),
                    "ms",
                    ms(histogram, q),
                    Better::Lower,
                );
            }
        }
        log_slowest(ctx, label, &report.slowest);
        if let Some(slowest) = report.slowest.first() {
            add(
                &mut propagation,
                "the slowest change: confirmed after the window's start",
                "s",
                slowest.confirmed.as_secs_f64(),
                Better::Neither,
            );
        }
        add(
            &mut propagation,
            "changes probed",
            "",
            report.both.len() as f64,
            Better::Neither,
        );
        add(
            &mut propagation,
            "probes that gave up (10 s)",
            "",
            report.lost as f64,
            Better::Lower,
        );
        add(
            &mut propagation,
            "control plane CPU per change",
            "µs",
            (after[0] - before[0]) * 1e6 / confirmed,
            Better::Lower,
        );
        add(
            &mut propagation,
            "CPU per change, each agent",
            "µs",
            agents * 1e6 / confirmed,
            Better::Lower,
        );
        add(
            &mut propagation,
            "changesets per satellite (one per commit batch)",
            "",
            applied(&nodes) - applied_before,
            Better::Neither,
        );
        propagation.series.push(Series {
            plot: "propagation".into(),
            server: label.clone(),
            points: QUANTILES
                .iter()
                .map(|&q| [q * 100.0, ms(&report.both, q)])
                .collect(),
        });
        for node in &mut nodes {
            node.check()?;
        }
    }

    let rate = ctx.change_rates.iter().copied().max().unwrap_or(1000);
    let cut_off = 3 * ctx.seconds;
    step(&format!(
        "catch-up · satellite 2 cut off for {cut_off} s at {} changes/s",
        whole(rate)
    ));
    let mut catch_up = Run::new("catch-up", &shape, repetition, vec!["satellite 2".into()]);
    // Both satellites hold the newest serial (the last rate waited for them).
    let held = registry.newest()?;
    if let Some(agent) = nodes[1].agent.take() {
        agent.stop();
    }
    let load = load(&registry, rate, cut_off, "c-", u64::MAX);
    let report = crate::propagation::run(&load, &registry.certificate(), &[])?;
    let target = registry.newest()?;
    wait_until("satellite 1 to hold the newest serial", &|| {
        Ok(nodes[0].serial() == Some(target))
    })?;
    let started = Instant::now();
    nodes[1].start_agent(&ctx.bin)?;
    wait_until("satellite 2 to catch up", &|| {
        Ok(nodes[1].serial() == Some(target))
    })?;
    let took = started.elapsed().as_secs_f64();
    ctx.progress.advance(3.0 * ctx.seconds as f64 * 1.3);
    let name = "satellite 2";
    catch_up.add(name, "cut off for", "s", cut_off as f64, Better::Neither);
    catch_up.add(
        name,
        "changes while cut off",
        "",
        report.confirmed as f64,
        Better::Neither,
    );
    catch_up.add(
        name,
        "changesets while cut off",
        "",
        target - held,
        Better::Neither,
    );
    catch_up.add(
        name,
        "caught up in (agent start included)",
        "s",
        took,
        Better::Lower,
    );
    catch_up.add(
        name,
        "catch-up time as a share of the time cut off",
        "%",
        100.0 * took / cut_off as f64,
        Better::Lower,
    );
    catch_up.add(
        name,
        "agent CPU to catch up",
        "s",
        nodes[1].agent_cpu(),
        Better::Lower,
    );
    for node in &mut nodes {
        node.check()?;
    }
    anyhow::ensure!(
        control.running(),
        "the control plane stopped: see {}",
        registry.dir.join("serve.log").display()
    );
    drop(nodes);
    control.stop();
    Ok(vec![propagation, catch_up])
}

/// Shows a window's slowest changes in the report's log.
fn log_slowest(ctx: &Context, window: &str, slowest: &[crate::propagation::Slow]) {
    for slow in slowest {
        ctx.progress.note(&format!("{window} · slowest: {slow}"));
    }
}

/// Creates at `rate` for `seconds` from every registrar connection, every `sample`-th probed.
fn load(registry: &Registry, rate: u64, seconds: u64, prefix: &str, sample: u64) -> Load {
    Load {
        server: registry.srrp(),
        rate,
        seconds,
        connections: registrar::CONNECTIONS,
        first_registrar: registrar::FIRST_REGISTRAR,
        registrars: registrar::REGISTRARS,
        zone: registrar::ZONE.into(),
        prefix: prefix.into(),
        sample: sample.max(1),
    }
}
