//! Relays: an agent that also serves agents downstream, so that a site with many nodes (or a
//! continent) needs one long-haul tunnel to the control plane. Downstream agents speak the
//! same protocol to a relay as to the control plane and trust the same signing keys: a relay
//! passes on the control plane's signed changesets and snapshots byte for byte and cannot
//! forge one (it holds no signing key). Relays chain: a relay's upstream may be a relay.
//!
//! # What a relay keeps
//!
//! - Per zone, a [`Log`] of the signed CHANGESET frames it applied, as they arrived, in
//!   `<state>/<zone>.relay`: the last `keep` of them (100,000 by default) on disk, with only
//!   where each one is in memory. Every agent keeps it, relay or not: the frames carry the
//!   registry's sealed records, and the registry is rebuilt from the newest log any satellite
//!   holds after a loss of its disk ([`read`]; `control-plane recover`). It is written after
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
//!
//! # Threads and order
//!
//! Everything runs on the agent's runtime. The agent's session calls [`Relay::append`] after
//! each batch is durable (before its ACK goes upstream), [`Relay::installed`] after a
//! snapshot, [`Relay::audited`] when an audit arrives, and [`Relay::upstream`] as its tunnel
//! comes and goes. Downstream sessions read the logs under a short lock and wait on a watch
//! channel for the next append.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use zonefiles::serial::is_after;

use crate::protocol::{Deframer, Message, SignedChangeset, SnapshotHeader, ZoneHello};
use crate::session::{self, Agent, Holding, Start, Step, TrustedKey};
use crate::upstream::{self, Session, Tunnels};

/// Changesets kept per zone for downstream agents, by default.
pub const DEFAULT_KEEP: usize = 100_000;
/// Frames sent to a downstream agent per read of the log.
const BATCH: usize = 1024;

/// Where one changeset's frame is in the log file.
struct Entry {
    from: u32,
    to: u32,
    /// The offset of its record (CRC, then the frame).
    at: u64,
    /// The frame's length, length prefix included.
    len: u32,
}

impl Entry {
    fn end(&self) -> u64 {
        self.at + 4 + u64::from(self.len)
    }
}

/// What a log holds after a serial.
#[derive(Debug, PartialEq, Eq)]
pub enum After {
    /// These CHANGESET frames, back to back, and the serial they lead to.
    Frames(Vec<u8>, u32),
    /// Nothing yet: the serial is the newest, or ahead of it.
    Wait,
    /// The log no longer reaches back to the serial.
    Gone,
}

/// One zone's signed changesets, as received: a file of records
/// `u32 CRC-32C of the frame · frame` (the CHANGESET frame with its length prefix). Only
/// where each record is stays in memory (24 octets a changeset); frames are read back from the
/// file (the page cache, in practice) when an agent downstream asks for them.
pub struct Log {
    path: PathBuf,
    file: File,
    /// The serial the log leads to (the satellite's serial); `None` before any data.
    newest: Option<u32>,
    entries: VecDeque<Entry>,
    /// The position of `entries[0]` since the log was opened.
    first: u64,
    /// Serial → position of the entry that starts from it.
    index: HashMap<u32, u64>,
    keep: usize,
}

fn record(frame: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&crc32c::crc32c(frame).to_le_bytes());
    out.extend_from_slice(frame);
}

/// The first record of `bytes`, if whole and intact: its changeset and its frame's length.
fn read_record(bytes: &[u8]) -> Option<(SignedChangeset, u32)> {
    let crc = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
    let len = u32::from_be_bytes(bytes.get(4..8)?.try_into().ok()?);
    let frame = bytes.get(4..8 + len as usize)?;
    if crc32c::crc32c(frame) != crc {
        return None;
    }
    let Ok(Message::Changeset(c)) = Message::decode(&frame[4..]) else {
        return None;
    };
    Some((c, len + 4))
}

