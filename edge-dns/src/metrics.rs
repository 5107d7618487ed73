//! Prometheus metrics: counters kept per thread (one shard per UDP worker and one for TCP, so
//! the query path never shares a cache line) and summed when scraped.
//!
//! The hot path needs nothing but relaxed atomic adds on thread-owned counters; on a scrape
//! they are summed and written through the page writer every binary shares
//! (`ops::metrics`, prometheus-client's encoder). Served on its own listener
//! (`metrics_listen`), at `/metrics`.
//!
//! | metric | labels |
//! | --- | --- |
//! | `edge_dns_responses_total` | `transport`, `rcode` |
//! | `edge_dns_queries_by_type_total` | `qtype` |
//! | `edge_dns_dropped_total` | `transport` (no response: runts, responses) |
//! | `edge_dns_answer_failures_total` | `transport` (answering panicked; also dropped) |
//! | `edge_dns_damaged_reads_total` | `transport` (a zone image did not read: SERVFAIL, zone withdrawn) |
//! | `edge_dns_rate_limited_total` | `action` (truncated, dropped: UDP responses over the rate) |
//! | `edge_dns_response_bytes` (histogram) | `transport` |
//! | `edge_dns_answer_seconds` (histogram: time answering a query) | `transport` |
//! | `edge_dns_zone_serial` (gauge) | `zone` |
//! | `edge_dns_zone_overlay_labels` (gauge: changed partitions served from overlays until the next fold) | `zone` |
//! | `edge_dns_transfers_total` | `kind` (axfr, ixfr, ixfr_as_axfr, up_to_date), `result` |
//! | `edge_dns_tsig_failures_total` | `error` (badkey, badsig, badtime) |
//! | `edge_dns_notify_total` | `direction` (received, sent), `result` |

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ops::metrics::{Histogram, Writer};

use crate::engine::Zones;

const RCODES: [&str; 11] = [
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
    "NXRRSET", "NOTAUTH", "NOTZONE",
];
const TYPES: [(u16, &str); 14] = [
    (1, "A"),
    (2, "NS"),
    (5, "CNAME"),
    (6, "SOA"),
    (12, "PTR"),
    (15, "MX"),
    (16, "TXT"),
    (28, "AAAA"),
    (33, "SRV"),
    (43, "DS"),
    (48, "DNSKEY"),
    (65, "HTTPS"),
    (255, "ANY"),
    (0, "other"),
];
const SIZE_BUCKETS: [u64; 8] = [64, 128, 256, 512, 1232, 4096, 16384, 65535];
/// Upper bounds in nanoseconds.
const LATENCY_BUCKETS: [u64; 10] = [
    500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 1_000_000, 10_000_000,
];

/// One thread's counters.
#[repr(align(128))]
#[derive(Default)]
pub struct Shard {
    rcodes: [AtomicU64; 16],
    types: [AtomicU64; TYPES.len()],
    dropped: AtomicU64,
    failed: AtomicU64,
    damaged: AtomicU64,
    /// Responses over the rate: sent truncated, and not sent.
    limited: [AtomicU64; 2],
    sizes: [AtomicU64; SIZE_BUCKETS.len() + 1],
    size_sum: AtomicU64,
    latency: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    latency_sum_ns: AtomicU64,
    /// One thread alone writes this shard (a UDP worker's), so a count is a load and a store
    /// rather than a locked add: six of them per query.
    owned: bool,
}

impl Shard {
    /// A shard that only the calling thread will write.
    fn owned() -> Shard {
        Shard {
            owned: true,
            ..Shard::default()
        }
    }

