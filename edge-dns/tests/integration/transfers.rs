//! Zone transfers to real secondaries: NSD, Knot and BIND each pull a generated TLD from
//! edge-dns with TSIG, then follow a series of changesets appended to the zone directory
//! (edge-dns picks each up, sends NOTIFY, and serves IXFR), and end with exactly our zone.
//! Then the refusals: no key, a wrong key, a bad signature, a bad time, a disallowed address.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use zonefiles::zonedir::ZoneDir;
use zonefiles::{ParseOptions, Zone, changeset};

use crate::support::{Server, free_port, have_tool, metric, query, spawn_named};

const KEY: &str = "xfr.tld.";
const SECRET: &str = "dHJhbnNmZXJzIHRvIHNlY29uZGFyaWVzIGFyZSBzaWduZWQ=";

/// A generated TLD of `delegations` delegations at `serial`, with `changed` of them rewritten.
fn tld(dir: &Path, serial: u32, changed: u64) -> Zone {
    let path = dir.join(format!("tld-{serial}.zone"));
    let options = zonefiles::generate::Options {
        delegations: 400,
        serial,
        changed,
        ..zonefiles::generate::Options::default()
    };
    zonefiles::generate::generate(&options, std::fs::File::create(&path).unwrap()).unwrap();
    Zone::read(&path, ParseOptions::default()).unwrap().0
}

/// The serial a server answers with for `tld.` SOA, if it answers.
fn serial_at(addr: SocketAddr) -> Option<u32> {
    let socket = UdpSocket::bind("127.0.0.1:0").ok()?;
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .ok()?;
    socket.send_to(&query(5, "tld.", 6), addr).ok()?;
    let mut buf = [0u8; 1500];
    let (len, _) = socket.recv_from(&mut buf).ok()?;
    let message = hickory_proto::op::Message::from_vec(&buf[..len]).ok()?;
    message.answers.iter().find_map(|r| match &r.data {
        hickory_proto::rr::RData::SOA(soa) => Some(soa.serial),
        _ => None,
    })
}

fn wait_for_serial(name: &str, addr: SocketAddr, serial: u32, logs: &[PathBuf]) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if serial_at(addr) == Some(serial) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for log in logs {
        eprintln!(
            "--- {}\n{}",
            log.display(),
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }
    panic!(
        "{name} at {addr} did not reach serial {serial} (has {:?})",
        serial_at(addr)
    );
}

/// The zone as AXFR gives it, one record per line, sorted (TSIG and duplicate SOA removed).
fn axfr(port: u16, key: bool) -> Vec<String> {
    let mut args = vec![
        "@127.0.0.1".to_owned(),
        "-p".to_owned(),
        port.to_string(),
        "tld.".to_owned(),
        "AXFR".to_owned(),
        "+nocmd".to_owned(),
        "+nostats".to_owned(),
        "+nocomments".to_owned(),
    ];
    if key {
        args.push("-y".to_owned());
        args.push(format!("hmac-sha256:{KEY}:{SECRET}"));
    }
    let out = Command::new("dig").args(&args).output().unwrap();
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with(';') && !l.contains("\tTSIG\t"))
        .map(|l| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        })
        .collect();
    lines.sort();
    lines.dedup();
    lines
}

struct Primary {
    _server: Server,
    port: u16,
    metrics: u16,
    dir: ZoneDir,
}

fn start_primary(work: &Path, zone: &Zone, notify: &[u16], rules: &str) -> Primary {
    let dir = ZoneDir::create(&work.join("zone"), zone).unwrap();
    let (port, metrics) = (free_port(), free_port());
    let notify: Vec<String> = notify
        .iter()
        .map(|p| format!("{{ address = \"127.0.0.1:{p}\", key = \"{KEY}\" }}"))
        .collect();
    let config = format!(
        "listen = [\"127.0.0.1:{port}\"]\nmetrics_listen = \"127.0.0.1:{metrics}\"\nworkers = 1\n\
         [[key]]\nname = \"{KEY}\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{SECRET}\"\n\
         [[zone]]\ndirectory = \"zone\"\nallow_transfer = [{rules}]\nnotify = [{}]\n",
        notify.join(", ")
    );
    let path = work.join("edge-dns.toml");
    std::fs::write(&path, config).unwrap();
    let log = std::fs::File::create(work.join("edge-dns.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_edge-dns"))
        .arg("--config")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let server = Server(child);
    crate::support::wait_until_answering(([127, 0, 0, 1], port).into());
    Primary {
        _server: server,
        port,
        metrics,
        dir,
    }
}

