//! A zone as served: the memory-mapped image of the zone directory plus, once changesets
//! follow it in the journal, small overlay images holding what they changed.
//!
//! A TLD changes by delegation: each changeset touches a few names right below the apex and
//! their subtrees (`example.tld`, `ns1.example.tld`), and the apex SOA. So an overlay is
//! compiled from the apex and the whole subtrees of every such *partition* touched, with the
//! changesets applied, plus copies of the unchanged addresses its NS, MX and SRV records
//! point to. A query whose name falls in a changed partition (or is the apex) is answered
//! from the overlay; any other from the image below it, with the overlay's apex for the SOA
//! and NS the answer carries and the overlay's addresses for additional data in changed
//! partitions. Building one costs the size of the changed partitions, not of the zone.
//!
//! A partition is the subtree of a label right below the apex (`example.tld`), or, in a zone
//! that registers at the third level (`john.smith.name`), of the two labels below it, when the
//! label right below the apex (`smith.name`) is an empty non-terminal that the change leaves
//! one: it has no records of its own before or after, no wildcard below it changes, and some
//! child the change does not touch keeps it in existence. Its own answers (NODATA) then stay
//! the lower image's, and a change under it costs one registration's subtree, not every
//! registration of the surname.
//!
//! # Frozen overlays
//!
//! The changesets after the image accumulate until the update-agent folds them into the next
//! image; at a registry of a million names that is tens of thousands of them (the agent folds
//! after a share of the image's names). One overlay compiled again from all of them at every
//! change would cost everything changed since the image, at every change. So only the
//! *newer* overlay, holding the partitions changed since the last freeze, is built again at
//! each change ([`extend`]), over the view below it (its partitions read from there). Once it
//! holds [`FREEZE_MIN`] partitions, or the square root of those already frozen if more, it is
//! *frozen*: it joins the frozen overlays as it is, never compiled again, and a map from each
//! partition to the frozen overlay that changed it last (an index into the list: the newest
//! wins) takes its partitions. A change then costs the newer overlay (at most √P partitions
//! for P changed since the image) and, at each freeze, a copy of the map: costs that follow
//! the change, not the registry or the time since the last fold. A query looks in the newer
//! overlay's partitions and in the map, two hash look-ups (three under a surname partitioned
//! further down).
//!
//! A frozen overlay's apex is as it was when it was built; the current apex (the SOA and NS
//! every answer carries) is the newest overlay's. The addresses a record points to come from
//! the overlay holding the target's partition if one does, from the record's own image (its
//! links, or the copies made when it was built, unchanged since) otherwise.
//!
//! A zone signed with NSEC3 partitions as well: each hashed owner is a label right below the
//! apex, so a change's NSEC3 records are partitions of their own, and the chain as served is
//! read across the images ([`View::nsec3_covering`]: the greatest owner hash below the one
//! asked among those each image answers for). The copies of unchanged addresses carry their
//! signatures.
//!
//! Changes the partitions cannot express fall back to compiling the whole zone in memory, as
//! the next fold would: a change to a wildcard or DNAME at the apex or to the NSEC3
//! parameters, a zone signed with NSEC (whose chain runs through every partition), or more
//! changed partitions than half the image's names.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use rustc_hash::{FxHashMap, FxHashSet};
use zonefiles::changeset::{self, Changeset};
use zonefiles::image::{self, Find, Image, ImageError, NSEC3_HASH_LEN, Node, Nsec3Params, Owned};
use zonefiles::rdata;
use zonefiles::record::Record;
use zonefiles::{Name, RecordType, Zone};

/// The fewest partitions the newer overlay holds when it is frozen.
pub const FREEZE_MIN: usize = 32;

/// Below this many changed partitions an overlay is always built, however small the zone.
const OVERLAY_FLOOR: usize = 1_000;

