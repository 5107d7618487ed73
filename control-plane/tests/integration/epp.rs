//! EPP over real TLS, driven by instant-epp (a Rust EPP client nobody here wrote) and by raw
//! frames for what a client library would never send.
//!
//! One file on purpose: the EPP scenarios share their fixtures and read as the protocol's
//! conformance list.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use instant_epp::EppClient;
use instant_epp::client::RustlsConnector;
use instant_epp::domain::update::{DomainAdd, DomainChangeInfo, DomainRemove};
use instant_epp::domain::{
    DomainAuthInfo, DomainCheck, DomainCreate, DomainDelete, DomainInfo, DomainRenew,
    DomainTransfer, DomainUpdate, HostAttr, HostInfo, HostObj, NameServers, Period, PeriodLength,
    Status,
};
use instant_epp::extensions::secdns::{self, Algorithm, DigestAlgorithm, DsDataType};
use instant_epp::host::update::{HostAdd, HostChangeInfo, HostRemove};
use instant_epp::host::{
    HostCheck, HostCreate, HostDelete, HostInfo as HostQuery, HostUpdate, Status as HostStatus,
};
use instant_epp::login::Login;
use instant_epp::logout::Logout;
use instant_epp::poll::{Ack, Poll, PollData};
use instant_epp::response::ResultCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fixture::{Registry, free_port, password};

const DIGEST: &str = "49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE1E2B4A7B3E3F5A2D9C4B6E81";

fn registry() -> (Registry, SocketAddr) {
    let epp = free_port();
    let mut registry = Registry::new(&format!(
        "\n[epp]\nlisten = [\"{epp}\"]\nidle_timeout_s = 3\nmax_sessions_per_registrar = 2\n"
    ));
    registry.start();
    (registry, epp)
}

pub async fn client(epp: SocketAddr, tls: Arc<rustls::ClientConfig>) -> EppClient<RustlsConnector> {
    let connector = RustlsConnector::builder(("localhost".to_string(), epp.port()))
        .unwrap()
        .build_with_config(tls);
    // instant-epp resolves the host name; "localhost" is 127.0.0.1 here.
    EppClient::new(connector, "test".into(), Duration::from_secs(10))
        .await
        .unwrap()
}

/// Logs in, naming secDNS or not (a client that does not is sent no DS data).
pub async fn login(client: &mut EppClient<RustlsConnector>, registrar: u32, dnssec: bool) {
    let id = registrar.to_string();
    let extensions: &[&str] = if dnssec { &[secdns::XMLNS] } else { &[] };
    let login = Login::new(&id, password(registrar), None, Some(extensions));
    client.transact(&login, "login-1").await.unwrap();
}

pub fn code<T: std::fmt::Debug>(result: Result<T, instant_epp::Error>) -> u16 {
    match result {
        Ok(_) => 1000,
        Err(instant_epp::Error::Command(status)) => status.result.code as u16,
        Err(other) => panic!("not an EPP answer: {other}"),
    }
}

/// The code of a raw response.
fn raw_code(xml: &str) -> u16 {
    let at = xml.find("code=\"").expect("a result code") + 6;
    xml[at..at + 4].parse().unwrap()
}

