//! The journal's tail in memory, for the push service's sessions.
//!
//! One task ([`Feed::follow`]) reads each new journal entry from the database once, right after
//! the commit thread says it committed, encodes it as the CHANGESET frame satellites receive,
//! and keeps the newest of them (as many as it was made for) in a ring. Every live session takes its
//! frames from the ring, so a changeset costs the control plane one read and one encoding
//! whatever the number of satellites; only a session whose satellite is further behind than
//! the ring reads the database itself (catch-up), with its own connection, until it reaches
//! the ring.
//!
//! The same task runs the publication checks ([`super::guard`]) on each entry before any session
//! can see it: an entry that breaches them holds its zone (recorded in the database, and in
//! [`Feed::holds`], which sessions watch) and is sent to no satellite until an operator decides.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rusqlite::Connection;

use crate::store::sqlite::open_read_only;
use satellite_protocol::message::Message;

use super::guard::{self, Guard};
use crate::model::JournalEntry;
use crate::store::Store;
use crate::store::sqlite::holds::{self, Hold, State};

/// One journal entry, ready to send.
#[derive(Debug)]
pub struct Item {
    /// Its sequence number in the journal.
    pub seq: i64,
    /// The zone.
    pub zone: String,
    /// Its serials.
    pub from: u32,
    /// Where it leads.
    pub to: u32,
    /// The CHANGESET frame.
    pub frame: Vec<u8>,
    /// When it was read from the journal: right after its commit for the ring's entries.
    pub read_at: std::time::Instant,
    /// Read by the feed as it committed (not by a session catching up).
    pub live: bool,
}

impl Item {
    /// The frame for a journal entry.
    pub fn new(seq: i64, entry: JournalEntry) -> Item {
        let (zone, from, to) = (entry.zone.clone(), entry.from_serial, entry.to_serial);
        let frame = Message::Changeset(entry.into_signed()).encode();
        Item {
            seq,
            zone,
            from,
            to,
            frame,
            read_at: std::time::Instant::now(),
            live: true,
        }
    }
}

/// What a session gets for its cursor.
pub enum After {
    /// The entries after it (possibly none yet).
    Items(Vec<Arc<Item>>),
    /// The cursor is older than the ring: read the database.
    Behind,
}

/// The journal's tail.
pub struct Feed {
    database: PathBuf,
    ring: RwLock<VecDeque<Arc<Item>>>,
    /// The sequence number of the newest entry read (the ring may be empty).
    newest: tokio::sync::watch::Sender<i64>,
    capacity: usize,
    guard: Mutex<Guard>,
    /// Each zone's latest hold, as sessions see it.
    holds: tokio::sync::watch::Sender<HashMap<String, Hold>>,
}

/// Entries read per database query.
pub const BATCH: usize = 4096;

/// How often the journal is read for changesets another process committed (an operator's
/// hold, a registrar's new WHOIS details): one indexed look-up, ten a second.
const OTHERS_POLL: Duration = Duration::from_millis(100);

impl Feed {
    /// A feed of the journal in `database`, starting after its current end, keeping at most
    /// `capacity` entries, checking each with `checks`.
    pub fn new(
        database: PathBuf,
        capacity: usize,
        checks: guard::Settings,
    ) -> anyhow::Result<Arc<Feed>> {
        let conn = open_read_only(&database)?;
        // The journal's end and each zone's size as of one read.
        let tx = conn.unchecked_transaction()?;
        let newest = crate::store::sqlite::journal::newest_position(&tx)?;
        let held: HashMap<String, Hold> = holds::all(&tx)?
            .into_iter()
            .map(|h| (h.zone.clone(), h))
            .collect();
        let mut guard = Guard::new(checks);
        for zone in tx.zones()? {
            let origin = zone.origin.to_string();
            let is_held = held.get(&origin).is_some_and(|h| h.state == State::Held);
            guard.reset(&origin, holds::delegation_ns(&tx, &origin)?, is_held);
        }
        drop(tx);
        Ok(Arc::new(Feed {
            database,
            ring: RwLock::new(VecDeque::new()),
            newest: tokio::sync::watch::channel(newest).0,
            capacity: capacity.max(1),
            guard: Mutex::new(guard),
            holds: tokio::sync::watch::channel(held).0,
        }))
    }

    /// Each zone's latest hold, and its changes.
    pub fn holds(&self) -> tokio::sync::watch::Receiver<HashMap<String, Hold>> {
        self.holds.subscribe()
    }

    /// NS records a zone lost within the checks' window, and its size when the window began.
    pub fn loss(&self, zone: &str) -> Option<(i64, u64)> {
        self.guard
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .loss(zone)
    }

