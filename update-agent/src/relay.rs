//! Relays: an agent that also serves agents downstream, so that a site with many nodes (or a
//! continent) needs one long-haul tunnel to the control plane. Downstream agents speak the
//! same protocol to a relay as to the control plane and trust the same signing keys: a relay
//! passes on the control plane's signed changesets and snapshots byte for byte and cannot
//! forge one (it holds no signing key). Relays chain: a relay's upstream may be a relay.
//!
//! # What a relay keeps
//!
//! - Per zone, a [`Log`] (`satellite_protocol::log`) of the signed CHANGESET frames it applied, as they arrived, in
//!   `<state>/<zone>.relay`: the last `keep` of them (100,000 by default) on disk, with only
//!   where each one is in memory. Every agent keeps it, relay or not: the frames carry the
//!   registry's sealed records, and the registry is rebuilt from the newest log any satellite
//!   holds after a loss of its disk (`satellite_protocol::log::read`; `control-plane recover`). It is written after
//!   the changesets are durable in the zone directory, without an fsync of its own: on open,
//!   records are checked (CRC-32C, one chain of serials) and cut back to the serial the
//!   satellite holds; a log that does not reach that serial is started
//!   again, empty, from it (agents behind it then take a snapshot).
//! - Per zone, the last signed snapshot fetched from upstream (in memory). A downstream agent
//!   whose serial the log does not reach gets it, then the log from its serial; when the log
//!   no longer continues it, a new one is fetched (FETCH, on a stream of its own over the
//!   relay's own tunnel, verified like any snapshot before it is passed on).
//! - AUDITs from upstream are passed on to each downstream agent at the audited serial, so
//!   every node checks its data against the control plane's digest.
//! - Downstream agents' ACTIVITY reports are passed on upstream, under their names, in the
//!   relay's own session ([`crate::activity::Outbox`]).
//!
//! # Threads and order
//!
//! Everything runs on the agent's runtime. The agent's session calls [`Relay::append`] after
//! each batch is durable (before its ACK goes upstream), [`Relay::installed`] after a
//! snapshot, [`Relay::audited`] when an audit arrives, and [`Relay::upstream`] as its tunnel
//! comes and goes. Downstream sessions read the logs under a short lock and wait on a watch
//! channel for the next append.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use ops::metrics::Writer;
use satellite_protocol::log::{After, Log};

use crate::activity::Outbox;
use zonefiles::serial::is_after;

use satellite_protocol::message::{Deframer, Message, SignedChangeset, SnapshotHeader, ZoneHello};
use satellite_protocol::session::{self, Agent, Holding, Start, Step, TrustedKey};
use satellite_protocol::upstream::{self, Reply, Session, Tunnels};

/// Frames sent to a downstream agent per read of the log.
const BATCH: usize = 1024;

/// A snapshot received from upstream, kept to pass on.
pub struct Kept {
    /// Its signed header.
    pub header: SnapshotHeader,
    /// Image ‖ WHOIS objects.
    pub bytes: Vec<u8>,
}

/// An audit from upstream, to pass on.
#[derive(Debug, Clone)]
struct Audit {
    round: u64,
    zone: String,
    serial: u32,
    digest: [u8; 32],
}

/// What the relay knows of a downstream agent.
#[derive(Debug, Default)]
struct Downstream {
    connected: bool,
    zones: BTreeMap<String, Option<u32>>,
    refused: u64,
    audits_same: u64,
    audits_differed: u64,
}

