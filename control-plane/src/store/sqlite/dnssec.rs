//! The SQLite backend of a signed zone's state (`crate::publish::dnssec` has the design): which
//! zones are signed and how (`dnssec_zones`), and every DNSSEC record the registry made for
//! them (`dnssec_records`), read by the incremental signer through
//! [`zonefiles::sign::incremental::State`].
//!
//! Owners and names are stored as the hex of their canonical keys, so that SQLite's text
//! order is the DNS's canonical order: the chain record before a name is one index step
//! (`dnssec_chain`), and the chain's names below a name one range (`dnssec_names`). Rdata is
//! hex too: the registry record carries rows as JSON, which holds no blob. A chain record's row
//! has its `name` (the name an NSEC3 owner hashes); other rows have none.

use data_encoding::HEXLOWER;
use rusqlite::{Connection, OptionalExtension, params};
use zonefiles::octets::Octets;
use zonefiles::sign::Denial;
use zonefiles::sign::incremental::{Edit, Link};
use zonefiles::{Class, Name, Record, RecordType};

use crate::store::{StoreError, StoreResult};

fn key(name: &Name) -> String {
    let mut out = Vec::with_capacity(name.as_wire().len() + 1);
    name.canonical_key(&mut out);
    HEXLOWER.encode(&out)
}

fn name_of(key: &str) -> StoreResult<Name> {
    HEXLOWER
        .decode(key.as_bytes())
        .ok()
        .and_then(|bytes| Name::from_canonical_key(&bytes).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("a DNSSEC record's name {key:?}")))
}

type Row = (String, u16, String, u32, Option<String>);

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn record((owner, rtype, rdata, ttl, _): &Row) -> StoreResult<Record> {
    let rdata = HEXLOWER
        .decode(rdata.as_bytes())
        .map_err(|_| StoreError::Corrupt(format!("a DNSSEC record's rdata {rdata:?}")))?;
    Ok(Record {
        owner: name_of(owner)?,
        rtype: RecordType(*rtype),
        class: Class::IN,
        ttl: *ttl,
        rdata: Octets::from(rdata),
    })
}

fn link(row: &Row) -> StoreResult<Link> {
    let name = row
        .4
        .as_deref()
        .ok_or_else(|| StoreError::Corrupt("a chain record without its name".into()))?;
    Ok((record(row)?, name_of(name)?))
}

const COLUMNS: &str = "owner, rtype, rdata, ttl, name";

/// How a zone is signed, or `None` if it is not.
pub fn denial(conn: &Connection, zone: i64) -> StoreResult<Option<Denial>> {
    let text: Option<String> = conn
        .prepare_cached("SELECT denial FROM dnssec_zones WHERE zone = ?1")?
        .query_row([zone], |r| r.get(0))
        .optional()?;
    Ok(text.as_deref().map(denial_of))
}

fn denial_of(text: &str) -> Denial {
    match text {
        "nsec" => Denial::Nsec,
        other => Denial::Nsec3 {
            iterations: 0,
            salt: Vec::new(),
            opt_out: other == "nsec3-opt-out",
        },
    }
}

/// A zone whose signing is being turned on (`dnssec_building`): its denial, and the serial
/// of the zone its records so far sign.
pub fn building(conn: &Connection, zone: i64) -> StoreResult<Option<(Denial, u32)>> {
    let row: Option<(String, u32)> = conn
        .prepare_cached("SELECT denial, serial FROM dnssec_building WHERE zone = ?1")?
        .query_row([zone], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(row.map(|(text, serial)| (denial_of(&text), serial)))
}

/// Notes that a zone's signing is being turned on, its records so far signing `serial`; or
/// (`None`) that it no longer is.
pub fn set_building(
    conn: &Connection,
    zone: i64,
    building: Option<(&Denial, u32)>,
) -> StoreResult<()> {
    match building {
        None => conn
            .prepare_cached("DELETE FROM dnssec_building WHERE zone = ?1")?
            .execute([zone])?,
        Some((denial, serial)) => conn
            .prepare_cached(
                "INSERT INTO dnssec_building (zone, denial, serial) VALUES (?1, ?2, ?3)
                 ON CONFLICT (zone) DO UPDATE SET denial = excluded.denial, serial = excluded.serial",
            )?
            .execute(params![zone, denial_text(denial), serial])?,
    };
    Ok(())
}

/// Removes every DNSSEC record of a zone that is not signed.
pub fn clear(conn: &Connection, zone: i64) -> StoreResult<()> {
    if denial(conn, zone)?.is_some() {
        return Err(StoreError::Corrupt(format!(
            "zone {zone} is signed: its DNSSEC records go by publication, not by clearing"
        )));
    }
    conn.prepare_cached("DELETE FROM dnssec_records WHERE zone = ?1")?
        .execute([zone])?;
    Ok(())
}

/// Signs a zone with `denial` from now on (the records follow in the same transaction), or
/// (`None`) no longer.
pub fn set_denial(conn: &Connection, zone: i64, denial: Option<&Denial>) -> StoreResult<()> {
    match denial {
        None => conn
            .prepare_cached("DELETE FROM dnssec_zones WHERE zone = ?1")?
            .execute([zone])?,
        Some(denial) => conn
            .prepare_cached(
                "INSERT INTO dnssec_zones (zone, denial) VALUES (?1, ?2)
                 ON CONFLICT (zone) DO UPDATE SET denial = excluded.denial",
            )?
            .execute(params![zone, denial_text(denial)])?,
    };
    Ok(())
}

/// The text of a denial as `dnssec_zones` and the operator's commands name it.
pub fn denial_text(denial: &Denial) -> &'static str {
    match denial {
        Denial::Nsec => "nsec",
        Denial::Nsec3 { opt_out: true, .. } => "nsec3-opt-out",
        Denial::Nsec3 { .. } => "nsec3",
    }
}

