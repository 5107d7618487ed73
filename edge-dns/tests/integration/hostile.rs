//! Hostile input against the edge-dns binary, and what a legitimate client sees meanwhile:
//! malformed messages, misplaced TSIG, unsigned NOTIFY, one client (or many) holding TCP
//! connections, and the memory a TCP storm leaves behind.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{Server, compile, free_port, query, spawn_edge_dns};

fn start(dir: &Path, tcp: &str) -> (Server, u16) {
    let text = "tld. 300 IN SOA a.nic.tld. h.tld. 1 2 3 4 5\ntld. 300 IN NS a.nic.tld.\n\
                a.nic.tld. 300 IN A 192.0.2.1\nexample.tld. 300 IN NS ns.example.net.\n";
    zonefiles::image::write_atomically(&dir.join("tld.img"), &compile(text.as_bytes())).unwrap();
    let (port, metrics) = (free_port(), free_port());
    let config = dir.join("edge-dns.toml");
    std::fs::write(
        &config,
        format!(
            "listen = [\"127.0.0.1:{port}\"]\nworkers = 1\nmetrics_listen = \"127.0.0.1:{metrics}\"\n\
             [tcp]\n{tcp}\n[[zone]]\nimage = \"tld.img\"\n"
        ),
    )
    .unwrap();
    let server = spawn_edge_dns(
        &[std::ffi::OsStr::new("--config"), config.as_os_str()],
        port,
    );
    (server, port)
}

fn udp(port: u16, message: &[u8]) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    socket.send_to(message, ("127.0.0.1", port)).unwrap();
    let mut buf = vec![0u8; 65535];
    let (n, _) = socket.recv_from(&mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

fn rcode(response: &[u8]) -> u8 {
    response[3] & 0xF
}

/// A TSIG record: `key` with an empty MAC (enough to be read as one).
fn tsig_record(key: &str) -> Vec<u8> {
    let mut name = Vec::new();
    for part in [key, "hmac-sha256"] {
        let mut wire = Vec::new();
        for label in part.split('.') {
            wire.push(label.len() as u8);
            wire.extend_from_slice(label.as_bytes());
        }
        wire.push(0);
        name.push(wire);
    }
    let mut rdata = name[1].clone();
    rdata.extend_from_slice(&[
        0, 0, 0x6b, 0x0c, 0x2e, 0x78, 1, 0x2c, 0, 0, 0x12, 0x34, 0, 0, 0, 0,
    ]);
    let mut record = name[0].clone();
    record.extend_from_slice(&[0, 250, 0, 255, 0, 0, 0, 0]);
    record.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    record.extend_from_slice(&rdata);
    record
}

#[test]
fn trailing_bytes_misplaced_tsig_and_giant_datagrams_are_formerr() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start(dir.path(), "");
    let good = query(7, "tld.", 6);
    assert_eq!(rcode(&udp(port, &good).unwrap()), 0);
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"garbage");
    assert_eq!(rcode(&udp(port, &trailing).unwrap()), 1, "trailing bytes");
    let mut giant = good.clone();
    giant.resize(65_000, 0xAB);
    assert_eq!(rcode(&udp(port, &giant).unwrap()), 1, "a 65 KB datagram");
    // TSIG followed by an OPT record: TSIG must be last (RFC 8945 §5.1).
    let mut misplaced = good.clone();
    misplaced[11] = 2;
    misplaced.extend_from_slice(&tsig_record("unknown.key"));
    misplaced.extend_from_slice(&[0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(rcode(&udp(port, &misplaced).unwrap()), 1, "TSIG not last");
    // TSIG last, with a key this server does not know: NOTAUTH (RFC 8945 §5.2).
    let mut unknown = good.clone();
    unknown[11] = 1;
    unknown.extend_from_slice(&tsig_record("unknown.key"));
    assert_eq!(rcode(&udp(port, &unknown).unwrap()), 9, "unknown key");
    // TSIG last, its RDATA not a TSIG's (`k. TSIG ANY` and ten bytes): FORMERR, the data
    // not given (RFC 8945 §5.2), the request's id kept.
    let mut junk = good.clone();
    junk[11] = 1;
    junk.extend_from_slice(&[1, b'k', 0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 10]);
    junk.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6]);
    let answer = udp(port, &junk).unwrap();
    assert_eq!(
        (rcode(&answer), &answer[..2], &answer[6..8]),
        (1, &junk[..2], &[0u8, 0][..]),
        "unparseable TSIG: {answer:?}"
    );
    // The server still answers.
    assert_eq!(rcode(&udp(port, &good).unwrap()), 0);
}

