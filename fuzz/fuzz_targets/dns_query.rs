//! The answer engine on arbitrary query bytes: no panic, a response never longer than the
//! transport allows, every response a well-formed message with the query's id that can be
//! truncated (as response rate limiting does); truncation of arbitrary bytes.
#![no_main]

use std::sync::{Arc, OnceLock};

use edge_dns::engine::{self, Config, CookieSecrets, Peer, Transport, Zones};
use libfuzzer_sys::fuzz_target;
use zonefiles::master::{self, ParseOptions};
use zonefiles::{Class, Zone, image};

const ZONE: &str = "tld. 300 IN SOA a.nic.tld. h.tld. 1 2 3 4 5\n\
tld. 300 IN NS a.nic.tld.\na.nic.tld. 300 IN A 192.0.2.1\n\
example.tld. 300 IN NS ns1.example.tld.\nns1.example.tld. 300 IN A 192.0.2.2\n\
*.wild.tld. 300 IN TXT \"w\"\nalias.tld. 300 IN CNAME a.nic.tld.\n\
old.tld. 300 IN DNAME new.tld.\nloop.tld. 300 IN DNAME x.loop.tld.\n\
tld. 300 IN NSEC3PARAM 1 0 1 aabb\n\
tld. 300 IN RRSIG SOA 13 1 300 20300101000000 20200101000000 1 tld. AAAA\n\
example.tld. 300 IN RRSIG NS 13 2 300 20300101000000 20200101000000 1 tld. AAAA\n\
0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.tld. 300 IN NSEC3 1 1 1 aabb 35MTHGPGCU1QG68FAB165KLNSNK3DPVL NS SOA RRSIG\n\
35mthgpgcu1qg68fab165klnsnk3dpvl.tld. 300 IN NSEC3 1 1 1 aabb 0P9MHAVEQVM6T7VBL5LOP2U3T2RP3TOM A\n";

fn zones() -> &'static Zones {
    static ZONES: OnceLock<Zones> = OnceLock::new();
    ZONES.get_or_init(|| {
        let records =
            master::parse_bytes("fuzz", ZONE.as_bytes(), ParseOptions::default()).unwrap();
        let (zone, _) = Zone::from_records(None, Class::IN, records);
        let (bytes, _) = image::compile(&zone, |_| {}).unwrap();
        let image = image::Image::from_bytes(bytes).unwrap();
        Zones::new(vec![Arc::new(image)])
    })
}

fn peer(transport: Transport) -> Peer {
    Peer {
        transport,
        addr: std::net::Ipv4Addr::LOCALHOST.into(),
        now: 1_700_000_000,
    }
}

fuzz_target!(|data: &[u8]| {
    let config = Config {
        identity: Some(b"fuzz".to_vec()),
        cookies: Some(CookieSecrets {
            current: [7; 16],
            previous: None,
        }),
        ..Config::default()
    };
    let mut out = [0u8; 65535];
    for (transport, limit) in [(Transport::Udp, 1232), (Transport::Tcp, 65535)] {
        if let Some((len, source)) =
            engine::respond(data, zones(), &config, &peer(transport), &mut out)
        {
            assert!(len <= limit && len >= 12);
            assert_eq!(out[..2], data[..2]);
            assert!(out[2] & 0x80 != 0, "responses have QR set");
            // What the response is about lies within the query (rate limiting hashes it).
            assert!(source.name.start <= source.name.end && source.name.end <= data.len());
            // The form it slips out in when rate limited: never longer, TC set.
            let cut = engine::truncate(&mut out, len).expect("our responses can be truncated");
            assert!(cut >= 12 && cut <= len && out[2] & 0x02 != 0);
        }
    }
    // Truncation reads anything without running past the end.
    let mut junk = [0u8; 512];
    let len = data.len().min(junk.len());
    junk[..len].copy_from_slice(&data[..len]);
    if let Some(cut) = engine::truncate(&mut junk, len) {
        assert!(cut <= len);
    }
});
