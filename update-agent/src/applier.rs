//! One session's work, without the network: what arrives from upstream goes in as messages,
//! what to send back comes out as messages, and in between the changesets are applied in
//! batches, acknowledged once durable, checkpointed and folded.
//!
//! # Call order
//!
//! The session's shell ([`crate::run`]) reads the tunnel and, for each read:
//!
//! 1. [`Applier::receive`] for every message decoded from it. A changeset joins the batch
//!    (applied at once when it reaches [`MAX_BATCH`]); anything else first applies the batch,
//!    then is carried out (snapshot bytes written, an audit compared). Replies are pushed in
//!    order; [`Next::End`] ends the session after they are sent.
//! 2. At the end of the read, when [`Applier::has_changes`]: [`Applier::flush`] (the batch
//!    applied, its ACKs returned), which the shell sends, then [`Applier::compact`], told
//!    whether the read filled its buffer ([`Upstream::Backlog`]: a returning satellite catching
//!    up folds less often).
//! 3. [`Applier::checkpoint`] when [`Applier::checkpoint_due`] after a read, and when the
//!    tunnel has been quiet for [`CHECKPOINT_IDLE`].
//!
//! The calls that write are fsync-bound and strictly sequential: the shell runs them with
//! `block_in_place`, so nothing is acknowledged before it is on disk. A changeset that only
//! joins the batch touches no disk ([`Applier::reaches_disk`]): the shell hands its thread over
//! only for the messages that do, as a changeset costs a few microseconds and a hand-over more.
//!
//! # Cost
//!
//! One fsync of the journal per batch (up to [`MAX_BATCH`] changesets), whatever the number
//! of changesets; a WHOIS checkpoint at most every [`CHECKPOINT_EVERY`] while changes come.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use satellite_protocol::message::{Message, SignedChangeset};
use satellite_protocol::session::{Agent, Step, TrustedKey};

use ops::metrics::Writer;

use crate::relay::Relay;
use crate::satellite::{AuditResult, Fold, Satellite, Upstream};
use anyhow::Context;

/// Changesets applied with one fsync, at most.
pub const MAX_BATCH: usize = 4096;
/// A checkpoint at least this often while changes keep coming.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// A checkpoint after this long without traffic.
pub const CHECKPOINT_IDLE: Duration = Duration::from_millis(200);

/// Counters for the metrics page.
#[derive(Default)]
pub struct Stats {
    /// 1 while a session with the upstream is up.
    pub connected: AtomicU64,
    /// Sessions opened.
    pub sessions: AtomicU64,
    /// Changesets applied and acknowledged.
    pub applied: AtomicU64,
    /// Changesets or snapshots refused.
    pub refused: AtomicU64,
    /// Snapshots installed.
    pub snapshots: AtomicU64,
    /// Snapshot bytes received.
    pub snapshot_bytes: AtomicU64,
    /// Journals folded into a new image.
    pub compactions: AtomicU64,
    /// Audits compared.
    pub audits: AtomicU64,
    /// Audits whose digests differed.
    pub audit_mismatches: AtomicU64,
    /// The serials last read from the satellite. The metrics page shows these while the
    /// satellite is busy (a batch, a checkpoint, a compaction), so the gauge never disappears
    /// from a scrape.
    serials: Mutex<Vec<(String, Option<u32>)>>,
}

impl Stats {
    /// Records the serials the satellite holds now, for the metrics page.
    pub fn note_serials(&self, satellite: &Satellite) {
        *lock(&self.serials) = satellite.serials();
    }

    /// Writes the agent's metrics (the relay writes its own).
    pub fn write_metrics(
        &self,
        satellite: &Mutex<Satellite>,
        out: &mut Writer<'_, '_>,
    ) -> std::fmt::Result {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        out.gauge(
            "update_agent_connected",
            "1 while a session with the upstream is up.",
            load(&self.connected),
        )?;
        let counters = [
            (
                "update_agent_sessions_total",
                "Sessions opened.",
                &self.sessions,
            ),
            (
                "update_agent_changesets_applied_total",
                "Changesets applied and acknowledged.",
                &self.applied,
            ),
            (
                "update_agent_refused_total",
                "Changesets or snapshots refused (bad signature, replay, out of sequence).",
                &self.refused,
            ),
            (
                "update_agent_snapshots_installed_total",
                "Snapshots installed.",
                &self.snapshots,
            ),
            (
                "update_agent_snapshot_bytes_total",
                "Snapshot bytes received.",
                &self.snapshot_bytes,
            ),
            (
                "update_agent_compactions_total",
                "Journals folded into a new image.",
                &self.compactions,
            ),
            (
                "update_agent_audits_total",
                "Audits: the zone's digest compared with the control plane's at the same serial.",
                &self.audits,
            ),
            (
                "update_agent_audit_mismatches_total",
                "Audits whose digests differed (each followed by a resynchronisation from a snapshot).",
                &self.audit_mismatches,
            ),
        ];
        for (name, help, value) in counters {
            out.counter(name, help, load(value))?;
        }
        if let Ok(satellite) = satellite.try_lock() {
            self.note_serials(&satellite);
        }
        let serials = lock(&self.serials);
        out.gauges(
            "update_agent_serial",
            "The serial each zone holds durably.",
            serials
                .iter()
                .filter_map(|(zone, serial)| serial.map(|s| ([("zone", zone.as_str())], s))),
        )
    }

