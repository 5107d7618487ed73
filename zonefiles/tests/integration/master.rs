//! Master-file reading and writing.

use hickory_proto::rr::{RData, RecordType as HickoryType};
use hickory_proto::serialize::binary::{BinDecoder, BinEncodable, BinEncoder, Restrict};
use proptest::prelude::*;
use zonefiles::master::{self, ParseOptions};
use zonefiles::rdata::{self, Field, schema};
use zonefiles::{Name, Record, RecordType};

use crate::support::{testdata, zone};

fn parse(text: &str) -> Result<Vec<Record>, String> {
    let options = ParseOptions {
        origin: Some("tld.".parse().unwrap()),
        ..ParseOptions::default()
    };
    master::parse_bytes("z.zone", text.as_bytes(), options).map_err(|e| e.to_string())
}

#[test]
fn errors_name_file_line_column_and_what_was_expected() {
    let cases = [
        (
            "@ 3600 IN A 192.0.2.256\n",
            "z.zone:1:13: bad A rdata: expected an IPv4 address",
        ),
        (
            "@ 3600 IN MX 10\n",
            "z.zone:1:16: bad MX rdata: expected a domain name",
        ),
        (
            "\n\nwww 3600 IN BOGUS x\n",
            "z.zone:3:13: expected a record type, found `BOGUS`",
        ),
        (
            "www IN A 192.0.2.1\n",
            "z.zone:1:8: no TTL: expected a TTL here or a $TTL directive before this record",
        ),
        (
            "  3600 IN A 192.0.2.1\n",
            "z.zone:1:3: no owner: the first record must name its owner",
        ),
        (
            "www 3600 IN TXT ( \"a\"\n",
            "z.zone:2:1: unclosed parenthesis: expected `)` before the end of the file",
        ),
        (
            "www 3600 CH TXT \"a\"\n",
            "z.zone:1:13: class CH does not match the zone's class IN",
        ),
        (
            "www 3600 IN OPT \\# 0\n",
            "z.zone:1:13: type OPT cannot appear in a zone",
        ),
        (
            "a..b 3600 IN A 192.0.2.1\n",
            "z.zone:1:1: bad domain name `a..b`: empty label",
        ),
        (
            "$TTL 2147483648\n",
            "z.zone:1:6: TTL 2147483648 above 2147483647 (RFC 2181 §8)",
        ),
        (
            "$GENERATE 1-2 a$ A 1.2.3.$\n",
            "z.zone:1:1: unknown directive `$GENERATE`: expected $ORIGIN, $TTL or $INCLUDE",
        ),
        (
            "www 3600 IN A \\# 3 010203\n",
            "z.zone:1:20: bad A rdata: expected generic rdata that fits the type's format",
        ),
        (
            "www 3600 IN TYPE999 1 2\n",
            "z.zone:1:21: bad TYPE999 rdata: expected the RFC 3597 generic form `\\# length hex` for this type",
        ),
        (
            "www 3600 IN A 192.0.2.1 extra\n",
            "z.zone:1:25: bad A rdata: expected the end of the record",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(parse(text).unwrap_err(), expected, "for {text:?}");
    }
}

#[test]
fn ttl_defaults_follow_rfc2308_and_rfc1035() {
    let records = parse(
        "@ SOA ns. host. 1 2 3 4 300\nwww 60 A 192.0.2.1\nftp A 192.0.2.2\n$TTL 1h\nmail A 192.0.2.3\nnews 5 A 192.0.2.4\nx A 192.0.2.5\n",
    )
    .unwrap();
    let ttls: Vec<u32> = records.iter().map(|r| r.ttl).collect();
    // SOA minimum; explicit; last explicit; $TTL; explicit; $TTL again.
    assert_eq!(ttls, [300, 60, 60, 3600, 5, 3600]);
}

#[test]
fn generic_form_of_a_known_type_is_canonicalised() {
    let generic = parse("a 1 IN A \\# 4 C0000201\nb 1 IN NS \\# 9 034E53310348535400\n").unwrap();
    let plain = parse("a 1 IN A 192.0.2.1\nb 1 IN NS ns1.hst.\n").unwrap();
    assert_eq!(generic, plain);
}

#[test]
fn include_restores_the_origin_afterwards() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("inner.zone"), "www 60 A 192.0.2.1\n").unwrap();
    std::fs::write(
        dir.path().join("outer.zone"),
        "$ORIGIN tld.\n$INCLUDE inner.zone sub.tld.\nwww 60 A 192.0.2.2\n",
    )
    .unwrap();
    let records: Vec<Record> =
        zonefiles::Reader::open(&dir.path().join("outer.zone"), ParseOptions::default())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    let owners: Vec<String> = records.iter().map(|r| r.owner.to_string()).collect();
    assert_eq!(owners, ["www.sub.tld.", "www.tld."]);
}