#[test]
fn a_registrar_runs_every_domain_command_over_epp() {
    let (registry, epp) = registry();
    let tls = registry.client.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut one = client(epp, tls.clone()).await;
        let greeting = one.greeting().unwrap();
        assert_eq!(greeting.service_id, "Constellation EPP");
        assert!(one.xml_greeting().contains("urn:ietf:params:xml:ns:secDNS-1.1"));

        // Before login, and with a wrong password.
        assert_eq!(code(one.transact(&DomainCheck { domains: &["a.tld"] }, "t-0001").await), 2002);
        let wrong = Login::new("1001", "not-the-password", None, None);
        assert_eq!(code(one.transact(&wrong, "t-0002").await), 2200);
        login(&mut one, 1001, false).await;

        // Create with host attributes (glue for the in-zone host), DS data and a period.
        let hosts = [
            HostInfo::Attr(HostAttr {
                name: "ns1.first.tld".into(),
                addresses: Some(vec!["192.0.2.53".parse().unwrap(), "2001:db8::53".parse().unwrap()]),
            }),
            HostInfo::Attr(HostAttr {
                name: "ns.example.net".into(),
                addresses: None,
            }),
        ];
        let create = DomainCreate::new(
            "first.tld",
            Period::Years(PeriodLength::new(2).unwrap()),
            Some(&hosts),
            None,
            "2BARfoo$x-first",
            None,
        );
        let ds = [DsDataType::new(12345, Algorithm::RsaSha256, DigestAlgorithm::Sha256, DIGEST, None)];
        let with_ds = secdns::CreateData::from(&ds[..]);
        let created = one.transact((&create, &with_ds), "t-0003").await.unwrap();
        let data = created.res_data().unwrap();
        assert_eq!(data.name, "first.tld");
        let expires = data.expiring_at.unwrap();
        assert_eq!(
            (expires - data.created_at).num_days() / 365,
            2,
            "a two-year registration"
        );
        assert_eq!(code(one.transact(&create, "t-0004").await), 2302, "registered already");

        // Host objects: outside the registry's zones without addresses, inside with them.
        for name in ["ns1.example.com", "ns2.example.com", "ns.example.org"] {
            one.transact(&HostCreate::new(name, None), "t-h001").await.unwrap();
        }
        let glue: [IpAddr; 1] = ["192.0.2.99".parse().unwrap()];
        assert_eq!(
            code(one.transact(&HostCreate::new("ns.example.org", None), "t-h002").await),
            2302
        );
        assert_eq!(
            code(one.transact(&HostCreate::new("ns9.first.tld", None), "t-h003").await),
            2003,
            "a host inside the zone needs an address"
        );
        assert_eq!(
            code(one.transact(&HostCreate::new("ns1.example.com", Some(&glue)), "t-h004").await),
            2302
        );
        assert_eq!(
            code(one.transact(&HostCreate::new("ns.nowhere.tld", Some(&glue)), "t-h005").await),
            2303,
            "its domain must be registered"
        );
        one.transact(&HostCreate::new("ns9.first.tld", Some(&glue)), "t-h006")
            .await
            .unwrap();
        let checked = one
            .transact(&HostCheck { hosts: &["ns9.first.tld", "ns8.first.tld"] }, "t-h007")
            .await
            .unwrap();
        let list = &checked.res_data().unwrap().list;
        assert!(!list[0].name.available && list[1].name.available);
        let objects = [
            HostInfo::Obj(HostObj { name: "ns1.example.com".into() }),
            HostInfo::Obj(HostObj { name: "ns2.example.com".into() }),
        ];
        let second = DomainCreate::new(
            "second.tld",
            Period::Years(PeriodLength::new(1).unwrap()),
            Some(&objects),
            None,
            "",
            None,
        );
        one.transact(&second, "t-0005").await.unwrap();
        let inside = [HostInfo::Obj(HostObj { name: "ns.first.tld".into() }), objects[0].clone()];
        let subordinate = [HostInfo::Obj(HostObj { name: "ns9.first.tld".into() }), objects[1].clone()];
        let fourth = DomainCreate::new(
            "fourth.tld",
            Period::Years(PeriodLength::new(1).unwrap()),
            Some(&subordinate),
            None,
            "x",
            None,
        );
        one.transact(&fourth, "t-h008").await.unwrap();
        let info = one.transact(&HostQuery::new("ns9.first.tld"), "t-h009").await.unwrap();
        let host = info.res_data().unwrap();
        assert_eq!(host.addresses, glue);
        assert!(host.statuses.contains(&HostStatus::Linked), "{:?}", host.statuses);
        assert_eq!(
            code(one.transact(&HostDelete::new("ns9.first.tld"), "t-h010").await),
            2305,
            "a linked host stays"
        );
        // A host's new address reaches the domains that name it.
        let mut moved = HostUpdate::new("ns9.first.tld");
        let new_glue: [IpAddr; 1] = ["198.51.100.9".parse().unwrap()];
        moved.add(HostAdd { addresses: Some(&new_glue), statuses: None });
        moved.remove(HostRemove { addresses: Some(&glue), statuses: None });
        one.transact(&moved, "t-h011").await.unwrap();
        let host = one.transact(&HostQuery::new("ns9.first.tld"), "t-h012").await.unwrap();
        assert_eq!(host.res_data().unwrap().addresses, new_glue);
        // Renamed: the domain naming it follows; and back again.
        for (from, to) in [("ns9.first.tld", "ns8.first.tld"), ("ns8.first.tld", "ns9.first.tld")] {
            let mut renamed = HostUpdate::new(from);
            renamed.info(HostChangeInfo { name: to });
            one.transact(&renamed, "t-h017").await.unwrap();
            let info = one.transact(&DomainInfo::new("fourth.tld", None), "t-h018").await.unwrap();
            let servers = info.res_data().unwrap().ns.as_ref().unwrap();
            let names: Vec<String> = servers
                .ns
                .iter()
                .map(|h| match h {
                    HostInfo::Obj(o) => o.name.to_string(),
                    HostInfo::Attr(a) => a.name.to_string(),
                })
                .collect();
            assert!(names.contains(&to.to_string()), "{names:?}");
            assert_eq!(code(one.transact(&HostQuery::new(from), "t-h019").await), 2303);
        }
        let mut taken = HostUpdate::new("ns9.first.tld");
        taken.info(HostChangeInfo { name: "ns1.example.com" });
        assert_eq!(code(one.transact(&taken, "t-h020").await), 2302, "an existing host's name");
        let glueless = DomainCreate::new(
            "third.tld",
            Period::Years(PeriodLength::new(1).unwrap()),
            Some(&inside),
            None,
            "x",
            None,
        );
        assert_eq!(code(one.transact(&glueless, "t-0006").await), 2303, "no such host object");

        // Check: registered, free, outside the registry, not a name.
        let checked = one
            .transact(&DomainCheck { domains: &["first.tld", "free.tld", "x.example"] }, "t-0007")
            .await
            .unwrap();
        let list = &checked.res_data().unwrap().list;
        assert!(!list[0].name.available);
        assert_eq!(list[0].reason.as_ref().unwrap().value, "In use");
        assert!(list[1].name.available);
        assert!(!list[2].name.available);
        assert_eq!(code(one.transact(&DomainCheck { domains: &["-bad-.tld"] }, "t-0008").await), 2005);

        // Info: status, host attributes with glue, DS in secDNS:infData.
        let info = one.transact(&DomainInfo::new("first.tld", None), "t-0009").await.unwrap();
        let data = info.res_data().unwrap();
        assert_eq!(data.client_id, "1001");
        assert!(data.roid.starts_with('D') && data.roid.ends_with("-TLD"), "{}", data.roid);
        assert_eq!(data.statuses.as_deref(), Some(&[Status::Ok][..]));
        let ns = data.ns.as_ref().unwrap();
        assert_eq!(ns.ns.len(), 2);
        let info_xml = command("<info><domain:info xmlns:domain=\"urn:ietf:params:xml:ns:domain-1.0\"><domain:name>first.tld</domain:name></domain:info></info>");
        assert!(!one.transact_xml(&info_xml).await.unwrap().contains("secDNS"));
        let mut dnssec = client(epp, tls.clone()).await;
        login(&mut dnssec, 1001, true).await;
        let raw = dnssec.transact_xml(&info_xml).await.unwrap();
        assert!(raw.contains("<secDNS:keyTag>12345</secDNS:keyTag>"), "{raw}");
        assert!(raw.contains(&format!("<secDNS:digest>{DIGEST}</secDNS:digest>")), "{raw}");

        // Update: hold, name servers, password, and DS through secDNS:update.
        let mut update = DomainUpdate::new("first.tld");
        let gone = [HostInfo::Attr(HostAttr { name: "ns.example.net".into(), addresses: None })];
        let added = [HostInfo::Obj(HostObj { name: "ns.example.org".into() })];
        update.add(DomainAdd {
            ns: Some(NameServers { ns: added[..].into() }),
            contacts: None,
            statuses: Some(&[Status::ClientHold]),
        });
        update.remove(DomainRemove {
            ns: Some(NameServers { ns: gone[..].into() }),
            contacts: None,
            statuses: None,
        });
        update.info(DomainChangeInfo {
            registrant: None,
            auth_info: Some(DomainAuthInfo::new("new-Code-9x")),
        });
        one.transact(&update, "t-0010").await.unwrap();
        let info = one.transact(&DomainInfo::new("first.tld", None), "t-0011").await.unwrap();
        let data = info.res_data().unwrap();
        assert_eq!(data.statuses.as_deref(), Some(&[Status::ClientHold][..]));
        let names: Vec<String> = data
            .ns
            .as_ref()
            .unwrap()
            .ns
            .iter()
            .map(|h| match h {
                HostInfo::Attr(a) => a.name.to_string(),
                HostInfo::Obj(o) => o.name.to_string(),
            })
            .collect();
        assert_eq!(names, ["ns1.first.tld", "ns.example.org"]);
        let ds_rem = command(&format!(
            "<update><domain:update xmlns:domain=\"urn:ietf:params:xml:ns:domain-1.0\"><domain:name>first.tld</domain:name></domain:update></update><extension><secDNS:update xmlns:secDNS=\"urn:ietf:params:xml:ns:secDNS-1.1\"><secDNS:rem><secDNS:all>true</secDNS:all></secDNS:rem><secDNS:add><secDNS:dsData><secDNS:keyTag>4242</secDNS:keyTag><secDNS:alg>13</secDNS:alg><secDNS:digestType>2</secDNS:digestType><secDNS:digest>{}</secDNS:digest></secDNS:dsData></secDNS:add></secDNS:update></extension>",
            DIGEST.to_lowercase()
        ));
        assert_eq!(raw_code(&one.transact_xml(&ds_rem).await.unwrap()), 1000);
        let raw = dnssec.transact_xml(&info_xml).await.unwrap();
        assert!(raw.contains("<secDNS:keyTag>4242</secDNS:keyTag>") && !raw.contains(">12345<"), "{raw}");
        // A DS of a deprecated algorithm (RSASHA1, RFC 8624) is refused by policy (2306) with
        // the reason, and the DS set stays as it was.
        let sha1 = ds_rem.replace("<secDNS:alg>13</secDNS:alg>", "<secDNS:alg>5</secDNS:alg>");
        let refused = one.transact_xml(&sha1).await.unwrap();
        assert_eq!(raw_code(&refused), 2306, "{refused}");
        assert!(refused.contains("algorithm 5 is not accepted"), "{refused}");
        assert!(dnssec.transact_xml(&info_xml).await.unwrap().contains("<secDNS:keyTag>4242</secDNS:keyTag>"));
        // Removing a name server it does not have refuses the whole update.
        let mut bad = DomainUpdate::new("first.tld");
        let absent = [HostInfo::Obj(HostObj { name: "ns.nowhere.net".into() })];
        bad.remove(DomainRemove {
            ns: Some(NameServers { ns: absent[..].into() }),
            contacts: None,
            statuses: Some(&[Status::ClientHold]),
        });
        assert_eq!(code(one.transact(&bad, "t-0012").await), 2306);
        let info = one.transact(&DomainInfo::new("first.tld", None), "t-0013").await.unwrap();
        assert_eq!(info.res_data().unwrap().statuses.as_deref(), Some(&[Status::ClientHold][..]), "nothing of it changed");

        // Renew: the stated expiry must be the current one.
        let day = expires.date_naive();
        let renew = DomainRenew::new("first.tld", day, Period::Years(PeriodLength::new(1).unwrap()));
        let renewed = one.transact(&renew, "t-0014").await.unwrap();
        let new_expiry = renewed.res_data().unwrap().expiring_at.unwrap();
        assert_eq!((new_expiry - expires).num_days() / 365, 1);
        assert_eq!(code(one.transact(&renew, "t-0015").await), 2306, "a replayed renewal is refused");

        // Another registrar: no access; transfer with the wrong and the right authInfo.
        let mut two = client(epp, tls.clone()).await;
        login(&mut two, 1002, false).await;
        assert_eq!(code(two.transact(&DomainInfo::new("first.tld", None), "t-0016").await), 2201);
        let wrong = DomainTransfer::new("first.tld", None, "2BARfoo$x-first");
        assert_eq!(code(two.transact(&wrong, "t-0017").await), 2202);
        let transfer = DomainTransfer::new("first.tld", None, "new-Code-9x");
        let moved = two.transact(&transfer, "t-0018").await.unwrap();
        let data = moved.res_data().unwrap();
        assert_eq!(data.transfer_status, "serverApproved");
        assert_eq!((data.requester_id.as_str(), data.ack_id.as_str()), ("1002", "1001"));
        assert_eq!(code(two.transact(&transfer, "t-0019").await), 2106, "sponsored by it already");
        assert_eq!(code(one.transact(&DomainDelete::new("first.tld"), "t-0020").await), 2201);
        // The subordinate host moved with its domain.
        let host = two.transact(&HostQuery::new("ns9.first.tld"), "t-h013").await.unwrap();
        let host = host.res_data().unwrap();
        assert_eq!((host.client_id.as_str(), host.creator_id.as_str()), ("1002", "1001"));
        assert_eq!(
            code(two.transact(&DomainDelete::new("first.tld"), "t-h014").await),
            2305,
            "hosts beneath it go first"
        );
        one.transact(&DomainDelete::new("fourth.tld"), "t-h015").await.unwrap();
        two.transact(&HostDelete::new("ns9.first.tld"), "t-h016").await.unwrap();

        // The losing registrar finds the transfer in its poll queue, and acknowledges it.
        let polled = one.transact(&Poll, "t-p001").await.unwrap();
        assert_eq!(polled.result.code, ResultCode::CommandCompletedSuccessfullyAckToDequeue);
        let queue = polled.message_queue().unwrap();
        assert_eq!(queue.count, 1);
        assert!(queue.message.as_ref().unwrap().text.contains("first.tld"), "{queue:?}");
        let Some(PollData::DomainTransfer(notice)) = polled.res_data() else {
            panic!("a transfer notice: {:?}", polled.res_data());
        };
        assert_eq!((notice.name.as_str(), notice.requester_id.as_str(), notice.ack_id.as_str()), ("first.tld", "1002", "1001"));
        let id = queue.id.clone();
        assert_eq!(code(two.transact(&Ack { message_id: &id }, "t-p002").await), 2303, "not its message");
        let acked = one.transact(&Ack { message_id: &id }, "t-p003").await.unwrap();
        assert_eq!(acked.message_queue().unwrap().count, 0);
        let polled = one.transact(&Poll, "t-p004").await.unwrap();
        assert_eq!(polled.result.code, ResultCode::CommandCompletedSuccessfullyNoMessages);

        // Delete, and the end of the session.
        two.transact(&DomainDelete::new("first.tld"), "t-0022").await.unwrap();
        assert_eq!(code(two.transact(&DomainInfo::new("first.tld", None), "t-0023").await), 2303);
        let bye = two.transact(&Logout, "t-0024").await.unwrap();
        assert_eq!(bye.result.code, ResultCode::CommandCompletedSuccessfullyEndingSession);
    });
    let audit = registry.audit();
    assert!(audit.contains("0 problems"), "{audit}");
    let metrics = registry.metrics();
    assert!(
        metrics.contains(
            "control_plane_epp_responses_total{command=\"domain-create\",code=\"1000\"} 3"
        ),
        "{metrics}"
    );
}

