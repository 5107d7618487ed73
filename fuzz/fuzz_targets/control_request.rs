//! The path of requests that are not plain queries, on arbitrary bytes: TSIG verification, transfer requests, NOTIFY and
//! signed queries never panic, and whatever goes out is a response with the request's id.
#![no_main]

use std::sync::{Arc, OnceLock};

use edge_dns::config::{KeyConfig, TransferRule, ZoneConfig};
use edge_dns::requests::{self, Context, Reply};
use edge_dns::engine::{self, Kind, Peer, Transport};
use edge_dns::follow::{State, ZoneState};
use edge_dns::metrics::Metrics;
use edge_dns::tsig::Keyring;
use edge_dns::view::View;
use libfuzzer_sys::fuzz_target;
use zonefiles::master::{self, ParseOptions};
use zonefiles::{Class, Zone, image};

const ZONE: &str = "tld. 300 IN SOA a.nic.tld. h.tld. 1 2 3 4 5\n\
tld. 300 IN NS a.nic.tld.\na.nic.tld. 300 IN A 192.0.2.1\n\
example.tld. 300 IN NS ns1.example.tld.\nns1.example.tld. 300 IN A 192.0.2.2\n";

struct Fixture {
    state: State,
    engine: engine::Config,
    keyring: Keyring,
    metrics: Metrics,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let records =
            master::parse_bytes("fuzz", ZONE.as_bytes(), ParseOptions::default()).unwrap();
        let (zone, _) = Zone::from_records(None, Class::IN, records);
        let (bytes, _) = image::compile(&zone, |_| {}).unwrap();
        let config = ZoneConfig {
            allow_transfer: vec![TransferRule {
                key: None,
                from: vec!["127.0.0.0/8".into()],
            }],
            ..ZoneConfig::default()
        };
        let image = Arc::new(image::Image::from_bytes(bytes).unwrap());
        let served = ZoneState {
            view: Arc::new(View::plain(image)),
            history: Default::default(),
            config: Arc::new(config),
        };
        Fixture {
            state: State::new(vec![served]),
            engine: engine::Config::default(),
            keyring: Keyring::new(&[KeyConfig {
                name: "xfr.tld.".into(),
                algorithm: "hmac-sha256".into(),
                secret: "c2VjcmV0IGtleSBmb3IgdGVzdHM=".into(),
            }])
            .unwrap(),
            metrics: Metrics::new(1),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let ctx = Context {
        state: &f.state,
        engine: &f.engine,
        keyring: &f.keyring,
        metrics: &f.metrics,
    };
    for transport in [Transport::Udp, Transport::Tcp] {
        let peer = Peer {
            transport,
            addr: std::net::Ipv4Addr::LOCALHOST.into(),
            now: 1_700_000_000,
        };
        let kind = match engine::classify(data) {
            Kind::Query => Kind::Signed,
            kind => kind,
        };
        match requests::respond(kind, data, &peer, &ctx, 1_700_000_000) {
            Reply::Message(m) => {
                assert!(m.len() >= 12);
                assert_eq!(m[..2], data[..2]);
                assert!(m[2] & 0x80 != 0);
            }
            Reply::Transfer(t) => {
                let mut count = 0;
                t.run(1_700_000_000, &mut |m| {
                    assert!(m.len() >= 12 && m[..2] == data[..2]);
                    count += 1;
                    Ok(())
                })
                .unwrap();
                assert!(count > 0);
            }
            Reply::Nothing => {}
        }
    }
});
