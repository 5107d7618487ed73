//! An open-loop DNS load generator over UDP: queries sent at a fixed rate whatever the
//! answers do, each answer matched to its query by id, latencies in an HDR histogram.
//!
//! dnsperf measures throughput well but reports only average latency; this gives the
//! percentiles at a chosen load (for example 80% of a server's saturation rate).

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use zonefiles::{Name, RecordType};

const WARM_UP_NS: u64 = 1_000_000_000;

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// Queries sent.
    pub sent: u64,
    /// Answers received.
    pub received: u64,
    /// How long sending lasted.
    pub elapsed: Duration,
    /// Latency percentiles in microseconds: p50, p90, p99, p99.9, max.
    pub latency_us: [u64; 5],
}

/// Reads a dnsperf-style query file (`name type` per line) into encoded queries (id 0).
pub fn load_queries(path: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let text = std::fs::read_to_string(path)?;
    let mut queries = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(name), Some(rtype)) = (fields.next(), fields.next()) else {
            continue;
        };
        let name: Name = name.parse().map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        let rtype = RecordType::from_text(rtype.as_bytes())
            .ok_or_else(|| anyhow::anyhow!("unknown type {rtype}"))?;
        let mut msg = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        msg.extend_from_slice(name.as_wire());
        msg.extend_from_slice(&rtype.0.to_be_bytes());
        msg.extend_from_slice(&1u16.to_be_bytes());
        queries.push(msg);
    }
    anyhow::ensure!(!queries.is_empty(), "{} has no queries", path.display());
    Ok(queries)
}

/// Sends `queries` round-robin to `server` at `rate` per second for `duration`, after one
/// second of warm-up at the same rate that is not counted.
pub fn run(
    server: SocketAddr,
    queries: &[Vec<u8>],
    rate: u64,
    duration: Duration,
) -> anyhow::Result<Report> {
    let bind: SocketAddr = if server.is_ipv6() {
        "[::1]:0".parse()?
    } else {
        "127.0.0.1:0".parse()?
    };
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(bind),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    // Room for a burst of answers while the receiver is not scheduled.
    let _ = socket.set_recv_buffer_size(16 << 20);
    let _ = socket.set_send_buffer_size(16 << 20);
    socket.bind(&bind.into())?;
    let socket: UdpSocket = socket.into();
    socket.connect(server)?;
    socket.set_read_timeout(Some(Duration::from_millis(100)))?;
    let receiver = socket.try_clone()?;
    // Send times by message id, in nanoseconds since `start` (0: no query outstanding).
    let sent_at: Arc<Vec<AtomicU64>> = Arc::new((0..65536).map(|_| AtomicU64::new(0)).collect());
    let start = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let listener = {
        let (sent_at, done) = (sent_at.clone(), done.clone());
        std::thread::spawn(move || -> (u64, Histogram<u64>) {
            let mut histogram =
                Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
            let mut received = 0;
            let mut buf = [0u8; 4096];
            while !done.load(Ordering::Relaxed) {
                let Ok(len) = receiver.recv(&mut buf) else {
                    continue;
                };
                if len < 12 {
                    continue;
                }
                let id = usize::from(u16::from_be_bytes([buf[0], buf[1]]));
                let at = sent_at[id].swap(0, Ordering::Relaxed);
                if at == 0 {
                    continue;
                }
                if at < WARM_UP_NS {
                    continue;
                }
                let now = start.elapsed().as_nanos() as u64;
                histogram.saturating_record(now.saturating_sub(at) / 1000);
                received += 1;
            }
            (received, histogram)
        })
    };
    let mut sent = 0u64;
    let mut counted = 0u64;
    let mut msg = Vec::with_capacity(512);
    let duration = duration + Duration::from_nanos(WARM_UP_NS);
    while start.elapsed() < duration {
        let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
        while sent < due {
            let query = &queries[(sent % queries.len() as u64) as usize];
            let id = (sent % 65536) as u16;
            msg.clear();
            msg.extend_from_slice(query);
            msg[..2].copy_from_slice(&id.to_be_bytes());
            let now = start.elapsed().as_nanos().max(1) as u64;
            sent_at[usize::from(id)].store(now, Ordering::Relaxed);
            let _ = socket.send(&msg);
            sent += 1;
            if now >= WARM_UP_NS {
                counted += 1;
            }
        }
        std::thread::sleep(Duration::from_micros(50));
    }
    let elapsed = start.elapsed() - Duration::from_nanos(WARM_UP_NS);
    std::thread::sleep(Duration::from_millis(300));
    done.store(true, Ordering::Relaxed);
    let (received, histogram) = listener.join().expect("the receiver does not panic");
    let q = |p: f64| histogram.value_at_quantile(p);
    let _ = sent;
    Ok(Report {
        sent: counted,
        received,
        elapsed,
        latency_us: [q(0.5), q(0.9), q(0.99), q(0.999), histogram.max()],
    })
}
