//! Publication holds: a zone whose changes the push service holds back after a failed check
//! ([`crate::push::guard`]), and the operator's decision. One row per zone, the latest hold;
//! the push service writes a hold, `control-plane publication release|discard` decides it, and
//! the running push service picks the decision up within a second.

use rusqlite::{Connection, params};

use crate::store::StoreResult;

/// Where a zone's latest hold stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Satellites get nothing after [`Hold::serial`].
    Held,
    /// The operator let the held changes through.
    Released,
    /// The operator discarded the held states: satellites at [`Hold::serial`] move on by a
    /// snapshot at [`Hold::until`] or later, never through the changesets in between.
    Discarded,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Held => "held",
            State::Released => "released",
            State::Discarded => "discarded",
        }
    }

    fn parse(text: &str) -> State {
        match text {
            "released" => State::Released,
            "discarded" => State::Discarded,
            _ => State::Held,
        }
    }
}

/// A zone's latest hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// The zone.
    pub zone: String,
    /// Where it stands.
    pub state: State,
    /// The last serial published before the hold.
    pub serial: u32,
    /// For a discarded hold, the serial from which satellites were sent on.
    pub until: Option<u32>,
    /// When the zone was held.
    pub since: i64,
    /// What the check found.
    pub reason: String,
    /// The zone's delegation NS records when the check's window began.
    pub size: u64,
    /// Who decided, and when.
    pub decided: Option<(String, i64)>,
}

impl Hold {
    /// True if the changeset from `serial` must not be sent: the zone is held there or after.
    pub fn blocks(&self, serial: u32) -> bool {
        self.state == State::Held && !zonefiles::serial::is_after(self.serial, serial)
    }

    /// True if a satellite at `serial` must skip to a snapshot: a discarded hold's serial, or
    /// one of the states discarded after it.
    pub fn skips(&self, serial: u32) -> bool {
        self.state == State::Discarded
            && !zonefiles::serial::is_after(self.serial, serial)
            && self
                .until
                .is_some_and(|until| zonefiles::serial::is_after(until, serial))
    }
}

/// Every zone's latest hold.
pub fn all(conn: &Connection) -> StoreResult<Vec<Hold>> {
    let mut statement = conn.prepare(
        "SELECT zone, state, serial, until_serial, since, reason, size, decided_by, decided_at
         FROM publication_holds ORDER BY zone",
    )?;
    let rows = statement.query_map([], |r| {
        let by: Option<String> = r.get(7)?;
        let at: Option<i64> = r.get(8)?;
        Ok(Hold {
            zone: r.get(0)?,
            state: State::parse(&r.get::<_, String>(1)?),
            serial: r.get(2)?,
            until: r.get(3)?,
            since: r.get(4)?,
            reason: r.get(5)?,
            size: r.get::<_, i64>(6)? as u64,
            decided: by.zip(at),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records that `zone` is held at `serial` (replacing its last hold).
pub fn hold(
    conn: &Connection,
    zone: &str,
    serial: u32,
    since: i64,
    reason: &str,
    size: u64,
) -> StoreResult<()> {
    conn.execute(
        "INSERT OR REPLACE INTO publication_holds (zone, state, serial, since, reason, size)
         VALUES (?1, 'held', ?2, ?3, ?4, ?5)",
        params![zone, serial, since, reason, size as i64],
    )?;
    Ok(())
}

/// Decides a zone's hold, if it is held: released, or discarded up to `until`. False if the
/// zone was not held.
pub fn decide(
    conn: &Connection,
    zone: &str,
    state: State,
    until: Option<u32>,
    by: &str,
    at: i64,
) -> StoreResult<bool> {
    let changed = conn.execute(
        "UPDATE publication_holds SET state = ?2, until_serial = ?3, decided_by = ?4, decided_at = ?5
         WHERE zone = ?1 AND state = 'held'",
        params![zone, state.as_str(), until, by, at],
    )?;
    Ok(changed == 1)
}

/// A zone's delegation NS records now: one per name server of every domain in the DNS (not
/// held, not deleted).
pub fn delegation_ns(conn: &Connection, zone: &str) -> StoreResult<u64> {
    let count: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM domains d JOIN cluster_nameservers n ON n.cluster = d.cluster
             WHERE d.zone = (SELECT id FROM zones WHERE origin = ?1) AND d.deleted IS NULL
               AND d.statuses NOT LIKE '%Hold%'",
        )?
        .query_row([zone], |r| r.get(0))?;
    Ok(count as u64)
}

/// A zone's latest hold, if any.
pub fn of(conn: &Connection, zone: &str) -> StoreResult<Option<Hold>> {
    Ok(all(conn)?.into_iter().find(|h| h.zone == zone))
}
