//! `loadtest report`: the benchmarks as one instrument. It runs the suites asked for on each
//! zone shape, several repetitions with the servers' order turning, writes one JSON file per
//! run, and renders a Markdown report with the median and range of every figure, the machine,
//! the versions of every program measured, the exact command, and SVG plots.
//!
//! Call order: [`run`] prepares each shape's data once (zone, query file, zone directory,
//! servers' configurations, WHOIS tree), then for each repetition and shape runs the suites —
//! [`zone`] (compile against the zone checkers), [`serving`] (DNS and zone transfers against NSD
//! and Knot) and [`whois`] (WHOIS and RDAP beside the bare limits, first shape only) — and
//! once per repetition the registry's, which do not depend on a zone shape: [`registrar`]
//! (SRRP and EPP writes), [`propagation`] (registrar to every satellite, and catch-up) and
//! [`fanout`] (the control plane feeding fifty satellites),
//! writing `runs/<repetition>-<shape>-<suite>.json` after each; [`render`] reads every
//! JSON file back and writes `report.md` and `plots/*.svg`, so a report can be rendered again,
//! or spliced into `docs/benchmarks.md`, without running anything.
//!
//! Throughput is always reported with the server's CPU per operation, read from the kernel's
//! accounting of the server's processes ([`process`]): a slow or saturated load generator can
//! lower operations per second but not the cost of each. The load generator's own ceiling on
//! the same core (dnsperf against a bare reflector) is in every DNS table.
//!
//! The process pins itself to the client core (core 1) and starts servers on the server core
//! (core 0), when the machine has two cores or more.

pub mod env;
pub mod fanout;
mod markdown;
mod plot;
pub mod process;
pub mod propagation;
pub mod registrar;
pub mod serving;
pub mod stats;
pub mod whois;
pub mod zone;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// dnsperf's load at saturation: clients and outstanding queries (the same for every server).
pub const DNSPERF_LOAD: [&str; 4] = ["-c", "16", "-q", "512"];

/// A benchmark suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Suite {
    /// Zone compile against the zone checkers.
    Zone,
    /// DNS over UDP and TCP, latency against load, memory.
    Dns,
    /// Full zone transfers.
    Xfr,
    /// WHOIS (port 43) and RDAP.
    Whois,
    /// Registrar writes over SRRP and EPP.
    Writes,
    /// Registrar confirmation to every satellite, and catch-up.
    Propagation,
    /// The control plane feeding fifty satellites, directly and through a relay.
    Fanout,
}

impl Suite {
    /// Our programs it runs.
    fn programs(self) -> &'static [&'static str] {
        match self {
            Suite::Zone => &["zonefiles"],
            Suite::Dns | Suite::Xfr => &["edge-dns", "zonefiles"],
            Suite::Whois => &["edge-whois"],
            Suite::Writes => &["control-plane"],
            Suite::Propagation => &["control-plane", "update-agent", "edge-dns", "edge-whois"],
            Suite::Fanout => &["control-plane", "update-agent"],
        }
    }
}

impl std::str::FromStr for Suite {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "zone" => Ok(Suite::Zone),
            "dns" => Ok(Suite::Dns),
            "xfr" => Ok(Suite::Xfr),
            "whois" => Ok(Suite::Whois),
            "writes" => Ok(Suite::Writes),
            "propagation" => Ok(Suite::Propagation),
            "fanout" => Ok(Suite::Fanout),
            _ => Err(format!(
                "{text:?}: the suites are zone, dns, xfr, whois, writes, propagation and fanout"
            )),
        }
    }
}

/// Which way a figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Smaller is better (time, CPU, memory).
    Lower,
    /// Larger is better (throughput).
    Higher,
    /// A count, not a score.
    Neither,
}

