//! RRP over real TLS: every command by a registrar session, `openssl s_client` as a client
//! nobody here wrote, hostile requests, and one scenario over RRP, SRRP and EPP leaving the
//! same registry.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};

use control_plane::front::rrp::grammar::Response;
use zonefiles::calendar;

use crate::fixture::{Registry, assert_same, free_port, password};

fn registry(extra: &str) -> (Registry, SocketAddr) {
    let rrp = free_port();
    let mut registry = Registry::new(&format!("\n[rrp]\nlisten = [\"{rrp}\"]\n{extra}"));
    registry.start();
    (registry, rrp)
}

/// A request from its lines (CRLF added, `.` appended).
fn request(lines: &[&str]) -> String {
    let mut text = lines.join("\r\n");
    text.push_str("\r\n.\r\n");
    text
}

fn session_of(registrar: u32) -> String {
    request(&[
        "session",
        &format!("-Id:{registrar}"),
        &format!("-Password:{}", password(registrar)),
    ])
}

/// Runs requests in one session; returns the greeting's first line and each response.
fn run(registry: &Registry, rrp: SocketAddr, requests: &[String]) -> (String, Vec<Response>) {
    let raw = registry
        .runtime()
        .block_on(control_plane::front::client::rrp_session(
            rrp,
            "localhost",
            registry.client.clone(),
            requests,
        ))
        .unwrap();
    let greeting = raw[0].lines().next().unwrap().to_string();
    let responses = raw[1..]
        .iter()
        .map(|r| Response::parse(r.as_bytes()).unwrap_or_else(|| panic!("unreadable: {r:?}")))
        .collect();
    (greeting, responses)
}

/// Runs one request in a session of `registrar`; returns its response.
pub fn one(registry: &Registry, rrp: SocketAddr, registrar: u32, lines: &[&str]) -> Response {
    let (_, mut responses) = run(registry, rrp, &[session_of(registrar), request(lines)]);
    assert_eq!(responses[0].code.number(), 200, "{:?}", responses[0]);
    responses.pop().unwrap()
}

#[track_caller]
fn code(response: &Response, expected: u16) {
    assert_eq!(response.code.number(), expected, "{response:?}");
}

