//! The serving benchmarks: DNS over UDP and TCP at saturation (dnsperf), latency against
//! offered load (`loadtest dns`), full zone transfers, memory over time — edge-dns, NSD and
//! Knot on the same zone and query file, each in turn on the server core with one worker,
//! every client on the other core.
//!
//! Each server is started once per repetition and shape and runs every step asked for; the
//! order of the servers turns with each repetition, so no server always runs first (on a
//! warmer or colder machine). Before them, a bare reflector (edge-dns `--reflect`: the same UDP
//! socket loop and TCP connections answering each query with its own bytes, no engine, no
//! zone) measures the floor of the server's cost per query and the ceiling of what the load
//! generator can drive, over UDP and over TCP.
//! After them, edge-dns and NSD run once more with response rate limiting on and every
//! response counted (at a rate far above the load, so nothing is limited): the cost of the
//! accounting itself.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::process::{self, Server};
use super::{Better, Context, Run, Series};

/// The servers, in the order of the first repetition.
pub const SERVERS: [&str; 3] = ["edge-dns", "nsd", "knot"];
const REFLECTOR: &str = "reflector";

/// What to run against each server.
#[derive(Debug, Clone, Copy)]
pub struct Steps {
    /// UDP and TCP at saturation, latency against load, memory.
    pub dns: bool,
    /// Full zone transfers.
    pub xfr: bool,
}

fn port(server: &str) -> u16 {
    match server {
        "nsd" => 5601,
        "knot" => 5602,
        "edge-dns" => 5603,
        "nsd-rrl" => 5605,
        "edge-dns-rrl" => 5606,
        _ => 5607,
    }
}

/// Writes the servers' configurations into `dir` (the shape's work directory).
pub fn configure(dir: &Path) -> anyhow::Result<()> {
    let d = dir.display();
    let edge = |port: u16| {
        format!(
            "listen = [\"127.0.0.1:{port}\"]\nworkers = 1\n[[zone]]\ndirectory = \"{d}/tld-dir\"\n\
             allow_transfer = [ {{ from = [\"127.0.0.1\"] }} ]\n"
        )
    };
    std::fs::write(dir.join("edge-dns.toml"), edge(port("edge-dns")))?;
    std::fs::write(dir.join("reflector.toml"), edge(port(REFLECTOR)))?;
    // With response rate limiting on and every response counted (loopback is not exempt), at a
    // rate far above the load, so that nothing is limited: the cost of the accounting alone.
    std::fs::write(
        dir.join("edge-dns-rrl.toml"),
        edge(port("edge-dns-rrl")) + "[rate_limit]\nresponses_per_second = 4000000\nexempt = []\n",
    )?;
    let nsd = |name: &str, ratelimit: u32| {
        let p = port(name);
        format!(
            "server:\n  ip-address: 127.0.0.1@{p}\n  port: {p}\n  username: \"\"\n  chroot: \"\"\n  \
             zonesdir: \"{d}\"\n  database: \"\"\n  zonelistfile: \"{d}/{name}-zone.list\"\n  \
             pidfile: \"{d}/{name}.pid\"\n  xfrdfile: \"{d}/{name}-xfrd.state\"\n  xfrdir: \"{d}\"\n  \
             server-count: 1\n  verbosity: 0\n  rrl-ratelimit: {ratelimit}\nremote-control:\n  control-enable: no\n\
             zone:\n  name: tld\n  zonefile: \"{d}/tld.zone\"\n  provide-xfr: 127.0.0.1 NOKEY\n"
        )
    };
    std::fs::write(dir.join("nsd.conf"), nsd("nsd", 0))?;
    std::fs::write(dir.join("nsd-rrl.conf"), nsd("nsd-rrl", 4_000_000))?;
    let p = port("knot");
    std::fs::create_dir_all(dir.join("knot"))?;
    std::fs::write(
        dir.join("knot.conf"),
        format!(
            "server:\n    listen: 127.0.0.1@{p}\n    rundir: \"{d}/knot\"\n    udp-workers: 1\n    \
             tcp-workers: 1\n    background-workers: 1\ndatabase:\n    storage: \"{d}/knot\"\n\
             acl:\n  - id: local\n    address: 127.0.0.1\n    action: transfer\n\
             template:\n  - id: default\n    storage: \"{d}\"\n    semantic-checks: off\n    \
             zonefile-sync: -1\n    zonefile-load: whole\n    journal-content: none\n\
             zone:\n  - domain: tld\n    file: \"{d}/tld.zone\"\n    acl: local\n"
        ),
    )?;
    Ok(())
}

