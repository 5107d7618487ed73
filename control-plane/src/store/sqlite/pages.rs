//! What the registrars' web page reads ([`crate::web`]): one registrar's domains, a page at a
//! time, its unread messages and its ledger, and the registry's notices. Every read takes the
//! registrar, so no query can reach another registrar's rows.

use rusqlite::{Connection, OptionalExtension, params};

use super::{DOMAIN_COLUMNS, corrupt, domain_row, parse_ds};
use crate::model::{Domain, LedgerEntry, LedgerKind};
use crate::store::StoreResult;

/// `%text%` for LIKE, with LIKE's own characters escaped (`\`).
fn containing(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Up to `limit` of a registrar's domains whose names contain `contains`, in name order
/// after `after` (keyset paging: every page costs the same, however deep).
pub fn domains_of(
    conn: &Connection,
    registrar: u32,
    contains: &str,
    after: &str,
    limit: usize,
) -> StoreResult<Vec<Domain>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {DOMAIN_COLUMNS} FROM domains WHERE registrar = ?1 AND name > ?2
           AND name LIKE ?3 ESCAPE '\\' ORDER BY name LIMIT ?4"
    ))?;
    let rows = statement.query_map(
        params![registrar, after, containing(contains), limit as i64],
        domain_row,
    )?;
    rows.map(|row| {
        let (mut domain, ds) = row?;
        domain.ds = parse_ds(&ds)?;
        Ok(domain)
    })
    .collect()
}

/// How many of a registrar's domains contain `contains`.
pub fn count_domains_of(conn: &Connection, registrar: u32, contains: &str) -> StoreResult<u64> {
    let count: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM domains WHERE registrar = ?1 AND name LIKE ?2 ESCAPE '\\'",
        )?
        .query_row(params![registrar, containing(contains)], |r| r.get(0))?;
    Ok(count as u64)
}

/// The active registrar that pinned the client certificate with this pin, if one did.
pub fn registrar_by_pin(conn: &Connection, pin: &str) -> StoreResult<Option<u32>> {
    Ok(conn
        .prepare_cached("SELECT id FROM registrars WHERE certificate = ?1 AND active = 1")?
        .query_row([pin], |r| r.get(0))
        .optional()?)
}

/// A message as the page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    /// Its id (what EPP's poll acknowledges).
    pub id: i64,
    /// When it was queued.
    pub at: i64,
    /// What happened.
    pub text: String,
    /// The domain it is about.
    pub domain: Option<String>,
}

/// A registrar's unacknowledged messages, oldest first, at most `limit`.
pub fn messages_of(conn: &Connection, registrar: u32, limit: usize) -> StoreResult<Vec<Unread>> {
    let mut statement = conn.prepare_cached(
        "SELECT id, at, text, domain FROM messages WHERE registrar = ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = statement.query_map(params![registrar, limit as i64], |r| {
        Ok(Unread {
            id: r.get(0)?,
            at: r.get(1)?,
            text: r.get(2)?,
            domain: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A registrar's ledger lines from `from` to `to` (seconds), in order; with `page`, at most
/// that many after the line with id `after`, each with its id (a statement page). Lines are
/// appended in time order, so time-then-id order is id order, and the registrar's covering
/// index (`ledger_by_registrar`) serves the page and [`ledger_summary`] without the table.
pub fn ledger_of(
    conn: &Connection,
    registrar: u32,
    from: i64,
    to: i64,
    page: Option<(i64, usize)>,
) -> StoreResult<Vec<(i64, LedgerEntry)>> {
    let (after, limit) = page.unwrap_or((0, usize::MAX >> 1));
    let mut statement = conn.prepare_cached(
        "SELECT id, at, kind, domain, amount, balance FROM ledger
         WHERE registrar = ?1 AND at >= ?2 AND at < ?3 AND id > ?4 ORDER BY at, id LIMIT ?5",
    )?;
    let rows = statement.query_map(params![registrar, from, to, after, limit as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, i64>(5)?,
        ))
    })?;
    rows.map(|row| {
        let (id, at, kind, domain, amount, balance) = row?;
        Ok((
            id,
            LedgerEntry {
                at,
                registrar,
                kind: LedgerKind::parse(&kind)
                    .ok_or_else(|| corrupt(format!("ledger kind {kind:?}")))?,
                domain,
                amount,
                balance,
            },
        ))
    })
    .collect()
}

/// A registrar's month at a glance: its ledger lines, their sum, and the balance before the
/// first and after the last (none without lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Ledger lines.
    pub lines: u64,
    /// Their sum, in cents.
    pub total: i64,
    /// The balance before the first and after the last.
    pub balances: Option<(i64, i64)>,
}

/// The summary of a registrar's ledger lines from `from` to `to`.
pub fn ledger_summary(
    conn: &Connection,
    registrar: u32,
    from: i64,
    to: i64,
) -> StoreResult<Summary> {
    let (lines, total): (i64, Option<i64>) = conn
        .prepare_cached(
            "SELECT count(*), sum(amount) FROM ledger WHERE registrar = ?1 AND at >= ?2 AND at < ?3",
        )?
        .query_row(params![registrar, from, to], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let edge = |order: &str| -> StoreResult<Option<(i64, i64)>> {
        Ok(conn
            .prepare_cached(&format!(
                "SELECT amount, balance FROM ledger WHERE registrar = ?1 AND at >= ?2 AND at < ?3
                 ORDER BY at {order}, id {order} LIMIT 1"
            ))?
            .query_row(params![registrar, from, to], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    };
    let balances = match (edge("ASC")?, edge("DESC")?) {
        (Some((amount, balance)), Some((_, last))) => Some((balance - amount, last)),
        _ => None,
    };
    Ok(Summary {
        lines: lines as u64,
        total: total.unwrap_or(0),
        balances,
    })
}

/// A notice of the registry to its registrars (a maintenance window, a policy change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Its id.
    pub id: i64,
    /// From when it applies.
    pub from: i64,
    /// Until when (none: until removed).
    pub until: Option<i64>,
    /// What it says.
    pub text: String,
}

/// Notices not yet over at `now`, soonest first.
pub fn notices(conn: &Connection, now: i64) -> StoreResult<Vec<Notice>> {
    let mut statement = conn.prepare_cached(
        "SELECT id, starts, ends, text FROM notices WHERE ends IS NULL OR ends > ?1
         ORDER BY starts, id",
    )?;
    let rows = statement.query_map([now], |r| {
        Ok(Notice {
            id: r.get(0)?,
            from: r.get(1)?,
            until: r.get(2)?,
            text: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Posts a notice; returns its id.
pub fn add_notice(
    conn: &Connection,
    from: i64,
    until: Option<i64>,
    text: &str,
) -> StoreResult<i64> {
    conn.execute(
        "INSERT INTO notices (starts, ends, text) VALUES (?1, ?2, ?3)",
        params![from, until, text],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Removes a notice; false if there was none with that id.
pub fn remove_notice(conn: &Connection, id: i64) -> StoreResult<bool> {
    Ok(conn.execute("DELETE FROM notices WHERE id = ?1", [id])? == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_match_the_text_itself() {
        assert_eq!(containing("a_b%c\\"), "%a\\_b\\%c\\\\%");
    }
}
