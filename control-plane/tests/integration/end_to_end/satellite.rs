//! A satellite for the tests: update-agent, edge-dns and edge-whois from this workspace, each
//! in its own folder, on loopback or inside a network namespace, checked with `dig`, the
//! `whois` client and the agent's metrics.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use zonefiles::zonedir::ZoneDir;

use crate::fixture::{BIN, Registry, free_port};

/// The other binaries the pipeline needs, built once (same profile as this test), as
/// `cargo test --workspace` builds them: with the features that command unifies, so under
/// `./test.sh` they are there already (a `cargo build -p` of the satellite's packages would
/// resolve other features and build them again, for minutes).
pub fn binaries() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(BIN).parent().unwrap().to_owned();
        let mut build = ops::process::cargo();
        build.args(["test", "--workspace", "--no-run", "--locked", "-q"]);
        if dir.ends_with("release") {
            build.arg("--release");
        }
        assert!(
            build.status().unwrap().success(),
            "building the satellite binaries"
        );
        dir
    })
}

pub struct Satellite {
    pub name: String,
    pub dir: tempfile::TempDir,
    pub dns: std::net::SocketAddr,
    pub whois: std::net::SocketAddr,
    /// RDAP over plain HTTP.
    pub rdap: std::net::SocketAddr,
    pub agent_metrics: std::net::SocketAddr,
    /// edge-dns's and edge-whois's metrics pages.
    pub server_metrics: (std::net::SocketAddr, std::net::SocketAddr),
    /// Where it serves agents downstream, if it relays.
    pub relay: Option<std::net::SocketAddr>,
    /// The signing key it trusts (base64), which its downstream agents trust too.
    pub signing: String,
    pub children: Vec<Child>,
    pub agent: Option<Child>,
    /// The network namespace its processes run in, if not the test's own.
    pub netns: Option<String>,
}

/// Where an agent dials, and the keys it trusts.
pub struct Upstream {
    pub address: std::net::SocketAddr,
    pub key: String,
    pub signing: String,
}

impl Upstream {
    pub fn registry(registry: &Registry, push: std::net::SocketAddr) -> Upstream {
        let read = |p: &str| {
            std::fs::read_to_string(registry.path(p))
                .unwrap()
                .trim()
                .to_owned()
        };
        Upstream {
            address: push,
            key: read("keys/tunnel.pub"),
            signing: read("keys/signing.pub"),
        }
    }
}

impl Satellite {
    /// A satellite whose key the registry accepts, with edge-dns and edge-whois running.
    pub fn new(registry: &Registry, name: &str, push: std::net::SocketAddr) -> Satellite {
        Satellite::start(name, Upstream::registry(registry, push), false, |key| {
            registry.cli(&["satellite", "add", name, key.to_str().unwrap()]);
        })
    }

    /// A satellite fed by the control plane that also relays to agents downstream.
    pub fn relay(registry: &Registry, name: &str, push: std::net::SocketAddr) -> Satellite {
        Satellite::start(name, Upstream::registry(registry, push), true, |key| {
            registry.cli(&["satellite", "add", name, key.to_str().unwrap()]);
        })
    }

    /// A satellite fed by the relay `upstream` (which pins its key), relaying too if `relays`.
    pub fn behind(upstream: &Satellite, name: &str, relays: bool) -> Satellite {
        let address = upstream.relay.expect("the upstream relays");
        let key = std::fs::read_to_string(upstream.dir.path().join("node.pub")).unwrap();
        let via = Upstream {
            address,
            key: key.trim().to_owned(),
            signing: upstream.signing.clone(),
        };
        Satellite::start(name, via, relays, |key| upstream.admit(name, key))
    }