/// One figure from one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measurement {
    /// The server or tool measured.
    pub server: String,
    /// What was measured.
    pub metric: String,
    /// Its unit (empty for counts and rates).
    pub unit: String,
    /// The value.
    pub value: f64,
    /// Which way is better.
    pub better: Better,
}

/// Points for a plot: one line of one server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Series {
    /// Which plot (`latency-p99`, `memory`, …).
    pub plot: String,
    /// The server.
    pub server: String,
    /// (x, y) points.
    pub points: Vec<[f64; 2]>,
}

/// One repetition of one suite on one shape: the unit written to one JSON file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    /// The suite.
    pub suite: String,
    /// The zone shape.
    pub shape: String,
    /// Which repetition, from 1.
    pub repetition: u32,
    /// The order the servers ran in.
    pub order: Vec<String>,
    /// When it started, seconds since 1970.
    pub started: u64,
    /// The server core's stalls just before: gaps over 300 µs in 2 s (count, total ms,
    /// longest ms), when measured.
    pub stalls: Option<[f64; 3]>,
    /// The figures.
    pub measurements: Vec<Measurement>,
    /// The plotted points.
    pub series: Vec<Series>,
}

impl Run {
    fn new(suite: &str, shape: &str, repetition: u32, order: Vec<String>) -> Self {
        Self {
            suite: suite.to_owned(),
            shape: shape.to_owned(),
            repetition,
            order,
            started: unix_now(),
            stalls: None,
            measurements: Vec::new(),
            series: Vec::new(),
        }
    }

    /// The name of its JSON file: `<repetition>-<shape>-<suite>.json`.
    pub fn file_name(&self) -> String {
        format!("{:02}-{}-{}.json", self.repetition, self.shape, self.suite)
    }

    /// Adds one figure.
    pub fn add(&mut self, server: &str, metric: &str, unit: &str, value: f64, better: Better) {
        self.measurements.push(Measurement {
            server: server.to_owned(),
            metric: metric.to_owned(),
            unit: unit.to_owned(),
            value,
            better,
        });
    }
}

/// What to run: the settings of a report, kept in its header.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Options {
    /// Delegations in each generated zone.
    pub delegations: u64,
    /// The zone shapes (`providers`, `pairs`, `glue`).
    pub shapes: Vec<String>,
    /// The suites.
    pub suites: Vec<Suite>,
    /// The servers to compare (edge-dns, nsd, knot).
    pub servers: Vec<String>,
    /// Repetitions of everything.
    pub repetitions: u32,
    /// Seconds of each saturation run (dnsperf).
    pub seconds: u64,
    /// Seconds at each offered load of the latency curve.
    pub latency_seconds: u64,
    /// The offered loads of the latency curve, queries per second.
    pub rates: Vec<u64>,
    /// The offered registrar changes per second of the propagation suite.
    #[serde(default)]
    pub change_rates: Vec<u64>,
    /// Domains registered before the propagation suite measures (one registry per size).
    #[serde(default)]
    pub registry_sizes: Vec<u64>,
    /// The propagation suite's registries: unsigned (`false`), DNSSEC-signed (`true`).
    #[serde(default)]
    pub dnssec: Vec<bool>,
    /// Agents of the fan-out suite.
    #[serde(default)]
    pub agents: u16,
}

/// A report's header: `report.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    /// The command line that made it.
    pub command: String,
    /// When it started and ended, seconds since 1970.
    pub started: u64,
    /// When it ended (0 while running).
    pub finished: u64,
    /// The machine.
    pub machine: env::Machine,
    /// Versions of every program measured.
    pub versions: BTreeMap<String, String>,
    /// The settings.
    pub options: Options,
    /// The server core and the client core (none on a single-core machine).
    pub cores: (Option<usize>, Option<usize>),
}

