//! Every SRRP command and every response code, over TLS against the real server.
//!
//! One file on purpose: the scenarios read as the protocol's conformance list.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use control_plane::front::srrp::grammar::Code;

use crate::fixture::{Registry, expect, password};

const DS: &str = "12345 13 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE1E2B4A7B3E3F5A2D9C4B6E81";

#[test]
fn every_command_and_response_code() {
    let mut registry = Registry::new("");
    registry.cli(&["block", "add", "badword"]);
    registry.cli(&["block", "add", "john.doe"]);
    registry.start();
    let r = &registry;

    // 413, 407, 412 before anything else.
    expect(
        &r.as_registrar(1001, "STATUS SERVER SRRP/2.0", &[]),
        Code::UnsupportedVersion,
    );
    expect(
        &r.send("STATUS SERVER", &[("registrar-id", "1001")]),
        Code::MissingAttribute,
    );
    expect(
        &r.send(
            "STATUS SERVER",
            &[("registrar-id", "1001"), ("registrar-auth", "wrong")],
        ),
        Code::AuthorizationFailed,
    );
    expect(
        &r.send(
            "STATUS SERVER",
            &[("registrar-id", "4242"), ("registrar-auth", "x")],
        ),
        Code::AuthorizationFailed,
    );

    // STATUS DEFAULTS and SERVER.
    let defaults = r.as_registrar(1001, "STATUS DEFAULTS", &[]);
    expect(&defaults, Code::Success);
    for attribute in [
        "default-status",
        "default-period",
        "maximum-period",
        "transfer-default",
        "transfer-timeout",
        "minimum-ns",
        "maximum-ns",
    ] {
        assert!(
            defaults.get(attribute).is_some(),
            "{attribute} missing: {defaults:?}"
        );
    }
    assert_eq!(defaults.get("minimum-ns"), Some("2"));
    let server = r.as_registrar(1001, "STATUS SERVER", &[]);
    expect(&server, Code::Success);
    assert!(server.get("text").unwrap().contains("Constellation"));

    // CREATE CLUSTER, 406 and 404 on its entries; the same entries give the same cluster.
    let ns = [
        ("ns1-name", "ns1.example.com"),
        ("ns1-address", "192.0.2.10"),
        ("ns2-name", "ns2.example.com"),
    ];
    let created = r.as_registrar(1001, "CREATE CLUSTER", &ns);
    expect(&created, Code::Success);
    let cluster = created.get("cluster-id").unwrap().to_string();
    let again = r.as_registrar(1001, "CREATE CLUSTER", &ns);
    assert_eq!(
        again.get("cluster-id"),
        Some(cluster.as_str()),
        "idempotent"
    );
    expect(
        &r.as_registrar(1001, "CREATE CLUSTER", &[("ns1-name", "ns1.example.com")]),
        Code::NameserverCount,
    );
    expect(
        &r.as_registrar(
            1001,
            "CREATE CLUSTER",
            &[
                ("ns1-name", "a.example.com"),
                ("ns1-address", "300.1.1.1"),
                ("ns2-name", "b.example.com"),
            ],
        ),
        Code::InvalidValue,
    );
    let query = r.as_registrar(1001, "QUERY CLUSTER", &[("cluster-id", &cluster)]);
    expect(&query, Code::Success);
    assert_eq!(query.get("ns1-name"), Some("ns1.example.com"));
    assert_eq!(query.get("ns1-address"), Some("192.0.2.10"));
    assert_eq!(query.get("ns2-name"), Some("ns2.example.com"));

    // CREATE DOMAIN with a cluster, with entries, without name servers.
    let made = r.as_registrar(
        1001,
        "CREATE DOMAIN",
        &[
            ("domain-name", "john.smith.name"),
            ("cluster-id", &cluster),
            ("domain-auth", "dom pw"),
            ("ds", DS),
        ],
    );
    expect(&made, Code::Success);
    assert_eq!(made.get("cluster-id"), Some(cluster.as_str()));
    assert_eq!(made.get("status"), Some("active"));
    let with_entries = r.as_registrar(
        1001,
        "CREATE DOMAIN",
        &[
            ("domain-name", "example.tld"),
            ("ns1-name", "ns1.example.tld"),
            ("ns1-address", "192.0.2.20, 2001:db8::20"),
            ("ns2-name", "ns.example.net"),
        ],
    );
    expect(&with_entries, Code::Success);
    let own_cluster = with_entries.get("cluster-id").unwrap().to_string();
    let bare = r.as_registrar(
        1001,
        "CREATE DOMAIN",
        &[("domain-name", "bare.tld"), ("status", "inactive")],
    );
    expect(&bare, Code::Success);
    assert_eq!(bare.get("status"), Some("inactive"));
    assert_eq!(bare.get("cluster-id"), None);

    // 400, 402, 403, 404, 405, 406, 407, 409.
    expect(
        &r.as_registrar(1001, "CREATE DOMAIN", &[("domain-name", "john.smith.name")]),
        Code::DomainRegistered,
    );
    expect(
        &r.as_registrar(1002, "CREATE DOMAIN", &[("domain-name", "john.smith.name")]),
        Code::DomainRegistered,
    );
    expect(
        &r.as_registrar(
            1001,
            "CREATE DOMAIN",
            &[("domain-name", "x.tld"), ("cluster-id", "999999")],
        ),
        Code::ClusterNotRegistered,
    );
    expect(
        &r.as_registrar(
            1001,
            "CREATE DOMAIN",
            &[("domain-name", "x.tld"), ("colour", "red")],
        ),
        Code::InvalidAttribute,
    );
    expect(
        &r.as_registrar(
            1001,
            "CREATE DOMAIN",
            &[("domain-name", "x.tld"), ("status", "on")],
        ),
        Code::InvalidValue,
    );
    expect(
        &r.as_registrar(1001, "CREATE DOMAIN", &[("domain-name", "x.y.tld")]),
        Code::InvalidValue,
    );
    expect(
        &r.as_registrar(1001, "CREATE DOMAIN", &[("domain-name", "x.example")]),
        Code::InvalidValue,
    );
    expect(
        &r.as_registrar(
            1001,
            "CREATE DOMAIN",
            &[("domain-name", "x.tld"), ("expiry-date", "2001-01-01")],
        ),
        Code::InvalidExpiry,
    );
    expect(
        &r.as_registrar(
            1001,
            "CREATE DOMAIN",
            &[("domain-name", "x.tld"), ("expiry-date", "2099-01-01")],
        ),
        Code::InvalidExpiry,
    );
    expect(
        &r.as_registrar(
            1001,
            "CREATE DOMAIN",
            &[("domain-name", "x.tld"), ("ns1-name", "ns1.example.com")],
        ),
        Code::NameserverCount,
    );
    expect(
        &r.as_registrar(1001, "CREATE DOMAIN", &[("status", "active")]),
        Code::MissingAttribute,
    );
    expect(
        &r.as_registrar(
            1001,
            "CREATE DOMAIN",
            &[
                ("domain-name", "x.tld"),
                ("ns1-name", "ns1.x.tld"),
                ("ns2-name", "ns2.example.com"),
            ],
        ),
        Code::MissingAttribute,
    );
    expect(
        &r.as_registrar(1001, "CREATE DOMAIN", &[("domain-name", "badword.tld")]),
        Code::BlockedDomain,
    );
    expect(
        &r.as_registrar(1001, "CREATE DOMAIN", &[("domain-name", "a.badword.name")]),
        Code::BlockedDomain,
    );
    expect(
        &r.as_registrar(1001, "CREATE DOMAIN", &[("domain-name", "john.doe.name")]),
        Code::BlockedDomain,
    );
    expect(
        &r.as_registrar(1001, "CREATE DOMAIN", &[("domain-name", "jane.doe.name")]),
        Code::Success,
    );

    // 410: registrar 1003 has no credit.
    expect(
        &r.as_registrar(1003, "CREATE DOMAIN", &[("domain-name", "poor.tld")]),
        Code::CreditFailure,
    );

    // QUERY DOMAIN: everything, get-specific, 301, 403, 401, 411.
    let full = r.as_registrar(1001, "QUERY DOMAIN", &[("domain-name", "john.smith.name")]);
    expect(&full, Code::Success);
    for attribute in [
        "domain-name",
        "registrar-id",
        "expiry-date",
        "created-date",
        "cluster-id",
        "status",
    ] {
        assert!(
            full.get(attribute).is_some(),
            "{attribute} missing: {full:?}"
        );
    }
    assert_eq!(full.get("text"), Some("Change: CREATE DOMAIN"));
    let specific = r.as_registrar(
        1001,
        "QUERY DOMAIN",
        &[
            ("domain-name", "john.smith.name"),
            ("get-specific", "expiry-date"),
        ],
    );
    expect(&specific, Code::Success);
    assert_eq!(specific.attributes.len(), 1);
    assert_eq!(specific.attributes[0].0, "expiry-date");
    expect(
        &r.as_registrar(
            1001,
            "QUERY DOMAIN",
            &[("domain-name", "bare.tld"), ("get-specific", "cluster-id")],
        ),
        Code::AttributeUnavailable,
    );
    expect(
        &r.as_registrar(
            1001,
            "QUERY DOMAIN",
            &[("domain-name", "bare.tld"), ("get-specific", "colour")],
        ),
        Code::InvalidAttribute,
    );
    expect(
        &r.as_registrar(1001, "QUERY DOMAIN", &[("domain-name", "free.tld")]),
        Code::DomainNotRegistered,
    );
    expect(
        &r.as_registrar(1002, "QUERY DOMAIN", &[("domain-name", "john.smith.name")]),
        Code::AccessDenied,
    );
    expect(
        &r.as_registrar(1002, "QUERY CLUSTER", &[("cluster-id", &cluster)]),
        Code::AccessDenied,
    );
    expect(
        &r.as_registrar(
            1002,
            "SET STATUS",
            &[("domain-name", "john.smith.name"), ("status", "inactive")],
        ),
        Code::AccessDenied,
    );

    // SET commands; repeating one changes nothing further.
    expect(
        &r.as_registrar(
            1001,
            "SET STATUS",
            &[("domain-name", "john.smith.name"), ("status", "inactive")],
        ),
        Code::Success,
    );
    expect(
        &r.as_registrar(
            1001,
            "SET STATUS",
            &[("domain-name", "john.smith.name"), ("status", "inactive")],
        ),
        Code::Success,
    );
    expect(
        &r.as_registrar(
            1001,
            "SET STATUS",
            &[("domain-name", "nothere.tld"), ("status", "inactive")],
        ),
        Code::DomainNotRegistered,
    );
    expect(
        &r.as_registrar(
            1001,
            "SET EXPIRE",
            &[
                ("domain-name", "john.smith.name"),
                ("expiry-date", "2030-06-04"),
            ],
        ),
        Code::Success,
    );
    let expiry = r.as_registrar(
        1001,
        "QUERY DOMAIN",
        &[
            ("domain-name", "john.smith.name"),
            ("get-specific", "expiry-date"),
        ],
    );
    assert_eq!(expiry.get("expiry-date"), Some("2030-06-04"));
    expect(
        &r.as_registrar(
            1001,
            "SET CLUSTER",
            &[("domain-name", "bare.tld"), ("cluster-id", &own_cluster)],
        ),
        Code::Success,
    );
    expect(
        &r.as_registrar(
            1001,
            "SET CLUSTER",
            &[("domain-name", "bare.tld"), ("cluster-id", "424242")],
        ),
        Code::ClusterNotRegistered,
    );
    expect(
        &r.as_registrar(
            1001,
            "SET NAMESERVERS",
            &[
                ("cluster-id", &own_cluster),
                ("ns1-name", "ns1.example.tld"),
                ("ns1-address", "192.0.2.21"),
                ("ns2-name", "ns.example.net"),
            ],
        ),
        Code::Success,
    );
    expect(
        &r.as_registrar(
            1001,
            "SET NAMESERVERS",
            &[("cluster-id", &own_cluster), ("ns1-name", "ns.example.net")],
        ),
        Code::NameserverCount,
    );
    expect(
        &r.as_registrar(
            1001,
            "SET PASSWORD",
            &[
                ("domain-name", "example.tld"),
                ("domain-auth", "transfer me"),
            ],
        ),
        Code::Success,
    );
    expect(
        &r.as_registrar(
            1001,
            "SET DS",
            &[("domain-name", "example.tld"), ("ds", DS)],
        ),
        Code::Success,
    );
    expect(
        &r.as_registrar(
            1001,
            "SET DS",
            &[("domain-name", "example.tld"), ("ds", "1 8 2 00")],
        ),
        Code::InvalidValue,
    );

    // DELETE CLUSTER: 408 while an active domain uses it, 402 when unknown.
    expect(
        &r.as_registrar(1001, "DELETE CLUSTER", &[("cluster-id", &own_cluster)]),
        Code::RemovalNotPermitted,
    );
    expect(
        &r.as_registrar(1001, "DELETE CLUSTER", &[("cluster-id", "777777")]),
        Code::ClusterNotRegistered,
    );

    // TRANSFER: 412 on a wrong password, 401 when unregistered, 200 charging the gaining
    // registrar and adding a year; the old password then no longer works.
    let balance = |id: u32| -> i64 {
        r.database()
            .query_row(
                "SELECT balance FROM registrars WHERE id = ?1",
                [id],
                |row| row.get(0),
            )
            .unwrap()
    };
    let before = balance(1002);
    let expiry_before = r.as_registrar(
        1001,
        "QUERY DOMAIN",
        &[
            ("domain-name", "example.tld"),
            ("get-specific", "expiry-date"),
        ],
    );
    expect(
        &r.as_registrar(
            1002,
            "TRANSFER DOMAIN",
            &[("domain-name", "example.tld"), ("domain-auth", "wrong")],
        ),
        Code::AuthorizationFailed,
    );
    expect(
        &r.as_registrar(
            1002,
            "TRANSFER DOMAIN",
            &[("domain-name", "gone.tld"), ("domain-auth", "x")],
        ),
        Code::DomainNotRegistered,
    );
    expect(
        &r.as_registrar(
            1002,
            "TRANSFER REQUEST",
            &[
                ("domain-name", "example.tld"),
                ("domain-auth", "transfer me"),
            ],
        ),
        Code::Success,
    );
    expect(
        &r.as_registrar(
            1002,
            "TRANSFER DOMAIN",
            &[
                ("domain-name", "example.tld"),
                ("domain-auth", "transfer me"),
            ],
        ),
        Code::Success,
    );
    assert_eq!(balance(1002), before - 600, "one year charged once");
    let after = r.as_registrar(1002, "QUERY DOMAIN", &[("domain-name", "example.tld")]);
    let year = |response: &control_plane::front::srrp::grammar::Response| -> i32 {
        response.get("expiry-date").unwrap()[..4].parse().unwrap()
    };
    assert_eq!(year(&after), year(&expiry_before) + 1);
    assert_eq!(after.get("registrar-id"), Some("1002"));
    assert_eq!(
        after.get("text"),
        Some("Change: TRANSFER DOMAIN (from registrar 1001)")
    );
    expect(
        &r.as_registrar(
            1001,
            "TRANSFER DOMAIN",
            &[
                ("domain-name", "example.tld"),
                ("domain-auth", "transfer me"),
            ],
        ),
        Code::AuthorizationFailed,
    );

    // DELETE DOMAIN, then 401.
    expect(
        &r.as_registrar(1001, "DELETE DOMAIN", &[("domain-name", "jane.doe.name")]),
        Code::Success,
    );
    expect(
        &r.as_registrar(1001, "DELETE DOMAIN", &[("domain-name", "jane.doe.name")]),
        Code::DomainNotRegistered,
    );

    // An unknown command is 403.
    expect(
        &r.as_registrar(1001, "RENAME DOMAIN", &[]),
        Code::InvalidAttribute,
    );

    // A suspended registrar is refused; resumed, it works again.
    r.cli(&["registrar", "suspend", "1001"]);
    expect(
        &r.as_registrar(1001, "STATUS SERVER", &[]),
        Code::AuthorizationFailed,
    );
    r.cli(&["registrar", "resume", "1001"]);
    expect(&r.as_registrar(1001, "STATUS SERVER", &[]), Code::Success);
    // A changed password takes effect at once, although the old one was cached.
    r.cli(&["registrar", "password", "1001", "--password", "new-pass"]);
    expect(
        &r.as_registrar(1001, "STATUS SERVER", &[]),
        Code::AuthorizationFailed,
    );
    expect(
        &r.send(
            "STATUS SERVER",
            &[("registrar-id", "1001"), ("registrar-auth", "new-pass")],
        ),
        Code::Success,
    );

    // The journal replays to exactly the database, and balances add up.
    let audit = r.audit();
    assert!(audit.contains(", 0 problems"), "{audit}");
    let history = r.cli(&["history", "example.tld"]);
    assert!(
        history.contains("TRANSFER DOMAIN (from registrar 1001)"),
        "{history}"
    );
    let billing = r.cli(&[
        "report",
        "billing",
        "--month",
        &zonefiles::calendar::date(now())[..7],
    ]);
    assert!(billing.contains("1002,91002,Registrar 1002,"), "{billing}");
    assert!(
        billing.contains(",transfer,example.tld,-6.00,"),
        "{billing}"
    );
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn a_full_queue_answers_300() {
    let mut registry = Registry::new("queue_per_registrar = 1\nmax_batch = 1");
    registry.start();
    expect(
        &registry.as_registrar(1001, "STATUS SERVER", &[]),
        Code::Success,
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let codes: Vec<Code> = runtime.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..64 {
            let (address, client) = (registry.address, registry.client.clone());
            tasks.push(tokio::spawn(async move {
                let name = format!("q{i}.tld");
                crate::fixture::send(
                    address,
                    client,
                    "CREATE DOMAIN",
                    &[
                        ("registrar-id", "1001"),
                        ("registrar-auth", password(1001)),
                        ("domain-name", &name),
                    ],
                )
                .await
            }));
        }
        let mut codes = Vec::new();
        for task in tasks {
            codes.push(task.await.unwrap().unwrap().code);
        }
        codes
    });
    assert!(codes.contains(&Code::InternalError), "{codes:?}");
    assert!(codes.contains(&Code::Success), "{codes:?}");
    assert!(
        codes
            .iter()
            .all(|c| matches!(c, Code::Success | Code::InternalError))
    );
    // Every confirmed create is there, and nothing else.
    let confirmed = codes.iter().filter(|c| **c == Code::Success).count();
    let count: usize = registry
        .database()
        .query_row("SELECT COUNT(*) FROM domains", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, confirmed);
}