#[test]
fn a_registrar_runs_every_command_over_rrp() {
    let (registry, rrp) = registry("max_failed_logins = 2\n");
    let r = |registrar, lines: &[&str], expected| {
        let response = one(&registry, rrp, registrar, lines);
        code(&response, expected);
        response
    };

    // The session: commands before it are refused, a wrong password is 530, the second 520.
    let (greeting, responses) = run(
        &registry,
        rrp,
        &[
            request(&["check", "EntityName:Domain", "DomainName:free.tld"]),
            request(&["session", "-Id:1001", "-Password:wrong"]),
            request(&["session", "-Id:1001", "-Password:wrong again"]),
        ],
    );
    assert_eq!(greeting, "Constellation RRP Server version 2.0.0");
    let codes: Vec<u16> = responses.iter().map(|r| r.code.number()).collect();
    assert_eq!(codes, [547, 530, 520]);
    let (_, responses) = run(
        &registry,
        rrp,
        &[
            session_of(1001),
            session_of(1001),
            request(&["describe", "-Target:Protocol"]),
            request(&["quit"]),
        ],
    );
    let codes: Vec<u16> = responses.iter().map(|r| r.code.number()).collect();
    assert_eq!(codes, [200, 547, 200, 220]);
    assert_eq!(responses[2].get("Protocol"), Some("RRP 2.0.0"));

    // Name servers first (host objects), then the domain over them.
    r(
        1001,
        &["check", "EntityName:Domain", "DomainName:alpha.tld"],
        210,
    );
    r(
        1001,
        &["add", "EntityName:NameServer", "NameServer:NS1.EXAMPLE.NET"],
        200,
    );
    r(
        1001,
        &["add", "EntityName:NameServer", "NameServer:ns2.example.net"],
        200,
    );
    r(
        1001,
        &[
            "check",
            "EntityName:NameServer",
            "NameServer:ns1.example.net",
        ],
        213,
    );
    r(
        1001,
        &[
            "check",
            "EntityName:NameServer",
            "NameServer:ns9.example.net",
        ],
        212,
    );
    // Outside the registry's zones a name server takes no address.
    r(
        1001,
        &[
            "add",
            "EntityName:NameServer",
            "NameServer:ns3.example.net",
            "IPAddress:192.0.2.1",
        ],
        541,
    );
    let created = r(
        1001,
        &[
            "add",
            "EntityName:Domain",
            "DomainName:ALPHA.TLD",
            "NameServer:ns1.example.net",
            "NameServer:ns2.example.net",
            "AuthInfo:Alpha-Code-1",
            "-Period:2",
        ],
        200,
    );
    let expires = calendar::add_months(ops::now(), 24);
    assert_eq!(
        &created.get("registration expiration date").unwrap()[..10],
        calendar::date(expires)
    );
    assert_eq!(created.get("status"), Some("ACTIVE"));
    r(
        1001,
        &["add", "EntityName:Domain", "DomainName:alpha.tld"],
        554,
    );
    r(
        1001,
        &["check", "EntityName:Domain", "DomainName:alpha.tld"],
        211,
    );
    r(
        1001,
        &[
            "add",
            "EntityName:Domain",
            "DomainName:nowhere.tld",
            "NameServer:ns.unknown.net",
        ],
        545,
    );
    // A name server inside the zone, with its glue.
    r(
        1001,
        &[
            "add",
            "EntityName:NameServer",
            "NameServer:ns1.alpha.tld",
            "IPAddress:192.0.2.53",
            "IPAddress:2001:db8::53",
        ],
        200,
    );
    let host = r(
        1001,
        &[
            "status",
            "EntityName:NameServer",
            "NameServer:ns1.alpha.tld",
        ],
        200,
    );
    let addresses: Vec<&str> = host
        .attributes
        .iter()
        .filter(|(n, _)| n == "ipaddress")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(addresses, ["192.0.2.53", "2001:db8::53"]);

    // mod: name servers and REGISTRAR-LOCK together, then what the lock refuses.
    r(
        1001,
        &[
            "mod",
            "EntityName:Domain",
            "DomainName:alpha.tld",
            "NameServer:ns1.alpha.tld",
            "NameServer:ns2.example.net=",
            "Status:REGISTRAR-LOCK",
        ],
        200,
    );
    let status = r(
        1001,
        &["status", "EntityName:Domain", "DomainName:alpha.tld"],
        200,
    );
    let servers: Vec<&str> = status
        .attributes
        .iter()
        .filter(|(n, _)| n == "nameserver")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(servers, ["NS1.EXAMPLE.NET", "NS1.ALPHA.TLD"]);
    assert_eq!(status.get("status"), Some("REGISTRAR-LOCK"));
    assert_eq!(status.get("registrar"), Some("1001"));
    r(
        1001,
        &["del", "EntityName:Domain", "DomainName:alpha.tld"],
        552,
    );
    r(
        1001,
        &[
            "mod",
            "EntityName:Domain",
            "DomainName:alpha.tld",
            "Status:REGISTRAR-HOLD",
        ],
        552,
    );
    r(
        1001,
        &[
            "mod",
            "EntityName:Domain",
            "DomainName:alpha.tld",
            "Status:REGISTRY-LOCK",
        ],
        531,
    );
    r(
        1001,
        &[
            "mod",
            "EntityName:Domain",
            "DomainName:alpha.tld",
            "Status:REGISTRAR-LOCK=",
        ],
        200,
    );
    // A name server in use cannot go; its addresses can change.
    r(
        1001,
        &["del", "EntityName:NameServer", "NameServer:ns1.example.net"],
        532,
    );
    r(
        1001,
        &[
            "mod",
            "EntityName:NameServer",
            "NameServer:ns1.alpha.tld",
            "IPAddress:192.0.2.54",
            "IPAddress:192.0.2.53=",
        ],
        200,
    );

    // renew: the stated year must be the expiry's, so a repeated renewal is refused.
    let year = calendar::date(expires)[..4].to_string();
    let renew = |year: &str| {
        vec![
            "renew".to_string(),
            "EntityName:Domain".into(),
            "DomainName:alpha.tld".into(),
            "-Period:1".into(),
            format!("-CurrentExpirationYear:{year}"),
        ]
    };
    let next = (year.parse::<i64>().unwrap() + 1).to_string();
    let attempt = |year: &str, expected| {
        let lines = renew(year);
        r(
            1001,
            &lines.iter().map(String::as_str).collect::<Vec<_>>(),
            expected,
        )
    };
    attempt(&next, 542);
    let renewed = attempt(&year, 200);
    assert_eq!(
        &renewed.get("registration expiration date").unwrap()[..4],
        next.as_str()
    );
    attempt(&year, 542);

    // Another registrar: no status of a domain not its own; a transfer needs the password.
    r(
        1002,
        &["status", "EntityName:Domain", "DomainName:alpha.tld"],
        531,
    );
    r(
        1002,
        &["transfer", "EntityName:Domain", "DomainName:alpha.tld"],
        504,
    );
    r(
        1002,
        &[
            "transfer",
            "EntityName:Domain",
            "DomainName:alpha.tld",
            "AuthInfo:wrong",
        ],
        531,
    );
    let moved = r(
        1002,
        &[
            "transfer",
            "EntityName:Domain",
            "DomainName:alpha.tld",
            "AuthInfo:Alpha-Code-1",
        ],
        200,
    );
    assert_eq!(moved.get("transfer status"), Some("serverApproved"));
    r(
        1002,
        &["status", "EntityName:Domain", "DomainName:alpha.tld"],
        200,
    );
    r(
        1001,
        &["del", "EntityName:Domain", "DomainName:alpha.tld"],
        531,
    );

    // The domain is published as RRP left it.
    let state = registry.state();
    assert!(
        state.iter().any(|l| l.starts_with("alpha.tld.")
            && l.contains("NS")
            && l.contains("ns1.alpha.tld")),
        "{state:#?}"
    );
    let audit = registry.audit();
    assert!(audit.contains("0 problems"), "{audit}");
    let metrics = registry.metrics();
    assert!(
        metrics.contains("control_plane_rrp_responses_total{command=\"add\",code=\"200\"} 4"),
        "{metrics}"
    );
}

