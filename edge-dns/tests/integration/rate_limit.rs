//! Response rate limiting: what the engine says each response is about, the truncated form a
//! limited response slips out in, and the server limiting a flood from one network while
//! other flows, cookie-proved clients and TCP go on being answered in full.

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use edge_dns::engine::{self, Config, ResponseKind, Source, Transport};
use hickory_proto::op::{Message, ResponseCode};

use crate::support::{
    Server, free_port, have_tool, metric, peer, query, spawn_edge_dns, wait_until_answering,
    with_opt,
};

const ZONE: &str = "tld. 3600 IN SOA a.nic.tld. h.nic.tld. 7 1800 900 604800 300
tld. 3600 IN NS a.nic.tld.
a.nic.tld. 3600 IN A 192.0.2.53
example.tld. 86400 IN NS ns1.example.tld.
ns1.example.tld. 86400 IN A 198.51.100.1
*.wild.tld. 3600 IN TXT \"anything\"
";

/// What the engine says the response to `name`/`qtype` is about: its kind and the name.
fn about(name: &str, qtype: u16, qclass: u16) -> (ResponseKind, String) {
    let zones = crate::support::zones(ZONE.as_bytes());
    let mut msg = query(1, name, qtype);
    let at = msg.len() - 2;
    msg[at..].copy_from_slice(&qclass.to_be_bytes());
    let mut out = vec![0u8; 65535];
    let (_, source) = engine::respond(
        &msg,
        &zones,
        &Config::default(),
        &peer(Transport::Udp),
        &mut out,
    )
    .unwrap();
    let Source { kind, name, .. } = source;
    let wire = &msg[name];
    let mut text = String::new();
    let mut at = 0;
    while at < wire.len() && wire[at] != 0 {
        let len = usize::from(wire[at]);
        text.push_str(std::str::from_utf8(&wire[at + 1..at + 1 + len]).unwrap());
        text.push('.');
        at += 1 + len;
    }
    (kind, text)
}

#[test]
fn each_response_says_what_it_is_about() {
    let case = |name: &str, qtype, qclass| about(name, qtype, qclass);
    let expect = |kind, name: &str| (kind, name.to_owned());
    assert_eq!(
        case("a.nic.tld.", 1, 1),
        expect(ResponseKind::Answer, "a.nic.tld.")
    );
    // Referrals are about the delegation, whatever is asked below it.
    assert_eq!(
        case("www.example.tld.", 1, 1),
        expect(ResponseKind::Referral, "example.tld.")
    );
    assert_eq!(
        case("example.tld.", 2, 1),
        expect(ResponseKind::Referral, "example.tld.")
    );
    // Wildcard answers are about the closest encloser; denials about the zone.
    assert_eq!(
        case("x.y.wild.tld.", 16, 1),
        expect(ResponseKind::Wildcard, "wild.tld.")
    );
    assert_eq!(
        case("nothere.tld.", 1, 1),
        expect(ResponseKind::Nxdomain, "tld.")
    );
    assert_eq!(
        case("a.b.nothere.tld.", 1, 1),
        expect(ResponseKind::Nxdomain, "tld.")
    );
    assert_eq!(
        case("a.nic.tld.", 28, 1),
        expect(ResponseKind::Nodata, "tld.")
    );
    // Errors are about nothing but the client.
    assert_eq!(case("example.com.", 1, 1), expect(ResponseKind::Error, ""));
    assert_eq!(case("tld.", 252, 1), expect(ResponseKind::Error, ""));
    assert_eq!(case("tld.", 1, 4), expect(ResponseKind::Error, ""));
}