/// `openssl s_client` speaks the framing: the request ends with %x00, the response too, and
/// the server closes the connection after it.
#[test]
fn openssl_s_client_framing() {
    let mut registry = Registry::new("");
    registry.start();
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-ign_eof",
            "-verify_return_error",
            "-connect",
        ])
        .arg(registry.address.to_string())
        .arg("-CAfile")
        .arg(registry.path("keys/srrp.crt"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl is installed");
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"CREATE DOMAIN SRRP/1.0\r\nregistrar-id=1001\r\nregistrar-auth=pass-one\r\ndomain-name=openssl.tld\r\n\0")
        .unwrap();
    let mut output = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut output)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let text = String::from_utf8_lossy(&output);
    assert!(
        text.starts_with("200 Command completed successfully\r\n"),
        "{text:?}"
    );
    assert!(text.contains("\r\nexpiry-date="), "{text:?}");
    assert!(output.ends_with(b"\r\n\0"), "{text:?}");
}

/// A malformed request gets no response: the connection is closed (the plan's rule), fast,
/// and an endless one is cut at the size limit.
#[test]
fn malformed_requests_are_dropped() {
    let mut registry = Registry::new("max_message_bytes = 4096\ntimeout_ms = 2000");
    registry.start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let connect = || async {
            let stream = tokio::net::TcpStream::connect(registry.address)
                .await
                .unwrap();
            tokio_rustls::TlsConnector::from(registry.client.clone())
                .connect(
                    rustls::pki_types::ServerName::try_from("localhost").unwrap(),
                    stream,
                )
                .await
                .unwrap()
        };
        for bad in [
            &b"HELLO\r\n\0"[..],
            b"CREATE DOMAIN HTTP/1.1\r\n\0",
            b"CREATE DOMAIN SRRP/1.0\r\nno value here\r\n\0",
            b"CREATE DOMAIN SRRP/1.0\r\nx=\x01\r\n\0",
        ] {
            let mut tls = connect().await;
            tls.write_all(bad).await.unwrap();
            let mut out = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut out))
                .await
                .expect("closed promptly");
            assert!(out.is_empty(), "{bad:?} got {out:?}");
        }
        // Endless input: cut at the limit; the connection is closed without an answer, long
        // before the sender would stop (what it wrote may sit in socket buffers).
        let mut tls = connect().await;
        let chunk = vec![b'a'; 1024];
        let started = std::time::Instant::now();
        let _ = tokio::time::timeout(Duration::from_secs(3), async {
            for _ in 0..1024 {
                if tls.write_all(&chunk).await.is_err() {
                    break;
                }
            }
        })
        .await;
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut out))
            .await
            .expect("closed");
        assert!(out.is_empty(), "an endless request got {out:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        // Silence: cut after the timeout.
        let mut tls = connect().await;
        let started = std::time::Instant::now();
        let mut out = Vec::new();
        let _ = tls.read_to_end(&mut out).await;
        assert!(started.elapsed() < Duration::from_secs(5));
    });
    // The server is still well.
    expect(
        &registry.as_registrar(1001, "STATUS SERVER", &[]),
        Code::Success,
    );
}

