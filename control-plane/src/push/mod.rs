//! The push service: every satellite's agent dials in over QUIC (`satellite_protocol::tunnel`,
//! pinned keys), says in HELLO which serial each zone holds, and is fed from the journal —
//! the changesets after that serial, or a signed snapshot and then the changesets after it —
//! and then live, as batches commit. Its ACKs give every satellite's serial and lag.
//!
//! One file on purpose: a session's feed, its reading of ACKs and its plan (changesets or a
//! snapshot) share the in-flight state and the snapshots kept; the journal feed, membership and
//! exports are modules of their own.
//!
//! # Per connection
//!
//! ```text
//! accept (the key must be a member's; satellite_protocol::upstream) → HELLO (its name must be the key's)
//!   → per zone: satellite_protocol::session::plan → changesets from serial n, or a snapshot
//!     (when the journal no longer reaches n, or n is further behind than is worth replaying:
//!     [`Push::new`]'s `replay_limit`)
//!   → loop: journal entries after the cursor, from the feed's ring ([`crate::push::feed`]), or
//!           from the database while further behind than the ring
//!           → send those that continue each zone; none left → wait for the next entry
//!   (meanwhile another task reads ACK / REFUSED and updates the status)
//! ```
//!
//! A relay also opens streams that start with FETCH: each gets the zone's snapshot (kept, or
//! built now) and ends.
//!
//! Entries come from the journal, so a satellite cut off for a day is fed from the same
//! log as one that is live; QUIC's flow control paces a slow satellite without holding up the
//! others. Snapshots are built from one read transaction (zone, WHOIS objects and journal
//! position agree), signed, kept per zone for reuse by the next satellite (and for resuming)
//! until the zone has moved on by [`SNAPSHOT_REUSE`] changesets, and sent in 1 MiB chunks.
//! A snapshot is streamed from the database ([`snapshot::write_current`]: the domains read one
//! at a time, the records through sorted runs on disk), one build at a time, and written as it
//! is compiled, hashed on the way, to `snapshots/<zone>.snapshot`
//! beside the database (replaced by rename, never written in place), and kept and sent as a
//! read-only mapping of that file, whose pages the process drops once it is sent: the page
//! cache holds it, not the process (313 MB at a million registrations, ten times that at ten
//! million). The folder is a cache, emptied at start.
//!
//! Membership is re-read every second; the tunnel of a satellite removed is closed, and a
//! satellite has one tunnel at a time (a newer one replaces the older). The status of every
//! satellite is written to the database every second ([`crate::store::sqlite::satellites`]).
//!
//! Publication checks ([`guard`], run by the feed on every entry): while a zone is held,
//! sessions send none of its changesets from the held serial on, and a satellite that would
//! need a snapshot of it is refused until the operator decides; after a release, sessions
//! that held changesets back end (the agent reconnects and replays them from the journal);
//! after a discard, a satellite at the held serial is sent a snapshot instead, so no
//! satellite ever serves the states in between.
//!
//! Audits ([`Push::audit_every`]): per zone, the digest of the registry's data at its current
//! serial ([`satellite_protocol::digest`]) goes to each satellite right after the changeset that
//! reaches that serial; sessions hold changesets past it for at most [`AUDIT_HOLD`] while it
//! is computed. The satellite answers whether its own digest is the same.

pub mod feed;
pub mod guard;
pub mod snapshot;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use rusqlite::Connection;
use satellite_protocol::message::{self, Deframer, Message, SnapshotHeader};
use satellite_protocol::session::{self, Holding, Start};
use satellite_protocol::tunnel::Pins;
use satellite_protocol::upstream::{self, Reply, Session, Tunnels};

use ops::metrics::{Histogram, Writer};

use crate::publish::signing::Signer;
use crate::store::Store;
use crate::store::sqlite::activity;
use crate::store::sqlite::holds::State as HoldState;
use crate::store::sqlite::journal;
use crate::store::sqlite::satellites::{self, ZoneStatus};
use feed::{After, Feed};

/// Changesets after which a kept snapshot is built again rather than reused.
pub const SNAPSHOT_REUSE: u64 = 10_000;

/// A snapshot ready to send.
struct Built {
    header: SnapshotHeader,
    /// Its file, mapped read-only.
    bytes: memmap2::Mmap,
    /// The journal position it reflects: entries after it continue it.
    seq: i64,
}

impl Built {
    /// Drops the mapping's pages from this process once a snapshot is sent; the page cache
    /// keeps them while memory allows, for the next satellite.
    fn release_pages(&self) {
        // SAFETY: a read-only mapping of a file that is never written in place: a page
        // dropped is read again from the file at its next access, unchanged.
        let _ = unsafe {
            self.bytes
                .unchecked_advise(memmap2::UncheckedAdvice::DontNeed)
        };
    }
}

