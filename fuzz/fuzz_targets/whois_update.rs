//! The update listener's record parser (a domain's WHOIS lines, as `set` sends them) on
//! arbitrary text: no panic, and a record it accepts renders to lines that parse back to the
//! same record.
#![no_main]

use edge_whois::render;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(domain) = render::parse_domain(text) else {
        return;
    };
    let shown = render::domain(&domain, None);
    let back = render::parse_domain(&shown).expect("rendered records parse");
    assert_eq!(back, domain, "{shown}");
});
