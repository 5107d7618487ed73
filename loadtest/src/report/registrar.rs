//! Registrar writes: durable CREATE DOMAIN from 50 registrar connections against a fresh
//! registry, over SRRP (a new TLS connection per request, as SRRP has it, resuming the TLS
//! session: TLS 1.3, then TLS 1.2, whose resumption skips the key exchange) and over EPP (one
//! session per connection, as registrars keep them). The control plane runs on the server core,
//! the clients ([`crate::writebench`]) on the other; its CPU per confirmed create comes from
//! `/proc`, its commits (one fsync each) and commands from its own metrics.
//!
//! [`Registry`] sets up the registry this suite, [`super::propagation`] and [`super::fanout`]
//! use: keys, the zone `tld`, 50 registrars with credit, satellites, through the
//! `control-plane` operator commands.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use ops::scrape::Samples;

use super::process::{self, Server, accepting, local};
use super::{Better, Context, Run};
use crate::writebench::Protocol;

/// Registrar ids of the benchmark registry: `FIRST_REGISTRAR ..` (password `pw-<id>`).
pub const FIRST_REGISTRAR: u32 = 1000;
/// How many registrars.
pub const REGISTRARS: u32 = 50;
/// Registrar connections of every write load.
pub const CONNECTIONS: usize = 50;
/// The zone registered in.
pub const ZONE: &str = "tld";

const VARIANTS: [(&str, Protocol); 3] = [
    ("SRRP, TLS 1.3 resumption", Protocol::Srrp { tls12: false }),
    ("SRRP, TLS 1.2 resumption", Protocol::Srrp { tls12: true }),
    ("EPP, one session per connection", Protocol::Epp),
];

/// Estimated seconds for one repetition.
pub fn estimate(ctx: &Context) -> f64 {
    15.0 + VARIANTS.len() as f64 * (ctx.seconds as f64 + 1.0)
}

/// The addresses of a benchmark registry's services.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    /// SRRP.
    pub srrp: u16,
    /// EPP.
    pub epp: u16,
    /// The metrics page.
    pub metrics: u16,
    /// The push service (satellites), when there are satellites.
    pub push: Option<u16>,
}

impl Ports {
    /// SRRP on `first`, EPP on the next port, metrics on the one after, and the push service
    /// on the next when there are `satellites`.
    pub fn from(first: u16, satellites: bool) -> Self {
        Self {
            srrp: first,
            epp: first + 1,
            metrics: first + 2,
            push: satellites.then_some(first + 3),
        }
    }
}

/// A fresh registry in a directory of its own: `control-plane.toml`, `keys/`, `registry.db`.
pub struct Registry {
    /// Its directory.
    pub dir: PathBuf,
    /// Where the `control-plane` binary is.
    control_plane: PathBuf,
    /// Its services.
    pub ports: Ports,
}

impl Registry {
    /// Makes the registry afresh in `dir` (deleting what was there): keys, zone `tld` with two
    /// name servers, registrars [`FIRST_REGISTRAR`].. with credit.
    pub fn create(bin: &Path, dir: &Path, ports: Ports) -> anyhow::Result<Self> {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        std::fs::create_dir_all(dir)?;
        let mut config = format!(
            "database = \"registry.db\"\nsigning_key = \"keys/signing.key\"\nrecovery_key = \"keys/recovery.pub\"\n\
             metrics_listen = \"{}\"\n[srrp]\nlisten = [\"{}\"]\ncertificate = \"keys/srrp.crt\"\nkey = \"keys/srrp.key\"\n\
             [epp]\nlisten = [\"{}\"]\n",
            local(ports.metrics),
            local(ports.srrp),
            local(ports.epp)
        );
        config += "[dnssec]\nkeys = \"keys/dnssec\"\n";
        if let Some(push) = ports.push {
            config += &format!(
                "[push]\nlisten = \"{}\"\nkey = \"keys/tunnel.key\"\n",
                local(push)
            );
        }
        std::fs::write(dir.join("control-plane.toml"), config)?;
        let registry = Self {
            dir: dir.to_owned(),
            control_plane: bin.join("control-plane"),
            ports,
        };
        registry.operator(&["keygen", "--dir", "keys"])?;
        registry.operator(&[
            "zone",
            "add",
            ZONE,
            "--ns",
            "a.nic.tld=192.0.2.1",
            "--ns",
            "b.nic.tld=192.0.2.2",
        ])?;
        for id in FIRST_REGISTRAR..FIRST_REGISTRAR + REGISTRARS {
            let id = id.to_string();
            let name = format!("Registrar {id}");
            let password = format!("pw-{id}");
            registry.operator(&[
                "registrar",
                "add",
                "--id",
                &id,
                "--iana-id",
                &id,
                "--name",
                &name,
                "--password",
                &password,
            ])?;
            registry.operator(&["registrar", "credit", &id, "100000000000"])?;
        }
        Ok(registry)
    }

