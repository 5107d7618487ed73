//! The master-file reader on arbitrary text: errors, never panics; and whatever reads, the
//! writer writes back to text that reads to the same records, and the DNSSEC verifier checks
//! without panicking (arbitrary DNSKEY, RRSIG and NSEC3 rdata included).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zonefiles::master::{self, ParseOptions};
use zonefiles::{Class, Name, Zone};

fuzz_target!(|data: &[u8]| {
    let origin: Name = "tld.".parse().unwrap();
    let options = ParseOptions {
        origin: Some(origin.clone()),
        allow_include: false,
        ..ParseOptions::default()
    };
    let Ok(records) = master::parse_bytes("fuzz", data, options.clone()) else {
        return;
    };
    let (zone, _) = Zone::new(origin.clone(), Class::IN, records);
    let _ = zonefiles::check(&zone);
    let _ = zonefiles::sign::verify::verify_zone(&zone, 1_800_000_000);
    let mut text = Vec::new();
    master::write_records(zone.records(), &mut text).unwrap();
    let again = master::parse_bytes("rewritten", &text, options).expect("written text reads back");
    let (again, _) = Zone::new(origin, Class::IN, again);
    assert_eq!(zone, again);
});
