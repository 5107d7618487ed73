//! The compiled zone image answers every look-up exactly like a naive model of the zone.

use std::collections::BTreeSet;

use proptest::prelude::*;
use zonefiles::image::{self, Find, Image};
use zonefiles::{Class, Name, Record, RecordType, Zone, rdata};

/// What a look-up should find, worked out from first principles over the record list.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expected {
    Exact(Name),
    Referral(Name),
    Dname(Name),
    Wildcard(Name),
    NxDomain(Name),
    OutOfZone,
}

fn naive_find(zone: &Zone, qname: &Name) -> Expected {
    let origin = zone.origin();
    if !qname.is_subdomain_of(origin) {
        return Expected::OutOfZone;
    }
    // Every owner and every name between an owner and the apex exists.
    let mut names = BTreeSet::new();
    for r in zone.records() {
        let mut n = Some(r.owner.clone());
        while let Some(name) = n {
            if !name.is_subdomain_of(origin) {
                break;
            }
            n = name.parent();
            names.insert(name);
        }
    }
    let mut ancestors = Vec::new();
    let mut n = qname.parent();
    while let Some(name) = n {
        if !name.is_subdomain_of(origin) {
            break;
        }
        n = name.parent();
        ancestors.push(name);
    }
    ancestors.reverse();
    for ancestor in &ancestors {
        if ancestor != origin && !zone.get(ancestor, RecordType::NS).is_empty() {
            return Expected::Referral(ancestor.clone());
        }
        if !zone.get(ancestor, RecordType::DNAME).is_empty() {
            return Expected::Dname(ancestor.clone());
        }
    }
    if names.contains(qname) {
        return Expected::Exact(qname.clone());
    }
    let encloser = ancestors
        .iter()
        .rev()
        .find(|a| names.contains(*a))
        .expect("apex")
        .clone();
    if names.contains(&encloser.child(b"*").unwrap()) {
        Expected::Wildcard(encloser)
    } else {
        Expected::NxDomain(encloser)
    }
}

fn suffix(qname: &Name, offset: usize) -> Name {
    Name::from_wire(&qname.as_wire()[offset..]).unwrap().0
}

fn observed(image: &Image, qname: &Name) -> Expected {
    expected(image.find(qname).unwrap(), qname)
}

fn walked(image: &Image, qname: &Name) -> Expected {
    expected(image.find_walking(qname).unwrap(), qname)
}

fn expected(found: Find<'_>, qname: &Name) -> Expected {
    match found {
        Find::Exact(_) => Expected::Exact(qname.clone()),
        Find::Referral { offset, .. } => Expected::Referral(suffix(qname, offset)),
        Find::Dname { offset, .. } => Expected::Dname(suffix(qname, offset)),
        Find::Wildcard { offset, .. } => Expected::Wildcard(suffix(qname, offset)),
        Find::NxDomain { offset, .. } => Expected::NxDomain(suffix(qname, offset)),
        Find::OutOfZone => Expected::OutOfZone,
    }
}

fn label() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("a"),
        Just("b"),
        Just("ns"),
        Just("*"),
        Just("x-y"),
        Just("\\000")
    ]
}

fn name_below_tld(max: usize) -> impl Strategy<Value = Name> {
    proptest::collection::vec(label(), 0..max).prop_map(|labels| {
        let mut text = labels.join(".");
        if !text.is_empty() {
            text.push('.');
        }
        text.push_str("tld.");
        text.parse().unwrap()
    })
}

fn record(owner: Name, rtype: RecordType, rdata: &str) -> Record {
    let mut wire = Vec::new();
    let tokens: Vec<zonefiles::master::Token<'_>> = rdata
        .split(' ')
        .map(|t| zonefiles::master::Token {
            bytes: t.as_bytes(),
            quoted: false,
        })
        .collect();
    rdata::parse(rtype, &tokens, Some(&"tld.".parse().unwrap()), &mut wire).unwrap();
    Record {
        owner,
        rtype,
        class: Class::IN,
        ttl: 300,
        rdata: wire.into(),
    }
}