/// A command document around `inner` (the command element and any extension).
pub fn command(inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><command>{inner}<clTRID>raw-1</clTRID></command></epp>"
    )
}

#[test]
fn hostile_and_malformed_frames_get_epp_errors_or_a_closed_session() {
    let (registry, epp) = registry();
    let tls = registry.client.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut one = client(epp, tls.clone()).await;
        login(&mut one, 1001, false).await;
        let cases = [
            (
                "<?xml version=\"1.0\"?><!DOCTYPE epp [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><hello/></epp>".to_string(),
                2001,
            ),
            ("<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><command><check>".to_string(), 2001),
            ("not xml at all".to_string(), 2001),
            (command("<create><contact:create xmlns:contact=\"urn:ietf:params:xml:ns:contact-1.0\"><contact:id>c1</contact:id></contact:create></create>"), 2307),
            (command("<check><domain:check xmlns:domain=\"urn:ietf:params:xml:ns:domain-1.0\"><domain:name>a.tld</domain:name></domain:check></check><extension><x:y xmlns:x=\"urn:example:unknown\"/></extension>"), 2103),
            (command("<check><domain:check xmlns:domain=\"urn:ietf:params:xml:ns:domain-1.0\"><domain:nom>a.tld</domain:nom></domain:check></check>"), 2001),
            (command("<renew><domain:renew xmlns:domain=\"urn:ietf:params:xml:ns:domain-1.0\"><domain:name>a.tld</domain:name></domain:renew></renew>"), 2003),
            (command("<create><domain:create xmlns:domain=\"urn:ietf:params:xml:ns:domain-1.0\"><domain:name>c.tld</domain:name><domain:registrant>jd1</domain:registrant><domain:authInfo><domain:pw>x</domain:pw></domain:authInfo></domain:create></create>"), 2308),
            (command("<create><domain:create xmlns:domain=\"urn:ietf:params:xml:ns:domain-1.0\"><domain:name>c.tld</domain:name><domain:period unit=\"y\">0</domain:period><domain:authInfo><domain:pw>x</domain:pw></domain:authInfo></domain:create></create>"), 2004),
            (command("<transfer op=\"approve\"><domain:transfer xmlns:domain=\"urn:ietf:params:xml:ns:domain-1.0\"><domain:name>c.tld</domain:name></domain:transfer></transfer>"), 2303),
        ];
        for (xml, expected) in cases {
            let answer = one.transact_xml(&xml).await.unwrap();
            assert_eq!(raw_code(&answer), expected, "{xml}\n→ {answer}");
        }
    });

    // A frame larger than the limit: 2500, then the session is closed. A silent client is
    // dropped after the idle timeout.
    runtime.block_on(async {
        let connector = tokio_rustls::TlsConnector::from(tls.clone());
        let tcp = tokio::net::TcpStream::connect(epp).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut stream = connector.connect(name, tcp).await.unwrap();
        let greeting = read_frame(&mut stream).await.unwrap();
        assert!(greeting.contains("<greeting>"));
        stream.write_all(&[0x7f, 0, 0, 0]).await.unwrap();
        let closing = read_frame(&mut stream).await.unwrap();
        assert_eq!(raw_code(&closing), 2500, "{closing}");
        assert!(read_frame(&mut stream).await.is_none(), "closed");

        let tcp = tokio::net::TcpStream::connect(epp).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut idle = connector.connect(name, tcp).await.unwrap();
        read_frame(&mut idle).await.unwrap();
        let started = std::time::Instant::now();
        assert!(read_frame(&mut idle).await.is_none());
        assert!(
            started.elapsed() >= Duration::from_secs(2),
            "closed only once idle"
        );
    });

    // A registrar at its session limit: the next login is 2502, and that session is closed.
    runtime.block_on(async {
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut session = client(epp, tls.clone()).await;
            login(&mut session, 1002, false).await;
            held.push(session);
        }
        let mut third = client(epp, tls.clone()).await;
        let refused = Login::new("1002", password(1002), None, None);
        assert_eq!(code(third.transact(&refused, "t-0200").await), 2502);
        // Once one of them logs out, a session is free again.
        held.pop()
            .unwrap()
            .transact(&Logout, "t-0201")
            .await
            .unwrap();
        let mut again = client(epp, tls.clone()).await;
        login(&mut again, 1002, false).await;
    });

    // Three failed logins end the session with 2501.
    runtime.block_on(async {
        let mut three = client(epp, tls.clone()).await;
        for expected in [2200, 2200, 2501] {
            let wrong = Login::new("1001", "wrong-password", None, None);
            assert_eq!(code(three.transact(&wrong, "t-0100").await), expected);
        }
    });
}

