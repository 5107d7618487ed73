//! Reading a Prometheus metrics page over HTTP/1.1, as every Constellation binary serves it
//! ([`crate::serve_metrics`]): `constellation status`, `up` and `verify` read the satellites'
//! pages with it, and the benchmark report reads the counters it needs.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The samples of a metrics page: the series (name with labels, as written) and its value.
pub struct Samples(Vec<(String, f64)>);

impl Samples {
    /// Fetches `http://address/metrics`; `None` if nothing answers within a second.
    pub fn fetch(address: SocketAddr) -> Option<Samples> {
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(1)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: constellation\r\nConnection: close\r\n\r\n")
            .ok()?;
        let mut text = String::new();
        stream.read_to_string(&mut text).ok()?;
        let (_, body) = text.split_once("\r\n\r\n")?;
        Some(Samples::parse(body))
    }

    /// Reads a page in the exposition format (comments skipped).
    pub fn parse(body: &str) -> Samples {
        Samples(
            body.lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| {
                    let (series, value) = l.rsplit_once(' ')?;
                    Some((series.to_owned(), value.parse().ok()?))
                })
                .collect(),
        )
    }

    /// The value of one series, written exactly as the page writes it.
    pub fn get(&self, series: &str) -> Option<f64> {
        self.0.iter().find(|(s, _)| s == series).map(|(_, v)| *v)
    }

    /// How many series of a metric (all its label sets) have `value`.
    pub fn count(&self, name: &str, value: f64) -> usize {
        self.series(name).filter(|(_, v)| *v == value).count()
    }

    /// A histogram's cumulative buckets, `(upper bound, count)` in the page's order
    /// (`+Inf` last).
    pub fn histogram(&self, name: &str) -> Vec<(f64, f64)> {
        let prefix = format!("{name}_bucket{{le=\"");
        self.0
            .iter()
            .filter_map(|(s, v)| {
                let bound = s.strip_prefix(&prefix)?.strip_suffix("\"}")?;
                let bound = if bound == "+Inf" {
                    f64::INFINITY
                } else {
                    bound.parse().ok()?
                };
                Some((bound, *v))
            })
            .collect()
    }

    fn series<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a (String, f64)> + 'a {
        self.0.iter().filter(move |(s, _)| {
            s == name || s.strip_prefix(name).is_some_and(|r| r.starts_with('{'))
        })
    }

    /// The sum over every series of a metric (all its label sets).
    pub fn sum(&self, name: &str) -> f64 {
        self.series(name).map(|(_, v)| v).sum()
    }

    /// The sum over the series of a metric that carry the label `label="value"`.
    pub fn sum_where(&self, name: &str, label: &str, value: &str) -> f64 {
        let wanted = format!("{label}=\"{value}\"");
        self.series(name)
            .filter(|(s, _)| {
                s.split_once('{')
                    .and_then(|(_, labels)| labels.strip_suffix('}'))
                    .is_some_and(|labels| labels.split(',').any(|l| l == wanted))
            })
            .map(|(_, v)| v)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::Samples;

    #[test]
    fn series_sums_counts_and_histograms() {
        let page = Samples::parse(
            "# HELP x_serial The serial.\n# TYPE x_serial gauge\n\
             x_serial{satellite=\"a\"} 7\nx_serial{satellite=\"b\"} 6\nx_serial_other 7\n\
             x_ack_seconds_bucket{le=\"0.1\"} 3\nx_ack_seconds_bucket{le=\"+Inf\"} 5\nx_ack_seconds_count 5\n",
        );
        assert_eq!(page.get("x_serial{satellite=\"a\"}"), Some(7.0));
        assert_eq!(page.sum("x_serial"), 13.0);
        let page2 = Samples::parse(
            "x_r{transport=\"udp\",rcode=\"NOERROR\"} 4\nx_r{transport=\"udp\",rcode=\"NXDOMAIN\"} 2\n\
             x_r{transport=\"tcp\",rcode=\"NOERROR\"} 1\n",
        );
        assert_eq!(page2.sum_where("x_r", "transport", "udp"), 6.0);
        assert_eq!(page2.sum_where("x_r", "rcode", "NOERROR"), 5.0);
        assert_eq!(page2.sum_where("x_r", "transport", "quic"), 0.0);
        assert_eq!(page.count("x_serial", 7.0), 1);
        assert_eq!(
            page.histogram("x_ack_seconds"),
            vec![(0.1, 3.0), (f64::INFINITY, 5.0)]
        );
    }
}
