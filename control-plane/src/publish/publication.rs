//! From registry state to DNS records and WHOIS objects, and from a batch of commands to one
//! signed changeset per zone (the outbox).
//!
//! Each domain owns what its delegation publishes: NS records at its name, glue (A/AAAA) for
//! its cluster's hosts that lie beneath it, DS records, its WHOIS domain object and host objects
//! for those hosts. Nothing else in the zone depends on it, so the zone changes exactly by the
//! difference between a touched domain's output before and after the batch.
//!
//! A [`Publication`] notes each domain's output the first time a command of the batch is about
//! to change it; [`Publication::finish`] computes the output again, diffs, and writes one
//! changeset per zone whose serial advances once per batch by the zone's serial policy — so
//! consecutive commands committed together share one changeset and one serial.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::rc::Rc;

use zonefiles::changeset::Changeset;
use zonefiles::octets::Octets;
use zonefiles::whois::{self, DomainStatus, Object, ObjectKey, WhoisOp};
use zonefiles::{Class, Name, Record, RecordType};

use crate::model::{Cluster, Domain, JournalEntry, Registrar, ZoneSettings};
use crate::publish::signing::Signer;
use crate::store::{Store, StoreError};

/// Why a batch could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The registry record could not be sealed.
    #[error(transparent)]
    Seal(#[from] crate::operator::recovery::SealError),
    /// A name in the database is not a valid domain name.
    #[error("name {0:?} in the database is not a valid domain name")]
    Name(String),
    /// A signed zone could not be signed: nothing of the batch is published.
    #[error("zone {zone} is signed, and signing failed: {why}")]
    Dnssec {
        /// The zone.
        zone: String,
        /// Why.
        why: String,
    },
}

/// What one domain puts in its zone and in WHOIS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Output {
    zone: Option<i64>,
    records: BTreeSet<Rr>,
    objects: BTreeMap<ObjectKey, Object>,
}

/// A record ordered canonically (TTL included, so a TTL change is a removal and an addition).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rr(Record);

impl Ord for Rr {
    fn cmp(&self, other: &Rr) -> std::cmp::Ordering {
        self.0
            .canonical_cmp(&other.0)
            .then(self.0.ttl.cmp(&other.0.ttl))
    }
}

impl PartialOrd for Rr {
    fn partial_cmp(&self, other: &Rr) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// RRsets with signatures about to expire renewed with each batch of a signed zone: a small
/// share, so renewals spread over the changes instead of coming at once.
pub const REFRESH_PER_BATCH: usize = 16;

/// RRsets renewed by a run of the commit thread's refresh between batches
/// ([`Publication::refresh_signatures`]).
pub const REFRESH_PER_RUN: usize = 1_000;

/// One zone's share of a batch: records removed, records added, WHOIS operations.
type ZoneChanges = (Vec<Record>, Vec<Record>, Vec<WhoisOp>);

/// The domains a batch touched, with their output before the batch.
///
/// It also keeps what a batch reads again and again: the zones (read once per batch; only a
/// transaction changes them, and the batch is one) and registrars' IANA ids.
#[derive(Debug, Default)]
pub struct Publication {
    zones: Option<Rc<Vec<ZoneSettings>>>,
    iana: HashMap<u32, u32>,
    before: BTreeMap<String, Output>,
    /// The touched domains' records after the batch, as [`Publication::finish`] computed them
    /// (the signer reads them again).
    after: HashMap<String, Rc<Vec<Record>>>,
    /// Domains whose WHOIS objects are published whether they changed or not.
    refreshed: BTreeSet<String>,
    /// Registrars to publish, in one zone or (`None`) in every zone.
    registrars: Vec<(Registrar, Option<String>)>,
    /// Zones to sign whole (or to strip of DNSSEC records, if no longer signed).
    whole: BTreeSet<i64>,
    /// Signed zones whose expiring signatures to renew, changed or not.
    refresh: BTreeSet<i64>,
    /// Zones just signed whose DNSSEC records, stored beforehand, are published now.
    first: BTreeSet<i64>,
}

impl Publication {
    /// An empty publication for a new batch.
    pub fn new() -> Publication {
        Publication::default()
    }

