//! Durable registrar writes: clients that each register domains one after another, and report
//! confirmed creates per second and latency percentiles. Over SRRP a client opens a new TLS
//! connection per request, as SRRP has it, resuming the TLS session; over EPP it keeps one
//! session (TLS, greeting, login) and sends `<domain:create>` commands on it, as registrars do.
//! Both register the same names with the same two name servers outside the zone, so the
//! registry does the same work.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use control_plane::front::epp::frame;
use control_plane::front::srrp::grammar::{Code, Request, VERSION};
use hdrhistogram::Histogram;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The registrar protocol a run speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// SRRP, offering only TLS 1.2 when `tls12` (whose resumption skips the key exchange that
    /// TLS 1.3 resumption keeps).
    Srrp {
        /// TLS 1.2 only.
        tls12: bool,
    },
    /// EPP, one session per client.
    Epp,
}

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

/// EPP's `<domain:create>` of `name`, with the same name servers as [`create`] and no password.
fn epp_create(name: &str, n: u64) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><create><domain:create xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>{name}</domain:name><domain:ns><domain:hostAttr><domain:hostName>ns1.example.net</domain:hostName></domain:hostAttr><domain:hostAttr><domain:hostName>ns2.example.net</domain:hostName></domain:hostAttr></domain:ns><domain:authInfo><domain:pw/></domain:authInfo></domain:create></create><clTRID>bench-{n}</clTRID></command></epp>"#
    )
}

/// Sends one EPP frame and reads the answer's result code.
async fn epp_exchange<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    xml: &str,
) -> anyhow::Result<u16> {
    stream.write_all(&frame::encode(xml.as_bytes())).await?;
    let answer = epp_read(stream).await?;
    let at = answer
        .find("code=\"")
        .ok_or_else(|| anyhow::anyhow!("no result code in {answer}"))?;
    Ok(answer[at + 6..at + 10].parse()?)
}

async fn epp_read<S: AsyncRead + Unpin>(stream: &mut S) -> anyhow::Result<String> {
    let mut header = [0u8; frame::HEADER];
    stream.read_exact(&mut header).await?;
    let mut payload = vec![0u8; frame::length(header, 1 << 20)?];
    stream.read_exact(&mut payload).await?;
    Ok(String::from_utf8(payload)?)
}

/// An EPP session logged in as `registrar`.
async fn epp_session(
    server: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    registrar: u32,
) -> anyhow::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let tcp = tokio::net::TcpStream::connect(server).await?;
    tcp.set_nodelay(true)?;
    let name = rustls::pki_types::ServerName::try_from("localhost")?;
    let mut stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await?;
    epp_read(&mut stream).await?;
    let login = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><login><clID>{registrar}</clID><pw>pw-{registrar}</pw><options><version>1.0</version><lang>en</lang></options><svcs><objURI>urn:ietf:params:xml:ns:domain-1.0</objURI></svcs></login><clTRID>bench-login</clTRID></command></epp>"#
    );
    let code = epp_exchange(&mut stream, &login).await?;
    anyhow::ensure!(code == 1000, "login as {registrar} answered {code}");
    Ok(stream)
}

/// Runs `connections` clients for `seconds` after a second of warm-up; client `i` is
/// registrar `first_registrar + i % registrars` with password `pw-<id>`, and creates
/// `<prefix><i>-<n>.<zone>`.
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
    protocol: Protocol,
) -> anyhow::Result<Report> {
    let versions: &[&'static rustls::SupportedProtocolVersion] =
        if protocol == (Protocol::Srrp { tls12: true }) {
            &[&rustls::version::TLS12]
        } else {
            rustls::DEFAULT_VERSIONS
        };
    let config = control_plane::front::tls::client_config_with(certificate, versions)?;
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
            let mut session = match protocol {
                Protocol::Epp => match epp_session(server, config.clone(), registrar).await {
                    Ok(session) => Some(session),
                    Err(e) => {
                        eprintln!("EPP session for {registrar}: {e:#}");
                        failed.fetch_add(1, Ordering::Relaxed);
                        return histogram;
                    }
                },
                Protocol::Srrp { .. } => None,
            };
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let name = format!("{prefix}{client}-{n}.{zone}");
                let started = Instant::now();
                let confirmed = match &mut session {
                    Some(stream) => epp_exchange(stream, &epp_create(&name, n))
                        .await
                        .is_ok_and(|code| code == 1000),
                    None => control_plane::front::client::send(
                        server,
                        "localhost",
                        config.clone(),
                        &create(registrar, &name),
                    )
                    .await
                    .is_ok_and(|r| r.code == Code::Success),
                };
                let took = started.elapsed();
                if !measuring.load(Ordering::Relaxed) {
                    continue;
                }
                match confirmed {
                    true => {
                        let _ = histogram.record(took.as_micros() as u64);
                    }
                    false => {
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
