//! What the end-to-end tests share: a tree with sample records and a running server.
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zonefiles::whois::index;
use zonefiles::whois::tree::Tree;
use zonefiles::whois::{Domain, DomainStatus, Host, Nameserver, Object, Registrar};

pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn registrar() -> Registrar {
    Registrar {
        iana_id: 9999,
        name: "Example Registrar, Inc.".into(),
        whois_server: "whois.example-registrar.net".into(),
        url: "https://example-registrar.net".into(),
        abuse_email: "abuse@example-registrar.net".into(),
        abuse_phone: "+1.5555550100".into(),
        updated: 1_700_000_000,
    }
}

pub fn domain(name: &str, version: u32) -> Domain {
    Domain {
        name: name.into(),
        roid: format!("D{version}-TLD"),
        registrar: 9999,
        statuses: vec![DomainStatus::ClientTransferProhibited],
        nameservers: (0..4)
            .map(|i| Nameserver {
                name: format!("ns{i}.v{version}.example.net"),
                addresses: vec![],
            })
            .collect(),
        ds: vec![],
        created: 1_600_000_000,
        updated: 1_700_000_000 + i64::from(version),
        expires: 1_800_000_000,
    }
}

/// A tree with a registrar, some domains, an IDN and a host; indexes built.
pub fn populate(root: &Path) -> Tree {
    let tree = Tree::open(root).unwrap();
    tree.put(&Object::Registrar(registrar())).unwrap();
    for name in [
        "example.tld",
        "mack.tld",
        "mackall.tld",
        "mackay.tld",
        "xn--bcher-kva.tld",
    ] {
        tree.put(&Object::Domain(domain(name, 1))).unwrap();
    }
    for i in 0..30 {
        tree.put(&Object::Domain(domain(&format!("many{i:02}.tld"), 1)))
            .unwrap();
    }
    tree.put(&Object::Host(Host {
        name: "ns1.example.tld".into(),
        roid: "H1-TLD".into(),
        registrar: 9999,
        addresses: vec![
            "192.0.2.53".parse().unwrap(),
            "2001:db8::53".parse().unwrap(),
        ],
        created: 1_600_000_000,
        updated: 1_700_000_000,
    }))
    .unwrap();
    tree.touch(1_795_262_173).unwrap();
    index::rebuild(&tree).unwrap();
    tree
}

pub struct Running {
    pub _server: Server,
    pub port: u16,
    pub update: u16,
    pub metrics: u16,
}

pub fn start(root: &Path, extra: &str) -> Running {
    start_on(root, free_port(), extra)
}

pub fn start_on(root: &Path, port: u16, extra: &str) -> Running {
    let (update, metrics) = (free_port(), free_port());
    let config = root.join("edge-whois.toml");
    std::fs::write(
        &config,
        format!(
            "listen = [\"127.0.0.1:{port}\"]\nupdate_listen = \"127.0.0.1:{update}\"\n\
             metrics_listen = \"127.0.0.1:{metrics}\"\ntree = \"tree\"\ntlds = [\"tld\"]\n\
             max_results = 20\n{extra}"
        ),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_edge-whois"))
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "edge-whois did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Running {
        _server: server,
        port,
        update,
        metrics,
    }
}
