//! Diffs, patches, composition and the changeset encoding.

use proptest::prelude::*;
use zonefiles::changeset::{self, Changeset, PatchError};
use zonefiles::whois::{Domain, DomainStatus, Nameserver, Object, ObjectKey, WhoisOp};
use zonefiles::{Class, Name, Record, RecordType, Zone, rdata};

fn soa(serial: u32) -> Record {
    let mut wire = Vec::new();
    let text = format!("ns.tld. h.tld. {serial} 7200 3600 1209600 300");
    let tokens: Vec<_> = text
        .split(' ')
        .map(|t| zonefiles::master::Token {
            bytes: t.as_bytes(),
            quoted: false,
        })
        .collect();
    rdata::parse(RecordType::SOA, &tokens, None, &mut wire).unwrap();
    Record {
        owner: "tld.".parse().unwrap(),
        rtype: RecordType::SOA,
        class: Class::IN,
        ttl: 3600,
        rdata: wire.into(),
    }
}

fn zone_strategy(serial: u32) -> impl Strategy<Value = Zone> {
    let record = (
        0u8..12,
        prop_oneof![
            Just(RecordType::A),
            Just(RecordType::TXT),
            Just(RecordType::NS)
        ],
        0u8..4,
        prop_oneof![Just(300u32), Just(600)],
    )
        .prop_map(|(owner, rtype, value, ttl)| {
            let owner: Name = format!("d{owner}.tld.").parse().unwrap();
            let rdata: Vec<u8> = match rtype {
                RecordType::A => vec![192, 0, 2, value],
                RecordType::TXT => vec![1, b'a' + value],
                _ => Name::from_text(format!("ns{value}.host.net.").as_bytes(), None)
                    .unwrap()
                    .as_wire()
                    .to_vec(),
            };
            (owner, rtype, ttl, rdata)
        });
    proptest::collection::vec(record, 0..40).prop_map(move |records| {
        let mut records: Vec<Record> = records
            .into_iter()
            .map(|(owner, rtype, ttl, rdata)| Record {
                owner,
                rtype,
                class: Class::IN,
                ttl,
                rdata: rdata.into(),
            })
            .collect();
        records.push(soa(serial));
        // One TTL per RRset: the zone builder lowers differing TTLs.
        Zone::new("tld.".parse().unwrap(), Class::IN, records).0
    })
}

proptest! {
    #[test]
    fn apply_of_diff_gives_the_new_zone(a in zone_strategy(10), b in zone_strategy(11)) {
        let cs = changeset::diff(&a, &b).unwrap();
        prop_assert_eq!(changeset::apply(a.clone(), &cs).unwrap(), b.clone());
        let decoded = Changeset::decode(&cs.encode()).unwrap();
        prop_assert_eq!(&decoded, &cs);
    }

    #[test]
    fn composing_changesets_equals_applying_them_in_turn(a in zone_strategy(1), b in zone_strategy(2), c in zone_strategy(3), d in zone_strategy(4)) {
        let steps = [changeset::diff(&a, &b).unwrap(), changeset::diff(&b, &c).unwrap(), changeset::diff(&c, &d).unwrap()];
        let net = changeset::compose(&steps).unwrap().unwrap();
        prop_assert_eq!(changeset::apply(a.clone(), &net).unwrap(), d.clone());
    }

    /// A compaction compiles the old image read in order with the changes applied node by
    /// node: the image is byte for byte the one compiled from the patched zone in memory.
    #[test]
    fn an_image_patched_in_order_compiles_as_the_patched_zone(a in zone_strategy(10), b in zone_strategy(11)) {
        let cs = changeset::diff(&a, &b).unwrap();
        let base = zonefiles::Image::from_bytes(zonefiles::image::compile(&a, |_| {}).unwrap().0).unwrap();
        let patched = changeset::Patched { image: &base, changeset: Some(&cs) };
        let streamed = zonefiles::image::compile_nodes(a.origin(), Class::IN, patched, |_| {})
            .unwrap()
            .into_bytes();
        let in_memory = zonefiles::image::compile(&changeset::apply(a, &cs).unwrap(), |_| {}).unwrap().0;
        prop_assert_eq!(streamed, in_memory);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Changeset::decode(&bytes);
    }
}

#[test]
fn diff_refuses_a_serial_that_does_not_advance() {
    let a = Zone::new("tld.".parse().unwrap(), Class::IN, vec![soa(5)]).0;
    let b = Zone::new("tld.".parse().unwrap(), Class::IN, vec![soa(5)]).0;
    assert_eq!(
        changeset::diff(&a, &b).unwrap_err().to_string(),
        "serial 5 is not after 5; raise the new zone's serial"
    );
    // RFC 1982: 4294967295 → 0 advances.
    let c = Zone::new("tld.".parse().unwrap(), Class::IN, vec![soa(u32::MAX)]).0;
    let d = Zone::new("tld.".parse().unwrap(), Class::IN, vec![soa(0)]).0;
    assert!(changeset::diff(&c, &d).is_ok());
}

#[test]
fn apply_refuses_a_changeset_for_another_serial_or_missing_records() {
    let a = Zone::new("tld.".parse().unwrap(), Class::IN, vec![soa(1)]).0;
    let b = Zone::new("tld.".parse().unwrap(), Class::IN, vec![soa(2)]).0;
    let mut cs = changeset::diff(&a, &b).unwrap();
    assert_eq!(
        changeset::apply(b.clone(), &cs).unwrap_err(),
        PatchError::Serial {
            expected: 1,
            found: 2
        }
    );
    cs.removed.push(Record {
        owner: "x.tld.".parse().unwrap(),
        rtype: RecordType::A,
        class: Class::IN,
        ttl: 1,
        rdata: vec![1, 2, 3, 4].into(),
    });
    assert!(matches!(
        changeset::apply(a, &cs),
        Err(PatchError::Missing(_))
    ));
}

#[test]
fn whois_operations_travel_with_the_changeset() {
    let a = Zone::new("tld.".parse().unwrap(), Class::IN, vec![soa(1)]).0;
    let b = Zone::new("tld.".parse().unwrap(), Class::IN, vec![soa(2)]).0;
    let mut cs = changeset::diff(&a, &b).unwrap();
    cs.whois = vec![
        WhoisOp::Set(Object::Domain(Domain {
            name: "example.tld".into(),
            roid: "D1-TLD".into(),
            registrar: 9999,
            statuses: vec![DomainStatus::ClientTransferProhibited],
            nameservers: vec![Nameserver {
                name: "ns1.example.tld".into(),
                addresses: vec!["192.0.2.1".parse().unwrap()],
            }],
            ds: vec![],
            created: 1_700_000_000,
            updated: 1_700_000_000,
            expires: 1_731_536_000,
        })),
        WhoisOp::Delete(ObjectKey::Domain("gone.tld".into())),
    ];
    assert_eq!(Changeset::decode(&cs.encode()).unwrap(), cs);
}