#[test]
fn include_can_be_refused_and_cannot_recurse_forever() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loop.zone");
    std::fs::write(&path, "$INCLUDE loop.zone\n").unwrap();
    let error = zonefiles::Reader::open(&path, ParseOptions::default())
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("$INCLUDE nested more than 16 deep"),
        "{error}"
    );
    let options = ParseOptions {
        allow_include: false,
        ..ParseOptions::default()
    };
    let error = zonefiles::Reader::open(&path, options)
        .unwrap()
        .next()
        .unwrap()
        .unwrap_err();
    assert!(
        error.to_string().ends_with("$INCLUDE is not allowed here"),
        "{error}"
    );
}

#[test]
fn every_type_in_the_rich_zone_reads_and_writes_back() {
    let text = std::fs::read_to_string(testdata().join("master/rich.zone")).unwrap();
    let (zone, _) = zone(&text);
    let types: std::collections::BTreeSet<RecordType> =
        zone.records().iter().map(|r| r.rtype).collect();
    for required in [
        "SOA",
        "NS",
        "A",
        "AAAA",
        "CNAME",
        "DNAME",
        "MX",
        "TXT",
        "PTR",
        "SRV",
        "CAA",
        "DS",
        "DNSKEY",
        "RRSIG",
        "NSEC",
        "NSEC3",
        "NSEC3PARAM",
        "ZONEMD",
        "SVCB",
        "HTTPS",
    ] {
        assert!(
            types.contains(&RecordType::from_text(required.as_bytes()).unwrap()),
            "{required} missing"
        );
    }
    let mut written = Vec::new();
    master::write_zone(&zone, &mut written).unwrap();
    let (again, _) = crate::support::zone(std::str::from_utf8(&written).unwrap());
    assert_eq!(zone, again);
}

/// BIND's own canonical text of the rich zone (`testdata/master/regen.sh`) reads to the same
/// records as the source: our reader agrees with named-compilezone on every type.
#[test]
fn rich_zone_matches_named_compilezone_output() {
    let source = std::fs::read_to_string(testdata().join("master/rich.zone")).unwrap();
    let bind = std::fs::read_to_string(testdata().join("master/rich.bind")).unwrap();
    let (a, _) = zone(&source);
    let (b, _) = zone(&bind);
    assert_eq!(a.records(), b.records());
}

/// An independent decoder (hickory-proto) reads our wire rdata and writes the same bytes.
#[test]
fn rdata_wire_matches_hickory() {
    let text = std::fs::read_to_string(testdata().join("master/rich.zone")).unwrap();
    let (zone, _) = zone(&text);
    let mut checked = 0;
    for record in zone.records() {
        let rtype = HickoryType::from(record.rtype.0);
        let mut decoder = BinDecoder::new(&record.rdata);
        let rdata = RData::read(
            &mut decoder,
            rtype,
            Restrict::new(record.rdata.len() as u16),
        )
        .unwrap_or_else(|e| panic!("hickory cannot read {record}: {e}"));
        let mut bytes = Vec::new();
        let mut encoder = BinEncoder::new(&mut bytes);
        encoder.set_canonical_form(true);
        rdata.emit(&mut encoder).unwrap();
        assert_eq!(bytes, &record.rdata[..], "{record}");
        checked += 1;
    }
    assert!(checked > 20);
}

