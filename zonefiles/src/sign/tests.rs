use super::keys::{Algorithm, KeyPair, SECURE_ENTRY_POINT, ZONE_KEY, ZoneKey};
use super::*;

fn zone(text: &str) -> Zone {
    let origin = Name::from_text(b"tld.", None).unwrap();
    let options = crate::master::ParseOptions {
        origin: Some(origin.clone()),
        ..Default::default()
    };
    let records = crate::master::Reader::from_bytes("test", text.as_bytes().to_vec(), options)
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    Zone::new(origin, Class::IN, records).0
}

fn key(flags: u16) -> ZoneKey {
    ZoneKey::new(
        flags,
        Box::new(KeyPair::generate(Algorithm::EcdsaP256Sha256).unwrap()),
    )
}

const ZONE: &str = "\
tld. 3600 IN SOA ns.tld. hostmaster.tld. 1 3600 900 604800 300
tld. 3600 IN NS ns.tld.
ns.tld. 3600 IN A 192.0.2.1
a.b.tld. 3600 IN NS ns.a.b.tld.
ns.a.b.tld. 3600 IN A 192.0.2.2
secure.tld. 3600 IN NS ns.example.
secure.tld. 3600 IN DS 1 13 2 0000000000000000000000000000000000000000000000000000000000000000
unsigned.tld. 3600 IN NS ns.example.
";

fn types(zone: &Zone, owner: &str, rtype: RecordType) -> Vec<Vec<RecordType>> {
    let owner = Name::from_text(owner.as_bytes(), None).unwrap();
    zone.records()
        .iter()
        .filter(|r| r.rtype == rtype && (owner.is_root() || r.owner == owner))
        .map(|r| {
            let bitmap_at = match rtype {
                RecordType::NSEC => crate::name::wire_name_len(&r.rdata).unwrap(),
                _ => {
                    let salt = usize::from(r.rdata[4]);
                    5 + salt + 1 + usize::from(r.rdata[5 + salt])
                }
            };
            rdata::bitmap_types(&r.rdata[bitmap_at..])
        })
        .collect()
}

#[test]
fn opt_out_keeps_the_apex_the_signed_delegation_and_what_leads_to_them() {
    let signed = sign_zone(
        &zone(ZONE),
        &[key(SECURE_ENTRY_POINT), key(ZONE_KEY)],
        &Policy::default(),
        1_800_000_000,
    )
    .unwrap();
    let chain = types(&signed, ".", RecordType::NSEC3);
    // The apex and secure.tld; ns.tld (authoritative A); not a.b.tld, unsigned.tld (opt-out),
    // nor b.tld (an empty non-terminal that only leads to an insecure delegation), nor glue.
    assert_eq!(chain.len(), 3, "{chain:?}");
    assert!(chain.contains(&vec![RecordType::NS, RecordType::DS, RecordType::RRSIG]));
    assert!(chain.contains(&vec![RecordType::A, RecordType::RRSIG]));
    // Signatures: SOA, apex NS, DNSKEY, NSEC3PARAM, ns.tld A, the DS, 3 NSEC3; never the
    // delegation NS sets or glue.
    let rrsigs: Vec<&Record> = signed
        .records()
        .iter()
        .filter(|r| r.rtype == RecordType::RRSIG)
        .collect();
    assert_eq!(rrsigs.len(), 9);
    let glue = Name::from_text(b"ns.a.b.tld.", None).unwrap();
    assert!(rrsigs.iter().all(|r| r.owner != glue));
    let covered = |r: &Record| RecordType(u16::from_be_bytes([r.rdata[0], r.rdata[1]]));
    assert!(
        !rrsigs
            .iter()
            .any(|r| covered(r) == RecordType::NS && r.owner != *signed.origin())
    );
}

#[test]
fn without_opt_out_every_delegation_and_empty_non_terminal_is_in_the_chain() {
    let policy = Policy {
        denial: Denial::Nsec3 {
            iterations: 0,
            salt: vec![],
            opt_out: false,
        },
        ..Policy::default()
    };
    let signed = sign_zone(
        &zone(ZONE),
        &[key(SECURE_ENTRY_POINT)],
        &policy,
        1_800_000_000,
    )
    .unwrap();
    let chain = types(&signed, ".", RecordType::NSEC3);
    // apex, ns, a.b, b (empty), secure, unsigned.
    assert_eq!(chain.len(), 6, "{chain:?}");
    assert!(chain.contains(&vec![]));
    assert!(chain.contains(&vec![RecordType::NS]));
}

#[test]
fn nsec_chains_every_name_but_glue() {
    let policy = Policy {
        denial: Denial::Nsec,
        ..Policy::default()
    };
    let signed = sign_zone(
        &zone(ZONE),
        &[key(SECURE_ENTRY_POINT), key(ZONE_KEY)],
        &policy,
        1_800_000_000,
    )
    .unwrap();
    let chain = types(&signed, ".", RecordType::NSEC);
    assert_eq!(chain.len(), 5, "{chain:?}");
    assert_eq!(
        types(&signed, "unsigned.tld.", RecordType::NSEC),
        [vec![RecordType::NS, RecordType::RRSIG, RecordType::NSEC]]
    );
}

#[test]
fn a_zone_without_keys_or_soa_is_refused() {
    assert!(matches!(
        sign_zone(&zone(ZONE), &[key(ZONE_KEY)], &Policy::default(), 0),
        Err(SignError::NoKey(_))
    ));
    let no_soa = zone("tld. 3600 IN NS ns.tld.\n");
    assert!(matches!(
        sign_zone(&no_soa, &[key(SECURE_ENTRY_POINT)], &Policy::default(), 0),
        Err(SignError::NoSoa)
    ));
}
