//! Durable SRRP writes: registrar connections that each send CREATE DOMAIN requests one after
//! another (a new TLS connection per request, as SRRP has it, resuming the TLS session), and
//! report confirmed creates per second and latency percentiles.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use control_plane::srrp::{Code, Request, VERSION};
use hdrhistogram::Histogram;

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// Creates confirmed (200) after the warm-up.
    pub confirmed: u64,
    /// Requests answered with another code, or failed.
    pub failed: u64,
    /// The measured time.
    pub elapsed: Duration,
    /// Latency percentiles in microseconds: p50, p99, p99.9, max.
    pub latency_us: [u64; 4],
}

/// CREATE DOMAIN of `name` by `registrar` (password `pw-<id>`), with two name servers outside
/// the zone: the request both write benchmarks send.
pub fn create(registrar: u32, name: &str) -> Request {
    Request {
        command: "CREATE".into(),
        object: "DOMAIN".into(),
        protocol: VERSION.into(),
        attributes: vec![
            ("registrar-id".into(), registrar.to_string()),
            ("registrar-auth".into(), format!("pw-{registrar}")),
            ("domain-name".into(), name.to_owned()),
            ("ns1-name".into(), "ns1.example.net".into()),
            ("ns2-name".into(), "ns2.example.net".into()),
        ],
    }
}

/// Runs `connections` clients for `seconds` after a second of warm-up; client `i` is
/// registrar `first_registrar + i % registrars` with password `pw-<id>`, and creates
/// `<prefix><i>-<n>.<zone>`. With `tls12` the clients offer only TLS 1.2 (whose resumption
/// skips the key exchange that TLS 1.3 resumption keeps).
#[allow(clippy::too_many_arguments)]
pub fn run(
    server: SocketAddr,
    certificate: &Path,
    zone: &str,
    prefix: &str,
    connections: usize,
    first_registrar: u32,
    registrars: u32,
    seconds: u64,
    tls12: bool,
) -> anyhow::Result<Report> {
    let versions: &[&'static rustls::SupportedProtocolVersion] = if tls12 {
        &[&rustls::version::TLS12]
    } else {
        rustls::DEFAULT_VERSIONS
    };
    let config = control_plane::tls::client_config_with(certificate, versions)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for client in 0..connections {
        let registrar = first_registrar + client as u32 % registrars.max(1);
        let (config, measuring, stop, failed) = (
            config.clone(),
            measuring.clone(),
            stop.clone(),
            failed.clone(),
        );
        let (zone, prefix) = (zone.to_string(), prefix.to_string());
        tasks.push(runtime.spawn(async move {
            let mut histogram = Histogram::<u64>::new(3).expect("histogram bounds");
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let request = create(registrar, &format!("{prefix}{client}-{n}.{zone}"));
                let started = Instant::now();
                let sent =
                    control_plane::client::send(server, "localhost", config.clone(), &request)
                        .await;
                let took = started.elapsed();
                if !measuring.load(Ordering::Relaxed) {
                    continue;
                }
                match sent {
                    Ok(r) if r.code == Code::Success => {
                        let _ = histogram.record(took.as_micros() as u64);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            histogram
        }));
    }
    std::thread::sleep(Duration::from_secs(1));
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut all = Histogram::<u64>::new(3).expect("histogram bounds");
    for task in tasks {
        all.add(runtime.block_on(task)?)?;
    }
    Ok(Report {
        confirmed: all.len(),
        failed: failed.load(Ordering::Relaxed),
        elapsed,
        latency_us: [
            all.value_at_quantile(0.5),
            all.value_at_quantile(0.99),
            all.value_at_quantile(0.999),
            all.max(),
        ],
    })
}
