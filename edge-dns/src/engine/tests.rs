//! The engine on small zones: the answer state each kind of response leaves, truncation, and
//! images that do not read.

use std::io::Write;
use std::sync::Arc;

use zonefiles::image::{self, Image};
use zonefiles::master::{self, ParseOptions};
use zonefiles::{Class, Name, Zone};

use super::*;

const ZONE: &str = "\
$ORIGIN tld.
$TTL 3600
@ SOA a.nic.tld. hostmaster.nic.tld. 1 1800 900 604800 300
@ NS a.nic.tld.
@ NS b.nic.tld.
a.nic A 192.0.2.1
b.nic AAAA 2001:db8::1
www A 192.0.2.80
alias CNAME www
example NS ns1.example
example NS ns.elsewhere.example.
ns1.example A 192.0.2.53
";

fn compiled(text: &str) -> Vec<u8> {
    let records = master::parse_bytes("t", text.as_bytes(), ParseOptions::default()).unwrap();
    let zone = Zone::from_records(None, Class::IN, records).0;
    image::compile(&zone, |_| {}).unwrap().0
}

fn zones(bytes: Vec<u8>) -> Zones {
    Zones::new(vec![Arc::new(Image::from_bytes(bytes).unwrap())])
}

fn query(name: &str, rtype: RecordType, edns: bool) -> Vec<u8> {
    let mut q = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, u8::from(edns)];
    q.extend_from_slice(Name::from_text(name.as_bytes(), None).unwrap().as_wire());
    q.extend_from_slice(&rtype.0.to_be_bytes());
    q.extend_from_slice(&[0, 1]);
    if edns {
        q.extend_from_slice(&[0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 0]);
    }
    q
}

fn peer() -> Peer {
    Peer {
        transport: Transport::Udp,
        addr: std::net::Ipv4Addr::LOCALHOST.into(),
        now: 1_700_000_000,
    }
}

/// The response's RCODE, AA, TC, section counts and kind.
fn ask(zones: &Zones, name: &str, rtype: RecordType) -> (u16, bool, bool, [u16; 4], ResponseKind) {
    let mut out = [0u8; 65535];
    let (len, source) = respond(
        &query(name, rtype, false),
        zones,
        &Config::default(),
        &peer(),
        &mut out,
    )
    .unwrap();
    let flags = u16::from_be_bytes([out[2], out[3]]);
    let count = |i: usize| u16::from_be_bytes([out[4 + 2 * i], out[5 + 2 * i]]);
    assert!(len >= 12);
    (
        flags & 0x000F,
        flags & AA != 0,
        flags & TC != 0,
        [count(0), count(1), count(2), count(3)],
        source.kind,
    )
}

#[test]
fn each_kind_of_response_leaves_its_state() {
    let zones = zones(compiled(ZONE));
    use ResponseKind::*;
    let cases = [
        // name, type: rcode, AA, TC, counts, kind
        (
            "www.tld.",
            RecordType::A,
            (0, true, false, [1, 1, 2, 2], Answer),
        ),
        (
            "alias.tld.",
            RecordType::A,
            (0, true, false, [1, 2, 2, 2], Answer),
        ),
        (
            "www.tld.",
            RecordType::MX,
            (0, true, false, [1, 0, 1, 0], Nodata),
        ),
        (
            "nowhere.tld.",
            RecordType::A,
            (3, true, false, [1, 0, 1, 0], Nxdomain),
        ),
        // A referral: not authoritative, the cut's NS, its glue (not the out-of-zone host's).
        (
            "www.example.tld.",
            RecordType::A,
            (0, false, false, [1, 0, 2, 1], Referral),
        ),
        (
            "www.other.",
            RecordType::A,
            (5, false, false, [1, 0, 0, 0], Error),
        ),
    ];
    for (name, rtype, expected) in cases {
        assert_eq!(ask(&zones, name, rtype), expected, "{name} {rtype}");
    }
}

#[test]
fn an_answer_that_does_not_fit_is_truncated_whole() {
    let mut text = ZONE.to_string();
    for i in 0..60 {
        text.push_str(&format!("big TXT \"{i:0>200}\"\n"));
    }
    let zones = zones(compiled(&text));
    let (rcode, aa, tc, counts, kind) = ask(&zones, "big.tld.", RecordType::TXT);
    assert_eq!(
        (rcode, aa, tc, counts, kind),
        (0, true, true, [1, 0, 0, 0], ResponseKind::Answer)
    );
}

#[test]
fn an_image_that_does_not_read_is_answered_servfail_and_marked() {
    let good = compiled(ZONE);
    let dir = tempfile::tempdir().unwrap();
    let names = [
        "www.tld.",
        "alias.tld.",
        "nowhere.tld.",
        "www.example.tld.",
        "tld.",
    ];
    let mut damaged = 0;
    // Every byte of the image but the header, damaged in turn, opened trusted (header only),
    // as the servers open it at start.
    for at in 64..good.len() {
        let mut bytes = good.clone();
        bytes[at] ^= 0xA5;
        let path = dir.path().join(format!("{at}.img"));
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&bytes)
            .unwrap();
        let Ok(image) = Image::open_trusted(&path) else {
            continue;
        };
        let view = Arc::new(crate::view::View::plain(Arc::new(image)));
        let zones = Zones::from_views(vec![view.clone()]);
        for name in names {
            for rtype in [RecordType::A, RecordType::NS, RecordType::SOA] {
                let answered = std::panic::catch_unwind(|| ask(&zones, name, rtype));
                let Ok((rcode, aa, tc, counts, kind)) = answered else {
                    continue;
                };
                if kind == ResponseKind::Damaged {
                    damaged += 1;
                    assert_eq!((rcode, aa, tc, counts), (2, false, false, [1, 0, 0, 0]));
                    assert!(view.is_damaged());
                } else {
                    // Small answers always fit: damage never passes as truncation.
                    assert!(!tc, "byte {at}, {name} {rtype}: truncated");
                }
            }
        }
    }
    assert!(damaged > 0, "some damage is seen as such");
}
