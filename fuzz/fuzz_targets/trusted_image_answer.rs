//! Answering from an image opened trusted (`Image::open_trusted`, as edge-dns does at start
//! while the index check runs in the background) when the file is damaged: the answers may be
//! wrong and a look-up may panic (the servers catch that per query), but nothing may read out
//! of bounds, hang, or allocate without bound. The look-ahead of the UDP path runs first.
#![no_main]

use std::io::Write;
use std::sync::{Arc, OnceLock};

use edge_dns::engine::{self, Config, Peer, Transport, Zones};
use libfuzzer_sys::fuzz_target;
use zonefiles::Name;
use zonefiles::image::Image;

fn file() -> &'static std::path::Path {
    static FILE: OnceLock<tempfile::TempPath> = OnceLock::new();
    FILE.get_or_init(|| tempfile::NamedTempFile::new().unwrap().into_temp_path())
}

/// A query for `name`/`rtype` with EDNS and the DO bit.
fn query(name: &Name, rtype: u16) -> Vec<u8> {
    let mut q = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1];
    q.extend_from_slice(name.as_wire());
    q.extend_from_slice(&rtype.to_be_bytes());
    q.extend_from_slice(&[0, 1, 0, 0, 41, 4, 208, 0, 0, 0x80, 0, 0, 0]);
    q
}

fuzz_target!(init: {
    // Panics are expected (the servers catch them per query): let them unwind, silently.
    std::panic::set_hook(Box::new(|_| {}));
}, |data: &[u8]| {
    let mut f = std::fs::File::create(file()).unwrap();
    f.write_all(data).unwrap();
    drop(f);
    let Ok(image) = Image::open_trusted(file()) else {
        return;
    };
    let origin = image.origin().clone();
    let image = Arc::new(image);
    let zones = Zones::new(vec![image.clone()]);
    let config = Config::default();
    let peer = Peer {
        transport: Transport::Udp,
        addr: std::net::Ipv4Addr::LOCALHOST.into(),
        now: 1_700_000_000,
    };
    let mut out = [0u8; 65535];
    let mut names = vec![origin.clone()];
    for label in [&b"www"[..], b"a", b"ns1", b"nic", b"zz"] {
        if let Ok(child) = origin.child(label) {
            names.extend(child.child(b"x").ok());
            names.push(child);
        }
    }
    for name in &names {
        // The UDP path's look-ahead reads the same bytes first: it must stop, never loop.
        let levels = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut levels = 0;
            if let Some(mut ahead) = engine::ahead(&query(name, 1), &zones) {
                while ahead.advance() && levels < 10 {
                    levels += 1;
                }
            }
            levels
        }));
        assert!(levels.unwrap_or(0) <= 2);
        for rtype in [6u16, 2, 1, 43, 48, 255] {
            let q = query(name, rtype);
            let answered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                engine::answer(&q, &zones, &config, &peer, &mut out)
            }));
            if let Ok(Some(len)) = answered {
                assert!((12..=1232).contains(&len));
            }
        }
    }
});
