//! The operator's DNSSEC actions on a zone (`control-plane dnssec`): sign it, stop signing it,
//! sign it whole again, and its keys' state.
//!
//! Turning signing on ([`set`]) never holds registrar writes for the whole signing: the
//! signing itself happens in read transactions (WAL snapshots: writers go on), and only
//! storing its results takes the write lock, in short transactions with a gap for registrar
//! writes after each:
//!
//! ```text
//! 1. sign     read transaction (a snapshot at serial s): the zone signed whole in memory
//! 2. store    the records, STORED_PER_TRANSACTION to a write transaction, unpublished
//!             (`dnssec_building` notes the zone and s; snapshots and audits leave them out)
//! 3. catch up while the journal holds more than FINAL_CATCH_UP RRsets changed since s:
//!             the incremental signer over them in a read transaction, its edit stored in a
//!             write transaction that moves s on (at most CATCH_UP_ROUNDS rounds)
//! 4. publish  one write transaction: the last catch-up, the zone signed, and one changeset
//!             carrying every DNSSEC record of the zone
//! ```
//!
//! Cost: the signing's memory is the zone's (1.2 GB at a million registrations); the longest
//! hold of the write lock is the last step, which grows with the zone's DNSSEC records
//! (0.6 s for 150,000). The registry record carries the stored records once, in the last
//! step's record (the storing transactions but the first forget their notes).
//!
//! A kill at any point leaves the zone unsigned as satellites know it, and the next `on`
//! starts over (what the killed one stored is removed first). Once signed, each change is
//! signed as part of its commit ([`crate::publish::dnssec`]). A signed zone moved to another
//! denial, or signed again, is signed whole in one transaction. Turning signing off publishes
//! the zone without its DNSSEC records (its DS at the parent must be gone first, or the zone
//! goes bogus).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, bail};
use rusqlite::{Connection, TransactionBehavior};
use zonefiles::sign::Denial;
use zonefiles::sign::incremental::Edit;
use zonefiles::sign::keys::ZoneKey;
use zonefiles::{Name, Record, RecordType};

use crate::model::ZoneSettings;
use crate::publish::Publication;
use crate::publish::dnssec::{ZoneKeys, catch_up, sign_zone_whole};
use crate::publish::signing::Signer;
use crate::store::Store;
use crate::store::sqlite::{immediate, journal, record};

/// DNSSEC records stored by one transaction while signing is turned on: a few tens of
/// milliseconds of a writer's time.
pub const STORED_PER_TRANSACTION: usize = 1_000;

/// Changed RRsets few enough for the catch-up round that also publishes.
pub const FINAL_CATCH_UP: usize = 2_000;

/// Catch-up rounds after which the one that publishes catches up whatever is left.
const CATCH_UP_ROUNDS: usize = 8;

/// Where turning signing on is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Reading the zone and signing it whole (no write held).
    Signing,
    /// Records stored so far, of all.
    Storing {
        /// Stored.
        done: usize,
        /// In all.
        total: usize,
    },
    /// A catch-up round over this many RRsets changed meanwhile.
    CatchingUp {
        /// Changed RRsets.
        changed: usize,
    },
}

/// Signs `zone` with `denial` (a zone not signed yet is signed in steps, see the module docs;
/// a signed one moved to another denial is signed whole in one transaction), or (`None`) stops
/// signing it; returns the serial published. `progress` hears each step.
pub fn set(
    conn: &mut Connection,
    signer: &Signer,
    zone: &str,
    denial: Option<&Denial>,
    now: i64,
    progress: &mut dyn FnMut(Step),
) -> anyhow::Result<u32> {
    let id = zone_id(conn, zone)?;
    if let (Some(denial), None) = (denial, conn.zone_denial(id)?) {
        let keys = signer.zone_keys().with_context(|| {
            format!("no zone keys are configured ([dnssec] keys) to sign {zone}")
        })?;
        return turn_on(conn, signer, keys, id, denial, now, progress);
    }
    immediate(conn, |conn| {
        if denial.is_none() && conn.dnssec_building(id)?.is_some() {
            // Signing being turned on, never published: nothing to take back.
            conn.set_dnssec_building(id, None)?;
            conn.clear_dnssec(id)?;
        }
        conn.set_zone_denial(id, denial)?;
        let mut publication = Publication::new();
        publication.sign_whole(id);
        let entries = publication.finish(conn, now, signer)?;
        Ok(entries.last().map_or(0, |e| e.to_serial))
    })
}