fn zone_strategy() -> impl Strategy<Value = Zone> {
    let entry = (
        name_below_tld(4),
        prop_oneof![
            Just((RecordType::A, "192.0.2.1")),
            Just((RecordType::AAAA, "2001:db8::1")),
            Just((RecordType::NS, "ns.a.tld.")),
            Just((RecordType::NS, "ns.elsewhere.")),
            Just((RecordType::TXT, "t")),
            Just((RecordType::DNAME, "b.tld.")),
            Just((RecordType::MX, "10 ns.a.tld.")),
        ],
    );
    proptest::collection::vec(entry, 0..25).prop_map(|entries| {
        let apex: Name = "tld.".parse().unwrap();
        let mut records = vec![
            record(apex.clone(), RecordType::SOA, "ns.tld. h.tld. 1 2 3 4 5"),
            record(apex.clone(), RecordType::NS, "ns.tld."),
        ];
        for (owner, (rtype, rdata)) in entries {
            if owner == apex && rtype == RecordType::NS {
                continue;
            }
            records.push(record(owner, rtype, rdata));
        }
        Zone::new(apex, Class::IN, records).0
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn image_finds_like_the_naive_model(zone in zone_strategy(), queries in proptest::collection::vec(name_below_tld(6), 1..30)) {
        let (bytes, _) = image::compile(&zone, |_| {}).unwrap();
        let image = Image::from_bytes(bytes.clone()).unwrap();
        image.verify().unwrap();
        prop_assert_eq!(image.to_zone().unwrap(), zone.clone());
        let owners: Vec<Name> = zone.records().iter().map(|r| r.owner.clone()).collect();
        for qname in queries.iter().chain(&owners).chain([&"other.".parse::<Name>().unwrap()]) {
            let expected = naive_find(&zone, qname);
            // Through the table of names below the apex, and through the fst walk alone.
            prop_assert_eq!(observed(&image, qname), expected.clone(), "qname {}", qname);
            prop_assert_eq!(walked(&image, qname), expected, "qname {} (walk)", qname);
            // The subtree walk gives exactly the names at or below the query name.
            let mut all = Vec::new();
            image.for_each_node(|name, _| { all.push(name.clone()); Ok(()) }).unwrap();
            let mut under = Vec::new();
            image.for_each_node_under(qname, |name, _| { under.push(name.clone()); Ok(()) }).unwrap();
            all.retain(|name| name.is_subdomain_of(qname));
            prop_assert_eq!(under, all, "names under {}", qname);
            if let Find::Exact(node) = image.find(qname).unwrap() {
                let types: Vec<RecordType> = node.types().unwrap().collect();
                let mut want: Vec<RecordType> = zone.node(qname).iter().map(|r| r.rtype).collect();
                want.dedup();
                prop_assert_eq!(types, want);
                for rtype in node.types().unwrap() {
                    let rrset = node.rrset(rtype).unwrap().unwrap();
                    let got: Vec<&[u8]> = rrset.records().map(|r| r.unwrap()).collect();
                    let want: Vec<&[u8]> = zone.get(qname, rtype).iter().map(|r| &r.rdata[..]).collect();
                    prop_assert_eq!(got, want);
                }
            }
        }
    }

    /// Damaged images give errors, never panics.
    #[test]
    fn damaged_images_never_panic(zone in zone_strategy(), flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let (mut bytes, _) = image::compile(&zone, |_| {}).unwrap();
        let original = bytes.clone();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= value | 1;
        }
        let changed = bytes != original;
        if let Ok(image) = Image::from_bytes(bytes) {
            if changed {
                prop_assert!(image.verify().is_err());
            }
            for owner in zone.records().iter().map(|r| &r.owner) {
                if let Ok(Find::Exact(node)) = image.find(owner) {
                    for rrset in node.rrsets().flatten() {
                        let _ = rrset.1.records().count();
                        let _ = rrset.1.additionals().count();
                    }
                }
            }
            let _ = image.to_zone();
        }
    }
}

#[test]
fn referral_carries_glue_for_in_bailiwick_name_servers() {
    let text = "@ 300 SOA ns.tld. h.tld. 1 2 3 4 5\n@ 300 NS ns.nic.tld.\nns.nic 300 A 192.0.2.53\n\
                example 300 NS ns1.example.tld.\nexample 300 NS ns.nic.tld.\nexample 300 NS ns.other.\n\
                ns1.example 300 A 198.51.100.1\nns1.example 300 AAAA 2001:db8::1\n";
    let (zone, _) = crate::support::zone(text);
    let (bytes, _) = image::compile(&zone, |_| {}).unwrap();
    let image = Image::from_bytes(bytes).unwrap();
    let Find::Referral { cut, offset } = image.find(&"www.example.tld.".parse().unwrap()).unwrap()
    else {
        panic!("expected a referral");
    };
    assert_eq!(offset, 4);
    assert!(cut.is_delegation());
    let ns = cut.rrset(RecordType::NS).unwrap().unwrap();
    let glue: Vec<(usize, bool, bool)> = ns
        .additionals()
        .map(|g| g.unwrap())
        .map(|(i, a, aaaa)| (i, a.is_some(), aaaa.is_some()))
        .collect();
    // NS records in canonical rdata order: ns.nic.tld., ns.other., ns1.example.tld.
    assert_eq!(glue, [(0, true, false), (2, true, true)]);
}

/// The answer path's one pass over records and their addresses agrees with the records and
/// their links read apart, for NS (stored by target) and MX (stored inline).
#[test]
fn records_come_with_their_addresses_in_one_pass() {
    let text = "@ 300 SOA ns.tld. h.tld. 1 2 3 4 5\n@ 300 NS ns.nic.tld.\nns.nic 300 A 192.0.2.53\n\
                @ 300 MX 10 mx.other.\n@ 300 MX 20 mail.tld.\n@ 300 MX 30 ns.nic.tld.\n\
                mail 300 AAAA 2001:db8::25\n\
                example 300 NS ns1.example.tld.\nexample 300 NS ns.nic.tld.\nexample 300 NS ns.other.\n\
                ns1.example 300 A 198.51.100.1\nns1.example 300 AAAA 2001:db8::1\n";
    let (zone, _) = crate::support::zone(text);
    let (bytes, _) = image::compile(&zone, |_| {}).unwrap();
    let image = Image::from_bytes(bytes).unwrap();
    let apex = image.node(image.origin()).unwrap().unwrap();
    let Find::Referral { cut, .. } = image.find(&"www.example.tld.".parse().unwrap()).unwrap()
    else {
        panic!("expected a referral");
    };
    for (node, rtype, linked) in [(apex, RecordType::MX, 2), (cut, RecordType::NS, 2)] {
        let rrset = node.rrset(rtype).unwrap().unwrap();
        let apart: Vec<(Vec<u8>, bool, bool)> = {
            let links: Vec<_> = rrset.additionals().map(|l| l.unwrap()).collect();
            rrset
                .records()
                .enumerate()
                .map(|(i, rdata)| {
                    let link = links.iter().find(|l| l.0 == i);
                    (
                        rdata.unwrap().to_vec(),
                        link.is_some_and(|l| l.1.is_some()),
                        link.is_some_and(|l| l.2.is_some()),
                    )
                })
                .collect()
        };
        let together: Vec<(Vec<u8>, bool, bool)> = rrset
            .records_and_addresses()
            .map(|r| r.unwrap())
            .map(|(rdata, a, aaaa)| (rdata.to_vec(), a.is_some(), aaaa.is_some()))
            .collect();
        assert_eq!(together, apart, "{rtype}");
        assert_eq!(together.len(), 3);
        assert_eq!(together.iter().filter(|r| r.1 || r.2).count(), linked);
    }
}

#[test]
fn truncated_and_foreign_files_are_refused() {
    let (zone, _) = crate::support::zone("@ 300 SOA ns.tld. h.tld. 1 2 3 4 5\n@ 300 NS ns.x.\n");
    let (bytes, _) = image::compile(&zone, |_| {}).unwrap();
    for len in [0, 7, 100, 129, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            Image::from_bytes(bytes[..len].to_vec()).is_err(),
            "length {len}"
        );
    }
    assert!(Image::from_bytes(b"$ORIGIN tld.\n".repeat(20)).is_err());
    let mut other_version = bytes.clone();
    other_version[8] = 2;
    let error = Image::from_bytes(other_version).unwrap_err();
    assert_eq!(
        error.to_string(),
        "zone image format version 2; this build reads versions 3 to 5: compile the zone again"
    );
}

