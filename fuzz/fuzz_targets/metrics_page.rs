//! A Prometheus metrics page as `constellation status` and the benchmark report read it
//! (`ops::scrape`), on arbitrary text: no panic, and every series the page holds is found
//! again by name, and counting, summing (by a label too) and reading histograms stay within the
//! page.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ops::scrape::Samples;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let page = Samples::parse(&text);
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let found = page.get(series);
        assert!(found.is_some(), "{series:?} is on the page");
        let name = series.split('{').next().unwrap_or(series);
        if !value.is_nan() {
            assert!(page.count(name, value) <= text.lines().count());
        }
        let _ = page.sum(name);
        let _ = page.sum_where(name, "transport", "udp");
        // Buckets are series of the page: never more of them than lines.
        assert!(page.histogram(name).len() <= text.lines().count());
    }
});
