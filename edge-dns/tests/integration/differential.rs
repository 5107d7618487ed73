//! The same generated TLD zone served by NSD and by edge-dns, a few thousand mixed queries sent
//! to both over UDP on loopback, the answers compared section by section.

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{
    Server, describe, free_port, normalize, query, spawn_edge_dns, wait_until_answering,
};

fn ask(socket: &UdpSocket, server: SocketAddr, msg: &[u8]) -> Option<Vec<u8>> {
    socket.send_to(msg, server).ok()?;
    let mut buf = [0u8; 4096];
    let (len, _) = socket.recv_from(&mut buf).ok()?;
    Some(buf[..len].to_vec())
}

fn start_nsd(dir: &Path, zone: &Path, port: u16) -> Server {
    let conf = dir.join("nsd.conf");
    std::fs::write(
        &conf,
        format!(
            "server:\n  ip-address: 127.0.0.1@{port}\n  port: {port}\n  username: \"\"\n  chroot: \"\"\n  \
             zonesdir: \"{d}\"\n  database: \"\"\n  zonelistfile: \"{d}/zone.list\"\n  pidfile: \"{d}/nsd.pid\"\n  \
             xfrdfile: \"{d}/xfrd.state\"\n  xfrdir: \"{d}\"\n  server-count: 1\n  verbosity: 0\n  rrl-ratelimit: 0\n\
             remote-control:\n  control-enable: no\nzone:\n  name: tld\n  zonefile: \"{z}\"\n",
            d = dir.display(),
            z = zone.display()
        ),
    )
    .unwrap();
    let child = Command::new("nsd")
        .args(["-d", "-c"])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nsd starts");
    Server(child)
}

#[test]
fn answers_match_nsd() {
    if !crate::support::have_tool("nsd") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let zone_path = dir.path().join("tld.zone");
    let options = loadtest::tldgen::Options {
        delegations: 3000,
        ..loadtest::tldgen::Options::default()
    };
    loadtest::tldgen::generate(&options, std::fs::File::create(&zone_path).unwrap()).unwrap();
    let (zone, _) = zonefiles::Zone::read(&zone_path, zonefiles::ParseOptions::default()).unwrap();
    let (bytes, _) = zonefiles::image::compile(&zone, |_| {}).unwrap();
    let image_path = dir.path().join("tld.img");
    std::fs::write(&image_path, bytes).unwrap();

    let (ours, theirs) = (free_port(), free_port());
    let args = [
        "--zone".to_owned(),
        image_path.display().to_string(),
        "--listen".to_owned(),
        format!("127.0.0.1:{ours}"),
        "--metrics-listen".to_owned(),
        format!("127.0.0.1:{}", free_port()),
    ];
    let _edge = spawn_edge_dns(&args, ours);
    let _nsd = start_nsd(dir.path(), &zone_path, theirs);
    let (ours, theirs): (SocketAddr, SocketAddr) = (
        format!("127.0.0.1:{ours}").parse().unwrap(),
        format!("127.0.0.1:{theirs}").parse().unwrap(),
    );
    wait_until_answering(theirs);

    // Queries: below and at delegations, glue names, DS/NS at cuts, the apex, and names
    // that do not exist.
    let mut names: Vec<(String, u16)> = vec![
        ("tld.".into(), 6),
        ("tld.".into(), 2),
        ("tld.".into(), 48),
        ("a.nic.tld.".into(), 1),
    ];
    for record in zone.records().iter().step_by(3) {
        let owner = record.owner.to_string();
        names.push((format!("www.{owner}"), 1));
        names.push((owner.clone(), record.rtype.0));
        names.push((owner.clone(), 43));
        names.push((
            format!(
                "nx-{}",
                owner
                    .trim_start_matches(|c: char| c != '.')
                    .trim_start_matches('.')
            ),
            28,
        ));
    }
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut compared = 0;
    let mut differences = Vec::new();
    for (i, (name, qtype)) in names.iter().enumerate() {
        let msg = query(i as u16, name, *qtype);
        let (Some(a), Some(b)) = (ask(&socket, ours, &msg), ask(&socket, theirs, &msg)) else {
            panic!("no answer to {name} type {qtype}");
        };
        compared += 1;
        let (a, b) = (normalize(&describe(&a)), normalize(&describe(&b)));
        if a != b {
            differences.push((name.clone(), *qtype, a, b));
        }
    }
    for (name, qtype, a, b) in differences.iter().take(5) {
        eprintln!("--- {name} type {qtype}\nedge-dns: {a:?}\nnsd:      {b:?}");
    }
    eprintln!(
        "compared {compared} answers with NSD: {} differ",
        differences.len()
    );
    assert!(compared > 5000);
    assert!(
        differences.is_empty(),
        "{} of {compared} answers differ from NSD",
        differences.len()
    );
}