/// What the push service knows of one satellite.
#[derive(Debug, Clone, Default)]
struct State {
    connected: bool,
    address: Option<SocketAddr>,
    last_contact: i64,
    refused: u64,
    /// Zone → (serial acknowledged, when).
    zones: BTreeMap<String, (Option<u32>, Option<i64>)>,
    /// The last audit: zone, serial, same digest, when.
    audit: Option<(String, u32, bool, i64)>,
    audits_matched: u64,
    audits_differed: u64,
}

/// Upper bounds (seconds) of the fan-out latency histogram's buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Time from a changeset's commit to each satellite's ACK of it: a Prometheus histogram.
#[derive(Debug, Default)]
struct Latency {
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Latency {
    fn record(&mut self, seconds: f64) {
        for (bucket, bound) in self.buckets.iter_mut().zip(LATENCY_BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// Changesets sent in a session and not acknowledged yet: zone, final serial, when committed.
type InFlight = Mutex<std::collections::VecDeque<(String, u32, std::time::Instant)>>;

/// How long a session holds a changeset back while the audit digest at its serial is computed.
pub const AUDIT_HOLD: Duration = Duration::from_secs(2);

/// The audit in progress, as sessions see it.
#[derive(Debug, Clone, Default)]
enum AuditState {
    /// None.
    #[default]
    Idle,
    /// The digest of `zone` at `serial` is being computed: hold changesets after it.
    Pending { zone: String, serial: u32 },
    /// The digest is ready: send it to satellites at `serial`.
    Ready {
        /// Which audit this is (each is sent once per session).
        round: u64,
        zone: String,
        serial: u32,
        digest: [u8; 32],
    },
}

impl AuditState {
    /// The AUDIT for a satellite that stands at `standing(zone)` in the zone audited, if the
    /// digest is ready at exactly that serial and this round (`sent`) has not gone out yet.
    fn due(
        &self,
        standing: impl Fn(&str) -> Option<u32>,
        sent: Option<u64>,
    ) -> Option<(u64, Message)> {
        let AuditState::Ready {
            round,
            zone,
            serial,
            digest,
        } = self
        else {
            return None;
        };
        (standing(zone) == Some(*serial) && sent != Some(*round)).then(|| {
            let audit = Message::Audit {
                zone: zone.clone(),
                serial: *serial,
                digest: *digest,
            };
            (*round, audit)
        })
    }
}

/// The push service.
pub struct Push {
    audits: tokio::sync::watch::Sender<AuditState>,
    audit_rounds: std::sync::atomic::AtomicU64,
    latency: Mutex<Latency>,
    database: PathBuf,
    signer: Signer,
    replay_limit: u64,
    tunnels: Tunnels,
    /// The journal's tail.
    feed: Arc<Feed>,
    satellites: Mutex<HashMap<String, State>>,
    snapshots: Mutex<HashMap<String, Arc<Built>>>,
    /// Held while a snapshot is built.
    building: Mutex<()>,
    /// Satellites' day totals received and not yet written: (satellite, count).
    activity: Mutex<Vec<(String, activity::Count)>>,
}

impl Push {
    /// A push service reading `database` through `feed`, signing snapshots with `signer`,
    /// sending a snapshot to a satellite more than `replay_limit` changesets behind (and more
    /// than the zone has domains).
    pub fn new(
        database: PathBuf,
        signer: Signer,
        feed: Arc<Feed>,
        replay_limit: u64,
    ) -> anyhow::Result<Arc<Push>> {
        // Snapshots of an earlier run: a cache, built again when needed. The folder also
        // holds the unnamed files that snapshot builds and audit digests spill to.
        let snapshots = snapshot_folder(&database);
        if snapshots.exists() {
            std::fs::remove_dir_all(&snapshots)
                .with_context(|| format!("emptying {}", snapshots.display()))?;
        }
        std::fs::create_dir_all(&snapshots)
            .with_context(|| format!("creating {}", snapshots.display()))?;
        let push = Arc::new(Push {
            database,
            signer,
            replay_limit,
            tunnels: Tunnels::default(),
            feed,
            latency: Mutex::new(Latency::default()),
            audits: tokio::sync::watch::channel(AuditState::Idle).0,
            audit_rounds: std::sync::atomic::AtomicU64::new(0),
            satellites: Mutex::new(HashMap::new()),
            snapshots: Mutex::new(HashMap::new()),
            building: Mutex::new(()),
            activity: Mutex::new(Vec::new()),
        });
        push.refresh_members()?;
        Ok(push)
    }

    fn read_only(&self) -> anyhow::Result<Connection> {
        crate::store::sqlite::open_read_only(&self.database)
            .with_context(|| format!("opening {}", self.database.display()))
    }

    /// The keys members connect with.
    pub fn pins(&self) -> Arc<Pins> {
        self.tunnels.pins()
    }

    fn refresh_members(&self) -> anyhow::Result<()> {
        let members = satellites::members(&self.read_only()?)?;
        let mut pins = HashMap::new();
        for member in members {
            match satellite_protocol::keys::parse_public(&member.public_key) {
                Some(key) => {
                    pins.insert(key, member.name);
                }
                None => tracing::error!(
                    satellite = member.name,
                    "its public key is not base64 Ed25519"
                ),
            }
        }
        self.tunnels.set_members(pins);
        Ok(())
    }

    /// Serves the endpoint until it closes; also keeps membership and the status table
    /// current.
    pub async fn serve(self: Arc<Self>, endpoint: quinn::Endpoint) {
        let housekeeping = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let push = housekeeping.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    if let Err(error) = push.refresh_members() {
                        tracing::error!(%error, "reading the satellites");
                    }
                    let holds = push.read_only().and_then(|c| push.feed.refresh_holds(&c));
                    if let Err(error) = holds {
                        tracing::error!(%error, "reading the publication holds");
                    }
                    if let Err(error) = push.record_status() {
                        tracing::error!(%error, "recording the satellites' status");
                    }
                })
                .await;
            }
        });
        upstream::serve(self, endpoint).await;
    }

    fn update(&self, name: &str, change: impl FnOnce(&mut State)) {
        let mut satellites = self.satellites.lock().unwrap_or_else(|e| e.into_inner());
        let state = satellites.entry(name.to_owned()).or_default();
        state.last_contact = ops::now();
        change(state);
    }

    /// The status of every satellite heard from since start.
    fn rows(&self) -> Vec<ZoneStatus> {
        let satellites = self.satellites.lock().unwrap_or_else(|e| e.into_inner());
        let mut rows = Vec::new();
        for (name, state) in satellites.iter() {
            for (zone, (serial, acked_at)) in &state.zones {
                rows.push(ZoneStatus {
                    satellite: name.clone(),
                    zone: zone.clone(),
                    connected: state.connected,
                    address: state.address.map(|a| a.to_string()),
                    serial: *serial,
                    newest: 0,
                    lag_changes: 0,
                    lag_seconds: 0,
                    acked_at: *acked_at,
                    // A tunnel that is up is heard from at least every keep-alive.
                    last_contact: if state.connected {
                        ops::now()
                    } else {
                        state.last_contact
                    },
                    refused: state.refused,
                    audit: state.audit.as_ref().filter(|a| a.0 == *zone).map(
                        |(_, serial, same, at)| {
                            let verdict = if *same { "same" } else { "DIFFERS" };
                            format!("{verdict} at serial {serial} ({at})")
                        },
                    ),
                });
            }
        }
        rows
    }

    fn record_status(&self) -> anyhow::Result<()> {
        let rows = self.rows();
        if rows.is_empty() {
            return Ok(());
        }
        let mut conn = Connection::open(&self.database)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // Status is not precious: no fsync for it (the commit thread's next fsync covers it).
        conn.pragma_update(None, "synchronous", "OFF")?;
        satellites::record(&mut conn, &rows)?;
        // Totals only grow: one lost with a failed write comes again in the agent's next report.
        let counted = std::mem::take(&mut *self.activity.lock().unwrap_or_else(|e| e.into_inner()));
        activity::record_satellites(&mut conn, &counted)?;
        Ok(())
    }

    /// Writes every satellite's state, lag and audits, and the acknowledgement latency.
    pub fn write_metrics(&self, out: &mut Writer<'_, '_>) -> std::fmt::Result {
        let rows = self.rows();
        let conn = self.read_only().ok();
        // One row per satellite (the rows are per satellite and zone).
        let mut satellites: Vec<&ZoneStatus> = Vec::new();
        for row in &rows {
            if !satellites.iter().any(|s| s.satellite == row.satellite) {
                satellites.push(row);
            }
        }
        out.gauges(
            "control_plane_satellite_connected",
            "1 while the satellite's tunnel is up.",
            satellites.iter().map(|s| {
                (
                    [("satellite", s.satellite.as_str())],
                    u32::from(s.connected),
                )
            }),
        )?;
        out.gauges(
            "control_plane_satellite_last_contact_seconds",
            "When the satellite was last heard from (Unix time; now while its tunnel is up).",
            satellites
                .iter()
                .map(|s| ([("satellite", s.satellite.as_str())], s.last_contact)),
        )?;
        {
            let states = self.satellites.lock().unwrap_or_else(|e| e.into_inner());
            out.counters(
                "control_plane_satellite_audits_total",
                "Audits by outcome: the satellite's digest the same as the registry's, or different (alert).",
                states.iter().flat_map(|(name, state)| {
                    [
                        ([("satellite", name.as_str()), ("result", "same")], state.audits_matched),
                        (
                            [("satellite", name.as_str()), ("result", "differs")],
                            state.audits_differed,
                        ),
                    ]
                }),
            )?;
        }
        let labels = |row: &ZoneStatus| {
            [
                ("satellite", row.satellite.clone()),
                ("zone", row.zone.clone()),
            ]
        };
        out.gauges(
            "control_plane_satellite_serial",
            "The serial the satellite acknowledged last.",
            rows.iter()
                .filter_map(|row| row.serial.map(|serial| (labels(row), serial))),
        )?;
        let now = ops::now();
        let lags: Vec<_> = rows
            .iter()
            .filter_map(|row| {
                let conn = conn.as_ref()?;
                let (changes, oldest) = satellites::lag(conn, &row.zone, row.serial).ok()?;
                Some((
                    labels(row),
                    changes,
                    oldest.map_or(0, |at| (now - at).max(0)),
                ))
            })
            .collect();
        out.gauges(
            "control_plane_satellite_lag_changes",
            "Journal entries the satellite has not acknowledged (alert above 1).",
            lags.iter()
                .map(|(labels, changes, _)| (labels.clone(), *changes)),
        )?;
        out.gauges(
            "control_plane_satellite_lag_seconds",
            "Age of the oldest change the satellite has not acknowledged.",
            lags.iter()
                .map(|(labels, _, seconds)| (labels.clone(), *seconds)),
        )?;
        let holds = self.feed.holds().borrow().clone();
        let zones: Vec<String> = match &conn {
            Some(conn) => conn
                .zones()
                .map(|z| z.into_iter().map(|z| z.origin.to_string()).collect())
                .unwrap_or_default(),
            None => Vec::new(),
        };
        out.gauges(
            "control_plane_publication_held",
            "1 while the zone's publication is held by a failed check (alert): satellites keep the zone as it was until `control-plane publication release` or `discard`.",
            zones.iter().map(|zone| {
                let held = holds.get(zone).is_some_and(|h| h.state == HoldState::Held);
                ([("zone", zone.as_str())], u32::from(held))
            }),
        )?;
        out.gauges(
            "control_plane_publication_ns_lost",
            "Delegation NS records the zone lost, net, within the publication check's window.",
            zones.iter().filter_map(|zone| {
                let (loss, _) = self.feed.loss(zone)?;
                Some(([("zone", zone.as_str())], loss.max(0) as u64))
            }),
        )?;
        let latency = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        // The buckets are kept cumulative; the writer takes each bucket's own count.
        let mut below = 0;
        let buckets = LATENCY_BUCKETS
            .iter()
            .zip(latency.buckets)
            .map(|(&bound, cumulative)| {
                let own = cumulative - below;
                below = cumulative;
                (bound, own)
            })
            .collect();
        out.histogram(
            "control_plane_push_ack_seconds",
            "Time from a changeset's commit to a satellite's acknowledgement of it (applied durably).",
            &Histogram {
                sum: latency.sum,
                count: latency.count,
                buckets,
            },
        )
    }

    /// One satellite's session, opened by its HELLO.
    async fn serve_session(self: Arc<Self>, name: String, session: Session) -> anyhow::Result<()> {
        let Session {
            zones,
            send,
            recv,
            deframer,
        } = session;
        self.update(&name, |s| {
            s.zones = zones
                .iter()
                .map(|z| (z.origin.clone(), (z.serial, None)))
                .collect();
        });
        let in_flight: Arc<InFlight> = Arc::default();
        let feeder = self
            .clone()
            .feed(name.clone(), zones, send, in_flight.clone());
        let listener = self.clone().listen(name, recv, deframer, in_flight);
        tokio::select! {
            result = feeder => result,
            result = listener => result,
        }
    }

    /// Answers a relay's FETCH with the zone's snapshot (kept, or built now).
    async fn serve_fetch(
        self: Arc<Self>,
        zone: String,
        mut send: quinn::SendStream,
    ) -> anyhow::Result<()> {
        if let Some(hold) = self.feed.holds().borrow().get(&zone)
            && hold.state == HoldState::Held
        {
            bail!(
                "zone {zone}: its publication is held at serial {} ({}); no snapshot until the operator's decision",
                hold.serial,
                hold.reason
            );
        }
        let push = self.clone();
        let origin = zone.clone();
        let built = tokio::task::spawn_blocking(move || {
            let conn = push.read_only()?;
            let serial = conn
                .zones()?
                .into_iter()
                .find(|z| z.origin == origin)
                .with_context(|| format!("zone {origin} is not run by this registry"))?
                .serial;
            match push.kept_snapshot(&conn, &origin, serial)? {
                Some(built) => Ok(built),
                None => push.build_snapshot(&origin),
            }
        })
        .await??;
        tracing::info!(
            zone,
            serial = built.header.serial,
            bytes = built.bytes.len(),
            "sending a snapshot to a relay"
        );
        upstream::send_snapshot(&mut send, &built.header, &built.bytes, 0).await?;
        built.release_pages();
        send.finish()?;
        Ok(())
    }

    /// Reads what the agent sends: ACKs and reports.
    async fn listen(
        self: Arc<Self>,
        name: String,
        mut recv: quinn::RecvStream,
        mut deframer: Deframer,
        in_flight: Arc<InFlight>,
    ) -> anyhow::Result<()> {
        upstream::listen(&name, &mut recv, &mut deframer, |reply| match reply {
            Reply::Ack { zone, serial } => {
                self.update(&name, |s| {
                    if let Some(entry) = s.zones.get_mut(&zone) {
                        *entry = (Some(serial), Some(ops::now()));
                    }
                });
                self.acknowledged(&in_flight, &zone, serial);
            }
            Reply::Refused { .. } => self.update(&name, |s| s.refused += 1),
            Reply::Audited { zone, serial, same } => self.update(&name, |s| {
                if same {
                    s.audits_matched += 1;
                } else {
                    s.audits_differed += 1;
                }
                s.audit = Some((zone, serial, same, ops::now()));
            }),
            Reply::Activity(activity) => self.counted(&name, activity),
        })
        .await
    }

    /// Keeps a satellite's day totals for the next status write, in each zone its session (the
    /// agent's, or the relay's it came through) serves. Only the report's counters and days
    /// from the last 62 to tomorrow are kept.
    fn counted(&self, session: &str, reported: message::Activity) {
        let today = (ops::now() / 86_400) as u32;
        if reported.day + 62 < today || reported.day > today + 1 {
            return;
        }
        let zones: Vec<String> = self
            .satellites
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(session)
            .map(|s| s.zones.keys().cloned().collect())
            .unwrap_or_default();
        let mut pending = self.activity.lock().unwrap_or_else(|e| e.into_inner());
        for (counter, total) in &reported.counts {
            if !message::ACTIVITY_COUNTERS.contains(&counter.as_str()) {
                continue;
            }
            for zone in &zones {
                let count = activity::Count {
                    day: reported.day,
                    zone: zone.clone(),
                    counter: counter.clone(),
                    total: *total,
                };
                pending.push((reported.satellite.clone(), count));
            }
        }
    }

    /// Sends each zone's starting point, then the journal as it grows.
    async fn feed(
        self: Arc<Self>,
        name: String,
        zones: Vec<message::ZoneHello>,
        mut send: quinn::SendStream,
        in_flight: Arc<InFlight>,
    ) -> anyhow::Result<()> {
        let push = self.clone();
        let origins: Vec<String> = zones.iter().map(|z| z.origin.clone()).collect();
        let plans = match tokio::task::spawn_blocking(move || push.plan(&zones)).await? {
            Ok(plans) => plans,
            Err(error) => {
                tracing::error!(satellite = name, %error, "session refused");
                satellite_protocol::upstream::goodbye(&mut send, format!("{error:#}")).await;
                return Err(error);
            }
        };
        let mut expected: HashMap<String, u32> = HashMap::new();
        let mut cursor = i64::MAX;
        for (zone, plan) in origins.iter().zip(plans) {
            match plan {
                Plan::Changesets { serial, after_seq } => {
                    expected.insert(zone.clone(), serial);
                    cursor = cursor.min(after_seq);
                }
                Plan::Snapshot { built, offset } => {
                    tracing::info!(
                        satellite = name,
                        zone,
                        serial = built.header.serial,
                        bytes = built.bytes.len(),
                        offset,
                        "sending a snapshot"
                    );
                    upstream::send_snapshot(&mut send, &built.header, &built.bytes, offset).await?;
                    built.release_pages();
                    expected.insert(zone.clone(), built.header.serial);
                    cursor = cursor.min(built.seq);
                }
            }
        }
        let mut conn: Option<Connection> = None;
        let mut audits = self.audits.subscribe();
        let mut audited: Option<u64> = None;
        let mut holds = self.feed.holds();
        // Zones whose changesets this session held back: a decision ends the session, so the
        // satellite resumes from the journal (released) or a snapshot (discarded).
        let mut held_back: Vec<String> = Vec::new();
        loop {
            if !held_back.is_empty() {
                let decided = {
                    let now = holds.borrow_and_update();
                    held_back
                        .iter()
                        .find(|z| now.get(*z).is_none_or(|h| h.state != HoldState::Held))
                        .cloned()
                };
                if let Some(zone) = decided {
                    let reason = format!("the publication of {zone} was decided: reconnect");
                    tracing::info!(
                        satellite = name,
                        zone,
                        "ending the session: its zone's publication was decided"
                    );
                    satellite_protocol::upstream::goodbye(&mut send, reason).await;
                    return Ok(());
                }
            }
            // An audit ready at the serial this session stands at goes out now.
            let due = audits
                .borrow_and_update()
                .due(|zone| expected.get(zone).copied(), audited);
            if let Some((round, audit)) = due {
                send.write_all(&audit.encode()).await?;
                audited = Some(round);
            }
            let items = match self.feed.after(cursor, feed::BATCH) {
                After::Items(items) if items.is_empty() => {
                    tokio::select! {
                        () = self.feed.wait_after(cursor) => {}
                        _ = audits.changed() => {}
                        _ = holds.changed() => {}
                    }
                    continue;
                }
                After::Items(items) => items,
                After::Behind => {
                    // Catching up: from the database, until the ring reaches.
                    let database = self.database.clone();
                    let taken = conn.take();
                    let (c, items) = tokio::task::spawn_blocking(move || {
                        let c = match taken {
                            Some(c) => c,
                            None => crate::store::sqlite::open_read_only(&database)?,
                        };
                        let items = Feed::read(&c, cursor)?;
                        anyhow::Ok((c, items))
                    })
                    .await??;
                    conn = Some(c);
                    if items.is_empty() {
                        self.feed.wait_after(cursor).await;
                        continue;
                    }
                    items
                }
            };
            for item in items {
                cursor = item.seq;
                let Some(next) = expected.get_mut(&item.zone) else {
                    continue;
                };
                if item.from != *next {
                    continue;
                }
                if holds
                    .borrow()
                    .get(&item.zone)
                    .is_some_and(|h| h.blocks(item.from))
                {
                    if !held_back.contains(&item.zone) {
                        held_back.push(item.zone.clone());
                    }
                    continue;
                }
                // An audit being computed at this serial: wait (briefly) for its digest, so the
                // satellite compares at exactly that serial.
                let pending = matches!(&*audits.borrow(), AuditState::Pending { zone, serial } if *zone == item.zone && *serial == item.from);
                if pending {
                    let _ = tokio::time::timeout(
                        AUDIT_HOLD,
                        audits.wait_for(|a| !matches!(a, AuditState::Pending { .. })),
                    )
                    .await;
                    let due = audits
                        .borrow_and_update()
                        .due(|zone| (zone == item.zone).then_some(item.from), audited);
                    if let Some((round, audit)) = due {
                        send.write_all(&audit.encode()).await?;
                        audited = Some(round);
                    }
                }
                *next = item.to;
                {
                    let mut in_flight = in_flight.lock().unwrap_or_else(|e| e.into_inner());
                    // Bounded: a satellite that never acknowledges is timed out by QUIC first.
                    if item.live && in_flight.len() < 1 << 20 {
                        in_flight.push_back((item.zone.clone(), item.to, item.read_at));
                    }
                }
                send.write_all(&item.frame).await?;
            }
        }
    }

    /// Audits every zone every `interval`: publishes that an audit is pending at the zone's
    /// serial, computes the digest of the registry's data at that serial (one read
    /// transaction), then publishes it; each session sends it to its satellite at that serial.
    /// The first round comes a minute after start (sooner if the interval is shorter), so a
    /// freshly deployed constellation is checked at once rather than an interval later.
    pub async fn audit_every(self: Arc<Self>, interval: Duration) {
        let mut wait = interval.min(Duration::from_secs(60));
        loop {
            tokio::time::sleep(wait).await;
            wait = interval;
            let push = self.clone();
            let done = tokio::task::spawn_blocking(move || push.audit_all()).await;
            match done {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::error!(%error, "computing the audit digests"),
                Err(error) => tracing::error!(%error, "computing the audit digests"),
            }
        }
    }

    fn audit_all(&self) -> anyhow::Result<()> {
        let zones: Vec<String> = self
            .read_only()?
            .zones()?
            .into_iter()
            .map(|z| z.origin.to_string())
            .collect();
        for origin in zones {
            let mut conn = self.read_only()?;
            let tx = conn.transaction()?;
            let Some(zone) = tx.zones()?.into_iter().find(|z| z.origin == origin) else {
                continue;
            };
            self.audits.send_replace(AuditState::Pending {
                zone: origin.clone(),
                serial: zone.serial,
            });
            let started = std::time::Instant::now();
            let digest = snapshot::digest_current(&tx, &zone, &snapshot_folder(&self.database))?;
            drop(tx);
            ops::process::release_free_memory();
            tracing::info!(
                zone = origin,
                serial = zone.serial,
                ms = started.elapsed().as_millis() as u64,
                "audit digest computed"
            );
            let round = self
                .audit_rounds
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.audits.send_replace(AuditState::Ready {
                round,
                zone: origin,
                serial: zone.serial,
                digest,
            });
            // Leave it up for the sessions to see; the next zone's replaces it.
            std::thread::sleep(AUDIT_HOLD);
        }
        Ok(())
    }

    /// An ACK covers every changeset of its zone sent before the one it names: each of them
    /// is recorded in the fan-out latency histogram (live changesets only: those read from
    /// the journal as they committed).
    fn acknowledged(&self, in_flight: &InFlight, zone: &str, serial: u32) {
        let mut in_flight = in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let Some(last) = in_flight
            .iter()
            .position(|(z, to, _)| z == zone && *to == serial)
        else {
            return;
        };
        let mut latency = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        let mut kept = std::collections::VecDeque::with_capacity(in_flight.len() - last);
        for (i, entry) in in_flight.drain(..).enumerate() {
            if i <= last && entry.0 == zone {
                latency.record(entry.2.elapsed().as_secs_f64());
            } else {
                kept.push_back(entry);
            }
        }
        *in_flight = kept;
    }

    /// Where each zone starts (blocking: reads the database, may build a snapshot).
    fn plan(&self, zones: &[message::ZoneHello]) -> anyhow::Result<Vec<Plan>> {
        let conn = self.read_only()?;
        let settings = conn.zones()?;
        let holds = self.feed.holds().borrow().clone();
        let mut plans = Vec::new();
        for hello in zones {
            let Some(zone) = settings.iter().find(|z| z.origin == hello.origin) else {
                bail!("zone {} is not run by this registry", hello.origin);
            };
            let journal_from = journal::first_serial(&conn, &zone.origin)?;
            let kept = self.kept_snapshot(&conn, &zone.origin, zone.serial)?;
            let hold = holds.get(&hello.origin);
            // A satellite at a discarded hold's serial moves on by a snapshot, never through
            // the changesets discarded.
            let discarded = hold.is_some_and(|h| {
                h.state == HoldState::Discarded && hello.serial.is_some_and(|s| h.skips(s))
            });
            let holding = Holding {
                journal_from: journal_from.unwrap_or(zone.serial),
                newest: zone.serial,
                snapshot: kept.as_ref().map(|b| (b.header.serial, b.header.len())),
                replay: if discarded {
                    Some((u64::MAX, 0))
                } else {
                    self.replay(&conn, &zone.origin, hello.serial)?
                },
            };
            if let Some(serial) = hello.serial
                && zonefiles::serial::is_after(serial, zone.serial)
            {
                // Its changes are confirmed changes this registry lost (restored from a backup
                // without this satellite's log): it keeps them, and serving them, rather than
                // being rolled back to a snapshot, until an operator recovers them or resets it.
                bail!(
                    "zone {}: the satellite holds serial {serial}, newer than the registry's {}: it has changes the registry lacks; recover them from its changeset log (docs/ops/disaster-recovery.md), or reset the satellite to take a snapshot",
                    zone.origin,
                    zone.serial
                );
            }
            match session::plan(hello, holding) {
                Start::Changesets(serial) => {
                    let after_seq = match journal::position_of(&conn, &zone.origin, serial)? {
                        Some(seq) => seq - 1,
                        None => journal::newest_position(&conn)?,
                    };
                    plans.push(Plan::Changesets { serial, after_seq });
                }
                Start::Snapshot { .. } if hold.is_some_and(|h| h.state == HoldState::Held) => {
                    bail!(
                        "zone {}: its publication is held at serial {} ({}); a satellite that needs a snapshot waits for the operator's decision",
                        zone.origin,
                        hold.map_or(0, |h| h.serial),
                        hold.map_or("", |h| h.reason.as_str())
                    );
                }
                Start::Snapshot { offset } => {
                    let built = match kept {
                        Some(built) => built,
                        None => self.build_snapshot(&zone.origin)?,
                    };
                    plans.push(Plan::Snapshot { built, offset });
                }
            }
        }
        Ok(plans)
    }

    /// How far behind a satellite at `serial` is (changesets) and the most worth replaying:
    /// [`Push::replay_limit`], or the zone's domain count if larger (a snapshot costs about
    /// one object per domain to install, a changeset about one signature check and an object
    /// or two to apply).
    fn replay(
        &self,
        conn: &Connection,
        zone: &str,
        serial: Option<u32>,
    ) -> anyhow::Result<Option<(u64, u64)>> {
        let Some(serial) = serial else {
            return Ok(None);
        };
        let behind = journal::changesets_from(conn, zone, serial)?;
        if behind <= self.replay_limit {
            return Ok(Some((behind, self.replay_limit)));
        }
        let domains = journal::domain_count(conn, zone)?;
        Ok(Some((behind, self.replay_limit.max(domains))))
    }

    /// The snapshot kept for a zone, if the zone has not moved on too far since.
    fn kept_snapshot(
        &self,
        conn: &Connection,
        zone: &str,
        newest: u32,
    ) -> anyhow::Result<Option<Arc<Built>>> {
        let kept = self
            .snapshots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(zone)
            .cloned();
        let Some(kept) = kept else { return Ok(None) };
        if kept.header.serial == newest {
            return Ok(Some(kept));
        }
        let since = journal::changesets_after(conn, zone, kept.seq)?;
        Ok((since < SNAPSHOT_REUSE).then_some(kept))
    }

    /// Builds, signs and keeps a snapshot of a zone at its current serial, or takes the one
    /// just built: one build at a time, so that satellites asking together share one.
    fn build_snapshot(&self, origin: &str) -> anyhow::Result<Arc<Built>> {
        let _building = self.building.lock().unwrap_or_else(|e| e.into_inner());
        let mut conn = self.read_only()?;
        let tx = conn.transaction()?;
        let zone = tx
            .zones()?
            .into_iter()
            .find(|z| z.origin == origin)
            .with_context(|| format!("zone {origin} vanished"))?;
        if let Some(kept) = self.kept_snapshot(&tx, origin, zone.serial)? {
            return Ok(kept);
        }
        let seq = journal::newest_position(&tx)?;
        // Image then WHOIS lines, compiled from the database as it is read and hashed as they
        // are written; the records wait in sorted runs in the folder (unnamed files).
        let folder = snapshot_folder(&self.database);
        let path = folder.join(format!("{origin}.snapshot"));
        let (mut written, mut digest) = (None, [0; 32]);
        zonefiles::atomic::replace_unsynced_with(&path, |out| {
            let mut out = snapshot::Hashing::new(out);
            let done = snapshot::write_current(&tx, &zone, &folder, &mut out)
                .map_err(std::io::Error::other)?;
            written = Some(done);
            digest = out.finish();
            Ok(())
        })
        .with_context(|| format!("writing {}", path.display()))?;
        drop(tx);
        let snapshot::Written {
            serial,
            image_len,
            whois_len,
        } = written.context("a snapshot written")?;
        let file = std::fs::File::open(&path).with_context(|| format!("{}", path.display()))?;
        // SAFETY: the file is only ever replaced by rename, never written in place, so the
        // mapping keeps the bytes written above (a newer build maps a new file).
        let bytes = unsafe { memmap2::Mmap::map(&file) }
            .with_context(|| format!("mapping {}", path.display()))?;
        anyhow::ensure!(
            bytes.len() as u64 == image_len + whois_len,
            "{} changed",
            path.display()
        );
        let (signature, key_id) = self
            .signer
            .sign_snapshot(origin, serial, image_len, whois_len, &digest);
        let built = Arc::new(Built {
            header: SnapshotHeader {
                zone: origin.to_owned(),
                serial,
                image_len,
                whois_len,
                digest,
                key_id,
                signature,
                offset: 0,
            },
            bytes,
            seq,
        });
        // What compiling held (the image's sections) goes back to the system.
        ops::process::release_free_memory();
        tracing::info!(
            zone = origin,
            serial,
            bytes = built.bytes.len(),
            "snapshot built"
        );
        self.snapshots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(origin.to_owned(), built.clone());
        Ok(built)
    }
}

/// The folder of the snapshots kept: `snapshots` beside the database.
fn snapshot_folder(database: &std::path::Path) -> PathBuf {
    database.with_file_name("snapshots")
}

impl upstream::Upstream for Push {
    fn tunnels(&self) -> &Tunnels {
        &self.tunnels
    }

    fn tunnel(&self, name: &str, remote: SocketAddr, up: bool) {
        self.update(name, |s| {
            s.connected = up;
            if up {
                s.address = Some(remote);
                s.refused = 0;
            }
        });
    }

    fn session(
        self: Arc<Self>,
        name: String,
        session: Session,
    ) -> impl Future<Output = anyhow::Result<()>> + Send {
        self.serve_session(name, session)
    }

    fn fetch(
        self: Arc<Self>,
        zone: String,
        send: quinn::SendStream,
    ) -> impl Future<Output = anyhow::Result<()>> + Send + 'static {
        self.serve_fetch(zone, send)
    }
}

enum Plan {
    Changesets { serial: u32, after_seq: i64 },
    Snapshot { built: Arc<Built>, offset: u64 },
}