fn field_strategy(field: Field) -> BoxedStrategy<Vec<u8>> {
    let name = proptest::collection::vec("[a-z0-9*_-]{1,12}|\\\\[.]|[ -~]{1,3}", 0..4).prop_map(
        |labels| {
            let mut wire = Vec::new();
            for label in labels {
                wire.push(label.len() as u8);
                wire.extend(label.to_ascii_lowercase().bytes());
            }
            wire.push(0);
            wire
        },
    );
    let bytes = |min, max| proptest::collection::vec(any::<u8>(), min..max);
    let length_prefixed = move |min, max| {
        bytes(min, max).prop_map(|b| {
            let mut v = vec![b.len() as u8];
            v.extend(b);
            v
        })
    };
    match field {
        Field::U8 => bytes(1, 2).boxed(),
        Field::U16 | Field::Type => bytes(2, 3).boxed(),
        Field::U32 | Field::Duration | Field::Time | Field::Ipv4 => bytes(4, 5).boxed(),
        Field::Ipv6 => bytes(16, 17).boxed(),
        Field::Name => name.boxed(),
        Field::CharString | Field::Salt => length_prefixed(0, 40).boxed(),
        Field::NextHashed => length_prefixed(1, 33).boxed(),
        Field::CharStrings => proptest::collection::vec(length_prefixed(0, 30), 1..4)
            .prop_map(|v| v.concat())
            .boxed(),
        Field::HexRest | Field::Base64Rest => bytes(1, 80).boxed(),
        Field::RestString => bytes(0, 40).boxed(),
        Field::CaaTag => "[a-z0-9]{1,15}"
            .prop_map(|t| {
                let mut v = vec![t.len() as u8];
                v.extend(t.bytes());
                v
            })
            .boxed(),
        Field::TypeBitmap => proptest::collection::btree_set(1u16..1000, 0..8)
            .prop_map(|types| {
                let types: Vec<RecordType> = types.into_iter().map(RecordType).collect();
                let mut out = Vec::new();
                rdata::encode_bitmap(&types, &mut out);
                out
            })
            .boxed(),
        Field::SvcParams => proptest::collection::btree_map(
            prop_oneof![Just(1u16), Just(2), Just(3), Just(4), Just(6), 7u16..70],
            bytes(0, 20),
            0..5,
        )
        .prop_map(|params| {
            let mut out = Vec::new();
            for (key, value) in params {
                let value = match key {
                    1 => vec![2, b'h', b'2', 3, b'h', b',', b'3'],
                    2 => vec![],
                    3 => vec![1, 187],
                    4 => vec![192, 0, 2, 1, 192, 0, 2, 2],
                    6 => vec![0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                    _ => value,
                };
                out.extend(key.to_be_bytes());
                out.extend((value.len() as u16).to_be_bytes());
                out.extend(value);
            }
            out
        })
        .boxed(),
    }
}

fn record_strategy() -> impl Strategy<Value = (RecordType, Vec<u8>)> {
    let types: Vec<RecordType> = (1u16..300)
        .map(RecordType)
        .filter(|t| schema::layout(*t).is_some())
        .collect();
    proptest::sample::select(types).prop_flat_map(|rtype| {
        let fields: Vec<BoxedStrategy<Vec<u8>>> = schema::layout(rtype)
            .unwrap()
            .iter()
            .map(|f| field_strategy(*f))
            .collect();
        (Just(rtype), fields.prop_map(|parts| parts.concat()))
    })
}

proptest! {
    /// Any well-formed wire rdata writes to text that reads back to the same octets.
    #[test]
    fn written_rdata_reads_back((rtype, wire) in record_strategy()) {
        let mut canonical = wire.clone();
        prop_assume!(rdata::canonicalize(rtype, &mut canonical).is_ok());
        let record = Record {
            owner: "www.tld.".parse::<Name>().unwrap(),
            rtype,
            class: zonefiles::Class::IN,
            ttl: 300,
            rdata: canonical.into(),
        };
        let text = format!("{record}\n");
        let back = parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(&back, &vec![record], "{}", text);
    }

    /// Arbitrary text never panics the reader.
    #[test]
    fn arbitrary_text_never_panics(text in "[ -~\t\n\"();\\\\$@]{0,200}") {
        let _ = parse(&text);
    }
}
