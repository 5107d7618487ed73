//! The listeners: port 43 (RFC 3912: one line in, the answer out, the server closes), the
//! administrative update listener (the .name plan's `set`/`delete` line protocol, loopback
//! only) and Prometheus metrics.
//!
//! Every connection is bounded: at most `max_line` bytes are read, the line must come within
//! the read timeout (slowloris), at most `max_connections` are open at once (more are closed on
//! accept), and the answer must be taken within the same timeout.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ops::metrics::Writer;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::timeout;
use zonefiles::whois::{Object, ObjectKey, WhoisOp};

use crate::answer::{NotCached, Outcome, Service};
use crate::limits::Limiter;
use crate::render;
use zonefiles::whois::cached::Wait;
use zonefiles::whois::index::{self, Delta};

/// Connection limits.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// The longest query line.
    pub max_line: usize,
    /// Time allowed to send the line, and to take the answer.
    pub timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

/// Counters.
#[derive(Debug, Default)]
pub struct Metrics {
    outcomes: [AtomicU64; 4],
    limited: AtomicU64,
    too_long: AtomicU64,
    timed_out: AtomicU64,
    refused_connections: AtomicU64,
    updates: AtomicU64,
    disk_reads: AtomicU64,
    rdap_outcomes: [AtomicU64; 4],
    rdap_limited: AtomicU64,
    rdap_refused_connections: AtomicU64,
    rdap_disk_reads: AtomicU64,
    rdap_certificate_expiry: std::sync::atomic::AtomicI64,
}

const OUTCOMES: [Outcome; 4] = [
    Outcome::Found,
    Outcome::NotFound,
    Outcome::NotServed,
    Outcome::Malformed,
];

fn slot(outcome: Outcome) -> usize {
    OUTCOMES.iter().position(|&o| o == outcome).unwrap_or(3)
}

