//! Counted places, per key and in all: connections per client address, sessions per registrar.
//! A [`Slot`] holds one place and gives it back when dropped.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// Places held per key, bounded per key and in all.
#[derive(Debug)]
pub struct Slots<K> {
    held: Mutex<HashMap<K, usize>>,
    per_key: usize,
    total: usize,
}

/// One place, given back when dropped.
#[derive(Debug)]
pub struct Slot<'a, K: Hash + Eq + Copy> {
    slots: &'a Slots<K>,
    key: K,
}

impl<K: Hash + Eq + Copy> Slots<K> {
    /// At most `per_key` places per key and `total` in all.
    pub fn new(per_key: usize, total: usize) -> Slots<K> {
        Slots {
            held: Mutex::new(HashMap::new()),
            per_key,
            total,
        }
    }

    /// A place for `key`, unless the key or the whole is at its limit.
    pub fn take(&self, key: K) -> Option<Slot<'_, K>> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let total: usize = held.values().sum();
        let here = held.entry(key).or_default();
        if total >= self.total || *here >= self.per_key {
            if *here == 0 {
                held.remove(&key);
            }
            return None;
        }
        *here += 1;
        Some(Slot { slots: self, key })
    }

    /// Places held now, in all.
    pub fn held(&self) -> usize {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.values().sum()
    }
}

impl<K: Hash + Eq + Copy> Drop for Slot<'_, K> {
    fn drop(&mut self) {
        let mut held = self.slots.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = held.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_bounded_per_key_and_in_all_and_given_back() {
        let slots = Slots::new(2, 3);
        let a1 = slots.take('a').unwrap();
        let _a2 = slots.take('a').unwrap();
        assert!(slots.take('a').is_none(), "per key");
        let _b1 = slots.take('b').unwrap();
        assert!(slots.take('c').is_none(), "in all");
        drop(a1);
        assert_eq!(slots.held(), 2);
        assert!(slots.take('c').is_some());
    }
}
