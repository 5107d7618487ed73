//! What the push service, exports and the audit read beside the [`Store`](crate::store::Store)
//! trait: positions in the journal, counts behind a serial, the export log, ledger sums.
//! Each is one indexed statement, prepared once per connection.

use rusqlite::{Connection, OptionalExtension, params};

use std::collections::BTreeSet;

use zonefiles::changeset::Changeset;
use zonefiles::{Name, RecordType};

use crate::model::{Lifecycle, Prices};
use crate::store::{StoreError, StoreResult};

/// The serial a zone's journal starts from, if it holds any changeset.
pub fn first_serial(conn: &Connection, zone: &str) -> StoreResult<Option<u32>> {
    Ok(conn
        .prepare_cached("SELECT from_serial FROM journal WHERE zone = ?1 ORDER BY seq LIMIT 1")?
        .query_row([zone], |r| r.get(0))
        .optional()?)
}

/// The position (sequence number) of the zone's changeset that starts at `serial`.
pub fn position_of(conn: &Connection, zone: &str, serial: u32) -> StoreResult<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT seq FROM journal WHERE zone = ?1 AND from_serial = ?2")?
        .query_row(params![zone, serial], |r| r.get(0))
        .optional()?)
}

/// The RRsets (owner, type) a zone's changesets changed from `serial` on, or `None` if the
/// journal does not hold a changeset from `serial` (it is the zone's serial now, or the
/// journal was cut).
pub fn changed_since(
    conn: &Connection,
    zone: &str,
    serial: u32,
) -> StoreResult<Option<BTreeSet<(Name, RecordType)>>> {
    let Some(first) = position_of(conn, zone, serial)? else {
        return Ok(None);
    };
    let mut statement = conn.prepare_cached(
        "SELECT changeset FROM journal WHERE zone = ?1 AND seq >= ?2 ORDER BY seq",
    )?;
    let mut rows = statement.query(params![zone, first])?;
    let mut changed = BTreeSet::new();
    while let Some(row) = rows.next()? {
        let bytes: Vec<u8> = row.get(0)?;
        let changeset = Changeset::decode(&bytes).map_err(|e| {
            StoreError::Corrupt(format!("a changeset of {zone} in the journal: {e}"))
        })?;
        for r in changeset.removed.iter().chain(&changeset.added) {
            changed.insert((r.owner.clone(), r.rtype));
        }
    }
    Ok(Some(changed))
}

/// The position of the newest changeset of any zone (0 for an empty journal).
pub fn newest_position(conn: &Connection) -> StoreResult<i64> {
    Ok(conn
        .prepare_cached("SELECT COALESCE(max(seq), 0) FROM journal")?
        .query_row([], |r| r.get(0))?)
}

/// How many changesets of the zone there are from the one that starts at `serial` (0 when
/// none starts there).
pub fn changesets_from(conn: &Connection, zone: &str, serial: u32) -> StoreResult<u64> {
    let count: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM journal WHERE zone = ?1 AND seq >= \
             (SELECT seq FROM journal WHERE zone = ?1 AND from_serial = ?2)",
        )?
        .query_row(params![zone, serial], |r| r.get(0))?;
    Ok(count as u64)
}

/// How many changesets of the zone follow the position `seq`.
pub fn changesets_after(conn: &Connection, zone: &str, seq: i64) -> StoreResult<u64> {
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM journal WHERE zone = ?1 AND seq > ?2")?
        .query_row(params![zone, seq], |r| r.get(0))?;
    Ok(count as u64)
}

/// How many domains the zone holds.
pub fn domain_count(conn: &Connection, zone: &str) -> StoreResult<u64> {
    let count: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM domains WHERE zone = (SELECT id FROM zones WHERE origin = ?1)",
        )?
        .query_row([zone], |r| r.get(0))?;
    Ok(count as u64)
}