fn start_nsd(work: &Path, port: u16, primary: u16) -> (Server, PathBuf) {
    let dir = work.join("nsd");
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("nsd.log");
    let d = dir.display();
    let conf = format!(
        "server:\n  ip-address: 127.0.0.1@{port}\n  port: {port}\n  username: \"\"\n  chroot: \"\"\n  \
         zonesdir: \"{d}\"\n  database: \"\"\n  zonelistfile: \"{d}/zone.list\"\n  pidfile: \"{d}/nsd.pid\"\n  \
         xfrdfile: \"{d}/xfrd.state\"\n  xfrdir: \"{d}\"\n  server-count: 1\n  verbosity: 2\n  \
         logfile: \"{d}/nsd.log\"\n  rrl-ratelimit: 0\n\
         remote-control:\n  control-enable: no\n\
         key:\n  name: \"{KEY}\"\n  algorithm: hmac-sha256\n  secret: \"{SECRET}\"\n\
         zone:\n  name: tld\n  zonefile: \"{d}/tld.zone\"\n  request-xfr: 127.0.0.1@{primary} {KEY}\n  \
         allow-notify: 127.0.0.1 {KEY}\n  provide-xfr: 127.0.0.1 NOKEY\n"
    );
    std::fs::write(dir.join("nsd.conf"), conf).unwrap();
    let child = Command::new("nsd")
        .args(["-d", "-c"])
        .arg(dir.join("nsd.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (Server(child), log)
}

fn start_knot(work: &Path, port: u16, primary: u16) -> (Server, PathBuf) {
    let dir = work.join("knot");
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("knot.log");
    let d = dir.display();
    let conf = format!(
        "server:\n    listen: 127.0.0.1@{port}\n    rundir: \"{d}\"\n\
         log:\n  - target: \"{d}/knot.log\"\n    any: info\n\
         key:\n  - id: {KEY}\n    algorithm: hmac-sha256\n    secret: {SECRET}\n\
         remote:\n  - id: primary\n    address: 127.0.0.1@{primary}\n    key: {KEY}\n\
         acl:\n  - id: notify\n    address: 127.0.0.1\n    key: {KEY}\n    action: notify\n\
         \x20 - id: transfer\n    address: 127.0.0.1\n    action: transfer\n\
         database:\n    storage: \"{d}\"\n\
         template:\n  - id: default\n    storage: \"{d}\"\n    zonefile-sync: -1\n\
         zone:\n  - domain: tld\n    file: \"{d}/tld.zone\"\n    master: primary\n    acl: [notify, transfer]\n"
    );
    std::fs::write(dir.join("knot.conf"), conf).unwrap();
    let child = Command::new("knotd")
        .arg("-c")
        .arg(dir.join("knot.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (Server(child), log)
}

fn start_bind(work: &Path, port: u16, primary: u16) -> (Server, PathBuf) {
    let dir = work.join("bind");
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("named.log");
    let d = dir.display();
    let conf = format!(
        "options {{\n  directory \"{d}\";\n  pid-file \"{d}/named.pid\";\n  session-keyfile \"{d}/session.key\";\n  \
         managed-keys-directory \"{d}\";\n  listen-on port {port} {{ 127.0.0.1; }};\n  listen-on-v6 {{ none; }};\n  \
         recursion no;\n  dnssec-validation no;\n  notify no;\n  allow-transfer {{ 127.0.0.1; }};\n}};\n\
         controls {{ }};\n\
         logging {{\n  channel all {{ file \"{d}/named.log\"; severity info; print-time yes; print-category yes; }};\n  \
         category default {{ all; }};\n  category xfer-in {{ all; }};\n  category notify {{ all; }};\n}};\n\
         key \"{KEY}\" {{ algorithm hmac-sha256; secret \"{SECRET}\"; }};\n\
         zone \"tld\" {{\n  type secondary;\n  primaries port {primary} {{ 127.0.0.1 key \"{KEY}\"; }};\n  \
         file \"{d}/tld.db\";\n  allow-notify {{ 127.0.0.1; }};\n}};\n"
    );
    (spawn_named(&dir, &conf), log)
}

#[test]
fn nsd_knot_and_bind_follow_by_ixfr() {
    follow_by_ixfr(None);
}

/// The same with the zone signed (NSEC3 with opt-out, Ed25519: each version signed whole at
/// one time differs from the last by what signing the change alone makes): every secondary
/// ends with the signed zone, RRSIGs and NSEC3 chain included, by IXFR.
#[test]
fn nsd_knot_and_bind_follow_a_signed_zone_by_ixfr() {
    let keys = crate::support::ed25519_keys();
    let sign = move |zone: &Zone| {
        zonefiles::sign::sign_zone(
            zone,
            &keys,
            &zonefiles::sign::Policy::default(),
            1_800_000_000,
        )
        .unwrap()
    };
    follow_by_ixfr(Some(&sign));
}

/// NSD, Knot and BIND follow edge-dns by IXFR through four changesets (the zone signed by
/// `sign`, if given), and end with the same zone.
fn follow_by_ixfr(sign: Option<&dyn Fn(&Zone) -> Zone>) {
    let version = |zone: Zone| match sign {
        Some(sign) => sign(&zone),
        None => zone,
    };
    let servers: Vec<(&str, &str)> = [("nsd", "nsd"), ("knot", "knotd"), ("bind", "named")]
        .into_iter()
        .filter(|(_, tool)| have_tool(tool))
        .collect();
    if servers.is_empty() || !have_tool("dig") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let first = version(tld(work.path(), 100, 0));
    let ports: Vec<u16> = servers.iter().map(|_| free_port()).collect();
    let rule = format!("{{ key = \"{KEY}\", from = [\"127.0.0.0/8\"] }}");
    let primary = start_primary(work.path(), &first, &ports, &rule);

    let mut secondaries = Vec::new();
    for ((name, _), &port) in servers.iter().zip(&ports) {
        let (server, log) = match *name {
            "nsd" => start_nsd(work.path(), port, primary.port),
            "knot" => start_knot(work.path(), port, primary.port),
            _ => start_bind(work.path(), port, primary.port),
        };
        secondaries.push((*name, server, log, SocketAddr::from(([127, 0, 0, 1], port))));
    }
    let logs: Vec<PathBuf> = secondaries.iter().map(|s| s.2.clone()).collect();
    for (name, _, _, addr) in &secondaries {
        wait_for_serial(name, *addr, 100, &logs);
    }
    let full = |m: &str| metric(primary.metrics, m);
    let initial = full("edge_dns_transfers_total{kind=\"axfr\",result=\"served\"}")
        + full("edge_dns_transfers_total{kind=\"ixfr_as_axfr\",result=\"served\"}");
    assert_eq!(
        initial,
        secondaries.len() as u64,
        "one full transfer each to start"
    );

    // A series of changesets, as the update-agent appends them.
    let mut previous = first;
    let mut last = 100;
    for (step, changed) in [5, 20, 40, 80].into_iter().enumerate() {
        last = 101 + step as u32;
        let next = version(tld(work.path(), last, changed));
        primary
            .dir
            .append(&changeset::diff(&previous, &next).unwrap())
            .unwrap();
        previous = next;
        // NSD 4.6 loses track when a second IXFR lands while it is still loading the first
        // (it logs "soa serial … update failed, restarting transfer" and falls back to AXFR):
        // give each change the second or so a secondary needs to settle.
        std::thread::sleep(Duration::from_millis(2000));
    }
    for (name, _, _, addr) in &secondaries {
        wait_for_serial(name, *addr, last, &logs);
    }

    let after = full("edge_dns_transfers_total{kind=\"axfr\",result=\"served\"}")
        + full("edge_dns_transfers_total{kind=\"ixfr_as_axfr\",result=\"served\"}");
    let increments = full("edge_dns_transfers_total{kind=\"ixfr\",result=\"served\"}");
    if after != initial {
        let log = std::fs::read_to_string(work.path().join("edge-dns.log")).unwrap_or_default();
        eprintln!("EDGE-DNS LOG\n{log}");
    }
    assert_eq!(after, initial, "no full transfer after the first");
    assert!(
        increments >= secondaries.len() as u64,
        "{increments} IXFRs for {} secondaries",
        secondaries.len()
    );
    let notified = full("edge_dns_notify_total{direction=\"sent\",result=\"acknowledged\"}");
    assert!(
        notified >= secondaries.len() as u64,
        "{notified} NOTIFY acknowledged"
    );
    let ours = axfr(primary.port, true);
    assert_eq!(ours.len(), previous.records().len(), "our AXFR is the zone");
    for (name, _, _, addr) in &secondaries {
        let theirs = axfr(addr.port(), false);
        let only_ours: Vec<_> = ours
            .iter()
            .filter(|l| !theirs.contains(l))
            .take(3)
            .collect();
        let only_theirs: Vec<_> = theirs
            .iter()
            .filter(|l| !ours.contains(l))
            .take(3)
            .collect();
        assert_eq!(
            ours, theirs,
            "{name} ends with a different zone; only ours: {only_ours:?}, only theirs: {only_theirs:?}"
        );
    }
    eprintln!(
        "{} secondaries in sync at serial {last}: {} records, {increments} IXFRs, {notified} NOTIFY acknowledged",
        secondaries.len(),
        ours.len()
    );
}

/// Sends one request over TCP and reads one response.
fn exchange_tcp(port: u16, request: &[u8]) -> hickory_proto::op::Message {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut framed = (request.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(request);
    stream.write_all(&framed).unwrap();
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).unwrap();
    let mut response = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut response).unwrap();
    hickory_proto::op::Message::from_vec(&response).unwrap()
}

fn dig_status(args: &[&str]) -> String {
    let out = Command::new("dig").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn refused_transfers_are_answered_and_counted() {
    if !have_tool("dig") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let zone = tld(work.path(), 7, 0);
    let rule = format!("{{ key = \"{KEY}\", from = [\"127.0.0.1/32\"] }}");
    let primary = start_primary(work.path(), &zone, &[], &rule);
    let port = primary.port.to_string();
    let good = format!("hmac-sha256:{KEY}:{SECRET}");
    let forged = format!("hmac-sha256:{KEY}:Zm9yZ2VkIHNlY3JldCBmb3IgdGhlIHRlc3Q=");
    let stranger = format!("hmac-sha256:stranger.:{SECRET}");
    let base = [
        "@127.0.0.1",
        "-p",
        &port,
        "tld.",
        "AXFR",
        "+tries=1",
        "+time=3",
    ];

    let allowed = dig_status(&[&base[..], &["-y", &good]].concat());
    assert!(
        allowed.contains("XFR size"),
        "the right key from the right address: {allowed}"
    );
    let unsigned = dig_status(&base);
    assert!(unsigned.contains("Transfer failed"), "no key: {unsigned}");
    let badsig = dig_status(&[&base[..], &["-y", &forged]].concat());
    assert!(badsig.contains("BADSIG"), "wrong secret: {badsig}");
    let badkey = dig_status(&[&base[..], &["-y", &stranger]].concat());
    assert!(badkey.contains("BADKEY"), "unknown key: {badkey}");
    let elsewhere = dig_status(&[&base[..], &["-y", &good, "-b", "127.0.0.2"]].concat());
    assert!(
        elsewhere.contains("Transfer failed"),
        "disallowed address: {elsewhere}"
    );

    // Signed an hour ago: BADTIME, in a signed NOTAUTH answer.
    let key = edge_dns::tsig::Key::from_config(&edge_dns::config::KeyConfig {
        name: KEY.into(),
        algorithm: "hmac-sha256".into(),
        secret: SECRET.into(),
    })
    .unwrap();
    let mut request = hickory_proto::op::Message::query();
    request.metadata.id = 4242;
    request.add_query(hickory_proto::op::Query::query(
        hickory_proto::rr::Name::from_ascii("tld.").unwrap(),
        hickory_proto::rr::RecordType::AXFR,
    ));
    let mut bytes = request.to_vec().unwrap();
    let an_hour_ago = u64::from(ops::unix_time()) - 3600;
    edge_dns::tsig::Signed::sign_request(&key, &mut bytes, an_hour_ago).unwrap();
    let response = exchange_tcp(primary.port, &bytes);
    assert_eq!(
        response.metadata.response_code,
        hickory_proto::op::ResponseCode::NotAuth
    );
    let tsig = response.signature.expect("a TSIG record in the answer");
    assert_eq!(
        tsig.data.error,
        Some(hickory_proto::rr::rdata::tsig::TsigError::BadTime)
    );
    // The client's time in Time Signed, the server's in Other Data (RFC 8945 §5.2.3).
    assert_eq!(tsig.data.time, an_hour_ago);
    assert_eq!(tsig.data.other.len(), 6);
    let other = &tsig.data.other;
    let server_time = (u64::from(u16::from_be_bytes([other[0], other[1]])) << 32)
        | u64::from(u32::from_be_bytes([other[2], other[3], other[4], other[5]]));
    assert!(server_time >= an_hour_ago + 3500, "{server_time}");

    let count = |m: &str| metric(primary.metrics, m);
    assert_eq!(count("edge_dns_tsig_failures_total{error=\"badsig\"}"), 1);
    assert_eq!(count("edge_dns_tsig_failures_total{error=\"badkey\"}"), 1);
    assert_eq!(count("edge_dns_tsig_failures_total{error=\"badtime\"}"), 1);
    assert_eq!(
        count("edge_dns_transfers_total{kind=\"axfr\",result=\"refused\"}"),
        2
    );
    assert_eq!(
        count("edge_dns_transfers_total{kind=\"axfr\",result=\"served\"}"),
        1
    );
}

/// The time from a changeset's append (durable) to edge-dns answering with it.
#[test]
fn an_appended_changeset_is_answered_within_milliseconds() {
    let work = tempfile::tempdir().unwrap();
    let first = tld(work.path(), 1, 0);
    let primary = start_primary(work.path(), &first, &[], "");
    let addr: SocketAddr = ([127, 0, 0, 1], primary.port).into();
    let mut previous = first;
    let mut took = Vec::new();
    for serial in 2..=11 {
        let next = tld(work.path(), serial, u64::from(serial) * 3);
        let cs = changeset::diff(&previous, &next).unwrap();
        let started = Instant::now();
        primary.dir.append(&cs).unwrap();
        while serial_at(addr) != Some(serial) {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "serial {serial} not served"
            );
            std::thread::sleep(Duration::from_micros(500));
        }
        took.push(started.elapsed());
        previous = next;
    }
    took.sort();
    eprintln!(
        "append to answer, 10 changesets on a 400-delegation zone: median {:?}, max {:?}",
        took[took.len() / 2],
        took[took.len() - 1]
    );
}

/// edge-dns killed in the middle of an AXFR, and a writer killed in the middle of an append
/// (half an entry left in the journal): the restarted server answers with the last whole
/// changeset at once, and the writer's next append is served.
#[test]
fn kill_minus_nine_leaves_a_consistent_zone() {
    if !have_tool("dig") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let first = tld(work.path(), 1, 0);
    let rule = "{ from = [\"127.0.0.0/8\"] }";
    let mut primary = start_primary(work.path(), &first, &[], rule);
    let second = tld(work.path(), 2, 10);
    primary
        .dir
        .append(&changeset::diff(&first, &second).unwrap())
        .unwrap();
    let addr: SocketAddr = ([127, 0, 0, 1], primary.port).into();
    while serial_at(addr) != Some(2) {
        std::thread::sleep(Duration::from_millis(5));
    }
    // An AXFR in flight when the server dies.
    let port = primary.port.to_string();
    let mut dig = Command::new("dig")
        .args(["@127.0.0.1", "-p", &port, "tld.", "AXFR"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let _ = primary._server.0.kill(); // SIGKILL
    let _ = dig.wait();
    // A writer dies half-way through appending serial 3.
    let third = tld(work.path(), 3, 20);
    let torn = changeset::diff(&second, &third).unwrap().encode();
    let mut journal = std::fs::OpenOptions::new()
        .append(true)
        .open(primary.dir.journal_path())
        .unwrap();
    use std::io::Write;
    journal
        .write_all(&(torn.len() as u32).to_le_bytes())
        .unwrap();
    journal.write_all(&torn[..torn.len() / 2]).unwrap();
    drop(journal);

    // Restarted, it answers at once with serial 2, the last whole changeset.
    let log = std::fs::File::create(work.path().join("edge-dns-2.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_edge-dns"))
        .arg("--config")
        .arg(work.path().join("edge-dns.toml"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    primary._server = Server(child);
    crate::support::wait_until_answering(addr);
    assert_eq!(serial_at(addr), Some(2));
    assert_eq!(axfr(primary.port, false).len(), second.records().len());
    // The writer comes back: its journal open cuts the torn tail, and the append is served.
    primary
        .dir
        .append(&changeset::diff(&second, &third).unwrap())
        .unwrap();
    let started = Instant::now();
    while serial_at(addr) != Some(3) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "serial 3 not served"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(axfr(primary.port, false).len(), third.records().len());
}

/// A compaction (the update-agent's job) makes a new image current while edge-dns serves:
/// the serial and the answers stay, the overlay empties, and IXFR still reaches back.
#[test]
fn a_compaction_is_picked_up_without_a_change_in_answers() {
    if !have_tool("dig") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let first = tld(work.path(), 1, 0);
    let rule = "{ from = [\"127.0.0.0/8\"] }";
    let primary = start_primary(work.path(), &first, &[], rule);
    let addr: SocketAddr = ([127, 0, 0, 1], primary.port).into();
    let mut previous = first;
    for serial in 2..=4 {
        let next = tld(work.path(), serial, u64::from(serial) * 10);
        primary
            .dir
            .append(&changeset::diff(&previous, &next).unwrap())
            .unwrap();
        previous = next;
    }
    let started = Instant::now();
    while serial_at(addr) != Some(4) {
        assert!(started.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(5));
    }
    let overlay = "edge_dns_zone_overlay_labels{zone=\"tld.\"}";
    assert!(
        metric(primary.metrics, overlay) > 0,
        "changes served from the overlay"
    );
    let before = axfr(primary.port, false);

    let done = primary.dir.compact(10).unwrap().unwrap();
    assert_eq!(done.serial, 4);
    let started = Instant::now();
    while metric(primary.metrics, overlay) != 0 {
        if started.elapsed() > Duration::from_secs(5) {
            let log = std::fs::read_to_string(work.path().join("edge-dns.log")).unwrap();
            panic!("the new image is not picked up:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(serial_at(addr), Some(4));
    assert_eq!(axfr(primary.port, false), before);
    let port = primary.port.to_string();
    let ixfr = dig_status(&["@127.0.0.1", "-p", &port, "tld.", "IXFR=2", "+tcp"]);
    let soas = ixfr.lines().filter(|l| l.contains("\tSOA\t")).count();
    // Current, then (old, new) for each of the two changesets, then current again.
    assert_eq!(soas, 6, "IXFR from serial 2 after the compaction: {ixfr}");
}
