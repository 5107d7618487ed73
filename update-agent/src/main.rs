//! `update-agent`: the satellite's only writer. It dials the control plane (or a relay) over
//! QUIC, says which serial each zone holds, and applies the signed changesets and snapshots it
//! receives to the zone directories and the WHOIS tree, acknowledging each serial once it is
//! durable. See the library's docs for the protocol and the order of writes. Every agent keeps
//! the newest signed changesets it applied (`keep_changesets`, with their sealed registry
//! records: the registry's disaster recovery replays them); with `[relay]` it also serves
//! agents downstream from them (`update_agent::relay`).
//!
//! # Threads
//!
//! A two-thread tokio runtime runs the tunnel and the metrics listener. The session is one
//! task that reads messages in order and applies each one on the spot (`block_in_place`:
//! writes are fsync-bound and strictly sequential), so nothing is acknowledged before it is
//! on disk. A compaction folds the journal into the next image on a thread of its own while
//! the session goes on appending (`update_agent::satellite`). A relay's downstream sessions
//! are tasks on the same runtime.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use satellite_protocol::message::{Deframer, Message, SignedChangeset};
use satellite_protocol::session::{Agent, Step, TrustedKey};
use satellite_protocol::{keys, tunnel};
use serde::Deserialize;
use update_agent::relay::Relay;
use update_agent::satellite::{Layout, Satellite};

/// The satellite's update-agent.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The configuration file (TOML).
    #[arg(short, long, default_value = "update-agent.toml", global = true)]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the agent (the default).
    Run,
    /// Writes a new node key (`<name>.key`, mode 0600) and its public key (`<name>.pub`):
    /// the key the control plane pins for this satellite.
    Keygen {
        /// Where to write them.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The files' base name.
        #[arg(long, default_value = "node")]
        name: String,
    },
    /// Prints the serial each zone holds, from the data on disk (read only: safe while the
    /// agent runs).
    Status,
    /// Compares this satellite's DNS and WHOIS data, item by item, with the registry's export
    /// at the serial it holds (`control-plane export <zone> --serial <serial> -o DIR`): what
    /// is missing, extra or different. Read only; exits 1 on any difference.
    Verify {
        /// The folder holding `<zone>-<serial>.img` and `<zone>-<serial>.whois`.
        #[arg(long)]
        export: PathBuf,
    },
}

