//! The same generated TLD zone served by NSD and by edge-dns, a few thousand mixed queries sent
//! to both over UDP on loopback, the answers compared section by section: unsigned, and signed
//! by BIND's dnssec-signzone with NSEC, with NSEC3 and opt-out, and with salted NSEC3.

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use zonefiles::generate::Shape;

use crate::support::{
    Server, describe, free_port, have_tool, metric, normalize, query, spawn_edge_dns,
    wait_until_answering, with_opt,
};

/// Sends `msg` to `server` and returns its answer, asking again after a silent second as a
/// resolver would (UDP may drop a datagram when the test machine is busy); answers that are
/// not to this message (a late answer to an earlier one) are skipped. Counts the resends.
fn ask(socket: &UdpSocket, server: SocketAddr, msg: &[u8], resends: &mut usize) -> Option<Vec<u8>> {
    let mut buf = [0u8; 4096];
    for attempt in 0..3 {
        if attempt > 0 {
            *resends += 1;
        }
        socket.send_to(msg, server).ok()?;
        while let Ok((len, from)) = socket.recv_from(&mut buf) {
            if from == server && len >= 2 && buf[..2] == msg[..2] {
                return Some(buf[..len].to_vec());
            }
        }
    }
    None
}

/// Starts NSD on 127.0.0.1:`port` serving `zone` as `tld`, its response rate limit at
/// `rrl_ratelimit` per second (0: off).
pub fn start_nsd(dir: &Path, zone: &Path, port: u16, rrl_ratelimit: u32) -> Server {
    let conf = dir.join("nsd.conf");
    std::fs::write(
        &conf,
        format!(
            "server:\n  ip-address: 127.0.0.1@{port}\n  port: {port}\n  username: \"\"\n  chroot: \"\"\n  \
             zonesdir: \"{d}\"\n  database: \"\"\n  zonelistfile: \"{d}/zone.list\"\n  pidfile: \"{d}/nsd.pid\"\n  \
             xfrdfile: \"{d}/xfrd.state\"\n  xfrdir: \"{d}\"\n  server-count: 1\n  verbosity: 0\n  rrl-ratelimit: {rrl_ratelimit}\n  rrl-slip: 2\n\
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

/// Names a TLD rarely has but a signed zone must prove right: wildcards, an empty
/// non-terminal, aliases, a DNAME, a signed delegation with in-zone glue.
const EXTRA: &str = "\
*.wild.tld. 3600 IN TXT \"wildcard\"
*.wild.tld. 3600 IN MX 10 mail.tld.
mail.tld. 3600 IN A 192.0.2.25
deep.ent.tld. 3600 IN A 192.0.2.9
alias.tld. 3600 IN CNAME mail.tld.
dangling.tld. 3600 IN CNAME nothere.tld.
old.tld. 3600 IN DNAME new.tld.
new.tld. 3600 IN A 192.0.2.10
www.new.tld. 3600 IN A 192.0.2.11
secure-x.tld. 86400 IN NS ns1.secure-x.tld.
secure-x.tld. 86400 IN DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns1.secure-x.tld. 86400 IN A 198.51.100.1
";

/// Writes the generated TLD (3,000 delegations) to `dir/tld.zone`, with `extra` records.
fn generated_zone(dir: &Path, extra: &str, shape: Shape) -> std::path::PathBuf {
    let zone_path = dir.join("tld.zone");
    let options = zonefiles::generate::Options {
        delegations: 3000,
        shape,
        ..zonefiles::generate::Options::default()
    };
    zonefiles::generate::generate(&options, std::fs::File::create(&zone_path).unwrap()).unwrap();
    let mut text = std::fs::read_to_string(&zone_path).unwrap();
    text.push_str(extra);
    std::fs::write(&zone_path, text).unwrap();
    zone_path
}

/// Signs `zone` with a fresh ECDSA P-256 KSK and ZSK; `nsec3` holds dnssec-signzone's NSEC3
/// arguments (none for NSEC).
fn sign(dir: &Path, zone: &Path, nsec3: &[&str]) -> std::path::PathBuf {
    for extra in [&["-f", "KSK"][..], &[]] {
        let status = Command::new("dnssec-keygen")
            .args(["-q", "-a", "ECDSAP256SHA256", "-K"])
            .arg(dir)
            .args(extra)
            .arg("tld")
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "dnssec-keygen");
    }
    let signed = dir.join("tld.signed");
    let status = Command::new("dnssec-signzone")
        .args(["-q", "-S", "-K"])
        .arg(dir)
        // The DS set it writes goes beside the keys, not into the working directory.
        .arg("-d")
        .arg(dir)
        .args(nsec3)
        .args(["-o", "tld", "-f"])
        .arg(&signed)
        .arg(zone)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "dnssec-signzone");
    signed
}

/// The queries: below and at delegations, glue names, DS/NS at cuts, the apex, names that do
/// not exist, and the names of [`EXTRA`].
fn queries(zone: &zonefiles::Zone) -> Vec<(String, u16)> {
    let mut names: Vec<(String, u16)> = vec![
        ("tld.".into(), 6),
        ("tld.".into(), 2),
        ("tld.".into(), 48),
        ("tld.".into(), 255),
        ("a.nic.tld.".into(), 1),
    ];
    for (name, qtype) in [
        ("x.wild.tld.", 16),
        ("x.wild.tld.", 1),
        ("x.y.wild.tld.", 15),
        ("wild.tld.", 1),
        ("*.wild.tld.", 16),
        ("ent.tld.", 1),
        ("x.ent.tld.", 1),
        ("deep.ent.tld.", 28),
        ("alias.tld.", 1),
        ("dangling.tld.", 1),
        ("a.old.tld.", 1),
        ("www.old.tld.", 1),
        ("mail.tld.", 255),
        ("secure-x.tld.", 43),
        ("www.secure-x.tld.", 1),
        ("zzzzzz.tld.", 1),
        ("0.tld.", 1),
    ] {
        names.push((name.into(), qtype));
    }
    let hashed: std::collections::HashSet<&zonefiles::Name> = zone
        .records()
        .iter()
        .filter(|r| r.rtype == zonefiles::RecordType::NSEC3)
        .map(|r| &r.owner)
        .collect();
    for record in zone.records().iter().step_by(3) {
        let owner = record.owner.to_string();
        if owner.starts_with("*.") {
            // A literal wildcard name: NODATA there is proved by its own NSEC3 (RFC 5155
            // §7.2.3); NSD adds the closest encloser's as for a wildcard answer (§7.2.5).
            // docs/conformance.md lists this difference.
            continue;
        }
        if hashed.contains(&record.owner) {
            // Names below an NSEC3 owner name: RFC 5155 §7.2.8 says nothing, and servers
            // differ (NSD takes the owner for the closest encloser, we take its parent).
            names.push((owner, 1));
            continue;
        }
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
    names
}

/// Serves `zone_path` with edge-dns and NSD, asks both every query (with the DO bit when
/// `dnssec`), and returns how many answers were compared and the differences.
fn compare(dir: &Path, zone_path: &Path, dnssec: bool) -> (usize, Vec<String>) {
    let (zone, _) = zonefiles::Zone::read(zone_path, zonefiles::ParseOptions::default()).unwrap();
    let (bytes, _) = zonefiles::image::compile(&zone, |_| {}).unwrap();
    let image_path = dir.join("tld.img");
    std::fs::write(&image_path, bytes).unwrap();

    let (ours, theirs, metrics) = (free_port(), free_port(), free_port());
    let args = [
        "--zone".to_owned(),
        image_path.display().to_string(),
        "--listen".to_owned(),
        format!("127.0.0.1:{ours}"),
        "--metrics-listen".to_owned(),
        format!("127.0.0.1:{metrics}"),
    ];
    let _edge = spawn_edge_dns(&args, ours);
    let _nsd = start_nsd(dir, zone_path, theirs, 0);
    let (ours, theirs): (SocketAddr, SocketAddr) = (
        format!("127.0.0.1:{ours}").parse().unwrap(),
        format!("127.0.0.1:{theirs}").parse().unwrap(),
    );
    wait_until_answering(theirs);

    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let (mut ours_resent, mut theirs_resent) = (0, 0);
    let mut compared = 0;
    let mut differences = Vec::new();
    for (i, (name, qtype)) in queries(&zone).iter().enumerate() {
        let mut msg = query(i as u16, name, *qtype);
        if dnssec {
            msg = with_opt(msg, 1232, 0, &[]);
            let flags_at = msg.len() - 4;
            msg[flags_at] = 0x80; // DO
        }
        let a = ask(&socket, ours, &msg, &mut ours_resent)
            .unwrap_or_else(|| panic!("edge-dns did not answer {name} type {qtype} three times"));
        let b = ask(&socket, theirs, &msg, &mut theirs_resent)
            .unwrap_or_else(|| panic!("NSD did not answer {name} type {qtype} three times"));
        compared += 1;
        let (a, b) = (normalize(&describe(&a)), normalize(&describe(&b)));
        if a != b {
            differences.push(format!(
                "--- {name} type {qtype}\nedge-dns: {a:?}\nnsd:      {b:?}"
            ));
        }
    }
    // Every query got its answer from the engine: none panicked, none was left unanswered.
    for counter in ["edge_dns_answer_failures_total", "edge_dns_dropped_total"] {
        let line = format!("{counter}{{transport=\"udp\"}}");
        assert_eq!(metric(metrics, &line), 0, "{line}");
    }
    for difference in differences.iter().take(3) {
        eprintln!("{difference}");
    }
    eprintln!(
        "compared {compared} answers with NSD (DO {dnssec}): {} differ; asked again {ours_resent} \
         times (edge-dns) and {theirs_resent} times (NSD)",
        differences.len()
    );
    (compared, differences)
}

/// Asks edge-dns and NSD the same of a generated zone of `shape` (unsigned) and asserts that
/// every answer is the same.
fn unsigned_answers_match_nsd(shape: Shape) {
    if !have_tool("nsd") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let zone = generated_zone(dir.path(), "", shape);
    assert_same(compare(dir.path(), &zone, false));
}

fn assert_same((compared, differences): (usize, Vec<String>)) {
    assert!(compared > 5000);
    assert!(
        differences.is_empty(),
        "{} of {compared} answers differ from NSD",
        differences.len()
    );
}

#[test]
fn answers_match_nsd() {
    unsigned_answers_match_nsd(Shape::Providers);
}

fn signed_answers_match_nsd(nsec3: &[&str], shape: Shape) {
    if !(have_tool("nsd") && have_tool("dnssec-signzone")) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let zone = generated_zone(dir.path(), EXTRA, shape);
    let signed = sign(dir.path(), &zone, nsec3);
    assert_same(compare(dir.path(), &signed, true));
}

#[test]
fn signed_nsec_answers_match_nsd() {
    signed_answers_match_nsd(&[], Shape::Providers);
}

#[test]
fn signed_nsec3_opt_out_answers_match_nsd() {
    signed_answers_match_nsd(&["-3", "-", "-H", "0", "-A"], Shape::Providers);
}

#[test]
fn signed_salted_nsec3_answers_match_nsd() {
    signed_answers_match_nsd(&["-3", "aabbccdd", "-H", "5"], Shape::Providers);
}

/// In-zone name servers with A and AAAA glue for every domain: each referral carries sibling
/// glue, unsigned and signed (NSEC3 opt-out, the TLD default).
#[test]
fn glue_heavy_answers_match_nsd() {
    unsigned_answers_match_nsd(Shape::Glue);
    signed_answers_match_nsd(&["-3", "-", "-H", "0", "-A"], Shape::Glue);
}
