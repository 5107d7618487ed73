//! Wire rdata of any type: if it fits its type, its text form reads back to the same octets.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zonefiles::master::{self, ParseOptions};
use zonefiles::{Class, Name, Record, RecordType, rdata};

fuzz_target!(|data: &[u8]| {
    let [t0, t1, rest @ ..] = data else { return };
    let rtype = RecordType(u16::from_be_bytes([*t0, *t1]));
    if rtype.is_meta() {
        return;
    }
    let mut wire = rest.to_vec();
    if rdata::canonicalize(rtype, &mut wire).is_err() {
        return;
    }
    let record = Record {
        owner: "x.tld.".parse::<Name>().unwrap(),
        rtype,
        class: Class::IN,
        ttl: 1,
        rdata: wire.into(),
    };
    let text = format!("{record}\n");
    let back = master::parse_bytes("rdata", text.as_bytes(), ParseOptions::default())
        .unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(back, vec![record], "{text}");
});