async fn read_frame<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).await.ok()?;
    let mut payload = vec![0u8; u32::from_be_bytes(header) as usize - 4];
    stream.read_exact(&mut payload).await.ok()?;
    String::from_utf8(payload).ok()
}

/// The Python interpreter with epptools (test.sh makes a virtual environment for it).
/// The Python that has the test clients (epptools, Selenium): test.sh makes it.
pub fn test_python() -> String {
    std::env::var("TEST_PYTHON").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/test-python/bin/python"
        )
        .to_string()
    })
}

#[test]
fn srrp_and_epp_leave_the_same_registry() {
    // The scenario over EPP, by epptools from PyPI.
    let (through_epp, epp) = registry();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/integration/epp_scenario.py"
    );
    let out = std::process::Command::new(test_python())
        .arg(script)
        .arg(epp.port().to_string())
        .arg(through_epp.path("keys/srrp.crt"))
        .output()
        .expect("Python with epptools: run test.sh, or `pip install epptools==1.1.2` and set TEST_PYTHON");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // The same scenario over SRRP, on a registry of its own.
    let mut through_srrp = Registry::new("");
    through_srrp.start();
    let r = &through_srrp;
    let srrp = |registrar, header: &str, attributes: &[(&str, &str)], code: u16| {
        let response = r.as_registrar(registrar, header, attributes);
        assert_eq!(
            response.code.number(),
            code,
            "{header} {attributes:?}: {response:?}"
        );
        response
    };
    let years =
        |n: i64| zonefiles::calendar::date(zonefiles::calendar::add_months(ops::now(), 12 * n));
    let ds = |tag: &str, alg: &str| format!("{tag} {alg} 2 {DIGEST}");
    srrp(
        1001,
        "CREATE DOMAIN",
        &[
            ("domain-name", "alpha.tld"),
            ("expiry-date", &years(2)),
            ("ns1-name", "ns1.alpha.tld"),
            ("ns1-address", "192.0.2.53 2001:db8::53"),
            ("ns2-name", "ns.example.net"),
            ("domain-auth", "Alpha-Code-1"),
            ("ds", &ds("12345", "8")),
        ],
        200,
    );
    srrp(
        1001,
        "CREATE DOMAIN",
        &[
            ("domain-name", "beta.tld"),
            ("expiry-date", &years(1)),
            ("ns1-name", "ns1.example.com"),
            ("ns2-name", "ns2.example.com"),
        ],
        200,
    );
    let cluster = srrp(
        1001,
        "CREATE CLUSTER",
        &[
            ("ns1-name", "ns1.alpha.tld"),
            ("ns1-address", "192.0.2.53 2001:db8::53"),
            ("ns2-name", "ns.example.org"),
        ],
        200,
    );
    let cluster = cluster.get("cluster-id").unwrap().to_string();
    srrp(
        1001,
        "SET CLUSTER",
        &[("domain-name", "alpha.tld"), ("cluster-id", &cluster)],
        200,
    );
    srrp(
        1001,
        "SET STATUS",
        &[("domain-name", "alpha.tld"), ("status", "inactive")],
        200,
    );
    srrp(
        1001,
        "SET STATUS",
        &[("domain-name", "alpha.tld"), ("status", "active")],
        200,
    );
    srrp(
        1001,
        "SET DS",
        &[("domain-name", "alpha.tld"), ("ds", &ds("4242", "13"))],
        200,
    );
    srrp(
        1001,
        "SET EXPIRE",
        &[("domain-name", "beta.tld"), ("expiry-date", &years(2))],
        200,
    );
    srrp(
        1002,
        "TRANSFER DOMAIN",
        &[("domain-name", "alpha.tld"), ("domain-auth", "wrong-code")],
        412,
    );
    srrp(
        1002,
        "TRANSFER DOMAIN",
        &[
            ("domain-name", "alpha.tld"),
            ("domain-auth", "Alpha-Code-1"),
        ],
        200,
    );
    srrp(1001, "DELETE DOMAIN", &[("domain-name", "beta.tld")], 200);
    srrp(
        1001,
        "CREATE DOMAIN",
        &[("domain-name", "gamma.tld"), ("expiry-date", &years(1))],
        200,
    );

    crate::fixture::assert_same(&[("EPP", &through_epp), ("SRRP", &through_srrp)]);
    assert!(
        through_epp
            .state()
            .iter()
            .any(|l| l.contains("alpha.tld") && l.contains("transfer"))
    );
    for registry in [&through_epp, &through_srrp] {
        let audit = registry.audit();
        assert!(audit.contains("0 problems"), "{audit}");
    }
}

