//! DNSSEC signing of the registry's zones, as part of each commit.
//!
//! A zone is signed once `control-plane zone dnssec ZONE` turned it on (`dnssec_zones`: NSEC3
//! with opt-out, a TLD's default; NSEC3 without; or NSEC). Its keys are BIND's key files in
//! `[dnssec] keys`, read again whenever a file there changes; their timing metadata
//! (`zonefiles rollover`, `dnssec-settime`) says when each is published and signs, against the
//! registry's clock. Private keys stay on the control plane (or in its HSM).
//!
//! Every DNSSEC record the registry made for a zone is in the database (`dnssec_records`, in
//! the same transaction as the change it signs), so a batch signs what it touched:
//!
//! ```text
//! batch ─▶ Publication::finish ─▶ removed/added records per zone ─▶ sign (this module)
//!    zonefiles::sign::incremental over the database ([`Registry`]) ─▶ RRSIG/NSEC3 edits
//!    ─▶ edits stored + appended to the zone's changeset ─▶ journal ─▶ satellites
//! ```
//!
//! A satellite that applies serial n+1 serves a zone that validates at n+1: the signatures
//! and chain records ride in the same changeset as the data. Turning signing on (or a whole
//! re-signing) signs the zone whole in the batch's transaction and publishes the difference
//! with what the zone held; turning it off removes every DNSSEC record.
//!
//! A signed zone whose keys cannot be read or cannot sign (an HSM that is gone) fails the
//! batch: the registry never publishes unsigned data in a signed zone.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use zonefiles::sign::incremental::{self, Edit, Link, State};
use zonefiles::sign::keys::ZoneKey;
use zonefiles::sign::{Denial, Policy, bind};
use zonefiles::{Class, Name, Record, RecordType, Zone};

use super::publication::{Publication, PublishError, apex_records, zone_records};
use crate::config::Dnssec;
use crate::model::ZoneSettings;
use crate::store::Store;

/// The signed zones' keys, read from their folder and kept until a file changes.
pub struct ZoneKeys {
    folder: PathBuf,
    validity: u32,
    jitter: u32,
    refresh: u32,
    cache: Mutex<HashMap<Name, Cached>>,
}

/// A zone's keys, the files they were read from with their times, and when they were last
/// looked at.
struct Cached {
    files: Vec<(PathBuf, Option<SystemTime>)>,
    keys: Arc<Vec<ZoneKey>>,
    checked: Instant,
}

/// How long a zone's keys are used before their folder is looked at again.
const KEYS_CHECKED_EVERY: Duration = Duration::from_secs(1);

impl std::fmt::Debug for ZoneKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ZoneKeys({})", self.folder.display())
    }
}

impl ZoneKeys {
    /// The keys in the configured folder.
    pub fn new(config: &Dnssec) -> ZoneKeys {
        ZoneKeys {
            folder: config.keys.clone(),
            validity: config.validity_days * 86_400,
            jitter: config.jitter_days * 86_400,
            refresh: config.refresh_days * 86_400,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The policy a zone is signed by.
    pub fn policy(&self, denial: &Denial) -> Policy {
        Policy {
            denial: denial.clone(),
            validity: self.validity,
            jitter: self.jitter.min(self.validity / 2),
            refresh: self.refresh,
            ..Policy::default()
        }
    }

    /// The time before which expiring signatures are renewed, at `now`.
    pub fn refresh_before(&self, now: i64) -> u32 {
        (now.max(0) as u64 + u64::from(self.refresh)).min(u64::from(u32::MAX)) as u32
    }

    /// A zone's keys, opened (in their token, for keys in an HSM). The folder is looked at
    /// again at most every second; keys are read again when a file changed.
    pub fn keys(&self, origin: &Name) -> Result<Arc<Vec<ZoneKey>>, PublishError> {
        let fail = |why: String| PublishError::Dnssec {
            zone: origin.to_string(),
            why,
        };
        {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(cached) = cache.get_mut(origin)
                && cached.checked.elapsed() < KEYS_CHECKED_EVERY
            {
                return Ok(cached.keys.clone());
            }
        }
        let found = bind::zone_keys(origin, &self.folder).map_err(|e| fail(e.to_string()))?;
        let files: Vec<(PathBuf, Option<SystemTime>)> = found
            .iter()
            .map(|(path, _)| {
                let time = std::fs::metadata(path).and_then(|m| m.modified()).ok();
                (path.clone(), time)
            })
            .collect();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cached) = cache.get_mut(origin)
            && cached.files == files
        {
            cached.checked = Instant::now();
            return Ok(cached.keys.clone());
        }
        if found.is_empty() {
            let zone = origin.to_string();
            let zone = zone.trim_end_matches('.');
            return Err(fail(format!(
                "no key in {}: make them with `control-plane dnssec keygen {zone} --ksk` and `control-plane dnssec keygen {zone}`",
                self.folder.display(),
            )));
        }
        let mut keys = Vec::with_capacity(found.len());
        for (path, key) in found {
            keys.push(
                key.open()
                    .map_err(|e| fail(format!("{}: {e}", path.display())))?,
            );
        }
        let keys = Arc::new(keys);
        cache.insert(
            origin.clone(),
            Cached {
                files,
                keys: keys.clone(),
                checked: Instant::now(),
            },
        );
        Ok(keys)
    }
}

/// What signing adds to one zone's changeset: `removed` and `added` are the batch's records
/// of the zone, to which the DNSSEC records are appended; `zone` is the zone at its next
/// serial.
pub struct ZoneChange<'a> {
    /// The zone as the batch leaves it.
    pub zone: &'a ZoneSettings,
    /// Records the batch removed.
    pub removed: &'a mut Vec<Record>,
    /// Records the batch added.
    pub added: &'a mut Vec<Record>,
    /// Sign the zone whole (signing turned on, or a new policy), not only what changed.
    pub whole: bool,
    /// Up to how many RRsets whose signatures are about to expire to sign again.
    pub refresh: usize,
    /// The zone's first signed changeset: its DNSSEC records were made and stored in batches
    /// beforehand, none published, and all of them go now.
    pub first: bool,
}