/// The signed changesets a log file holds, in order, up to the first torn or damaged record
/// or break in the chain of serials (a copy of a satellite's log, read for a recovery).
pub fn read(path: &Path) -> io::Result<Vec<SignedChangeset>> {
    let bytes = fs::read(path)?;
    let mut changesets: Vec<SignedChangeset> = Vec::new();
    let mut at = 0;
    while let Some((c, len)) = read_record(&bytes[at..]) {
        if changesets.last().is_some_and(|last| last.to != c.from) {
            break;
        }
        changesets.push(c);
        at += 4 + len as usize;
    }
    Ok(changesets)
}

impl Log {
    /// Opens (or creates) the log at `path` for a zone whose data stands at `held`. Returns
    /// the log and, if it had to be cut back or started again, what happened.
    pub fn open(path: &Path, held: Option<u32>, keep: usize) -> io::Result<(Log, Option<String>)> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut entries: Vec<Entry> = Vec::new();
        let mut at = 0;
        while let Some((c, len)) = read_record(&bytes[at..]) {
            if entries.last().is_some_and(|last| last.to != c.from) {
                break;
            }
            entries.push(Entry {
                from: c.from,
                to: c.to,
                at: at as u64,
                len,
            });
            at += 4 + len as usize;
        }
        drop(bytes);
        let read = entries.len();
        match held.and_then(|h| entries.iter().rposition(|e| e.to == h)) {
            Some(last) => entries.truncate(last + 1),
            None => entries.clear(),
        }
        let kept_end = entries.last().map_or(0, Entry::end);
        let note = (kept_end != at as u64 || entries.len() != read).then(|| {
            format!(
                "changeset log {}: kept {} of {read} changesets (serial held: {held:?})",
                path.display(),
                entries.len()
            )
        });
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        file.set_len(kept_end)?;
        let mut log = Log {
            path: path.to_owned(),
            file,
            newest: held,
            entries: VecDeque::new(),
            first: 0,
            index: HashMap::new(),
            keep: keep.max(1),
        };
        for entry in entries {
            log.index.insert(entry.from, log.entries.len() as u64);
            log.entries.push_back(entry);
        }
        Ok((log, note))
    }

    /// Moves the records held to the start of a new file that replaces the old one (after
    /// the oldest were dropped).
    fn rewrite(&mut self) -> io::Result<()> {
        let start = self.entries.front().map_or(0, |e| e.at);
        let end = self.entries.back().map_or(0, Entry::end);
        let mut kept = vec![0; (end - start) as usize];
        self.file.read_exact_at(&mut kept, start)?;
        let temporary = self.path.with_extension("relay.tmp");
        fs::write(&temporary, &kept)?;
        fs::rename(&temporary, &self.path)?;
        self.file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path)?;
        for entry in &mut self.entries {
            entry.at -= start;
        }
        Ok(())
    }

    /// The first serial the log starts from and the newest, if it holds data.
    pub fn holding(&self) -> Option<(u32, u32)> {
        let newest = self.newest?;
        Some((self.entries.front().map_or(newest, |e| e.from), newest))
    }

    /// How many changesets it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends changesets applied after the newest serial. One that does not continue it
    /// starts the log again from its own serial.
    pub fn append(&mut self, changesets: &[SignedChangeset]) -> io::Result<()> {
        let mut out = Vec::new();
        let mut at = self.entries.back().map_or(0, Entry::end);
        for c in changesets {
            if self.newest != Some(c.from) {
                self.reset(c.from)?;
                out.clear();
                at = 0;
            }
            let frame = Message::Changeset(c.clone()).encode();
            record(&frame, &mut out);
            self.index
                .insert(c.from, self.first + self.entries.len() as u64);
            self.entries.push_back(Entry {
                from: c.from,
                to: c.to,
                at,
                len: frame.len() as u32,
            });
            at += 4 + frame.len() as u64;
            self.newest = Some(c.to);
        }
        self.file.write_all(&out)?;
        if self.entries.len() >= self.keep + self.keep / 2 {
            while self.entries.len() > self.keep {
                let entry = self.entries.pop_front().expect("not empty");
                self.index.remove(&entry.from);
                self.first += 1;
            }
            self.rewrite()?;
        }
        Ok(())
    }

    /// Starts the log again, empty, at `serial` (a snapshot was installed).
    pub fn reset(&mut self, serial: u32) -> io::Result<()> {
        self.first += self.entries.len() as u64;
        self.entries.clear();
        self.index.clear();
        self.newest = Some(serial);
        self.file.set_len(0)
    }

    /// Up to `max` frames after `serial`, stopping after the one that reaches `stop` (an
    /// audit point), read back from the file.
    pub fn after(&self, serial: u32, max: usize, stop: Option<u32>) -> io::Result<After> {
        let Some(newest) = self.newest else {
            return Ok(After::Wait);
        };
        if serial == newest || is_after(serial, newest) {
            return Ok(After::Wait);
        }
        let Some(&position) = self.index.get(&serial) else {
            return Ok(After::Gone);
        };
        let skip = (position - self.first) as usize;
        let mut taken = 0;
        let mut to = serial;
        for entry in self.entries.iter().skip(skip) {
            taken += 1;
            to = entry.to;
            if taken == max || Some(to) == stop {
                break;
            }
        }
        let span = self.entries.range(skip..skip + taken);
        let (Some(first), Some(last)) = (span.clone().next(), span.clone().last()) else {
            return Ok(After::Wait);
        };
        let mut records = vec![0; (last.end() - first.at) as usize];
        self.file.read_exact_at(&mut records, first.at)?;
        let mut frames = Vec::with_capacity(records.len());
        for entry in span {
            let at = (entry.at - first.at) as usize + 4;
            frames.extend_from_slice(&records[at..at + entry.len as usize]);
        }
        Ok(After::Frames(frames, to))
    }

    /// How many changesets after `serial` the log holds; `None` if it does not reach it.
    pub fn behind(&self, serial: u32) -> Option<u64> {
        if Some(serial) == self.newest {
            return Some(0);
        }
        let position = self.index.get(&serial)?;
        Some(self.first + self.entries.len() as u64 - position)
    }
}

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
        };
        Ok((relay, notes))
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
        loop {
            match upstream::read_message(&mut recv, &mut deframer).await? {
                None => return Ok(()),
                Some(Message::Ack { zone, serial }) => self.update(&name, |d| {
                    if let Some(held) = d.zones.get_mut(&zone) {
                        *held = Some(serial);
                    }
                }),
                Some(Message::Refused {
                    zone,
                    from,
                    to,
                    reason,
                }) => {
                    tracing::error!(
                        satellite = name,
                        zone,
                        from,
                        to,
                        reason,
                        "the downstream agent refused what it was sent"
                    );
                    self.update(&name, |d| d.refused += 1);
                }
                Some(Message::Audited {
                    zone, serial, same, ..
                }) => {
                    if same {
                        tracing::info!(satellite = name, zone, serial, "audit: downstream matches");
                    } else {
                        tracing::error!(
                            satellite = name,
                            zone,
                            serial,
                            "audit: downstream differs; it resynchronises from a snapshot"
                        );
                    }
                    self.update(&name, |d| {
                        if same {
                            d.audits_same += 1;
                        } else {
                            d.audits_differed += 1;
                        }
                    });
                }
                Some(Message::Goodbye { reason }) => {
                    bail!("the downstream agent closed the session: {reason}")
                }
                Some(other) => bail!("{other} is not sent upstream"),
            }
        }
    }

    /// Metrics lines for the downstream agents.
    pub fn metrics(&self) -> String {
        use std::fmt::Write;
        let mut out = String::from(
            "# HELP update_agent_downstream_connected 1 while the downstream agent's tunnel is up.\n\
             # TYPE update_agent_downstream_connected gauge\n\
             # HELP update_agent_downstream_serial The serial the downstream agent acknowledged last.\n\
             # TYPE update_agent_downstream_serial gauge\n\
             # HELP update_agent_downstream_lag_changes Changesets the downstream agent has not acknowledged.\n\
             # TYPE update_agent_downstream_lag_changes gauge\n\
             # HELP update_agent_downstream_refused_total What the downstream agent refused.\n\
             # TYPE update_agent_downstream_refused_total counter\n\
             # HELP update_agent_downstream_audits_total Audits passed on, by outcome.\n\
             # TYPE update_agent_downstream_audits_total counter\n\
             # HELP update_agent_changeset_log_changesets Signed changesets kept in the zone's log (for agents downstream and the registry's recovery).\n\
             # TYPE update_agent_changeset_log_changesets gauge\n\
             # HELP update_agent_changeset_log_oldest_serial The serial the log reaches back to: a registry backup older than this cannot be brought forward from this node.\n\
             # TYPE update_agent_changeset_log_oldest_serial gauge\n",
        );
        let logs = lock(&self.logs);
        for (zone, log) in logs.iter() {
            let _ = writeln!(
                out,
                "update_agent_changeset_log_changesets{{zone=\"{zone}\"}} {}",
                log.len()
            );
            if let Some((oldest, _)) = log.holding() {
                let _ = writeln!(
                    out,
                    "update_agent_changeset_log_oldest_serial{{zone=\"{zone}\"}} {oldest}"
                );
            }
        }
        for (name, d) in lock(&self.downstream).iter() {
            let _ = writeln!(
                out,
                "update_agent_downstream_connected{{satellite=\"{name}\"}} {}\n\
                 update_agent_downstream_refused_total{{satellite=\"{name}\"}} {}\n\
                 update_agent_downstream_audits_total{{satellite=\"{name}\",result=\"same\"}} {}\n\
                 update_agent_downstream_audits_total{{satellite=\"{name}\",result=\"differs\"}} {}",
                u8::from(d.connected),
                d.refused,
                d.audits_same,
                d.audits_differed
            );
            for (zone, serial) in &d.zones {
                let Some(serial) = serial else { continue };
                let labels = format!("satellite=\"{name}\",zone=\"{zone}\"");
                let _ = writeln!(out, "update_agent_downstream_serial{{{labels}}} {serial}");
                if let Some(lag) = logs.get(zone).and_then(|log| log.behind(*serial)) {
                    let _ = writeln!(out, "update_agent_downstream_lag_changes{{{labels}}} {lag}");
                }
            }
        }
        out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn changeset(from: u32) -> SignedChangeset {
        SignedChangeset {
            zone: "tld".into(),
            from,
            to: from + 1,
            committed: 0,
            key_id: "k".into(),
            signature: vec![1; 64],
            bytes: vec![from as u8; 40],
            record: vec![from as u8; 10],
        }
    }

    fn changesets(from: u32, n: u32) -> Vec<SignedChangeset> {
        (from..from + n).map(changeset).collect()
    }

    /// The changesets of what `after` returned, and the serial they lead to.
    fn changesets_of(after: io::Result<After>) -> (Vec<SignedChangeset>, u32) {
        match after.unwrap() {
            After::Frames(frames, to) => {
                let mut deframer = Deframer::with_limit(crate::protocol::MAX_FRAME);
                deframer.push(&frames);
                let mut out = Vec::new();
                while let Some(message) = deframer.next_message().unwrap() {
                    let Message::Changeset(c) = message else {
                        panic!("{message:?}")
                    };
                    out.push(c);
                }
                (out, to)
            }
            other => panic!("{other:?}"),
        }
    }

    fn frames_of(after: io::Result<After>) -> (usize, u32) {
        let (changesets, to) = changesets_of(after);
        (changesets.len(), to)
    }

    #[test]
    fn serves_what_follows_a_serial_and_survives_a_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tld.relay");
        let (mut log, note) = Log::open(&path, Some(10), 100).unwrap();
        assert_eq!(note, None);
        assert_eq!(log.after(10, 10, None).unwrap(), After::Wait);
        log.append(&changesets(10, 20)).unwrap();
        assert_eq!(log.holding(), Some((10, 30)));
        assert_eq!(frames_of(log.after(10, 5, None)), (5, 15));
        assert_eq!(frames_of(log.after(15, 100, Some(20))), (5, 20));
        assert_eq!(frames_of(log.after(29, 100, None)), (1, 30));
        assert_eq!(log.after(30, 100, None).unwrap(), After::Wait);
        assert_eq!(log.after(31, 100, None).unwrap(), After::Wait);
        assert_eq!(log.after(9, 100, None).unwrap(), After::Gone);
        assert_eq!(log.behind(25), Some(5));
        // The frames are the changesets as they were signed.
        assert_eq!(changesets_of(log.after(12, 1, None)).0, vec![changeset(12)]);
        assert_eq!(
            changesets_of(log.after(10, 100, None)).0,
            changesets(10, 20)
        );
        drop(log);
        let (log, note) = Log::open(&path, Some(30), 100).unwrap();
        assert_eq!(note, None);
        assert_eq!(log.holding(), Some((10, 30)));
        assert_eq!(frames_of(log.after(10, 100, None)), (20, 30));
        // A copy of the file reads back as the changesets, records included.
        assert_eq!(read(&path).unwrap(), changesets(10, 20));
        let mut torn = fs::read(&path).unwrap();
        torn.truncate(torn.len() - 3);
        fs::write(&path, torn).unwrap();
        assert_eq!(read(&path).unwrap(), changesets(10, 19));
    }

    #[test]
    fn recovery_cuts_back_to_the_serial_held_and_drops_torn_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tld.relay");
        let (mut log, _) = Log::open(&path, Some(1), 100).unwrap();
        log.append(&changesets(1, 10)).unwrap();
        drop(log);
        // The journal's torn tail was cut at serial 8: the log follows it.
        let (log, note) = Log::open(&path, Some(8), 100).unwrap();
        assert!(note.is_some());
        assert_eq!(log.holding(), Some((1, 8)));
        drop(log);
        // A torn last record: dropped; the log then ends before the serial held (8 reached
        // in the journal by a batch the log lost): it starts again, empty, at 8.
        let len = fs::metadata(&path).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let (log, note) = Log::open(&path, Some(8), 100).unwrap();
        assert!(note.is_some());
        assert_eq!(log.holding(), Some((8, 8)));
        assert_eq!(log.after(5, 10, None).unwrap(), After::Gone);
        // A corrupted byte in the middle: the records after it go too.
        drop(log);
        let (mut log, _) = Log::open(&path, Some(8), 100).unwrap();
        log.append(&changesets(8, 10)).unwrap();
        drop(log);
        let mut bytes = fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        fs::write(&path, &bytes).unwrap();
        let (log, _) = Log::open(&path, Some(18), 100).unwrap();
        assert_eq!(log.holding(), Some((18, 18)));
    }

    #[test]
    fn keeps_the_newest_and_starts_again_at_a_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tld.relay");
        let (mut log, _) = Log::open(&path, Some(0), 10).unwrap();
        for n in 0..10 {
            log.append(&changesets(n * 5, 5)).unwrap();
        }
        let (from, newest) = log.holding().unwrap();
        assert_eq!(newest, 50);
        assert!((35..=40).contains(&from), "{from}");
        assert_eq!(log.after(10, 100, None).unwrap(), After::Gone);
        assert!(fs::metadata(&path).unwrap().len() < 15 * 200);
        // What is kept reads back whole after the file was rewritten.
        assert_eq!(
            changesets_of(log.after(from, 100, None)),
            (changesets(from, 50 - from), 50)
        );
        assert_eq!(read(&path).unwrap(), changesets(from, 50 - from));
        log.reset(70).unwrap();
        assert_eq!(log.holding(), Some((70, 70)));
        assert_eq!(log.after(45, 100, None).unwrap(), After::Gone);
        // A changeset that does not continue the log starts it again from its own serial.
        log.append(&changesets(100, 2)).unwrap();
        assert_eq!(log.holding(), Some((100, 102)));
        drop(log);
        let (log, _) = Log::open(&path, Some(102), 10).unwrap();
        assert_eq!(log.holding(), Some((100, 102)));
        assert_eq!(
            changesets_of(log.after(100, 100, None)),
            (changesets(100, 2), 102)
        );
    }
}
