//! What a batch of writes changes in the indexes, from the records before and after it.

use std::collections::BTreeMap;

use super::segment::{self, Kind, TOMBSTONE};
use crate::whois::Object;

/// The index keys an object contributes, with their values (0 for the sets).
pub fn keys_of(object: &Object) -> Vec<(Kind, String, u64)> {
    match object {
        Object::Domain(d) => {
            let mut keys = vec![(Kind::Domain, d.name.clone(), 0)];
            for ns in &d.nameservers {
                keys.push((Kind::Nameserver, format!("{}\0{}", ns.name, d.name), 0));
            }
            keys
        }
        Object::Host(h) => h
            .addresses
            .iter()
            .map(|a| (Kind::Address, format!("{a}\0{}", h.name), 0))
            .collect(),
        Object::Registrar(r) => vec![(
            Kind::Registrar,
            registrar_key(&r.name),
            u64::from(r.iana_id),
        )],
    }
}

/// How registrar names are compared: case, spacing and final dots do not count ("Example
/// Registrar, Inc." is "example registrar, inc").
pub fn registrar_key(name: &str) -> String {
    let words: Vec<String> = name.split_whitespace().map(str::to_lowercase).collect();
    words.join(" ").trim_end_matches('.').to_owned()
}

/// Changes to the indexes: what records were before and are after a batch of writes. Added to
/// the index as one small segment ([`super::Writer::add`]); nothing else is read or written.
///
/// Each key's last change wins, whatever came before it in the batch: a key added and then
/// removed again (a domain created and deleted, a name server set and dropped) is removed. Keys
/// name their object, so changes of different objects never touch the same key and may be
/// recorded in any order; one object's changes are recorded in the order they happened.
#[derive(Debug, Default)]
pub struct Delta {
    /// (index, key) → its value, or `None` if removed.
    changes: BTreeMap<(Kind, String), Option<u64>>,
}

impl Delta {
    /// Notes one object's change (`None`: absent before, or deleted).
    pub fn record(&mut self, before: Option<&Object>, after: Option<&Object>) {
        let new = after.map(keys_of).unwrap_or_default();
        for (kind, key, _) in before.map(keys_of).unwrap_or_default() {
            if !new.iter().any(|(k, n, _)| *k == kind && *n == key) {
                self.changes.insert((kind, key), None);
            }
        }
        for (kind, key, value) in new {
            self.changes.insert((kind, key), Some(value));
        }
    }

    /// Takes in the changes of `later`, recorded after this delta's.
    pub fn extend(&mut self, later: Delta) {
        self.changes.extend(later.changes);
    }

    /// The keys it changes.
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// True if nothing changes.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The changes as a segment's entries, in key order: a removed key is a tombstone.
    pub fn into_entries(self) -> impl Iterator<Item = (Vec<u8>, u64)> {
        self.changes.into_iter().map(|((kind, key), value)| {
            (
                segment::key(kind, key.as_bytes()),
                value.unwrap_or(TOMBSTONE),
            )
        })
    }
}