/// Signs one zone's share of a batch, if the zone is signed (see the module docs); stores
/// the DNSSEC records' edit and appends it to the changeset's records.
pub fn sign(
    publication: &mut Publication,
    store: &dyn Store,
    keys: Option<&ZoneKeys>,
    change: ZoneChange<'_>,
    now: i64,
) -> Result<(), PublishError> {
    let zone = change.zone;
    let origin = origin(zone)?;
    let now = now.max(0) as u64;
    let edit = match store.zone_denial(zone.id)? {
        None if change.whole => Edit {
            removed: store.zone_dnssec(zone.id)?,
            ..Edit::default()
        },
        None => return Ok(()),
        Some(denial) => {
            let keys_of = keys.ok_or_else(|| PublishError::Dnssec {
                zone: zone.origin.to_string(),
                why: "this process has no zone keys configured ([dnssec] keys)".into(),
            })?;
            let keys = keys_of.keys(&origin)?;
            let policy = keys_of.policy(&denial);
            let failed = |e: zonefiles::sign::SignError| PublishError::Dnssec {
                zone: zone.origin.to_string(),
                why: e.to_string(),
            };
            let stored = store.dnssec_at(zone.id, &origin)?;
            let rekeyed = rekeyed(&stored, &origin, &keys, &policy, now).map_err(failed)?;
            if change.whole || rekeyed {
                let (added, names) = whole_records(store, zone, &origin, &keys, &policy, now)?;
                difference(store.zone_dnssec(zone.id)?, added, names)
            } else {
                let changed: BTreeSet<(Name, RecordType)> = change
                    .removed
                    .iter()
                    .chain(change.added.iter())
                    .map(|r| (r.owner.clone(), r.rtype))
                    .collect();
                let signing = incremental::Signing {
                    origin: &origin,
                    class: Class::IN,
                    keys: &keys,
                    policy: &policy,
                    now,
                };
                sign_changed(publication, store, zone, &signing, &changed, change.refresh)?
            }
        }
    };
    store.edit_dnssec(zone.id, &edit)?;
    if change.first {
        // Satellites hold none of the zone's DNSSEC records yet: all of them go.
        change.added.extend(store.zone_dnssec(zone.id)?);
        return Ok(());
    }
    change.removed.extend(edit.removed);
    change.added.extend(edit.added);
    Ok(())
}

/// The incremental signer's edit for the RRsets in `changed`, over the zone as the database
/// (and the batch's own outputs) hold it.
fn sign_changed(
    publication: &mut Publication,
    store: &dyn Store,
    zone: &ZoneSettings,
    signing: &incremental::Signing<'_>,
    changed: &BTreeSet<(Name, RecordType)>,
    refresh: usize,
) -> Result<Edit, PublishError> {
    let mut state = Registry {
        store,
        publication,
        zone,
        origin: signing.origin.clone(),
    };
    incremental::sign_change(&mut state, signing, changed, refresh).map_err(|e| match e {
        incremental::ChangeError::State(e) => e,
        broken => PublishError::Dnssec {
            zone: zone.origin.to_string(),
            why: broken.to_string(),
        },
    })
}

