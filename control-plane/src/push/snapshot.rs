//! Full zones and WHOIS record sets at any serial, for new satellites and audits.
//!
//! The zone at the current serial comes from the database; any earlier serial is rebuilt by
//! replaying the journal from the zone's first serial ([`replay`], which the audit also uses).
//! [`export`] adds the .org plan's publication checks before anything is written: zonefiles'
//! zone checks must find no error, and a zone with fewer records than `min_ratio` times the
//! last one exported at an earlier serial is refused (a broken generation, a truncated database) until an operator
//! passes `force`. Every export's digest (the image's SHA-256) is recorded in the database.
//!
//! # Files
//!
//! - `<zone>-<serial>.img`: the compiled zone image (zonefiles' format), written to a temporary
//!   name, fsynced and renamed.
//! - `<zone>-<serial>.whois`: one JSON object per line, each a WHOIS object (domain, host or
//!   registrar) in zonefiles' record model, in key order; same atomic write.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rusqlite::Connection;
use zonefiles::whois::{Object, ObjectKey, WhoisOp};
use zonefiles::{Changeset, Class, Name, Zone};

use crate::model::ZoneSettings;
use crate::publish::{registrar_object, zone_records};
use crate::store::sqlite::{self, journal};
use crate::store::{Store, StoreError};

/// A zone and its WHOIS objects at one serial.
#[derive(Debug)]
pub struct Snapshot {
    /// The zone.
    pub zone: Zone,
    /// Its WHOIS objects, by key.
    pub whois: BTreeMap<ObjectKey, Object>,
    /// The serial.
    pub serial: u32,
}