impl Metrics {
    fn outcome(&self, outcome: Outcome) {
        self.outcomes[slot(outcome)].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an RDAP answer.
    pub fn rdap_outcome(&self, outcome: Outcome) {
        self.rdap_outcomes[slot(outcome)].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an RDAP request refused by the limits.
    pub fn rdap_limited(&self) {
        self.rdap_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an RDAP connection closed on accept (too many open).
    pub fn rdap_refused_connection(&self) {
        self.rdap_refused_connections
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Notes when the RDAP certificate being served expires (Unix time).
    pub fn rdap_certificate_expires(&self, at: i64) {
        self.rdap_certificate_expiry.store(at, Ordering::Relaxed);
    }

    /// Counts an RDAP request that waited for the disk.
    pub fn rdap_disk_read(&self) {
        self.rdap_disk_reads.fetch_add(1, Ordering::Relaxed);
    }

    /// Writes the metrics: outcomes, limits, connections, the index generation served and the
    /// client prefixes the limits track.
    pub fn write(&self, out: &mut Writer<'_, '_>, generation: u64, tracked: usize) -> fmt::Result {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        out.counters(
            "edge_whois_queries_total",
            "Queries answered, by outcome.",
            OUTCOMES
                .iter()
                .zip(&self.outcomes)
                .map(|(o, n)| ([("outcome", o.label())], load(n))),
        )?;
        out.counters(
            "edge_whois_rdap_requests_total",
            "RDAP requests answered, by outcome.",
            OUTCOMES
                .iter()
                .zip(&self.rdap_outcomes)
                .map(|(o, n)| ([("outcome", o.label())], load(n))),
        )?;
        for (name, help, value) in [
            (
                "edge_whois_limited_total",
                "Queries refused by the per-client limits.",
                &self.limited,
            ),
            (
                "edge_whois_too_long_total",
                "Query lines over the length limit.",
                &self.too_long,
            ),
            (
                "edge_whois_timed_out_total",
                "Connections closed for slowness.",
                &self.timed_out,
            ),
            (
                "edge_whois_refused_connections_total",
                "Connections closed at once: too many open.",
                &self.refused_connections,
            ),
            (
                "edge_whois_updates_total",
                "Records set or deleted through the update listener.",
                &self.updates,
            ),
            (
                "edge_whois_disk_reads_total",
                "Queries that waited for the disk (their records were not in the page cache).",
                &self.disk_reads,
            ),
            (
                "edge_whois_rdap_limited_total",
                "RDAP requests refused by the per-client limits (429).",
                &self.rdap_limited,
            ),
            (
                "edge_whois_rdap_refused_connections_total",
                "RDAP connections closed at once: too many open.",
                &self.rdap_refused_connections,
            ),
            (
                "edge_whois_rdap_disk_reads_total",
                "RDAP requests that waited for the disk.",
                &self.rdap_disk_reads,
            ),
        ] {
            out.counter(name, help, load(value))?;
        }
        let expiry = self.rdap_certificate_expiry.load(Ordering::Relaxed);
        if expiry != 0 {
            out.gauge(
                "edge_whois_rdap_certificate_expiry_seconds",
                "When the RDAP certificate served expires (Unix time).",
                expiry,
            )?;
        }
        out.gauge(
            "edge_whois_index_generation",
            "The search index generation served.",
            generation,
        )?;
        out.gauge(
            "edge_whois_tracked_clients",
            "Client prefixes the limits track.",
            tracked as u64,
        )
    }
}

/// What a client sent.
enum Line {
    /// A line (its end removed), or what came before the client closed its side.
    Complete(Vec<u8>),
    /// More than the limit without a line end.
    TooLong,
    /// Closed without sending anything.
    Closed,
}

/// Reads one line of at most `max` bytes.
async fn read_line(stream: &mut TcpStream, max: usize) -> std::io::Result<Line> {
    let mut line = Vec::with_capacity(128);
    let mut buf = [0u8; 512];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(if line.is_empty() {
                Line::Closed
            } else {
                Line::Complete(line)
            });
        }
        line.extend_from_slice(&buf[..n]);
        // CR, LF and CRLF all end the line (a client that sends CR alone gets its answer).
        if let Some(end) = line.iter().position(|&b| b == b'\n' || b == b'\r') {
            line.truncate(end);
            return Ok(if line.len() <= max {
                Line::Complete(line)
            } else {
                Line::TooLong
            });
        }
        if line.len() > max {
            return Ok(Line::TooLong);
        }
    }
}

/// Serves WHOIS on `listener` until the task is dropped.
pub async fn serve(
    listener: TcpListener,
    service: Arc<Service>,
    limiter: Arc<Mutex<Limiter>>,
    metrics: Arc<Metrics>,
    bounds: Bounds,
) {
    let slots = Arc::new(Semaphore::new(bounds.max_connections));
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics.refused_connections.fetch_add(1, Ordering::Relaxed);
            drop(stream);
            continue;
        };
        let (service, limiter, metrics) = (service.clone(), limiter.clone(), metrics.clone());
        tokio::spawn(async move {
            connection(stream, peer, service, &limiter, &metrics, bounds).await;
            drop(slot);
        });
    }
}

