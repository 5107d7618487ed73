//! The monthly registry functions activity report counts what the registry and its satellites
//! answered: registrar commands by the report's counters, and every satellite's DNS, WHOIS and
//! RDAP queries (a relay's downstream agent's too), equal to what the servers themselves
//! counted.

use std::time::{Duration, Instant};

use ops::scrape::Samples;

use super::satellite::Satellite;
use crate::fixture::{Registry, free_port};
use crate::operator_month;

/// The report as (field, value) pairs, and what the command said on standard error.
fn report(registry: &Registry) -> (Vec<(String, String)>, String) {
    let out = std::process::Command::new(crate::fixture::BIN)
        .current_dir(registry.path(""))
        .args(["-c", "cp.toml", "report", "activity", "name", "--month"])
        .arg(operator_month())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.ends_with("\r\n"), "{csv}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    let fields = lines[0].split(',').map(str::to_owned);
    let values = lines[1].split(',').map(str::to_owned);
    (
        fields.zip(values).collect(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn value(report: &[(String, String)], field: &str) -> u64 {
    report
        .iter()
        .find(|(f, _)| f == field)
        .unwrap_or_else(|| panic!("{field} in {report:?}"))
        .1
        .parse()
        .unwrap()
}

/// What the satellites' servers counted: the report's DNS, WHOIS and RDAP fields.
fn served(satellites: &[&Satellite]) -> Vec<(&'static str, u64)> {
    let mut sums = Vec::new();
    for s in satellites {
        let page = |a| Samples::fetch(a).expect("a metrics page");
        let (dns, whois) = (page(s.server_metrics.0), page(s.server_metrics.1));
        let udp = dns.sum_where("edge_dns_responses_total", "transport", "udp") as u64;
        let tcp = dns.sum_where("edge_dns_responses_total", "transport", "tcp") as u64;
        let counts = [
            ("dns-udp-queries-responded", udp),
            ("dns-tcp-queries-responded", tcp),
            (
                "whois-43-queries",
                whois.sum("edge_whois_queries_total") as u64,
            ),
            (
                "rdap-queries",
                whois.sum("edge_whois_rdap_requests_total") as u64,
            ),
        ];
        for (i, (field, n)) in counts.into_iter().enumerate() {
            match sums.get_mut(i) {
                Some((_, total)) => *total += n,
                None => sums.push((field, n)),
            }
        }
    }
    sums
}

#[test]
fn the_activity_report_counts_commands_and_every_satellites_queries() {
    crate::wait_for_month_start();
    let push = free_port();
    let mut registry = Registry::new(&format!(
        "\n[push]\nlisten = \"{push}\"\nkey = \"keys/tunnel.key\"\n"
    ));
    registry.start();
    let relay = Satellite::relay(&registry, "r1", push);
    let leaf = Satellite::behind(&relay, "leaf", false);

    let srrp = |header: &str, attributes: &[(&str, &str)]| {
        let response = registry.as_registrar(1001, header, attributes);
        assert_eq!(response.code.number(), 200, "{header}: {response:?}");
    };
    for name in ["john.smith.name", "mary.smith.name"] {
        srrp(
            "CREATE DOMAIN",
            &[
                ("domain-name", name),
                ("ns1-name", "ns.example.net"),
                ("ns2-name", "ns.example.org"),
            ],
        );
    }
    for _ in 0..3 {
        srrp("QUERY DOMAIN", &[("domain-name", "john.smith.name")]);
    }
    srrp(
        "SET PASSWORD",
        &[
            ("domain-name", "john.smith.name"),
            ("domain-auth", "s3cret-pass"),
        ],
    );
    srrp("DELETE DOMAIN", &[("domain-name", "mary.smith.name")]);
    // Refused by the rules: a request responded all the same.
    let again = registry.as_registrar(
        1001,
        "CREATE DOMAIN",
        &[
            ("domain-name", "john.smith.name"),
            ("ns1-name", "ns.example.net"),
            ("ns2-name", "ns.example.org"),
        ],
    );
    assert_ne!(again.code.number(), 200, "{again:?}");

    leaf.wait_registered("john.smith.name");
    relay.wait_registered("john.smith.name");
    for s in [&relay, &leaf] {
        for _ in 0..5 {
            assert!(
                s.dig("www.john.smith.name.", "A")
                    .contains("ns.example.net")
            );
        }
        let tcp = s
            .command(std::path::Path::new("dig"))
            .args([&format!("@{}", s.dns.ip()), "-p", &s.dns.port().to_string()])
            .args(["+tcp", "+norec", "name.", "SOA"])
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&tcp.stdout).contains("status: NOERROR"));
        for _ in 0..2 {
            assert!(
                s.whois("john.smith.name")
                    .to_ascii_lowercase()
                    .contains("john.smith.name")
            );
        }
        s.rdap("/domain/john.smith.name");
    }

    // The registry writes its counts every ten seconds; the agents read their servers every
    // second (`every_s = 1`) and report the day's totals as they grow.
    let deadline = Instant::now() + Duration::from_secs(40);
    let (got, said) = loop {
        let (got, said) = report(&registry);
        let expected = served(&[&relay, &leaf]);
        let settled = value(&got, "srs-dom-create") == 3
            && expected.iter().all(|(f, n)| value(&got, f) == *n);
        if settled {
            break (got, said);
        }
        assert!(
            Instant::now() < deadline,
            "the report {got:?} did not reach the servers' counts {expected:?}; {said}\n{}\n{}",
            relay.log(),
            leaf.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(said.contains("leaf") && said.contains("r1"), "{said}");
    for (field, n) in [
        ("operational-registrars", 3),
        ("srs-dom-create", 3),
        ("srs-dom-info", 3),
        ("srs-dom-update", 1),
        ("srs-dom-delete", 1),
        ("srs-dom-renew", 0),
        ("srs-host-create", 0),
        ("srs-cont-create", 0),
        ("web-whois-queries", 0),
    ] {
        assert_eq!(value(&got, field), n, "{field}: {got:?}");
    }
    assert!(value(&got, "dns-udp-queries-responded") >= 10, "{got:?}");
    assert!(value(&got, "dns-tcp-queries-responded") >= 2, "{got:?}");
    assert!(value(&got, "whois-43-queries") >= 4, "{got:?}");
    assert!(value(&got, "rdap-queries") >= 2, "{got:?}");
    assert!(
        value(&got, "dns-udp-queries-received") >= value(&got, "dns-udp-queries-responded"),
        "{got:?}"
    );
    assert_eq!(got[3], ("zfa-passwords".into(), "CZDS".into()));
    assert_eq!(got.len(), 40);
    assert_eq!(got[39].0, "rdap-queries");
}
