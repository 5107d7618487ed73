//! edge-whois end to end: the Debian `whois` client and raw sockets against the binary, over
//! a tree written through the library API and the update listener.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

mod common;

use common::*;
use zonefiles::whois::Object;

fn have_whois() -> bool {
    let found = Command::new("sh")
        .args(["-c", "command -v whois"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found || std::env::var_os("CI").is_none(),
        "whois is required under CI"
    );
    found
}

fn whois(port: u16, query: &str) -> String {
    let out = Command::new("whois")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), query])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn raw(port: u16, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn the_whois_client_gets_what_users_expect() {
    if !have_whois() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    populate(&dir.path().join("tree"));
    let server = start(dir.path(), "");
    let port = server.port;

    let found = whois(port, "domain example.tld");
    let fields: Vec<&str> = found
        .lines()
        .filter_map(|l| l.split_once(':').map(|(k, _)| k))
        .collect();
    let order = [
        "Domain Name",
        "Registry Domain ID",
        "Registrar WHOIS Server",
        "Registrar URL",
        "Updated Date",
        "Creation Date",
        "Registry Expiry Date",
        "Registrar",
        "Registrar IANA ID",
        "Registrar Abuse Contact Email",
        "Registrar Abuse Contact Phone",
        "Domain Status",
        "Name Server",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|f| {
            fields
                .iter()
                .position(|x| x == f)
                .unwrap_or_else(|| panic!("{f}: {found}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "ICANN order: {found}"
    );
    assert!(found.contains(
        "Domain Status: clientTransferProhibited https://icann.org/epp#clientTransferProhibited"
    ));
    assert!(found.contains("DNSSEC: unsigned"));
    assert!(
        found.contains(">>> Last update of WHOIS database: 2026-11-21T11:56:13Z <<<"),
        "{found}"
    );
    assert!(found.contains("The data in this WHOIS database"));

    assert_eq!(whois(port, "EXAMPLE.tld"), found, "case does not matter");
    assert!(whois(port, "free.tld").contains("No match for \"free.tld\"."));
    assert!(whois(port, "example.com").contains("does not serve \"example.com\""));
    let idn = whois(port, "bücher.tld");
    assert!(
        idn.contains("Domain Name: xn--bcher-kva.tld")
            && idn.contains("Internationalized Domain Name: bücher.tld"),
        "{idn}"
    );
    let ns = whois(port, "ns1.example.tld");
    assert!(
        ns.contains("Server Name: ns1.example.tld") && ns.contains("IP Address: 2001:db8::53"),
        "{ns}"
    );
    assert!(whois(port, "192.0.2.53").contains("Server Name: ns1.example.tld"));
    assert!(whois(port, "nameserver 2001:db8::53").contains("Server Name: ns1.example.tld"));
    assert!(whois(port, "registrar 9999").contains("Registrar: Example Registrar, Inc."));
    let external = whois(port, "nameserver ns0.v1.example.net");
    assert!(
        external.contains("Domain Name: example.tld") && external.contains("more results omitted"),
        "{external}"
    );
    assert!(whois(port, "registrar Example Registrar, Inc.").contains("Registrar IANA ID: 9999"));
    let partial = whois(port, "mack*");
    assert_eq!(partial.matches("Domain Name: mack").count(), 3, "{partial}");
    let many = whois(port, "many*");
    assert_eq!(many.matches("Domain Name:").count(), 20);
    assert!(many.contains("more results omitted"), "{many}");
    // The protocol itself: a trailing dot asks for a prefix search too.
    assert_eq!(
        raw(port, b"mack.\r\n").matches("Domain Name: mack").count(),
        3
    );
}

#[test]
fn bad_input_gets_a_short_error_or_a_close_and_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    populate(&dir.path().join("tree"));
    // A timeout long enough that a loaded machine still reads each query within it.
    let server = start(dir.path(), "timeout_ms = 2000\nmax_connections = 8\n");
    let port = server.port;
    assert!(raw(port, &vec![b'a'; 2000]).starts_with("malformed request: the query is too long"));
    assert!(raw(port, b"\x00\x01\xff binary\r\n").starts_with("malformed request:"));
    assert!(raw(port, b"\r\n").starts_with("malformed request: empty query"));
    // No line end within the timeout: closed without an answer.
    let started = Instant::now();
    assert_eq!(raw(port, b"example.tl"), "");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Idle connections beyond the cap are closed at once; the others time out, and the server
    // keeps answering.
    let idle: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(2300));
    drop(idle);
    assert!(raw(port, b"example.tld\r\n").contains("Domain Name: example.tld"));
}

#[test]
fn clients_over_their_limit_are_told_so() {
    let dir = tempfile::tempdir().unwrap();
    populate(&dir.path().join("tree"));
    let server = start(
        dir.path(),
        "[limits]\nburst = 3\nper_minute = 1\nallow = []\n",
    );
    let answers: Vec<String> = (0..5)
        .map(|_| raw(server.port, b"example.tld\r\n"))
        .collect();
    assert!(
        answers[..3]
            .iter()
            .all(|a| a.contains("Domain Name: example.tld"))
    );
    assert!(
        answers[3..]
            .iter()
            .all(|a| a.starts_with("Query limit exceeded.")),
        "{answers:?}"
    );
    let mut metrics = String::new();
    TcpStream::connect(("127.0.0.1", server.metrics))
        .and_then(|mut s| {
            s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n")?;
            s.read_to_string(&mut metrics)
        })
        .unwrap();
    assert!(metrics.contains("edge_whois_limited_total 2"), "{metrics}");
}

/// A reader asks for a domain again and again while the update listener replaces its record:
/// every answer is one whole version, never a mix or a partial record.
#[test]
fn readers_never_see_a_partial_record() {
    let dir = tempfile::tempdir().unwrap();
    let tree = populate(&dir.path().join("tree"));
    let server = start(dir.path(), "[limits]\nallow = [\"127.0.0.0/8\"]\n");
    let port = server.port;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let writer = {
        let (stop, writes) = (stop.clone(), writes.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for version in [2u32, 3] {
                    tree.put(&Object::Domain(domain("example.tld", version)))
                        .unwrap();
                    writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        })
    };
    let mut seen = [0u32; 4];
    let started = Instant::now();
    let mut reads = 0;
    // Thousands of replacements, and reads all along.
    while writes.load(std::sync::atomic::Ordering::Relaxed) < 2000 || reads < 1000 {
        assert!(started.elapsed() < Duration::from_secs(120));
        reads += 1;
        let answer = raw(port, b"domain example.tld\r\n");
        let version = (1..=3)
            .find(|v| answer.contains(&format!("Registry Domain ID: D{v}-TLD")))
            .unwrap_or_else(|| panic!("no whole record: {answer}"));
        for i in 0..4 {
            assert!(
                answer.contains(&format!("Name Server: ns{i}.v{version}.example.net")),
                "mixed: {answer}"
            );
        }
        assert_eq!(answer.matches("Name Server:").count(), 4);
        seen[version as usize] += 1;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    assert!(seen[2] > 0 && seen[3] > 0, "both versions seen: {seen:?}");
    eprintln!(
        "{reads} reads during {} replacements: versions seen {seen:?}",
        writes.load(std::sync::atomic::Ordering::Relaxed)
    );

    // The update listener: set a domain from its WHOIS lines, then delete it.
    let update = |text: &str| raw(server.update, text.as_bytes());
    let body = "set fresh.tld\nDomain Name: fresh.tld\nRegistry Domain ID: D9-TLD\nRegistrar IANA ID: 9999\n\
                Updated Date: 2026-11-21T00:00:00Z\nCreation Date: 2026-11-21T00:00:00Z\n\
                Registry Expiry Date: 2027-11-21T00:00:00Z\nDomain Status: ok https://icann.org/epp#ok\n\
                Name Server: ns1.example.tld\n.\n";
    assert_eq!(update(body), "ok\n");
    assert!(raw(port, b"fresh.tld\r\n").contains("Registry Domain ID: D9-TLD"));
    assert_eq!(update("delete fresh.tld\n"), "ok\n");
    assert!(raw(port, b"fresh.tld\r\n").contains("No match"));
    assert!(update("set other.tld\nDomain Name: fresh.tld\n.\n").starts_with("error:"));
    let _ = SocketAddr::from(([127, 0, 0, 1], port));
}

/// The `id` of a user's name, from the system's database.
fn id_of(user: &str) -> Option<u32> {
    let out = Command::new("id").args(["-u", user]).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

#[test]
fn binds_the_privileged_port_then_runs_as_the_configured_user() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: binding a port below 1024 and switching user need root");
        return;
    }
    let uid = id_of("nobody").expect("a `nobody` user");
    let dir = tempfile::tempdir().unwrap();
    populate(&dir.path().join("tree"));
    // The service user owns the tree (it writes updates) and can reach it.
    let chown = Command::new("chown")
        .args(["-R", "nobody"])
        .arg(dir.path().join("tree"))
        .status()
        .unwrap();
    assert!(chown.success());
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let port = (1000..1024)
        .find(|&p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
        .expect("a free port below 1024");
    let server = start_on(dir.path(), port, "user = \"nobody\"\n");

    let pid = server._server.0.id();
    // The port accepts connections once bound, a moment before the switch: wait for it.
    let started = Instant::now();
    let status = loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let switched = status.lines().any(|l| {
            l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some(&uid.to_string())
        });
        if switched || started.elapsed() > Duration::from_secs(5) {
            break status;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    for field in ["Uid:", "Gid:"] {
        let ids: Vec<&str> = status
            .lines()
            .find(|l| l.starts_with(field))
            .unwrap()
            .split_whitespace()
            .skip(1)
            .collect();
        // Real, effective, saved and filesystem ids: no way back to root.
        assert_eq!(ids.len(), 4, "{status}");
        if field == "Uid:" {
            assert!(
                ids.iter().all(|id| *id == uid.to_string()),
                "{field} {ids:?}"
            );
        } else {
            assert!(ids.iter().all(|id| *id != "0"), "{field} {ids:?}");
        }
    }
    let groups = status.lines().find(|l| l.starts_with("Groups:")).unwrap();
    assert_eq!(groups.trim(), "Groups:", "supplementary groups dropped");

    // Still serves, and still writes the tree, as that user.
    assert!(whois_or_raw(port, "example.tld").contains("Domain Name: example.tld"));
    let body = "set fresh.tld\nDomain Name: fresh.tld\nRegistry Domain ID: D9-TLD\n\
                Registrar IANA ID: 9999\nUpdated Date: 2026-11-21T00:00:00Z\n\
                Creation Date: 2026-11-21T00:00:00Z\nRegistry Expiry Date: 2027-11-21T00:00:00Z\n\
                Domain Status: ok https://icann.org/epp#ok\n.\n";
    assert_eq!(raw(server.update, body.as_bytes()), "ok\n");
    assert!(raw(port, b"fresh.tld\r\n").contains("Registry Domain ID: D9-TLD"));
}

/// The answer through the `whois` client when there is one, else over a raw socket.
fn whois_or_raw(port: u16, query: &str) -> String {
    if have_whois() {
        whois(port, query)
    } else {
        raw(port, format!("{query}\r\n").as_bytes())
    }
}

#[test]
fn updates_through_a_unix_socket_only_its_owner_can_write() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::net::UnixStream;

    let dir = tempfile::tempdir().unwrap();
    populate(&dir.path().join("tree"));
    let socket = dir.path().join("update.sock");
    // A stale socket from an earlier run is replaced.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let server = start(
        dir.path(),
        &format!("update_socket = \"{}\"\n", socket.display()),
    );
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let send = |text: &str| {
        let mut stream = UnixStream::connect(&socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(text.as_bytes()).unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        reply
    };
    let body = "set unix.tld\nDomain Name: unix.tld\nRegistry Domain ID: D7-TLD\n\
                Registrar IANA ID: 9999\nUpdated Date: 2026-11-21T00:00:00Z\n\
                Creation Date: 2026-11-21T00:00:00Z\nRegistry Expiry Date: 2027-11-21T00:00:00Z\n\
                Domain Status: ok https://icann.org/epp#ok\n.\n";
    assert_eq!(send(body), "ok\n");
    assert!(raw(server.port, b"unix.tld\r\n").contains("Registry Domain ID: D7-TLD"));
    assert_eq!(send("delete unix.tld\n"), "ok\n");
    assert!(raw(server.port, b"unix.tld\r\n").contains("No match"));
    assert!(send("frobnicate\n").starts_with("error:"));

    // What edge-whois prints when it refuses to start with `extra` configuration, whose
    // update listener is on `tree`.
    let refusal = |name: &str, tree: &str, extra: &str| {
        let config = dir.path().join(name);
        std::fs::write(
            &config,
            format!(
                "listen = [\"127.0.0.1:{}\"]\nupdate_listen = \"127.0.0.1:{}\"\ntree = \"{tree}\"\n{extra}",
                free_port(),
                free_port(),
            ),
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_edge-whois"))
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // A second writer of the same tree (another update listener here; an update-agent alike)
    // is refused while the first runs.
    let stderr = refusal("second.toml", "tree", "");
    assert!(stderr.contains("another writer"), "{stderr}");

    // Anything else in the socket's place is left alone, and the server says why it stops.
    let blocker = dir.path().join("blocked.sock");
    std::fs::write(&blocker, b"not a socket").unwrap();
    let extra = format!("update_socket = \"{}\"\n", blocker.display());
    let stderr = refusal("blocked.toml", "other", &extra);
    assert!(stderr.contains("not a socket"), "{stderr}");
    assert_eq!(std::fs::read(&blocker).unwrap(), b"not a socket");
}

/// The update listener refuses a record missing what a registry record must have (the old one
/// stays), and names outside the served TLDs (nothing is written).
#[test]
fn update_listener_refuses_incomplete_records_and_other_tlds() {
    let dir = tempfile::tempdir().unwrap();
    populate(&dir.path().join("tree"));
    let server = start(dir.path(), "");
    let update = |text: &str| raw(server.update, text.as_bytes());
    let before = raw(server.port, b"example.tld\r\n");
    assert!(
        before.contains("Name Server: ns0.v1.example.net"),
        "{before}"
    );
    let answer =
        update("set example.tld\nDomain Name: example.tld\nRegistrar: Nobody We Know\n.\n");
    assert!(
        answer.starts_with("error: example.tld: no sponsoring registrar"),
        "{answer}"
    );
    let answer = update(
        "set example.tld\nDomain Name: example.tld\nRegistrar IANA ID: 9999\nDomain Status: ok https://icann.org/epp#ok\n.\n",
    );
    assert!(
        answer.starts_with("error: example.tld: creation and expiry dates"),
        "{answer}"
    );
    assert_eq!(
        raw(server.port, b"example.tld\r\n"),
        before,
        "the old record is kept"
    );
    let answer = update(
        "set x.com\n{\"Domain\":{\"name\":\"x.com\",\"roid\":\"D1-COM\",\"registrar\":9999,\"statuses\":[\"Ok\"],\"nameservers\":[],\"ds\":[],\"created\":1,\"updated\":1,\"expires\":2}}\n.\n",
    );
    assert!(
        answer.starts_with("error: x.com is not in a TLD this server serves"),
        "{answer}"
    );
    assert!(!dir.path().join("tree/domain/com").exists());
    assert!(
        update("delete host ns1.other.org\n").starts_with("error: ns1.other.org is not in a TLD")
    );
}

/// The update listener holds at most `update_max_connections` connections and reads at most
/// `update_max_bytes` of a command; a command that never ends is cut at the timeout.
#[test]
fn update_listener_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    populate(&dir.path().join("tree"));
    let server = start(
        dir.path(),
        "update_max_connections = 4\nupdate_max_bytes = 8192\ntimeout_ms = 5000\n",
    );
    // Too long: refused with an error, not read to the end.
    let long = format!("set example.tld\n{}\n.\n", "x".repeat(100_000));
    let mut stream = TcpStream::connect(("127.0.0.1", server.update)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = stream.write_all(long.as_bytes());
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    assert!(
        out.starts_with("error: the command is longer than 8192 bytes"),
        "{out:?}"
    );
    // Four silent connections take every slot; a fifth is closed at once. The server frees the
    // refused command's slot just after closing it, so a connection that raced it and was
    // closed is opened again. The timeout is long enough for a loaded machine.
    let held_at = Instant::now();
    let mut held: Vec<TcpStream> = Vec::new();
    while held.len() < 4 {
        assert!(
            held_at.elapsed() < Duration::from_secs(2),
            "slots stay taken"
        );
        let mut s = TcpStream::connect(("127.0.0.1", server.update)).unwrap();
        s.write_all(b"set example.tld\n").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let open =
            matches!(s.read(&mut [0u8; 64]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
        if open {
            held.push(s);
        }
    }
    let started = Instant::now();
    assert_eq!(raw(server.update, b"delete mack.tld\n"), "");
    assert!(started.elapsed() < Duration::from_secs(3), "closed at once");
    // After the timeout the slots are free again and updates are taken.
    std::thread::sleep(
        (held_at + Duration::from_millis(5200)).saturating_duration_since(Instant::now()),
    );
    drop(held);
    assert_eq!(raw(server.update, b"delete mack.tld\n"), "ok\n");
}

/// A query line ended by CR alone is answered at once, as one ended by LF or CRLF.
#[test]
fn cr_lf_and_crlf_end_a_query_alike() {
    let dir = tempfile::tempdir().unwrap();
    populate(&dir.path().join("tree"));
    let server = start(dir.path(), "timeout_ms = 5000\n");
    for end in [&b"\r"[..], b"\n", b"\r\n"] {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let started = Instant::now();
        stream
            .write_all(&[&b"example.tld"[..], end].concat())
            .unwrap();
        let mut out = String::new();
        let _ = stream.read_to_string(&mut out);
        assert!(out.contains("Domain Name: example.tld"), "{end:?}: {out:?}");
        assert!(started.elapsed() < Duration::from_secs(3), "{end:?} waited");
    }
}