/// A registrar with a pinned client certificate is refused without it, and with another one;
/// with it, served (and its password still checked).
#[test]
fn pinned_client_certificate() {
    let mut registry = Registry::new("");
    let write = |name: &str, names: &[&str]| {
        let generated = rcgen::generate_simple_self_signed(
            names.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        )
        .unwrap();
        std::fs::write(registry.path(&format!("{name}.crt")), generated.cert.pem()).unwrap();
        std::fs::write(
            registry.path(&format!("{name}.key")),
            generated.signing_key.serialize_pem(),
        )
        .unwrap();
    };
    write("client", &["registrar-1003.example"]);
    write("other", &["someone-else.example"]);
    registry.cli(&["registrar", "pin", "1003", "--certificate", "client.crt"]);
    registry.start();
    let ca = registry.path("keys/srrp.crt");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let send = |config, password: &str| {
        runtime
            .block_on(crate::fixture::send(
                registry.address,
                config,
                "STATUS SERVER",
                &[("registrar-id", "1003"), ("registrar-auth", password)],
            ))
            .unwrap()
    };
    let with = |name: &str| {
        control_plane::front::tls::client_config_with_identity(
            &ca,
            &registry.path(&format!("{name}.crt")),
            &registry.path(&format!("{name}.key")),
        )
        .unwrap()
    };
    expect(
        &send(registry.client.clone(), password(1003)),
        Code::AuthorizationFailed,
    );
    expect(
        &send(with("other"), password(1003)),
        Code::AuthorizationFailed,
    );
    expect(&send(with("client"), "wrong"), Code::AuthorizationFailed);
    expect(&send(with("client"), password(1003)), Code::Success);
    // Resumed sessions still carry the certificate.
    let config = with("client");
    for _ in 0..3 {
        expect(&send(config.clone(), password(1003)), Code::Success);
    }
    // Others are unaffected; the pin can be cleared.
    expect(
        &registry.as_registrar(1001, "STATUS SERVER", &[]),
        Code::Success,
    );
    registry.cli(&["registrar", "pin", "1003", "--clear"]);
    expect(
        &send(registry.client.clone(), password(1003)),
        Code::Success,
    );
}
