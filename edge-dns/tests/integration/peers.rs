//! Real clients nobody here wrote — BIND's `dig` and Knot's `kdig` — asking edge-dns over
//! UDP and TCP, on IPv4 and IPv6 loopback.

use std::path::Path;
use std::process::Command;

use crate::support::{Server, compile, free_port, have_tool, spawn_edge_dns};

fn start(dir: &Path) -> (Server, u16) {
    let text = "tld. 300 IN SOA a.nic.tld. h.tld. 5 2 3 4 60\ntld. 300 IN NS a.nic.tld.\n\
                a.nic.tld. 300 IN A 192.0.2.1\na.nic.tld. 300 IN AAAA 2001:db8::1\n\
                example.tld. 86400 IN NS ns1.example.tld.\nns1.example.tld. 86400 IN A 198.51.100.1\n";
    let image = dir.join("tld.img");
    std::fs::write(&image, compile(text.as_bytes())).unwrap();
    let port = free_port();
    let args = [
        "--zone".to_owned(),
        image.display().to_string(),
        "--listen".to_owned(),
        format!("127.0.0.1:{port}"),
        "--listen".to_owned(),
        format!("[::1]:{port}"),
        "--metrics-listen".to_owned(),
        format!("127.0.0.1:{}", free_port()),
    ];
    (spawn_edge_dns(&args, port), port)
}

fn run(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn dig_and_kdig_get_correct_answers_over_udp_tcp_ipv4_and_ipv6() {
    if !(have_tool("dig") && have_tool("kdig")) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start(dir.path());
    let port = port.to_string();
    for server in ["@127.0.0.1", "@::1"] {
        for transport in ["+notcp", "+tcp"] {
            let referral = run(
                "dig",
                &[
                    server,
                    "-p",
                    &port,
                    "+norec",
                    transport,
                    "www.example.tld.",
                    "A",
                ],
            );
            assert!(referral.contains("status: NOERROR"), "{referral}");
            assert!(
                referral.contains("flags: qr;"),
                "a referral is not authoritative: {referral}"
            );
            assert!(
                referral.contains("AUTHORITY: 1, ADDITIONAL: 2"),
                "{referral}"
            );
            assert!(
                referral.contains("ns1.example.tld.\t86400\tIN\tA\t198.51.100.1"),
                "{referral}"
            );

            let nxdomain = run(
                "kdig",
                &[
                    server,
                    "-p",
                    &port,
                    "+norec",
                    transport,
                    "nothing.tld.",
                    "AAAA",
                ],
            );
            let lower = nxdomain.to_lowercase();
            assert!(lower.contains("status: nxdomain"), "{nxdomain}");
            assert!(lower.contains("flags: qr aa;"), "{nxdomain}");
            // The SOA at the negative TTL: min(300, minimum 60).
            assert!(lower.contains("\t60\tin\tsoa\t"), "{nxdomain}");
        }
    }
    let nsid = run(
        "dig",
        &[
            "@127.0.0.1",
            "-p",
            &port,
            "+nsid",
            "id.server.",
            "CH",
            "TXT",
        ],
    );
    assert!(nsid.contains("; NSID:"), "{nsid}");
    // dig sends a client cookie and checks the server cookie that comes back (RFC 7873);
    // kdig does the same when asked.
    let cookie = run(
        "dig",
        &["@127.0.0.1", "-p", &port, "+cookie", "tld.", "SOA"],
    );
    assert!(
        cookie.contains("; COOKIE: ") && cookie.contains("(good)"),
        "{cookie}"
    );
    let kcookie = run(
        "kdig",
        &["@127.0.0.1", "-p", &port, "+cookie", "tld.", "SOA"],
    );
    assert!(
        kcookie.contains("COOKIE: ") && !kcookie.contains("malformed"),
        "{kcookie}"
    );
    let apex = run("kdig", &["@127.0.0.1", "-p", &port, "+norec", "tld.", "NS"]);
    assert!(
        apex.contains("a.nic.tld.") && apex.contains("2001:db8::1"),
        "apex NS with addresses: {apex}"
    );
}