    fn folded(&self, zone: &str, serial: u32) {
        self.compactions.fetch_add(1, Ordering::Relaxed);
        tracing::info!(zone, serial, "journal folded into a new image");
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the session does after a message.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Goes on reading.
    Continue,
    /// Ends once the replies are sent (the reason is logged and the agent reconnects).
    End(String),
}

/// One session's state: the sans-IO [`Agent`], the batch not yet applied, the zones that
/// must resynchronise from a snapshot, and what the session writes to.
pub struct Applier<'a> {
    agent: Agent,
    satellite: &'a Mutex<Satellite>,
    relay: &'a Relay,
    stats: &'a Stats,
    resync: &'a mut BTreeSet<String>,
    batch: Vec<SignedChangeset>,
    touched: Vec<String>,
    checkpointed: Instant,
    /// The audit whose reading runs on a thread of its own.
    audit: Option<Running>,
}

/// An audit being read: the control plane's digest, and the thread reading ours.
struct Running {
    zone: String,
    serial: u32,
    digest: [u8; 32],
    thread: std::thread::JoinHandle<anyhow::Result<AuditResult>>,
}

impl Drop for Applier<'_> {
    /// An audit left unanswered keeps nothing more.
    fn drop(&mut self) {
        if self.audit.is_some() {
            lock(self.satellite).audit_abandon();
        }
    }
}

