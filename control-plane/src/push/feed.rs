//! The journal's tail in memory, for the push service's sessions.
//!
//! One task ([`Feed::follow`]) reads each new journal entry from the database once, right after
//! the commit thread says it committed, encodes it as the CHANGESET frame satellites receive,
//! and keeps the newest of them (as many as it was made for) in a ring. Every live session takes its
//! frames from the ring, so a changeset costs the control plane one read and one encoding
//! whatever the number of satellites; only a session whose satellite is further behind than
//! the ring reads the database itself (catch-up), with its own connection, until it reaches
//! the ring.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rusqlite::Connection;

use crate::store::sqlite::open_read_only;
use satellite_protocol::message::Message;

use crate::model::JournalEntry;

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
}

/// Entries read per database query.
pub const BATCH: usize = 4096;

/// How often the journal is read for changesets another process committed (an operator's
/// hold, a registrar's new WHOIS details): one indexed look-up, ten a second.
const OTHERS_POLL: Duration = Duration::from_millis(100);

impl Feed {
    /// A feed of the journal in `database`, starting after its current end, keeping at most
    /// `capacity` entries.
    pub fn new(database: PathBuf, capacity: usize) -> anyhow::Result<Arc<Feed>> {
        let conn = open_read_only(&database)?;
        let newest = crate::store::sqlite::journal::newest_position(&conn)?;
        Ok(Arc::new(Feed {
            database,
            ring: RwLock::new(VecDeque::new()),
            newest: tokio::sync::watch::channel(newest).0,
            capacity: capacity.max(1),
        }))
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
