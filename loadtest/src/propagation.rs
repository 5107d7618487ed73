//! Propagation: the time from a registrar's confirmation to the change being answered by every
//! satellite's DNS and WHOIS.
//!
//! Registrar connections send CREATE DOMAIN at a fixed total rate (each request a new TLS
//! connection, as SRRP has it). Every `sample`-th confirmed create goes to one prober per
//! satellite and service, which takes the names in the order they were confirmed and asks for
//! each until it is answered — DNS over UDP until the referral replaces NXDOMAIN, WHOIS over
//! TCP until the record replaces "No match" — once a millisecond while it is not. The time
//! from the confirmation to the first good answer is recorded; a change counts as propagated
//! when the last satellite answers it. Probing in order keeps the probes' own load to about
//! a thousand queries a second per prober, whatever the rate, so they do not slow what they
//! measure.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use control_plane::front::srrp::grammar::Code;
use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A satellite's two services.
#[derive(Debug, Clone, Copy)]
pub struct Satellite {
    /// edge-dns.
    pub dns: SocketAddr,
    /// edge-whois (port 43 protocol).
    pub whois: SocketAddr,
}

/// What the load does.
#[derive(Debug, Clone)]
pub struct Load {
    /// The control plane's SRRP address.
    pub server: SocketAddr,
    /// Changes per second offered.
    pub rate: u64,
    /// Seconds of load.
    pub seconds: u64,
    /// Registrar connections.
    pub connections: usize,
    /// Registrars `first_registrar ..` (password `pw-<id>`).
    pub first_registrar: u32,
    /// How many registrars.
    pub registrars: u32,
    /// The zone; names are `<prefix><client>-<n>.<zone>`.
    pub zone: String,
    /// Name prefix (unique per run).
    pub prefix: String,
    /// Probe every `sample`-th confirmed change.
    pub sample: u64,
}

/// What a run measured (latencies in microseconds).
#[derive(Debug)]
pub struct Report {
    /// Changes confirmed.
    pub confirmed: u64,
    /// Requests refused or failed.
    pub failed: u64,
    /// The load's duration.
    pub elapsed: Duration,
    /// Confirmation → answered by every satellite's DNS.
    pub dns: Histogram<u64>,
    /// Confirmation → answered by every satellite's WHOIS.
    pub whois: Histogram<u64>,
    /// Confirmation → both, everywhere.
    pub both: Histogram<u64>,
    /// Probes that gave up (10 s without the answer).
    pub lost: u64,
    /// The slowest changes probed, slowest first (at most [`SLOWEST`]).
    pub slowest: Vec<Slow>,
}

/// How many of the slowest changes a report keeps.
pub const SLOWEST: usize = 3;

/// One of the slowest changes probed: when, and where it was answered last.
#[derive(Debug, Clone, Copy)]
pub struct Slow {
    /// Its confirmation, after the load started.
    pub confirmed: Duration,
    /// Confirmation → answered by every satellite's DNS and WHOIS.
    pub took: Duration,
    /// The satellite (index into those probed) answering last, and whether by WHOIS.
    pub last: (usize, bool),
}

impl std::fmt::Display for Slow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.1} ms, confirmed {:.2} s into the load, answered last by satellite {}'s {}",
            self.took.as_secs_f64() * 1e3,
            self.confirmed.as_secs_f64(),
            self.last.0 + 1,
            if self.last.1 { "WHOIS" } else { "DNS" }
        )
    }
}

const GIVE_UP: Duration = Duration::from_secs(10);