fn command(ctx: &Context, dir: &Path, server: &str) -> Command {
    let config = |name: &str| dir.join(name);
    match server {
        "nsd" | "nsd-rrl" => {
            let mut c = Command::new("nsd");
            c.arg("-d").arg("-c").arg(config(&format!("{server}.conf")));
            c
        }
        "knot" => {
            let mut c = Command::new("knotd");
            c.arg("-c").arg(config("knot.conf"));
            c
        }
        "edge-dns" | "edge-dns-rrl" => {
            let mut c = Command::new(ctx.bin.join("edge-dns"));
            c.arg("--config").arg(config(&format!("{server}.toml")));
            c
        }
        _ => {
            let mut c = Command::new(ctx.bin.join("edge-dns"));
            c.arg("--reflect")
                .arg("--config")
                .arg(config("reflector.toml"));
            c
        }
    }
}

/// Estimated seconds for one repetition on one shape (for the time left).
pub fn estimate(ctx: &Context, steps: Steps) -> f64 {
    let per_server = 4.0
        + ctx.delegations as f64 * 10e-6
        + if steps.dns {
            2.0 * (ctx.seconds as f64 + 1.0)
                + ctx.rates.len() as f64 * (ctx.latency_seconds as f64 + 1.5)
        } else {
            0.0
        }
        + if steps.xfr {
            3.0 * (0.5 + ctx.delegations as f64 * 1e-6)
        } else {
            0.0
        };
    let updates = if steps.xfr { update_estimate(ctx) } else { 0.0 };
    // The reflector, and edge-dns and NSD with rate limiting on.
    let apart = if steps.dns {
        2.0 * ctx.seconds as f64
            + 3.0
            + 2.0 * (ctx.seconds as f64 + 3.0 + ctx.delegations as f64 * 10e-6)
    } else {
        0.0
    };
    apart + updates + per_server * ctx.servers.len() as f64
}

/// Runs the steps on every server for one repetition of one shape; returns the `dns` and
/// `xfr` runs asked for.
pub fn run(
    ctx: &Context,
    shape: &str,
    repetition: u32,
    steps: Steps,
    queries: &[Vec<u8>],
) -> anyhow::Result<Vec<Run>> {
    let dir = ctx.work.join(shape);
    let mut order = ctx.servers.clone();
    let len = order.len().max(1);
    order.rotate_left((repetition as usize - 1) % len);
    init_zone_dir(ctx, &dir)?;
    let mut dns = Run::new("dns", shape, repetition, order.clone());
    let mut xfr = Run::new("xfr", shape, repetition, order.clone());
    if steps.dns {
        dns.stalls = Some(ctx.stalls());
        ctx.progress
            .step(&format!("{shape} · rep {repetition} · reflector · UDP"));
        floor(ctx, &dir, &mut dns)?;
    }
    for name in &order {
        let at = |step: &str| format!("{shape} · rep {repetition} · {name} · {step}");
        ctx.progress.step(&at("start"));
        let (mut server, ready) = start_ready(ctx, &dir, name)?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port(name)));
        dns.add(
            name,
            "ready after start",
            "ms",
            ready.as_secs_f64() * 1e3,
            Better::Lower,
        );
        ctx.progress.advance(4.0 + ctx.delegations as f64 * 10e-6);
        if steps.dns {
            for mode in ["udp", "tcp"] {
                ctx.progress.step(&at(&mode.to_uppercase()));
                dnsperf(ctx, &server, name, name, mode, "", &mut dns)?;
                ctx.progress.advance(ctx.seconds as f64 + 1.0);
            }
            latency_curve(ctx, addr, name, queries, &at, &mut dns)?;
        }
        if steps.xfr {
            ctx.progress.step(&at("AXFR"));
            transfers(ctx, &server, addr, name, &mut xfr)?;
            if name == "edge-dns" {
                updates(ctx, &dir, shape, addr, &mut xfr)?;
            }
        }
        anyhow::ensure!(
            server.running(),
            "{name} stopped during the run: see {}",
            dir.join(format!("{name}.log")).display()
        );
        let memory = process::memory_bytes(server.pid()) as f64 / (1 << 20) as f64;
        dns.add(
            name,
            "memory after the runs (PSS)",
            "MiB",
            memory,
            Better::Lower,
        );
        let points = server.stop();
        let (plot, server) = ("memory".into(), name.clone());
        dns.series.push(Series {
            plot,
            server,
            points,
        });
    }
    if steps.dns {
        // The cost of response rate limiting, where the server has it.
        for name in order.iter().filter(|n| *n == "edge-dns" || *n == "nsd") {
            let config = format!("{name}-rrl");
            ctx.progress.step(&format!(
                "{shape} · rep {repetition} · {name} · UDP, rate limiting on"
            ));
            let (server, _) = start_ready(ctx, &dir, &config)?;
            let suffix = ", rate limiting on";
            dnsperf(ctx, &server, &config, name, "udp", suffix, &mut dns)?;
            server.stop();
            ctx.progress
                .advance(ctx.seconds as f64 + 3.0 + ctx.delegations as f64 * 10e-6);
        }
    }
    let mut runs = Vec::new();
    if steps.dns {
        runs.push(dns);
    }
    if steps.xfr {
        runs.push(xfr);
    }
    Ok(runs)
}

