//! The registry's self-check: the journal is gapless, every changeset is signed by a known key,
//! replaying the journal from each zone's first serial gives exactly the zone and WHOIS data the
//! database holds now, and every registrar's balance is the sum of its ledger.
//!
//! `control-plane audit` runs it; the crash tests run it after every restart.

use std::collections::BTreeMap;

use rusqlite::Connection;

use crate::publish::signing;
use crate::push::snapshot::{self, Replay};
use crate::registry;
use crate::store::sqlite;
use crate::store::{Store, StoreError};

/// What an audit found.
#[derive(Debug, Default)]
pub struct Report {
    /// Changesets checked.
    pub changesets: usize,
    /// Domains compared.
    pub domains: usize,
    /// Every disagreement, in words.
    pub problems: Vec<String>,
}

fn difference<T: std::fmt::Debug + PartialEq>(
    what: &str,
    journal: &[T],
    database: &[T],
) -> Option<String> {
    if journal == database {
        return None;
    }
    let first = journal
        .iter()
        .zip(database)
        .position(|(a, b)| a != b)
        .unwrap_or(journal.len().min(database.len()));
    Some(format!(
        "{what}: the journal gives {} items, the database {}; first difference at {first}: journal {:?}, database {:?}",
        journal.len(),
        database.len(),
        journal.get(first),
        database.get(first)
    ))
}

/// Audits the whole registry; `keys` are the public keys changesets may be signed with.
pub fn run(conn: &Connection, keys: &[Vec<u8>]) -> Result<Report, StoreError> {
    let mut report = Report::default();
    let known: BTreeMap<String, &[u8]> = keys
        .iter()
        .map(|k| (signing::key_id(k), k.as_slice()))
        .collect();
    for zone in conn.zones()? {
        let Replay {
            snapshot: replayed,
            changesets,
            problems,
        } = snapshot::replay(conn, &zone, None, |e| {
            known.get(&e.key_id).is_some_and(|key| e.signed_by(key))
        })?;
        report.changesets += changesets;
        report.problems.extend(problems);
        if replayed.serial != zone.serial {
            report.problems.push(format!(
                "{}: the journal ends at serial {}, the zone is at {}",
                zone.origin, replayed.serial, zone.serial
            ));
        }
        let current = snapshot::current(conn, &zone)?;
        report.domains += current
            .whois
            .keys()
            .filter(|k| matches!(k, zonefiles::whois::ObjectKey::Domain(_)))
            .count();
        if let Some(problem) = difference(
            &format!("{} DNS records", zone.origin),
            replayed.zone.records(),
            current.zone.records(),
        ) {
            report.problems.push(problem);
        }
        let journal: Vec<_> = replayed.whois.into_iter().collect();
        let database: Vec<_> = current.whois.into_iter().collect();
        if let Some(problem) = difference(
            &format!("{} WHOIS objects", zone.origin),
            &journal,
            &database,
        ) {
            report.problems.push(problem);
        }
    }
    for registrar in sqlite::registrars(conn)? {
        let sum = sqlite::journal::ledger_sum(conn, registrar.id)?;
        if sum != registrar.balance {
            report.problems.push(format!(
                "registrar {}: balance {} but the ledger sums to {}",
                registrar.id,
                registry::money(registrar.balance),
                registry::money(sum)
            ));
        }
    }
    Ok(report)
}
