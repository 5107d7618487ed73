//! The escrow deposits' own database, and the few registry reads and writes that escrow needs
//! beyond the [`crate::store::Store`] trait.
//!
//! The escrow database (`escrow.sqlite` in the deposit folder) is attached to a read
//! connection of the registry as `escrow`, so one transaction reads the registry at one point
//! in time (the deposit's watermark) while it writes the escrow tables; the registry's own
//! tables are never written and its writers are never blocked. It holds every deposit made and,
//! per zone, a digest of each object as last deposited: a differential deposit is what differs
//! from those digests, and its deletions are the digests whose object is gone.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::model::Host;
use crate::store::StoreResult;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS escrow.deposits (
    id TEXT PRIMARY KEY,
    zone TEXT NOT NULL,
    kind TEXT NOT NULL,
    watermark INTEGER NOT NULL,
    folder TEXT NOT NULL,
    files INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    objects INTEGER NOT NULL,
    took_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS escrow.digests (
    zone TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    digest BLOB NOT NULL,
    PRIMARY KEY (zone, kind, key)
) WITHOUT ROWID;
";

/// Opens the escrow database at `path` alone (attached as `escrow` to an empty connection),
/// for reading what deposits were made.
pub fn open(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_in_memory()?;
    attach(&conn, path)?;
    Ok(conn)
}

/// Attaches the escrow database at `path` (made if missing) as `escrow`.
pub fn attach(conn: &Connection, path: &Path) -> StoreResult<()> {
    conn.execute(
        "ATTACH DATABASE ?1 AS escrow",
        [path.to_string_lossy().as_ref()],
    )?;
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

/// A deposit made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deposit {
    /// RFC 8909's deposit id.
    pub id: String,
    /// The zone.
    pub zone: String,
    /// `FULL` or `DIFF`.
    pub kind: String,
    /// The time the data is from.
    pub watermark: i64,
    /// The folder that holds its files.
    pub folder: String,
    /// Files written (parts and signatures).
    pub files: u64,
    /// Their size.
    pub bytes: u64,
    /// Objects in it.
    pub objects: u64,
    /// How long it took.
    pub took_ms: u64,
}

fn deposit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Deposit> {
    Ok(Deposit {
        id: r.get(0)?,
        zone: r.get(1)?,
        kind: r.get(2)?,
        watermark: r.get(3)?,
        folder: r.get(4)?,
        files: r.get(5)?,
        bytes: r.get(6)?,
        objects: r.get(7)?,
        took_ms: r.get(8)?,
    })
}

const DEPOSIT_COLUMNS: &str = "id, zone, kind, watermark, folder, files, bytes, objects, took_ms";

/// Every deposit of a zone (all zones if `None`), oldest first.
pub fn deposits(conn: &Connection, zone: Option<&str>) -> StoreResult<Vec<Deposit>> {
    let mut statement = conn.prepare(&format!(
        "SELECT {DEPOSIT_COLUMNS} FROM escrow.deposits WHERE ?1 IS NULL OR zone = ?1 ORDER BY watermark, id"
    ))?;
    Ok(statement
        .query_map([zone], deposit_row)?
        .collect::<Result<_, _>>()?)
}

/// The latest deposit of each zone and kind.
pub fn latest(conn: &Connection) -> StoreResult<Vec<Deposit>> {
    let mut statement = conn.prepare(&format!(
        "SELECT {DEPOSIT_COLUMNS} FROM escrow.deposits d WHERE watermark = \
         (SELECT max(watermark) FROM escrow.deposits e WHERE e.zone = d.zone AND e.kind = d.kind) \
         ORDER BY zone, kind"
    ))?;
    Ok(statement
        .query_map([], deposit_row)?
        .collect::<Result<_, _>>()?)
}

/// Records a deposit.
pub fn record(conn: &Connection, d: &Deposit) -> StoreResult<()> {
    conn.execute(
        &format!("INSERT INTO escrow.deposits ({DEPOSIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
        params![d.id, d.zone, d.kind, d.watermark, d.folder, d.files, d.bytes, d.objects, d.took_ms],
    )?;
    Ok(())
}

/// The digest of an object as last deposited.
pub fn digest(
    conn: &Connection,
    zone: &str,
    kind: &str,
    key: &str,
) -> StoreResult<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached(
            "SELECT digest FROM escrow.digests WHERE zone = ?1 AND kind = ?2 AND key = ?3",
        )?
        .query_row(params![zone, kind, key], |r| r.get(0))
        .optional()?)
}

