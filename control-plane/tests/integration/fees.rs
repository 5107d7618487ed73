//! Prices over EPP's fee extension (RFC 8748): a premium name quoted, refused without its fee
//! or below it, registered and charged when acknowledged; the charge and balance in the
//! response; SRRP, which cannot acknowledge a fee, refused.

use instant_epp::login::Login;

use crate::epp::{client, command};
use crate::fixture::{Registry, free_port, password};

const FEE: &str = "urn:ietf:params:xml:ns:epp:fee-1.0";

fn create(name: &str, fee: Option<&str>) -> String {
    let extension = fee.map_or(String::new(), |fee| {
        format!(
            "<extension><fee:create xmlns:fee=\"{FEE}\"><fee:currency>USD</fee:currency><fee:fee>{fee}</fee:fee></fee:create></extension>"
        )
    });
    command(&format!(
        "<create><domain:create xmlns:domain=\"urn:ietf:params:xml:ns:domain-1.0\"><domain:name>{name}</domain:name><domain:period unit=\"y\">1</domain:period><domain:authInfo><domain:pw>Pw-12345</domain:pw></domain:authInfo></domain:create></create>{extension}"
    ))
}

fn code(xml: &str) -> u16 {
    let at = xml.find("<result code=\"").expect("a result") + 14;
    xml[at..at + 4].parse().unwrap()
}

#[test]
fn a_premium_name_is_quoted_and_registered_only_at_its_acknowledged_price() {
    let epp = free_port();
    let mut registry = Registry::new(&format!("\n[epp]\nlisten = [\"{epp}\"]\n"));
    let out = registry.cli(&["premium", "add", "gold.tld", "--create", "50000"]);
    assert!(
        out.contains("gold.tld: premium, create 500.00 a year"),
        "{out}"
    );
    registry.start();
    let tls = registry.client.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut one = client(epp, tls.clone()).await;
        let login = Login::new("1001", password(1001), None, Some(&[FEE]));
        one.transact(&login, "f-1").await.unwrap();
        assert!(one.xml_greeting().contains(FEE));

        // Quoted: the premium name at its price, another at the zone's.
        let check = command(&format!(
            "<check><domain:check xmlns:domain=\"urn:ietf:params:xml:ns:domain-1.0\"><domain:name>gold.tld</domain:name><domain:name>tin.tld</domain:name></domain:check></check><extension><fee:check xmlns:fee=\"{FEE}\"><fee:command name=\"create\"><fee:period unit=\"y\">2</fee:period></fee:command><fee:command name=\"restore\"/></fee:check></extension>"
        ));
        let quoted = one.transact_xml(&check).await.unwrap();
        assert_eq!(code(&quoted), 1000, "{quoted}");
        for part in [
            "<fee:currency>USD</fee:currency>",
            "<fee:objID>gold.tld</fee:objID><fee:class>premium</fee:class><fee:command name=\"create\"><fee:period unit=\"y\">2</fee:period><fee:fee description=\"Registration\">1000.00</fee:fee>",
            "<fee:command name=\"restore\"><fee:period unit=\"y\">1</fee:period><fee:fee description=\"Restore\">500.00</fee:fee>",
            "<fee:objID>tin.tld</fee:objID><fee:command name=\"create\" standard=\"1\"><fee:period unit=\"y\">2</fee:period><fee:fee description=\"Registration\">12.00</fee:fee>",
        ] {
            assert!(quoted.contains(part), "{part} in {quoted}");
        }
        // Not acknowledged, below the price, in another currency: 2004, nothing charged.
        for (fee, expected) in [(None, 2004), (Some("499.99"), 2004), (Some("12.5x"), 2005)] {
            let answer = one.transact_xml(&create("gold.tld", fee)).await.unwrap();
            assert_eq!(code(&answer), expected, "{fee:?}: {answer}");
        }
        let euros = create("gold.tld", Some("500.00")).replace(">USD<", ">EUR<");
        assert_eq!(code(&one.transact_xml(&euros).await.unwrap()), 2004);
        // Acknowledged: registered, charged 500.00, the balance after it told.
        let done = one
            .transact_xml(&create("gold.tld", Some("500.00")))
            .await
            .unwrap();
        assert_eq!(code(&done), 1000, "{done}");
        assert!(
            done.contains("<fee:creData xmlns:fee=\"urn:ietf:params:xml:ns:epp:fee-1.0\"><fee:currency>USD</fee:currency><fee:fee>500.00</fee:fee><fee:balance>9500.00</fee:balance></fee:creData>"),
            "{done}"
        );
        // A renewal acknowledges its fee the same way (the premium renewal: 500.00 a year).
        let at = done.find("<domain:exDate>").unwrap() + "<domain:exDate>".len();
        let expiry = &done[at..at + 10];
        let renew = |fee: &str| {
            command(&format!(
                "<renew><domain:renew xmlns:domain=\"urn:ietf:params:xml:ns:domain-1.0\"><domain:name>gold.tld</domain:name><domain:curExpDate>{expiry}</domain:curExpDate><domain:period unit=\"y\">1</domain:period></domain:renew></renew><extension><fee:renew xmlns:fee=\"{FEE}\"><fee:fee>{fee}</fee:fee></fee:renew></extension>"
            ))
        };
        assert_eq!(code(&one.transact_xml(&renew("100.00")).await.unwrap()), 2004);
        let renewed = one.transact_xml(&renew("500.00")).await.unwrap();
        assert_eq!(code(&renewed), 1000, "{renewed}");
        assert!(
            renewed.contains("<fee:renData") && renewed.contains("<fee:balance>9000.00</fee:balance>"),
            "{renewed}"
        );
        // A session that did not name the extension is sent none of it.
        let mut plain = client(epp, tls.clone()).await;
        plain
            .transact(&Login::new("1002", password(1002), None, None), "f-2")
            .await
            .unwrap();
        let answer = plain
            .transact_xml(&create("tin.tld", Some("6.00")))
            .await
            .unwrap();
        assert_eq!(code(&answer), 1000, "{answer}");
        assert!(!answer.contains("fee:"), "{answer}");
    });
    // SRRP cannot acknowledge a fee: a premium name is refused there.
    registry.cli(&["premium", "add", "silver.tld", "--create", "20000"]);
    let refused = registry.as_registrar(1001, "CREATE DOMAIN", &[("domain-name", "silver.tld")]);
    assert_eq!(refused.code.number(), 404, "{refused:?}");
    let audit = registry.audit();
    assert!(audit.contains("0 problems"), "{audit}");
}