#[test]
fn unsigned_notify_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start(dir.path(), "");
    let mut notify = query(9, "tld.", 6);
    notify[2] = 0x24; // opcode NOTIFY, AA
    assert_eq!(rcode(&udp(port, &notify).unwrap()), 5, "REFUSED");
    let mut elsewhere = query(9, "other.", 6);
    elsewhere[2] = 0x24;
    assert_eq!(
        rcode(&udp(port, &elsewhere).unwrap()),
        9,
        "NOTAUTH for a zone not served"
    );
}

/// A TCP connection from `source` (any loopback address).
fn connect_from(source: IpAddr, port: u16) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.bind(&SocketAddr::new(source, 0).into())?;
    socket.connect(&SocketAddr::from(([127, 0, 0, 1], port)).into())?;
    Ok(socket.into())
}

fn tcp_query(stream: &mut TcpStream, id: u16) -> bool {
    let q = query(id, "tld.", 6);
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    if stream.write_all(&framed).is_err() {
        return false;
    }
    let mut length = [0u8; 2];
    if stream.read_exact(&mut length).is_err() {
        return false;
    }
    let mut answer = vec![0u8; usize::from(u16::from_be_bytes(length))];
    stream.read_exact(&mut answer).is_ok() && answer[..2] == id.to_be_bytes()
}

/// What a legitimate client (a new connection per query from 127.0.0.1) gets answered.
fn legitimate_share(port: u16, queries: u16) -> f64 {
    let mut answered = 0;
    for id in 0..queries {
        let ok = TcpStream::connect(("127.0.0.1", port)).is_ok_and(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            tcp_query(&mut s, id)
        });
        answered += u32::from(ok);
        std::thread::sleep(Duration::from_millis(5));
    }
    f64::from(answered) / f64::from(queries)
}

#[test]
fn one_client_cannot_hold_every_tcp_slot() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start(
        dir.path(),
        "max_connections = 200\nmax_connections_per_client = 20\nidle_timeout_ms = 10000",
    );
    // One attacker address opens 300 connections and keeps each busy with a query.
    let attacker: IpAddr = "127.0.0.2".parse().unwrap();
    let mut held = Vec::new();
    for id in 0..300 {
        if let Ok(mut s) = connect_from(attacker, port) {
            s.set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            if tcp_query(&mut s, id) {
                held.push(s);
            }
        }
    }
    assert!(
        held.len() <= 20,
        "the attacker got {} connections",
        held.len()
    );
    let share = legitimate_share(port, 200);
    assert!(
        share >= 0.99,
        "the legitimate client got {:.1}%",
        share * 100.0
    );
    eprintln!(
        "one address, 300 connections: {} served, legitimate client {:.1}% answered",
        held.len(),
        share * 100.0
    );
}

#[test]
fn idle_connections_from_many_clients_make_room() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start(
        dir.path(),
        "max_connections = 100\nmax_connections_per_client = 4\nidle_timeout_ms = 10000",
    );
    // 250 addresses open a connection each and stay silent: the table fills, and each newcomer
    // takes the place of the one idle the longest.
    let mut held = Vec::new();
    for i in 0..250u32 {
        let source = IpAddr::from([127, 0, 1 + (i / 250) as u8, 1 + (i % 250) as u8]);
        if let Ok(s) = connect_from(source, port) {
            held.push(s);
        }
    }
    let share = legitimate_share(port, 200);
    assert!(
        share >= 0.99,
        "the legitimate client got {:.1}%",
        share * 100.0
    );
    // The oldest silent connections were closed by the server.
    let mut closed = 0;
    for s in held.iter_mut().take(100) {
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let mut byte = [0u8; 1];
        if matches!(s.read(&mut byte), Ok(0)) {
            closed += 1;
        }
    }
    assert!(
        closed >= 90,
        "{closed} of the 100 oldest idle connections closed"
    );
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_tcp_storm_leaves_little_memory_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (server, port) = start(
        dir.path(),
        "max_connections = 1024\nmax_connections_per_client = 1024",
    );
    let pid = server.0.id();
    let before = rss_kib(pid);
    let mut held = Vec::new();
    for id in 0..1000 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        assert!(tcp_query(&mut s, id), "connection {id} answered");
        held.push(s);
    }
    let during = rss_kib(pid);
    drop(held);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let after = rss_kib(pid);
    eprintln!(
        "RSS with 1,000 TCP connections: before {before} KiB, during {during} KiB, after {after} KiB"
    );
    assert!(
        during.saturating_sub(before) < 40 * 1024,
        "1,000 connections took {} KiB",
        during - before
    );
    assert!(
        after.saturating_sub(before) < 20 * 1024,
        "{after} KiB after, {before} KiB before"
    );
}