/// Makes the zone directory edge-dns follows again from the zone (live updates change it, and
/// every server must transfer the same zone).
fn init_zone_dir(ctx: &Context, dir: &Path) -> anyhow::Result<()> {
    let zone_dir = dir.join("tld-dir");
    if zone_dir.exists() {
        std::fs::remove_dir_all(&zone_dir)?;
    }
    let status = Command::new(ctx.bin.join("zonefiles"))
        .args(["dir", "init"])
        .arg(&zone_dir)
        .arg(dir.join("tld.zone"))
        .stdout(std::process::Stdio::null())
        .status()?;
    anyhow::ensure!(
        status.success(),
        "zonefiles dir init {} failed",
        zone_dir.display()
    );
    Ok(())
}

/// The least server CPU a saturation run must use for its CPU per query to be reported (five
/// of the kernel's 10 ms ticks).
const MIN_MEASURED_CPU: f64 = 0.05;

/// The reflector at saturation: the floor of a server's cost per query, and the ceiling of
/// the load generator.
fn floor(ctx: &Context, dir: &Path, dns: &mut Run) -> anyhow::Result<()> {
    let log = dir.join("reflector.log");
    let mut reflector = Server::start(&mut command(ctx, dir, REFLECTOR), ctx.server_core, &log)?;
    // It answers no SOA (it answers every query with itself): a second is plenty for a server
    // that maps its image.
    std::thread::sleep(Duration::from_secs(1));
    dnsperf(ctx, &reflector, REFLECTOR, REFLECTOR, "udp", "", dns)?;
    dnsperf(ctx, &reflector, REFLECTOR, REFLECTOR, "tcp", "", dns)?;
    anyhow::ensure!(
        reflector.running(),
        "the reflector stopped: see {}",
        log.display()
    );
    reflector.stop();
    ctx.progress.advance(2.0 * ctx.seconds as f64 + 3.0);
    Ok(())
}

/// p50, p99, p99.9 and the share lost at each offered load (`loadtest dns`, open loop).
fn latency_curve(
    ctx: &Context,
    addr: SocketAddr,
    name: &str,
    queries: &[Vec<u8>],
    at: &dyn Fn(&str) -> String,
    dns: &mut Run,
) -> anyhow::Result<()> {
    let mut curves: [Vec<[f64; 2]>; 4] = Default::default();
    for &rate in &ctx.rates {
        ctx.progress
            .step(&at(&format!("latency at {rate} queries/s")));
        let seconds = Duration::from_secs(ctx.latency_seconds);
        let r = crate::dns::run(addr, queries, rate, seconds)?;
        let [p50, _, p99, p999, _] = r.latency_us;
        let lost = 100.0 * r.sent.saturating_sub(r.received) as f64 / r.sent.max(1) as f64;
        let ms = |us: u64| us as f64 / 1000.0;
        for (curve, value) in curves.iter_mut().zip([ms(p50), ms(p99), ms(p999), lost]) {
            curve.push([rate as f64, value]);
        }
        ctx.progress.advance(ctx.latency_seconds as f64 + 1.5);
    }
    let plots = ["latency-p50", "latency-p99", "latency-p99.9", "lost"];
    for (plot, points) in plots.into_iter().zip(curves) {
        let (plot, server) = (plot.into(), name.to_owned());
        dns.series.push(Series {
            plot,
            server,
            points,
        });
    }
    Ok(())
}

/// Three full transfers: the median time and the server's CPU per transfer.
fn transfers(
    ctx: &Context,
    server: &Server,
    addr: SocketAddr,
    name: &str,
    xfr: &mut Run,
) -> anyhow::Result<()> {
    let before = process::cpu_seconds(server.pid());
    let mut times = Vec::new();
    let mut records = 0;
    for _ in 0..3 {
        let t = crate::axfr::run(addr, &"tld.".parse()?)?;
        times.push(t.elapsed.as_secs_f64());
        records = t.records;
    }
    let cpu = (process::cpu_seconds(server.pid()) - before) / 3.0;
    let median = super::stats::Summary::of(&times).map_or(0.0, |s| s.median);
    xfr.add(
        name,
        "AXFR, connect to last record (median of 3)",
        "s",
        median,
        Better::Lower,
    );
    xfr.add(
        name,
        "AXFR, server CPU per transfer",
        "s",
        cpu,
        Better::Lower,
    );
    xfr.add(
        name,
        "records transferred",
        "",
        records as f64,
        Better::Neither,
    );
    ctx.progress
        .advance(3.0 * (0.5 + ctx.delegations as f64 * 1e-6));
    Ok(())
}

