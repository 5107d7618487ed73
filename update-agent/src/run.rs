//! The agent's shell: the QUIC client that dials upstream, reconnects with jittered back-off,
//! and feeds each session's messages to an [`Applier`]; the relay's listener; the metrics page;
//! the activity counts ([`crate::activity`]), sent upstream as they change.
//!
//! # Threads
//!
//! A two-thread tokio runtime runs the tunnel and the metrics listener. The session is one
//! task that reads messages in order and applies each one on the spot (`block_in_place`:
//! writes are fsync-bound and strictly sequential), so nothing is acknowledged before it is
//! on disk. A compaction folds the journal into the next image on a thread of its own while
//! the session goes on appending ([`crate::satellite`]). A relay's downstream sessions are
//! tasks on the same runtime.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use satellite_protocol::message::{Deframer, Message};
use satellite_protocol::session::TrustedKey;
use satellite_protocol::{keys, tunnel};
use tokio::task::block_in_place;

use crate::applier::{Applier, CHECKPOINT_IDLE, Next, Stats};
use crate::config::{Config, RelayConfig};
use crate::relay::Relay;
use crate::satellite::{Satellite, Upstream};

/// Runs the agent until SIGINT or SIGTERM: the metrics page, the relay if configured, and
/// sessions with the upstream, reconnecting with jittered back-off.
pub async fn run(config: Config, path: &Path) -> anyhow::Result<()> {
    let node_key = keys::load_private(&config.key)?;
    let upstream_key = keys::parse_public(&config.upstream_key)
        .context("upstream_key is not a base64 Ed25519 public key")?;
    let trusted: Vec<TrustedKey> = config
        .signing_keys
        .iter()
        .map(|k| keys::parse_public(k).map(TrustedKey::new))
        .collect::<Option<_>>()
        .context("signing_keys holds a key that is not a base64 Ed25519 public key")?;
    let (satellite, notes) = Satellite::open(config.layout())?;
    for note in notes {
        tracing::warn!(recovery = note, "recovered from an interrupted write");
    }
    for (zone, serial) in satellite.serials() {
        tracing::info!(zone, serial, "holding");
    }
    let (relay, notes) = Relay::open(
        &config.id,
        trusted.clone(),
        &config.state,
        &satellite.serials(),
        config.keep_changesets,
    )?;
    for note in notes {
        tracing::warn!(recovery = note, "changeset log");
    }
    let relay = Arc::new(relay);
    if let Some(activity) = &config.activity {
        tokio::spawn(crate::activity::count(
            activity.clone(),
            config.id.clone(),
            config.state.clone(),
            relay.outbox().clone(),
        ));
    }
    if let Some(relaying) = &config.relay {
        serve_downstream(&relay, relaying, path, &node_key)?;
    }
    let satellite = Arc::new(Mutex::new(satellite));
    let stats = Arc::new(Stats::default());
    stats.note_serials(&satellite.lock().expect("not poisoned"));
    if let Some(addr) = config.metrics_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding metrics_listen {addr}"))?;
        let (satellite, stats, relay) = (satellite.clone(), stats.clone(), relay.clone());
        tokio::spawn(ops::serve_metrics(
            listener,
            Arc::new(move |out: &mut ops::metrics::Writer<'_, '_>| {
                stats.write_metrics(&satellite, out)?;
                relay.write_metrics(out)
            }),
        ));
    }
    let client = tunnel::client_config(&node_key, &upstream_key)?;
    let mut endpoint = quinn::Endpoint::client("[::]:0".parse().expect("an address"))
        .or_else(|_| quinn::Endpoint::client("0.0.0.0:0".parse().expect("an address")))?;
    endpoint.set_default_client_config(client);
    let mut backoff = Duration::from_millis(200);
    let mut resync = BTreeSet::new();
    let session = async {
        loop {
            let started = Instant::now();
            let result = session(
                &config,
                &endpoint,
                &trusted,
                &satellite,
                &relay,
                &stats,
                &mut resync,
            )
            .await;
            stats.connected.store(0, Ordering::Relaxed);
            relay.upstream(None);
            match result {
                Ok(()) => tracing::info!("session ended"),
                Err(error) => tracing::warn!(%error, "session ended"),
            }
            if started.elapsed() > Duration::from_secs(10) || !resync.is_empty() {
                backoff = Duration::from_millis(200);
            }
            // Jitter: 50–100% of the back-off, so satellites cut off together do not return
            // together.
            let wait = backoff.mul_f64(0.5 + jitter() / 2.0);
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    };
    tokio::select! {
        () = session => {}
        () = ops::stopped() => tracing::info!("stopping"),
    }
    endpoint.close(0u32.into(), b"stopping");
    // A clean stop leaves nothing to recover at the next start: the WHOIS tree made durable,
    // its search indexes merged and its serial recorded (a kill -9 is recovered instead).
    block_in_place(|| satellite.lock().expect("not poisoned").checkpoint())
        .context("the last checkpoint before stopping")?;
    Ok(())
}

