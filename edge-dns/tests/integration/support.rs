//! Building queries and reading responses with an independent DNS library (hickory-proto).

use hickory_proto::op::Message;
use hickory_proto::rr::Record;
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use zonefiles::RecordType;

/// A query without RD and without EDNS, as the Ferret data was made.
pub fn query(id: u16, qname: &str, qtype: u16) -> Vec<u8> {
    let mut msg = Vec::with_capacity(64);
    msg.extend_from_slice(&id.to_be_bytes());
    msg.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    let name: zonefiles::Name = qname.parse().expect("a name");
    msg.extend_from_slice(name.as_wire());
    msg.extend_from_slice(&qtype.to_be_bytes());
    msg.extend_from_slice(&1u16.to_be_bytes());
    msg
}

fn record_line(record: &Record) -> String {
    let mut rdata = Vec::new();
    let mut encoder = BinEncoder::new(&mut rdata);
    encoder.set_canonical_form(true);
    record.data.emit(&mut encoder).expect("rdata encodes");
    let rtype = RecordType(u16::from(record.record_type()));
    let mut text = String::new();
    zonefiles::rdata::write(rtype, &rdata, &mut text);
    format!("{} {} IN {} {}", record.name, record.ttl, rtype, text)
}

/// A response in the text form dnspython gives (the form the Ferret expectations use), minus
/// the id: `opcode`, `rcode`, `flags`, then the sections.
/// Appends an OPT record to a query and bumps ARCOUNT.
pub fn with_opt(mut msg: Vec<u8>, udp_size: u16, version: u8, options: &[u8]) -> Vec<u8> {
    msg.push(0);
    msg.extend_from_slice(&41u16.to_be_bytes());
    msg.extend_from_slice(&udp_size.to_be_bytes());
    msg.extend_from_slice(&[0, version, 0, 0]);
    msg.extend_from_slice(&(options.len() as u16).to_be_bytes());
    msg.extend_from_slice(options);
    msg[11] += 1;
    msg
}

/// A client on loopback at a fixed time, for calling the engine directly.
pub fn peer(transport: edge_dns::engine::Transport) -> edge_dns::engine::Peer {
    edge_dns::engine::Peer {
        transport,
        addr: std::net::Ipv4Addr::LOCALHOST.into(),
        now: 1_700_000_000,
    }
}

pub fn describe(response: &[u8]) -> Vec<String> {
    let msg = Message::from_vec(response).expect("the response parses");
    let mut flags = vec!["QR"];
    if msg.metadata.authoritative {
        flags.push("AA");
    }
    if msg.metadata.truncation {
        flags.push("TC");
    }
    if msg.metadata.recursion_desired {
        flags.push("RD");
    }
    let mut lines = vec![
        format!(
            "opcode {}",
            format!("{:?}", msg.metadata.op_code).to_uppercase()
        ),
        format!(
            "rcode {}",
            rcode_text(u16::from(msg.metadata.response_code))
        ),
        format!("flags {}", flags.join(" ")),
        ";QUESTION".to_owned(),
    ];
    for q in &msg.queries {
        lines.push(format!(
            "{} IN {}",
            q.name(),
            RecordType(u16::from(q.query_type()))
        ));
    }
    for (title, records) in [
        (";ANSWER", &msg.answers),
        (";AUTHORITY", &msg.authorities),
        (";ADDITIONAL", &msg.additionals),
    ] {
        lines.push(title.to_owned());
        lines.extend(records.iter().map(record_line));
    }
    lines
}

fn rcode_text(code: u16) -> &'static str {
    match code {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        _ => "OTHER",
    }
}

/// Splits described lines into the header lines and each section's lines, sorted, so two
/// responses compare regardless of record order within a section.
pub fn normalize(lines: &[String]) -> Vec<Vec<String>> {
    let mut parts: Vec<Vec<String>> = vec![Vec::new()];
    for line in lines {
        if line.starts_with("id ") {
            continue;
        }
        if line.starts_with(';') {
            parts.push(vec![line.clone()]);
        } else {
            parts.last_mut().expect("non-empty").push(line.clone());
        }
    }
    for part in &mut parts {
        part.sort();
    }
    parts
}