/// What every suite needs while it runs.
pub struct Context {
    /// Where our binaries are (edge-dns, zonefiles).
    pub bin: PathBuf,
    /// The work directory (one subdirectory per shape).
    pub work: PathBuf,
    /// Delegations per zone.
    pub delegations: u64,
    /// Seconds per saturation run.
    pub seconds: u64,
    /// Seconds per point of the latency curve.
    pub latency_seconds: u64,
    /// Offered loads of the latency curve.
    pub rates: Vec<u64>,
    /// Offered changes per second of the propagation suite.
    pub change_rates: Vec<u64>,
    /// Registry sizes of the propagation suite.
    pub registry_sizes: Vec<u64>,
    /// Whether the propagation suite's registries are signed: each size once per value.
    pub dnssec: Vec<bool>,
    /// Agents of the fan-out suite.
    pub agents: u16,
    /// Servers compared.
    pub servers: Vec<String>,
    /// Where servers run.
    pub server_core: Option<usize>,
    /// Where clients run.
    pub client_core: Option<usize>,
    /// The progress display.
    pub progress: Progress,
}

impl Context {
    /// The server core's stalls over 2 seconds (see [`crate::stalls`]).
    fn stalls(&self) -> [f64; 3] {
        let core = self.server_core;
        let s = std::thread::spawn(move || {
            if let Some(core) = core {
                let _ = process::pin_current(core);
            }
            crate::stalls::probe(Duration::from_secs(2), Duration::from_micros(300))
        })
        .join()
        .expect("the probe does not panic");
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        [s.count as f64, ms(s.total), ms(s.longest)]
    }
}

/// Progress of a long run: which shape, repetition, server and step, and the time left
/// (estimated from each step's expected length). A bar on a terminal; one line per step
/// otherwise.
pub struct Progress {
    bar: indicatif::ProgressBar,
    terminal: bool,
    started: std::time::Instant,
}

impl Progress {
    fn new(estimated_seconds: f64) -> Self {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let bar = indicatif::ProgressBar::new((estimated_seconds * 10.0) as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {msg} · about {eta} left",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        Self {
            bar,
            terminal,
            started: std::time::Instant::now(),
        }
    }

    /// Shows the step starting now.
    pub fn step(&self, what: &str) {
        if self.terminal {
            self.bar.set_message(what.to_owned());
        } else {
            eprintln!("[{:>6.0} s] {what}", self.started.elapsed().as_secs_f64());
        }
    }

    /// Says something went unlike a normal run (above the bar on a terminal).
    pub fn warn(&self, what: &str) {
        self.note(&format!("warning: {what}"));
    }

    /// Keeps a line in the log (above the bar on a terminal).
    pub fn note(&self, what: &str) {
        if self.terminal {
            self.bar.println(what);
        } else {
            eprintln!("[{:>6.0} s] {what}", self.started.elapsed().as_secs_f64());
        }
    }