#[test]
fn a_truncated_response_keeps_the_question_and_the_opt_record() {
    let zones = crate::support::zones(ZONE.as_bytes());
    let config = Config {
        cookies: Some(engine::CookieSecrets {
            current: [5; 16],
            previous: None,
        }),
        ..Config::default()
    };
    let msg = with_opt(
        query(7, "www.example.tld.", 1),
        1232,
        0,
        &[0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8],
    );
    let mut out = vec![0u8; 65535];
    let (len, _) = engine::respond(&msg, &zones, &config, &peer(Transport::Udp), &mut out).unwrap();
    let full = Message::from_vec(&out[..len]).unwrap();
    assert!(!full.authorities.is_empty() && !full.additionals.is_empty());
    let cut = engine::truncate(&mut out, len).unwrap();
    let truncated = Message::from_vec(&out[..cut]).unwrap();
    assert!(truncated.metadata.truncation);
    assert_eq!(truncated.metadata.id, 7);
    assert_eq!(truncated.metadata.response_code, ResponseCode::NoError);
    assert_eq!(truncated.queries, full.queries);
    assert!(truncated.answers.is_empty() && truncated.authorities.is_empty());
    assert!(truncated.additionals.is_empty());
    // The OPT record, with the server cookie the client will need when it asks again.
    assert_eq!(truncated.edns, full.edns);
    // Junk is refused, not read past its end.
    assert_eq!(engine::truncate(&mut [0u8; 11], 11), None);
    let mut junk = out[..cut].to_vec();
    junk[7] = 9; // nine answers that are not there
    assert_eq!(engine::truncate(&mut junk, cut), None);
}

/// The responses to `queries` sent at once from `socket`: (full answers, truncated, silent).
fn flood(socket: &UdpSocket, server: u16, queries: &[Vec<u8>]) -> (usize, usize, usize) {
    for q in queries {
        socket.send_to(q, ("127.0.0.1", server)).unwrap();
    }
    let (mut full, mut truncated) = (0, 0);
    let mut buf = [0u8; 4096];
    let until = Instant::now() + Duration::from_secs(5);
    while full + truncated < queries.len() && Instant::now() < until {
        let Ok(len) = socket.recv(&mut buf) else {
            break;
        };
        let response = Message::from_vec(&buf[..len]).unwrap();
        if response.metadata.truncation {
            assert!(response.answers.is_empty() && response.authorities.is_empty());
            truncated += 1;
        } else {
            full += 1;
        }
    }
    (full, truncated, queries.len() - full - truncated)
}

/// Starts edge-dns serving [`ZONE`] on 127.0.0.1:`port` (metrics on `metrics`), limited to
/// 20 responses per second with `slip = 2` and nothing exempt.
fn start_limited(dir: &Path, port: u16, metrics: u16) -> Server {
    let image = dir.join("tld.img");
    std::fs::write(&image, crate::support::compile(ZONE.as_bytes())).unwrap();
    let config = dir.join("edge-dns.toml");
    std::fs::write(
        &config,
        format!(
            "listen = [\"127.0.0.1:{port}\"]\nmetrics_listen = \"127.0.0.1:{metrics}\"\n\
             workers = 2\n[rate_limit]\nresponses_per_second = 20\nslip = 2\nexempt = []\n\
             [[zone]]\nimage = \"{}\"\n",
            image.display()
        ),
    )
    .unwrap();
    spawn_edge_dns(&["--config".as_ref(), config.as_os_str()], port)
}

/// A client socket that waits 300 ms for each answer, and 400 queries for names below one
/// delegation: one flow.
fn referral_flood() -> (UdpSocket, Vec<Vec<u8>>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let referrals = (0..400u16)
        .map(|i| query(i, &format!("host{i}.example.tld."), 1))
        .collect();
    (socket, referrals)
}

