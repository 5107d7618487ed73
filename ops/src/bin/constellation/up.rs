//! `constellation up`: a whole constellation on loopback with sample data.
//!
//! ```text
//! build the servers (cargo, in a source checkout) → <dir>/registry: keys, registrars, zone
//! `name`, sample registrations imported → control plane serving SRRP and the push service
//! → per satellite <dir>/sat-N: node key pinned on the control plane, update-agent (snapshot,
//! then changesets) → wait until every satellite holds the newest serial → edge-dns and
//! edge-whois → <dir>/constellation.toml → what to try → (a process that dies is started again)
//! → Ctrl-C: everything stops
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::children::Children;
use crate::manifest::{self, Manifest};
use crate::sample;
use ops::scrape::Samples;

/// `up`'s options.
#[derive(clap::Args)]
pub struct Options {
    /// Sample domains to register.
    #[arg(long, default_value_t = 100_000)]
    domains: usize,
    /// Satellites to run.
    #[arg(long, default_value_t = 2)]
    satellites: u16,
    /// Where everything goes (made afresh; an existing one is replaced only if `up` made it).
    #[arg(long, default_value = "constellation-up")]
    dir: PathBuf,
    /// Added to every port (DNS 5301…, WHOIS 4341…, SRRP 1700, EPP 7000, RRP 6480, web 8443, push 4433, metrics 91xx), to
    /// run beside something that holds them.
    #[arg(long, default_value_t = 0)]
    port_offset: u16,
    /// Use the binaries found next to this one, without running cargo.
    #[arg(long)]
    no_build: bool,
}

const ZONE: &str = "name";
const REGISTRARS: [u32; 5] = [1001, 1002, 1003, 1004, 1005];
const SERVERS: [&str; 4] = ["control-plane", "update-agent", "edge-dns", "edge-whois"];

fn password(registrar: u32) -> String {
    format!("sample-{registrar}")
}

/// The loopback ports, shifted by the offset.
struct Ports(u16);

impl Ports {
    fn at(&self, port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port + self.0))
    }
    fn srrp(&self) -> SocketAddr {
        self.at(1700)
    }
    fn epp(&self) -> SocketAddr {
        self.at(7000)
    }
    fn rrp(&self) -> SocketAddr {
        self.at(6480)
    }
    fn web(&self) -> SocketAddr {
        self.at(8443)
    }
    fn push(&self) -> SocketAddr {
        self.at(4433)
    }
    fn control_metrics(&self) -> SocketAddr {
        self.at(9155)
    }
    fn dns(&self, n: u16) -> SocketAddr {
        self.at(5300 + n)
    }
    fn whois(&self, n: u16) -> SocketAddr {
        self.at(4340 + n)
    }
    fn rdap(&self, n: u16) -> SocketAddr {
        self.at(8080 + n)
    }
    fn agent_metrics(&self, n: u16) -> SocketAddr {
        self.at(9180 + n)
    }
    fn dns_metrics(&self, n: u16) -> SocketAddr {
        self.at(9160 + n)
    }
    fn whois_metrics(&self, n: u16) -> SocketAddr {
        self.at(9170 + n)
    }
}

/// The servers' binaries: built first in a source checkout (cargo shows its progress), then
/// taken from this binary's folder.
fn binaries(build: bool) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("finding this binary")?;
    let dir = exe.parent().context("this binary's folder")?.to_owned();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_owned);
    if let Some(workspace) = workspace.filter(|w| build && w.join("Cargo.lock").exists()) {
        eprintln!(
            "== building the servers (a first build on a fresh machine takes several minutes)"
        );
        let mut cargo = ops::process::cargo();
        cargo.current_dir(&workspace).args(["build", "--locked"]);
        for server in SERVERS {
            cargo.args(["-p", server]);
        }
        if dir.ends_with("release") {
            cargo.arg("--release");
        }
        if !cargo.status().context("running cargo")?.success() {
            bail!("building the servers failed");
        }
    }
    for server in SERVERS {
        if !dir.join(server).exists() {
            bail!(
                "{server} is not in {}: build the workspace (cargo build --release) or run `up` without --no-build",
                dir.display()
            );
        }
    }
    Ok(dir)
}