/// Delegations whose name servers are drawn in pairs from a small pool (most registries' long
/// tail) store each name server once, with its addresses, however many delegations name it.
#[test]
fn name_servers_shared_in_pairs_are_stored_once() {
    let mut text = String::from("@ 300 SOA ns.tld. h.tld. 1 2 3 4 5\n@ 300 NS ns.nic.tld.\n");
    for host in 0..10 {
        text += &format!("ns.host{host} 300 A 192.0.2.{host}\n");
    }
    for domain in 0..200 {
        let (a, b) = (domain % 10, (domain * 7 + 3) % 10);
        text +=
            &format!("d{domain} 300 NS ns.host{a}.tld.\nd{domain} 300 NS ns{b}.pool.example.\n");
    }
    let (zone, _) = crate::support::zone(&text);
    let (bytes, _) = image::compile(&zone, |_| {}).unwrap();
    let stored = |wire: &[u8]| bytes.windows(wire.len()).filter(|w| *w == wire).count();
    assert_eq!(stored(b"\x02ns\x05host3\x03tld\x00"), 1);
    assert_eq!(stored(b"\x03ns6\x04pool\x07example\x00"), 1);
    let image = Image::from_bytes(bytes).unwrap();
    image.verify().unwrap();
    let Find::Referral { cut, .. } = image.find(&"www.d17.tld.".parse().unwrap()).unwrap() else {
        panic!("expected a referral");
    };
    let ns = cut.rrset(RecordType::NS).unwrap().unwrap();
    let targets: Vec<Name> = ns
        .records()
        .map(|rdata| Name::from_wire(rdata.unwrap()).unwrap().0)
        .collect();
    assert_eq!(
        targets,
        [
            "ns.host7.tld.".parse().unwrap(),
            "ns2.pool.example.".parse().unwrap()
        ]
    );
    let glue: Vec<(usize, bool, bool)> = ns
        .additionals()
        .map(|g| g.unwrap())
        .map(|(i, a, aaaa)| (i, a.is_some(), aaaa.is_some()))
        .collect();
    assert_eq!(glue, [(0, true, false)]);
}

