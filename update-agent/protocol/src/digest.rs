//! The state digest: one SHA-256 that the control plane and a satellite compute, each from its
//! own data, for a zone at a serial — the .org plan's independent checksum.
//!
//! ```text
//! record hash  SHA-256(owner in lower case, wire form · type u16 · class u16 · ttl u32 · rdata)
//! object hash  SHA-256("whois" · 0x00 · the object's JSON in the shared record model)
//! digest       SHA-256("constellation digest v1" · 0x00 · zone length u8 · zone · serial u32 ·
//!                      Σ record hashes · Σ object hashes)      (Σ: sum modulo 2^256)
//! ```
//!
//! The sums make it independent of order, so each side computes it in whatever order its
//! storage yields (the image's, the tree's directories', the database's). The objects are the
//! zone's domains and hosts, and every registrar.

use zonefiles::Zone;
use zonefiles::record::Record;
use zonefiles::whois::Object;

/// A running sum of hashes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sum([u8; 32]);

impl Sum {
    /// Adds one hash.
    pub fn add(&mut self, hash: &[u8]) {
        let mut carry = 0u16;
        for (a, b) in self.0.iter_mut().zip(hash) {
            let total = u16::from(*a) + u16::from(*b) + carry;
            *a = total as u8;
            carry = total >> 8;
        }
    }

    /// Takes one hash away (what [`Sum::add`] added).
    pub fn subtract(&mut self, hash: &[u8]) {
        let mut borrow = 0i16;
        for (a, b) in self.0.iter_mut().zip(hash) {
            let total = i16::from(*a) - i16::from(*b) - borrow;
            *a = total.rem_euclid(256) as u8;
            borrow = i16::from(total < 0);
        }
    }
}

fn sha256(parts: &[&[u8]]) -> ring::digest::Digest {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for part in parts {
        context.update(part);
    }
    context.finish()
}

/// Adds a record.
pub fn add_record(sum: &mut Sum, record: &Record) {
    let owner = record.owner.as_wire().to_ascii_lowercase();
    sum.add(
        sha256(&[
            &owner,
            &record.rtype.0.to_be_bytes(),
            &record.class.0.to_be_bytes(),
            &record.ttl.to_be_bytes(),
            record.rdata.as_ref(),
        ])
        .as_ref(),
    );
}

/// Adds a WHOIS object.
pub fn add_object(sum: &mut Sum, object: &Object) {
    sum.add(&object_hash(object));
}

/// The hash a WHOIS object adds to the sum.
pub fn object_hash(object: &Object) -> [u8; 32] {
    let json = serde_json::to_vec(object).expect("records serialize");
    sha256(&[b"whois\0", &json])
        .as_ref()
        .try_into()
        .expect("32 octets")
}

/// The digest of a zone's state.
pub fn finish(zone: &str, serial: u32, records: &Sum, objects: &Sum) -> [u8; 32] {
    let zone = &zone.as_bytes()[..zone.len().min(255)];
    sha256(&[
        b"constellation digest v1\0",
        &[zone.len() as u8],
        zone,
        &serial.to_be_bytes(),
        &records.0,
        &objects.0,
    ])
    .as_ref()
    .try_into()
    .expect("32 octets")
}

/// The digest of a zone and its WHOIS objects.
pub fn of<'a>(zone: &str, data: &Zone, objects: impl IntoIterator<Item = &'a Object>) -> [u8; 32] {
    let mut sum = Sum::default();
    for object in objects {
        add_object(&mut sum, object);
    }
    finish(zone, data.serial().unwrap_or(0), &records_of(data), &sum)
}

/// The sum of a zone's record hashes.
pub fn records_of(data: &Zone) -> Sum {
    let mut records = Sum::default();
    for record in data.records() {
        add_record(&mut records, record);
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_do_not_depend_on_order() {
        let hashes: Vec<[u8; 32]> = (0..50u8)
            .map(|i| [i.wrapping_mul(97).wrapping_add(1); 32])
            .collect();
        let (mut forward, mut backward) = (Sum::default(), Sum::default());
        for h in &hashes {
            forward.add(h);
        }
        for h in hashes.iter().rev() {
            backward.add(h);
        }
        assert_eq!(forward, backward);
        let mut other = Sum::default();
        for h in &hashes[1..] {
            other.add(h);
        }
        assert_ne!(forward, other);
        // Taking a hash away leaves the sum of the others, carries and borrows included.
        forward.subtract(&hashes[0]);
        assert_eq!(forward, other);
        let (mut up, high) = (Sum::default(), [0xff; 32]);
        up.add(&high);
        up.add(&high);
        up.subtract(&high);
        assert_eq!(up, Sum(high));
        up.subtract(&high);
        assert_eq!(up, Sum::default());
    }
}