    #[inline]
    fn add(&self, counter: &AtomicU64, n: u64) {
        if self.owned {
            counter.store(
                counter.load(Ordering::Relaxed).wrapping_add(n),
                Ordering::Relaxed,
            );
        } else {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Counts one answered query from its bytes, its response and the engine time.
    pub fn answered(&self, query: &[u8], response: &[u8], took: Duration) {
        let add = |c: &AtomicU64, n: u64| self.add(c, n);
        add(&self.rcodes[usize::from(response[3] & 0x0F)], 1);
        add(&self.types[type_index(query)], 1);
        let size = response.len() as u64;
        add(&self.sizes[bucket(&SIZE_BUCKETS, size)], 1);
        add(&self.size_sum, size);
        let ns = took.as_nanos().min(u128::from(u64::MAX)) as u64;
        add(&self.latency[bucket(&LATENCY_BUCKETS, ns)], 1);
        add(&self.latency_sum_ns, ns);
    }

    /// Counts a datagram that got no response.
    pub fn dropped(&self) {
        self.add(&self.dropped, 1);
    }

    /// Counts a query whose answering panicked (it is also dropped).
    pub fn failed(&self) {
        self.add(&self.failed, 1);
    }

    /// Counts a query answered SERVFAIL because its zone's image did not read.
    pub fn damaged(&self) {
        self.add(&self.damaged, 1);
    }

    /// Counts a response over its rate, sent truncated or not at all.
    pub fn limited(&self, truncated: bool) {
        self.add(&self.limited[usize::from(!truncated)], 1);
    }
}

fn bucket(bounds: &[u64], value: u64) -> usize {
    bounds
        .iter()
        .position(|&b| value <= b)
        .unwrap_or(bounds.len())
}

/// The index in [`TYPES`] of the query's type, from the bytes after the question name.
fn type_index(query: &[u8]) -> usize {
    let mut at = 12;
    while let Some(&len) = query.get(at) {
        if len == 0 || len > 63 {
            break;
        }
        at += 1 + usize::from(len);
    }
    let qtype = match query.get(at + 1..at + 3) {
        Some(b) => u16::from_be_bytes([b[0], b[1]]),
        None => 0,
    };
    TYPES
        .iter()
        .position(|&(code, _)| code == qtype)
        .unwrap_or(TYPES.len() - 1)
}

/// Transfer kinds counted.
pub const TRANSFER_KINDS: [&str; 4] = ["axfr", "ixfr", "ixfr_as_axfr", "up_to_date"];
/// Transfer results counted.
pub const TRANSFER_RESULTS: [&str; 4] = ["served", "refused", "notauth", "failed"];
/// TSIG errors counted.
pub const TSIG_ERRORS: [&str; 3] = ["badkey", "badsig", "badtime"];
/// NOTIFY outcomes counted: received (acknowledged, refused), sent (acknowledged, given up).
pub const NOTIFY: [(&str, &str); 4] = [
    ("received", "acknowledged"),
    ("received", "refused"),
    ("sent", "acknowledged"),
    ("sent", "gave_up"),
];

/// Counters of the requests that are not plain queries (transfers, TSIG, NOTIFY): rare
/// events, shared.
#[derive(Default)]
pub struct Requests {
    transfers: [[AtomicU64; 4]; 4],
    tsig: [AtomicU64; 3],
    notify: [AtomicU64; 4],
}

impl Requests {
    /// Counts a transfer request by kind and result (indexes into the constants above).
    pub fn transfer(&self, kind: &str, result: &str) {
        let k = TRANSFER_KINDS.iter().position(|x| *x == kind).unwrap_or(0);
        let r = TRANSFER_RESULTS
            .iter()
            .position(|x| *x == result)
            .unwrap_or(3);
        self.transfers[k][r].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a TSIG failure.
    pub fn tsig_failure(&self, error: &str) {
        if let Some(i) = TSIG_ERRORS.iter().position(|x| *x == error) {
            self.tsig[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a NOTIFY received or sent.
    pub fn notify(&self, direction: &str, result: &str) {
        if let Some(i) = NOTIFY.iter().position(|x| *x == (direction, result)) {
            self.notify[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The value of one transfer counter (for tests and logs).
    pub fn transfers(&self, kind: &str, result: &str) -> u64 {
        let k = TRANSFER_KINDS.iter().position(|x| *x == kind).unwrap_or(0);
        let r = TRANSFER_RESULTS
            .iter()
            .position(|x| *x == result)
            .unwrap_or(3);
        self.transfers[k][r].load(Ordering::Relaxed)
    }

    fn write(&self, out: &mut Writer<'_, '_>) -> fmt::Result {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        out.counters(
            "edge_dns_transfers_total",
            "Zone transfer requests.",
            TRANSFER_KINDS.iter().enumerate().flat_map(|(k, kind)| {
                TRANSFER_RESULTS.iter().enumerate().map(move |(r, result)| {
                    (
                        [("kind", *kind), ("result", *result)],
                        load(&self.transfers[k][r]),
                    )
                })
            }),
        )?;
        out.counters(
            "edge_dns_tsig_failures_total",
            "Requests refused for their TSIG.",
            TSIG_ERRORS
                .iter()
                .zip(&self.tsig)
                .map(|(error, n)| ([("error", *error)], load(n))),
        )?;
        out.counters(
            "edge_dns_notify_total",
            "NOTIFY messages received and sent.",
            NOTIFY
                .iter()
                .zip(&self.notify)
                .map(|((direction, result), n)| {
                    ([("direction", *direction), ("result", *result)], load(n))
                }),
        )
    }
}

/// All shards of a server, labelled by transport.
pub struct Metrics {
    shards: Vec<(&'static str, Shard)>,
    /// The requests that are not plain queries.
    pub requests: Requests,
}

impl Metrics {
    /// `udp` shards for the UDP workers, one more for TCP.
    pub fn new(udp_workers: usize) -> Metrics {
        let mut shards: Vec<(&'static str, Shard)> =
            (0..udp_workers).map(|_| ("udp", Shard::owned())).collect();
        shards.push(("tcp", Shard::default()));
        Metrics {
            shards,
            requests: Requests::default(),
        }
    }

    /// The shard of UDP worker `i`.
    pub fn udp(&self, i: usize) -> &Shard {
        &self.shards[i].1
    }

    /// The TCP shard.
    pub fn tcp(&self) -> &Shard {
        &self.shards.last().expect("a TCP shard").1
    }

    /// Responses sent, over all shards.
    pub fn responses(&self) -> u64 {
        self.shards
            .iter()
            .flat_map(|(_, s)| &s.rcodes)
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// Writes the metrics: the shards summed per transport, the zones served, the requests
    /// that are not plain queries.
    pub fn write(&self, zones: &Zones, out: &mut Writer<'_, '_>) -> fmt::Result {
        out.gauges(
            "edge_dns_zone_withdrawn",
            "Zones withdrawn (image damaged or changed in place), answered SERVFAIL.",
            zones
                .withdrawn()
                .iter()
                .map(|origin| ([("zone", origin.to_string())], 1u32)),
        )?;
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let sum = |transport: &str, f: &dyn Fn(&Shard) -> u64| -> u64 {
            self.shards
                .iter()
                .filter(|(t, _)| *t == transport)
                .map(|(_, s)| f(s))
                .sum()
        };
        out.counters(
            "edge_dns_responses_total",
            "Responses sent, by transport and RCODE.",
            ["udp", "tcp"].into_iter().flat_map(|transport| {
                RCODES.iter().enumerate().map(move |(code, name)| {
                    (
                        [("transport", transport), ("rcode", *name)],
                        sum(transport, &|s| load(&s.rcodes[code])),
                    )
                })
            }),
        )?;
        out.counters(
            "edge_dns_queries_by_type_total",
            "Answered queries by query type.",
            TYPES.iter().enumerate().map(|(i, (_, name))| {
                let n: u64 = self.shards.iter().map(|(_, s)| load(&s.types[i])).sum();
                ([("qtype", *name)], n)
            }),
        )?;
        let transports =
            |f: &dyn Fn(&Shard) -> u64| ["udp", "tcp"].map(|t| ([("transport", t)], sum(t, f)));
        out.counters(
            "edge_dns_dropped_total",
            "Datagrams and messages that got no response.",
            transports(&|s| load(&s.dropped)),
        )?;
        out.counters(
            "edge_dns_answer_failures_total",
            "Queries whose answering panicked (dropped; a damaged zone image or a bug: see the \
             log).",
            transports(&|s| load(&s.failed)),
        )?;
        out.counters(
            "edge_dns_damaged_reads_total",
            "Queries answered SERVFAIL because their zone's image did not read (the zone is \
             withdrawn: compile it again).",
            transports(&|s| load(&s.damaged)),
        )?;
        out.counters(
            "edge_dns_rate_limited_total",
            "UDP responses over their rate (response rate limiting): sent truncated, or dropped.",
            [
                (
                    [("action", "truncated")],
                    sum("udp", &|s| load(&s.limited[0])),
                ),
                (
                    [("action", "dropped")],
                    sum("udp", &|s| load(&s.limited[1])),
                ),
            ],
        )?;
        out.histograms(
            "edge_dns_response_bytes",
            "Response sizes in bytes.",
            ["udp", "tcp"].map(|transport| {
                (
                    [("transport", transport)],
                    histogram(
                        &SIZE_BUCKETS,
                        1.0,
                        |i| sum(transport, &|s| load(&s.sizes[i])),
                        sum(transport, &|s| load(&s.size_sum)) as f64,
                    ),
                )
            }),
        )?;
        out.histograms(
            "edge_dns_answer_seconds",
            "Time spent answering a query (over UDP: from the answer before it in the batch).",
            ["udp", "tcp"].map(|transport| {
                (
                    [("transport", transport)],
                    histogram(
                        &LATENCY_BUCKETS,
                        1e9,
                        |i| sum(transport, &|s| load(&s.latency[i])),
                        sum(transport, &|s| load(&s.latency_sum_ns)) as f64 / 1e9,
                    ),
                )
            }),
        )?;
        out.gauges(
            "edge_dns_zone_serial",
            "The SOA serial of each zone served.",
            zones
                .views()
                .map(|view| ([("zone", view.origin().to_string())], view.serial())),
        )?;
        out.gauges(
            "edge_dns_zone_overlay_labels",
            "Partitions (names below the apex) changed since the zone's image, served from overlays.",
            zones.views().map(|view| {
                (
                    [("zone", view.origin().to_string())],
                    view.overlay_labels() as u64,
                )
            }),
        )?;
        self.requests.write(out)
    }
}

/// One transport's histogram: `count(i)` observations in bucket `i` (one more bucket than
/// `bounds`, for what is above them all); the bounds are divided by `divisor` (1e9 turns
/// nanoseconds into the seconds Prometheus expects; a division keeps `0.0000005` exact where a
/// multiplication would give `5.000000000000001e-7`).
fn histogram(bounds: &[u64], divisor: f64, count: impl Fn(usize) -> u64, sum: f64) -> Histogram {
    let buckets: Vec<(f64, u64)> = bounds
        .iter()
        .enumerate()
        .map(|(i, bound)| (*bound as f64 / divisor, count(i)))
        .collect();
    let count = buckets.iter().map(|(_, n)| n).sum::<u64>() + count(bounds.len());
    Histogram {
        sum,
        count,
        buckets,
    }
}