/// A served zone: a base image, the overlays frozen on it, and the newer overlay.
#[derive(Debug)]
pub struct View {
    base: Arc<Image>,
    /// Of the changesets after the directory's image, how many `base` holds: none for the
    /// directory's image, all there were for a zone compiled whole.
    base_covers: usize,
    frozen: Arc<Frozen>,
    /// The partitions changed since the last freeze.
    newer: Option<Arc<Overlay>>,
    /// A query found bytes of the base image that do not read ([`View::mark_damaged`]).
    damaged: AtomicBool,
    /// The NSEC3 hash of the zone's name, the closest encloser of nearly every denial in a
    /// TLD: hashed once per view ([`View::origin_hash`]).
    origin_hash: OnceLock<[u8; NSEC3_HASH_LEN]>,
}

#[derive(Debug)]
struct Overlay {
    image: Image,
    /// The changed partitions, each as the wire form of its labels below the apex: one label
    /// (`\x07example`), or two below a label of `deep` (`\x04john\x05smith`).
    keys: FxHashSet<Box<[u8]>>,
    /// The labels right below the apex (raw) partitioned one label further down.
    deep: FxHashSet<Box<[u8]>>,
    /// The labels of the zone's origin.
    origin_labels: usize,
    /// Of the changesets after the directory's image, how many this overlay (with the images
    /// below it) holds.
    covers: usize,
}

/// The overlays frozen on a base, oldest first, and which answers for each partition.
#[derive(Debug, Default)]
struct Frozen {
    overlays: Vec<Arc<Overlay>>,
    /// Each partition (as in [`Overlay::keys`]) → the newest overlay that changed it.
    holders: FxHashMap<Box<[u8]>, u32>,
    /// Labels right below the apex (raw) that some overlay partitioned one label further down.
    deep: FxHashSet<Box<[u8]>>,
}

impl Frozen {
    /// The frozen overlay answering for `name` (lower-case wire form, inside the zone): the
    /// newest holding its partition; for the apex, the newest of all.
    fn holder(&self, name: &[u8]) -> Option<&Overlay> {
        let last = self.overlays.last()?;
        let Some((top, label)) = zonefiles::name::label_below(name, last.origin_labels) else {
            return Some(last);
        };
        let end = top + 1 + label.len();
        let whole = self.holders.get(&name[top..end]).copied();
        let below = match self.deep.contains(label) {
            true => zonefiles::name::label_below(name, last.origin_labels + 1)
                .and_then(|(second, _)| self.holders.get(&name[second..end]).copied()),
            false => None,
        };
        let newest = whole.into_iter().chain(below).max()?;
        Some(&self.overlays[newest as usize])
    }

    /// Of the changesets after the directory's image, how many the newest overlay holds.
    fn covers(&self) -> Option<usize> {
        self.overlays.last().map(|o| o.covers)
    }

    /// These overlays and `overlay` frozen after them.
    fn with(&self, overlay: Arc<Overlay>) -> Frozen {
        let index = self.overlays.len() as u32;
        let mut holders = self.holders.clone();
        holders.extend(overlay.keys.iter().map(|key| (key.clone(), index)));
        let mut deep = self.deep.clone();
        deep.extend(overlay.deep.iter().cloned());
        let mut overlays = self.overlays.clone();
        overlays.push(overlay);
        Frozen {
            overlays,
            holders,
            deep,
        }
    }

    /// The newer overlay's size at which it is frozen.
    fn freeze_at(&self, least: usize) -> usize {
        least.max(self.holders.len().isqrt())
    }
}

/// Where a name falls among an overlay's partitions.
#[derive(Debug, PartialEq, Eq)]
enum Part<'a> {
    /// The apex.
    Apex,
    /// This partition (wire form of its labels below the apex).
    Key(&'a [u8]),
    /// A label right below the apex that is partitioned further down: unchanged itself.
    Above,
}