#[test]
fn grace_periods_refund_restore_and_purge_deleted_domains() {
    let epp = free_port();
    let mut registry = Registry::new(&format!("\n[epp]\nlisten = [\"{epp}\"]\n"));
    // The sweep runs every second here (sweep_interval_s belongs before the tables).
    let config = std::fs::read_to_string(registry.path("cp.toml")).unwrap();
    std::fs::write(
        registry.path("cp.toml"),
        format!("sweep_interval_s = 1\n{config}"),
    )
    .unwrap();
    registry.cli(&[
        "zone",
        "grace",
        "tld",
        "--add-grace-days",
        "5",
        "--redemption-days",
        "30",
    ]);
    registry.start();
    let tls = registry.client.clone();
    let balance = |registry: &Registry| -> i64 {
        registry
            .database()
            .query_row("SELECT balance FROM registrars WHERE id = 1001", [], |r| {
                r.get(0)
            })
            .unwrap()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let info_xml = |name: &str| {
        command(&format!(
            "<info><domain:info xmlns:domain=\"urn:ietf:params:xml:ns:domain-1.0\"><domain:name>{name}</domain:name></domain:info></info>"
        ))
    };
    let restore_xml = |name: &str| {
        command(&format!(
            "<update><domain:update xmlns:domain=\"urn:ietf:params:xml:ns:domain-1.0\"><domain:name>{name}</domain:name><domain:chg/></domain:update></update><extension><rgp:update xmlns:rgp=\"urn:ietf:params:xml:ns:rgp-1.0\"><rgp:restore op=\"request\"/></rgp:update></extension>"
        ))
    };
    let before = balance(&registry);
    runtime.block_on(async {
        let mut one = client(epp, tls.clone()).await;
        let id = "1001".to_string();
        let login = Login::new(&id, password(1001), None, Some(&["urn:ietf:params:xml:ns:rgp-1.0"]));
        one.transact(&login, "g-0001").await.unwrap();
        let create = |name| DomainCreate::new(name, Period::Years(PeriodLength::new(1).unwrap()), None, None, "", None);

        // Deleted in its add grace period: refunded, and the name is free at once.
        one.transact(&create("early.tld"), "g-0002").await.unwrap();
        let raw = one.transact_xml(&info_xml("early.tld")).await.unwrap();
        assert!(raw.contains(r#"<rgp:rgpStatus s="addPeriod"/>"#), "{raw}");
        let deleted = one.transact_xml(&command("<delete><domain:delete xmlns:domain=\"urn:ietf:params:xml:ns:domain-1.0\"><domain:name>early.tld</domain:name></domain:delete></delete>")).await.unwrap();
        assert_eq!(raw_code(&deleted), 1000, "{deleted}");
        let checked = one.transact(&DomainCheck { domains: &["early.tld"] }, "g-0003").await.unwrap();
        assert!(checked.res_data().unwrap().list[0].name.available);
    });
    assert_eq!(balance(&registry), before, "the registration was refunded");
    registry.cli(&[
        "zone",
        "grace",
        "tld",
        "--add-grace-days",
        "0",
        "--redemption-days",
        "30",
    ]);
    runtime.block_on(async {
        let mut one = client(epp, tls.clone()).await;
        let id = "1001".to_string();
        let login = Login::new(&id, password(1001), None, Some(&["urn:ietf:params:xml:ns:rgp-1.0"]));
        one.transact(&login, "g-0004").await.unwrap();
        let hosts = [
            HostInfo::Attr(HostAttr { name: "ns.example.net".into(), addresses: None }),
            HostInfo::Attr(HostAttr { name: "ns.example.org".into(), addresses: None }),
        ];
        let create = DomainCreate::new("late.tld", Period::Years(PeriodLength::new(1).unwrap()), Some(&hosts), None, "", None);
        one.transact(&create, "g-0005").await.unwrap();
        // Deleted later: pending, out of the DNS, restorable.
        let deleted = one.transact_xml(&command("<delete><domain:delete xmlns:domain=\"urn:ietf:params:xml:ns:domain-1.0\"><domain:name>late.tld</domain:name></domain:delete></delete>")).await.unwrap();
        assert_eq!(raw_code(&deleted), 1001, "{deleted}");
        let raw = one.transact_xml(&info_xml("late.tld")).await.unwrap();
        assert!(raw.contains(r#"<domain:status s="pendingDelete"/>"#) && raw.contains(r#"<rgp:rgpStatus s="redemptionPeriod"/>"#), "{raw}");
        let checked = one.transact(&DomainCheck { domains: &["late.tld"] }, "g-0006").await.unwrap();
        assert!(!checked.res_data().unwrap().list[0].name.available);
        let renew = command("<renew><domain:renew xmlns:domain=\"urn:ietf:params:xml:ns:domain-1.0\"><domain:name>late.tld</domain:name><domain:curExpDate>2030-01-01</domain:curExpDate></domain:renew></renew>");
        assert_eq!(raw_code(&one.transact_xml(&renew).await.unwrap()), 2304);
        assert_eq!(raw_code(&one.transact_xml(&restore_xml("late.tld")).await.unwrap()), 1000);
        let raw = one.transact_xml(&info_xml("late.tld")).await.unwrap();
        assert!(raw.contains(r#"<domain:status s="ok"/>"#) && !raw.contains("rgpStatus"), "{raw}");
        let deleted = one.transact_xml(&command("<delete><domain:delete xmlns:domain=\"urn:ietf:params:xml:ns:domain-1.0\"><domain:name>late.tld</domain:name></domain:delete></delete>")).await.unwrap();
        assert_eq!(raw_code(&deleted), 1001);
    });
    // 31 days later (the deletion moved back in time, the server stopped meanwhile): the sweep
    // ends its redemption period; 5 more days, and it is purged.
    for (days, expected) in [(31, "pendingDelete"), (6, "purged")] {
        registry.kill();
        registry
            .database()
            .execute(
                "UPDATE domains SET deleted = deleted - ?1 WHERE name = 'late.tld'",
                [days * 86_400],
            )
            .unwrap();
        registry.start();
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let state: Option<(i64, bool)> = registry
                .database()
                .query_row(
                    "SELECT deleted, redeemable FROM domains WHERE name = 'late.tld'",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .ok();
            let done = match expected {
                "pendingDelete" => state.is_some_and(|(_, redeemable)| !redeemable),
                _ => state.is_none(),
            };
            if done {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the sweep did not reach {expected}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        runtime.block_on(async {
            let mut one = client(epp, tls.clone()).await;
            let id = "1001".to_string();
            let login = Login::new(
                &id,
                password(1001),
                None,
                Some(&["urn:ietf:params:xml:ns:rgp-1.0"]),
            );
            one.transact(&login, "g-0008").await.unwrap();
            let raw = one.transact_xml(&info_xml("late.tld")).await.unwrap();
            if expected == "pendingDelete" {
                assert!(
                    raw.contains(r#"<rgp:rgpStatus s="pendingDelete"/>"#),
                    "{raw}"
                );
                assert_eq!(
                    raw_code(&one.transact_xml(&restore_xml("late.tld")).await.unwrap()),
                    2304
                );
            } else {
                assert_eq!(raw_code(&raw), 2303, "{raw}");
                let checked = one
                    .transact(
                        &DomainCheck {
                            domains: &["late.tld"],
                        },
                        "g-0009",
                    )
                    .await
                    .unwrap();
                assert!(checked.res_data().unwrap().list[0].name.available);
            }
        });
    }
    let history = registry.cli(&["history", "late.tld"]);
    for step in ["RESTORE DOMAIN", "REDEMPTION PERIOD ENDED", "PURGE DOMAIN"] {
        assert!(history.contains(step), "{history}");
    }
    let audit = registry.audit();
    assert!(audit.contains("0 problems"), "{audit}");
}

#[test]
fn a_transfer_waits_for_its_sponsor_over_epp_and_srrp() {
    let epp = free_port();
    let mut registry = Registry::new(&format!("\n[epp]\nlisten = [\"{epp}\"]\n"));
    let config = std::fs::read_to_string(registry.path("cp.toml")).unwrap();
    std::fs::write(
        registry.path("cp.toml"),
        format!("sweep_interval_s = 1\n{config}"),
    )
    .unwrap();
    registry.cli(&["zone", "grace", "tld", "--transfer-timeout-days", "5"]);
    registry.start();
    for name in ["a.tld", "b.tld", "c.tld", "d.tld"] {
        registry.register(1001, name);
        let set = registry.as_registrar(
            1001,
            "SET PASSWORD",
            &[("domain-name", name), ("domain-auth", "move-it-42")],
        );
        assert_eq!(set.code.number(), 200, "{set:?}");
    }
    // STATUS DEFAULTS speaks for the first zone (name: at once), and has a line per zone.
    let defaults = registry.as_registrar(1001, "STATUS DEFAULTS", &[]);
    assert_eq!(
        (
            defaults.get("transfer-timeout"),
            defaults.get("transfer-default")
        ),
        (Some("0"), Some("unset"))
    );
    assert!(
        defaults.attributes.iter().any(|(n, v)| n == "text"
            && v.starts_with("zone tld:")
            && v.ends_with("transfer-timeout 5 days (then approve)")),
        "{defaults:?}"
    );
    let tls = registry.client.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut one = client(epp, tls.clone()).await;
        login(&mut one, 1001, false).await;
        let mut two = client(epp, tls.clone()).await;
        login(&mut two, 1002, false).await;
        let mut three = client(epp, tls.clone()).await;
        login(&mut three, 1003, false).await;

        // Asked for: 1001 pending, and the sponsor is told.
        let asked = two
            .transact(&DomainTransfer::new("a.tld", None, "move-it-42"), "x-0001")
            .await
            .unwrap();
        assert_eq!(
            asked.result.code,
            ResultCode::CommandCompletedSuccessfullyActionPending
        );
        let data = asked.res_data().unwrap();
        assert_eq!(data.transfer_status, "pending");
        assert_eq!(
            (data.requester_id.as_str(), data.ack_id.as_str()),
            ("1002", "1001")
        );
        assert_eq!((data.ack_by - data.requested_at).num_days(), 5);
        let info = one
            .transact(&DomainInfo::new("a.tld", None), "x-0002")
            .await
            .unwrap();
        let statuses = info
            .res_data()
            .unwrap()
            .statuses
            .clone()
            .unwrap_or_default();
        assert!(statuses.contains(&Status::PendingTransfer), "{statuses:?}");
        let polled = one.transact(&Poll, "x-0003").await.unwrap();
        let Some(PollData::DomainTransfer(notice)) = polled.res_data() else {
            panic!("a transfer notice: {:?}", polled.res_data());
        };
        assert_eq!(
            (notice.name.as_str(), notice.transfer_status.as_str()),
            ("a.tld", "pending")
        );
        let id = polled.message_queue().unwrap().id.clone();
        one.transact(&Ack { message_id: &id }, "x-0004")
            .await
            .unwrap();
        // Meanwhile: no changes by the sponsor, no second request, no answer but the sponsor's.
        assert_eq!(
            code(one.transact(&DomainDelete::new("a.tld"), "x-0005").await),
            2300
        );
        assert_eq!(
            code(
                three
                    .transact(&DomainTransfer::new("a.tld", None, "move-it-42"), "x-0006")
                    .await
            ),
            2300
        );
        assert_eq!(
            code(
                two.transact(&DomainTransfer::approve("a.tld"), "x-0007")
                    .await
            ),
            2201
        );
        assert_eq!(
            code(
                three
                    .transact(&DomainTransfer::query("a.tld", "wrong"), "x-0008")
                    .await
            ),
            2202
        );
        let queried = three
            .transact(&DomainTransfer::query("a.tld", "move-it-42"), "x-0009")
            .await
            .unwrap();
        assert_eq!(queried.res_data().unwrap().transfer_status, "pending");
        // Approved: the domain moves, and the registrar that asked is told.
        let approved = one
            .transact(&DomainTransfer::approve("a.tld"), "x-0010")
            .await
            .unwrap();
        assert_eq!(
            approved.res_data().unwrap().transfer_status,
            "clientApproved"
        );
        let info = two
            .transact(&DomainInfo::new("a.tld", None), "x-0011")
            .await
            .unwrap();
        assert_eq!(info.res_data().unwrap().client_id, "1002");
        let polled = two.transact(&Poll, "x-0012").await.unwrap();
        let Some(PollData::DomainTransfer(notice)) = polled.res_data() else {
            panic!("a transfer notice: {:?}", polled.res_data());
        };
        assert_eq!(notice.transfer_status, "clientApproved");
        let id = polled.message_queue().unwrap().id.clone();
        two.transact(&Ack { message_id: &id }, "x-0013")
            .await
            .unwrap();
        assert_eq!(
            code(
                one.transact(&DomainTransfer::reject("a.tld"), "x-0014")
                    .await
            ),
            2301
        );

        // Withdrawn by the registrar that asked; queried afterwards by the sponsor.
        two.transact(&DomainTransfer::new("c.tld", None, "move-it-42"), "x-0015")
            .await
            .unwrap();
        let cancelled = two
            .transact(&DomainTransfer::cancel("c.tld"), "x-0016")
            .await
            .unwrap();
        assert_eq!(
            cancelled.res_data().unwrap().transfer_status,
            "clientCancelled"
        );
        let queried = one
            .transact(&DomainTransfer::query("c.tld", ""), "x-0017")
            .await
            .unwrap();
        assert_eq!(
            queried.res_data().unwrap().transfer_status,
            "clientCancelled"
        );
    });

    // Over SRRP: asked for, refused changes meanwhile, rejected by the sponsor.
    let asked = registry.as_registrar(
        1002,
        "TRANSFER DOMAIN",
        &[("domain-name", "b.tld"), ("domain-auth", "move-it-42")],
    );
    assert_eq!(asked.code.number(), 200, "{asked:?}");
    assert!(
        asked
            .get("text")
            .unwrap()
            .starts_with("Transfer: pending to registrar 1002"),
        "{asked:?}"
    );
    let refused = registry.as_registrar(
        1001,
        "SET STATUS",
        &[("domain-name", "b.tld"), ("status", "inactive")],
    );
    assert_eq!(refused.code.number(), 411, "{refused:?}");
    let query = registry.as_registrar(1001, "QUERY DOMAIN", &[("domain-name", "b.tld")]);
    assert!(
        query
            .attributes
            .iter()
            .any(|(n, v)| n == "text" && v.starts_with("Transfer: pending")),
        "{query:?}"
    );
    let not_yours = registry.as_registrar(
        1002,
        "TRANSFER DOMAIN",
        &[("domain-name", "b.tld"), ("transfer-response", "yes")],
    );
    assert_eq!(not_yours.code.number(), 411, "{not_yours:?}");
    let rejected = registry.as_registrar(
        1001,
        "TRANSFER DOMAIN",
        &[("domain-name", "b.tld"), ("transfer-response", "no")],
    );
    assert_eq!(rejected.code.number(), 200, "{rejected:?}");
    assert_eq!(rejected.get("text"), Some("Transfer: clientRejected"));

    // Left unanswered: approved at the timeout (the request moved 5 days back in time).
    let asked = registry.as_registrar(
        1002,
        "TRANSFER DOMAIN",
        &[("domain-name", "d.tld"), ("domain-auth", "move-it-42")],
    );
    assert_eq!(asked.code.number(), 200, "{asked:?}");
    registry.kill();
    registry
        .database()
        .execute(
            "UPDATE transfers SET requested = requested - 432000, acted = acted - 432000 WHERE name = 'd.tld'",
            [],
        )
        .unwrap();
    registry.start();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let sponsor = || -> u32 {
        registry
            .database()
            .query_row(
                "SELECT registrar FROM domains WHERE name = 'd.tld'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    while sponsor() != 1002 {
        assert!(
            std::time::Instant::now() < deadline,
            "the timeout did not approve the transfer"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let status: String = registry
        .database()
        .query_row(
            "SELECT status FROM transfers WHERE name = 'd.tld'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(status, "serverApproved");
    let balance = |id: u32| -> i64 {
        registry
            .database()
            .query_row("SELECT balance FROM registrars WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap()
    };
    // 1002 paid for a.tld and d.tld; b.tld and c.tld were refunded.
    let ledger: i64 = registry
        .database()
        .query_row(
            "SELECT sum(amount) FROM ledger WHERE registrar = 1002 AND kind IN ('transfer', 'refund')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(ledger, -1200, "balance now {}", balance(1002));
    let history = registry.cli(&["history", "d.tld"]);
    assert!(
        history.contains("TRANSFER DOMAIN (from registrar 1001, serverApproved)"),
        "{history}"
    );
    let audit = registry.audit();
    assert!(audit.contains("0 problems"), "{audit}");
}

/// A raw `<login>` for registrar 1003 with these `<pw>` and `<extension>` contents.
fn login_frame(pw: &str, extension: &str) -> String {
    command(&format!(
        "<login><clID>1003</clID><pw>{pw}</pw><options><version>1.0</version><lang>en</lang></options><svcs><objURI>urn:ietf:params:xml:ns:domain-1.0</objURI><svcExtension><extURI>urn:ietf:params:xml:ns:epp:loginSec-1.0</extURI></svcExtension></svcs></login>{extension}"
    ))
}

#[test]
fn a_password_longer_than_epp_allows_logs_in_through_login_security() {
    let (registry, epp) = registry();
    let long = "correct horse battery staple, and then some more words";
    registry.cli(&["registrar", "password", "1003", "--password", long]);
    let security = |pw: &str| {
        format!(
            "<extension><loginSec:loginSec xmlns:loginSec=\"urn:ietf:params:xml:ns:epp:loginSec-1.0\"><loginSec:userAgent><loginSec:app>test 1.0</loginSec:app></loginSec:userAgent><loginSec:pw>{pw}</loginSec:pw></loginSec:loginSec></extension>"
        )
    };
    let tls = registry.client.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let greeting = client(epp, tls.clone()).await.xml_greeting();
        assert!(
            greeting.contains("urn:ietf:params:xml:ns:epp:loginSec-1.0"),
            "{greeting}"
        );
        // The placeholder without the password, the password in both places, a wrong one.
        for (frame, expected) in [
            (login_frame("[LOGIN-SECURITY]", ""), 2003),
            (login_frame("pass-three", &security(long)), 2306),
            (
                login_frame("[LOGIN-SECURITY]", &security("not the password")),
                2200,
            ),
            (
                login_frame("[LOGIN-SECURITY]", &security(&"x".repeat(300))),
                2005,
            ),
        ] {
            let mut session = client(epp, tls.clone()).await;
            let answer = session.transact_xml(&frame).await.unwrap();
            assert_eq!(raw_code(&answer), expected, "{frame}: {answer}");
        }
        let mut session = client(epp, tls.clone()).await;
        let answer = session
            .transact_xml(&login_frame("[LOGIN-SECURITY]", &security(long)))
            .await
            .unwrap();
        assert_eq!(raw_code(&answer), 1000, "{answer}");
        let info = session
            .transact(
                &DomainCheck {
                    domains: &["free.tld"],
                },
                "c-1",
            )
            .await
            .unwrap();
        assert!(info.res_data().unwrap().list[0].name.available);
    });
}