    /// Counts `seconds` of the estimate as done.
    pub fn advance(&self, seconds: f64) {
        self.bar.inc((seconds * 10.0) as u64);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether `program` is on the PATH.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn write_json(path: &Path, value: &impl Serialize) -> anyhow::Result<()> {
    zonefiles::atomic::write_atomically(path, &serde_json::to_vec_pretty(value)?)?;
    Ok(())
}

/// Runs the benchmarks `options` asks for, writing into `out` (JSON, report, plots), with the
/// zones and servers' files in `work` and our binaries in `bin`.
pub fn run(
    options: &Options,
    command: String,
    bin: &Path,
    work: &Path,
    out: &Path,
) -> anyhow::Result<()> {
    let serving = options
        .suites
        .iter()
        .any(|s| matches!(s, Suite::Dns | Suite::Xfr));
    for suite in &options.suites {
        for program in suite.programs() {
            anyhow::ensure!(
                bin.join(program).is_file(),
                "{} is missing: build it first (cargo build --release --workspace)",
                bin.join(program).display()
            );
        }
    }
    let mut needed: Vec<&str> = Vec::new();
    if serving {
        for server in &options.servers {
            match server.as_str() {
                "nsd" => needed.push("nsd"),
                "knot" => needed.push("knotd"),
                "edge-dns" => {}
                other => anyhow::bail!("{other:?}: the servers are edge-dns, nsd and knot"),
            }
        }
        if options.suites.contains(&Suite::Dns) {
            needed.push("dnsperf");
        }
    }
    let missing: Vec<&str> = needed.into_iter().filter(|p| !on_path(p)).collect();
    anyhow::ensure!(
        missing.is_empty(),
        "{} not installed (Debian: apt-get install dnsperf nsd knot)",
        missing.join(", ")
    );
    let shapes: Vec<zonefiles::generate::Shape> = options
        .shapes
        .iter()
        .map(|s| {
            s.strip_suffix(SIGNED)
                .unwrap_or(s)
                .parse()
                .map_err(anyhow::Error::msg)
        })
        .collect::<anyhow::Result<_>>()?;

    // Before this process pins itself, which would hide the other cores.
    let machine = env::Machine::detect();
    let cores = machine.cores;
    let (server_core, client_core) = if cores >= 2 {
        (Some(0), Some(1))
    } else {
        (None, None)
    };
    if let Some(core) = client_core {
        process::pin_current(core)?;
    }
    std::fs::create_dir_all(out.join("runs"))?;
    let mut header = Header {
        command,
        started: unix_now(),
        finished: 0,
        machine,
        versions: env::versions(bin),
        options: options.clone(),
        cores: (server_core, client_core),
    };
    write_json(&out.join("report.json"), &header)?;

    let mut ctx = Context {
        bin: bin.to_owned(),
        work: work.to_owned(),
        delegations: options.delegations,
        seconds: options.seconds,
        latency_seconds: options.latency_seconds,
        rates: options.rates.clone(),
        change_rates: options.change_rates.clone(),
        registry_sizes: match options.registry_sizes.is_empty() {
            true => vec![0],
            false => options.registry_sizes.clone(),
        },
        dnssec: match options.dnssec.is_empty() {
            true => vec![false],
            false => options.dnssec.clone(),
        },
        agents: options.agents.max(2),
        servers: options.servers.clone(),
        server_core,
        client_core,
        progress: Progress::new(0.0),
    };
    let steps = serving::Steps {
        dns: options.suites.contains(&Suite::Dns),
        xfr: options.suites.contains(&Suite::Xfr),
    };
    let wants = |suite| options.suites.contains(&suite);
    let reps = options.repetitions as f64;
    // The suites that need a generated zone; the registry's make their own data.
    let shaped: &[zonefiles::generate::Shape] =
        if serving || wants(Suite::Zone) || wants(Suite::Whois) {
            &shapes
        } else {
            &[]
        };
    let mut estimate = shaped.len() as f64 * options.delegations as f64 * 12e-6;
    if wants(Suite::Zone) {
        estimate += zone::estimate(&ctx) * reps * shapes.len() as f64;
    }
    if serving {
        estimate += serving::estimate(&ctx, steps) * reps * shapes.len() as f64;
    }
    if wants(Suite::Whois) {
        estimate += whois::estimate(&ctx) * reps;
    }
    if wants(Suite::Writes) {
        estimate += registrar::estimate(&ctx) * reps;
    }
    if wants(Suite::Propagation) {
        estimate += propagation::estimate(&ctx) * reps;
    }
    if wants(Suite::Fanout) {
        estimate += fanout::estimate(&ctx) * reps;
    }
    ctx.progress = Progress::new(estimate);

    // WHOIS and RDAP do not depend on the shape: they run on the first only.
    let whois_shape = options.shapes.first().filter(|_| wants(Suite::Whois));
    let mut queries = BTreeMap::new();
    for (name, &shape) in options.shapes.iter().zip(shaped) {
        ctx.progress
            .step(&format!("{name} · preparing the zone and queries"));
        let fresh = prepare(&ctx, name, shape, serving)?;
        if whois_shape == Some(name) {
            whois::prepare(&ctx, &work.join(name), fresh)?;
        }
        if steps.dns {
            queries.insert(
                name.clone(),
                crate::dns::load_queries(&work.join(name).join("queries.txt"), is_signed(name))?,
            );
        }
        ctx.progress.advance(options.delegations as f64 * 12e-6);
    }
    for repetition in 1..=options.repetitions {
        for name in options.shapes.iter().take(shaped.len()) {
            let mut runs = Vec::new();
            if wants(Suite::Zone) {
                runs.push(zone::run(&ctx, name, repetition)?);
            }
            if serving {
                let q = queries.get(name).map_or(&[][..], |q| &q[..]);
                runs.extend(serving::run(&ctx, name, repetition, steps, q)?);
            }
            if whois_shape == Some(name) {
                runs.extend(whois::run(&ctx, name, repetition)?);
            }
            for run in runs {
                write_json(&out.join("runs").join(run.file_name()), &run)?;
            }
        }
        let mut runs = Vec::new();
        if wants(Suite::Writes) {
            runs.push(registrar::run(&ctx, repetition)?);
        }
        if wants(Suite::Propagation) {
            for &size in &ctx.registry_sizes {
                for &signed in &ctx.dnssec {
                    // Written at once: at ten million domains a size is an hour's work.
                    for run in propagation::run(&ctx, repetition, size, signed)? {
                        write_json(&out.join("runs").join(run.file_name()), &run)?;
                    }
                    propagation::remove(&ctx, size);
                }
            }
        }
        if wants(Suite::Fanout) {
            runs.push(fanout::run(&ctx, repetition)?);
        }
        for run in runs {
            write_json(&out.join("runs").join(run.file_name()), &run)?;
        }
    }
    ctx.progress.finish();
    header.finished = unix_now();
    write_json(&out.join("report.json"), &header)?;
    render(out, None)
}

/// The suffix of a shape's name that signs its zone: `providers-signed` is the `providers`
/// zone signed by `zonefiles sign` (a KSK and a ZSK, ECDSA P-256, NSEC3 with opt-out), and
/// every query of its suites asks with DO=1.
pub const SIGNED: &str = "-signed";

/// True if the shape's zone is signed ([`SIGNED`]).
pub fn is_signed(shape: &str) -> bool {
    shape.ends_with(SIGNED)
}

/// Signs the master files `files` (in `dir`) in place with one new KSK and ZSK.
fn sign_zones(ctx: &Context, dir: &Path, files: &[&str]) -> anyhow::Result<()> {
    let zonefiles = ctx.bin.join("zonefiles");
    let keys = dir.join("keys");
    let _ = std::fs::remove_dir_all(&keys);
    std::fs::create_dir_all(&keys)?;
    let keygen = |ksk: bool| -> anyhow::Result<String> {
        let mut command = Command::new(&zonefiles);
        command.arg("keygen").arg("tld").arg("-o").arg(&keys);
        if ksk {
            command.arg("--ksk");
        }
        let out = command.output()?;
        anyhow::ensure!(
            out.status.success(),
            "zonefiles keygen: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let (ksk, zsk) = (keygen(true)?, keygen(false)?);
    for file in files {
        let (path, signed) = (dir.join(file), dir.join(format!("{file}.signed")));
        let out = Command::new(&zonefiles)
            .arg("sign")
            .arg(&path)
            .args([
                "--key",
                &format!("{ksk}.key"),
                "--key",
                &format!("{zsk}.key"),
            ])
            .arg("-o")
            .arg(&signed)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "zonefiles sign {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::rename(&signed, &path)?;
    }
    Ok(())
}

/// Generates `shape`'s zone and query file in its work directory unless they are there for
/// this size (a marker records what they were made for; returns whether they were made now);
/// writes the servers' configurations.
fn prepare(
    ctx: &Context,
    name: &str,
    shape: zonefiles::generate::Shape,
    serving: bool,
) -> anyhow::Result<bool> {
    let dir = ctx.work.join(name);
    std::fs::create_dir_all(&dir)?;
    let marker = dir.join("tld.zone.made-for");
    let made_for = format!("{} {name}\n", ctx.delegations);
    let zone = dir.join("tld.zone");
    let fresh = std::fs::read_to_string(&marker).ok().as_deref() != Some(made_for.as_str())
        || !zone.exists()
        || !dir.join("changed.zone").exists();
    if fresh {
        let _ = std::fs::remove_file(&marker);
        let options = zonefiles::generate::Options {
            delegations: ctx.delegations,
            shape,
            ..Default::default()
        };
        let file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&zone)?);
        zonefiles::generate::generate(&options, file)?;
        let file = std::io::BufWriter::new(std::fs::File::create(dir.join("queries.txt"))?);
        crate::queries::generate(&zone, 1_000_000, 1, file)?;
        // The same zone with a thousandth of its delegations changed, for the diff.
        let changed = zonefiles::generate::Options {
            serial: options.serial + 1,
            changed: (ctx.delegations / 1000).max(1),
            ..options
        };
        let file = std::io::BufWriter::new(std::fs::File::create(dir.join("changed.zone"))?);
        zonefiles::generate::generate(&changed, file)?;
        if is_signed(name) {
            sign_zones(ctx, &dir, &["tld.zone", "changed.zone"])?;
        }
        std::fs::write(&marker, made_for)?;
    }
    if serving {
        serving::configure(&dir)?;
    }
    Ok(fresh)
}

/// Reads the report in `out` (header and runs) and writes `report.md` and `plots/`; with
/// `docs`, also splices the report into that Markdown file between the lines
/// `<!-- report:begin -->` and `<!-- report:end -->`, its plots and JSON copied to
/// `benchmarks/` beside it.
pub fn render(out: &Path, docs: Option<&Path>) -> anyhow::Result<()> {
    let header: Header = serde_json::from_slice(&std::fs::read(out.join("report.json"))?)?;
    let mut runs = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(out.join("runs"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for file in files {
        let run: Run = serde_json::from_slice(&std::fs::read(&file)?)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        runs.push(run);
    }
    let plots = plot::draw_all(&runs, &out.join("plots"))?;
    std::fs::write(
        out.join("report.md"),
        markdown::render(&header, &runs, &plots, "plots/"),
    )?;
    if let Some(docs) = docs {
        let dir = docs.parent().unwrap_or(Path::new(".")).join("benchmarks");
        std::fs::create_dir_all(&dir)?;
        for plot in &plots {
            std::fs::copy(out.join("plots").join(&plot.file), dir.join(&plot.file))?;
        }
        // The figures themselves, so that the page can be rendered again and checked.
        std::fs::create_dir_all(dir.join("runs"))?;
        std::fs::copy(out.join("report.json"), dir.join("report.json"))?;
        for run in &runs {
            let file = run.file_name();
            std::fs::copy(out.join("runs").join(&file), dir.join("runs").join(&file))?;
        }
        let text = std::fs::read_to_string(docs)?;
        let (begin, end) = ("<!-- report:begin -->", "<!-- report:end -->");
        let (Some(b), Some(e)) = (text.find(begin), text.find(end)) else {
            anyhow::bail!(
                "{} has no {begin} … {end} lines to put the report between",
                docs.display()
            );
        };
        anyhow::ensure!(b < e, "{}: {end} comes before {begin}", docs.display());
        let spliced = format!(
            "{}{begin}\n{}{}",
            &text[..b],
            markdown::render(&header, &runs, &plots, "benchmarks/"),
            &text[e..]
        );
        std::fs::write(docs, spliced)?;
    }
    Ok(())
}