#[test]
fn openssl_s_client_speaks_rrp_and_bad_requests_get_rrps_codes() {
    let (registry, rrp) = registry("max_request_bytes = 2048\n");
    let talk = |input: Vec<u8>| -> String {
        let mut child = Command::new("openssl")
            .args([
                "s_client",
                "-quiet",
                "-ign_eof",
                "-verify_return_error",
                "-connect",
            ])
            .arg(rrp.to_string())
            .arg("-CAfile")
            .arg(registry.path("keys/srrp.crt"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl is installed");
        child.stdin.as_mut().unwrap().write_all(&input).unwrap();
        let mut output = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut output)
            .unwrap();
        child.wait().unwrap();
        output
    };
    // Pipelined requests, hand-typed style (bare LF), mixed case.
    let mut input = session_of(1001).replace("\r\n", "\n").into_bytes();
    input.extend_from_slice(
        b"ADD\nEntityName:Domain\nDomainName:openssl.tld\n.\nCheck\nentityname:domain\ndomainname:openssl.tld\n.\n",
    );
    input.extend_from_slice(b"register\n.\n");
    input.extend_from_slice(b"add\nEntityName:Contact\n.\n");
    input.extend_from_slice(b"add\nEntityName:Domain\nDomainName caf\xc3\xa9.tld\n.\n");
    input.extend_from_slice(b"quit\n.\n");
    let output = talk(input);
    let codes: Vec<&str> = output
        .lines()
        .filter(|l| {
            l.len() > 4 && l.as_bytes()[3] == b' ' && l[..3].bytes().all(|b| b.is_ascii_digit())
        })
        .map(|l| &l[..3])
        .collect();
    assert_eq!(
        codes,
        ["200", "200", "211", "500", "502", "507", "220"],
        "{output}"
    );
    assert!(
        output.starts_with("Constellation RRP Server version 2.0.0"),
        "{output}"
    );

    // A request longer than the limit ends the session with 520.
    let mut input = session_of(1001).into_bytes();
    input.extend_from_slice(b"check\r\nEntityName:Domain\r\n");
    input.extend(std::iter::repeat_n(b'x', 4096));
    let output = talk(input);
    assert!(
        output.contains("\r\n520 Server closing connection"),
        "{output}"
    );
    assert!(
        registry
            .metrics()
            .contains("control_plane_rrp_dropped_total 1")
    );
}

/// The same changes over RRP, SRRP and EPP leave three registries holding the same domains,
/// ledger, history, zone and WHOIS data.
#[test]
fn rrp_srrp_and_epp_leave_the_same_registry() {
    let years = |n: i64| calendar::add_months(ops::now(), 12 * n);
    let expiry_year = calendar::date(years(1))[..4].to_string();

    // Over RRP.
    let (through_rrp, rrp) = registry("");
    let r = |registrar, lines: &[&str]| code(&one(&through_rrp, rrp, registrar, lines), 200);
    for host in ["ns1.example.net", "ns2.example.net", "ns3.example.net"] {
        r(
            1001,
            &[
                "add",
                "EntityName:NameServer",
                &format!("NameServer:{host}"),
            ],
        );
    }
    r(
        1001,
        &[
            "add",
            "EntityName:Domain",
            "DomainName:alpha.tld",
            "NameServer:ns1.example.net",
            "NameServer:ns2.example.net",
            "AuthInfo:Alpha-Code-1",
            "-Period:2",
        ],
    );
    r(
        1001,
        &[
            "add",
            "EntityName:Domain",
            "DomainName:beta.tld",
            "-Period:1",
        ],
    );
    r(
        1001,
        &[
            "mod",
            "EntityName:Domain",
            "DomainName:alpha.tld",
            "Status:REGISTRAR-HOLD",
        ],
    );
    r(
        1001,
        &[
            "mod",
            "EntityName:Domain",
            "DomainName:alpha.tld",
            "Status:REGISTRAR-HOLD=",
        ],
    );
    for status in ["Status:REGISTRAR-LOCK", "Status:REGISTRAR-LOCK="] {
        r(
            1001,
            &["mod", "EntityName:Domain", "DomainName:alpha.tld", status],
        );
    }
    r(
        1001,
        &[
            "mod",
            "EntityName:Domain",
            "DomainName:alpha.tld",
            "NameServer:ns3.example.net",
            "NameServer:ns2.example.net=",
        ],
    );
    r(
        1001,
        &[
            "renew",
            "EntityName:Domain",
            "DomainName:beta.tld",
            "-Period:1",
            &format!("-CurrentExpirationYear:{expiry_year}"),
        ],
    );
    r(
        1002,
        &[
            "transfer",
            "EntityName:Domain",
            "DomainName:alpha.tld",
            "AuthInfo:Alpha-Code-1",
        ],
    );
    r(1001, &["del", "EntityName:Domain", "DomainName:beta.tld"]);

    // Over SRRP.
    let mut through_srrp = Registry::new("");
    through_srrp.start();
    let s = |registrar, header: &str, attributes: &[(&str, &str)]| {
        let response = through_srrp.as_registrar(registrar, header, attributes);
        assert_eq!(
            response.code.number(),
            200,
            "{header} {attributes:?}: {response:?}"
        );
    };
    s(
        1001,
        "CREATE DOMAIN",
        &[
            ("domain-name", "alpha.tld"),
            ("expiry-date", &calendar::date(years(2))),
            ("ns1-name", "ns1.example.net"),
            ("ns2-name", "ns2.example.net"),
            ("domain-auth", "Alpha-Code-1"),
        ],
    );
    s(
        1001,
        "CREATE DOMAIN",
        &[
            ("domain-name", "beta.tld"),
            ("expiry-date", &calendar::date(years(1))),
        ],
    );
    s(
        1001,
        "SET STATUS",
        &[("domain-name", "alpha.tld"), ("status", "inactive")],
    );
    s(
        1001,
        "SET STATUS",
        &[("domain-name", "alpha.tld"), ("status", "active")],
    );
    s(
        1001,
        "SET LOCK",
        &[
            ("domain-name", "alpha.tld"),
            ("lock", "clientDeleteProhibited"),
            ("lock", "clientTransferProhibited"),
            ("lock", "clientUpdateProhibited"),
        ],
    );
    s(1001, "SET LOCK", &[("domain-name", "alpha.tld")]);
    let cluster = through_srrp.as_registrar(
        1001,
        "CREATE CLUSTER",
        &[
            ("ns1-name", "ns1.example.net"),
            ("ns2-name", "ns3.example.net"),
        ],
    );
    let cluster = cluster.get("cluster-id").unwrap().to_string();
    s(
        1001,
        "SET CLUSTER",
        &[("domain-name", "alpha.tld"), ("cluster-id", &cluster)],
    );
    s(
        1001,
        "SET EXPIRE",
        &[
            ("domain-name", "beta.tld"),
            ("expiry-date", &calendar::date(years(2))),
        ],
    );
    s(
        1002,
        "TRANSFER DOMAIN",
        &[
            ("domain-name", "alpha.tld"),
            ("domain-auth", "Alpha-Code-1"),
        ],
    );
    s(1001, "DELETE DOMAIN", &[("domain-name", "beta.tld")]);

    // Over EPP, in raw documents.
    let epp = free_port();
    let mut through_epp = Registry::new(&format!("\n[epp]\nlisten = [\"{epp}\"]\n"));
    through_epp.start();
    let e = |registrar: u32, inner: &[String]| {
        let documents: Vec<String> = inner.iter().map(|i| crate::epp::command(i)).collect();
        let responses = through_epp
            .runtime()
            .block_on(control_plane::front::client::epp_session(
                epp,
                "localhost",
                through_epp.client.clone(),
                &registrar.to_string(),
                password(registrar),
                &documents,
            ))
            .unwrap();
        for response in &responses[1..] {
            assert!(response.contains("code=\"1000\""), "{response}");
        }
    };
    let domain = r#"xmlns:domain="urn:ietf:params:xml:ns:domain-1.0""#;
    let ns = |hosts: &[&str]| {
        hosts
            .iter()
            .map(|h| {
                format!("<domain:hostAttr><domain:hostName>{h}</domain:hostName></domain:hostAttr>")
            })
            .collect::<String>()
    };
    let status = |op: &str, statuses: &[&str]| {
        let statuses: String = statuses
            .iter()
            .map(|s| format!(r#"<domain:status s="{s}"/>"#))
            .collect();
        format!(
            r#"<update><domain:update {domain}><domain:name>alpha.tld</domain:name><domain:{op}>{statuses}</domain:{op}></domain:update></update>"#
        )
    };
    let lock = [
        "clientDeleteProhibited",
        "clientTransferProhibited",
        "clientUpdateProhibited",
    ];
    e(
        1001,
        &[
            format!(
                r#"<create><domain:create {domain}><domain:name>alpha.tld</domain:name><domain:period unit="y">2</domain:period><domain:ns>{}</domain:ns><domain:authInfo><domain:pw>Alpha-Code-1</domain:pw></domain:authInfo></domain:create></create>"#,
                ns(&["ns1.example.net", "ns2.example.net"])
            ),
            format!(
                r#"<create><domain:create {domain}><domain:name>beta.tld</domain:name><domain:period unit="y">1</domain:period><domain:authInfo><domain:pw></domain:pw></domain:authInfo></domain:create></create>"#
            ),
            status("add", &["clientHold"]),
            status("rem", &["clientHold"]),
            status("add", &lock),
            status("rem", &lock),
            format!(
                r#"<update><domain:update {domain}><domain:name>alpha.tld</domain:name><domain:add><domain:ns>{}</domain:ns></domain:add><domain:rem><domain:ns>{}</domain:ns></domain:rem></domain:update></update>"#,
                ns(&["ns3.example.net"]),
                ns(&["ns2.example.net"])
            ),
            format!(
                r#"<renew><domain:renew {domain}><domain:name>beta.tld</domain:name><domain:curExpDate>{}</domain:curExpDate><domain:period unit="y">1</domain:period></domain:renew></renew>"#,
                calendar::date(years(1))
            ),
        ],
    );
    e(
        1002,
        &[format!(
            r#"<transfer op="request"><domain:transfer {domain}><domain:name>alpha.tld</domain:name><domain:authInfo><domain:pw>Alpha-Code-1</domain:pw></domain:authInfo></domain:transfer></transfer>"#
        )],
    );
    e(
        1001,
        &[format!(
            r#"<delete><domain:delete {domain}><domain:name>beta.tld</domain:name></domain:delete></delete>"#
        )],
    );

    assert_same(&[
        ("RRP", &through_rrp),
        ("SRRP", &through_srrp),
        ("EPP", &through_epp),
    ]);
    let state = through_rrp.state();
    assert!(
        state
            .iter()
            .any(|l| l.contains("alpha.tld") && l.contains("transfer"))
    );
    for registry in [&through_rrp, &through_srrp, &through_epp] {
        let audit = registry.audit();
        assert!(audit.contains("0 problems"), "{audit}");
    }
}