#[test]
fn a_flood_from_one_network_is_limited_and_nobody_else_is() {
    let dir = tempfile::tempdir().unwrap();
    let (port, metrics) = (free_port(), free_port());
    let _server = start_limited(dir.path(), port, metrics);
    // Let the start-up probe's flow drain.
    std::thread::sleep(Duration::from_millis(1100));

    // A burst of one second's worth (20, and a few more for the time the burst takes) is
    // answered, then every second limited response slips out truncated and the others are
    // dropped.
    let (socket, referrals) = referral_flood();
    let (full, truncated, silent) = flood(&socket, port, &referrals);
    assert!((20..=30).contains(&full), "{full} full answers");
    let limited = 400 - full;
    assert!(
        truncated.abs_diff(limited / 2) <= 1 && silent.abs_diff(limited / 2) <= 1,
        "{truncated} truncated, {silent} silent of {limited} limited"
    );
    assert_eq!(
        metric(metrics, "edge_dns_rate_limited_total{action=\"truncated\"}") as usize,
        truncated
    );
    assert_eq!(
        metric(metrics, "edge_dns_rate_limited_total{action=\"dropped\"}") as usize,
        silent
    );

    // Another flow from the same network is answered: the apex SOA.
    let (full, _, _) = flood(&socket, port, &[query(1, "tld.", 6)]);
    assert_eq!(full, 1);

    // A client that proves its address with a server cookie is never limited.
    let client_cookie = [0, 10, 0, 8, 9, 9, 9, 9, 9, 9, 9, 9];
    socket
        .send_to(
            &with_opt(query(1, "tld.", 2), 1232, 0, &client_cookie),
            ("127.0.0.1", port),
        )
        .unwrap();
    let mut buf = [0u8; 4096];
    let len = socket.recv(&mut buf).unwrap();
    let server_cookie = Message::from_vec(&buf[..len])
        .unwrap()
        .edns
        .unwrap()
        .options()
        .as_ref()
        .iter()
        .find_map(|(_, option)| match option {
            hickory_proto::rr::rdata::opt::EdnsOption::Unknown(10, data) => Some(data.clone()),
            _ => None,
        })
        .unwrap();
    let mut option = vec![0, 10, 0, 24];
    option.extend_from_slice(&server_cookie);
    let proved: Vec<Vec<u8>> = (0..200u16)
        .map(|i| with_opt(query(i, &format!("x{i}.example.tld."), 1), 1232, 0, &option))
        .collect();
    assert_eq!(flood(&socket, port, &proved), (200, 0, 0));

    // Over TCP the flow is answered in full.
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let q = query(9, "www.example.tld.", 1);
    tcp.write_all(&(q.len() as u16).to_be_bytes()).unwrap();
    tcp.write_all(&q).unwrap();
    let mut len = [0u8; 2];
    tcp.read_exact(&mut len).unwrap();
    let mut answer = vec![0u8; usize::from(u16::from_be_bytes(len))];
    tcp.read_exact(&mut answer).unwrap();
    let answer = Message::from_vec(&answer).unwrap();
    assert!(!answer.metadata.truncation && !answer.authorities.is_empty());

    // A second later the flow has its rate again.
    std::thread::sleep(Duration::from_millis(1100));
    let (full, _, _) = flood(&socket, port, &referrals[..10]);
    assert_eq!(full, 10);
}

#[test]
fn limiting_behaves_in_kind_as_nsds_does() {
    if !have_tool("nsd") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("tld.zone");
    std::fs::write(&zone, ZONE).unwrap();
    let (ours, theirs) = (free_port(), free_port());
    let _edge = start_limited(dir.path(), ours, free_port());
    let _nsd = crate::differential::start_nsd(dir.path(), &zone, theirs, 20);
    wait_until_answering(([127, 0, 0, 1], theirs).into());
    std::thread::sleep(Duration::from_millis(1100));
    // The same flood of referral queries, one flow, to each: both answer about the rate in
    // full and split the rest between truncated answers and silence.
    let (socket, referrals) = referral_flood();
    for (server, port) in [("edge-dns", ours), ("NSD", theirs)] {
        let (full, truncated, silent) = flood(&socket, port, &referrals);
        eprintln!("{server}: {full} full, {truncated} truncated, {silent} silent");
        assert!((10..=60).contains(&full), "{server}: {full} full answers");
        let limited = (400 - full) as f64;
        assert!(
            (0.35..=0.65).contains(&(truncated as f64 / limited)),
            "{server}: {truncated} truncated of {limited} limited"
        );
    }
}