async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    service: Arc<Service>,
    limiter: &Mutex<Limiter>,
    metrics: &Metrics,
    bounds: Bounds,
) {
    let line = match timeout(bounds.timeout, read_line(&mut stream, bounds.max_line)).await {
        Ok(Ok(Line::Complete(line))) => line,
        Ok(Ok(Line::Closed)) => return,
        Ok(Ok(Line::TooLong)) => {
            metrics.too_long.fetch_add(1, Ordering::Relaxed);
            let _ = stream
                .write_all(b"malformed request: the query is too long\r\n")
                .await;
            // Unread input at close makes the kernel reset the connection, which can destroy
            // the answer before the client reads it: end our side, then take what the client
            // is still sending, boundedly.
            let _ = stream.shutdown().await;
            let mut discard = [0u8; 4096];
            let mut left: usize = 64 * 1024;
            let _ = timeout(bounds.timeout, async {
                while left > 0 {
                    match stream.read(&mut discard).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => left = left.saturating_sub(n),
                    }
                }
            })
            .await;
            return;
        }
        Ok(Err(_)) => return,
        Err(_) => {
            metrics.timed_out.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    let now = Instant::now();
    let day = (ops::unix_time() / 86_400) as u64;
    let allowed = limiter
        .lock()
        .map(|mut l| l.allow(peer.ip(), now, day))
        .unwrap_or(true);
    let answer = if allowed {
        // Answered here when the records are in memory; a read that would wait for the disk
        // moves the query off the runtime's threads, so it does not hold up the connections
        // behind it.
        let (text, outcome) = match service.answer(&line, Wait::No) {
            Ok(done) => done,
            Err(NotCached) => {
                metrics.disk_reads.fetch_add(1, Ordering::Relaxed);
                let blocking = move || service.answer(&line, Wait::Allowed);
                match tokio::task::spawn_blocking(blocking).await {
                    Ok(Ok(done)) => done,
                    _ => return,
                }
            }
        };
        metrics.outcome(outcome);
        text
    } else {
        metrics.limited.fetch_add(1, Ordering::Relaxed);
        render::crlf(&format!("{}\n", service.texts.limited))
    };
    match timeout(bounds.timeout, stream.write_all(answer.as_bytes())).await {
        Ok(_) => {
            let _ = stream.shutdown().await;
        }
        Err(_) => {
            metrics.timed_out.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Where the update listener accepts.
pub enum UpdateListener {
    /// A loopback TCP address: any local user can write.
    Tcp(TcpListener),
    /// A Unix socket: its file mode says who can write.
    Unix(tokio::net::UnixListener),
}

/// Bounds of the update listener.
#[derive(Debug, Clone, Copy)]
pub struct UpdateBounds {
    /// Connections open at once; more are closed at once.
    pub max_connections: usize,
    /// The largest command, record included.
    pub max_bytes: usize,
    /// Time to send the whole command.
    pub timeout: Duration,
}

/// Serves the update listener: `set <name>` followed by the record and a line holding a single
/// `.`, or `delete <name>`; `<name>` is a domain, `host <name>` or `registrar <IANA id>`. The
/// record is JSON of the shared model, or, for a domain, the `Key: value` lines of its WHOIS
/// output; it must be a complete registry record of a TLD served here. Each change is written
/// through the atomic path after the search indexes' layer that describes it, then `ok` is
/// sent and the connection closed.
pub async fn serve_updates(
    listener: UpdateListener,
    service: Arc<Service>,
    metrics: Arc<Metrics>,
    index: Arc<Mutex<index::Writer>>,
    bounds: UpdateBounds,
) {
    let slots = Arc::new(Semaphore::new(bounds.max_connections));
    loop {
        let updates = Updates {
            service: service.clone(),
            metrics: metrics.clone(),
            index: index.clone(),
            bounds,
        };
        let accepted = match &listener {
            UpdateListener::Tcp(l) => l.accept().await.map(|(s, _)| Stream::Tcp(s)),
            UpdateListener::Unix(l) => l.accept().await.map(|(s, _)| Stream::Unix(s)),
        };
        let Ok(stream) = accepted else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics.refused_connections.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        tokio::spawn(async move {
            match stream {
                Stream::Tcp(s) => updates.serve(s).await,
                Stream::Unix(s) => updates.serve(s).await,
            }
            drop(slot);
        });
    }
}

enum Stream {
    Tcp(TcpStream),
    Unix(tokio::net::UnixStream),
}

/// What an update connection needs.
struct Updates {
    service: Arc<Service>,
    metrics: Arc<Metrics>,
    index: Arc<Mutex<index::Writer>>,
    bounds: UpdateBounds,
}

impl Updates {
    /// Reads one command (within the time and size bounds), applies it and answers `ok` or
    /// `error: …`.
    async fn serve<S: AsyncRead + AsyncWrite + Unpin>(self, mut stream: S) {
        let mut text = Vec::new();
        let max = self.bounds.max_bytes;
        let read = timeout(self.bounds.timeout, async {
            let mut buf = [0u8; 4096];
            loop {
                let n = stream.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                text.extend_from_slice(&buf[..n]);
                if text.len() > max {
                    return Err(std::io::Error::other("too long"));
                }
                // A command is its first line, and for `set` the record up to a lone `.`.
                let s = String::from_utf8_lossy(&text);
                let Some((first, rest)) = s.split_once('\n') else {
                    continue;
                };
                let is_set = first.trim().to_ascii_lowercase().starts_with("set ");
                if !is_set || rest.lines().any(|l| l.trim_end() == ".") {
                    break;
                }
            }
            std::io::Result::Ok(())
        })
        .await;
        let reply = match read {
            Ok(Ok(())) => {
                match update(&self.service, &self.index, &String::from_utf8_lossy(&text)) {
                    Ok(what) => {
                        self.metrics.updates.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(update = what, "WHOIS record changed");
                        "ok\n".to_owned()
                    }
                    Err(error) => format!("error: {error}\n"),
                }
            }
            Ok(Err(_)) if text.len() > max => {
                self.metrics.too_long.fetch_add(1, Ordering::Relaxed);
                format!("error: the command is longer than {max} bytes\n")
            }
            Ok(Err(_)) => "error: incomplete command\n".to_owned(),
            Err(_) => {
                self.metrics.timed_out.fetch_add(1, Ordering::Relaxed);
                "error: incomplete command (timed out)\n".to_owned()
            }
        };
        let _ = stream.write_all(reply.as_bytes()).await;
        let _ = stream.shutdown().await;
    }
}

/// Applies one update command; returns what it did.
fn update(service: &Service, index: &Mutex<index::Writer>, text: &str) -> anyhow::Result<String> {
    let mut lines = text.lines();
    let command = lines.next().unwrap_or("").trim();
    let (verb, target) = command
        .split_once(char::is_whitespace)
        .ok_or_else(|| anyhow::anyhow!("expected `set <name>` or `delete <name>`"))?;
    let key = match target.trim().split_once(char::is_whitespace) {
        Some((kind, rest)) if kind.eq_ignore_ascii_case("host") => {
            ObjectKey::Host(crate::query::a_label(rest)?)
        }
        Some((kind, rest)) if kind.eq_ignore_ascii_case("registrar") => {
            ObjectKey::Registrar(rest.trim().parse()?)
        }
        _ => ObjectKey::Domain(crate::query::a_label(target)?),
    };
    if let ObjectKey::Domain(name) | ObjectKey::Host(name) = &key {
        let tld = name.rsplit('.').next().unwrap_or("");
        anyhow::ensure!(
            service.tlds.iter().any(|t| t == tld),
            "{name} is not in a TLD this server serves ({})",
            service.tlds.join(", ")
        );
    }
    let op = match verb.to_ascii_lowercase().as_str() {
        "delete" => WhoisOp::Delete(key.clone()),
        "set" => {
            let body: Vec<&str> = lines.take_while(|l| l.trim_end() != ".").collect();
            let body = body.join("\n");
            let object: Object = if body.trim_start().starts_with('{') {
                serde_json::from_str(&body)?
            } else {
                Object::Domain(render::parse_domain(&body).map_err(|e| anyhow::anyhow!(e))?)
            };
            anyhow::ensure!(
                object.key() == key,
                "the record is for {:?}, not {key:?}",
                object.key()
            );
            object
                .check_complete()
                .map_err(|e| anyhow::anyhow!("{e}; the record was not changed"))?;
            WhoisOp::Set(object)
        }
        other => anyhow::bail!("unknown command {other:?}: use set or delete"),
    };
    // One update at a time: the record read before is the one the layer replaces.
    let mut index = index
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let before = service.tree.get(&key)?;
    let mut delta = Delta::default();
    match &op {
        WhoisOp::Set(object) => delta.record(before.as_ref(), Some(object)),
        WhoisOp::Delete(_) => delta.record(before.as_ref(), None),
    }
    index.add(delta, None)?;
    // The layer durable before the record it describes: after a power cut the index never
    // lacks a record's change.
    service.tree.sync()?;
    service
        .tree
        .apply(std::slice::from_ref(&op), i64::from(ops::unix_time()))?;
    Ok(command.to_owned())
}

/// Opens each new generation of the search indexes every second (searches also do, when they
/// find the generation moved), so new segments are mostly mapped before a search needs them
/// and the metrics show the generation served.
pub async fn follow_indexes(service: Arc<Service>) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let service = service.clone();
        let _ = tokio::task::spawn_blocking(move || service.index()).await;
    }
}