    /// Adds a downstream agent's key to this relay's configuration (re-read within a second).
    pub fn admit(&self, name: &str, key: &Path) {
        use std::io::Write;
        let key = std::fs::read_to_string(key).unwrap();
        let mut config = std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.path().join("agent.toml"))
            .unwrap();
        write!(
            config,
            "[[relay.downstream]]\nid = \"{name}\"\nkey = \"{}\"\n",
            key.trim()
        )
        .unwrap();
    }

    pub fn start(
        name: &str,
        upstream: Upstream,
        relays: bool,
        admit: impl FnOnce(&Path),
    ) -> Satellite {
        Satellite::start_in(name, upstream, relays, admit, None)
    }

    /// A satellite whose processes run in network namespace `netns` and listen on `ip` there.
    pub fn start_in(
        name: &str,
        upstream: Upstream,
        relays: bool,
        admit: impl FnOnce(&Path),
        place: Option<(&str, std::net::IpAddr)>,
    ) -> Satellite {
        let port = || match place {
            Some((_, ip)) => std::net::SocketAddr::new(ip, free_port().port()),
            None => free_port(),
        };
        let dir = tempfile::tempdir().unwrap();
        let bin = binaries();
        let status = Command::new(bin.join("update-agent"))
            .current_dir(dir.path())
            .args(["keygen", "--name", "node"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        admit(&dir.path().join("node.pub"));
        let (dns, whois, rdap, agent_metrics) = (port(), port(), port(), port());
        let (dns_metrics, whois_metrics) = (port(), port());
        let relay = relays.then(port);
        let relay_section = relay
            .map(|listen| format!("[relay]\nlisten = \"{listen}\"\n"))
            .unwrap_or_default();
        std::fs::write(
            dir.path().join("agent.toml"),
            format!(
                "id = \"{name}\"\nupstream = \"{}\"\nupstream_key = \"{}\"\nsigning_keys = [\"{}\"]\n\
                 metrics_listen = \"{agent_metrics}\"\ncompact_after = 50\njournal_keep = 20\n\
                 [activity]\ndns_metrics = \"{dns_metrics}\"\nwhois_metrics = \"{whois_metrics}\"\nevery_s = 1\n\
                 [[zone]]\norigin = \"name\"\ndirectory = \"zones/name\"\n{relay_section}",
                upstream.address, upstream.key, upstream.signing
            ),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("dns.toml"),
            format!(
                "listen = [\"{dns}\"]\nmetrics_listen = \"{dns_metrics}\"\n[[zone]]\ndirectory = \"zones/name\"\n",
            ),
        )
        .unwrap();
        let mut satellite = Satellite {
            name: name.to_owned(),
            dns,
            whois,
            rdap,
            agent_metrics,
            server_metrics: (dns_metrics, whois_metrics),
            relay,
            signing: upstream.signing,
            dir,
            children: Vec::new(),
            agent: None,
            netns: place.map(|(netns, _)| netns.to_owned()),
        };
        satellite.start_agent();
        satellite.wait_for(|s| s.serial().is_some(), "its first snapshot");
        let log = |n: &str| std::fs::File::create(satellite.dir.path().join(n)).unwrap();
        let dns_server = satellite
            .command(&bin.join("edge-dns"))
            .current_dir(satellite.dir.path())
            .args(["--config", "dns.toml"])
            .stderr(log("dns.log"))
            .spawn()
            .unwrap();
        let whois_server = satellite
            .command(&bin.join("edge-whois"))
            .current_dir(satellite.dir.path())
            .args([
                "--tree",
                "whois",
                "--tld",
                "name",
                "--listen",
                &whois.to_string(),
                "--rdap-listen",
                &rdap.to_string(),
            ])
            .arg("--metrics-listen")
            .arg(whois_metrics.to_string())
            .stderr(log("whois.log"))
            .spawn()
            .unwrap();
        satellite.children.extend([dns_server, whois_server]);
        satellite.wait_for(
            |s| {
                std::net::TcpStream::connect(s.dns).is_ok()
                    && std::net::TcpStream::connect(s.whois).is_ok()
            },
            "edge-dns and edge-whois",
        );
        satellite
    }

    /// A command run where the satellite runs (its network namespace, if it has one).
    pub fn command(&self, program: &Path) -> Command {
        match &self.netns {
            Some(netns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", netns]).arg(program);
                command
            }
            None => Command::new(program),
        }
    }

    pub fn start_agent(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("agent.log"))
            .unwrap();
        self.agent = Some(
            self.command(&binaries().join("update-agent"))
                .current_dir(self.dir.path())
                .args(["-c", "agent.toml"])
                .env("RUST_LOG", "info")
                .stderr(log)
                .spawn()
                .unwrap(),
        );
    }

    /// `update-agent verify` against a registry export: whether the data is the same, and
    /// the report.
    pub fn verify(&self, export: &Path) -> (bool, String) {
        let out = Command::new(binaries().join("update-agent"))
            .current_dir(self.dir.path())
            .args(["-c", "agent.toml", "verify", "--export"])
            .arg(export)
            .output()
            .unwrap();
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), report)
    }

    pub fn kill_agent(&mut self) {
        if let Some(mut agent) = self.agent.take() {
            let _ = agent.kill();
            let _ = agent.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("agent.log")).unwrap_or_default()
    }

    pub fn server_logs(&self) -> String {
        ["dns.log", "whois.log"]
            .iter()
            .map(|n| {
                format!(
                    "{n}:\n{}",
                    std::fs::read_to_string(self.dir.path().join(n)).unwrap_or_default()
                )
            })
            .collect()
    }

    /// The serial the agent reports in its metrics.
    pub fn serial(&self) -> Option<u32> {
        let page = http_get(self.agent_metrics)?;
        page.lines()
            .find_map(|l| l.strip_prefix("update_agent_serial{zone=\"name\"} "))
            .and_then(|v| v.trim().parse().ok())
    }

    pub fn metric(&self, name: &str) -> u64 {
        http_get(self.agent_metrics)
            .and_then(|page| {
                page.lines()
                    .find_map(|l| l.strip_prefix(&format!("{name} ")))
                    .and_then(|v| v.trim().parse().ok())
            })
            .unwrap_or(0)
    }

    pub fn wait_for(&self, done: impl Fn(&Satellite) -> bool, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "{}: no {what} within a minute; agent log:\n{}\n{}",
                self.name,
                self.log(),
                self.server_logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn dig(&self, name: &str, rtype: &str) -> String {
        let out = self
            .command(Path::new("dig"))
            .args([
                &format!("@{}", self.dns.ip()),
                "-p",
                &self.dns.port().to_string(),
                name,
                rtype,
                "+norec",
                "+time=2",
                "+tries=1",
            ])
            .output()
            .expect("dig (Debian bind9-dnsutils) is installed");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn whois(&self, query: &str) -> String {
        let out = self
            .command(Path::new("whois"))
            .args([
                "-h",
                &self.whois.ip().to_string(),
                "-p",
                &self.whois.port().to_string(),
                query,
            ])
            .output()
            .expect("whois (Debian whois) is installed");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// An RDAP path's JSON, fetched with curl.
    pub fn rdap(&self, path: &str) -> serde_json::Value {
        let out = self
            .command(Path::new("curl"))
            .args(["-s", &format!("http://{}{path}", self.rdap)])
            .output()
            .expect("curl is installed");
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("RDAP {path}: {e}: {}", String::from_utf8_lossy(&out.stdout))
        })
    }

    /// ICANN's `rdap-test` on an RDAP path (plain HTTP: the STD 95 checks, as the gTLD
    /// profile's need HTTPS): its errors and warnings, or `None` where rdap-test is not
    /// installed (test.sh installs it).
    pub fn rdap_findings(&self, path: &str) -> Option<Vec<String>> {
        let out = self
            .command(Path::new("rdap-test"))
            .args(["--skip-v6", "-O", "markdown", "-L", "off", "-T"])
            .args(["-C", "std95-error", "-C", "std95-warn"])
            .arg(format!("http://{}{path}", self.rdap))
            .output()
            .ok()?;
        let report = String::from_utf8_lossy(&out.stdout);
        if !report.contains("**TESTED**") {
            return Some(vec![format!("rdap-test tested nothing: {report}")]);
        }
        Some(
            report
                .lines()
                .filter(|l| l.contains("Err:") || l.contains("Warn:"))
                .map(str::to_owned)
                .collect(),
        )
    }

    /// Waits until DNS and WHOIS both answer a domain [`Registry::register`] registered.
    pub fn wait_registered(&self, name: &str) {
        self.wait_answer(
            &format!("www.{name}."),
            |d| d.contains("ns.example.net."),
            |w| {
                w.to_ascii_lowercase()
                    .contains(&format!("domain name: {name}"))
            },
        );
    }

    /// Waits until both DNS and WHOIS answer `name` as `check` wants.
    pub fn wait_answer(
        &self,
        name: &str,
        dns: impl Fn(&str) -> bool,
        whois: impl Fn(&str) -> bool,
    ) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let domain = name.trim_start_matches("www.").trim_end_matches('.');
            let (d, w) = (self.dig(name, "A"), self.whois(domain));
            if dns(&d) && whois(&w) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: {name} not answered as expected within 10 s\ndig:\n{d}\nwhois:\n{w}\nagent:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The zone it serves (image plus journal) and its WHOIS files, for comparing satellites.
    pub fn data(&self) -> (zonefiles::Zone, Vec<(PathBuf, Vec<u8>)>) {
        let snapshot = ZoneDir::open(&self.dir.path().join("zones/name"))
            .unwrap()
            .load()
            .unwrap();
        let mut zone = snapshot.image.to_zone().unwrap();
        for changeset in &snapshot.changesets {
            zone = zonefiles::apply(zone, changeset).unwrap();
        }
        let root = self.dir.path().join("whois");
        let mut files = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                let relative = path.strip_prefix(&root).unwrap().to_owned();
                if path.is_dir() {
                    if !relative.starts_with("index") {
                        stack.push(path);
                    }
                } else if path.extension().is_some_and(|e| e == "json") {
                    files.push((relative, std::fs::read(&path).unwrap()));
                }
            }
        }
        files.sort();
        (zone, files)
    }
}

impl Drop for Satellite {
    fn drop(&mut self) {
        self.kill_agent();
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn http_get(address: std::net::SocketAddr) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .ok()?;
    let mut page = String::new();
    stream.read_to_string(&mut page).ok()?;
    Some(page)
}

pub fn newest(registry: &Registry) -> u32 {
    registry
        .database()
        .query_row("SELECT serial FROM zones WHERE origin = 'name'", [], |r| {
            r.get(0)
        })
        .unwrap()
}