/// A relay: the logs, the snapshots kept, and the downstream agents' sessions.
pub struct Relay {
    id: String,
    trusted: Vec<TrustedKey>,
    tunnels: Tunnels,
    logs: Mutex<HashMap<String, Log>>,
    appended: tokio::sync::watch::Sender<u64>,
    kept: Mutex<HashMap<String, Arc<Kept>>>,
    fetching: tokio::sync::Mutex<()>,
    upstream: Mutex<Option<quinn::Connection>>,
    audit: tokio::sync::watch::Sender<Option<Audit>>,
    downstream: Mutex<BTreeMap<String, Downstream>>,
    /// Activity reports to send upstream: this agent's and its downstream agents'.
    outbox: Arc<Outbox>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Relay {
    /// Opens the logs in `state` for zones at the serials the satellite holds. `id` names
    /// the relay upstream (in FETCH's verification); `trusted` are the signing keys. Returns
    /// the relay and what recovery did.
    pub fn open(
        id: &str,
        trusted: Vec<TrustedKey>,
        state: &Path,
        serials: &[(String, Option<u32>)],
        keep: usize,
    ) -> io::Result<(Relay, Vec<String>)> {
        let mut logs = HashMap::new();
        let mut notes = Vec::new();
        for (zone, serial) in serials {
            let (log, note) = Log::open(&state.join(format!("{zone}.relay")), *serial, keep)?;
            notes.extend(note);
            logs.insert(zone.clone(), log);
        }
        let relay = Relay {
            id: id.to_owned(),
            trusted,
            tunnels: Tunnels::default(),
            logs: Mutex::new(logs),
            appended: tokio::sync::watch::channel(0).0,
            kept: Mutex::new(HashMap::new()),
            fetching: tokio::sync::Mutex::new(()),
            upstream: Mutex::new(None),
            audit: tokio::sync::watch::channel(None).0,
            downstream: Mutex::new(BTreeMap::new()),
            outbox: Arc::new(Outbox::default()),
        };
        Ok((relay, notes))
    }

    /// The activity reports to send upstream ([`crate::activity`]): this agent's, and those
    /// its downstream agents send, passed on under their names.
    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    /// The downstream agents' tunnels (their keys: [`Tunnels::set_members`]).
    pub fn tunnels(&self) -> &Tunnels {
        &self.tunnels
    }

    /// Changesets of `zone` now durable on this satellite.
    pub fn append(&self, zone: &str, changesets: &[SignedChangeset]) -> io::Result<()> {
        if let Some(log) = lock(&self.logs).get_mut(zone) {
            log.append(changesets)?;
        }
        self.appended.send_modify(|n| *n += 1);
        Ok(())
    }

    /// A snapshot at `serial` was installed: the zone's log starts again from it.
    pub fn installed(&self, zone: &str, serial: u32) -> io::Result<()> {
        if let Some(log) = lock(&self.logs).get_mut(zone) {
            log.reset(serial)?;
        }
        self.appended.send_modify(|n| *n += 1);
        Ok(())
    }

    /// Upstream's digest of `zone` at `serial`: passed on to downstream agents at that serial.
    pub fn audited(&self, zone: &str, serial: u32, digest: [u8; 32]) {
        self.audit.send_modify(|audit| {
            let round = audit.as_ref().map_or(0, |a| a.round + 1);
            *audit = Some(Audit {
                round,
                zone: zone.to_owned(),
                serial,
                digest,
            });
        });
    }

    /// The tunnel to upstream, while it is up (snapshots are fetched over it).
    pub fn upstream(&self, connection: Option<quinn::Connection>) {
        *lock(&self.upstream) = connection;
    }

    /// Serves downstream agents on `endpoint` until it closes.
    pub async fn serve(self: Arc<Self>, endpoint: quinn::Endpoint) {
        upstream::serve(self, endpoint).await;
    }

    fn update(&self, name: &str, change: impl FnOnce(&mut Downstream)) {
        change(lock(&self.downstream).entry(name.to_owned()).or_default());
    }

    /// A downstream agent's session: each zone's start, then the logs as they grow.
    async fn serve_session(self: Arc<Self>, name: String, session: Session) -> anyhow::Result<()> {
        let Session {
            zones,
            mut send,
            recv,
            deframer,
        } = session;
        self.update(&name, |d| {
            d.zones = zones.iter().map(|z| (z.origin.clone(), z.serial)).collect();
        });
        let mut expected = BTreeMap::new();
        for hello in &zones {
            let start = match self.start(hello).await {
                Ok(start) => start,
                Err(error) => {
                    let goodbye = Message::Goodbye {
                        reason: format!("{error:#}"),
                    };
                    send.write_all(&goodbye.encode()).await?;
                    let _ = send.finish();
                    return Err(error);
                }
            };
            let serial = match start {
                (serial, None) => serial,
                (_, Some((kept, offset))) => {
                    tracing::info!(
                        satellite = name,
                        zone = hello.origin,
                        serial = kept.header.serial,
                        bytes = kept.bytes.len(),
                        offset,
                        "sending a snapshot"
                    );
                    upstream::send_snapshot(&mut send, &kept.header, &kept.bytes, offset).await?;
                    kept.header.serial
                }
            };
            expected.insert(hello.origin.clone(), serial);
        }
        let feeder = self.clone().feed(expected, send);
        let listener = self.clone().listen(name, recv, deframer);
        tokio::select! {
            result = feeder => result,
            result = listener => result,
        }
    }

    /// Where a zone starts for a downstream agent: changesets from a serial, or a snapshot
    /// (kept, or fetched now) from an offset.
    async fn start(&self, hello: &ZoneHello) -> anyhow::Result<(u32, Option<(Arc<Kept>, u64)>)> {
        let zone = &hello.origin;
        let (from, newest) = self.wait_for_data(zone).await?;
        let kept = self.kept(zone, from, newest);
        let holding = Holding {
            journal_from: from,
            newest,
            snapshot: kept.as_ref().map(|k| (k.header.serial, k.header.len())),
            // The log holds at most `keep` changesets: replay whatever it reaches.
            replay: None,
        };
        match session::plan(hello, holding) {
            Start::Changesets(serial) => Ok((serial, None)),
            Start::Snapshot { offset } => match kept {
                Some(kept) => Ok((kept.header.serial, Some((kept, offset)))),
                None => {
                    let kept = self.snapshot(zone).await?;
                    Ok((kept.header.serial, Some((kept, 0))))
                }
            },
        }
    }

    /// Where the zone's log stands, once the relay holds data of the zone (a relay that
    /// starts empty gets its own snapshot first).
    async fn wait_for_data(&self, zone: &str) -> anyhow::Result<(u32, u32)> {
        let mut appended = self.appended.subscribe();
        loop {
            appended.borrow_and_update();
            match self.holding(zone) {
                Ok(holding) => return Ok(holding),
                Err(error) if lock(&self.logs).contains_key(zone) => {
                    tracing::debug!(%error, "waiting");
                    appended.changed().await?;
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn holding(&self, zone: &str) -> anyhow::Result<(u32, u32)> {
        let logs = lock(&self.logs);
        let log = logs
            .get(zone)
            .with_context(|| format!("zone {zone} is not relayed here"))?;
        log.holding()
            .with_context(|| format!("the relay holds no data of {zone} yet"))
    }

    /// The snapshot kept for `zone`, if the log (from `from` to `newest`) continues it.
    fn kept(&self, zone: &str, from: u32, newest: u32) -> Option<Arc<Kept>> {
        let kept = lock(&self.kept).get(zone).cloned()?;
        let serial = kept.header.serial;
        let continued = serial == newest
            || is_after(serial, newest)
            || (!is_after(from, serial) && is_after(newest, serial));
        continued.then_some(kept)
    }

    /// A snapshot the log continues: the one kept, or a new one from upstream.
    async fn snapshot(&self, zone: &str) -> anyhow::Result<Arc<Kept>> {
        let _one_at_a_time = self.fetching.lock().await;
        let (from, newest) = self.holding(zone)?;
        if let Some(kept) = self.kept(zone, from, newest) {
            return Ok(kept);
        }
        let connection = lock(&self.upstream)
            .clone()
            .context("no tunnel to upstream at the moment to fetch a snapshot")?;
        let kept = Arc::new(self.fetch(&connection, zone).await?);
        tracing::info!(
            zone,
            serial = kept.header.serial,
            bytes = kept.bytes.len(),
            "snapshot fetched from upstream"
        );
        lock(&self.kept).insert(zone.to_owned(), kept.clone());
        Ok(kept)
    }

    /// Fetches and verifies upstream's snapshot of `zone` (FETCH).
    async fn fetch(&self, connection: &quinn::Connection, zone: &str) -> anyhow::Result<Kept> {
        let (mut send, mut recv) = connection.open_bi().await?;
        send.write_all(
            &Message::Fetch {
                zone: zone.to_owned(),
            }
            .encode(),
        )
        .await?;
        let _ = send.finish();
        // The same checks as for a snapshot to install: signed header, chunks in order,
        // digest over every byte.
        let mut agent = Agent::new(&self.id, self.trusted.clone(), [(zone.to_owned(), None)]);
        let mut deframer = Deframer::default();
        let mut bytes = Vec::new();
        loop {
            let message = upstream::read_message(&mut recv, &mut deframer)
                .await?
                .context("upstream ended the stream before the snapshot was whole")?;
            match agent.receive(message) {
                Ok(Step::SnapshotStart(header)) => {
                    bytes = Vec::with_capacity(header.len().min(1 << 30) as usize);
                }
                Ok(Step::SnapshotBytes {
                    bytes: chunk,
                    complete,
                    ..
                }) => {
                    bytes.extend_from_slice(&chunk);
                    if let Some(header) = complete {
                        return Ok(Kept { header, bytes });
                    }
                }
                Ok(other) => bail!("upstream answered FETCH with {other:?}"),
                Err(violation) => bail!("upstream's snapshot refused: {}", violation.reason),
            }
        }
    }

    /// Answers a downstream relay's FETCH.
    async fn serve_fetch(
        self: Arc<Self>,
        zone: String,
        mut send: quinn::SendStream,
    ) -> anyhow::Result<()> {
        let kept = self.snapshot(&zone).await?;
        upstream::send_snapshot(&mut send, &kept.header, &kept.bytes, 0).await?;
        send.finish()?;
        Ok(())
    }

    /// Sends each zone's log after the serial expected, and audits at their serials.
    async fn feed(
        self: Arc<Self>,
        mut expected: BTreeMap<String, u32>,
        mut send: quinn::SendStream,
    ) -> anyhow::Result<()> {
        let mut appended = self.appended.subscribe();
        let mut audits = self.audit.subscribe();
        let mut audited = None;
        loop {
            appended.borrow_and_update();
            let audit = audits
                .borrow_and_update()
                .clone()
                .filter(|a| audited != Some(a.round));
            if let Some(a) = &audit
                && expected.get(&a.zone) == Some(&a.serial)
            {
                let message = Message::Audit {
                    zone: a.zone.clone(),
                    serial: a.serial,
                    digest: a.digest,
                };
                send.write_all(&message.encode()).await?;
                audited = Some(a.round);
            }
            let mut out = Vec::new();
            {
                let logs = lock(&self.logs);
                for (zone, next) in expected.iter_mut() {
                    let stop = audit.as_ref().filter(|a| a.zone == *zone).map(|a| a.serial);
                    let after = logs
                        .get(zone)
                        .map(|log| log.after(*next, BATCH, stop))
                        .transpose()?;
                    match after {
                        Some(After::Frames(frames, to)) => {
                            out.extend_from_slice(&frames);
                            *next = to;
                        }
                        Some(After::Wait) => {}
                        Some(After::Gone) | None => bail!(
                            "{zone}: serial {next} has left the relay's log (a snapshot follows on reconnection)"
                        ),
                    }
                }
            }
            if out.is_empty() {
                tokio::select! {
                    _ = appended.changed() => {}
                    _ = audits.changed() => {}
                }
                continue;
            }
            send.write_all(&out).await?;
        }
    }

    /// Reads what a downstream agent sends: ACKs and reports.
    async fn listen(
        self: Arc<Self>,
        name: String,
        mut recv: quinn::RecvStream,
        mut deframer: Deframer,
    ) -> anyhow::Result<()> {
        upstream::listen(&name, &mut recv, &mut deframer, |reply| match reply {
            Reply::Ack { zone, serial } => self.update(&name, |d| {
                if let Some(held) = d.zones.get_mut(&zone) {
                    *held = Some(serial);
                }
            }),
            Reply::Refused { .. } => self.update(&name, |d| d.refused += 1),
            Reply::Audited { same, .. } => self.update(&name, |d| {
                if same {
                    d.audits_same += 1;
                } else {
                    d.audits_differed += 1;
                }
            }),
            Reply::Activity(activity) => {
                self.outbox
                    .put(activity, crate::activity::day_of(ops::now()));
            }
        })
        .await
    }

    /// Writes the changeset logs' and the downstream agents' metrics.
    pub fn write_metrics(&self, out: &mut Writer<'_, '_>) -> std::fmt::Result {
        let logs = lock(&self.logs);
        out.gauges(
            "update_agent_changeset_log_changesets",
            "Signed changesets kept in the zone's log (for agents downstream and the registry's recovery).",
            logs.iter().map(|(zone, log)| ([("zone", zone.as_str())], log.len() as u64)),
        )?;
        out.gauges(
            "update_agent_changeset_log_oldest_serial",
            "The serial the log reaches back to: a registry backup older than this cannot be brought forward from this node.",
            logs.iter().filter_map(|(zone, log)| {
                log.holding()
                    .map(|(oldest, _)| ([("zone", zone.as_str())], oldest))
            }),
        )?;
        let downstream = lock(&self.downstream);
        out.gauges(
            "update_agent_downstream_connected",
            "1 while the downstream agent's tunnel is up.",
            downstream
                .iter()
                .map(|(name, d)| ([("satellite", name.as_str())], u32::from(d.connected))),
        )?;
        out.counters(
            "update_agent_downstream_refused_total",
            "What the downstream agent refused.",
            downstream
                .iter()
                .map(|(name, d)| ([("satellite", name.as_str())], d.refused)),
        )?;
        out.counters(
            "update_agent_downstream_audits_total",
            "Audits passed on, by outcome.",
            downstream.iter().flat_map(|(name, d)| {
                [
                    (
                        [("satellite", name.as_str()), ("result", "same")],
                        d.audits_same,
                    ),
                    (
                        [("satellite", name.as_str()), ("result", "differs")],
                        d.audits_differed,
                    ),
                ]
            }),
        )?;
        let held = || {
            downstream.iter().flat_map(|(name, d)| {
                d.zones.iter().filter_map(move |(zone, serial)| {
                    serial.map(|serial| (name.as_str(), zone.as_str(), serial))
                })
            })
        };
        out.gauges(
            "update_agent_downstream_serial",
            "The serial the downstream agent acknowledged last.",
            held().map(|(name, zone, serial)| ([("satellite", name), ("zone", zone)], serial)),
        )?;
        out.gauges(
            "update_agent_downstream_lag_changes",
            "Changesets the downstream agent has not acknowledged.",
            held().filter_map(|(name, zone, serial)| {
                let lag = logs.get(zone)?.behind(serial)?;
                Some(([("satellite", name), ("zone", zone)], lag))
            }),
        )
    }
}

impl upstream::Upstream for Relay {
    fn tunnels(&self) -> &Tunnels {
        &self.tunnels
    }

    fn tunnel(&self, name: &str, _remote: std::net::SocketAddr, up: bool) {
        self.update(name, |d| d.connected = up);
    }

    fn session(
        self: Arc<Self>,
        name: String,
        session: Session,
    ) -> impl std::future::Future<Output = anyhow::Result<()>> + Send {
        self.serve_session(name, session)
    }

    fn fetch(
        self: Arc<Self>,
        zone: String,
        send: quinn::SendStream,
    ) -> impl std::future::Future<Output = anyhow::Result<()>> + Send + 'static {
        self.serve_fetch(zone, send)
    }
}