/// The result of replaying a zone's journal.
#[derive(Debug)]
pub struct Replay {
    /// Where the replay stopped.
    pub snapshot: Snapshot,
    /// Changesets applied.
    pub changesets: usize,
    /// Gaps, bad signatures, changesets that do not decode or apply.
    pub problems: Vec<String>,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// Replays a zone's journal from its first serial up to `until` (or its end). `verify` is
/// called with each entry's key id, serials, bytes and signature and says if it is good.
pub fn replay(
    conn: &Connection,
    zone: &ZoneSettings,
    until: Option<u32>,
    mut verify: impl FnMut(&crate::model::JournalEntry) -> bool,
) -> Result<Replay, StoreError> {
    let entries = sqlite::journal_after(conn, &zone.origin, 0, usize::MAX)?;
    let start = entries.first().map_or(zone.serial, |(_, e)| e.from_serial);
    let mut base = zone.clone();
    base.serial = start;
    let origin = origin(zone)?;
    let (records, _) = zone_records(&base, std::iter::empty()).map_err(corrupt)?;
    let (mut replayed, _) = Zone::new(origin, Class::IN, records);
    let mut whois = BTreeMap::new();
    let mut serial = start;
    let mut problems = Vec::new();
    let mut changesets = 0;
    for (seq, entry) in &entries {
        if until == Some(serial) {
            break;
        }
        changesets += 1;
        if entry.from_serial != serial {
            problems.push(format!(
                "{}: journal entry #{seq} starts at serial {}, the previous ended at {serial}",
                zone.origin, entry.from_serial
            ));
        }
        serial = entry.to_serial;
        if !verify(entry) {
            problems.push(format!(
                "{}: journal entry #{seq} is not signed by a known key (key id {})",
                zone.origin, entry.key_id
            ));
        }
        let changeset = match Changeset::decode(&entry.changeset) {
            Ok(c) => c,
            Err(e) => {
                problems.push(format!(
                    "{}: journal entry #{seq} does not decode: {e}",
                    zone.origin
                ));
                continue;
            }
        };
        match zonefiles::apply(replayed.clone(), &changeset) {
            Ok(next) => replayed = next,
            Err(e) => problems.push(format!(
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
    Ok(Replay {
        snapshot: Snapshot {
            zone: replayed,
            whois,
            serial,
        },
        changesets,
        problems,
    })
}

fn origin(zone: &ZoneSettings) -> Result<Name, StoreError> {
    Name::from_text(format!("{}.", zone.origin).as_bytes(), None).map_err(|_| corrupt(&zone.origin))
}

/// The zone and WHOIS objects the database holds now.
pub fn current(conn: &Connection, zone: &ZoneSettings) -> Result<Snapshot, StoreError> {
    let domains = sqlite::zone_domains(conn, zone.id)?;
    let (records, mut objects) = zone_records(
        zone,
        domains.iter().map(|(d, c, iana)| (d, c.as_ref(), *iana)),
    )
    .map_err(corrupt)?;
    objects.extend(
        sqlite::registrars(conn)?
            .iter()
            .map(|r| Object::Registrar(registrar_object(r))),
    );
    let (zone_data, _) = Zone::new(origin(zone)?, Class::IN, records);
    Ok(Snapshot {
        zone: zone_data,
        whois: objects.into_iter().map(|o| (o.key(), o)).collect(),
        serial: zone.serial,
    })
}

/// A snapshot's two files: the compiled image, and the WHOIS objects as JSON lines.
pub fn files(snapshot: &Snapshot) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let (image, _) = zonefiles::image::compile(&snapshot.zone, |_| {})?;
    let mut lines = Vec::new();
    for object in snapshot.whois.values() {
        serde_json::to_writer(&mut lines, object)?;
        lines.push(b'\n');
    }
    Ok((image, lines))
}

/// What an export wrote.
#[derive(Debug)]
pub struct Exported {
    /// The image file.
    pub image: PathBuf,
    /// The WHOIS file.
    pub whois: PathBuf,
    /// The serial.
    pub serial: u32,
    /// Records in the zone.
    pub records: usize,
    /// WHOIS objects.
    pub objects: usize,
    /// SHA-256 of the image, hex.
    pub digest: String,
}

/// Exports a zone's image and WHOIS objects at `serial` (default: the current one) into `dir`,
/// after the publication checks.
pub fn export(
    conn: &Connection,
    origin_name: &str,
    serial: Option<u32>,
    dir: &Path,
    min_ratio: f64,
    force: bool,
) -> anyhow::Result<Exported> {
    let zone = conn
        .zones()?
        .into_iter()
        .find(|z| z.origin == origin_name)
        .with_context(|| format!("the registry runs no zone {origin_name}"))?;
    let snapshot = match serial {
        None => current(conn, &zone)?,
        Some(s) if s == zone.serial => current(conn, &zone)?,
        Some(s) => {
            let replay = replay(conn, &zone, Some(s), |_| true)?;
            if replay.snapshot.serial != s {
                bail!(
                    "{origin_name} never had serial {s} (its journal goes to {})",
                    replay.snapshot.serial
                );
            }
            replay.snapshot
        }
    };
    let findings = zonefiles::check(&snapshot.zone);
    if zonefiles::check::has_errors(&findings) {
        let first: Vec<String> = findings.iter().take(5).map(|f| f.to_string()).collect();
        bail!(
            "{origin_name} at serial {} fails its checks: {}",
            snapshot.serial,
            first.join("; ")
        );
    }
    let records = snapshot.zone.records().len();
    let last = journal::export_before(conn, origin_name, snapshot.serial)?;
    if let Some((last_serial, last_records)) = last
        && (records as f64) < last_records as f64 * min_ratio
        && !force
    {
        bail!(
            "{origin_name} at serial {} has {records} records, fewer than {:.0}% of the {last_records} exported at serial {last_serial}: refusing to publish it (check the database; --force publishes anyway)",
            snapshot.serial,
            min_ratio * 100.0
        );
    }
    let (image, lines) = files(&snapshot).with_context(|| format!("compiling {origin_name}"))?;
    let digest = data_encoding::HEXLOWER
        .encode(ring::digest::digest(&ring::digest::SHA256, &image).as_ref());
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let image_path = dir.join(format!("{origin_name}-{}.img", snapshot.serial));
    zonefiles::image::write_atomically(&image_path, &image)
        .with_context(|| format!("writing {}", image_path.display()))?;
    let whois_path = dir.join(format!("{origin_name}-{}.whois", snapshot.serial));
    zonefiles::image::write_atomically(&whois_path, &lines)
        .with_context(|| format!("writing {}", whois_path.display()))?;
    journal::record_export(
        conn,
        origin_name,
        snapshot.serial,
        (records, snapshot.whois.len()),
        &digest,
    )?;
    Ok(Exported {
        image: image_path,
        whois: whois_path,
        serial: snapshot.serial,
        records,
        objects: snapshot.whois.len(),
        digest,
    })
}