/// The configuration file. Every setting but `id`, `upstream`, `upstream_key`,
/// `signing_keys` and the zones has a default.
///
/// ```toml
#[doc = include_str!("../../ops/deploy/config/update-agent.toml")]
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    id: String,
    #[serde(default = "default_key")]
    key: PathBuf,
    upstream: String,
    upstream_key: String,
    signing_keys: Vec<String>,
    #[serde(default = "default_state")]
    state: PathBuf,
    #[serde(default = "default_tree")]
    whois_tree: PathBuf,
    metrics_listen: Option<std::net::SocketAddr>,
    #[serde(default = "default_compact")]
    compact_after: usize,
    #[serde(default = "default_compact")]
    journal_keep: usize,
    #[serde(default = "default_keep")]
    keep_changesets: usize,
    #[serde(rename = "zone")]
    zones: Vec<ZoneConfig>,
    relay: Option<RelayConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RelayConfig {
    listen: std::net::SocketAddr,
    #[serde(default)]
    downstream: Vec<Downstream>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Downstream {
    id: String,
    key: String,
}

impl RelayConfig {
    /// The downstream agents' keys, each with its id.
    fn members(&self) -> anyhow::Result<HashMap<Vec<u8>, String>> {
        self.downstream
            .iter()
            .map(|d| {
                let key = keys::parse_public(&d.key).with_context(|| {
                    format!(
                        "relay.downstream {}: key is not a base64 Ed25519 public key",
                        d.id
                    )
                })?;
                Ok((key, d.id.clone()))
            })
            .collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ZoneConfig {
    origin: String,
    directory: PathBuf,
}

fn default_key() -> PathBuf {
    "node.key".into()
}
fn default_state() -> PathBuf {
    "state".into()
}
fn default_tree() -> PathBuf {
    "whois".into()
}
fn default_compact() -> usize {
    1000
}
fn default_keep() -> usize {
    satellite_protocol::log::DEFAULT_KEEP
}

impl Config {
    fn load(path: &Path) -> anyhow::Result<Config> {
        let mut config: Config = ops::load_config(path)?;
        for p in [&mut config.key, &mut config.state, &mut config.whois_tree] {
            ops::relative_to(path, p);
        }
        for zone in &mut config.zones {
            ops::relative_to(path, &mut zone.directory);
            zone.origin = zone.origin.trim_end_matches('.').to_ascii_lowercase();
        }
        if config.zones.is_empty() {
            bail!(
                "{}: no [[zone]]: name the zones this satellite serves",
                path.display()
            );
        }
        Ok(config)
    }

    fn layout(&self) -> Layout {
        Layout {
            state: self.state.clone(),
            whois_tree: self.whois_tree.clone(),
            zones: self
                .zones
                .iter()
                .map(|z| (z.origin.clone(), z.directory.clone()))
                .collect(),
            compact_after: self.compact_after.max(1),
            journal_keep: self.journal_keep,
        }
    }
}

/// Counters for the metrics page.
#[derive(Default)]
struct Stats {
    connected: AtomicU64,
    sessions: AtomicU64,
    applied: AtomicU64,
    refused: AtomicU64,
    snapshots: AtomicU64,
    snapshot_bytes: AtomicU64,
    compactions: AtomicU64,
    audits: AtomicU64,
    audit_mismatches: AtomicU64,
    /// The serials last read from the satellite. The metrics page shows these
    /// while the satellite is busy (a batch, a checkpoint, a compaction), so
    /// the gauge never disappears from a scrape.
    serials: std::sync::Mutex<Vec<(String, Option<u32>)>>,
}

impl Stats {
    /// Records the serials the satellite holds now, for the metrics page.
    fn note_serials(&self, satellite: &Satellite) {
        *self.serials.lock().expect("not poisoned") = satellite.serials();
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    ops::init_logging();
    match cli.command.unwrap_or(Command::Run) {
        Command::Keygen { dir, name } => {
            std::fs::create_dir_all(&dir)?;
            let key = keys::write_new(
                &dir.join(format!("{name}.key")),
                &dir.join(format!("{name}.pub")),
            )?;
            println!("{}", keys::public_text(&key));
            Ok(())
        }
        Command::Status => {
            // Read only: the agent may be running.
            let config = Config::load(&cli.config)?;
            for zone in &config.zones {
                match update_agent::satellite::serial_on_disk(&zone.directory)? {
                    Some(serial) => println!("{}\t{serial}", zone.origin),
                    None => println!("{}\tno data yet", zone.origin),
                }
            }
            Ok(())
        }
        Command::Verify { export } => {
            let config = Config::load(&cli.config)?;
            let mut same = true;
            for zone in &config.zones {
                same &= verify(zone, &config.whois_tree, &export)?;
            }
            if !same {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Run => {
            let config = Config::load(&cli.config)?;
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?
                .block_on(run(config, &cli.config))
        }
    }
}

async fn run(config: Config, path: &Path) -> anyhow::Result<()> {
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
    if let Some(relaying) = &config.relay {
        serve_downstream(&relay, relaying, path, &node_key)?;
    }
    let satellite = Arc::new(std::sync::Mutex::new(satellite));
    let stats = Arc::new(Stats::default());
    stats.note_serials(&satellite.lock().expect("not poisoned"));
    if let Some(addr) = config.metrics_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding metrics_listen {addr}"))?;
        let (satellite, stats, relay) = (satellite.clone(), stats.clone(), relay.clone());
        tokio::spawn(ops::serve_metrics(
            listener,
            Arc::new(move || {
                let mut page = metrics(&satellite, &stats);
                page.push_str(&relay.metrics());
                page
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
    tokio::task::block_in_place(|| satellite.lock().expect("not poisoned").checkpoint())
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

/// Compares one zone with the registry's export at the serial held; prints the report.
fn verify(zone: &ZoneConfig, tree: &Path, export: &Path) -> anyhow::Result<bool> {
    use update_agent::verify;
    let held = verify::served(&zone.directory)?;
    let serial = held.serial().context("the zone has no SOA")?;
    let image = export.join(format!("{}-{serial}.img", zone.origin));
    let whois = export.join(format!("{}-{serial}.whois", zone.origin));
    if !image.exists() || !whois.exists() {
        bail!(
            "{} holds serial {serial}: export the registry at it first (control-plane export {} --serial {serial} -o {})",
            zone.origin,
            zone.origin,
            export.display()
        );
    }
    let expected = zonefiles::image::Image::open(&image)?.to_zone()?;
    let lines = std::fs::read(&whois).with_context(|| format!("reading {}", whois.display()))?;
    let expected_objects = lines
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(serde_json::from_slice)
        .collect::<Result<Vec<zonefiles::whois::Object>, _>>()
        .with_context(|| format!("reading {}", whois.display()))?;
    let held_objects = zonefiles::whois::tree::Tree::open(tree)?.zone_objects(&zone.origin)?;
    let report = verify::compare(
        &zone.origin,
        (&held, &held_objects),
        (&expected, &expected_objects),
    );
    for (what, d) in [("DNS names", &report.dns), ("WHOIS objects", &report.whois)] {
        println!(
            "{} at serial {serial}: {what}: registry {}, satellite {}; missing {}, extra {}, different {}",
            zone.origin, d.expected, d.held, d.missing.0, d.extra.0, d.different.0
        );
        for (kind, list) in [
            ("missing", &d.missing.1),
            ("extra", &d.extra.1),
            ("different", &d.different.1),
        ] {
            for item in list {
                println!("  {kind}: {item}");
            }
        }
    }
    Ok(report.same())
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
    satellite: &std::sync::Mutex<Satellite>,
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
    let mut agent = {
        let satellite = satellite.lock().expect("not poisoned");
        // A zone whose audit failed asks for a snapshot, as if it held nothing (it keeps
        // serving what it holds until the snapshot is installed).
        let serials = satellite.serials().into_iter().map(|(zone, serial)| {
            let serial = if resync.contains(&zone) { None } else { serial };
            (zone, serial)
        });
        let mut agent = Agent::new(&config.id, trusted.to_vec(), serials);
        for (zone, _) in satellite.serials() {
            if let Some(partial) = satellite.partial(&zone)
                && !agent.resume(partial.header, &partial.held)
            {
                tracing::warn!(zone, "dropping a partial snapshot that no longer checks");
            }
        }
        agent
    };
    send.write_all(&agent.hello().encode()).await?;
    stats.sessions.fetch_add(1, Ordering::Relaxed);
    let mut deframer = Deframer::default();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut announced = false;
    let mut checkpointed = Instant::now();
    let mut batch: Vec<SignedChangeset> = Vec::new();
    loop {
        let read = tokio::select! {
            read = recv.read(&mut buffer) => read?,
            () = tokio::time::sleep(CHECKPOINT_IDLE) => {
                checkpoint(satellite, stats, &mut checkpointed)?;
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
                    apply(
                        &mut batch, false, &mut agent, satellite, relay, stats, &mut send,
                    )
                    .await?;
                    return Err(error.into());
                }
            };
            match agent.receive(message) {
                Ok(Step::Apply(changeset)) => {
                    batch.push(changeset);
                    if batch.len() >= MAX_BATCH {
                        apply(
                            &mut batch, true, &mut agent, satellite, relay, stats, &mut send,
                        )
                        .await?;
                    }
                }
                Ok(step) => {
                    apply(
                        &mut batch, false, &mut agent, satellite, relay, stats, &mut send,
                    )
                    .await?;
                    let audit = matches!(step, Step::Audit { .. });
                    let reply = tokio::task::block_in_place(|| {
                        let mut satellite = satellite.lock().expect("not poisoned");
                        handle(step, &mut agent, &mut satellite, relay, stats, resync)
                    })?;
                    if let Some(reply) = reply {
                        send.write_all(&reply.encode()).await?;
                    }
                    if audit && !resync.is_empty() {
                        let _ = send.finish();
                        let _ = tokio::time::timeout(Duration::from_secs(1), send.stopped()).await;
                        bail!("resynchronising {resync:?} from a snapshot");
                    }
                }
                Err(violation) => {
                    // What was accepted before it is good: apply and acknowledge it first.
                    apply(
                        &mut batch, false, &mut agent, satellite, relay, stats, &mut send,
                    )
                    .await?;
                    stats.refused.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(reason = %violation.reason, "refused what upstream sent");
                    if let Some(zone) = &violation.discard_snapshot {
                        satellite
                            .lock()
                            .expect("not poisoned")
                            .discard_partial(zone);
                    }
                    if let Some(report) = violation.report {
                        send.write_all(&report.encode()).await?;
                    }
                    let _ = send.finish();
                    // Let the report reach upstream before the connection goes.
                    let _ = tokio::time::timeout(Duration::from_secs(1), send.stopped()).await;
                    bail!("{}", violation.reason);
                }
            }
        }
        // A read that filled the buffer left more waiting: a backlog is streaming in.
        let behind = n == buffer.len();
        apply(
            &mut batch, behind, &mut agent, satellite, relay, stats, &mut send,
        )
        .await?;
        if checkpointed.elapsed() >= CHECKPOINT_EVERY {
            checkpoint(satellite, stats, &mut checkpointed)?;
        }
    }
}

/// Changesets applied with one fsync, at most.
const MAX_BATCH: usize = 4096;
/// A checkpoint at least this often while changes keep coming.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// A checkpoint after this long without traffic.
const CHECKPOINT_IDLE: Duration = Duration::from_millis(200);

/// A checkpoint, and the folds that have ended made current (with no traffic, nothing else
/// would).
fn checkpoint(
    satellite: &std::sync::Mutex<Satellite>,
    stats: &Stats,
    at: &mut Instant,
) -> anyhow::Result<()> {
    *at = Instant::now();
    tokio::task::block_in_place(|| {
        let mut satellite = satellite.lock().expect("not poisoned");
        satellite.checkpoint()?;
        for (zone, _) in satellite.serials() {
            if let Some(serial) = satellite.finish_fold(&zone, false)? {
                folded(stats, &zone, serial);
            }
        }
        Ok(())
    })
}

/// Applies the accepted changesets (grouped by zone, in order), acknowledges the last serial
/// of each zone, and compacts when due (later while `behind`, more changesets waiting).
async fn apply(
    batch: &mut Vec<SignedChangeset>,
    behind: bool,
    agent: &mut Agent,
    satellite: &std::sync::Mutex<Satellite>,
    relay: &Relay,
    stats: &Stats,
    send: &mut quinn::SendStream,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let mut acks = Vec::new();
    let mut zones = Vec::new();
    tokio::task::block_in_place(|| -> anyhow::Result<()> {
        let mut satellite = satellite.lock().expect("not poisoned");
        let mut rest = &batch[..];
        while let Some(first) = rest.first() {
            let run = rest.iter().take_while(|c| c.zone == first.zone).count();
            let bytes: Vec<&[u8]> = rest[..run].iter().map(|c| &c.bytes[..]).collect();
            let serial = satellite.apply(&first.zone, &bytes)?;
            // Durable here: downstream agents may have them now.
            relay.append(&first.zone, &rest[..run])?;
            stats.applied.fetch_add(run as u64, Ordering::Relaxed);
            tracing::debug!(zone = first.zone, serial, changesets = run, "applied");
            acks.push(agent.applied(&first.zone, serial));
            zones.push(first.zone.clone());
            rest = &rest[run..];
        }
        stats.note_serials(&satellite);
        Ok(())
    })?;
    // Durable: acknowledge before anything else.
    for ack in acks {
        send.write_all(&ack.encode()).await?;
    }
    batch.clear();
    // Compaction keeps edge-dns's overlay (the changes since the image) small; it compiles the
    // whole zone, on a thread of its own.
    tokio::task::block_in_place(|| {
        compact(
            &mut satellite.lock().expect("not poisoned"),
            &zones,
            behind,
            stats,
        )
    })
}

/// Starts the folds due and makes current those that have ended.
fn compact(
    satellite: &mut Satellite,
    zones: &[String],
    behind: bool,
    stats: &Stats,
) -> anyhow::Result<()> {
    for zone in zones {
        if let Some(serial) = satellite.compact_if_due(zone, behind)? {
            folded(stats, zone, serial);
        }
    }
    Ok(())
}

fn folded(stats: &Stats, zone: &str, serial: u32) {
    stats.compactions.fetch_add(1, Ordering::Relaxed);
    tracing::info!(zone, serial, "journal folded into a new image");
}

/// Carries out one accepted step; returns what to send upstream.
fn handle(
    step: Step,
    agent: &mut Agent,
    satellite: &mut Satellite,
    relay: &Relay,
    stats: &Stats,
    resync: &mut BTreeSet<String>,
) -> anyhow::Result<Option<Message>> {
    match step {
        Step::Apply(_) => unreachable!("changesets are applied in batches"),
        Step::SnapshotStart(header) => {
            tracing::info!(
                zone = header.zone,
                serial = header.serial,
                bytes = header.len(),
                from = header.offset,
                "receiving a snapshot"
            );
            satellite.snapshot_start(&header)?;
            Ok(None)
        }
        Step::SnapshotBytes {
            zone,
            offset,
            bytes,
            complete,
        } => {
            stats
                .snapshot_bytes
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
            match satellite.snapshot_bytes(&zone, offset, &bytes, complete.as_ref())? {
                Some(serial) => {
                    stats.snapshots.fetch_add(1, Ordering::Relaxed);
                    stats.note_serials(satellite);
                    resync.remove(&zone);
                    tracing::info!(zone, serial, "snapshot installed");
                    relay.installed(&zone, serial)?;
                    Ok(Some(agent.applied(&zone, serial)))
                }
                None => Ok(None),
            }
        }
        Step::Audit {
            zone,
            serial,
            digest,
        } => {
            let ours = satellite.digest(&zone)?;
            let same = ours == digest;
            relay.audited(&zone, serial, digest);
            if same {
                tracing::info!(zone, serial, "audit: the data matches the control plane's");
            } else {
                stats.audit_mismatches.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    zone,
                    serial,
                    "audit: the data differs from the control plane's: resynchronising from a snapshot"
                );
                resync.insert(zone.clone());
            }
            stats.audits.fetch_add(1, Ordering::Relaxed);
            Ok(Some(Message::Audited {
                zone,
                serial,
                same,
                digest: ours,
            }))
        }
        Step::Report(report) => {
            stats.refused.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%report, ?report, "refused a replayed changeset");
            Ok(Some(report))
        }
    }
}

fn metrics(satellite: &std::sync::Mutex<Satellite>, stats: &Stats) -> String {
    use std::fmt::Write;
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let mut out = String::new();
    let counters = [
        (
            "update_agent_connected",
            "gauge",
            "1 while a session with the upstream is up.",
            load(&stats.connected),
        ),
        (
            "update_agent_sessions_total",
            "counter",
            "Sessions opened.",
            load(&stats.sessions),
        ),
        (
            "update_agent_changesets_applied_total",
            "counter",
            "Changesets applied and acknowledged.",
            load(&stats.applied),
        ),
        (
            "update_agent_refused_total",
            "counter",
            "Changesets or snapshots refused (bad signature, replay, out of sequence).",
            load(&stats.refused),
        ),
        (
            "update_agent_snapshots_installed_total",
            "counter",
            "Snapshots installed.",
            load(&stats.snapshots),
        ),
        (
            "update_agent_snapshot_bytes_total",
            "counter",
            "Snapshot bytes received.",
            load(&stats.snapshot_bytes),
        ),
        (
            "update_agent_compactions_total",
            "counter",
            "Journals folded into a new image.",
            load(&stats.compactions),
        ),
        (
            "update_agent_audits_total",
            "counter",
            "Audits: the zone's digest compared with the control plane's at the same serial.",
            load(&stats.audits),
        ),
        (
            "update_agent_audit_mismatches_total",
            "counter",
            "Audits whose digests differed (each followed by a resynchronisation from a snapshot).",
            load(&stats.audit_mismatches),
        ),
    ];
    for (name, kind, help, value) in counters {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP update_agent_serial The serial each zone holds durably.\n# TYPE update_agent_serial gauge"
    );
    if let Ok(satellite) = satellite.try_lock() {
        stats.note_serials(&satellite);
    }
    for (zone, serial) in stats.serials.lock().expect("not poisoned").iter() {
        if let Some(serial) = serial {
            let _ = writeln!(out, "update_agent_serial{{zone=\"{zone}\"}} {serial}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deployment_example_is_a_valid_configuration() {
        let example = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../ops/deploy/config/update-agent.toml"
        ));
        let config = Config::load(example).unwrap();
        let relay = config.relay.as_ref().unwrap();
        assert_eq!(relay.members().unwrap().len(), 1);
    }
}