    /// The zones, as the batch's transaction sees them.
    pub fn zones(&mut self, store: &dyn Store) -> Result<Rc<Vec<ZoneSettings>>, StoreError> {
        if let Some(zones) = &self.zones {
            return Ok(zones.clone());
        }
        let zones = Rc::new(store.zones()?);
        self.zones = Some(zones.clone());
        Ok(zones)
    }

    /// Notes a domain about to change (its output now is its output before the batch, unless
    /// an earlier command of the batch noted it already).
    pub fn touch(&mut self, store: &dyn Store, name: &str) -> Result<(), StoreError> {
        if !self.before.contains_key(name) {
            let output = self.output(store, name).map_err(|e| match e {
                PublishError::Store(e) => e,
                PublishError::Name(n) => StoreError::Corrupt(n),
                PublishError::Seal(e) => StoreError::Corrupt(e.to_string()),
                PublishError::Dnssec { zone, why } => StoreError::Corrupt(format!("{zone}: {why}")),
            })?;
            self.before.insert(name.to_string(), output);
        }
        Ok(())
    }

    /// Publishes a domain's WHOIS objects again as they are, changed or not: after a change
    /// of how they are written, so that satellites hold what the registry would write now.
    pub fn refresh(&mut self, store: &dyn Store, name: &str) -> Result<(), StoreError> {
        self.touch(store, name)?;
        self.refreshed.insert(name.to_string());
        Ok(())
    }

    /// The zone records a domain publishes after the batch: those [`Publication::finish`]
    /// computed for a domain the batch touched, `None` for any other.
    pub(super) fn touched(&self, name: &str) -> Option<Rc<Vec<Record>>> {
        self.after.get(name).cloned()
    }

    /// The zone records a domain publishes now.
    pub(super) fn output_of(
        &mut self,
        store: &dyn Store,
        name: &str,
    ) -> Result<Vec<Record>, PublishError> {
        Ok(self
            .output(store, name)?
            .records
            .into_iter()
            .map(|r| r.0)
            .collect())
    }

    /// Signs a zone whole in this batch (its signing just turned on or off, or its policy
    /// changed), publishing the difference with the DNSSEC records it holds.
    pub fn sign_whole(&mut self, zone: i64) {
        self.whole.insert(zone);
    }

    /// Publishes every DNSSEC record of a zone just signed, which signing turned on in batches
    /// made and stored beforehand ([`crate::operator::dnssec`]).
    pub fn publish_first_signing(&mut self, zone: i64) {
        self.first.insert(zone);
    }

    /// Renews a signed zone's signatures that are about to expire (up to
    /// [`REFRESH_PER_RUN`]) in this batch, whether anything else changes in it or not.
    pub fn refresh_signatures(&mut self, zone: i64) {
        self.refresh.insert(zone);
    }

    /// What a domain publishes now.
    fn output(&mut self, store: &dyn Store, name: &str) -> Result<Output, PublishError> {
        let Some(domain) = store.domain(name)? else {
            return Ok(Output::default());
        };
        let zones = self.zones(store)?;
        let Some(zone) = zones.iter().find(|z| z.id == domain.zone) else {
            return Err(StoreError::Corrupt(format!("{name} is in no zone")).into());
        };
        let cluster = match domain.cluster {
            Some(id) => store.cluster(id)?,
            None => None,
        };
        let iana_id = match self.iana.get(&domain.registrar) {
            Some(id) => *id,
            None => {
                let id = store.registrar(domain.registrar)?.map_or(0, |r| r.iana_id);
                self.iana.insert(domain.registrar, id);
                id
            }
        };
        let (records, objects) = domain_output(zone, &domain, cluster.as_ref(), iana_id)?;
        Ok(Output {
            zone: Some(zone.id),
            records: records.into_iter().map(Rr).collect(),
            objects: objects.into_iter().map(|o| (o.key(), o)).collect(),
        })
    }

    /// Publishes a registrar's WHOIS object in every zone (after an operator changed it).
    pub fn registrar(&mut self, registrar: Registrar) {
        self.registrars.push((registrar, None));
    }

