//! The registry's self-check: the journal is gapless, every changeset is signed by a known key,
//! replaying the journal from each zone's first serial gives exactly the zone and WHOIS data the
//! database holds now, and every registrar's balance is the sum of its ledger.
//!
//! `control-plane audit` runs it; the crash tests run it after every restart.

use std::collections::BTreeMap;

use rusqlite::Connection;
use zonefiles::whois::{Object, ObjectKey, WhoisOp};
use zonefiles::{Changeset, Class, Name, Zone};

use crate::registry::{self, zone_records};
use crate::signing;
use crate::sqlite;
use crate::store::Store;

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
pub fn run(conn: &Connection, keys: &[Vec<u8>]) -> Result<Report, crate::store::StoreError> {
    let mut report = Report::default();
    let known: BTreeMap<String, &[u8]> = keys
        .iter()
        .map(|k| (signing::key_id(k), k.as_slice()))
        .collect();
    let registrars = sqlite::registrars(conn)?;
    for zone in conn.zones()? {
        let entries = sqlite::journal_after(conn, &zone.origin, 0, usize::MAX)?;
        let start = entries.first().map_or(zone.serial, |(_, e)| e.from_serial);
        let mut base = zone.clone();
        base.serial = start;
        let origin = Name::from_text(format!("{}.", zone.origin).as_bytes(), None)
            .map_err(|_| crate::store::StoreError::Corrupt(zone.origin.clone()))?;
        let publish = |e: registry::PublishError| crate::store::StoreError::Corrupt(e.to_string());
        let (records, _) = zone_records(&base, std::iter::empty()).map_err(publish)?;
        let (mut replayed, _) = Zone::new(origin.clone(), Class::IN, records);
        let mut whois: BTreeMap<ObjectKey, Object> = BTreeMap::new();
        let mut serial = start;
        for (seq, entry) in &entries {
            report.changesets += 1;
            if entry.from_serial != serial {
                report.problems.push(format!(
                    "{}: journal entry #{seq} starts at serial {}, the previous ended at {serial}",
                    zone.origin, entry.from_serial
                ));
            }
            serial = entry.to_serial;
            match known.get(&entry.key_id) {
                Some(key)
                    if signing::verify_changeset(
                        key,
                        &entry.zone,
                        entry.from_serial,
                        entry.to_serial,
                        &entry.changeset,
                        &entry.signature,
                    ) => {}
                _ => report.problems.push(format!(
                    "{}: journal entry #{seq} is not signed by a known key (key id {})",
                    zone.origin, entry.key_id
                )),
            }
            let changeset = match Changeset::decode(&entry.changeset) {
                Ok(c) => c,
                Err(e) => {
                    report.problems.push(format!(
                        "{}: journal entry #{seq} does not decode: {e}",
                        zone.origin
                    ));
                    continue;
                }
            };
            match zonefiles::apply(replayed.clone(), &changeset) {
                Ok(next) => replayed = next,
                Err(e) => report.problems.push(format!(
                    "{}: journal entry #{seq} does not apply: {e}",
                    zone.origin
                )),
            }
            for op in changeset.whois {
                match op {
                    WhoisOp::Set(object) => {
                        whois.insert(object.key(), object);
                    }
                    WhoisOp::Delete(key) => {
                        whois.remove(&key);
                    }
                }
            }
        }
        if serial != zone.serial {
            report.problems.push(format!(
                "{}: the journal ends at serial {serial}, the zone is at {}",
                zone.origin, zone.serial
            ));
        }
        let domains = sqlite::zone_domains(conn, zone.id)?;
        report.domains += domains.len();
        let (records, mut objects) = zone_records(
            &zone,
            domains.iter().map(|(d, c, iana)| (d, c.as_ref(), *iana)),
        )
        .map_err(publish)?;
        objects.extend(
            registrars
                .iter()
                .map(|r| Object::Registrar(registry::registrar_object(r))),
        );
        let (expected, _) = Zone::new(origin, Class::IN, records);
        if let Some(problem) = difference(
            &format!("{} DNS records", zone.origin),
            replayed.records(),
            expected.records(),
        ) {
            report.problems.push(problem);
        }
        let expected: BTreeMap<ObjectKey, Object> =
            objects.into_iter().map(|o| (o.key(), o)).collect();
        let journal: Vec<_> = whois.into_iter().collect();
        let database: Vec<_> = expected.into_iter().collect();
        if let Some(problem) = difference(
            &format!("{} WHOIS objects", zone.origin),
            &journal,
            &database,
        ) {
            report.problems.push(problem);
        }
    }
    for registrar in &registrars {
        let sum: i64 = conn
            .prepare_cached("SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE registrar = ?1")?
            .query_row([registrar.id], |r| r.get(0))?;
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
