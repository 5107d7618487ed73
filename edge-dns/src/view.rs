//! A zone as served: the memory-mapped image of the zone directory plus, once changesets
//! follow it in the journal, a small overlay image holding what they changed.
//!
//! A TLD changes by delegation: each changeset touches a few names right below the apex and
//! their subtrees (`example.tld`, `ns1.example.tld`), and the apex SOA. So the overlay is
//! compiled from the apex and the whole subtrees of every such *partition* touched since the
//! base image, with the changesets applied, plus copies of the unchanged addresses its NS, MX
//! and SRV records point to. A query whose name falls in a changed partition (or is the apex)
//! is answered from the overlay; any other from the base, with the overlay's apex for the SOA
//! and NS the answer carries and the overlay's addresses for additional data in changed
//! partitions. Building it costs the size of the changed partitions, not of the zone:
//! milliseconds for a million-delegation zone.
//!
//! A partition is the subtree of a label right below the apex (`example.tld`), or, in a zone
//! that registers at the third level (`john.smith.name`), of the two labels below it, when the
//! label right below the apex (`smith.name`) is an empty non-terminal that the change leaves
//! one: it has no records of its own before or after, no wildcard below it changes, and some
//! child the change does not touch keeps it in existence. Its own answers (NODATA) then stay
//! the base's, and a change under it costs one registration's subtree, not every registration
//! of the surname.
//!
//! Changes the partition cannot express fall back to compiling the whole zone in memory, as
//! the next compaction would: a change to a wildcard or DNAME at the apex, a signed zone (whose
//! NSEC chains cross subtrees), or more than [`MAX_OVERLAY_LABELS`] changed labels.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustc_hash::{FxHashMap, FxHashSet};
use zonefiles::changeset::{self, Changeset};
use zonefiles::image::{self, Find, Image, ImageError, Node};
use zonefiles::rdata;
use zonefiles::record::Record;
use zonefiles::{Name, RecordType, Zone};

/// Above this many changed labels, the whole zone is compiled instead.
pub const MAX_OVERLAY_LABELS: usize = 100_000;

/// A served zone: a base image and, possibly, an overlay.
#[derive(Debug)]
pub struct View {
    base: Arc<Image>,
    overlay: Option<Overlay>,
    /// A query found bytes of the base image that do not read ([`View::mark_damaged`]).
    damaged: AtomicBool,
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

    /// True if `name`'s answers come from the overlay.
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
            overlay: None,
            damaged: AtomicBool::new(false),
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

    /// The serial served (the overlay's, once there is one).
    pub fn serial(&self) -> u32 {
        self.apex_image().serial()
    }

    /// The image holding the current apex.
    pub fn apex_image(&self) -> &Image {
        self.overlay.as_ref().map_or(&*self.base, |o| &o.image)
    }

    /// True once changes are served from an overlay.
    pub fn has_overlay(&self) -> bool {
        self.overlay.is_some()
    }

    /// Changed partitions served from the overlay (0 without one).
    pub fn overlay_labels(&self) -> usize {
        self.overlay.as_ref().map_or(0, |o| o.keys.len())
    }

    /// The image that answers for `name` (lower-case wire form, inside the zone).
    pub fn image_for(&self, name: &[u8]) -> &Image {
        match &self.overlay {
            Some(o) if self.changed(o, name) => &o.image,
            _ => &self.base,
        }
    }

    /// The overlay image when `name`'s subtree changed since the base image.
    pub fn overlay_for(&self, name: &[u8]) -> Option<&Image> {
        self.overlay
            .as_ref()
            .filter(|o| self.changed(o, name))
            .map(|o| &o.image)
    }

    fn changed(&self, overlay: &Overlay, name: &[u8]) -> bool {
        overlay.holds(name)
    }