impl<'a> Applier<'a> {
    /// A session for agent `id` trusting `trusted`. A zone in `resync` (its audit failed) asks
    /// for a snapshot, as if it held nothing, and keeps serving what it holds until the
    /// snapshot is installed; a partial snapshot on disk is resumed if it still checks.
    pub fn new(
        id: &str,
        trusted: Vec<TrustedKey>,
        satellite: &'a Mutex<Satellite>,
        relay: &'a Relay,
        stats: &'a Stats,
        resync: &'a mut BTreeSet<String>,
    ) -> Applier<'a> {
        let agent = {
            let held = lock(satellite);
            let serials = held.serials().into_iter().map(|(zone, serial)| {
                let serial = if resync.contains(&zone) { None } else { serial };
                (zone, serial)
            });
            let mut agent = Agent::new(id, trusted, serials);
            for (zone, _) in held.serials() {
                if let Some(partial) = held.partial(&zone)
                    && !agent.resume(partial.header, &partial.held)
                {
                    tracing::warn!(zone, "dropping a partial snapshot that no longer checks");
                }
            }
            agent
        };
        Applier {
            agent,
            satellite,
            relay,
            stats,
            resync,
            batch: Vec::new(),
            touched: Vec::new(),
            checkpointed: Instant::now(),
            audit: None,
        }
    }

    /// The HELLO that opens the session.
    pub fn hello(&self) -> Message {
        self.agent.hello()
    }

    /// Whether [`Applier::receive`] would write to the disk for `message`: anything but a
    /// changeset, or the changeset that fills the batch. The rest only joins the batch (after
    /// its signature is checked), so the shell need not hand its thread over for it.
    pub fn reaches_disk(&self, message: &Message) -> bool {
        !matches!(message, Message::Changeset(_)) || self.batch.len() + 1 >= MAX_BATCH
    }

    /// Takes one message from upstream; pushes what to send back onto `out`, in order.
    pub fn receive(&mut self, message: Message, out: &mut Vec<Message>) -> anyhow::Result<Next> {
        match self.agent.receive(message) {
            Ok(Step::Apply(changeset)) => {
                self.batch.push(changeset);
                if self.batch.len() >= MAX_BATCH {
                    self.flush(out)?;
                }
                Ok(Next::Continue)
            }
            Ok(step) => {
                self.flush(out)?;
                if let Some(reply) = self.handle(step)? {
                    out.push(reply);
                }
                Ok(Next::Continue)
            }
            Err(violation) => {
                // What was accepted before it is good: apply and acknowledge it first.
                self.flush(out)?;
                self.stats.refused.fetch_add(1, Ordering::Relaxed);
                tracing::error!(reason = %violation.reason, "refused what upstream sent");
                if let Some(zone) = &violation.discard_snapshot {
                    lock(self.satellite).discard_partial(zone);
                }
                out.extend(violation.report.map(|report| *report));
                Ok(Next::End(violation.reason))
            }
        }
    }

    /// Applies the batch (grouped by zone, in order) with one fsync per zone and pushes the
    /// last serial of each zone as an ACK: durable now, so downstream agents may have them too.
    pub fn flush(&mut self, out: &mut Vec<Message>) -> anyhow::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let mut satellite = lock(self.satellite);
        let mut rest = &self.batch[..];
        while let Some(first) = rest.first() {
            let run = rest.iter().take_while(|c| c.zone == first.zone).count();
            let bytes: Vec<&[u8]> = rest[..run].iter().map(|c| &c.bytes[..]).collect();
            let serial = satellite.apply(&first.zone, &bytes)?;
            self.relay.append(&first.zone, &rest[..run])?;
            self.stats.applied.fetch_add(run as u64, Ordering::Relaxed);
            tracing::debug!(zone = first.zone, serial, changesets = run, "applied");
            out.push(self.agent.applied(&first.zone, serial));
            if !self.touched.contains(&first.zone) {
                self.touched.push(first.zone.clone());
            }
            rest = &rest[run..];
        }
        self.stats.note_serials(&satellite);
        self.batch.clear();
        Ok(())
    }

    /// Starts the folds due in the zones changed since the last call, and makes current those
    /// that have ended. Compaction keeps edge-dns's overlay (the changes since the image)
    /// small; it compiles the whole zone, on a thread of its own.
    pub fn compact(&mut self, upstream: Upstream) -> anyhow::Result<()> {
        let mut satellite = lock(self.satellite);
        for zone in std::mem::take(&mut self.touched) {
            if let Some(serial) = satellite.compact_if_due(&zone, upstream)? {
                self.stats.folded(&zone, serial);
            }
        }
        Ok(())
    }

    /// Whether changesets wait to be applied, or zones applied to since the last
    /// [`Applier::compact`] wait for it.
    pub fn has_changes(&self) -> bool {
        !self.batch.is_empty() || !self.touched.is_empty()
    }

    /// Whether an audit's reading has ended: [`Applier::finish_audit`] answers it at once.
    pub fn audit_ready(&self) -> bool {
        self.audit.as_ref().is_some_and(|a| a.thread.is_finished())
    }

    /// Answers the audit running (waiting for its reading to end): pushes the `AUDITED`
    /// reply; a digest that differs from the control plane's ends the session, and the next
    /// one asks for a snapshot.
    pub fn finish_audit(&mut self, out: &mut Vec<Message>) -> anyhow::Result<Next> {
        let Some(running) = self.audit.take() else {
            return Ok(Next::Continue);
        };
        let read = running
            .thread
            .join()
            .map_err(|_| anyhow::anyhow!("the audit's reading panicked"))??;
        let ours = lock(self.satellite).audit_finish(read);
        let Some(ours) = ours else {
            tracing::warn!(
                zone = running.zone,
                "a snapshot replaced the data while it was audited"
            );
            return Ok(Next::Continue);
        };
        let (zone, serial) = (running.zone, running.serial);
        let same = ours == running.digest;
        if same {
            tracing::info!(zone, serial, "audit: the data matches the control plane's");
        } else {
            self.stats.audit_mismatches.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                zone,
                serial,
                "audit: the data differs from the control plane's: resynchronising from a snapshot"
            );
            self.resync.insert(zone.clone());
        }
        self.stats.audits.fetch_add(1, Ordering::Relaxed);
        out.push(Message::Audited {
            zone,
            serial,
            same,
            digest: ours,
        });
        Ok(match same {
            true => Next::Continue,
            false => Next::End(format!("resynchronising {:?} from a snapshot", self.resync)),
        })
    }

    /// Whether the last checkpoint is [`CHECKPOINT_EVERY`] old.
    pub fn checkpoint_due(&self) -> bool {
        self.checkpointed.elapsed() >= CHECKPOINT_EVERY
    }

    /// A checkpoint, and the folds that have ended made current (with no traffic, nothing
    /// else would).
    pub fn checkpoint(&mut self) -> anyhow::Result<()> {
        self.checkpointed = Instant::now();
        let mut satellite = lock(self.satellite);
        satellite.checkpoint()?;
        for (zone, _) in satellite.serials() {
            if let Some(serial) = satellite.finish_fold(&zone, Fold::IfEnded)? {
                self.stats.folded(&zone, serial);
            }
        }
        Ok(())
    }

    /// Carries out one accepted step other than a changeset; returns what to send upstream.
    fn handle(&mut self, step: Step) -> anyhow::Result<Option<Message>> {
        let mut satellite = lock(self.satellite);
        let stats = self.stats;
        match step {
            Step::Apply(_) => unreachable!("`receive` batches changesets"),
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
                        stats.note_serials(&satellite);
                        self.resync.remove(&zone);
                        tracing::info!(zone, serial, "snapshot installed");
                        self.relay.installed(&zone, serial)?;
                        Ok(Some(self.agent.applied(&zone, serial)))
                    }
                    None => Ok(None),
                }
            }
            Step::Audit {
                zone,
                serial,
                digest,
            } => {
                self.relay.audited(&zone, serial, digest);
                if self.audit.is_some() {
                    tracing::warn!(zone, serial, "an audit arrived while one runs: not started");
                    return Ok(None);
                }
                let read = satellite.audit_start(&zone)?;
                let thread = std::thread::Builder::new()
                    .name("audit".into())
                    .spawn(move || {
                        // Reading yields to applying and answering.
                        ops::process::lower_thread_priority(10);
                        read.run()
                    })
                    .context("starting an audit")?;
                self.audit = Some(Running {
                    zone,
                    serial,
                    digest,
                    thread,
                });
                Ok(None)
            }
            Step::Report(report) => {
                stats.refused.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%report, ?report, "refused a replayed changeset");
                Ok(Some(report))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{Ed25519KeyPair, KeyPair};
    use satellite_protocol::signature;
    use zonefiles::zonedir::ZoneDir;

    use zonefiles::ZoneName;

    use crate::satellite::Layout;

    /// The zone at `serial`: one delegation more at each serial.
    fn zone(serial: u32) -> zonefiles::Zone {
        crate::satellite::tests::zone(serial, serial - 1)
    }

    /// The control plane's signing key, in the test's hands.
    struct Registry(Ed25519KeyPair);

    impl Registry {
        fn new() -> Registry {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
            Registry(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap())
        }

        fn trusted(&self) -> Vec<TrustedKey> {
            vec![TrustedKey::new(self.0.public_key().as_ref().to_vec())]
        }

        /// The signed changeset from `from` to `from + 1`.
        fn changeset(&self, from: u32) -> Message {
            let bytes = zonefiles::changeset::diff(&zone(from), &zone(from + 1))
                .unwrap()
                .encode();
            let record = b"record".to_vec();
            let signed = signature::signed_message("tld", from, from + 1, &bytes, &record);
            Message::Changeset(SignedChangeset {
                zone: "tld".into(),
                from,
                to: from + 1,
                committed: 0,
                key_id: signature::key_id(self.0.public_key().as_ref()),
                signature: self.0.sign(&signed).as_ref().to_vec(),
                bytes,
                record,
            })
        }
    }

    /// A satellite holding `zone(1)`, with its relay's log.
    struct Node {
        dir: tempfile::TempDir,
        satellite: Mutex<Satellite>,
        relay: std::sync::Arc<Relay>,
        stats: Stats,
    }

    impl Node {
        fn new(registry: &Registry) -> Node {
            let dir = tempfile::tempdir().unwrap();
            let directory = dir.path().join("zones/tld");
            ZoneDir::create(&directory, &zone(1)).unwrap();
            let layout = Layout {
                state: dir.path().join("state"),
                whois_tree: dir.path().join("whois"),
                zones: vec![(ZoneName::parse("tld").unwrap(), directory)],
                compact_after: 3,
                journal_keep: 10,
            };
            let (satellite, _) = Satellite::open(layout).unwrap();
            let (relay, _) = Relay::open(
                "node",
                registry.trusted(),
                &dir.path().join("state"),
                &satellite.serials(),
                100,
            )
            .unwrap();
            Node {
                dir,
                satellite: Mutex::new(satellite),
                relay: std::sync::Arc::new(relay),
                stats: Stats::default(),
            }
        }

        /// A session of this node's.
        fn applier<'a>(
            &'a self,
            registry: &Registry,
            resync: &'a mut BTreeSet<String>,
        ) -> Applier<'a> {
            Applier::new(
                "node",
                registry.trusted(),
                &self.satellite,
                &self.relay,
                &self.stats,
                resync,
            )
        }

        fn serial(&self) -> Option<u32> {
            lock(&self.satellite).serials()[0].1
        }
    }

    fn acks(out: &[Message]) -> Vec<u32> {
        out.iter()
            .map(|m| match m {
                Message::Ack { serial, .. } => *serial,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_batch_is_applied_and_acknowledged_once_at_its_last_serial() {
        let registry = Registry::new();
        let node = Node::new(&registry);
        let mut resync = BTreeSet::new();
        let mut applier = node.applier(&registry, &mut resync);
        let mut out = Vec::new();
        for from in 1..5 {
            let next = applier.receive(registry.changeset(from), &mut out).unwrap();
            assert_eq!(next, Next::Continue);
        }
        assert!(
            out.is_empty(),
            "nothing is acknowledged before it is applied"
        );
        assert_eq!(node.serial(), Some(1));
        applier.flush(&mut out).unwrap();
        assert_eq!(acks(&out), [5]);
        assert_eq!(node.serial(), Some(5));
        assert_eq!(node.stats.applied.load(Ordering::Relaxed), 4);
        // Four changesets past `compact_after`: a fold starts, and a checkpoint makes it
        // current once it has ended.
        applier.compact(Upstream::Live).unwrap();
        let mut waited = 0;
        while node.stats.compactions.load(Ordering::Relaxed) == 0 && waited < 500 {
            std::thread::sleep(Duration::from_millis(10));
            applier.checkpoint().unwrap();
            waited += 1;
        }
        assert_eq!(node.stats.compactions.load(Ordering::Relaxed), 1);
        let served = crate::verify::served(&node.dir.path().join("zones/tld")).unwrap();
        assert_eq!(served.serial(), Some(5));
        // The relay's log holds what was applied, for agents downstream.
        let relay = node.relay.clone();
        let page: ops::Page = std::sync::Arc::new(move |out| relay.write_metrics(out));
        assert!(
            ops::metrics::render(&page)
                .contains("update_agent_changeset_log_changesets{zone=\"tld\"} 4")
        );
    }

    #[test]
    fn a_forged_changeset_ends_the_session_after_the_good_ones_are_acknowledged() {
        let registry = Registry::new();
        let node = Node::new(&registry);
        let mut resync = BTreeSet::new();
        let mut applier = node.applier(&registry, &mut resync);
        let mut out = Vec::new();
        applier.receive(registry.changeset(1), &mut out).unwrap();
        let Message::Changeset(mut forged) = registry.changeset(2) else {
            unreachable!()
        };
        forged.bytes[0] ^= 1;
        let next = applier
            .receive(Message::Changeset(forged), &mut out)
            .unwrap();
        assert!(matches!(next, Next::End(_)), "{next:?}");
        assert!(matches!(out[0], Message::Ack { serial: 2, .. }), "{out:?}");
        assert!(
            matches!(out[1], Message::Refused { from: 2, .. }),
            "{out:?}"
        );
        assert_eq!(
            node.serial(),
            Some(2),
            "the forged changeset left nothing behind"
        );
        assert_eq!(node.stats.refused.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn an_audit_that_differs_asks_for_a_snapshot_at_the_next_session() {
        let registry = Registry::new();
        let node = Node::new(&registry);
        let mut resync = BTreeSet::new();
        let mut applier = node.applier(&registry, &mut resync);
        let mut out = Vec::new();
        let audit = Message::Audit {
            zone: "tld".into(),
            serial: 1,
            digest: [7; 32],
        };
        let next = applier.receive(audit, &mut out).unwrap();
        assert!(matches!(next, Next::Continue), "{next:?}");
        assert!(out.is_empty(), "read off the apply path: {out:?}");
        let next = applier.finish_audit(&mut out).unwrap();
        assert!(matches!(next, Next::End(_)), "{next:?}");
        assert!(
            matches!(out[0], Message::Audited { same: false, .. }),
            "{out:?}"
        );
        drop(applier);
        assert!(resync.contains("tld"));
        let applier = node.applier(&registry, &mut resync);
        let Message::Hello { zones, .. } = applier.hello() else {
            unreachable!()
        };
        assert_eq!(zones[0].serial, None, "HELLO asks for a snapshot");
        assert_eq!(node.serial(), Some(1), "it serves what it holds meanwhile");
    }
}