/// Writes a zone of `delegations` delegations (about 50 bytes of image each).
fn big_zone(path: &Path, delegations: usize) {
    let mut text = String::from(
        "tld. 300 IN SOA a.nic.tld. h.tld. 1 2 3 4 5\ntld. 300 IN NS a.nic.tld.\na.nic.tld. 300 IN A 192.0.2.1\n",
    );
    for i in 0..delegations {
        text.push_str(&format!("d{i}.tld. 300 IN NS ns{}.example.net.\n", i % 97));
    }
    zonefiles::image::write_atomically(path, &compile(text.as_bytes())).unwrap();
}

fn start_image(dir: &Path) -> (Server, u16, u16) {
    let (port, metrics) = (free_port(), free_port());
    let server = spawn_edge_dns(
        &[
            "--zone".to_string(),
            dir.join("tld.img").display().to_string(),
            "--listen".to_string(),
            format!("127.0.0.1:{port}"),
            "--metrics-listen".to_string(),
            format!("127.0.0.1:{metrics}"),
        ],
        port,
    );
    (server, port, metrics)
}

/// `cp` of a small file over the served image, under load: the server survives (the reads past
/// the new end are caught), withdraws the zone, answers SERVFAIL for it and says so in its
/// metrics.
#[test]
fn an_image_cut_short_under_load_is_withdrawn_and_the_server_survives() {
    let dir = tempfile::tempdir().unwrap();
    big_zone(&dir.path().join("tld.img"), 40_000);
    let (mut server, port, metrics) = start_image(dir.path());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            socket
                .set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let mut buf = [0u8; 1500];
            let mut i = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i = i.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let name = format!("www.d{}.tld.", i % 40_000);
                let _ = socket.send_to(&query(i as u16, &name, 1), ("127.0.0.1", port));
                let _ = socket.recv_from(&mut buf);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    // What `cp garbage.img tld.img` does: truncate the file, then write.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(dir.path().join("tld.img"))
        .unwrap();
    file.write_all(&[0x5a; 100]).unwrap();
    file.sync_all().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    load.join().unwrap();
    assert!(server.0.try_wait().unwrap().is_none(), "edge-dns died");
    let answer = udp(port, &query(1, "www.d7.tld.", 1)).expect("an answer");
    assert_eq!(rcode(&answer), 2, "SERVFAIL for the withdrawn zone");
    assert_eq!(
        crate::support::metric(metrics, "edge_dns_zone_withdrawn{zone=\"tld.\"}"),
        1
    );
}

/// The same-size file written over the image (no read past the end): noticed at the next poll.
#[test]
fn an_image_written_over_in_place_is_withdrawn() {
    let dir = tempfile::tempdir().unwrap();
    big_zone(&dir.path().join("tld.img"), 100);
    let (_server, port, _metrics) = start_image(dir.path());
    assert_eq!(rcode(&udp(port, &query(1, "www.d7.tld.", 1)).unwrap()), 0);
    let path = dir.path().join("tld.img");
    let len = std::fs::metadata(&path).unwrap().len() as usize;
    std::thread::sleep(Duration::from_millis(20));
    let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.write_all(&vec![0x5a; len]).unwrap();
    file.sync_all().unwrap();
    let started = Instant::now();
    while rcode(&udp(port, &query(1, "www.d7.tld.", 1)).unwrap()) != 2 {
        assert!(started.elapsed() < Duration::from_secs(2), "not withdrawn");
        std::thread::sleep(Duration::from_millis(10));
    }
}