/// Turns signing on for a zone not signed yet (the module docs' three steps).
fn turn_on(
    conn: &mut Connection,
    signer: &Signer,
    keys: &ZoneKeys,
    id: i64,
    denial: &Denial,
    now: i64,
    progress: &mut dyn FnMut(Step),
) -> anyhow::Result<u32> {
    progress(Step::Signing);
    let (serial, records, names) = {
        let read = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let zone = settings(&read, id)?;
        let (records, names) = sign_zone_whole(&*read, keys, &zone, denial, now)?;
        (zone.serial, records, names)
    };
    let total = records.len();
    progress(Step::Storing { done: 0, total });
    for (n, chunk) in records.chunks(STORED_PER_TRANSACTION).enumerate() {
        patiently(conn, |conn| {
            if n == 0 {
                if conn.zone_denial(id)?.is_some() {
                    bail!("the zone was signed meanwhile (another `dnssec on`?)");
                }
                conn.clear_dnssec(id)?;
                conn.set_dnssec_building(id, Some((denial, serial)))?;
            } else if conn.dnssec_building(id)?.is_none() {
                bail!("signing was turned off meanwhile");
            }
            conn.edit_dnssec(id, &stored(chunk, &names))?;
            if n > 0 {
                // Not in the registry record row by row: the transaction that publishes
                // records every row of the zone's at once. The first is (with the removal
                // of what an earlier attempt left, and the note that signing is begun).
                record::forget(conn)?;
            }
            Ok(())
        })?;
        progress(Step::Storing {
            done: (n * STORED_PER_TRANSACTION + chunk.len()).min(total),
            total,
        });
    }
    drop((records, names));
    // Catch-up rounds: each signs what changed in a read transaction, then stores the edit
    // in a short write transaction, until few changes are left.
    for _ in 0..CATCH_UP_ROUNDS {
        let (since, serial, changed, edit) = {
            let read = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let Some((_, since)) = read.dnssec_building(id)? else {
                bail!("signing was turned off meanwhile");
            };
            let zone = settings(&read, id)?;
            let changed = changed_since(&read, &zone, since)?;
            if changed.len() <= FINAL_CATCH_UP {
                break;
            }
            progress(Step::CatchingUp {
                changed: changed.len(),
            });
            let edit = catch_up(&*read, keys, &zone, denial, &changed, now)?;
            (since, zone.serial, changed.len(), edit)
        };
        patiently(conn, |conn| {
            if conn.dnssec_building(id)?.map(|(_, s)| s) != Some(since) {
                bail!("another `dnssec on` or `off` ran meanwhile");
            }
            conn.edit_dnssec(id, &edit)?;
            conn.set_dnssec_building(id, Some((denial, serial)))?;
            Ok(())
        })?;
        tracing::debug!(changed, "caught up");
    }
    // The last round, with the publication, in one transaction.
    patiently(conn, |conn| {
        let Some((_, since)) = conn.dnssec_building(id)? else {
            bail!("signing was turned off meanwhile");
        };
        let zone = settings(conn, id)?;
        let changed = changed_since(conn, &zone, since)?;
        progress(Step::CatchingUp {
            changed: changed.len(),
        });
        let edit = catch_up(conn, keys, &zone, denial, &changed, now)?;
        conn.edit_dnssec(id, &edit)?;
        conn.set_dnssec_building(id, None)?;
        conn.set_zone_denial(id, Some(denial))?;
        // The records stored unrecorded (see [`stored`]) go in this transaction's record.
        record::note_rows(conn, "dnssec_records", "zone", id)?;
        let mut publication = Publication::new();
        publication.publish_first_signing(id);
        let entries = publication.finish(conn, now, signer)?;
        Ok(entries.last().map_or(0, |e| e.to_serial))
    })
}

