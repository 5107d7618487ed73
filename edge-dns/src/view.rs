//! A zone as served: the memory-mapped image of the zone directory plus, once changesets
//! follow it in the journal, a small overlay image holding what they changed.
//!
//! A TLD changes by delegation: each changeset touches a few names right below the apex and
//! their subtrees (`example.tld`, `ns1.example.tld`), and the apex SOA. So the overlay is
//! compiled from the apex and the whole subtrees of every such *label* touched since the base
//! image, with the changesets applied, plus copies of the unchanged addresses its NS, MX and
//! SRV records point to. A query whose name falls in a changed subtree (or is the apex) is
//! answered from the overlay; any other from the base, with the overlay's apex for the SOA and
//! NS the answer carries and the overlay's addresses for additional data in changed subtrees.
//! Building it costs the size of the changed subtrees, not of the zone: milliseconds for a
//! million-delegation zone.
//!
//! Changes the partition cannot express fall back to compiling the whole zone in memory, as
//! the next compaction would: a change to a wildcard or DNAME at the apex, a signed zone (whose
//! NSEC chains cross subtrees), or more than [`MAX_OVERLAY_LABELS`] changed labels.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustc_hash::FxHashSet;
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
    /// The changed labels right below the apex.
    labels: FxHashSet<Box<[u8]>>,
    /// The labels of the zone's origin.
    origin_labels: usize,
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

    /// Changed labels served from the overlay (0 without one).
    pub fn overlay_labels(&self) -> usize {
        self.overlay.as_ref().map_or(0, |o| o.labels.len())
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
        match top_label(name, overlay.origin_labels) {
            Some(label) => overlay.labels.contains(label),
            None => true,
        }
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
        let origin_labels = self.base.origin().label_count();
        overlay.image.for_each_node(|name, node| {
            match top_label(name.as_wire(), origin_labels) {
                // Copies of unchanged addresses are the base's to give.
                Some(label) if !overlay.labels.contains(label) => Ok(()),
                _ => visit(name, node),
            }
        })?;
        self.base.for_each_node(
            |name, node| match top_label(name.as_wire(), origin_labels) {
                Some(label) if !overlay.labels.contains(label) => visit(name, node),
                _ => Ok(()),
            },
        )
    }
}

/// The label right below the apex on the way to `name` (lower-case wire form); `None` for
/// the apex itself.
pub fn top_label(name: &[u8], origin_labels: usize) -> Option<&[u8]> {
    zonefiles::name::label_below(name, origin_labels).map(|(_, label)| label)
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
    let mut labels: FxHashSet<Box<[u8]>> = FxHashSet::default();
    let mut partitioned = !base.is_signed();
    for record in net.removed.iter().chain(&net.added) {
        let wire = record.owner.as_wire();
        match top_label(wire, origin_labels) {
            Some(b"*") => partitioned = false,
            Some(label) => {
                labels.insert(label.into());
            }
            // At the apex: only the SOA, NS and address-like data keep the partition.
            None if matches!(record.rtype, RecordType::DNAME | RecordType::NSEC3PARAM) => {
                partitioned = false
            }
            None => {}
        }
    }
    if !partitioned || labels.len() > MAX_OVERLAY_LABELS {
        let zone = changeset::apply(base.to_zone()?, &net)?;
        let (bytes, _) = image::compile(&zone, |_| {})?;
        return Ok(View::plain(Arc::new(Image::from_bytes(bytes)?)));
    }

    // The apex, the changed subtrees and the apex wildcard's subtree, from the base.
    let mut records = Vec::new();
    let apex = base.apex()?;
    push_node(&mut records, &origin, apex)?;
    let mut wanted: Vec<&[u8]> = labels.iter().map(|l| &**l).collect();
    wanted.push(b"*");
    for label in wanted {
        let Ok(top) = origin.child(label) else {
            continue;
        };
        base.for_each_node_under(&top, |name, node| push_node(&mut records, name, node))?;
    }
    let (part, _) = Zone::new(origin.clone(), base.class(), records);
    let mut zone = changeset::apply(part, &net)?;

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
        match top_label(target.as_wire(), origin_labels) {
            Some(label) if !labels.contains(label) => {}
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
            labels,
            origin_labels,
        }),
        damaged: AtomicBool::new(false),
    })
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
    fn top_labels() {
        let name: Name = "www.example.tld.".parse().unwrap();
        assert_eq!(top_label(name.as_wire(), 1), Some(&b"example"[..]));
        assert_eq!(top_label(name.as_wire(), 2), Some(&b"www"[..]));
        let apex: Name = "tld.".parse().unwrap();
        assert_eq!(top_label(apex.as_wire(), 1), None);
        assert_eq!(top_label(name.as_wire(), 3), None);
        assert_eq!(top_label(name.as_wire(), 4), None);
        assert_eq!(top_label(name.as_wire(), 0), Some(&b"tld"[..]));
        assert_eq!(top_label(b"\x03www\x07exam", 0), None);
    }
}
