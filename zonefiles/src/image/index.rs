//! Safe use of the fst index on untrusted bytes.
//!
//! The fst crate decodes nodes by indexing that panics when the bytes are malformed, and its
//! checksum does not stop a crafted file. So an image opened with [`Image::open`] has every
//! node of its index decoded once, under `catch_unwind`, by [`check`]: each node reachable from
//! the root (each distinct address once, so the cost is linear in the index), each of its
//! transitions, and, for nodes with a 256-entry input table, every input byte. After that a
//! look-up decodes only nodes known to decode. Outputs are summed with wrapping arithmetic
//! ([`add`]) so no path can overflow, and keys are enumerated by [`for_each_key`] with a bound
//! on the work, so no shape of graph can make enumeration run away.
//!
//! [`Image::open`]: super::Image::open

use std::panic::{AssertUnwindSafe, catch_unwind};

use fst::raw::{Fst, Output};

use crate::name::MAX_KEY_LEN;

/// Nodes with more transitions than this carry a 256-entry input table (fst format 2+).
const INDEXED_NODE: usize = 32;

/// Decodes every node reachable from the root; false if any fails to decode.
pub(super) fn check<D: AsRef<[u8]>>(fst: &Fst<D>) -> bool {
    let len = fst.as_bytes().len();
    catch_unwind(AssertUnwindSafe(|| {
        // Node addresses are byte offsets into the index: one bit each marks the visited.
        let mut seen = vec![0u64; len / 64 + 1];
        let mut stack = vec![fst.root().addr()];
        while let Some(addr) = stack.pop() {
            let Some(word) = seen.get_mut(addr / 64) else {
                return false;
            };
            if *word & (1 << (addr % 64)) != 0 {
                continue;
            }
            *word |= 1 << (addr % 64);
            let node = fst.node(addr);
            let _ = node.final_output();
            let _ = node.find_input(0);
            if node.len() > INDEXED_NODE {
                for b in 0..=255u8 {
                    if let Some(i) = node.find_input(b) {
                        let _ = node.transition(i);
                    }
                }
            }
            for t in node.transitions() {
                stack.push(t.addr);
            }
        }
        true
    }))
    .unwrap_or(false)
}

/// Adds two outputs without overflow checks: a crafted index may hold any values.
pub(super) fn add(a: u64, b: Output) -> u64 {
    a.wrapping_add(b.value())
}

/// Why enumeration stopped early.
pub(super) enum Stop<E> {
    /// The visitor returned an error.
    Visit(E),
    /// The index is malformed: a key too long, or more work than its size allows.
    Malformed,
}

/// Which keys below a prefix [`for_each_key`] visits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Depth {
    /// Every key that starts with the prefix.
    All,
    /// The names one label below the prefix's name (the walk stops at each label's end: a 0
    /// byte inside a label is escaped in keys, so a 0 byte ends one).
    Children,
}

/// Calls `visit` with every key below `prefix` (and `prefix` itself, for [`Depth::All`]) and
/// its value, in order. At most `max_keys` keys are accepted and the walk takes at most
/// `max_keys × MAX_KEY_LEN` steps.
pub(super) fn for_each_key<D: AsRef<[u8]>, E>(
    fst: &Fst<D>,
    prefix: &[u8],
    depth: Depth,
    max_keys: u64,
    mut visit: impl FnMut(&[u8], u64) -> Result<(), E>,
) -> Result<(), Stop<E>> {
    struct Frame<'f> {
        node: fst::raw::Node<'f>,
        next: usize,
        output: u64,
    }
    let mut key = Vec::with_capacity(MAX_KEY_LEN);
    // Walk down to the node that `prefix` leads to; its subtree holds the keys wanted.
    let mut root = fst.root();
    let mut base = 0u64;
    for &byte in prefix {
        let Some(i) = root.find_input(byte) else {
            return Ok(());
        };
        let t = root.transition(i);
        base = add(base, t.out);
        root = fst.node(t.addr);
        key.push(byte);
    }
    let mut keys = 0u64;
    let mut steps = 0u64;
    let budget = max_keys
        .saturating_add(1)
        .saturating_mul(MAX_KEY_LEN as u64);
    if root.is_final() && depth == Depth::All {
        keys += 1;
        visit(&key, add(base, root.final_output())).map_err(Stop::Visit)?;
    }
    let mut stack = vec![Frame {
        node: root,
        next: 0,
        output: base,
    }];
    while let Some(frame) = stack.last_mut() {
        steps += 1;
        if steps > budget {
            return Err(Stop::Malformed);
        }
        if frame.next == frame.node.len() {
            stack.pop();
            key.pop();
            continue;
        }
        let t = frame.node.transition(frame.next);
        frame.next += 1;
        let output = add(frame.output, t.out);
        let node = fst.node(t.addr);
        key.push(t.inp);
        if key.len() > MAX_KEY_LEN {
            return Err(Stop::Malformed);
        }
        if node.is_final() {
            keys += 1;
            if keys > max_keys {
                return Err(Stop::Malformed);
            }
            visit(&key, add(output, node.final_output())).map_err(Stop::Visit)?;
        }
        if depth == Depth::Children && t.inp == 0 {
            // A child's key ends here; its own children are not wanted.
            key.pop();
            continue;
        }
        stack.push(Frame {
            node,
            next: 0,
            output,
        });
    }
    Ok(())
}

/// The greatest key that is at most `target` (strictly less unless
/// `inclusive`): its length (the key is left in `key`) and value. `None` when there is none,
/// or when finding it would take more than `budget` node visits.
///
/// A depth-first walk that follows `target` as far as it can and, on the way back, tries the
/// next smaller transitions first.
pub(super) fn last_at_most<D: AsRef<[u8]>>(
    fst: &Fst<D>,
    target: &[u8],
    inclusive: bool,
    key: &mut [u8; MAX_KEY_LEN],
    mut budget: u32,
) -> Option<(usize, u64)> {
    struct Search<'a, D: AsRef<[u8]>> {
        fst: &'a Fst<D>,
        target: &'a [u8],
        inclusive: bool,
    }
    impl<D: AsRef<[u8]>> Search<'_, D> {
        fn walk(
            &self,
            node: fst::raw::Node<'_>,
            depth: usize,
            output: u64,
            tight: bool,
            key: &mut [u8; MAX_KEY_LEN],
            budget: &mut u32,
        ) -> Option<(usize, u64)> {
            if *budget == 0 {
                return None;
            }
            *budget -= 1;
            let at_end = tight && depth == self.target.len();
            if !at_end && depth < MAX_KEY_LEN {
                // Transitions greater than the target's byte lead to greater keys.
                let limit = if tight {
                    u16::from(self.target[depth])
                } else {
                    256
                };
                for i in (0..node.len()).rev() {
                    let t = node.transition(i);
                    let byte = u16::from(t.inp);
                    if byte > limit {
                        continue;
                    }
                    key[depth] = t.inp;
                    let next = self.fst.node(t.addr);
                    let found = self.walk(
                        next,
                        depth + 1,
                        add(output, t.out),
                        tight && byte == limit,
                        key,
                        budget,
                    );
                    if found.is_some() || *budget == 0 {
                        return found;
                    }
                }
            }
            // The key ending here is smaller than every key below it.
            let equal = at_end;
            if node.is_final() && (!equal || self.inclusive) {
                return Some((depth, add(output, node.final_output())));
            }
            None
        }
    }
    let search = Search {
        fst,
        target,
        inclusive,
    };
    search.walk(fst.root(), 0, 0, true, key, &mut budget)
}