/// Every RRset of the zone changed since `since`.
fn changed_since(
    conn: &Connection,
    zone: &ZoneSettings,
    since: u32,
) -> anyhow::Result<BTreeSet<(Name, RecordType)>> {
    if zone.serial == since {
        return Ok(BTreeSet::new());
    }
    journal::changed_since(conn, &zone.origin, since)?.with_context(|| {
        format!("the journal no longer holds serial {since}: run `dnssec on` again")
    })
}

/// How long a step waits for registrar writes to let it in.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);

/// One step in its own write transaction, tried again while the database stays busy (a
/// commit thread under load can hold the lock past one busy timeout, and SQLite's lock waits
/// in no queue), then a gap for registrar writes.
fn patiently<T>(
    conn: &mut Connection,
    mut step: impl FnMut(&mut Connection) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let began = std::time::Instant::now();
        match immediate(conn, &mut step) {
            Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                tracing::info!("the database is busy with registrar writes: trying again");
            }
            done => {
                // Registrar writes waiting for the lock poll for it at up to 100 ms
                // intervals: leave them a gap as long as the step held it, so that steps
                // back to back do not starve them.
                std::thread::sleep(began.elapsed().clamp(YIELD, 4 * YIELD));
                return done;
            }
        }
    }
}

/// The shortest gap left to registrar writes after a step.
const YIELD: std::time::Duration = std::time::Duration::from_millis(25);

fn is_busy(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<rusqlite::Error>()
        .and_then(|e| e.sqlite_error_code())
        == Some(rusqlite::ErrorCode::DatabaseBusy)
}

/// One transaction's share of the records signing whole made.
fn stored(chunk: &[Record], names: &BTreeMap<Name, Name>) -> Edit {
    Edit {
        removed: Vec::new(),
        added: chunk.to_vec(),
        names: chunk
            .iter()
            .filter_map(|r| names.get_key_value(&r.owner))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// Signs a signed zone whole again (after keys were replaced by hand, or to refresh every
/// signature at once); returns the serial published.
pub fn resign(conn: &mut Connection, signer: &Signer, zone: &str, now: i64) -> anyhow::Result<u32> {
    let denial = conn
        .zone_denial(zone_id(conn, zone)?)?
        .with_context(|| format!("{zone} is not signed (control-plane dnssec on {zone})"))?;
    set(conn, signer, zone, Some(&denial), now, &mut |_| {})
}

fn settings(conn: &Connection, id: i64) -> anyhow::Result<ZoneSettings> {
    conn.zones()?
        .into_iter()
        .find(|z| z.id == id)
        .context("the zone was removed meanwhile")
}

fn zone_id(conn: &Connection, zone: &str) -> anyhow::Result<i64> {
    conn.zones()?
        .into_iter()
        .find(|z| z.origin.as_str() == zone)
        .map(|z| z.id)
        .with_context(|| format!("there is no zone {zone} (control-plane zone list)"))
}

/// A key's state at `now`, in the words of RFC 7583.
pub fn key_state(key: &ZoneKey, now: u64) -> &'static str {
    let t = &key.timing;
    if !t.published(now) {
        return match t.publish.is_some_and(|p| now < p) {
            true => "generated (not yet published)",
            false => "removed",
        };
    }
    if t.active(now) {
        return "active";
    }
    match t.activate.is_some_and(|a| now < a) {
        true => "published (not yet signing)",
        false => "retired (published, no longer signing)",
    }
}