    /// Calls `visit` with every name and node of the zone as served: the overlay's apex and
    /// changed subtrees, and the rest of the base.
    pub fn for_each_node(
        &self,
        mut visit: impl FnMut(&Name, Node<'_>) -> Result<(), ImageError>,
    ) -> Result<(), ImageError> {
        let Some(overlay) = &self.overlay else {
            return self.base.for_each_node(visit);
        };
        // Copies of unchanged addresses are the base's to give.
        overlay
            .image
            .for_each_node(|name, node| match overlay.holds(name.as_wire()) {
                true => visit(name, node),
                false => Ok(()),
            })?;
        self.base
            .for_each_node(|name, node| match overlay.holds(name.as_wire()) {
                true => Ok(()),
                false => visit(name, node),
            })
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

/// The view of `base` with `changesets` (which follow it) applied: an overlay when the changes
/// stay inside subtrees below the apex, the whole zone compiled again otherwise.
pub fn build(base: Arc<Image>, changesets: &[Changeset]) -> Result<View, ViewError> {
    let Some(net) = changeset::compose(changesets)? else {
        return Ok(View::plain(base));
    };
    let origin = base.origin().clone();
    let origin_labels = origin.label_count();
    let mut tops: FxHashMap<Box<[u8]>, Touched> = FxHashMap::default();
    let mut partitioned = !base.is_signed();
    for record in net.removed.iter().chain(&net.added) {
        let wire = record.owner.as_wire();
        match zonefiles::name::label_below(wire, origin_labels) {
            Some((_, b"*")) => partitioned = false,
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
                partitioned = false
            }
            None => {}
        }
    }
    if !partitioned || tops.len() > MAX_OVERLAY_LABELS {
        return whole_zone(&base, &net);
    }
    // The apex, the changed partitions and the wildcards' subtrees, from the base.
    let mut records = Vec::new();
    let apex = base.apex()?;
    push_node(&mut records, &origin, apex)?;
    let mut keys: FxHashSet<Box<[u8]>> = FxHashSet::default();
    let mut deep: FxHashSet<Box<[u8]>> = FxHashSet::default();
    let mut wanted: Vec<Name> = vec![origin.child(b"*").map_err(|_| ImageError::Corrupt(0))?];
    for (label, Touched { below, whole }) in tops {
        let top = origin.child(&label).map_err(|_| ImageError::Corrupt(0))?;
        if !whole && stays_empty_non_terminal(&base, &top, &below)? {
            if base.node(&top)?.is_some_and(|n| n.has_wildcard_child()) {
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
    if keys.len() > MAX_OVERLAY_LABELS {
        return whole_zone(&base, &net);
    }
    for name in &wanted {
        base.for_each_node_under(name, |name, node| push_node(&mut records, name, node))?;
    }
    let (changed, _) = Zone::new(origin.clone(), base.class(), records);
    let mut zone = changeset::apply(changed, &net)?;

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
        if let Some(node) = base.node(&target)? {
            for rtype in [RecordType::A, RecordType::AAAA] {
                if let Some(set) = node.rrset(rtype)? {
                    for rdata in set.records() {
                        copies.push(Record {
                            owner: target.clone(),
                            rtype,
                            class: base.class(),
                            ttl: set.ttl(),
                            rdata: rdata?.into(),
                        });
                    }
                }
            }
        }
        // A target below another delegation stays glue: copy that cut too.
        if let Find::Referral { cut, offset } = base.find(&target)? {
            let cut_name = Name::from_wire(&target.as_wire()[offset..])
                .map_err(|_| ImageError::Corrupt(0))?
                .0;
            push_node(&mut copies, &cut_name, cut)?;
        }
    }
    if !copies.is_empty() {
        let mut all = zone.records().to_vec();
        all.extend(copies);
        zone = Zone::new(origin, base.class(), all).0;
    }
    let (bytes, _) = image::compile(&zone, |_| {})?;
    Ok(View {
        base,
        overlay: Some(Overlay {
            image: Image::from_bytes(bytes)?,
            keys,
            deep,
            origin_labels,
        }),
        damaged: AtomicBool::new(false),
    })
}

/// What a change touches under one label right below the apex.
#[derive(Default)]
struct Touched {
    /// The two-label partitions changed under it (wire form of their labels below the apex).
    below: FxHashSet<Box<[u8]>>,
    /// Whether the change reaches the label's own node, or a wildcard right below it.
    whole: bool,
}

/// The base with the net change applied, compiled whole (what the next compaction makes).
fn whole_zone(base: &Image, net: &Changeset) -> Result<View, ViewError> {
    let zone = changeset::apply(base.to_zone()?, net)?;
    let (bytes, _) = image::compile(&zone, |_| {})?;
    Ok(View::plain(Arc::new(Image::from_bytes(bytes)?)))
}

/// Whether `top` (a name right below the apex) is an empty non-terminal of the base that a
/// change of the two-label partitions `changed` below it leaves one: some child of it in the
/// base is not among them (looked for among the first `changed.len() + 1` children only).
fn stays_empty_non_terminal(
    base: &Image,
    top: &Name,
    changed: &FxHashSet<Box<[u8]>>,
) -> Result<bool, ImageError> {
    if !base
        .node(top)?
        .is_some_and(|node| node.is_empty_non_terminal())
    {
        return Ok(false);
    }
    let origin = base.origin().as_wire().len();
    let untouched = base.children(top, changed.len() + 1)?.iter().any(|child| {
        let wire = child.as_wire();
        !changed.contains(&wire[..wire.len() - origin])
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