/// Whether an external tool is on the PATH; under CI a missing tool fails the test.
pub fn have_tool(tool: &str) -> bool {
    let found = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found || std::env::var_os("CI").is_none(),
        "{tool} is required under CI; test.sh installs it"
    );
    if !found {
        eprintln!("skipping: {tool} is not installed");
    }
    found
}

/// A child process killed when dropped.
pub struct Server(pub std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port that was free for UDP and TCP a moment ago, picked below the kernel's
/// ephemeral range (32768 and up), so the thousands of client sockets some tests open cannot
/// take it before the server binds it.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    // Start where this test process's id points, so concurrent test binaries spread out.
    let offset = (std::process::id() % 12_000) as u16;
    loop {
        let step = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = 20_000 + (offset + step % 12_000) % 12_000;
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok()
            && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
        {
            return port;
        }
    }
}

/// Compiles master-file text (origin from its SOA) into image bytes.
pub fn compile(text: &[u8]) -> Vec<u8> {
    let records =
        zonefiles::master::parse_bytes("test", text, zonefiles::ParseOptions::default()).unwrap();
    let (zone, _) = zonefiles::Zone::from_records(None, zonefiles::Class::IN, records);
    zonefiles::image::compile(&zone, |_| {}).unwrap().0
}

/// A zone set of one zone from master-file text.
pub fn zones(text: &[u8]) -> edge_dns::engine::Zones {
    let image = zonefiles::image::Image::from_bytes(compile(text)).unwrap();
    edge_dns::engine::Zones::new(vec![std::sync::Arc::new(image)])
}

/// Waits until the server at `addr` answers a query for `tld.` SOA.
pub fn wait_until_answering(addr: std::net::SocketAddr) {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_millis(100)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 512];
    while started.elapsed() < std::time::Duration::from_secs(20) {
        let _ = socket.send_to(&query(1, "tld.", 6), addr);
        if socket.recv_from(&mut buf).is_ok() {
            return;
        }
    }
    panic!("{addr} did not start answering");
}

/// Starts the edge-dns binary with `args` (output silenced) and waits until it answers on
/// 127.0.0.1:`port`.
pub fn spawn_edge_dns<S: AsRef<std::ffi::OsStr>>(args: &[S], port: u16) -> Server {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_edge-dns"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    wait_until_answering(([127, 0, 0, 1], port).into());
    server
}

/// Writes `conf` as `named.conf` in `dir` and starts BIND's `named` on it in the foreground
/// (output silenced).
pub fn spawn_named(dir: &std::path::Path, conf: &str) -> Server {
    std::fs::write(dir.join("named.conf"), conf).unwrap();
    let child = std::process::Command::new("named")
        .args(["-f", "-4", "-c"])
        .arg(dir.join("named.conf"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    Server(child)
}

/// The value of the first metric line of edge-dns (metrics on 127.0.0.1:`metrics_port`) that
/// starts with `line_start`; 0 when there is none.
pub fn metric(metrics_port: u16, line_start: &str) -> u64 {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", metrics_port)).unwrap();
    use std::io::{Read, Write};
    stream.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A KSK and a ZSK for signing test zones: Ed25519, whose signatures are the same for the same
/// data, so that a zone signed whole at each version differs from the last by what signing
/// the change alone would make (`zonefiles::sign::incremental`).
pub fn ed25519_keys() -> Vec<zonefiles::sign::keys::ZoneKey> {
    use zonefiles::sign::keys::{Algorithm, KeyPair, SECURE_ENTRY_POINT, ZONE_KEY, ZoneKey};
    [SECURE_ENTRY_POINT, ZONE_KEY]
        .into_iter()
        .map(|flags| {
            ZoneKey::new(
                flags,
                Box::new(KeyPair::generate(Algorithm::Ed25519).unwrap()),
            )
        })
        .collect()
}
