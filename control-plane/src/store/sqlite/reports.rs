//! The reads behind the registry's monthly reports to ICANN.

use std::collections::BTreeMap;

use rusqlite::{Connection, params};

use crate::store::StoreResult;

/// How many events of each kind and term: (event, years) → count.
pub type Counts = BTreeMap<(String, u32), u64>;

/// Per registrar, per event and years, how many `transactions` rows a zone has in `[from, to)`.
pub fn transactions(
    conn: &Connection,
    zone: i64,
    from: i64,
    to: i64,
) -> StoreResult<BTreeMap<u32, Counts>> {
    let mut statement = conn.prepare(
        "SELECT registrar, event, years, count(*) FROM transactions
         WHERE zone = ?1 AND at >= ?2 AND at < ?3 GROUP BY registrar, event, years",
    )?;
    let mut out: BTreeMap<u32, Counts> = BTreeMap::new();
    let rows = statement.query_map(params![zone, from, to], |r| {
        Ok((
            r.get::<_, u32>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, u32>(2)?,
            r.get::<_, u64>(3)?,
        ))
    })?;
    for row in rows {
        let (registrar, event, years, count) = row?;
        out.entry(registrar)
            .or_default()
            .insert((event, years), count);
    }
    Ok(out)
}

/// Per registrar, the domains it sponsors in a zone now and the host objects it sponsors
/// beneath them.
pub fn sponsored(conn: &Connection, zone: i64) -> StoreResult<BTreeMap<u32, (u64, u64)>> {
    let mut out: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    let mut domains =
        conn.prepare("SELECT registrar, count(*) FROM domains WHERE zone = ?1 GROUP BY registrar")?;
    for row in domains.query_map([zone], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, u64>(1)?)))? {
        let (registrar, n) = row?;
        out.entry(registrar).or_default().0 = n;
    }
    let mut hosts = conn.prepare(
        "SELECT h.registrar, count(*) FROM hosts h JOIN domains d ON d.name = h.parent
         WHERE d.zone = ?1 GROUP BY h.registrar",
    )?;
    for row in hosts.query_map([zone], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, u64>(1)?)))? {
        let (registrar, n) = row?;
        out.entry(registrar).or_default().1 = n;
    }
    Ok(out)
}