/// Runs the load and the probes.
pub fn run(load: &Load, certificate: &Path, satellites: &[Satellite]) -> anyhow::Result<Report> {
    let config = control_plane::front::tls::client_config(certificate)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (confirmed, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    // One prober per satellite and service, each with its queue of (name, confirmed at).
    let mut queues = Vec::new();
    let mut probers = Vec::new();
    for (index, satellite) in satellites.iter().enumerate() {
        for whois in [false, true] {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Arc<str>, Instant)>();
            queues.push(tx);
            let satellite = *satellite;
            probers.push(runtime.spawn(async move {
                let mut times: Vec<(Arc<str>, Instant, Option<Duration>)> = Vec::new();
                while let Some((name, at)) = rx.recv().await {
                    let took = if whois {
                        until_whois(satellite.whois, &name, at).await
                    } else {
                        until_dns(satellite.dns, &name, at).await
                    };
                    times.push((name, at, took));
                }
                ((index, whois), times)
            }));
        }
    }
    let queues = Arc::new(queues);
    let started = Instant::now();
    let end = started + Duration::from_secs(load.seconds);
    let interval = Duration::from_secs_f64(load.connections as f64 / load.rate.max(1) as f64);
    let mut tasks = Vec::new();
    for client in 0..load.connections {
        let registrar = load.first_registrar + client as u32 % load.registrars.max(1);
        let (config, confirmed, failed, queues) = (
            config.clone(),
            confirmed.clone(),
            failed.clone(),
            queues.clone(),
        );
        let load = load.clone();
        tasks.push(runtime.spawn(async move {
            // Spread the clients over the interval so the load is even.
            let mut next = started + interval.mul_f64(client as f64 / load.connections as f64);
            let mut n = 0u64;
            while next < end {
                tokio::time::sleep_until(next.into()).await;
                next += interval;
                n += 1;
                let name = format!("{}{client}-{n}.{}", load.prefix, load.zone);
                let request = crate::writebench::create(registrar, &name);
                match control_plane::front::client::send(
                    load.server,
                    "localhost",
                    config.clone(),
                    &request,
                )
                .await
                {
                    Ok(r) if r.code == Code::Success => {
                        let count = confirmed.fetch_add(1, Ordering::Relaxed) + 1;
                        if count % load.sample.max(1) == 0 {
                            let (at, name): (Instant, Arc<str>) = (Instant::now(), name.into());
                            for queue in queues.iter() {
                                let _ = queue.send((name.clone(), at));
                            }
                        }
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for task in tasks {
        runtime.block_on(task)?;
    }
    let elapsed = started.elapsed();
    drop(queues);
    // Per name: when it was confirmed, and the slowest satellite per service.
    type Answered = Option<(Duration, usize)>;
    let mut slowest: std::collections::HashMap<Arc<str>, (Instant, [Answered; 2])> =
        std::collections::HashMap::new();
    let mut lost = 0u64;
    for prober in probers {
        let ((satellite, whois), times) = runtime.block_on(prober)?;
        for (name, at, took) in times {
            let entry = slowest
                .entry(name)
                .or_insert((at, [Some((Duration::ZERO, satellite)); 2]));
            let slot = &mut entry.1[usize::from(whois)];
            match (took, *slot) {
                (Some(t), Some((s, _))) if t > s => *slot = Some((t, satellite)),
                (Some(_), Some(_)) => {}
                _ => *slot = None,
            }
        }
    }
    let (mut dns, mut whois, mut both) = (
        Histogram::<u64>::new(3)?,
        Histogram::<u64>::new(3)?,
        Histogram::<u64>::new(3)?,
    );
    let mut slow = Vec::new();
    for (at, [d, w]) in slowest.into_values() {
        let (Some((d, on_d)), Some((w, on_w))) = (d, w) else {
            lost += 1;
            continue;
        };
        dns.record(d.as_micros() as u64)?;
        whois.record(w.as_micros() as u64)?;
        both.record(d.max(w).as_micros() as u64)?;
        slow.push(Slow {
            confirmed: at.saturating_duration_since(started),
            took: d.max(w),
            last: if w > d { (on_w, true) } else { (on_d, false) },
        });
    }
    slow.sort_by_key(|s| std::cmp::Reverse(s.took));
    slow.truncate(SLOWEST);
    Ok(Report {
        confirmed: confirmed.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        elapsed,
        dns,
        whois,
        both,
        lost,
        slowest: slow,
    })
}

/// A query for `name` NS, without recursion.
fn query(name: &str, id: u16) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 2, 0, 1]);
    q
}

async fn until_dns(server: SocketAddr, name: &str, since: Instant) -> Option<Duration> {
    let socket = tokio::net::UdpSocket::bind(crate::loopback_for(server))
        .await
        .ok()?;
    let mut buf = [0u8; 1500];
    let mut id = 0u16;
    while since.elapsed() < GIVE_UP {
        id = id.wrapping_add(1);
        socket.send_to(&query(name, id), server).await.ok()?;
        if let Ok(Ok(len)) =
            tokio::time::timeout(Duration::from_millis(50), socket.recv(&mut buf)).await
            && len >= 12
            && buf[..2] == id.to_be_bytes()
            // NOERROR with records in the answer or authority section: the delegation.
            && buf[3] & 0x0F == 0
            && (buf[6..8] != [0, 0] || buf[8..10] != [0, 0])
        {
            return Some(since.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    None
}

async fn until_whois(server: SocketAddr, name: &str, since: Instant) -> Option<Duration> {
    let needle = format!("Domain Name: {}", name.to_ascii_uppercase());
    let needle_lower = format!("Domain Name: {name}");
    while since.elapsed() < GIVE_UP {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(server).await {
            let _ = stream.write_all(format!("{name}\r\n").as_bytes()).await;
            let mut answer = Vec::new();
            let _ =
                tokio::time::timeout(Duration::from_secs(1), stream.read_to_end(&mut answer)).await;
            let text = String::from_utf8_lossy(&answer);
            if text.contains(&needle) || text.contains(&needle_lower) {
                return Some(since.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    None
}