/// Notes an object's digest as deposited.
pub fn set_digest(
    conn: &Connection,
    zone: &str,
    kind: &str,
    key: &str,
    digest: &[u8],
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO escrow.digests (zone, kind, key, digest) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (zone, kind, key) DO UPDATE SET digest = excluded.digest",
    )?
    .execute(params![zone, kind, key, digest])?;
    Ok(())
}

/// The objects deposited for a zone that the registry no longer has, as (kind, key), and
/// forgets them. Every zone's deposit holds every host object and registrar.
pub fn take_gone(
    conn: &Connection,
    zone: &str,
    zone_id: i64,
) -> StoreResult<Vec<(String, String)>> {
    let gone: Vec<(String, String)> = conn
        .prepare(
            "SELECT kind, key FROM escrow.digests e WHERE zone = ?1 AND CASE kind
                WHEN 'domain' THEN NOT EXISTS (SELECT 1 FROM main.domains d WHERE d.name = e.key AND d.zone = ?2)
                WHEN 'host' THEN NOT EXISTS (SELECT 1 FROM main.hosts h WHERE h.name = e.key)
                ELSE NOT EXISTS (SELECT 1 FROM main.registrars r WHERE r.id = CAST(e.key AS INTEGER)) END
             ORDER BY kind, key",
        )?
        .query_map(params![zone, zone_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut forget = conn
        .prepare_cached("DELETE FROM escrow.digests WHERE zone = ?1 AND kind = ?2 AND key = ?3")?;
    for (kind, key) in &gone {
        forget.execute(params![zone, kind, key])?;
    }
    Ok(gone)
}

/// Every host object, by name.
pub fn hosts(conn: &Connection) -> StoreResult<Vec<Host>> {
    let mut statement = conn.prepare(&format!(
        "SELECT {} FROM main.hosts ORDER BY name",
        super::HOST_COLUMNS
    ))?;
    let rows = statement.query_map([], super::host_row)?;
    let mut hosts = Vec::new();
    for row in rows {
        let (host, addresses) = row?;
        hosts.push(super::with_addresses(host, &addresses)?);
    }
    Ok(hosts)
}

/// Gives a domain just inserted the registry object id it had (restores keep ROIDs).
pub fn set_domain_id(conn: &Connection, name: &str, id: i64) -> StoreResult<()> {
    conn.prepare_cached("UPDATE domains SET id = ?2 WHERE name = ?1")?
        .execute(params![name, id])?;
    Ok(())
}

/// Gives a host object just inserted the id it had.
pub fn set_host_id(conn: &Connection, name: &str, id: i64) -> StoreResult<()> {
    conn.prepare_cached("UPDATE hosts SET id = ?2 WHERE name = ?1")?
        .execute(params![name, id])?;
    Ok(())
}

/// Moves the id sequences past every id restored, so new objects get new ids.
pub fn advance_sequences(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(
        "UPDATE sequences SET value = max(value, (SELECT coalesce(max(id), 0) FROM domains)) WHERE name = 'domain';
         UPDATE sequences SET value = max(value, (SELECT coalesce(max(id), 0) FROM hosts)) WHERE name = 'host';",
    )?;
    Ok(())
}

/// How many domains a zone has, how many host objects and registrars the registry has.
pub fn counts(conn: &Connection, zone: i64) -> StoreResult<(u64, u64, u64)> {
    let one = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> rusqlite::Result<u64> {
        conn.query_row(sql, p, |r| r.get(0))
    };
    Ok((
        one("SELECT count(*) FROM domains WHERE zone = ?1", &[&zone])?,
        one("SELECT count(*) FROM hosts", &[])?,
        one("SELECT count(*) FROM registrars", &[])?,
    ))
}