    /// Registers `count` domains through `control-plane import` (the registrars' creates in
    /// large transactions): most delegated to one of 20 hosting providers' name-server pairs,
    /// one in ten to a name server of its own inside the TLD, with glue. Returns the seconds
    /// it took.
    pub fn import(&self, count: u64) -> anyhow::Result<f64> {
        use std::fmt::Write;
        let mut lines = String::with_capacity(count as usize * 100);
        for n in 0..count {
            let registrar = FIRST_REGISTRAR + (n % u64::from(REGISTRARS)) as u32;
            let provider = n % 20;
            let name = format!("reg{n}.{ZONE}");
            let _ = if n % 10 == 3 {
                writeln!(
                    lines,
                    "{registrar} CREATE DOMAIN domain-name={name} ns1-name=ns1.{name} ns1-address=192.0.2.{} ns2-name=ns.host{provider}.example",
                    n % 250 + 1
                )
            } else {
                writeln!(
                    lines,
                    "{registrar} CREATE DOMAIN domain-name={name} ns1-name=ns1.host{provider}.example ns2-name=ns2.host{provider}.example"
                )
            };
        }
        std::fs::write(self.dir.join("import.txt"), lines)?;
        let started = std::time::Instant::now();
        self.operator(&["import", "import.txt"])?;
        Ok(started.elapsed().as_secs_f64())
    }

    /// Signs the zone (a KSK and a ZSK, NSEC3 with opt-out): signed whole at once, then every
    /// change as it commits. Returns the seconds it took.
    pub fn sign(&self) -> anyhow::Result<f64> {
        let started = std::time::Instant::now();
        self.operator(&["dnssec", "keygen", ZONE, "--ksk"])?;
        self.operator(&["dnssec", "keygen", ZONE])?;
        self.operator(&["dnssec", "on", ZONE])?;
        Ok(started.elapsed().as_secs_f64())
    }

    /// The `control-plane` command with the registry's configuration.
    fn command(&self) -> Command {
        let mut command = Command::new(&self.control_plane);
        command
            .current_dir(&self.dir)
            .args(["-c", "control-plane.toml", "--operator", "bench"]);
        command
    }

