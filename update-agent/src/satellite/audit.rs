//! An audit off the apply path: the digest of a zone at the serial held when the control
//! plane's AUDIT arrived, read on a thread of its own while changesets go on being applied.
//!
//! [`Satellite::audit_start`] loads the zone directory as it stands (the image mapped, the
//! journal's changesets read: what the digest's records come from) and from then on the
//! satellite keeps, for every object a batch changes, its record as it was before its first
//! change. [`AuditRead::run`] reads the zone's WHOIS files as they are; [`Satellite::audit_finish`]
//! takes the kept records in place of the files of changed objects, so the digest is of the
//! data at the audited serial.

use std::collections::HashMap;

use anyhow::Context;
use satellite_protocol::digest;
use zonefiles::whois::tree::{Tree, of_zone};
use zonefiles::whois::{Object, WhoisOp};
use zonefiles::zonedir::ZoneDir;

use super::Satellite;

/// What an audit reads off the apply path ([`Satellite::audit_start`]).
pub struct AuditRead {
    zone: String,
    snapshot: zonefiles::zonedir::Snapshot,
    tree: Tree,
}

/// What [`AuditRead::run`] read.
pub struct AuditResult {
    zone: String,
    serial: u32,
    records: digest::Sum,
    objects: Vec<Object>,
}

impl AuditRead {
    /// Reads the zone's records (the image with the changesets after it, as loaded when the
    /// audit started) and every WHOIS object of the zone as its file holds it now.
    pub fn run(self) -> anyhow::Result<AuditResult> {
        let mut zone = self.snapshot.image.to_zone()?;
        if let Some(net) = zonefiles::compose(&self.snapshot.changesets)? {
            zone = zonefiles::apply(zone, &net)?;
        }
        let objects = self.tree.zone_objects(&self.zone)?;
        Ok(AuditResult {
            serial: zone.serial().unwrap_or(0),
            records: digest::records_of(&zone),
            zone: self.zone,
            objects,
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
        let directory = &self
            .zones
            .get(zone)
            .context("a zone not served here")?
            .directory;
        let snapshot = ZoneDir::open(directory)?.load()?;
        self.before_audit = Some(HashMap::new());
        Ok(AuditRead {
            zone: zone.to_owned(),
            snapshot,
            tree: self.tree.clone(),
        })
    }

    /// The digest of the zone at the serial [`Satellite::audit_start`] found, from what
    /// [`AuditRead::run`] read: the records of objects changed since are the ones kept then.
    /// `None` if a snapshot replaced the data meanwhile.
    pub fn audit_finish(&mut self, read: AuditResult) -> Option<[u8; 32]> {
        let before = self.before_audit.take()?;
        let mut objects = digest::Sum::default();
        for object in &read.objects {
            if !before.contains_key(&object.key()) {
                digest::add_object(&mut objects, object);
            }
        }
        for (key, object) in &before {
            if let Some(object) = object
                && of_zone(key, &read.zone)
            {
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
