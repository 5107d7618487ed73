//! Additional data (RFC 1034 §4.3.2 step 6): the addresses of the names an NS, MX or SRV
//! RRset points to, from the image's precomputed links (or the overlay, for names changed
//! since), signed when authoritative; glue a referral needs must fit (RFC 9471).

use zonefiles::image::{Image, Rrset};
use zonefiles::{Name, RecordType, rdata};

use super::is_below;
use super::lookup::Lookup;
use super::message::{Section, Writer};
use super::records::Stop;

impl<'z> Lookup<'z> {
    /// Addresses of the names an NS, MX or SRV RRset points to (RFC 1034 §4.3.2 step 6).
    /// For a referral, glue below the cut must fit (RFC 9471): if it does not, TC is set.
    pub(super) fn additional(
        &mut self,
        w: &mut Writer<'_>,
        rtype: RecordType,
        rrset: Rrset<'z>,
        cut: Option<&[u8]>,
    ) -> Result<(), Stop> {
        let Some(field) = rdata::schema::additional_name_field(rtype) else {
            return Ok(());
        };
        // Data pointing into a subtree changed since the image it comes from was built: the
        // overlay holding that subtree has the addresses as they are now.
        let overlaid = self.view.has_overlay();
        for entry in rrset.records_and_addresses() {
            let Ok((rdata, a, aaaa)) = entry else {
                continue;
            };
            let Some(target) = rdata::name_field_wire(rtype, rdata, field) else {
                continue;
            };
            let changed = match overlaid {
                true => self.view.changed_target(target, rrset.image()),
                false => None,
            };
            let (a, aaaa) = match changed {
                Some(overlay) => overlay_addresses(overlay, target),
                None if a.is_none() && aaaa.is_none() => continue,
                None => (a, aaaa),
            };
            // Authoritative addresses are signed; glue below a cut is not (RFC 4035 §3.1.1).
            // The signatures come from the image the addresses come from.
            let signer = match self.dnssec {
                true => {
                    let holder = changed.unwrap_or(rrset.image());
                    Name::from_wire(target)
                        .ok()
                        .and_then(|(name, _)| holder.node(&name).ok().flatten())
                        .filter(|node| !node.is_occluded())
                }
                false => None,
            };
            for (atype, addresses) in [(RecordType::A, a), (RecordType::AAAA, aaaa)] {
                let Some(addresses) = addresses else { continue };
                let before = w.len();
                if self
                    .rrset(w, Section::Additional, target, atype, addresses)
                    .is_err()
                {
                    let required = cut.is_some_and(|cut| is_below(target, cut));
                    if required {
                        self.state.truncated = true;
                    }
                    return Ok(());
                }
                if let Some(node) = signer.filter(|_| w.len() > before) {
                    let mark = w.mark();
                    let ttl = addresses.ttl();
                    if self
                        .sigs(w, Section::Additional, target, atype, ttl, node)
                        .is_err()
                    {
                        // The addresses may stay without their signatures (§3.1.1).
                        w.rewind(mark);
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }
}

/// The A and AAAA RRsets of a name.
type Addresses<'z> = (Option<Rrset<'z>>, Option<Rrset<'z>>);

/// The addresses of `target` in the overlay image.
fn overlay_addresses<'z>(overlay: &'z Image, target: &[u8]) -> Addresses<'z> {
    let Some(node) = Name::from_wire(target)
        .ok()
        .and_then(|(name, _)| overlay.node(&name).ok().flatten())
    else {
        return (None, None);
    };
    (
        node.rrset(RecordType::A).ok().flatten(),
        node.rrset(RecordType::AAAA).ok().flatten(),
    )
}
