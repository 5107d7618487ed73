//! Every binary's metrics page, written once. On each scrape the parts of a binary describe
//! their metrics to a [`Writer`] — counters and gauges read from their own atomics, so the hot
//! paths stay plain relaxed adds on thread-owned counters — and prometheus-client's encoder
//! writes them in the Prometheus text format (version 0.0.4: names, label escaping, number
//! formats and histogram buckets as Prometheus reads them). [`crate::serve_metrics`] serves the
//! page.
//!
//! A counter is named as the page shows it, ending in `_total`; the encoder adds the suffix
//! to the family's name, so the writer takes it off first.

use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeCounterValue, EncodeGaugeValue, EncodeLabelSet, NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

/// A metrics page: what a binary writes on each scrape.
pub type Page = Arc<dyn Fn(&mut Writer<'_, '_>) -> fmt::Result + Send + Sync>;

/// The `Content-Type` of the page.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Writes metric families onto a page.
pub struct Writer<'e, 'a> {
    encoder: &'e mut DescriptorEncoder<'a>,
}

/// A family's name without the `_total` the encoder adds to counters.
fn family(name: &str) -> &str {
    name.strip_suffix("_total").unwrap_or(name)
}

impl Writer<'_, '_> {
    /// One counter without labels (`name` ends in `_total`).
    pub fn counter(
        &mut self,
        name: &str,
        help: &str,
        value: impl EncodeCounterValue,
    ) -> fmt::Result {
        self.encoder
            .encode_descriptor(family(name), help, None, MetricType::Counter)?
            .encode_counter::<NoLabelSet, _, u64>(&value, None)
    }

    /// A counter family: one series per label set.
    pub fn counters<L: EncodeLabelSet, V: EncodeCounterValue>(
        &mut self,
        name: &str,
        help: &str,
        series: impl IntoIterator<Item = (L, V)>,
    ) -> fmt::Result {
        let mut metric =
            self.encoder
                .encode_descriptor(family(name), help, None, MetricType::Counter)?;
        for (labels, value) in series {
            metric
                .encode_family(&labels)?
                .encode_counter::<NoLabelSet, _, u64>(&value, None)?;
        }
        Ok(())
    }

    /// One gauge without labels.
    pub fn gauge(&mut self, name: &str, help: &str, value: impl EncodeGaugeValue) -> fmt::Result {
        self.encoder
            .encode_descriptor(name, help, None, MetricType::Gauge)?
            .encode_gauge(&value)
    }

    /// A gauge family: one series per label set (none at all is a family with no series).
    pub fn gauges<L: EncodeLabelSet, V: EncodeGaugeValue>(
        &mut self,
        name: &str,
        help: &str,
        series: impl IntoIterator<Item = (L, V)>,
    ) -> fmt::Result {
        let mut metric = self
            .encoder
            .encode_descriptor(name, help, None, MetricType::Gauge)?;
        for (labels, value) in series {
            metric.encode_family(&labels)?.encode_gauge(&value)?;
        }
        Ok(())
    }

    /// One histogram without labels.
    pub fn histogram(&mut self, name: &str, help: &str, histogram: &Histogram) -> fmt::Result {
        self.encoder
            .encode_descriptor(name, help, None, MetricType::Histogram)?
            .encode_histogram::<NoLabelSet>(
                histogram.sum,
                histogram.count,
                &histogram.buckets,
                None,
            )
    }

    /// A histogram family: per label set, the sum, the count and each bucket's upper bound
    /// with the observations in it alone (the encoder makes them cumulative and adds `+Inf`).
    pub fn histograms<L: EncodeLabelSet>(
        &mut self,
        name: &str,
        help: &str,
        series: impl IntoIterator<Item = (L, Histogram)>,
    ) -> fmt::Result {
        let mut metric = self
            .encoder
            .encode_descriptor(name, help, None, MetricType::Histogram)?;
        for (labels, histogram) in series {
            metric
                .encode_family(&labels)?
                .encode_histogram::<NoLabelSet>(
                    histogram.sum,
                    histogram.count,
                    &histogram.buckets,
                    None,
                )?;
        }
        Ok(())
    }
}

/// One histogram's state for [`Writer::histograms`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// The sum of the observations.
    pub sum: f64,
    /// How many there were.
    pub count: u64,
    /// Each bucket's upper bound and the observations in it alone.
    pub buckets: Vec<(f64, u64)>,
}

/// Adapts a [`Page`] to prometheus-client's collector, so the encoder asks it on each scrape.
struct Scrape(Page);

impl fmt::Debug for Scrape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scrape")
    }
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        (self.0)(&mut Writer {
            encoder: &mut encoder,
        })
    }
}

/// The page's text, as served.
pub fn render(page: &Page) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Scrape(page.clone())));
    let mut out = String::with_capacity(4096);
    if let Err(error) = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry) {
        tracing::error!(%error, "writing the metrics page");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_come_out_as_prometheus_reads_them() {
        let page: Page = Arc::new(|out| {
            out.counter("x_requests_total", "Requests.", 3u64)?;
            out.counters(
                "x_responses_total",
                "Responses by code.",
                [([("code", "200")], 5u64), ([("code", "4\"04")], 1)],
            )?;
            out.gauge("x_up", "Up.", 1i64)?;
            out.gauges("x_serial", "Serials.", [([("zone", "tld")], 7u32)])?;
            out.gauges(
                "x_empty",
                "No series.",
                Vec::<([(&str, &str); 1], i64)>::new(),
            )?;
            out.histograms(
                "x_seconds",
                "Time.",
                [(
                    [("transport", "udp")],
                    Histogram {
                        sum: 0.5,
                        count: 3,
                        buckets: vec![(0.001, 1), (0.01, 2)],
                    },
                )],
            )?;
            out.histogram(
                "x_ack_seconds",
                "Acks.",
                &Histogram {
                    sum: 1.0,
                    count: 5,
                    buckets: vec![(0.1, 3), (1.0, 2)],
                },
            )
        });
        let text = render(&page);
        for line in [
            "# TYPE x_requests_total counter",
            "x_requests_total 3",
            "x_responses_total{code=\"200\"} 5",
            "x_responses_total{code=\"4\\\"04\"} 1",
            "# TYPE x_up gauge",
            "x_up 1",
            "x_serial{zone=\"tld\"} 7",
            "# TYPE x_empty gauge",
            "x_seconds_bucket{transport=\"udp\",le=\"0.001\"} 1",
            "x_seconds_bucket{transport=\"udp\",le=\"0.01\"} 3",
            "x_seconds_bucket{transport=\"udp\",le=\"+Inf\"} 3",
            "x_seconds_count{transport=\"udp\"} 3",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line:?} missing from\n{text}"
            );
        }
        let samples = crate::scrape::Samples::parse(&text);
        assert_eq!(samples.get("x_responses_total{code=\"200\"}"), Some(5.0));
        assert_eq!(
            samples.histogram("x_ack_seconds"),
            [(0.1, 3.0), (1.0, 5.0), (f64::INFINITY, 5.0)]
        );
    }
}
