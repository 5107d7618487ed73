//! Image open and look-ups on arbitrary bytes: errors, never panics or reads out of bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zonefiles::Name;
use zonefiles::image::{Find, Image};

fuzz_target!(init: {
    // Image::open decodes the index under catch_unwind; let that unwinding happen instead of
    // the fuzzer's abort-on-panic hook. A panic anywhere else still aborts the run.
    let _ = std::panic::take_hook();
}, |data: &[u8]| {
    let Ok(image) = Image::from_bytes(data.to_vec()) else {
        return;
    };
    let _ = image.verify();
    let origin = image.origin().clone();
    for label in [&b"www"[..], b"*", b"a", b"ns1"] {
        let Ok(name) = origin.child(label) else { continue };
        for qname in [name.clone(), name.child(b"x").unwrap_or(name)] {
            let _ = image.find_walking(&qname);
            if let Ok(Find::Exact(node) | Find::Referral { cut: node, .. }) = image.find(&qname) {
                for rrset in node.rrsets().flatten() {
                    let _ = rrset.1.records().count();
                    let _ = rrset.1.additionals().count();
                    let _ = rrset.1.records_and_addresses().count();
                }
            }
        }
    }
    let _ = image.find(&Name::root());
    let _ = image.to_zone();
});