/// Runs a command to completion, quietly unless it fails.
fn quiet(mut command: Command, what: &str) -> anyhow::Result<String> {
    let out = command
        .output()
        .with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Makes `dir` afresh, refusing to delete a folder `up` did not make.
fn fresh(dir: &Path) -> anyhow::Result<PathBuf> {
    if dir.exists() {
        let ours = dir.join("constellation.toml").exists() || dir.read_dir()?.next().is_none();
        if !ours {
            bail!(
                "{} exists and was not made by `constellation up`: name another with --dir",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    Ok(std::fs::canonicalize(dir)?)
}

/// Runs `up`.
pub fn run(options: Options) -> anyhow::Result<()> {
    let bin = binaries(!options.no_build)?;
    let dir = fresh(&options.dir)?;
    let ports = Ports(options.port_offset);
    for port in [
        ports.srrp(),
        ports.epp(),
        ports.rrp(),
        ports.web(),
        ports.control_metrics(),
    ] {
        if std::net::TcpListener::bind(port).is_err() {
            bail!("{port} is taken: stop what holds it, or pass --port-offset");
        }
    }
    let mut children = Children::default();
    let registry = dir.join("registry");
    std::fs::create_dir_all(&registry)?;
    std::fs::write(
        registry.join("control-plane.toml"),
        format!(
            "database = \"registry.db\"\nsigning_key = \"keys/signing.key\"\nrecovery_key = \"keys/recovery.pub\"\n\
             metrics_listen = \"{}\"\n\
             [srrp]\nlisten = [\"{}\"]\ncertificate = \"keys/srrp.crt\"\nkey = \"keys/srrp.key\"\n\
             [epp]\nlisten = [\"{}\"]\n\
             [rrp]\nlisten = [\"{}\"]\n\
             [web]\nlisten = [\"{}\"]\nregistry = \"Constellation .name\"\n\
             [push]\nlisten = \"{}\"\nkey = \"keys/tunnel.key\"\n\
             [dnssec]\nkeys = \"keys/dnssec\"\n",
            ports.control_metrics(),
            ports.srrp(),
            ports.epp(),
            ports.rrp(),
            ports.web(),
            ports.push()
        ),
    )?;
    let control = |args: &[&str]| {
        let mut command = Command::new(bin.join("control-plane"));
        command
            .current_dir(&registry)
            .args(["-c", "control-plane.toml", "--operator", "constellation"])
            .args(args);
        command
    };
    eprintln!(
        "== a control plane in {}: keys, registrars, zone .{ZONE}",
        registry.display()
    );
    quiet(
        control(&["keygen", "--dir", "keys"]),
        "control-plane keygen",
    )?;
    // $1M for trying things, and the sample's creates at up to $10 each.
    let credit = (100_000_000 + (options.domains / REGISTRARS.len() + 1) * 1_000).to_string();
    for id in REGISTRARS {
        let id_text = id.to_string();
        quiet(
            control(&[
                "registrar",
                "add",
                "--id",
                &id_text,
                "--iana-id",
                &id_text,
                "--name",
                &format!("Sample Registrar {id}"),
                "--password",
                &password(id),
                "--url",
                &format!("https://registrar-{id}.example"),
                "--abuse-email",
                &format!("abuse@registrar-{id}.example"),
            ]),
            "control-plane registrar add",
        )?;
        quiet(
            control(&["registrar", "credit", &id_text, &credit]),
            "control-plane registrar credit",
        )?;
    }
    quiet(
        control(&[
            "zone",
            "add",
            ZONE,
            "--level",
            "3",
            "--ns",
            "ns1.nic.name=192.0.2.53",
            "--ns",
            "ns2.nic.example",
        ]),
        "control-plane zone add",
    )?;
    eprintln!(
        "== registering {} sample domains (control-plane import)",
        options.domains
    );
    std::fs::write(
        registry.join("sample.txt"),
        sample::registrations(options.domains, &REGISTRARS),
    )?;
    let mut import = control(&["import", "sample.txt"]);
    import.stdout(std::process::Stdio::inherit());
    if !import
        .status()
        .context("running control-plane import")?
        .success()
    {
        bail!("the sample import failed");
    }
    eprintln!("== .{ZONE} signed (DNSSEC: a KSK and a ZSK, NSEC3 with opt-out)");
    quiet(
        control(&["dnssec", "keygen", ZONE, "--ksk"]),
        "control-plane dnssec keygen",
    )?;
    quiet(
        control(&["dnssec", "keygen", ZONE]),
        "control-plane dnssec keygen",
    )?;
    quiet(control(&["dnssec", "on", ZONE]), "control-plane dnssec on")?;
    eprintln!("== an escrow deposit of .{ZONE} (RFC 8909/9022), encrypted to a sample agent's key");
    for (user_id, key) in [
        (
            "Sample Registry <escrow@nic.name>",
            "keys/escrow-registry.asc",
        ),
        (
            "Sample Escrow Agent <agent@escrow.example>",
            "keys/escrow-agent.asc",
        ),
    ] {
        quiet(
            control(&["escrow", "keygen", "--user-id", user_id, "--out", key]),
            "control-plane escrow keygen",
        )?;
    }
    quiet(
        control(&["escrow", "deposit", ZONE, "--kind", "full"]),
        "control-plane escrow deposit",
    )?;
    let read = |p: &str| -> anyhow::Result<String> {
        Ok(std::fs::read_to_string(registry.join(p))?.trim().to_owned())
    };
    let (tunnel_key, signing_key) = (read("keys/tunnel.pub")?, read("keys/signing.pub")?);
    let mut satellites = Vec::new();
    for n in 1..=options.satellites {
        let name = format!("sat-{n}");
        let home = dir.join(&name);
        std::fs::create_dir_all(&home)?;
        let mut keygen = Command::new(bin.join("update-agent"));
        keygen.current_dir(&home).args(["keygen", "--name", "node"]);
        quiet(keygen, "update-agent keygen")?;
        let public = home.join("node.pub");
        quiet(
            control(&[
                "satellite",
                "add",
                &name,
                public.to_str().context("a UTF-8 path")?,
            ]),
            "control-plane satellite add",
        )?;
        std::fs::write(
            home.join("update-agent.toml"),
            format!(
                "id = \"{name}\"\nupstream = \"{}\"\nupstream_key = \"{tunnel_key}\"\n\
                 signing_keys = [\"{signing_key}\"]\nmetrics_listen = \"{}\"\n\
                 [activity]\ndns_metrics = \"{}\"\nwhois_metrics = \"{}\"\nevery_s = 5\n\
                 [[zone]]\norigin = \"{ZONE}\"\ndirectory = \"zones/{ZONE}\"\n",
                ports.push(),
                ports.agent_metrics(n),
                ports.dns_metrics(n),
                ports.whois_metrics(n)
            ),
        )?;
        std::fs::write(
            home.join("edge-dns.toml"),
            format!(
                "listen = [\"{}\"]\nmetrics_listen = \"{}\"\n[[zone]]\ndirectory = \"zones/{ZONE}\"\n",
                ports.dns(n),
                ports.dns_metrics(n)
            ),
        )?;
        std::fs::write(
            home.join("edge-whois.toml"),
            format!(
                "listen = [\"{}\"]\ntree = \"whois\"\ntlds = [\"{ZONE}\"]\nmetrics_listen = \"{}\"\n\
                 [rdap]\nlisten = [\"{}\"]\n",
                ports.whois(n),
                ports.whois_metrics(n),
                ports.rdap(n)
            ),
        )?;
        satellites.push(manifest::Satellite {
            agent_config: Some(home.join("update-agent.toml")),
            name,
            agent_metrics: ports.agent_metrics(n),
            dns_metrics: ports.dns_metrics(n),
            whois_metrics: ports.whois_metrics(n),
        });
    }
    // Serve once every satellite is a member, so no agent is turned away at first.
    children.spawn(
        "control-plane",
        {
            let mut serve = control(&["serve"]);
            serve.env("RUST_LOG", "info");
            serve
        },
        &registry,
        &registry.join("control-plane.log"),
    )?;
    wait_until(
        "the control plane's metrics",
        Duration::from_secs(30),
        || Samples::fetch(ports.control_metrics()).is_some(),
    )?;
    for satellite in &satellites {
        let home = dir.join(&satellite.name);
        let mut agent = Command::new(bin.join("update-agent"));
        agent.args(["-c", "update-agent.toml"]);
        children.spawn(
            &format!("{} update-agent", satellite.name),
            agent,
            &home,
            &home.join("update-agent.log"),
        )?;
    }
    wait_for_sync(&ports, &satellites, &mut children)?;
    for (satellite, n) in satellites.iter().zip(1..) {
        let home = dir.join(&satellite.name);
        let mut dns = Command::new(bin.join("edge-dns"));
        dns.args(["--config", "edge-dns.toml"]);
        children.spawn(
            &format!("{} edge-dns", satellite.name),
            dns,
            &home,
            &home.join("edge-dns.log"),
        )?;
        let mut whois = Command::new(bin.join("edge-whois"));
        whois.args(["--config", "edge-whois.toml"]);
        children.spawn(
            &format!("{} edge-whois", satellite.name),
            whois,
            &home,
            &home.join("edge-whois.log"),
        )?;
        wait_until("edge-dns and edge-whois", Duration::from_secs(30), || {
            std::net::TcpStream::connect(ports.dns(n)).is_ok()
                && std::net::TcpStream::connect(ports.whois(n)).is_ok()
        })?;
    }
    let manifest_path = dir.join("constellation.toml");
    Manifest {
        control_plane_metrics: ports.control_metrics(),
        zones: vec![ZONE.into()],
        control_plane_config: Some(registry.join("control-plane.toml")),
        satellites: satellites.clone(),
    }
    .save(&manifest_path)?;
    print_try(
        &bin,
        &dir,
        &ports,
        options.satellites,
        options.domains,
        &manifest_path,
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // From here on a process that dies is started again: the satellites go on serving while
    // the control plane restarts, as they would on their own hosts.
    runtime.block_on(async {
        let supervise = async {
            loop {
                children.supervise();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        };
        tokio::select! {
            () = ops::stopped() => {}
            () = supervise => {}
        }
    });
    eprintln!("== stopping");
    children.stop();
    Ok(())
}

fn wait_until(what: &str, limit: Duration, done: impl Fn() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() > deadline {
            bail!("no {what} within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Waits, with a progress bar, until every satellite holds the control plane's newest serial.
fn wait_for_sync(
    ports: &Ports,
    satellites: &[manifest::Satellite],
    children: &mut Children,
) -> anyhow::Result<()> {
    let bar = indicatif::ProgressBar::new(satellites.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] satellites in sync {pos}/{len}: {msg}",
        )
        .expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    let series = format!("update_agent_serial{{zone=\"{ZONE}\"}}");
    let newest_series = format!("control_plane_journal_serial{{zone=\"{ZONE}\"}}");
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        if let Some((name, status)) = children.exited() {
            bar.abandon();
            bail!("{name} stopped ({status}) before the satellites were in sync: see its log");
        }
        let newest = Samples::fetch(ports.control_metrics()).and_then(|p| p.get(&newest_series));
        let mut synced = 0;
        let mut states = Vec::new();
        for satellite in satellites {
            let serial = Samples::fetch(satellite.agent_metrics).and_then(|p| p.get(&series));
            let state = match (serial, newest) {
                (Some(s), Some(n)) if s == n => {
                    synced += 1;
                    "in sync".to_string()
                }
                (Some(s), Some(n)) => format!("serial {s} of {n}"),
                _ => "receiving a snapshot".to_string(),
            };
            states.push(format!("{} {state}", satellite.name));
        }
        bar.set_position(synced);
        bar.set_message(states.join(", "));
        if synced == satellites.len() as u64 {
            bar.finish();
            return Ok(());
        }
        if Instant::now() > deadline {
            bar.abandon();
            bail!("the satellites are not in sync after 30 minutes: see their update-agent.log");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn print_try(
    bin: &Path,
    dir: &Path,
    ports: &Ports,
    satellites: u16,
    domains: usize,
    manifest: &Path,
) {
    let try_ = |command: String, what: &str| println!("  {command:<100} # {what}");
    let sample = sample::domain(domains.saturating_sub(1).min(7));
    let glued = sample::domain(3);
    let (dns1, whois1) = (ports.dns(1), ports.whois(1));
    println!();
    println!(
        "A constellation is up: a control plane (zone .{ZONE}, {domains} sample domains, SRRP on {}, EPP on {}, RRP on {}) and {satellites} satellites (edge-dns on {}…, edge-whois on {}… and RDAP on {}…), in {}.",
        ports.srrp(),
        ports.epp(),
        ports.rrp(),
        dns1,
        whois1,
        ports.rdap(1),
        dir.display()
    );
    println!("Try:");
    let dig = |n: u16, query: &str| {
        let dns = ports.dns(n);
        format!("dig @{} -p {} {query} +norec", dns.ip(), dns.port())
    };
    let whois = |n: u16, query: &str| {
        let whois = ports.whois(n);
        format!("whois -h {} -p {} {query}", whois.ip(), whois.port())
    };
    try_(dig(1, &format!("www.{sample} A")), "a referral");
    try_(dig(1, &format!("www.{glued} A")), "a referral with glue");
    try_(
        dig(1, &format!("{ZONE} DNSKEY +dnssec")),
        "the zone is signed: its keys and their signature",
    );
    try_(whois(1, &sample), "WHOIS for a domain");
    try_(whois(1, &format!("ns1.{glued}")), "a name server");
    try_(
        format!("curl -s http://{}/domain/{sample}", ports.rdap(1)),
        "the same over RDAP (also /nameserver/, /entity/, /domains?name=, /help)",
    );
    let srrp = format!(
        "{} srrp --ca {} --server {}",
        bin.join("control-plane").display(),
        dir.join("registry/keys/srrp.crt").display(),
        ports.srrp()
    );
    let auth = format!("registrar-id=1001 registrar-auth={}", password(1001));
    try_(
        format!(
            "{srrp} CREATE DOMAIN {auth} domain-name=john.smith.name ns1-name=ns1.john.smith.name ns1-address=192.0.2.80 ns2-name=ns.example.net"
        ),
        "register over SRRP",
    );
    try_(
        format!(
            "echo '<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><command><info><domain:info xmlns:domain=\"urn:ietf:params:xml:ns:domain-1.0\"><domain:name>john.smith.name</domain:name></domain:info></info></command></epp>' | {} epp --ca {} --server {} --client 1001 --password {} -",
            bin.join("control-plane").display(),
            dir.join("registry/keys/srrp.crt").display(),
            ports.epp(),
            password(1001)
        ),
        "the same registry over EPP",
    );
    try_(
        format!(
            "printf 'session\\r\\n-Id:1001\\r\\n-Password:{}\\r\\n.\\r\\nstatus\\r\\nEntityName:Domain\\r\\nDomainName:john.smith.name\\r\\n.\\r\\nquit\\r\\n.\\r\\n' | openssl s_client -quiet -ign_eof -connect {} -CAfile {}",
            password(1001),
            ports.rrp(),
            dir.join("registry/keys/srrp.crt").display(),
        ),
        "and over RRP (RFC 2832): a session by hand",
    );
    try_(
        format!(
            "https://{}/  (registrar 1001, password {}; the certificate is {})",
            ports.web(),
            password(1001),
            dir.join("registry/keys/srrp.crt").display()
        ),
        "the registrars' web page: account, domains, statement, messages",
    );
    for n in 1..=satellites {
        try_(
            dig(n, "www.john.smith.name A"),
            &format!("answered on satellite {n} at once"),
        );
    }
    try_(whois(satellites, "john.smith.name"), "and in its WHOIS");
    try_(
        format!(
            "curl -s http://{}/domain/john.smith.name",
            ports.rdap(satellites)
        ),
        "and its RDAP",
    );
    let operator = format!(
        "{} -c {}",
        bin.join("control-plane").display(),
        dir.join("registry/control-plane.toml").display()
    );
    try_(
        format!("{operator} domain hold john.smith.name --reason abuse --reference TKT-1"),
        "the registry holds it: out of every satellite's DNS, serverHold in WHOIS and RDAP",
    );
    try_(
        format!("{operator} domain release john.smith.name --reason abuse --reference TKT-1"),
        "and releases it (both in `history john.smith.name`)",
    );
    try_(
        format!("{srrp} DELETE DOMAIN {auth} domain-name=john.smith.name"),
        "gone from every satellite",
    );
    let me = std::env::current_exe()
        .map_or_else(|_| "constellation".into(), |p| p.display().to_string());
    try_(
        format!("{me} status --manifest {}", manifest.display()),
        "every satellite's serial, lag and query rates",
    );
    try_(
        format!("{me} verify --manifest {}", manifest.display()),
        "every satellite's data against the registry's, item by item",
    );
    try_(format!("{operator} satellites"), "the control plane's view");
    try_(
        format!("{operator} dnssec status {ZONE}"),
        "the zone's keys, their state, and the DS record for the parent (docs/dnssec.md)",
    );
    try_(
        format!("{operator} escrow list"),
        "the escrow deposit made at start (signed, encrypted to a sample agent's key)",
    );
    try_(
        format!("{operator} escrow deposit {ZONE}"),
        "the next one: differential, what changed since (docs/escrow.md)",
    );
    try_(
        format!("{operator} report activity {ZONE} --month $(date -u +%Y-%m)"),
        "ICANN's monthly activity report: the commands above, every satellite's DNS, WHOIS and RDAP queries",
    );
    println!("Logs are in {}. Ctrl-C stops everything.", dir.display());
}
