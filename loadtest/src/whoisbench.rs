//! Query load for WHOIS and RDAP: client threads that each ask queries in turn and time them
//! ([`run`]), asking the way the protocol's clients do ([`Ask`]: a connection per WHOIS query,
//! as real WHOIS clients do; a keep-alive HTTP/1.1 connection for RDAP, in
//! [`crate::rdapbench`]); and, for comparison, the cheapest WHOIS server possible on the same
//! machine (accept, read a line, write a fixed answer, close), which is the practical limit for
//! a connection-per-query protocol.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// Queries answered (after the warm-up).
    pub answered: u64,
    /// Queries that failed (refused, reset, timed out).
    pub failed: u64,
    /// Answers that did not contain `expect`.
    pub wrong: u64,
    /// The measured time.
    pub elapsed: Duration,
    /// Latency percentiles in microseconds: p50, p99, p99.9, max.
    pub latency_us: [u64; 4],
}

impl Report {
    /// One line: the rate (of `what`: queries, requests), the counts and the percentiles.
    pub fn summary(&self, what: &str) -> String {
        let [p50, p99, p999, max] = self.latency_us;
        format!(
            "{:.0} {what}/s ({} answered, {} failed, {} unexpected); latency µs p50 {p50} p99 {p99} p99.9 {p999} max {max}",
            self.answered as f64 / self.elapsed.as_secs_f64(),
            self.answered,
            self.failed,
            self.wrong
        )
    }
}

/// How a client asks one query and reads its whole answer.
pub trait Ask: Send + 'static {
    /// Sends `query`, returns the answer's bytes.
    fn ask(&mut self, query: &str) -> std::io::Result<Vec<u8>>;
}

/// A WHOIS client: a connection per query, the line sent, the answer read to the close.
pub struct ConnectionPerQuery {
    server: SocketAddr,
    buf: Vec<u8>,
}

impl ConnectionPerQuery {
    /// A client of `server`.
    pub fn new(server: SocketAddr) -> ConnectionPerQuery {
        ConnectionPerQuery {
            server,
            buf: vec![0u8; 16 * 1024],
        }
    }
}

impl Ask for ConnectionPerQuery {
    fn ask(&mut self, query: &str) -> std::io::Result<Vec<u8>> {
        let mut stream = TcpStream::connect(self.server)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.write_all(query.as_bytes())?;
        stream.write_all(b"\r\n")?;
        let mut answer = Vec::new();
        loop {
            let n = stream.read(&mut self.buf)?;
            if n == 0 {
                return Ok(answer);
            }
            answer.extend_from_slice(&self.buf[..n]);
        }
    }
}

/// Runs `clients` threads for `seconds` (after one second of warm-up), each made by
/// `client` and sending the queries round-robin; with `rate`, the clients together send at
/// most that many queries a second (open loop per client), else as fast as answers come.
pub fn run<A: Ask>(
    client: impl Fn() -> A,
    queries: Arc<Vec<String>>,
    clients: usize,
    seconds: u64,
    rate: Option<u64>,
    expect: Option<String>,
) -> anyhow::Result<Report> {
    let warm_up = Duration::from_secs(1);
    let total = warm_up + Duration::from_secs(seconds);
    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicU64::new(0));
    let wrong = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for c in 0..clients {
        let (queries, stop, failed, wrong, expect) = (
            queries.clone(),
            stop.clone(),
            failed.clone(),
            wrong.clone(),
            expect.clone(),
        );
        let mut asker = client();
        threads.push(std::thread::spawn(move || {
            let mut histogram =
                Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
            let interval = rate.map(|r| Duration::from_secs_f64(clients as f64 / r.max(1) as f64));
            let mut next = start + Duration::from_micros((c as u64 * 997) % 1000);
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                if let Some(interval) = interval {
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                    }
                    next += interval;
                }
                let query = &queries[i % queries.len()];
                i += clients;
                let sent = Instant::now();
                let answer = asker.ask(query);
                let counted = sent.duration_since(start) >= warm_up;
                match answer {
                    Ok(answer) if counted => {
                        histogram.saturating_record(sent.elapsed().as_micros() as u64);
                        if let Some(expect) = &expect
                            && !answer.windows(expect.len()).any(|w| w == expect.as_bytes())
                        {
                            wrong.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(_) => {}
                    Err(_) if counted => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {}
                }
            }
            histogram
        }));
    }
    std::thread::sleep(total);
    stop.store(true, Ordering::Relaxed);
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for t in threads {
        histogram.add(t.join().expect("client threads do not panic"))?;
    }
    let q = |p: f64| histogram.value_at_quantile(p);
    Ok(Report {
        answered: histogram.len(),
        failed: failed.load(Ordering::Relaxed),
        wrong: wrong.load(Ordering::Relaxed),
        elapsed: Duration::from_secs(seconds),
        latency_us: [q(0.5), q(0.99), q(0.999), histogram.max()],
    })
}

/// The cheapest connection-per-query server: one thread accepts, reads up to a line end,
/// writes a fixed answer of `answer_len` bytes and closes. Runs until the process ends.
pub fn serve_limit(listen: SocketAddr, answer_len: usize) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen)?;
    let answer = vec![b'x'; answer_len];
    let mut buf = [0u8; 1024];
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let mut got = 0;
        while let Ok(n) = stream.read(&mut buf[got..]) {
            if n == 0 {
                break;
            }
            got += n;
            if buf[..got].contains(&b'\n') || got == buf.len() {
                break;
            }
        }
        let _ = stream.write_all(&answer);
    }
    Ok(())
}