impl Overlay {
    fn part<'a>(&self, name: &'a [u8]) -> Part<'a> {
        part(name, self.origin_labels, &self.deep)
    }

    /// True if `name`'s answers come from this overlay.
    fn holds(&self, name: &[u8]) -> bool {
        match self.part(name) {
            Part::Apex => true,
            Part::Key(key) => self.keys.contains(key),
            Part::Above => false,
        }
    }
}

/// Where `name` (lower-case wire form, inside the zone) falls, with `deep` the labels right
/// below the apex partitioned one label further down.
fn part<'a>(name: &'a [u8], origin_labels: usize, deep: &FxHashSet<Box<[u8]>>) -> Part<'a> {
    let Some((top, label)) = zonefiles::name::label_below(name, origin_labels) else {
        return Part::Apex;
    };
    let end = top + 1 + label.len();
    if deep.is_empty() || !deep.contains(label) {
        return Part::Key(&name[top..end]);
    }
    match zonefiles::name::label_below(name, origin_labels + 1) {
        Some((second, _)) => Part::Key(&name[second..end]),
        None => Part::Above,
    }
}

impl View {
    /// A view of an image alone.
    pub fn plain(image: Arc<Image>) -> View {
        View {
            base: image,
            base_covers: 0,
            frozen: Arc::default(),
            newer: None,
            damaged: AtomicBool::new(false),
            origin_hash: OnceLock::new(),
        }
    }

    /// Notes that a query could not read the image (the engine answered SERVFAIL); the
    /// follower withdraws the zone at its next poll.
    pub fn mark_damaged(&self) {
        self.damaged.store(true, Ordering::Relaxed);
    }

    /// True once a query could not read the image.
    pub fn is_damaged(&self) -> bool {
        self.damaged.load(Ordering::Relaxed)
    }

    /// The base image.
    pub fn base(&self) -> &Arc<Image> {
        &self.base
    }

    /// The zone's origin.
    pub fn origin(&self) -> &Name {
        self.base.origin()
    }

    /// The serial served (the newest overlay's, once there is one).
    pub fn serial(&self) -> u32 {
        self.apex_image().serial()
    }

    /// The image holding the current apex: the newest overlay's, or the base.
    pub fn apex_image(&self) -> &Image {
        match (&self.newer, self.frozen.overlays.last()) {
            (Some(newer), _) => &newer.image,
            (None, Some(frozen)) => &frozen.image,
            (None, None) => &self.base,
        }
    }

    /// True once changes are served from an overlay.
    pub fn has_overlay(&self) -> bool {
        self.newer.is_some() || !self.frozen.overlays.is_empty()
    }

    /// The frozen overlays.
    pub fn frozen_overlays(&self) -> usize {
        self.frozen.overlays.len()
    }

    /// Changed partitions served from the newer overlay (0 without one).
    pub fn newer_labels(&self) -> usize {
        self.newer.as_ref().map_or(0, |o| o.keys.len())
    }

    /// Changed partitions served from the overlays, frozen and newer (a partition in both
    /// counted twice; 0 without any).
    pub fn overlay_labels(&self) -> usize {
        self.frozen.holders.len() + self.newer_labels()
    }

    /// Of the changesets after the directory's image, how many this view holds.
    pub fn covers(&self) -> usize {
        match &self.newer {
            Some(newer) => newer.covers,
            None => self.frozen.covers().unwrap_or(self.base_covers),
        }
    }

    /// The overlay answering for `name` (lower-case wire form, inside the zone), if one does.
    fn holder(&self, name: &[u8]) -> Option<&Overlay> {
        match &self.newer {
            Some(newer) if newer.holds(name) => Some(newer),
            _ => self.frozen.holder(name),
        }
    }

    /// The image that answers for `name` (lower-case wire form, inside the zone).
    pub fn image_for(&self, name: &[u8]) -> &Image {
        self.holder(name).map_or(&self.base, |o| &o.image)
    }