/// Live updates: changesets of one, two and three thousandths of the delegations appended to
/// the zone directory edge-dns follows, each timed from the durable append to the first answer
/// with its serial. The directory is made again at the next repetition, so every server
/// transfers the same zone.
fn updates(
    ctx: &Context,
    dir: &Path,
    shape: &str,
    addr: SocketAddr,
    run: &mut Run,
) -> anyhow::Result<()> {
    let step = (ctx.delegations / 1000).max(1);
    ctx.progress
        .step(&format!("{shape} · edge-dns · append to answer"));
    let samples = crate::updates::run(
        &dir.join("tld-dir"),
        addr,
        ctx.delegations,
        shape.parse().map_err(anyhow::Error::msg)?,
        3,
        step,
    )?;
    for (i, sample) in samples.iter().enumerate() {
        let delegations = (i as u64 + 1) * step;
        run.add(
            "edge-dns",
            &format!("a changeset of {delegations} delegations, append to answer"),
            "ms",
            sample.latency.as_secs_f64() * 1e3,
            Better::Lower,
        );
    }
    ctx.progress.advance(update_estimate(ctx));
    Ok(())
}

fn update_estimate(ctx: &Context) -> f64 {
    3.0 * (0.5 + ctx.delegations as f64 * 2e-6)
}

/// Starts the server `config` names on the server core and waits until it answers its SOA,
/// then one more second; returns it and the time from its start to the first answer.
fn start_ready(ctx: &Context, dir: &Path, config: &str) -> anyhow::Result<(Server, Duration)> {
    let log = dir.join(format!("{config}.log"));
    let server = Server::start(&mut command(ctx, dir, config), ctx.server_core, &log)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port(config)));
    let ready = crate::ready::wait(
        addr,
        &"tld.".parse()?,
        server.started(),
        Duration::from_secs(900),
    )
    .map_err(|e| anyhow::anyhow!("{config}: {e}; see {}", log.display()))?;
    std::thread::sleep(Duration::from_secs(1));
    Ok((server, ready))
}

/// One dnsperf run at saturation against `server`, with the server's CPU per query.
/// `config` names the server's configuration (and port), `name` its column; `suffix` ends
/// the figures' names (`, rate limiting on`). The queries are the shape's query file.
fn dnsperf(
    ctx: &Context,
    server: &Server,
    config: &str,
    name: &str,
    mode: &str,
    suffix: &str,
    run: &mut Run,
) -> anyhow::Result<()> {
    let before = process::cpu_seconds(server.pid());
    let mut command = Command::new("dnsperf");
    command
        .args([
            "-s",
            "127.0.0.1",
            "-p",
            &port(config).to_string(),
            "-m",
            mode,
            "-d",
        ])
        .arg(ctx.work.join(&run.shape).join("queries.txt"))
        .args(["-l", &ctx.seconds.to_string()])
        .args(super::DNSPERF_LOAD);
    if super::is_signed(&run.shape) {
        // DO=1: answers carry their signatures and denial proofs.
        command.arg("-D");
    }
    let out = process::pin(&mut command, ctx.client_core)
        .output()
        .map_err(|e| anyhow::anyhow!("running dnsperf: {e} (apt-get install dnsperf)"))?;
    let cpu = process::cpu_seconds(server.pid()) - before;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |label: &str| -> Option<f64> {
        let line = text.lines().find(|l| l.trim_start().starts_with(label))?;
        line.split(':')
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    let (Some(completed), Some(qps)) = (field("Queries completed"), field("Queries per second"))
    else {
        anyhow::bail!(
            "dnsperf against {name} ({mode}) printed no result:\n{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let m = mode.to_uppercase();
    run.add(
        name,
        &format!("{m} queries per second{suffix}"),
        "",
        qps,
        Better::Higher,
    );
    // The kernel counts CPU in ticks of 10 ms: a server that hardly answered (a stalled run)
    // used too few of them for a figure per query.
    if cpu >= MIN_MEASURED_CPU {
        run.add(
            name,
            &format!("{m} server CPU per query{suffix}"),
            "µs",
            cpu * 1e6 / completed.max(1.0),
            Better::Lower,
        );
    } else {
        ctx.progress.warn(&format!(
            "{name} answered {completed} queries over {m} in {} s using {cpu:.2} s of CPU: \
             too little to give a figure per query",
            ctx.seconds
        ));
    }
    if let Some(latency) = field("Average Latency (s)") {
        run.add(
            name,
            &format!("{m} average latency (dnsperf){suffix}"),
            "ms",
            latency * 1000.0,
            Better::Lower,
        );
    }
    Ok(())
}
