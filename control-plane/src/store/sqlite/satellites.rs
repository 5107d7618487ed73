//! Satellites: who may connect (membership, by tunnel key) and where each one stands.
//!
//! Membership lives in `satellites`; `control-plane satellite add|remove` changes it and the
//! running push service picks the change up within a second ([`crate::push`]), closing the
//! tunnel of a satellite removed. The push service writes every satellite's state per zone to
//! `satellite_status` once a second; [`status`] joins it with the journal to give the lag in
//! changes and in seconds, so `control-plane satellites` works from the database alone, even
//! while the control plane is down (it then shows the last state known).

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::store::StoreResult;

/// A satellite the push service accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its name (what its agent says in HELLO).
    pub name: String,
    /// Its tunnel public key, base64.
    pub public_key: String,
}

/// Every member.
pub fn members(conn: &Connection) -> StoreResult<Vec<Member>> {
    let mut statement = conn.prepare("SELECT name, public_key FROM satellites ORDER BY name")?;
    let rows = statement.query_map([], |r| {
        Ok(Member {
            name: r.get(0)?,
            public_key: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Adds (or re-keys) a satellite.
pub fn add(conn: &Connection, name: &str, public_key: &str) -> StoreResult<()> {
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "INSERT INTO satellites (name, public_key, added) VALUES (?1, ?2, strftime('%s', 'now'))
         ON CONFLICT(name) DO UPDATE SET public_key = excluded.public_key",
        params![name, public_key],
    )?;
    crate::store::sqlite::record::keep(&tx)?;
    tx.commit()?;
    Ok(())
}

/// Removes a satellite and its status; false if there was none.
pub fn remove(conn: &Connection, name: &str) -> StoreResult<bool> {
    let tx = conn.unchecked_transaction()?;
    tx.execute("DELETE FROM satellite_status WHERE satellite = ?1", [name])?;
    let removed = tx.execute("DELETE FROM satellites WHERE name = ?1", [name])? > 0;
    crate::store::sqlite::record::keep(&tx)?;
    tx.commit()?;
    Ok(removed)
}

/// One satellite's state in one zone.
#[derive(Debug, Clone, Serialize)]
pub struct ZoneStatus {
    /// The satellite.
    pub satellite: String,
    /// The zone.
    pub zone: String,
    /// Connected now (as of `last_contact`).
    pub connected: bool,
    /// Its address, when connected.
    pub address: Option<String>,
    /// The serial it acknowledged last.
    pub serial: Option<u32>,
    /// The registry's newest serial of the zone.
    pub newest: u32,
    /// Journal entries it has not acknowledged.
    pub lag_changes: u64,
    /// Seconds since the oldest change it has not acknowledged was committed (0: in sync).
    pub lag_seconds: i64,
    /// When it last acknowledged (seconds since 1970).
    pub acked_at: Option<i64>,
    /// When it was last heard from.
    pub last_contact: i64,
    /// Changesets or snapshots it refused in its current session.
    pub refused: u64,
    /// The last audit of this zone on it: "same at serial N" or "DIFFERS at serial N", and
    /// when (seconds since 1970).
    pub audit: Option<String>,
}

/// The state of every satellite in every zone it reported, with its lag.
pub fn status(conn: &Connection, now: i64) -> StoreResult<Vec<ZoneStatus>> {
    let mut statement = conn.prepare(
        "SELECT s.satellite, s.zone, s.connected, s.address, s.serial, z.serial, s.acked_at, s.last_contact, s.refused, s.audit
         FROM satellite_status s JOIN satellites m ON m.name = s.satellite
         LEFT JOIN zones z ON z.origin = s.zone ORDER BY s.satellite, s.zone",
    )?;
    let rows: Vec<ZoneStatus> = statement
        .query_map([], |r| {
            Ok(ZoneStatus {
                satellite: r.get(0)?,
                zone: r.get(1)?,
                connected: r.get::<_, i64>(2)? != 0,
                address: r.get(3)?,
                serial: r.get(4)?,
                newest: r.get::<_, Option<u32>>(5)?.unwrap_or(0),
                lag_changes: 0,
                lag_seconds: 0,
                acked_at: r.get(6)?,
                last_contact: r.get(7)?,
                refused: r.get::<_, i64>(8)? as u64,
                audit: r.get(9)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for mut row in rows {
        let (changes, oldest) = lag(conn, &row.zone, row.serial)?;
        row.lag_changes = changes;
        row.lag_seconds = oldest.map_or(0, |at| (now - at).max(0));
        out.push(row);
    }
    Ok(out)
}

/// Journal entries of `zone` after `serial`, and the commit time of the first of them.
pub fn lag(conn: &Connection, zone: &str, serial: Option<u32>) -> StoreResult<(u64, Option<i64>)> {
    let first: Option<(i64, i64)> = match serial {
        Some(serial) => conn
            .prepare_cached(
                "SELECT seq, committed FROM journal WHERE zone = ?1 AND from_serial = ?2",
            )?
            .query_row(params![zone, serial], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?,
        None => conn
            .prepare_cached(
                "SELECT seq, committed FROM journal WHERE zone = ?1 ORDER BY seq LIMIT 1",
            )?
            .query_row([zone], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?,
    };
    let Some((seq, committed)) = first else {
        return Ok((0, None));
    };
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM journal WHERE zone = ?1 AND seq >= ?2")?
        .query_row(params![zone, seq], |r| r.get(0))?;
    Ok((count as u64, Some(committed)))
}

/// Writes the push service's view of the satellites (one transaction).
pub fn record(conn: &mut Connection, rows: &[ZoneStatus]) -> StoreResult<()> {
    let tx = conn.transaction()?;
    {
        let mut statement = tx.prepare_cached(
            "INSERT INTO satellite_status (satellite, zone, serial, acked_at, last_contact, connected, address, refused, audit)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT(satellite, zone) DO UPDATE SET serial = excluded.serial, acked_at = excluded.acked_at,
               last_contact = excluded.last_contact, connected = excluded.connected, address = excluded.address,
               refused = excluded.refused, audit = COALESCE(excluded.audit, satellite_status.audit)",
        )?;
        for row in rows {
            statement.execute(params![
                row.satellite,
                row.zone,
                row.serial,
                row.acked_at,
                row.last_contact,
                i64::from(row.connected),
                row.address,
                row.refused as i64,
                row.audit
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}