/// A fuzzer-made image whose index passes its checksum but whose nodes point outside it
/// (found by `fuzz/fuzz_targets/image_open.rs`): refused at open, no panic.
#[test]
fn crafted_index_is_refused() {
    let bytes = std::fs::read(crate::support::testdata().join("images/crafted_index.img")).unwrap();
    assert!(matches!(
        Image::from_bytes(bytes),
        Err(zonefiles::image::ImageError::Corrupt(_))
    ));
}

/// A zone with NSEC3 records at `hashes` (and a hashed-looking name without one, and one
/// further down, which are not NSEC3 owners of the chain).
fn nsec3_zone(hashes: &BTreeSet<[u8; 20]>) -> Zone {
    let mut text = String::from("@ 300 SOA ns.tld. h.tld. 1 2 3 4 5\n@ 300 NS ns.x.\n");
    let next = String::from_utf8(image::base32hex(&[0xee; 20]).to_vec()).unwrap();
    for hash in hashes {
        let label = String::from_utf8(image::base32hex(hash).to_vec()).unwrap();
        text += &format!(
            "{label} 300 NSEC3 1 1 0 - {} A\n",
            next.to_ascii_uppercase()
        );
    }
    text += &format!("{} 300 A 192.0.2.1\n", "0".repeat(32));
    text += &format!(
        "a.{} 300 NSEC3 1 1 0 - {} A\n",
        "1".repeat(32),
        "2".repeat(32)
    );
    crate::support::zone(&text).0
}