    /// Takes up the operator's decisions from the database: a zone released or discarded is
    /// checked afresh from its size now, and sessions see the decision.
    pub fn refresh_holds(&self, conn: &Connection) -> anyhow::Result<()> {
        let stored = holds::all(conn)?;
        let current = self.holds.borrow().clone();
        for hold in stored {
            let was = current.get(&hold.zone).map(|h| h.state);
            if was == Some(hold.state) {
                continue;
            }
            if was == Some(State::Held) && hold.state != State::Held {
                let size = holds::delegation_ns(conn, &hold.zone)?;
                self.guard
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .reset(&hold.zone, size, false);
                tracing::warn!(zone = hold.zone, state = ?hold.state, by = ?hold.decided, "publication decided");
            }
            self.holds.send_modify(|holds| {
                holds.insert(hold.zone.clone(), hold);
            });
        }
        Ok(())
    }

    /// Runs the checks on new entries in order; the first to breach them holds its zone.
    fn check(&self, entries: &[(i64, JournalEntry)]) -> anyhow::Result<()> {
        let mut guard = self.guard.lock().unwrap_or_else(|e| e.into_inner());
        for (_, entry) in entries {
            let delta = match zonefiles::Changeset::decode(&entry.changeset) {
                Ok(changeset) => guard::delta(&changeset),
                Err(error) => {
                    tracing::error!(zone = entry.zone, serial = entry.from_serial, %error, "a journal entry does not decode");
                    continue;
                }
            };
            let Some(breach) =
                guard.observe(&entry.zone, entry.from_serial, entry.committed, delta)
            else {
                continue;
            };
            tracing::error!(
                zone = breach.zone,
                serial = breach.serial,
                reason = breach.reason,
                "publication held: satellites keep the zone at this serial until an operator runs `control-plane publication release` or `discard`"
            );
            let conn = crate::store::sqlite::open(&self.database)?;
            let since = ops::now();
            holds::hold(
                &conn,
                &breach.zone,
                breach.serial,
                since,
                &breach.reason,
                breach.size,
            )?;
            let hold = Hold {
                zone: breach.zone.clone(),
                state: State::Held,
                serial: breach.serial,
                until: None,
                since,
                reason: breach.reason,
                size: breach.size,
                decided: None,
            };
            self.holds.send_modify(|holds| {
                holds.insert(breach.zone, hold);
            });
        }
        Ok(())
    }

    /// Reads new entries whenever `published` is notified (and every 100 ms
    /// regardless, for changes made by other processes: operators' commands), until the
    /// runtime stops.
    pub async fn follow(self: Arc<Self>, published: Arc<tokio::sync::Notify>) {
        let mut conn = None;
        loop {
            let woken = published.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let feed = self.clone();
            let taken = conn.take();
            let read = tokio::task::spawn_blocking(move || {
                let conn = match taken {
                    Some(conn) => conn,
                    None => open_read_only(&feed.database)?,
                };
                let more = feed.read_more(&conn)?;
                anyhow::Ok((conn, more))
            })
            .await;
            match read {
                Ok(Ok((c, more))) => {
                    conn = Some(c);
                    if more {
                        continue;
                    }
                }
                Ok(Err(error)) => tracing::error!(%error, "reading the journal"),
                Err(error) => tracing::error!(%error, "reading the journal"),
            }
            let _ = tokio::time::timeout(OTHERS_POLL, woken).await;
        }
    }

    /// Reads one batch of new entries; true if there may be more.
    fn read_more(&self, conn: &Connection) -> anyhow::Result<bool> {
        let after = *self.newest.borrow();
        let entries = crate::store::sqlite::journal_after(conn, "", after, BATCH)?;
        let Some(&(last, _)) = entries.last() else {
            return Ok(false);
        };
        let full = entries.len() == BATCH;
        self.check(&entries)?;
        {
            let mut ring = self.ring.write().unwrap_or_else(|e| e.into_inner());
            for (seq, entry) in entries {
                ring.push_back(Arc::new(Item::new(seq, entry)));
            }
            while ring.len() > self.capacity {
                ring.pop_front();
            }
        }
        self.newest.send_replace(last);
        Ok(full)
    }

    /// The entries after `cursor`, at most `limit`.
    pub fn after(&self, cursor: i64, limit: usize) -> After {
        let ring = self.ring.read().unwrap_or_else(|e| e.into_inner());
        let newest = *self.newest.borrow();
        if cursor >= newest {
            return After::Items(Vec::new());
        }
        let Some(first) = ring.front().map(|i| i.seq) else {
            return After::Behind;
        };
        if cursor + 1 < first {
            return After::Behind;
        }
        let skip = ring.partition_point(|i| i.seq <= cursor);
        After::Items(ring.iter().skip(skip).take(limit).cloned().collect())
    }

    /// Waits until an entry after `cursor` has been read.
    pub async fn wait_after(&self, cursor: i64) {
        let mut newest = self.newest.subscribe();
        let _ = newest.wait_for(|&n| n > cursor).await;
    }

    /// Entries after `cursor` from the database (for a session behind the ring).
    pub fn read(conn: &Connection, cursor: i64) -> anyhow::Result<Vec<Arc<Item>>> {
        Ok(
            crate::store::sqlite::journal_after(conn, "", cursor, BATCH)?
                .into_iter()
                .map(|(seq, entry)| {
                    Arc::new(Item {
                        live: false,
                        ..Item::new(seq, entry)
                    })
                })
                .collect(),
        )
    }
}
