//! A registry in a temporary folder, configured with the binary's own commands.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use control_plane::front::srrp::grammar::{Code, Request, Response, VERSION};

pub const BIN: &str = env!("CARGO_BIN_EXE_control-plane");

/// A registry folder and, while started, its server.
pub struct Registry {
    pub dir: tempfile::TempDir,
    pub address: SocketAddr,
    pub server: Option<Child>,
    pub client: Arc<rustls::ClientConfig>,
    runtime: tokio::runtime::Runtime,
    /// The network namespace the server runs in, if not the test's own.
    pub netns: Option<String>,
}

/// A loopback port free for both TCP and UDP, for a server a test starts. Drawn below the
/// kernel's range for ephemeral ports (32768 and up), so that no client socket, QUIC endpoint
/// or other test's port 0 takes it between here and the server's bind, and never the same
/// twice in one run.
pub fn free_port() -> SocketAddr {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    let start = std::process::id().wrapping_mul(7919) % COUNT;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (FIRST + (start + n) % COUNT) as u16;
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        if TcpListener::bind(address).is_ok() && std::net::UdpSocket::bind(address).is_ok() {
            return address;
        }
    }
}

impl Registry {
    /// Keys, a configuration, zones `name` (level 3) and `tld` (level 2), registrars 1001 and
    /// 1002 with credit, and 1003 without.
    pub fn new(extra_config: &str) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let address = free_port();
        let metrics = free_port();
        std::fs::write(
            dir.path().join("cp.toml"),
            format!(
                "database = \"registry.db\"\nsigning_key = \"keys/signing.key\"\nrecovery_key = \"keys/recovery.pub\"\nmetrics_listen = \"{metrics}\"\n\n[srrp]\nlisten = [\"{address}\"]\ncertificate = \"keys/srrp.crt\"\nkey = \"keys/srrp.key\"\n{extra_config}\n"
            ),
        )
        .unwrap();
        let status = Command::new(BIN)
            .current_dir(dir.path())
            .args(["-c", "cp.toml", "keygen", "--dir", "keys"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "keygen failed");
        let registry = Registry::at(dir, address);
        registry.cli(&[
            "zone",
            "add",
            "name",
            "--level",
            "3",
            "--ns",
            "ns1.nic.name=192.0.2.1",
            "--ns",
            "ns2.example.net",
        ]);
        registry.cli(&[
            "zone",
            "add",
            "tld",
            "--ns",
            "a.nic.tld=192.0.2.2",
            "--ns",
            "b.nic.tld=2001:db8::2",
        ]);
        for (id, password) in [
            ("1001", "pass-one"),
            ("1002", "pass two = x"),
            ("1003", "pass-three"),
        ] {
            registry.cli(&[
                "registrar",
                "add",
                "--id",
                id,
                "--iana-id",
                &format!("9{id}"),
                "--name",
                &format!("Registrar {id}"),
                "--password",
                password,
                "--abuse-email",
                "abuse@example.net",
            ]);
        }
        registry.cli(&["registrar", "credit", "1001", "1000000"]);
        registry.cli(&["registrar", "credit", "1002", "1000000"]);
        registry
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs a command of the binary in the folder; panics with its output if it fails.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(BIN)
            .current_dir(self.dir.path())
            .args(["-c", "cp.toml", "--operator", "tester"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "control-plane {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&mut self) {
        let log = std::fs::File::create(self.path("serve.log")).unwrap();
        let mut command = match &self.netns {
            Some(netns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", netns, BIN]);
                command
            }
            None => Command::new(BIN),
        };
        let child = command
            .current_dir(self.dir.path())
            .args(["-c", "cp.toml", "serve"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.server = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(self.address).is_err() {
            assert!(
                Instant::now() < deadline,
                "the server did not start: {}",
                std::fs::read_to_string(self.path("serve.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // The metrics listener starts beside SRRP's, not before it.
        let config = std::fs::read_to_string(self.path("cp.toml")).unwrap();
        if self.netns.is_none() && config.contains("metrics_listen = ") {
            while self.metrics().is_empty() {
                assert!(Instant::now() < deadline, "no metrics page");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Kills the server with SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.server.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends a request: header words and attributes.
    pub fn send(&self, header: &str, attributes: &[(&str, &str)]) -> Response {
        self.runtime
            .block_on(send(self.address, self.client.clone(), header, attributes))
            .unwrap()
    }

    /// Sends a request as a registrar (1001, 1002 or 1003).
    pub fn as_registrar(
        &self,
        registrar: u32,
        header: &str,
        attributes: &[(&str, &str)],
    ) -> Response {
        let password = password(registrar);
        let id = registrar.to_string();
        let mut all = vec![("registrar-id", id.as_str()), ("registrar-auth", password)];
        all.extend_from_slice(attributes);
        self.send(header, &all)
    }

    /// The registry moved to another host, as the runbook does it (docs/ops/move-the-control-plane.md):
    /// its folder (database, keys, configuration) copied while its server is stopped, served on
    /// new addresses: SRRP on a new port, and `push` (the old push address) replaced by `new_push`.
    pub fn moved(&self, push: SocketAddr, new_push: SocketAddr) -> Registry {
        assert!(self.server.is_none(), "stop the server first");
        let dir = tempfile::tempdir().unwrap();
        let copied = Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", self.dir.path().display()))
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(copied.success());
        let address = free_port();
        let config = std::fs::read_to_string(dir.path().join("cp.toml"))
            .unwrap()
            .replace(&self.address.to_string(), &address.to_string())
            .replace(&push.to_string(), &new_push.to_string());
        std::fs::write(dir.path().join("cp.toml"), config).unwrap();
        Registry::at(dir, address)
    }

    /// The registry in `dir` (keys made), served on `address`, not started.
    fn at(dir: tempfile::TempDir, address: SocketAddr) -> Registry {
        Registry {
            client: control_plane::front::tls::client_config(&dir.path().join("keys/srrp.crt"))
                .unwrap(),
            dir,
            address,
            server: None,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            netns: None,
        }
    }

    /// Runs the server in network namespace `netns`, listening on `ip` there: every
    /// loopback address in its configuration moves to `ip`.
    pub fn place(&mut self, netns: &str, ip: std::net::IpAddr) {
        let config = std::fs::read_to_string(self.path("cp.toml"))
            .unwrap()
            .replace("127.0.0.1:", &format!("{ip}:"));
        std::fs::write(self.path("cp.toml"), config).unwrap();
        self.address = SocketAddr::new(ip, self.address.port());
        self.netns = Some(netns.to_owned());
    }

    /// Registers `name` for `registrar`, delegated to ns.example.net and ns.example.org;
    /// panics unless it is confirmed.
    pub fn register(&self, registrar: u32, name: &str) {
        let response = self.as_registrar(
            registrar,
            "CREATE DOMAIN",
            &[
                ("domain-name", name),
                ("ns1-name", "ns.example.net"),
                ("ns2-name", "ns.example.org"),
            ],
        );
        assert_eq!(response.code.number(), 200, "{name}: {response:?}");
    }

    /// The metrics page of the running server.
    pub fn metrics(&self) -> String {
        let config = std::fs::read_to_string(self.path("cp.toml")).unwrap();
        let address = config
            .lines()
            .find_map(|l| l.strip_prefix("metrics_listen = "))
            .unwrap()
            .trim_matches('"')
            .to_owned();
        crate::end_to_end::satellite::http_get(address.parse().unwrap()).unwrap_or_default()
    }

    /// The runtime the fixture's clients run on.
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }

    pub fn database(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.path("registry.db")).unwrap()
    }

    pub fn audit(&self) -> String {
        self.cli(&["audit"])
    }

    /// What two registries that saw the same changes hold alike, one line each: domains
    /// (times to the day), name servers, DS, the ledger, balances, the history, and the zone
    /// and WHOIS data their journals replay to (`export`). The history of host objects and
    /// clusters, which each protocol makes its own way (RRP names host objects, SRRP
    /// clusters), is left out; their effect on domains is not.
    pub fn state(&self) -> Vec<String> {
        let db = self.database();
        let day = "date(%s, 'unixepoch')";
        let queries = [
            format!(
                "SELECT name, id, registrar, statuses, {}, {}, auth_hash IS NOT NULL, ds, \
                 (SELECT group_concat(name || '=' || addresses, ' ') FROM cluster_nameservers WHERE cluster = domains.cluster) \
                 FROM domains ORDER BY name",
                day.replace("%s", "created"),
                day.replace("%s", "expires")
            ),
            "SELECT registrar, kind, domain, amount, balance FROM ledger ORDER BY id".into(),
            "SELECT id, balance FROM registrars ORDER BY id".into(),
            "SELECT object, actor, change FROM history WHERE object NOT LIKE 'host:%' AND object NOT LIKE 'cluster:%' ORDER BY id".into(),
        ];
        let mut rows = Vec::new();
        for sql in queries {
            let mut statement = db.prepare(&sql).unwrap();
            let columns = statement.column_count();
            let mut result = statement.query([]).unwrap();
            while let Some(row) = result.next().unwrap() {
                let fields: Vec<String> = (0..columns)
                    .map(|i| match row.get_ref(i).unwrap() {
                        rusqlite::types::ValueRef::Null => "NULL".into(),
                        rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                        rusqlite::types::ValueRef::Real(x) => x.to_string(),
                        rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                            String::from_utf8_lossy(t).into_owned()
                        }
                    })
                    .collect();
                rows.push(fields.join(" | "));
            }
        }
        rows.extend(self.published("tld"));
        rows
    }

    /// The zone and WHOIS data a zone's journal replays to (`export`), one line each: the
    /// zone's records but the SOA (whose serial counts batches, not changes), and the WHOIS
    /// objects with times cut to the day.
    pub fn published(&self, zone: &str) -> Vec<String> {
        let folder = format!("exports-{zone}");
        let _ = std::fs::remove_dir_all(self.path(&folder));
        self.cli(&["export", zone, "-o", &folder]);
        let mut rows = Vec::new();
        let mut exports: Vec<_> = std::fs::read_dir(self.path(&folder))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        exports.sort();
        for path in exports {
            if path.extension().is_some_and(|e| e == "img") {
                let image = zonefiles::Image::open(&path).unwrap();
                let mut text = Vec::new();
                zonefiles::master::write_zone(&image.to_zone().unwrap(), &mut text).unwrap();
                rows.extend(
                    String::from_utf8(text)
                        .unwrap()
                        .lines()
                        .filter(|l| !l.contains("SOA"))
                        .map(String::from),
                );
            } else {
                let text = std::fs::read_to_string(&path).unwrap();
                rows.extend(text.lines().map(|l| {
                    let mut object: serde_json::Value = serde_json::from_str(l).unwrap();
                    to_days(&mut object);
                    object.to_string()
                }));
            }
        }
        rows
    }
}

/// Times (seconds since 1970) in `created`, `updated` and `expires` fields as days.
fn to_days(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                match field.as_i64() {
                    Some(time) if ["created", "updated", "expires"].contains(&key.as_str()) => {
                        *field = (time / 86_400).into();
                    }
                    _ => to_days(field),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(to_days),
        _ => {}
    }
}

/// Asserts that registries hold the same ([`Registry::state`]), naming the first difference.
#[track_caller]
pub fn assert_same(named: &[(&str, &Registry)]) {
    let (first, reference) = named[0];
    let expected = reference.state();
    for (name, registry) in &named[1..] {
        let got = registry.state();
        for (x, y) in expected.iter().zip(&got) {
            assert_eq!(
                x, y,
                "{first}'s registry (left) and {name}'s (right) differ"
            );
        }
        assert_eq!(
            expected.len(),
            got.len(),
            "{first}'s and {name}'s registries differ in length"
        );
    }
}

pub fn password(registrar: u32) -> &'static str {
    match registrar {
        1001 => "pass-one",
        1002 => "pass two = x",
        _ => "pass-three",
    }
}

pub async fn send(
    address: SocketAddr,
    client: Arc<rustls::ClientConfig>,
    header: &str,
    attributes: &[(&str, &str)],
) -> anyhow::Result<Response> {
    let mut words = header.split_whitespace();
    let request = Request {
        command: words.next().unwrap().to_string(),
        object: words.next().unwrap().to_string(),
        protocol: words.next().unwrap_or(VERSION).to_string(),
        attributes: attributes
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    };
    control_plane::front::client::send(address, "localhost", client, &request).await
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Asserts a response's code, showing its text when it differs.
#[track_caller]
pub fn expect(response: &Response, code: Code) {
    assert_eq!(response.code, code, "response: {response:?}");
}