/// What brings the DNSSEC records of a zone whose signing is being turned on up to the zone
/// as it is now: `changed` holds every RRset changed since the zone they sign. The caller
/// stores the edit; it is not published ([`crate::operator::dnssec`] publishes every record
/// at once at the end).
pub fn catch_up(
    store: &dyn Store,
    keys_of: &ZoneKeys,
    zone: &ZoneSettings,
    denial: &Denial,
    changed: &BTreeSet<(Name, RecordType)>,
    now: i64,
) -> Result<Edit, PublishError> {
    let origin = origin(zone)?;
    let keys = keys_of.keys(&origin)?;
    let policy = keys_of.policy(denial);
    let signing = incremental::Signing {
        origin: &origin,
        class: Class::IN,
        keys: &keys,
        policy: &policy,
        now: now.max(0) as u64,
    };
    sign_changed(&mut Publication::new(), store, zone, &signing, changed, 0)
}

/// A zone's DNSSEC records signed whole, as the database holds the zone (signing turned on,
/// or signed again): the records with the names their chain records hash.
pub fn sign_zone_whole(
    store: &dyn Store,
    keys_of: &ZoneKeys,
    zone: &ZoneSettings,
    denial: &Denial,
    now: i64,
) -> Result<(Vec<Record>, BTreeMap<Name, Name>), PublishError> {
    let origin = origin(zone)?;
    let keys = keys_of.keys(&origin)?;
    let policy = keys_of.policy(denial);
    whole_records(store, zone, &origin, &keys, &policy, now.max(0) as u64)
}

fn whole_records(
    store: &dyn Store,
    zone: &ZoneSettings,
    origin: &Name,
    keys: &[ZoneKey],
    policy: &Policy,
    now: u64,
) -> Result<(Vec<Record>, BTreeMap<Name, Name>), PublishError> {
    let domains = store.zone_domains(zone.id)?;
    let (records, _) = zone_records(
        zone,
        domains.iter().map(|(d, c, iana)| (d, c.as_ref(), *iana)),
    )?;
    drop(domains);
    let (unsigned, _) = Zone::new(origin.clone(), Class::IN, records);
    let (signed, names) =
        zonefiles::sign::sign_whole(&unsigned, keys, policy, now).map_err(|e| {
            PublishError::Dnssec {
                zone: zone.origin.to_string(),
                why: e.to_string(),
            }
        })?;
    drop(unsigned);
    let records = signed
        .records()
        .iter()
        .filter(|r| zonefiles::sign::is_dnssec(r, origin))
        .cloned()
        .collect();
    Ok((records, names))
}

/// True when the keys changed so that the zone must be signed whole again: the algorithms of
/// the DNSKEY set (every RRset must be signed with each, RFC 4035 §2.2: an algorithm
/// rollover's steps), or the ZSKs that sign (a ZSK rollover's switch: every signature of the
/// old key is replaced before its DNSKEY goes). `apex` is the zone's stored DNSSEC records at
/// its apex; the SOA's signatures, renewed at every batch, say which ZSKs signed last.
fn rekeyed(
    apex: &[Record],
    origin: &Name,
    keys: &[ZoneKey],
    policy: &Policy,
    now: u64,
) -> Result<bool, zonefiles::sign::SignError> {
    if apex.is_empty() {
        return Ok(false);
    }
    let algorithms = |records: &[Record]| -> BTreeSet<u8> {
        records
            .iter()
            .filter(|r| r.rtype == RecordType::DNSKEY && r.rdata.len() > 3)
            .map(|r| r.rdata[3])
            .collect()
    };
    let published = zonefiles::sign::apex_records(origin, Class::IN, keys, policy, now);
    if algorithms(apex) != algorithms(&published) {
        return Ok(true);
    }
    let soa_signers: BTreeSet<u16> = apex
        .iter()
        .filter(|r| r.rtype == RecordType::RRSIG && r.rdata.get(..2) == Some(&[0, 6][..]))
        .filter_map(|r| {
            r.rdata
                .get(16..18)
                .map(|t| u16::from_be_bytes([t[0], t[1]]))
        })
        .collect();
    let (_, zsks) = zonefiles::sign::signing_tags(keys, now)?;
    Ok(soa_signers != zsks)
}

