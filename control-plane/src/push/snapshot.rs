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
use std::io::{Seek, Write};
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
    let (mut records, mut objects) = zone_records(
        zone,
        domains.iter().map(|(d, c, iana)| (d, c.as_ref(), *iana)),
    )
    .map_err(corrupt)?;
    records.extend(sqlite::dnssec::published(conn, zone.id)?);
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

/// Writes a snapshot's compiled zone image (zonefiles' format) to `out`.
pub fn write_image(snapshot: &Snapshot, out: &mut impl Write) -> std::io::Result<()> {
    let zone = &snapshot.zone;
    zonefiles::image::compile_nodes(zone.origin(), zone.class(), zone, |_| {})
        .map_err(std::io::Error::other)?
        .write_to(out)
}

/// Writes a snapshot's WHOIS objects to `out`: one JSON object per line, in key order.
pub fn write_whois(snapshot: &Snapshot, out: &mut impl Write) -> std::io::Result<()> {
    for object in snapshot.whois.values() {
        serde_json::to_writer(&mut *out, object)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Reads a zone as the database holds it now, a domain at a time: its records into sorted runs
/// in unnamed files in `spill` (returned, to be merged back in canonical order), its WHOIS
/// objects and every registrar's handed to `object` as they come.
fn read_current(
    conn: &Connection,
    zone: &ZoneSettings,
    spill: &Path,
    mut object: impl FnMut(Object) -> Result<(), StoreError>,
) -> anyhow::Result<zonefiles::spill::Runs> {
    let mut runs = zonefiles::spill::RunWriter::new(spill);
    for record in crate::publish::apex_records(zone)? {
        runs.push(record)?;
    }
    sqlite::for_each_zone_domain(conn, zone.id, |domain, cluster, iana_id| {
        let (records, objects) =
            crate::publish::domain_output(zone, &domain, cluster, iana_id).map_err(corrupt)?;
        for record in records {
            runs.push(record).map_err(corrupt)?;
        }
        objects.into_iter().try_for_each(&mut object)
    })?;
    for record in sqlite::dnssec::published(conn, zone.id)? {
        runs.push(record)?;
    }
    for registrar in sqlite::registrars(conn)? {
        object(Object::Registrar(registrar_object(&registrar)))?;
    }
    Ok(runs.finish()?)
}

/// What [`write_current`] wrote.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    /// The serial.
    pub serial: u32,
    /// Bytes of the image, first.
    pub image_len: u64,
    /// Bytes of WHOIS lines, after it.
    pub whois_len: u64,
}

/// Writes the snapshot of a zone as the database holds it now (call it inside one read
/// transaction) to `out`: the compiled image, then the WHOIS objects as JSON lines — the
/// bytes [`write_image`] and [`write_whois`] write for [`current`], without holding the zone.
/// Domains are read one at a time; their records go to sorted runs in unnamed files in
/// `spill` and are compiled node by node as they are merged back (`zonefiles::spill`), and
/// their objects to an unnamed file copied after the image. What it holds is the image being
/// compiled and a run of records, not the registry.
pub fn write_current(
    conn: &Connection,
    zone: &ZoneSettings,
    spill: &Path,
    out: &mut impl Write,
) -> anyhow::Result<Written> {
    let whois_file = tempfile::tempfile_in(spill)
        .with_context(|| format!("a temporary file in {}", spill.display()))?;
    let mut whois = std::io::BufWriter::with_capacity(1 << 20, &whois_file);
    let runs = read_current(conn, zone, spill, |object| {
        serde_json::to_writer(&mut whois, &object).map_err(corrupt)?;
        whois.write_all(b"\n").map_err(corrupt)
    })?;
    whois.flush()?;
    drop(whois);
    let origin = origin(zone)?;
    let nodes = zonefiles::spill::RunNodes::new(&runs);
    let compiled = zonefiles::image::compile_nodes(&origin, Class::IN, nodes, |_| {})?;
    let image_len = compiled.stats.bytes;
    compiled.write_to(out)?;
    drop(compiled);
    let mut whois_file = whois_file;
    whois_file.seek(std::io::SeekFrom::Start(0))?;
    let whois_len = std::io::copy(&mut whois_file, out)?;
    Ok(Written {
        serial: zone.serial,
        image_len,
        whois_len,
    })
}

/// The state digest (`satellite_protocol::digest`) of a zone as the database holds it now
/// (call it inside one read transaction), read as [`write_current`] reads: the domains one at
/// a time, the records through sorted runs in `spill` so that they are summed as a zone
/// normalizes them, the objects summed as they come. What [`current`] and
/// `satellite_protocol::digest::of` give, without holding the zone.
pub fn digest_current(
    conn: &Connection,
    zone: &ZoneSettings,
    spill: &Path,
) -> anyhow::Result<[u8; 32]> {
    use satellite_protocol::digest;
    use zonefiles::image::Nodes;
    let mut objects = digest::Sum::default();
    let runs = read_current(conn, zone, spill, |object| {
        digest::add_object(&mut objects, &object);
        Ok(())
    })?;
    let mut records = digest::Sum::default();
    zonefiles::spill::RunNodes::new(&runs).each_node(&mut |node| {
        for record in node {
            digest::add_record(&mut records, record);
        }
        Ok(())
    })?;
    Ok(digest::finish(
        &zone.origin,
        zone.serial,
        &records,
        &objects,
    ))
}

/// A writer that passes bytes on, counting them and computing their SHA-256.
pub struct Hashing<W> {
    inner: W,
    digest: ring::digest::Context,
    len: u64,
}

impl<W: Write> Hashing<W> {
    /// Hashes what is written to `inner`.
    pub fn new(inner: W) -> Hashing<W> {
        Hashing {
            inner,
            digest: ring::digest::Context::new(&ring::digest::SHA256),
            len: 0,
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True before anything was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The SHA-256 of everything written.
    pub fn finish(self) -> [u8; 32] {
        self.digest.finish().as_ref().try_into().expect("32 octets")
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(bytes)?;
        self.digest.update(&bytes[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
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

/// The checks a zone passes before it is published (exported, or written as a zone file):
/// zonefiles' zone checks find no error and, if it is signed and `signatures`, every signature
/// verifies and is valid now (`zonefiles::sign::verify`).
pub fn publication_checks(zone: &Zone, signatures: bool) -> anyhow::Result<()> {
    let findings = zonefiles::check(zone);
    if zonefiles::check::has_errors(&findings) {
        let first: Vec<String> = findings.iter().take(5).map(|f| f.to_string()).collect();
        bail!("fails its checks: {}", first.join("; "));
    }
    if signatures {
        let verified = zonefiles::sign::verify::verify_zone(zone, ops::unix_time());
        if verified.problem_count > 0 {
            let first: Vec<String> = verified
                .problems
                .iter()
                .take(5)
                .map(|p| p.to_string())
                .collect();
            bail!(
                "{} of its {} signed RRsets fail DNSSEC verification: {} (control-plane dnssec resign, or see docs/dnssec.md)",
                verified.problem_count,
                verified.rrsets,
                first.join("; ")
            );
        }
    }
    Ok(())
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
    // A past serial's signatures may have expired since: they are checked for the current one.
    let signatures = snapshot.serial == zone.serial;
    publication_checks(&snapshot.zone, signatures)
        .with_context(|| format!("{origin_name} at serial {}", snapshot.serial))?;
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
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let image_path = dir.join(format!("{origin_name}-{}.img", snapshot.serial));
    let mut digest = [0; 32];
    zonefiles::image::write_atomically_with(&image_path, |out| {
        let mut out = Hashing::new(out);
        write_image(&snapshot, &mut out)?;
        digest = out.finish();
        Ok(())
    })
    .with_context(|| format!("compiling {origin_name} into {}", image_path.display()))?;
    let digest = data_encoding::HEXLOWER.encode(&digest);
    let whois_path = dir.join(format!("{origin_name}-{}.whois", snapshot.serial));
    zonefiles::image::write_atomically_with(&whois_path, |out| write_whois(&snapshot, out))
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
