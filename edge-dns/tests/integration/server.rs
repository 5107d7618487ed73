//! The edge-dns binary on loopback: UDP, pipelined TCP, idle limits, and a zone swap under
//! load that drops no query.

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::support::{Server, compile, free_port, query, spawn_edge_dns};

fn write_zone(serial: u32, path: &Path) {
    let text = format!(
        "tld. 300 IN SOA a.nic.tld. h.tld. {serial} 2 3 4 5\ntld. 300 IN NS a.nic.tld.\n\
         a.nic.tld. 300 IN A 192.0.2.1\nexample.tld. 300 IN NS ns.example.net.\n"
    );
    zonefiles::image::write_atomically(path, &compile(text.as_bytes())).unwrap();
}

/// Starts edge-dns on a free port (its UDP workers polling before they sleep; the other tests
/// run them without); returns it, its DNS port and its metrics port.
fn start(dir: &Path) -> (Server, u16, u16) {
    let (port, metrics) = (free_port(), free_port());
    let config = dir.join("edge-dns.toml");
    std::fs::write(
        &config,
        format!(
            "listen = [\"127.0.0.1:{port}\"]\nworkers = 2\nbusy_poll_us = 100\n\
             metrics_listen = \"127.0.0.1:{metrics}\"\n\
             [tcp]\nidle_timeout_ms = 300\n[[zone]]\nimage = \"tld.img\"\n"
        ),
    )
    .unwrap();
    let server = spawn_edge_dns(
        &[std::ffi::OsStr::new("--config"), config.as_os_str()],
        port,
    );
    (server, port, metrics)
}

fn soa_serial(socket: &UdpSocket, port: u16) -> Option<u32> {
    socket
        .send_to(&query(1, "tld.", 6), ("127.0.0.1", port))
        .ok()?;
    let mut buf = [0u8; 512];
    let (len, _) = socket.recv_from(&mut buf).ok()?;
    let msg = hickory_proto::op::Message::from_vec(&buf[..len]).ok()?;
    match &msg.answers.first()?.data {
        hickory_proto::rr::RData::SOA(soa) => Some(soa.serial),
        _ => None,
    }
}

#[test]
fn pipelined_tcp_queries_are_all_answered_in_order() {
    let dir = tempfile::tempdir().unwrap();
    write_zone(1, &dir.path().join("tld.img"));
    let (_server, port, metrics) = start(dir.path());
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut batch = Vec::new();
    for id in 0..50u16 {
        let q = query(
            id,
            if id % 2 == 0 {
                "tld."
            } else {
                "www.example.tld."
            },
            1,
        );
        batch.extend_from_slice(&(q.len() as u16).to_be_bytes());
        batch.extend_from_slice(&q);
    }
    stream.write_all(&batch).unwrap();
    for id in 0..50u16 {
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).unwrap();
        let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
        stream.read_exact(&mut msg).unwrap();
        assert_eq!(u16::from_be_bytes([msg[0], msg[1]]), id);
    }
    // The queries show in the metrics.
    let mut http = TcpStream::connect(("127.0.0.1", metrics)).unwrap();
    http.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut text = String::new();
    http.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(
        text.contains("edge_dns_responses_total{transport=\"tcp\",rcode=\"NOERROR\"} 50"),
        "{text}"
    );
    assert!(
        text.contains("edge_dns_zone_serial{zone=\"tld.\"} 1"),
        "{text}"
    );
    // An idle connection is closed by the server.
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let mut rest = [0u8; 1];
    assert_eq!(stream.read(&mut rest).unwrap_or(0), 0);
}

#[test]
fn a_zone_swap_under_load_drops_no_query() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("tld.img");
    write_zone(1, &image);
    let (server, port, _) = start(dir.path());
    let stop = Arc::new(AtomicBool::new(false));
    let (answered, lost) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let load = {
        let (stop, answered, lost) = (stop.clone(), answered.clone(), lost.clone());
        std::thread::spawn(move || {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            socket
                .set_read_timeout(Some(Duration::from_secs(1)))
                .unwrap();
            let mut serials = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match soa_serial(&socket, port) {
                    Some(serial) => {
                        answered.fetch_add(1, Ordering::Relaxed);
                        serials.push(serial);
                    }
                    None => {
                        lost.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            serials
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    write_zone(2, &image);
    let pid = server.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let serials = load.join().unwrap();
    assert_eq!(
        lost.load(Ordering::Relaxed),
        0,
        "queries lost during the swap"
    );
    assert!(answered.load(Ordering::Relaxed) > 100);
    // Serials only move forward: each query saw the old zone or the new one.
    assert!(serials.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(serials.last(), Some(&2));
}

#[test]
fn a_damaged_image_is_withdrawn_by_its_background_check_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    // Large enough for the check to run in the background (10,000 names and more).
    let mut text = String::from(
        "tld. 300 IN SOA a.nic.tld. h.tld. 1 2 3 4 5\ntld. 300 IN NS a.nic.tld.\n\
         a.nic.tld. 300 IN A 192.0.2.1\n",
    );
    for i in 0..12_000 {
        text.push_str(&format!("d{i}.tld. 300 IN NS ns.d{i}.net.\n"));
    }
    let mut image = compile(text.as_bytes());
    let header = zonefiles::image::Image::from_bytes(image.clone())
        .unwrap()
        .header()
        .index_section;
    // Bytes in the middle of the index: the header is intact, the index is not.
    let middle = (header.offset + header.len / 2) as usize;
    for byte in &mut image[middle..middle + 64] {
        *byte ^= 0x5A;
    }
    assert!(zonefiles::image::Image::from_bytes(image.clone()).is_err());
    std::fs::write(dir.path().join("tld.img"), &image).unwrap();

    let (port, log) = (free_port(), dir.path().join("edge-dns.log"));
    let config = dir.path().join("edge-dns.toml");
    std::fs::write(
        &config,
        format!("listen = [\"127.0.0.1:{port}\"]\nworkers = 1\n[[zone]]\nimage = \"tld.img\"\n"),
    )
    .unwrap();
    // `--check` checks the whole index before it says the images are fine.
    let check = Command::new(env!("CARGO_BIN_EXE_edge-dns"))
        .arg("--config")
        .arg(&config)
        .arg("--check")
        .output()
        .unwrap();
    assert!(!check.status.success(), "--check passed a damaged image");
    assert!(String::from_utf8_lossy(&check.stderr).contains("tld.img"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_edge-dns"))
        .arg("--config")
        .arg(&config)
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let rcode = |name: &str| {
        socket
            .send_to(&query(7, name, 2), ("127.0.0.1", port))
            .ok()?;
        let mut buf = [0u8; 4096];
        let (len, _) = socket.recv_from(&mut buf).ok()?;
        Some(buf[3] & 0x0F).filter(|_| len >= 12)
    };
    // The server starts on the header alone (the index is read by the first answers, under
    // catch_unwind); the check finds the damage and the zone is withdrawn (SERVFAIL until an
    // operator restores it); the process stays up.
    let started = std::time::Instant::now();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "not withdrawn: {}",
            std::fs::read_to_string(&log).unwrap()
        );
        if rcode("tld.") == Some(2) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    for i in (0..12_000).step_by(997) {
        assert_eq!(rcode(&format!("d{i}.tld.")), Some(2));
    }
    assert!(child.try_wait().unwrap().is_none(), "edge-dns exited");
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("zone image damaged"), "{log}");
}