/// `bytes` (an image of the current version) rewritten in the version 4 layout: no `nsec3`
/// section, the digest at 112 and the origin at 144.
fn as_version_4(bytes: &[u8]) -> Vec<u8> {
    let header = image::format::Header::read(bytes).unwrap();
    let origin = header.origin.as_wire();
    let len = (144 + 1 + origin.len()).next_multiple_of(8);
    let shift = |offset: u64| offset - header.len as u64 + len as u64;
    let mut out = bytes[..48].to_vec();
    out[8..12].copy_from_slice(&4u32.to_le_bytes());
    out[12..16].copy_from_slice(&(len as u32).to_le_bytes());
    for section in [
        header.rrsets_section,
        header.nodes_section,
        header.index_section,
        header.top_section,
    ] {
        out.extend_from_slice(&shift(section.offset).to_le_bytes());
        out.extend_from_slice(&section.len.to_le_bytes());
    }
    out.extend_from_slice(&[0; 32]);
    out.push(origin.len() as u8);
    out.extend_from_slice(origin);
    out.resize(len, 0);
    let end = (header.top_section.offset + header.top_section.len).next_multiple_of(8);
    out.extend_from_slice(&bytes[header.len..end as usize]);
    let digest = ring::digest::digest(&ring::digest::SHA256, &out);
    out[112..144].copy_from_slice(digest.as_ref());
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The NSEC3 record that matches or covers a hash is the one a scan of the zone's NSEC3
    /// owners gives, from the image's table and from the table built for a version 4 image.
    #[test]
    fn nsec3_searches_agree_with_a_scan_of_the_owners(
        owners in proptest::collection::btree_set(any::<[u8; 20]>(), 1..40),
        asked in proptest::collection::vec(any::<[u8; 20]>(), 1..20),
    ) {
        let zone = nsec3_zone(&owners);
        let (bytes, _) = image::compile(&zone, |_| {}).unwrap();
        let old = Image::from_bytes(as_version_4(&bytes)).unwrap();
        let new = Image::from_bytes(bytes).unwrap();
        prop_assert_eq!(old.header().version, 4);
        new.verify().unwrap();
        old.verify().unwrap();
        let asked = asked.iter().chain(owners.iter().take(3));
        for hash in asked {
            let covering = owners
                .range(..*hash)
                .next_back()
                .or(owners.last())
                .map(|h| image::base32hex(h).to_vec());
            let matching = owners.contains(hash).then(|| image::base32hex(hash).to_vec());
            for image in [&new, &old] {
                let label = |found: Option<image::Owned<'_>>| {
                    found.map(|(owner, node)| {
                        assert!(node.rrset(RecordType::NSEC3).unwrap().is_some());
                        owner.as_wire()[1..33].to_vec()
                    })
                };
                prop_assert_eq!(label(image.nsec3_matching(hash).unwrap()), matching.clone());
                if matching.is_none() {
                    prop_assert_eq!(label(image.nsec3_covering(hash).unwrap()), covering.clone());
                }
            }
        }
    }
}

/// An `nsec3` section that does not match the index fails verification, even under a digest
/// made for it.
#[test]
fn an_nsec3_table_that_disagrees_with_the_index_fails_verification() {
    let owners: BTreeSet<[u8; 20]> = [[1; 20], [2; 20], [3; 20]].into();
    let (mut bytes, _) = image::compile(&nsec3_zone(&owners), |_| {}).unwrap();
    let header = image::format::Header::read(&bytes).unwrap();
    assert_eq!(header.nsec3_section.len, 3 * 25);
    // The second entry's hash made equal to the first's.
    bytes[header.nsec3_section.offset as usize + 25] = 1;
    let at = image::format::digest_at(header.version);
    bytes[at..at + 32].fill(0);
    let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
    bytes[at..at + 32].copy_from_slice(digest.as_ref());
    let image = Image::from_bytes(bytes).unwrap();
    assert!(matches!(image.verify(), Err(image::ImageError::Corrupt(_))));
}