/// Serves downstream agents on `[relay] listen` from the changeset logs, and re-reads their
/// keys whenever the configuration file changes.
fn serve_downstream(
    server: &Arc<Relay>,
    relay: &RelayConfig,
    path: &Path,
    node_key: &[u8],
) -> anyhow::Result<()> {
    server.tunnels().set_members(relay.members()?);
    let tls = tunnel::server_config(node_key, server.tunnels().pins())?;
    let endpoint = quinn::Endpoint::server(tls, relay.listen)
        .with_context(|| format!("binding relay.listen {}", relay.listen))?;
    tracing::info!(listen = %relay.listen, downstream = relay.downstream.len(), "relaying");
    tokio::spawn(server.clone().serve(endpoint));
    let (watched, path) = (server.clone(), path.to_owned());
    tokio::spawn(async move {
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let mut seen = modified(&path);
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let now = modified(&path);
            if now == seen {
                continue;
            }
            seen = now;
            let members = Config::load(&path).and_then(|c| {
                c.relay
                    .context("[relay] was removed: restart to stop relaying")?
                    .members()
            });
            match members {
                Ok(members) => {
                    tracing::info!(downstream = members.len(), "downstream agents re-read");
                    watched.tunnels().set_members(members);
                }
                Err(error) => tracing::error!(%error, "re-reading the downstream agents"),
            }
        }
    });
    Ok(())
}

/// A random number in [0, 1).
fn jitter() -> f64 {
    let mut bytes = [0u8; 2];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
    f64::from(u16::from_le_bytes(bytes)) / 65536.0
}

/// One session: connect, HELLO, then apply what arrives until the tunnel breaks.
async fn session(
    config: &Config,
    endpoint: &quinn::Endpoint,
    trusted: &[TrustedKey],
    satellite: &Mutex<Satellite>,
    relay: &Relay,
    stats: &Stats,
    resync: &mut BTreeSet<String>,
) -> anyhow::Result<()> {
    let address = tokio::net::lookup_host(&config.upstream)
        .await
        .with_context(|| format!("resolving {}", config.upstream))?
        .next()
        .with_context(|| format!("{} has no address", config.upstream))?;
    let connection =
        tokio::time::timeout(tunnel::IDLE, endpoint.connect(address, "constellation")?)
            .await
            .context("timed out connecting")??;
    let (mut send, mut recv) = connection.open_bi().await?;
    relay.upstream(Some(connection.clone()));
    let mut applier = Applier::new(
        &config.id,
        trusted.to_vec(),
        satellite,
        relay,
        stats,
        resync,
    );
    send.write_all(&applier.hello().encode()).await?;
    let outbox = relay.outbox().clone();
    outbox.resend_all();
    stats.sessions.fetch_add(1, Ordering::Relaxed);
    let mut deframer = Deframer::default();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut announced = false;
    let mut out = Vec::new();
    loop {
        let read = tokio::select! {
            read = recv.read(&mut buffer) => read?,
            () = tokio::time::sleep(CHECKPOINT_IDLE) => {
                block_in_place(|| applier.checkpoint())?;
                answer_audit(&mut applier, &mut send).await?;
                continue;
            }
            () = outbox.changed() => {
                send_all(&mut send, &mut outbox.unsent()).await?;
                continue;
            }
        };
        let Some(n) = read else {
            bail!("upstream closed the stream");
        };
        if !announced {
            announced = true;
            stats.connected.store(1, Ordering::Relaxed);
            tracing::info!(upstream = %address, "session up");
        }
        deframer.push(&buffer[..n]);
        loop {
            let message = match deframer.next_message() {
                Ok(Some(message)) => message,
                Ok(None) => break,
                Err(error) => {
                    block_in_place(|| applier.flush(&mut out))?;
                    send_all(&mut send, &mut out).await?;
                    return Err(error.into());
                }
            };
            // Most messages only join the batch: the runtime's thread is handed over
            // (`block_in_place`) only for those that reach the disk.
            let next = match applier.reaches_disk(&message) {
                true => block_in_place(|| applier.receive(message, &mut out))?,
                false => applier.receive(message, &mut out)?,
            };
            send_all(&mut send, &mut out).await?;
            if let Next::End(reason) = next {
                let _ = send.finish();
                // Let the replies reach upstream before the connection goes.
                let _ = tokio::time::timeout(Duration::from_secs(1), send.stopped()).await;
                bail!("{reason}");
            }
        }
        if applier.has_changes() {
            block_in_place(|| applier.flush(&mut out))?;
            // Durable: acknowledge before anything else.
            send_all(&mut send, &mut out).await?;
            // A read that filled the buffer left more waiting: a backlog is streaming in.
            let upstream = match n == buffer.len() {
                true => Upstream::Backlog,
                false => Upstream::Live,
            };
            block_in_place(|| applier.compact(upstream))?;
        }
        if applier.checkpoint_due() {
            block_in_place(|| applier.checkpoint())?;
        }
        answer_audit(&mut applier, &mut send).await?;
    }
}

/// Sends the answer of an audit whose reading has ended; ends the session if the data
/// differed (the next session asks for a snapshot).
async fn answer_audit(
    applier: &mut Applier<'_>,
    send: &mut quinn::SendStream,
) -> anyhow::Result<()> {
    if !applier.audit_ready() {
        return Ok(());
    }
    let mut out = Vec::new();
    let next = block_in_place(|| applier.finish_audit(&mut out))?;
    send_all(send, &mut out).await?;
    if let Next::End(reason) = next {
        let _ = send.finish();
        // Let the reply reach upstream before the connection goes.
        let _ = tokio::time::timeout(Duration::from_secs(1), send.stopped()).await;
        bail!("{reason}");
    }
    Ok(())
}

/// Sends the replies in order and empties the list.
async fn send_all(send: &mut quinn::SendStream, out: &mut Vec<Message>) -> anyhow::Result<()> {
    for message in out.drain(..) {
        send.write_all(&message.encode()).await?;
    }
    Ok(())
}