    /// Where the addresses of `target` (lower-case wire form), which a record of `image`
    /// points to, are now when not in `image`'s own links: the overlay holding the target's
    /// partition, unless that is `image` itself. `None`: `image`'s links are current (its
    /// copies were made when it was built, and the partition has not changed since).
    pub fn changed_target(&self, target: &[u8], image: &Image) -> Option<&Image> {
        self.holder(target)
            .map(|o| &o.image)
            .filter(|holder| !std::ptr::eq(*holder, image))
    }

    /// Calls `visit` with every name and node of the zone as served: each from the image that
    /// answers for it (copies of unchanged addresses are the lower image's to give).
    pub fn for_each_node(
        &self,
        mut visit: impl FnMut(&Name, Node<'_>) -> Result<(), ImageError>,
    ) -> Result<(), ImageError> {
        for image in self.images() {
            image.for_each_node(|name, node| match self.answers(image, name) {
                true => visit(name, node),
                false => Ok(()),
            })?;
        }
        Ok(())
    }

    /// [`View::for_each_node`] for `name` and the names below it.
    fn for_each_node_under(
        &self,
        name: &Name,
        mut visit: impl FnMut(&Name, Node<'_>) -> Result<(), ImageError>,
    ) -> Result<(), ImageError> {
        for image in self.images() {
            image.for_each_node_under(name, |name, node| match self.answers(image, name) {
                true => visit(name, node),
                false => Ok(()),
            })?;
        }
        Ok(())
    }

    /// The node of `name` as served.
    fn node(&self, name: &Name) -> Result<Option<Node<'_>>, ImageError> {
        self.image_for(name.as_wire()).node(name)
    }

    /// The base and the overlays, newest first.
    fn images(&self) -> impl Iterator<Item = &Image> {
        self.newer
            .iter()
            .chain(self.frozen.overlays.iter().rev())
            .map(|o| &o.image)
            .chain(std::iter::once(&*self.base))
    }

    fn answers(&self, image: &Image, name: &Name) -> bool {
        std::ptr::eq(self.image_for(name.as_wire()), image)
    }

    /// The NSEC3 hash of the zone's name under `params`, the parameters of this view's apex
    /// (the same for every call on one view).
    pub fn origin_hash(&self, params: Nsec3Params<'_>) -> &[u8; NSEC3_HASH_LEN] {
        self.origin_hash
            .get_or_init(|| params.hash(self.origin().as_wire()))
    }

    /// The NSEC3 record whose owner is the hash `hash`, from the image answering for that
    /// owner (RFC 5155 §7.2: "matches").
    pub fn nsec3_matching(
        &self,
        hash: &[u8; NSEC3_HASH_LEN],
    ) -> Result<Option<(Owned<'_>, &Image)>, ImageError> {
        if !self.has_overlay() {
            return Ok(self
                .base
                .nsec3_matching(hash)?
                .map(|found| (found, &*self.base)));
        }
        let owner = self
            .origin()
            .child(&image::base32hex(hash))
            .map_err(|_| ImageError::Corrupt(0))?;
        let image = self.image_for(owner.as_wire());
        Ok(image.nsec3_matching(hash)?.map(|found| (found, image)))
    }

    /// The NSEC3 record that covers `hash` in the chain as served (RFC 5155 §7.2: "covers"):
    /// the greatest owner hash below it among the records each image answers for, from the
    /// base and every overlay; the chain's last if none is below.
    pub fn nsec3_covering(
        &self,
        hash: &[u8; NSEC3_HASH_LEN],
    ) -> Result<Option<(Owned<'_>, &Image)>, ImageError> {
        if !self.has_overlay() {
            return Ok(self
                .base
                .nsec3_covering(hash)?
                .map(|found| (found, &*self.base)));
        }
        for bound in [Some(hash), None] {
            let mut best: Option<(Owned<'_>, &Image)> = None;
            for image in self.images() {
                let found = image.nsec3_before(bound, |owner| self.answers(image, owner))?;
                if let Some((owner, node)) = found
                    && best.as_ref().is_none_or(|((b, _), _)| owner > *b)
                {
                    best = Some(((owner, node), image));
                }
            }
            if best.is_some() {
                return Ok(best);
            }
        }
        Ok(None)
    }

    /// The zone as served, whole.
    fn to_zone(&self) -> Result<Zone, ImageError> {
        if !self.has_overlay() {
            return self.base.to_zone();
        }
        let mut records = Vec::new();
        self.for_each_node(|name, node| push_node(&mut records, name, node))?;
        Ok(Zone::new(self.origin().clone(), self.base.class(), records).0)
    }

    /// This view's base and frozen overlays, and `newer`.
    fn with_newer(&self, frozen: Arc<Frozen>, newer: Option<Arc<Overlay>>) -> View {
        View {
            base: self.base.clone(),
            base_covers: self.base_covers,
            frozen,
            newer,
            damaged: AtomicBool::new(false),
            origin_hash: OnceLock::new(),
        }
    }
}

/// Why a view could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// The base image could not be read.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The changesets do not apply.
    #[error(transparent)]
    Patch(#[from] changeset::PatchError),
    /// The result could not be compiled.
    #[error(transparent)]
    Compile(#[from] image::CompileError),
}

/// The view of `base` with `pending` (the changesets after it, in order) applied: one
/// overlay when the changes stay inside partitions, the whole zone compiled again otherwise.
pub fn build(base: Arc<Image>, pending: &[Arc<Changeset>]) -> Result<View, ViewError> {
    extend(&View::plain(base), pending)
}

/// `served` (a view holding the first [`View::covers`] changesets of `pending`, which follow
/// its base) with the rest of `pending` applied: its newer overlay built again with them, or,
/// once it holds [`FREEZE_MIN`] partitions (or the square root of those frozen), frozen and a
/// new one started. The whole zone is compiled again when the change cannot be partitioned.
pub fn extend(served: &View, pending: &[Arc<Changeset>]) -> Result<View, ViewError> {
    extend_freezing_at(served, pending, FREEZE_MIN)
}

/// [`extend`], freezing the newer overlay once it holds at least `least` partitions.
pub fn extend_freezing_at(
    served: &View,
    pending: &[Arc<Changeset>],
    least: usize,
) -> Result<View, ViewError> {
    let frozen = match &served.newer {
        Some(newer) if newer.keys.len() >= served.frozen.freeze_at(least) => {
            Arc::new(served.frozen.with(newer.clone()))
        }
        _ => served.frozen.clone(),
    };
    let lower = served.with_newer(frozen, None);
    let covered = lower.covers().min(pending.len());
    let Some(net) = changeset::compose(pending[covered..].iter().map(|c| &**c))? else {
        return Ok(served.with_newer(served.frozen.clone(), served.newer.clone()));
    };
    match overlay(&lower, &net, pending.len())? {
        Some(newer) => Ok(lower.with_newer(lower.frozen.clone(), Some(Arc::new(newer)))),
        None => {
            let zone = changeset::apply(lower.to_zone()?, &net)?;
            let (bytes, _) = image::compile(&zone, |_| {})?;
            let mut whole = View::plain(Arc::new(Image::from_bytes(bytes)?));
            whole.base_covers = pending.len();
            Ok(whole)
        }
    }
}

/// The overlay over `source` that the change `net` makes, holding `covers` changesets; `None`
/// when the change cannot be partitioned.
fn overlay(source: &View, net: &Changeset, covers: usize) -> Result<Option<Overlay>, ViewError> {
    let origin = source.origin().clone();
    let origin_labels = origin.label_count();
    let mut tops: FxHashMap<Box<[u8]>, Touched> = FxHashMap::default();
    // A signed zone partitions when its chain is NSEC3: each hashed owner is a label right
    // below the apex, so a partition of its own, and the chain as served is read across the
    // images ([`View::nsec3_covering`]). An NSEC chain runs through the partitions: the
    // whole zone is compiled again.
    if source.apex_image().is_signed() && source.apex_image().nsec3_params()?.is_none() {
        return Ok(None);
    }
    for record in net.removed.iter().chain(&net.added) {
        let wire = record.owner.as_wire();
        match zonefiles::name::label_below(wire, origin_labels) {
            Some((_, b"*")) => return Ok(None),
            Some((top, label)) => {
                let touched = tops.entry(label.into()).or_default();
                match zonefiles::name::label_below(wire, origin_labels + 1) {
                    Some((_, b"*")) | None => touched.whole = true,
                    Some((second, _)) => {
                        touched
                            .below
                            .insert(wire[second..top + 1 + label.len()].into());
                    }
                }
            }
            // At the apex: only the SOA, NS and address-like data keep the partition.
            None if matches!(record.rtype, RecordType::DNAME | RecordType::NSEC3PARAM) => {
                return Ok(None);
            }
            None => {}
        }
    }
    let most = OVERLAY_FLOOR.max(source.base.header().nodes as usize / 2);
    if tops.len() > most {
        return Ok(None);
    }
    // The apex, the changed partitions and the wildcards' subtrees, as served below.
    let mut records = Vec::new();
    push_node(&mut records, &origin, source.apex_image().apex()?)?;
    let mut keys: FxHashSet<Box<[u8]>> = FxHashSet::default();
    let mut deep: FxHashSet<Box<[u8]>> = FxHashSet::default();
    let mut wanted: Vec<Name> = vec![origin.child(b"*").map_err(|_| ImageError::Corrupt(0))?];
    for (label, Touched { below, whole }) in tops {
        let top = origin.child(&label).map_err(|_| ImageError::Corrupt(0))?;
        if !whole && stays_empty_non_terminal(source, &top, &below)? {
            if source.node(&top)?.is_some_and(|n| n.has_wildcard_child()) {
                wanted.push(top.child(b"*").map_err(|_| ImageError::Corrupt(0))?);
            }
            for key in below {
                wanted.push(name_of(&key, &origin)?);
                keys.insert(key);
            }
            deep.insert(label);
        } else {
            let mut key = Vec::with_capacity(label.len() + 1);
            key.push(label.len() as u8);
            key.extend_from_slice(&label);
            keys.insert(key.into());
            wanted.push(top);
        }
    }
    if keys.len() > most {
        return Ok(None);
    }
    for name in &wanted {
        source.for_each_node_under(name, |name, node| push_node(&mut records, name, node))?;
    }
    let class = source.base.class();
    let (changed, _) = Zone::new(origin.clone(), class, records);
    let mut zone = changeset::apply(changed, net)?;

    // Copies of the unchanged addresses the changed data points to, so the overlay's
    // additional data is whole.
    let mut copies = Vec::new();
    for record in zone.records() {
        let Some(field) = rdata::schema::additional_name_field(record.rtype) else {
            continue;
        };
        let Some(target) = rdata::name_field(record.rtype, &record.rdata, field) else {
            continue;
        };
        if !target.is_subdomain_of(&origin) {
            continue;
        }
        match part(target.as_wire(), origin_labels, &deep) {
            Part::Key(key) if !keys.contains(key) => {}
            Part::Above => {}
            _ => continue,
        }
        let holder = source.image_for(target.as_wire());
        if let Some(node) = holder.node(&target)? {
            for rtype in [RecordType::A, RecordType::AAAA, RecordType::RRSIG] {
                if let Some(set) = node.rrset(rtype)? {
                    for rdata in set.records() {
                        let rdata = rdata?;
                        // In a signed zone, the addresses' signatures go with them.
                        let covers_address = rdata.get(..2).is_some_and(|c| {
                            c == RecordType::A.0.to_be_bytes()
                                || c == RecordType::AAAA.0.to_be_bytes()
                        });
                        if rtype == RecordType::RRSIG && !covers_address {
                            continue;
                        }
                        copies.push(Record {
                            owner: target.clone(),
                            rtype,
                            class,
                            ttl: set.ttl(),
                            rdata: rdata.into(),
                        });
                    }
                }
            }
        }
        // A target below another delegation stays glue: copy that cut too.
        if let Find::Referral { cut, offset } = holder.find(&target)? {
            let cut_name = Name::from_wire(&target.as_wire()[offset..])
                .map_err(|_| ImageError::Corrupt(0))?
                .0;
            push_node(&mut copies, &cut_name, cut)?;
        }
    }
    if !copies.is_empty() {
        let mut all = zone.records().to_vec();
        all.extend(copies);
        zone = Zone::new(origin, class, all).0;
    }
    let (bytes, _) = image::compile(&zone, |_| {})?;
    Ok(Some(Overlay {
        image: Image::from_bytes(bytes)?,
        keys,
        deep,
        origin_labels,
        covers,
    }))
}

/// What a change touches under one label right below the apex.
#[derive(Default)]
struct Touched {
    /// The two-label partitions changed under it (wire form of their labels below the apex).
    below: FxHashSet<Box<[u8]>>,
    /// Whether the change reaches the label's own node, or a wildcard right below it.
    whole: bool,
}

/// Whether `top` (a name right below the apex) is an empty non-terminal as `source` serves it
/// that a change of the two-label partitions `changed` below it leaves one: some child of it,
/// served by the image that holds `top`'s own node, is not among them (looked for among that
/// image's first `changed.len() + 8` children only).
fn stays_empty_non_terminal(
    source: &View,
    top: &Name,
    changed: &FxHashSet<Box<[u8]>>,
) -> Result<bool, ImageError> {
    let image = source.image_for(top.as_wire());
    if !image
        .node(top)?
        .is_some_and(|node| node.is_empty_non_terminal())
    {
        return Ok(false);
    }
    let origin = source.origin().as_wire().len();
    let untouched = image.children(top, changed.len() + 8)?.iter().any(|child| {
        let wire = child.as_wire();
        !changed.contains(&wire[..wire.len() - origin])
            && std::ptr::eq(source.image_for(wire), image)
    });
    Ok(untouched)
}

/// The name of a partition: its labels below the apex (wire form), then the origin's.
fn name_of(key: &[u8], origin: &Name) -> Result<Name, ImageError> {
    let wire = [key, origin.as_wire()].concat();
    Ok(Name::from_wire(&wire)
        .map_err(|_| ImageError::Corrupt(0))?
        .0)
}

/// Appends the records of one node.
fn push_node(records: &mut Vec<Record>, name: &Name, node: Node<'_>) -> Result<(), ImageError> {
    for rrset in node.rrsets() {
        let (rtype, set) = rrset?;
        for rdata in set.records() {
            records.push(Record {
                owner: name.clone(),
                rtype,
                class: zonefiles::Class::IN,
                ttl: set.ttl(),
                rdata: rdata?.into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fall_in_partitions() {
        let origin_labels = 1;
        let name = |text: &str| text.parse::<Name>().unwrap();
        let none = FxHashSet::default();
        let deep: FxHashSet<Box<[u8]>> = [b"smith"[..].into()].into_iter().collect();
        let www = name("www.john.smith.name.");
        assert_eq!(
            part(www.as_wire(), origin_labels, &none),
            Part::Key(b"\x05smith")
        );
        assert_eq!(
            part(www.as_wire(), origin_labels, &deep),
            Part::Key(b"\x04john\x05smith")
        );
        let smith = name("smith.name.");
        assert_eq!(part(smith.as_wire(), origin_labels, &deep), Part::Above);
        assert_eq!(
            part(smith.as_wire(), origin_labels, &none),
            Part::Key(b"\x05smith")
        );
        let other = name("ns1.jones.name.");
        assert_eq!(
            part(other.as_wire(), origin_labels, &deep),
            Part::Key(b"\x05jones")
        );
        assert_eq!(
            part(name("name.").as_wire(), origin_labels, &deep),
            Part::Apex
        );
    }
}