/// The records at `owner` but its chain record.
pub fn at(conn: &Connection, zone: i64, owner: &Name) -> StoreResult<Vec<Record>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM dnssec_records WHERE zone = ?1 AND owner = ?2 AND name IS NULL"
    ))?;
    let rows = statement.query_map(params![zone, key(owner)], row)?;
    rows.map(|r| record(&r?)).collect()
}

/// The chain record owned by `owner`.
pub fn chain_at(conn: &Connection, zone: i64, owner: &Name) -> StoreResult<Option<Link>> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM dnssec_records
             WHERE zone = ?1 AND owner = ?2 AND name IS NOT NULL"
        ))?
        .query_row(params![zone, key(owner)], row)
        .optional()?;
    found.as_ref().map(link).transpose()
}

/// The chain record before `owner`, or the last one if none is before.
pub fn chain_before(conn: &Connection, zone: i64, owner: &Name) -> StoreResult<Option<Link>> {
    let before = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM dnssec_records
             WHERE zone = ?1 AND name IS NOT NULL AND owner < ?2 ORDER BY owner DESC LIMIT 1"
        ))?
        .query_row(params![zone, key(owner)], row)
        .optional()?;
    let found = match before {
        Some(row) => Some(row),
        None => conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM dnssec_records
                 WHERE zone = ?1 AND name IS NOT NULL ORDER BY owner DESC LIMIT 1"
            ))?
            .query_row([zone], row)
            .optional()?,
    };
    found.as_ref().map(link).transpose()
}

/// Up to `limit` names in the chain strictly below `name`.
pub fn chain_below(
    conn: &Connection,
    zone: i64,
    name: &Name,
    limit: usize,
) -> StoreResult<Vec<Name>> {
    // A name's descendants' keys are its own key and more ('g' comes after every hex digit).
    let low = key(name);
    let high = format!("{low}g");
    let mut statement = conn.prepare_cached(
        "SELECT name FROM dnssec_records
         WHERE zone = ?1 AND name IS NOT NULL AND name > ?2 AND name < ?3 LIMIT ?4",
    )?;
    let rows = statement.query_map(params![zone, low, high, limit as i64], |r| {
        r.get::<_, String>(0)
    })?;
    rows.map(|r| name_of(&r?)).collect()
}

/// Applies what the signer removed and added.
pub fn edit(conn: &Connection, zone: i64, edit: &Edit) -> StoreResult<()> {
    let mut delete = conn.prepare_cached(
        "DELETE FROM dnssec_records WHERE zone = ?1 AND owner = ?2 AND rtype = ?3 AND rdata = ?4",
    )?;
    for r in &edit.removed {
        let gone = delete.execute(params![
            zone,
            key(&r.owner),
            r.rtype.0,
            HEXLOWER.encode(&r.rdata)
        ])?;
        if gone != 1 {
            return Err(StoreError::Corrupt(format!(
                "the signer removed a record the zone does not hold: {r}"
            )));
        }
    }
    let mut insert = conn.prepare_cached(
        "INSERT INTO dnssec_records (zone, owner, rtype, rdata, ttl, name, expires)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for r in &edit.added {
        insert.execute(params![
            zone,
            key(&r.owner),
            r.rtype.0,
            HEXLOWER.encode(&r.rdata),
            r.ttl,
            edit.names
                .get(&r.owner)
                .filter(|_| is_chain(r.rtype))
                .map(key),
            expiration(r),
        ])?;
    }
    Ok(())
}

/// An RRSIG's expiration time (RFC 4034 §3.1.5).
fn expiration(record: &Record) -> Option<u32> {
    let bytes: [u8; 4] = record.rdata.get(8..12)?.try_into().ok()?;
    (record.rtype == RecordType::RRSIG).then_some(u32::from_be_bytes(bytes))
}

/// Up to `limit` RRsets (owner, type covered) whose signatures expire before `before`.
pub fn expiring(
    conn: &Connection,
    zone: i64,
    before: u32,
    limit: usize,
) -> StoreResult<Vec<(Name, RecordType)>> {
    let mut statement = conn.prepare_cached(
        "SELECT owner, rdata FROM dnssec_records
         WHERE zone = ?1 AND expires IS NOT NULL AND expires < ?2 ORDER BY expires LIMIT ?3",
    )?;
    let rows = statement.query_map(params![zone, before, limit as i64], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (owner, rdata) = row?;
        let covered = HEXLOWER
            .decode(rdata.get(..4).unwrap_or_default().as_bytes())
            .ok()
            .filter(|b| b.len() == 2)
            .map(|b| RecordType(u16::from_be_bytes([b[0], b[1]])))
            .ok_or_else(|| StoreError::Corrupt(format!("an RRSIG's rdata {rdata:?}")))?;
        let pair = (name_of(&owner)?, covered);
        if !out.contains(&pair) {
            out.push(pair);
        }
    }
    Ok(out)
}

fn is_chain(rtype: RecordType) -> bool {
    matches!(rtype, RecordType::NSEC | RecordType::NSEC3)
}

/// Every DNSSEC record a zone publishes: none while its signing is being turned on.
pub fn published(conn: &Connection, zone: i64) -> StoreResult<Vec<Record>> {
    match denial(conn, zone)? {
        Some(_) => records(conn, zone),
        None => Ok(Vec::new()),
    }
}

/// Every DNSSEC record of a zone.
pub fn records(conn: &Connection, zone: i64) -> StoreResult<Vec<Record>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM dnssec_records WHERE zone = ?1"
    ))?;
    let rows = statement.query_map([zone], row)?;
    rows.map(|r| record(&r?)).collect()
}
