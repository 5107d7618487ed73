//! The table of open TCP connections: a cap per client and, when the table is full, room made
//! by closing the connection idle the longest (RFC 7766 §6.2.3: under pressure, close idle
//! connections first, and limit the connections one client holds).
//!
//! A connection is idle while it waits for the next query, busy from the moment a query's
//! length arrives until its answer is queued (and for the whole of a zone transfer). Clients are
//! counted by address (`/32`, and `/64` for IPv6, where one host has a whole network). A
//! connection closed to make room is told through its [`Slot::closed`] future and ends at its
//! next wait; it leaves the table at once, so the newcomer's place is already free.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Notify;

use crate::acl;

/// Every open connection, and how many each client holds.
#[derive(Debug)]
pub struct Connections {
    table: Mutex<Table>,
    max: usize,
    per_client: usize,
    /// Connections closed to make room for a new one.
    pub evicted: AtomicU64,
    /// Connections refused: the client held its share, or nothing was idle to close.
    pub refused: AtomicU64,
}

#[derive(Debug, Default)]
struct Table {
    next: u64,
    open: HashMap<u64, Entry>,
    per_client: HashMap<IpAddr, usize>,
}

#[derive(Debug)]
struct Entry {
    client: IpAddr,
    idle_since: Option<Instant>,
    close: Arc<Notify>,
}

impl Table {
    fn remove(&mut self, id: u64) -> Option<Entry> {
        let entry = self.open.remove(&id)?;
        if let Some(n) = self.per_client.get_mut(&entry.client) {
            *n -= 1;
            if *n == 0 {
                self.per_client.remove(&entry.client);
            }
        }
        Some(entry)
    }
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The client holds its share already.
    Client,
    /// Every slot is busy.
    Full,
}

/// An open connection's place in the table; leaving it (drop) frees the place.
#[derive(Debug)]
pub struct Slot {
    id: u64,
    close: Arc<Notify>,
    table: Arc<Connections>,
}

fn client_of(addr: IpAddr) -> IpAddr {
    match acl::unmapped(addr) {
        v4 @ IpAddr::V4(_) => v4,
        v6 => acl::network(v6, 64),
    }
}

impl Connections {
    /// A table for at most `max` connections, `per_client` of them from one client.
    pub fn new(max: usize, per_client: usize) -> Arc<Connections> {
        Arc::new(Connections {
            table: Mutex::new(Table::default()),
            max: max.max(1),
            per_client: per_client.max(1),
            evicted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        })
    }

    /// Admits a connection from `addr`, closing the idlest one if the table is full.
    pub fn admit(self: &Arc<Self>, addr: IpAddr, now: Instant) -> Result<Slot, Refused> {
        let client = client_of(addr);
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if table.per_client.get(&client).copied().unwrap_or(0) >= self.per_client {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Refused::Client);
        }
        if table.open.len() >= self.max {
            let idlest = table
                .open
                .iter()
                .filter_map(|(id, e)| e.idle_since.map(|since| (since, *id)))
                .min();
            let Some((_, id)) = idlest else {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return Err(Refused::Full);
            };
            if let Some(entry) = table.remove(id) {
                entry.close.notify_one();
                self.evicted.fetch_add(1, Ordering::Relaxed);
            }
        }
        let id = table.next;
        table.next += 1;
        let close = Arc::new(Notify::new());
        table.open.insert(
            id,
            Entry {
                client,
                idle_since: Some(now),
                close: close.clone(),
            },
        );
        *table.per_client.entry(client).or_default() += 1;
        Ok(Slot {
            id,
            close,
            table: self.clone(),
        })
    }

    /// Connections open now.
    pub fn len(&self) -> usize {
        self.table
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .open
            .len()
    }

    /// True if no connection is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn mark(&self, id: u64, idle_since: Option<Instant>) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = table.open.get_mut(&id) {
            entry.idle_since = idle_since;
        }
    }
}

impl Slot {
    /// The connection waits for its next query from `now` on.
    pub fn idle(&self, now: Instant) {
        self.table.mark(self.id, Some(now));
    }

    /// The connection is working on a query (or a transfer).
    pub fn busy(&self) {
        self.table.mark(self.id, None);
    }

    /// Completes when the connection was closed to make room.
    pub async fn closed(&self) {
        self.close.notified().await;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.table.table.lock().unwrap_or_else(|e| e.into_inner());
        table.remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn one_client_gets_its_share() {
        let table = Connections::new(10, 3);
        let now = Instant::now();
        let held: Vec<Slot> = (0..3)
            .map(|_| table.admit(ip("192.0.2.1"), now).unwrap())
            .collect();
        assert_eq!(
            table.admit(ip("192.0.2.1"), now).unwrap_err(),
            Refused::Client
        );
        assert!(table.admit(ip("192.0.2.2"), now).is_ok());
        // IPv6: one /64 is one client.
        let _a = table.admit(ip("2001:db8::1"), now).unwrap();
        let _b = table.admit(ip("2001:db8::2"), now).unwrap();
        let _c = table.admit(ip("2001:db8::3"), now).unwrap();
        assert_eq!(
            table.admit(ip("2001:db8::4"), now).unwrap_err(),
            Refused::Client
        );
        assert!(table.admit(ip("2001:db8:0:1::4"), now).is_ok());
        drop(held);
        assert!(table.admit(ip("192.0.2.1"), now).is_ok());
    }

    #[test]
    fn a_full_table_closes_the_idlest() {
        let table = Connections::new(3, 3);
        let start = Instant::now();
        let a = table.admit(ip("192.0.2.1"), start).unwrap();
        let b = table
            .admit(ip("192.0.2.2"), start + Duration::from_secs(1))
            .unwrap();
        let c = table
            .admit(ip("192.0.2.3"), start + Duration::from_secs(2))
            .unwrap();
        a.busy();
        // b is the idlest: it is closed, and the newcomer takes its place.
        let d = table
            .admit(ip("192.0.2.4"), start + Duration::from_secs(3))
            .unwrap();
        assert_eq!(table.len(), 3);
        assert_eq!(table.evicted.load(Ordering::Relaxed), 1);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            tokio::time::timeout(Duration::from_millis(100), b.closed())
                .await
                .expect("b was told");
        });
        drop(b);
        assert_eq!(table.len(), 3, "b's place was already given away");
        // Everything busy: refused.
        c.busy();
        d.busy();
        assert_eq!(
            table.admit(ip("192.0.2.5"), start).unwrap_err(),
            Refused::Full
        );
        drop((a, c, d));
        assert!(table.is_empty());
    }
}