    /// Runs an operator command to its end; its output in the error if it fails.
    pub fn operator(&self, args: &[&str]) -> anyhow::Result<()> {
        let out = self.command().args(args).output()?;
        anyhow::ensure!(
            out.status.success(),
            "control-plane {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }

    /// Lists the agent whose keys are in `dir` (see [`agent_keys`]) as satellite `name`.
    pub fn add_satellite(&self, name: &str, dir: &Path) -> anyhow::Result<()> {
        let public = dir.join("node.pub");
        let public = public
            .to_str()
            .ok_or_else(|| anyhow::anyhow!("{}: not UTF-8", public.display()))?;
        self.operator(&["satellite", "add", name, public])
    }

    /// Starts `control-plane serve` on `cpu` (any core with `None`, see [`Server::start`]);
    /// returns once it accepts SRRP.
    pub fn serve(&self, cpu: Option<usize>) -> anyhow::Result<Server> {
        let log = self.dir.join("serve.log");
        let mut command = self.command();
        command.arg("serve");
        let server = Server::start(&mut command, cpu, &log)?;
        accepting(local(self.ports.srrp), &log)?;
        Ok(server)
    }

    /// The SRRP service.
    pub fn srrp(&self) -> SocketAddr {
        local(self.ports.srrp)
    }

    /// The certificate the registrar services present (PEM).
    pub fn certificate(&self) -> PathBuf {
        self.dir.join("keys/srrp.crt")
    }

    /// A file of the registry's keys, trimmed (`tunnel.pub`, `signing.pub`).
    pub fn key(&self, name: &str) -> anyhow::Result<String> {
        Ok(std::fs::read_to_string(self.dir.join("keys").join(name))?
            .trim()
            .to_owned())
    }

    /// The control plane's metrics, read now.
    pub fn metrics(&self) -> anyhow::Result<Samples> {
        Samples::fetch(local(self.ports.metrics))
            .ok_or_else(|| anyhow::anyhow!("the control plane's metrics page does not answer"))
    }

    /// The newest serial of the zone's journal.
    pub fn newest(&self) -> anyhow::Result<f64> {
        let series = format!("control_plane_journal_serial{{zone=\"{ZONE}\"}}");
        self.metrics()?
            .get(&series)
            .ok_or_else(|| anyhow::anyhow!("the control plane has no {series}"))
    }

    /// Sends a second of creates from every registrar, each checking its password once
    /// (Argon2), so that measured runs see the steady state.
    pub fn warm(&self) -> anyhow::Result<()> {
        crate::writebench::run(
            self.srrp(),
            &self.certificate(),
            ZONE,
            "warm-",
            CONNECTIONS,
            FIRST_REGISTRAR,
            REGISTRARS,
            1,
            Protocol::Srrp { tls12: false },
        )?;
        Ok(())
    }
}

/// Writes an update-agent's keys (`node.key`, `node.pub`) into `dir`; returns its public key.
pub fn agent_keys(bin: &Path, dir: &Path) -> anyhow::Result<String> {
    std::fs::create_dir_all(dir)?;
    let out = Command::new(bin.join("update-agent"))
        .args(["keygen", "--name", "node", "--dir"])
        .arg(dir)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "update-agent keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(std::fs::read_to_string(dir.join("node.pub"))?
        .trim()
        .to_owned())
}

/// Runs the three write loads for one repetition, in an order that turns each time, on a fresh
/// registry; checks the registry with `control-plane audit` after them.
pub fn run(ctx: &Context, repetition: u32) -> anyhow::Result<Run> {
    let step = |what: &str| ctx.progress.step(&format!("rep {repetition} · {what}"));
    step("registrar writes · a fresh registry");
    let ports = Ports::from(4755, false);
    let registry = Registry::create(&ctx.bin, &ctx.work.join("registry"), ports)?;
    let mut server = registry.serve(ctx.server_core)?;
    accepting(local(ports.epp), &registry.dir.join("serve.log"))?;
    registry.warm()?;
    ctx.progress.advance(15.0);

    let turn = (repetition as usize - 1) % VARIANTS.len();
    let order: Vec<usize> = (0..VARIANTS.len())
        .map(|i| (i + turn) % VARIANTS.len())
        .collect();
    let mut run = Run::new(
        "writes",
        "registry",
        repetition,
        order.iter().map(|&i| VARIANTS[i].0.to_owned()).collect(),
    );
    for i in order {
        let (name, protocol) = VARIANTS[i];
        step(&format!("registrar writes · {name}"));
        let before = registry.metrics()?;
        let cpu = process::cpu_seconds(server.pid());
        let client = process::own_cpu_seconds();
        let target = if protocol == Protocol::Epp {
            local(ports.epp)
        } else {
            registry.srrp()
        };
        let prefix = format!("v{i}-");
        let report = crate::writebench::run(
            target,
            &registry.certificate(),
            ZONE,
            &prefix,
            CONNECTIONS,
            FIRST_REGISTRAR,
            REGISTRARS,
            ctx.seconds,
            protocol,
        )?;
        let cpu = process::cpu_seconds(server.pid()) - cpu;
        let client = process::own_cpu_seconds() - client;
        let after = registry.metrics()?;
        ctx.progress.advance(ctx.seconds as f64 + 1.0);
        let secs = report.elapsed.as_secs_f64();
        let rate = report.confirmed as f64 / secs;
        let delta = |m: &str| after.sum(m) - before.sum(m);
        let (commits, commands) = (
            delta("control_plane_commits_total"),
            delta("control_plane_commands_total"),
        );
        run.add(
            name,
            "confirmed creates per second",
            "",
            rate,
            Better::Higher,
        );
        // The CPU covers the warm-up second too, as do the commits and commands.
        run.add(
            name,
            "control plane CPU per create",
            "µs",
            cpu * 1e6 / (rate * (secs + 1.0)).max(1.0),
            Better::Lower,
        );
        for (label, us) in [
            ("latency p50", report.latency_us[0]),
            ("latency p99", report.latency_us[1]),
            ("latency p99.9", report.latency_us[2]),
        ] {
            run.add(name, label, "ms", us as f64 / 1e3, Better::Lower);
        }
        run.add(
            name,
            "commits (fsyncs) per second",
            "",
            commits / (secs + 1.0),
            Better::Neither,
        );
        run.add(
            name,
            "commands per commit",
            "",
            commands / commits.max(1.0),
            Better::Neither,
        );
        // Near 100%, the clients' core, not the control plane, set the pace.
        run.add(
            name,
            "load generator's use of its core",
            "%",
            100.0 * client / (secs + 1.0),
            Better::Neither,
        );
        run.add(name, "failed", "", report.failed as f64, Better::Lower);
    }
    anyhow::ensure!(
        server.running(),
        "the control plane stopped during the run: see {}",
        registry.dir.join("serve.log").display()
    );
    server.stop();
    step("registrar writes · control-plane audit");
    registry.operator(&["audit"])?;
    Ok(run)
}
