//! The counts behind the monthly registry functions activity report
//! ([`crate::operator::activity`]): per UTC day, zone and source, a total per counter (the
//! report's field names: `srs-dom-check`, `dns-udp-queries-received`, …).
//!
//! Two sources write them, each on a connection of its own and never in a registrar's
//! transaction:
//! - the registry itself (source [`REGISTRY`]): the front ends' core adds the commands it
//!   answered since its last write ([`add`], every few seconds and at a clean stop);
//! - each satellite (source: its name): the push service writes the day's totals its agent
//!   reports ([`record_satellites`]), keeping the larger when a report arrives late or
//!   twice.
//!
//! The counts are statistics, not part of the registry record: `recover` does not rebuild
//! them, and a crash loses the registry's last few seconds of them.

use std::collections::BTreeMap;

use rusqlite::{Connection, params};

use crate::store::StoreResult;

/// The source name of the registry's own counts (satellites' names are never empty).
pub const REGISTRY: &str = "";

/// One day's count of one counter in one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    /// Days since 1970 (UTC).
    pub day: u32,
    /// The zone.
    pub zone: String,
    /// The counter (the report's field name).
    pub counter: String,
    /// How many.
    pub total: u64,
}

/// Adds the registry's counts to the day's totals (one transaction).
pub fn add(conn: &mut Connection, counts: &[Count]) -> StoreResult<()> {
    let tx = conn.transaction()?;
    {
        let mut statement = tx.prepare_cached(
            "INSERT INTO activity (day, zone, source, counter, total) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(day, zone, source, counter) DO UPDATE SET total = total + excluded.total",
        )?;
        for c in counts {
            statement.execute(params![c.day, c.zone, REGISTRY, c.counter, c.total as i64])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Records satellites' day totals (one transaction): `(satellite, count)`; a total never goes
/// down.
pub fn record_satellites(conn: &mut Connection, counts: &[(String, Count)]) -> StoreResult<()> {
    let tx = conn.transaction()?;
    {
        let mut statement = tx.prepare_cached(
            "INSERT INTO activity (day, zone, source, counter, total) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(day, zone, source, counter) DO UPDATE SET total = max(total, excluded.total)",
        )?;
        for (satellite, c) in counts {
            if satellite.is_empty() {
                continue;
            }
            statement.execute(params![c.day, c.zone, satellite, c.counter, c.total as i64])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// A zone's counts over the days `[from, to)`: each counter's sum, and the satellites that
/// reported.
pub fn month(
    conn: &Connection,
    zone: &str,
    from: u32,
    to: u32,
) -> StoreResult<(BTreeMap<String, u64>, Vec<String>)> {
    let mut sums = BTreeMap::new();
    let mut statement = conn.prepare(
        "SELECT counter, sum(total) FROM activity WHERE zone = ?1 AND day >= ?2 AND day < ?3
         GROUP BY counter",
    )?;
    for row in statement.query_map(params![zone, from, to], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })? {
        let (counter, total) = row?;
        sums.insert(counter, total.max(0) as u64);
    }
    let mut statement = conn.prepare(
        "SELECT DISTINCT source FROM activity WHERE zone = ?1 AND day >= ?2 AND day < ?3
         AND source != ?4 ORDER BY source",
    )?;
    let satellites = statement
        .query_map(params![zone, from, to, REGISTRY], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok((sums, satellites))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(day: u32, counter: &str, total: u64) -> Count {
        Count {
            day,
            zone: "tld".into(),
            counter: counter.into(),
            total,
        }
    }

    #[test]
    fn registry_counts_add_up_and_satellite_totals_never_go_down() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::sqlite::open(&dir.path().join("r.sqlite")).unwrap();
        add(&mut conn, &[count(10, "srs-dom-check", 3)]).unwrap();
        add(
            &mut conn,
            &[count(10, "srs-dom-check", 4), count(11, "srs-dom-check", 1)],
        )
        .unwrap();
        let sat =
            |name: &str, day, total| (name.to_string(), count(day, "whois-43-queries", total));
        record_satellites(&mut conn, &[sat("a", 10, 50), sat("b", 10, 7)]).unwrap();
        // A late report of a smaller total changes nothing; a larger one replaces it.
        record_satellites(
            &mut conn,
            &[sat("a", 10, 40), sat("b", 10, 9), sat("", 10, 99)],
        )
        .unwrap();
        let (sums, satellites) = month(&conn, "tld", 10, 11).unwrap();
        assert_eq!(sums["srs-dom-check"], 7);
        assert_eq!(sums["whois-43-queries"], 59);
        assert_eq!(satellites, ["a", "b"]);
        let (sums, _) = month(&conn, "tld", 10, 12).unwrap();
        assert_eq!(sums["srs-dom-check"], 8);
        assert!(month(&conn, "other", 0, 100).unwrap().0.is_empty());
    }
}