/// The last export of the zone before `serial`: its serial and record count.
pub fn export_before(
    conn: &Connection,
    zone: &str,
    serial: u32,
) -> StoreResult<Option<(u32, u64)>> {
    Ok(conn
        .prepare_cached(
            "SELECT serial, records FROM snapshots WHERE zone = ?1 AND serial < ?2 ORDER BY serial DESC LIMIT 1",
        )?
        .query_row(params![zone, serial], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
        })
        .optional()?)
}

/// Records an export: its serial, record and object counts, and the image's digest (hex).
pub fn record_export(
    conn: &Connection,
    zone: &str,
    serial: u32,
    (records, objects): (usize, usize),
    digest: &str,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO snapshots (zone, serial, records, objects, digest, at) VALUES (?1, ?2, ?3, ?4, ?5, strftime('%s', 'now'))",
    )?
    .execute(params![zone, serial, records as i64, objects as i64, digest])?;
    Ok(())
}

/// The sum of a registrar's ledger (its balance, if nothing is amiss).
pub fn ledger_sum(conn: &Connection, registrar: u32) -> StoreResult<i64> {
    Ok(conn
        .prepare_cached("SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE registrar = ?1")?
        .query_row([registrar], |r| r.get(0))?)
}

/// Sets a zone's prices; false if the registry does not run it.
pub fn set_prices(conn: &Connection, origin: &str, prices: &Prices) -> StoreResult<bool> {
    let changed = conn.execute(
        "UPDATE zones SET create_price = ?2, renew_price = ?3, transfer_price = ?4, restore_price = ?5 WHERE origin = ?1",
        params![
            origin,
            prices.create,
            prices.renew,
            prices.transfer,
            prices.restore
        ],
    )?;
    Ok(changed > 0)
}

/// Sets a zone's grace periods and transfer policy; false if the registry does not run it.
pub fn set_lifecycle(conn: &Connection, origin: &str, policy: &Lifecycle) -> StoreResult<bool> {
    let changed = conn.execute(
        "UPDATE zones SET add_grace_days = ?2, redemption_days = ?3, pending_delete_days = ?4, auto_renew_grace_days = ?5, renew_grace_days = ?6, transfer_grace_days = ?7, transfer_timeout_days = ?8, transfer_default = ?9, transfer_lock_days = ?10 WHERE origin = ?1",
        params![
            origin,
            policy.add_grace_days,
            policy.redemption_days,
            policy.pending_delete_days,
            policy.auto_renew_grace_days,
            policy.renew_grace_days,
            policy.transfer_grace_days,
            policy.transfer_timeout_days,
            policy.transfer_default.as_str(),
            policy.transfer_lock_days
        ],
    )?;
    Ok(changed > 0)
}

/// Makes `name` a premium name at `prices`, or changes its prices.
pub fn set_premium(conn: &Connection, name: &str, prices: &Prices) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO premium_names (name, create_price, renew_price, transfer_price, restore_price)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(name) DO UPDATE SET create_price = ?2, renew_price = ?3, transfer_price = ?4, restore_price = ?5",
        params![
            name,
            prices.create,
            prices.renew,
            prices.transfer,
            prices.restore
        ],
    )?;
    Ok(())
}

/// Makes `name` a name at its zone's prices again; false if it was not premium.
pub fn remove_premium(conn: &Connection, name: &str) -> StoreResult<bool> {
    Ok(conn.execute("DELETE FROM premium_names WHERE name = ?1", [name])? > 0)
}

/// Every premium name with its prices, by name.
pub fn premium_names(conn: &Connection) -> StoreResult<Vec<(String, Prices)>> {
    let mut statement = conn.prepare(
        "SELECT name, create_price, renew_price, transfer_price, restore_price FROM premium_names ORDER BY name",
    )?;
    let rows = statement.query_map([], |r| {
        Ok((
            r.get(0)?,
            Prices {
                create: r.get(1)?,
                renew: r.get(2)?,
                transfer: r.get(3)?,
                restore: r.get(4)?,
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