    /// Publishes a registrar's WHOIS object in one zone (a zone just added).
    pub fn registrar_in(&mut self, registrar: Registrar, zone: &str) {
        self.registrars.push((registrar, Some(zone.to_string())));
    }

    /// True if nothing was touched.
    pub fn is_empty(&self) -> bool {
        self.before.is_empty()
            && self.registrars.is_empty()
            && self.whole.is_empty()
            && self.refresh.is_empty()
            && self.first.is_empty()
    }

    /// Diffs every touched domain and appends one signed changeset per changed zone to the
    /// journal, advancing its serial. Returns what was appended.
    pub fn finish(
        mut self,
        store: &dyn Store,
        now: i64,
        signer: &Signer,
    ) -> Result<Vec<JournalEntry>, PublishError> {
        let zones = self.zones(store)?;
        let mut per_zone: BTreeMap<i64, ZoneChanges> = BTreeMap::new();
        let before = std::mem::take(&mut self.before);
        for (name, before) in &before {
            let after = self.output(store, name)?;
            self.after.insert(
                name.clone(),
                Rc::new(after.records.iter().map(|r| r.0.clone()).collect()),
            );
            let Some(zone) = after.zone.or(before.zone) else {
                continue;
            };
            let (removed, added, ops) = per_zone.entry(zone).or_default();
            removed.extend(
                before
                    .records
                    .difference(&after.records)
                    .map(|r| r.0.clone()),
            );
            added.extend(
                after
                    .records
                    .difference(&before.records)
                    .map(|r| r.0.clone()),
            );
            let refreshed = self.refreshed.contains(name);
            for (key, object) in &after.objects {
                if refreshed || before.objects.get(key) != Some(object) {
                    ops.push(WhoisOp::Set(object.clone()));
                }
            }
            for key in before.objects.keys() {
                if !after.objects.contains_key(key) {
                    ops.push(WhoisOp::Delete(key.clone()));
                }
            }
        }
        for (registrar, only) in &self.registrars {
            for zone in zones
                .iter()
                .filter(|z| only.as_ref().is_none_or(|o| *o == z.origin))
            {
                let (_, _, ops) = per_zone.entry(zone.id).or_default();
                ops.push(WhoisOp::Set(Object::Registrar(registrar_object(registrar))));
            }
        }
        // Each changed zone's changes, signed if the zone is (its DNSSEC records written
        // before the registry record is taken, which must hold them).
        let mut changed = Vec::new();
        for zone in zones.iter() {
            let whole = self.whole.contains(&zone.id);
            let first = self.first.contains(&zone.id);
            let forced = whole || first || self.refresh.contains(&zone.id);
            let (mut removed, mut added, whois) = match per_zone.remove(&zone.id) {
                Some(changes) => changes,
                None if forced => ZoneChanges::default(),
                None => continue,
            };
            if removed.is_empty() && added.is_empty() && whois.is_empty() && !forced {
                continue;
            }
            let next = zone.serial_policy.next(zone.serial, now.max(0) as u64);
            let mut at_next = zone.clone();
            at_next.serial = next;
            let change = super::dnssec::ZoneChange {
                zone: &at_next,
                removed: &mut removed,
                added: &mut added,
                whole,
                first,
                refresh: match self.refresh.contains(&zone.id) {
                    true => REFRESH_PER_RUN,
                    false => REFRESH_PER_BATCH,
                },
            };
            super::dnssec::sign(&mut self, store, signer.zone_keys(), change, now)?;
            changed.push((zone, next, removed, added, whois));
        }
        let mut entries = Vec::new();
        // The transaction's registry record, taken once and carried by each zone's changeset.
        let mut record = None;
        for (zone, next, mut removed, mut added, whois) in changed {
            let record: &Vec<u8> = match &mut record {
                Some(record) => record,
                None => record.insert(match signer.recovery() {
                    Some(key) => key.seal(&store.take_record()?)?,
                    None => {
                        store.drop_record()?;
                        Vec::new()
                    }
                }),
            };
            removed.sort_by(|a, b| a.canonical_cmp(b));
            added.sort_by(|a, b| a.canonical_cmp(b));
            let changeset = Changeset {
                origin: zone_name(&zone.origin)?,
                old_soa: soa_record(zone, zone.serial)?,
                new_soa: soa_record(zone, next)?,
                removed,
                added,
                whois,
            };
            let bytes = changeset.encode();
            let (signature, key_id) =
                signer.sign_changeset(&zone.origin, zone.serial, next, &bytes, record);
            let entry = JournalEntry {
                zone: zone.origin.to_string(),
                from_serial: zone.serial,
                to_serial: next,
                changeset: bytes,
                signature,
                key_id,
                committed: now,
                record: record.clone(),
            };
            store.append_journal(&entry)?;
            store.set_zone_serial(zone.id, next)?;
            entries.push(entry);
        }
        if record.is_none() {
            store.keep_unpublished()?;
        }
        Ok(entries)
    }
}

fn zone_name(text: &str) -> Result<Name, PublishError> {
    Name::from_text(format!("{text}.").as_bytes(), None)
        .map_err(|_| PublishError::Name(text.into()))
}

fn record(owner: &Name, rtype: RecordType, ttl: u32, rdata: &[u8]) -> Record {
    Record {
        owner: owner.clone(),
        rtype,
        class: Class::IN,
        ttl,
        rdata: Octets::new(rdata),
    }
}

fn address_record(owner: &Name, ttl: u32, address: &IpAddr) -> Record {
    match address {
        IpAddr::V4(a) => record(owner, RecordType::A, ttl, &a.octets()),
        IpAddr::V6(a) => record(owner, RecordType::AAAA, ttl, &a.octets()),
    }
}

/// The zone's SOA record at a serial.
pub fn soa_record(zone: &ZoneSettings, serial: u32) -> Result<Record, PublishError> {
    let mut rdata = Vec::new();
    rdata.extend_from_slice(zone_name(&zone.mname)?.as_wire());
    rdata.extend_from_slice(zone_name(&zone.rname)?.as_wire());
    rdata.extend_from_slice(&serial.to_be_bytes());
    for timer in zone.soa_timers {
        rdata.extend_from_slice(&timer.to_be_bytes());
    }
    Ok(record(
        &zone_name(&zone.origin)?,
        RecordType::SOA,
        zone.soa_ttl,
        &rdata,
    ))
}

/// True if `host` is `domain` or beneath it.
fn beneath(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// The WHOIS object of a registrar.
pub fn registrar_object(registrar: &Registrar) -> whois::Registrar {
    whois::Registrar {
        iana_id: registrar.iana_id,
        name: registrar.name.clone(),
        whois_server: registrar.whois_server.clone(),
        url: registrar.url.clone(),
        abuse_email: registrar.abuse_email.clone(),
        abuse_phone: registrar.abuse_phone.clone(),
        updated: registrar.updated,
    }
}

/// A domain's statuses in WHOIS and RDAP: those set on it, `pendingDelete` (and
/// `redemptionPeriod` while it can be restored) once deleted, `inactive` without name servers
/// (RFC 5731 §2.3), and `ok` when there is none of these.
fn whois_statuses(domain: &Domain, undelegated: bool) -> Vec<DomainStatus> {
    let mut statuses: Vec<DomainStatus> = domain.statuses.iter().collect();
    if let Some(deletion) = domain.deletion {
        statuses.push(DomainStatus::PendingDelete);
        if deletion.redeemable {
            statuses.push(DomainStatus::RedemptionPeriod);
        }
    }
    if undelegated {
        statuses.push(DomainStatus::Inactive);
    }
    if statuses.is_empty() {
        statuses.push(DomainStatus::Ok);
    }
    statuses.sort();
    statuses
}

/// The DNS records and WHOIS objects of one domain, given its zone, cluster and registrar.
pub fn domain_output(
    zone: &ZoneSettings,
    domain: &Domain,
    cluster: Option<&Cluster>,
    iana_id: u32,
) -> Result<(Vec<Record>, Vec<Object>), PublishError> {
    let owner = zone_name(&domain.name)?;
    let ttl = zone.delegation_ttl;
    let nameservers = cluster.map_or(&[][..], |c| &c.nameservers[..]);
    let mut records = Vec::new();
    let mut objects = Vec::new();
    // A deleted domain waiting to be purged is out of the DNS; its WHOIS says so.
    if !domain.statuses.held() && !nameservers.is_empty() && domain.deletion.is_none() {
        for ns in nameservers {
            records.push(record(
                &owner,
                RecordType::NS,
                ttl,
                zone_name(&ns.name)?.as_wire(),
            ));
            if beneath(&ns.name, &domain.name) {
                let host = zone_name(&ns.name)?;
                records.extend(ns.addresses.iter().map(|a| address_record(&host, ttl, a)));
            }
        }
        for ds in &domain.ds {
            let mut rdata = ds.key_tag.to_be_bytes().to_vec();
            rdata.extend_from_slice(&[ds.algorithm, ds.digest_type]);
            rdata.extend_from_slice(&ds.digest);
            records.push(record(&owner, RecordType::DS, ttl, &rdata));
        }
    }
    let suffix = roid_suffix(&zone.origin);
    objects.push(Object::Domain(whois::Domain {
        name: domain.name.clone(),
        roid: domain_roid(domain.id, &zone.origin),
        registrar: iana_id,
        statuses: whois_statuses(domain, nameservers.is_empty()),
        nameservers: nameservers
            .iter()
            .map(|ns| whois::Nameserver {
                name: ns.name.clone(),
                addresses: if beneath(&ns.name, &domain.name) {
                    ns.addresses.clone()
                } else {
                    Vec::new()
                },
            })
            .collect(),
        ds: domain.ds.clone(),
        created: domain.created,
        updated: domain.updated,
        expires: domain.expires,
    }));
    for (index, ns) in nameservers.iter().enumerate() {
        if beneath(&ns.name, &domain.name) {
            objects.push(Object::Host(whois::Host {
                name: ns.name.clone(),
                roid: format!("H{}_{}-{suffix}", domain.id, index + 1),
                registrar: iana_id,
                addresses: ns.addresses.clone(),
                created: domain.created,
                updated: domain.updated,
            }));
        }
    }
    Ok((records, objects))
}

/// Every record of a zone: SOA, apex NS with in-zone glue, and each domain's delegation — the
/// full zone a new satellite starts from. `domains` yields each domain with its cluster.
pub fn zone_records<'a>(
    zone: &ZoneSettings,
    domains: impl IntoIterator<Item = (&'a Domain, Option<&'a Cluster>, u32)>,
) -> Result<(Vec<Record>, Vec<Object>), PublishError> {
    let mut records = apex_records(zone)?;
    let mut objects = Vec::new();
    for (domain, cluster, iana_id) in domains {
        let (r, o) = domain_output(zone, domain, cluster, iana_id)?;
        records.extend(r);
        objects.extend(o);
    }
    Ok((records, objects))
}

/// The records at a zone's apex: its SOA, and its NS with in-zone glue.
pub fn apex_records(zone: &ZoneSettings) -> Result<Vec<Record>, PublishError> {
    let apex = zone_name(&zone.origin)?;
    let mut records = vec![soa_record(zone, zone.serial)?];
    for ns in &zone.apex_nameservers {
        records.push(record(
            &apex,
            RecordType::NS,
            zone.soa_ttl,
            zone_name(&ns.name)?.as_wire(),
        ));
        if beneath(&ns.name, &zone.origin) {
            let host = zone_name(&ns.name)?;
            records.extend(
                ns.addresses
                    .iter()
                    .map(|a| address_record(&host, zone.soa_ttl, a)),
            );
        }
    }
    Ok(records)
}

/// The suffix of the registry object ids of a zone's objects: its name in capitals, dots as
/// underscores (`NAME`, `CO_UK`).
fn roid_suffix(origin: &str) -> String {
    origin.to_ascii_uppercase().replace('.', "_")
}

/// A domain's registry object id (WHOIS "Registry Domain ID", EPP `<domain:roid>`).
pub fn domain_roid(id: i64, origin: &str) -> String {
    format!("D{id}-{}", roid_suffix(origin))
}
