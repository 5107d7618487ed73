//! An audit off the apply path: the digest of a zone at the serial held when the control
//! plane's AUDIT arrived, read on a thread of its own while changesets go on being applied.
//!
//! [`Satellite::audit_start`] only notes the serial and opens what the digest's records come
//! from (the current image, mapped without reading it, and the journal, its header read): on
//! the apply path it costs what opening two files costs. From then on the satellite keeps, for
//! every object a batch changes, its record as it was before its first change.
//! [`AuditRead::run`], on its own thread at nice 10, reads the image and the journal up to the
//! audited serial, and every WHOIS object of the zone as its file holds it now, keeping each
//! object's hash by key. [`Satellite::audit_finish`], on the apply path again, then costs the
//! objects changed meanwhile: it takes their hashes as read out of the sum and adds those of
//! the records kept, so the digest is of the data at the audited serial. At a million
//! domains the read is seconds of CPU, an hour apart; the finish is microseconds.

use std::collections::HashMap;

use anyhow::{Context, bail};
use satellite_protocol::digest;
use zonefiles::image::Image;
use zonefiles::journal::{JournalReader, NewEntries};
use zonefiles::whois::WhoisOp;
use zonefiles::whois::tree::{Tree, of_zone};
use zonefiles::zonedir::ZoneDir;

use super::{Satellite, fingerprint};

/// What an audit reads off the apply path ([`Satellite::audit_start`]).
pub struct AuditRead {
    zone: String,
    /// The serial audited.
    serial: u32,
    image: Image,
    journal: JournalReader,
    tree: Tree,
}

/// What [`AuditRead::run`] read.
pub struct AuditResult {
    zone: String,
    serial: u32,
    records: digest::Sum,
    objects: digest::Sum,
    /// Each object's hash as read, by [`fingerprint`] of its key.
    hashes: HashMap<u128, [u8; 32]>,
}

impl AuditRead {
    /// Reads the zone's records (the image with the journal's changesets after it, up to the
    /// audited serial) and every WHOIS object of the zone as its file holds it now.
    pub fn run(self) -> anyhow::Result<AuditResult> {
        let AuditRead {
            zone,
            serial,
            image,
            mut journal,
            tree,
        } = self;
        let appended = match journal.read_new()? {
            NewEntries::Appended(changesets) => changesets,
            NewEntries::Replaced => {
                bail!("the journal was folded while the audit read it: the next audit reads again")
            }
        };
        let from = appended
            .iter()
            .position(|c| c.from_serial() == image.serial())
            .unwrap_or(appended.len());
        let until = appended
            .iter()
            .position(|c| c.to_serial() == serial)
            .map_or(from, |i| i + 1);
        let mut data = image.to_zone()?;
        if let Some(net) = zonefiles::compose(appended.get(from..until).unwrap_or_default())? {
            data = zonefiles::apply(data, &net)?;
        }
        drop(appended);
        if data.serial() != Some(serial) {
            bail!(
                "the zone read for the audit is at serial {:?}, not {serial}",
                data.serial()
            );
        }
        let records = digest::records_of(&data);
        drop(data);
        let (mut objects, mut hashes) = (digest::Sum::default(), HashMap::new());
        tree.for_each_zone_object(&zone, |object| {
            let hash = digest::object_hash(&object);
            objects.add(&hash);
            hashes.insert(fingerprint(&object.key()), hash);
            Ok(())
        })?;
        // The zone held for it (hundreds of MB at a million domains) goes back to the system.
        ops::process::release_free_memory();
        Ok(AuditResult {
            zone,
            serial,
            records,
            objects,
            hashes,
        })
    }
}

impl std::fmt::Debug for Satellite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Satellite({:?})", self.serials())
    }
}

impl Satellite {
    /// Starts an audit of a zone at the serial held now: what it costs to read the zone's data
    /// (the whole zone and every WHOIS object: seconds at a million domains) is left to
    /// [`AuditRead::run`], on a thread of its own, while applying goes on. From here until
    /// [`Satellite::audit_finish`], every object a batch changes has its record as it was
    /// kept first, so the digest is of the data at this serial whatever was written since.
    pub fn audit_start(&mut self, zone: &str) -> anyhow::Result<AuditRead> {
        let serial = self.serial(zone).context("no data yet")?;
        let directory = &self
            .zones
            .get(zone)
            .context("a zone not served here")?
            .directory;
        let dir = ZoneDir::open(directory)?;
        let image = Image::open_trusted(&dir.current_image()?)?;
        let journal = JournalReader::open(&dir.journal_path())?;
        self.before_audit = Some(HashMap::new());
        Ok(AuditRead {
            zone: zone.to_owned(),
            serial,
            image,
            journal,
            tree: self.tree.clone(),
        })
    }

    /// The digest of the zone at the serial [`Satellite::audit_start`] found, from what
    /// [`AuditRead::run`] read: the objects changed since count as the records kept then.
    /// `None` if a snapshot replaced the data meanwhile.
    pub fn audit_finish(&mut self, read: AuditResult) -> Option<[u8; 32]> {
        let before = self.before_audit.take()?;
        let mut objects = read.objects;
        for (key, object) in &before {
            if !of_zone(key, &read.zone) {
                continue;
            }
            if let Some(hash) = read.hashes.get(&fingerprint(key)) {
                objects.subtract(hash);
            }
            if let Some(object) = object {
                digest::add_object(&mut objects, object);
            }
        }
        Some(digest::finish(
            &read.zone,
            read.serial,
            &read.records,
            &objects,
        ))
    }

    /// Stops keeping records for an audit that will not be answered.
    pub fn audit_abandon(&mut self) {
        self.before_audit = None;
    }

    /// Keeps the records of the objects `ops` change as they are now, for an audit running.
    pub(super) fn keep_for_audit(&mut self, ops: &[&WhoisOp]) {
        let Some(before) = self.before_audit.as_mut() else {
            return;
        };
        for op in ops {
            if let std::collections::hash_map::Entry::Vacant(entry) = before.entry(op.key()) {
                let record = self.tree.get(entry.key()).ok().flatten();
                entry.insert(record);
            }
        }
    }
}