/// True when a signed zone's keys' timing calls for a batch though nothing else changed: a
/// key was published, activated, retired or removed since its last batch (the apex's key
/// records differ from what the timing says now, or the ZSKs that sign changed). The commit
/// thread then publishes one ([`Publication::refresh_signatures`]).
pub fn keys_due(
    store: &dyn Store,
    keys_of: &ZoneKeys,
    zone: &ZoneSettings,
    now: i64,
) -> Result<bool, PublishError> {
    let Some(denial) = store.zone_denial(zone.id)? else {
        return Ok(false);
    };
    let origin = origin(zone)?;
    let keys = keys_of.keys(&origin)?;
    let policy = keys_of.policy(&denial);
    let now = now.max(0) as u64;
    let failed = |e: zonefiles::sign::SignError| PublishError::Dnssec {
        zone: zone.origin.to_string(),
        why: e.to_string(),
    };
    let stored = store.dnssec_at(zone.id, &origin)?;
    let mut held: Vec<&Record> = stored
        .iter()
        .filter(|r| {
            matches!(
                r.rtype,
                RecordType::DNSKEY | RecordType::CDS | RecordType::CDNSKEY | RecordType::NSEC3PARAM
            )
        })
        .collect();
    let mut wanted = zonefiles::sign::apex_records(&origin, Class::IN, &keys, &policy, now);
    held.sort_by(|a, b| a.canonical_cmp(b));
    wanted.sort_by(|a, b| a.canonical_cmp(b));
    let same = held.len() == wanted.len() && held.iter().zip(&wanted).all(|(a, b)| **a == *b);
    Ok(!same || rekeyed(&stored, &origin, &keys, &policy, now).map_err(failed)?)
}

/// The edit from `old` to `new` records, what both hold left alone.
fn difference(old: Vec<Record>, new: Vec<Record>, names: BTreeMap<Name, Name>) -> Edit {
    let old_set: std::collections::HashSet<&Record> = old.iter().collect();
    let new_set: std::collections::HashSet<&Record> = new.iter().collect();
    let removed: Vec<Record> = old
        .iter()
        .filter(|r| !new_set.contains(r))
        .cloned()
        .collect();
    let added: Vec<Record> = new
        .iter()
        .filter(|r| !old_set.contains(r))
        .cloned()
        .collect();
    Edit {
        removed,
        added,
        names,
    }
}

fn origin(zone: &ZoneSettings) -> Result<Name, PublishError> {
    Name::from_text(format!("{}.", zone.origin).as_bytes(), None)
        .map_err(|_| PublishError::Name(zone.origin.to_string()))
}

/// The registry as the incremental signer reads it: the zone's records from the domains
/// that own them (a name belongs to the domain it is or lies below, or to the apex), the
/// DNSSEC records from the database.
struct Registry<'a> {
    store: &'a dyn Store,
    publication: &'a mut Publication,
    zone: &'a ZoneSettings,
    origin: Name,
}

impl State for Registry<'_> {
    type Error = PublishError;

    fn node(&mut self, owner: &Name) -> Result<Vec<Record>, PublishError> {
        let mut records: Vec<Record> = apex_records(self.zone)?
            .into_iter()
            .filter(|r| r.owner == *owner)
            .collect();
        // The domain the name is or lies below: one the batch touched (its records are at
        // hand), or else one in the database.
        let mut candidates = Vec::new();
        let mut name = Some(owner.clone());
        while let Some(n) = name {
            if n == self.origin || !n.is_subdomain_of(&self.origin) {
                break;
            }
            let text = n.to_string();
            candidates.push(text.trim_end_matches('.').to_owned());
            name = n.parent();
        }
        for text in &candidates {
            if let Some(output) = self.publication.touched(text) {
                records.extend(output.iter().filter(|r| r.owner == *owner).cloned());
                return Ok(records);
            }
        }
        for text in &candidates {
            if self.store.domain(text)?.is_some() {
                let output = self.publication.output_of(self.store, text)?;
                records.extend(output.into_iter().filter(|r| r.owner == *owner));
                break;
            }
        }
        Ok(records)
    }

    fn dnssec(&mut self, owner: &Name) -> Result<Vec<Record>, PublishError> {
        Ok(self.store.dnssec_at(self.zone.id, owner)?)
    }

    fn chain_at(&mut self, owner: &Name) -> Result<Option<Link>, PublishError> {
        Ok(self.store.chain_at(self.zone.id, owner)?)
    }

    fn chain_before(&mut self, owner: &Name) -> Result<Option<Link>, PublishError> {
        Ok(self.store.chain_before(self.zone.id, owner)?)
    }

    fn chain_below(&mut self, name: &Name, limit: usize) -> Result<Vec<Name>, PublishError> {
        Ok(self.store.chain_below(self.zone.id, name, limit)?)
    }

    fn expiring(
        &mut self,
        before: u32,
        limit: usize,
    ) -> Result<Vec<(Name, RecordType)>, PublishError> {
        Ok(self.store.dnssec_expiring(self.zone.id, before, limit)?)
    }
}
