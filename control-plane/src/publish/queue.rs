//! Fair queuing: one queue per registrar, served round robin (the .name plan's queue handler).
//!
//! When commands arrive faster than the database commits them, each registrar's commands wait
//! in its own queue and a batch takes one from each non-empty queue in turn, so a registrar
//! sending thousands of commands delays another one's by at most one command per turn. With R1
//! sending 2 commands and R2 sending 10, the order is R1, R2, R1, R2, R2, … — the plan's
//! example. A full queue refuses the command at once rather than growing.

use std::collections::{HashMap, VecDeque};

/// A queue of items per registrar, served round robin.
#[derive(Debug)]
pub struct FairQueue<T> {
    queues: HashMap<u32, VecDeque<T>>,
    turn: VecDeque<u32>,
    capacity: usize,
    len: usize,
}

/// The registrar's queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the registrar's queue holds {0} commands already")]
pub struct Full(pub usize);

impl<T> FairQueue<T> {
    /// Queues holding at most `capacity` items per registrar.
    pub fn new(capacity: usize) -> FairQueue<T> {
        FairQueue {
            queues: HashMap::new(),
            turn: VecDeque::new(),
            capacity,
            len: 0,
        }
    }

    /// Appends an item to a registrar's queue.
    pub fn push(&mut self, registrar: u32, item: T) -> Result<(), Full> {
        let queue = self.queues.entry(registrar).or_default();
        if queue.len() >= self.capacity {
            return Err(Full(self.capacity));
        }
        if queue.is_empty() {
            self.turn.push_back(registrar);
        }
        queue.push_back(item);
        self.len += 1;
        Ok(())
    }

    /// Takes the next item in round-robin order.
    pub fn pop(&mut self) -> Option<(u32, T)> {
        let registrar = self.turn.pop_front()?;
        let queue = self.queues.get_mut(&registrar)?;
        let item = queue.pop_front()?;
        if queue.is_empty() {
            self.queues.remove(&registrar);
        } else {
            self.turn.push_back(registrar);
        }
        self.len -= 1;
        Some((registrar, item))
    }

    /// Items waiting in all queues.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Items waiting per registrar.
    pub fn depths(&self) -> impl Iterator<Item = (u32, usize)> + '_ {
        self.queues.iter().map(|(r, q)| (*r, q.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plans_example() {
        let mut queue = FairQueue::new(100);
        for i in 0..2 {
            queue.push(1, ("R1", i)).unwrap();
        }
        for i in 0..10 {
            queue.push(2, ("R2", i)).unwrap();
        }
        let order: Vec<&str> = std::iter::from_fn(|| queue.pop())
            .map(|(_, (r, _))| r)
            .collect();
        assert_eq!(&order[..4], ["R1", "R2", "R1", "R2"]);
        assert!(order[3..].iter().all(|r| *r == "R2"));
        assert_eq!(order.len(), 12);
    }

    #[test]
    fn order_within_a_registrar_is_kept() {
        let mut queue = FairQueue::new(100);
        for i in 0..5 {
            queue.push(9, i).unwrap();
        }
        let items: Vec<i32> = std::iter::from_fn(|| queue.pop()).map(|(_, i)| i).collect();
        assert_eq!(items, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn bounded() {
        let mut queue = FairQueue::new(2);
        queue.push(1, ()).unwrap();
        queue.push(1, ()).unwrap();
        assert_eq!(queue.push(1, ()), Err(Full(2)));
        queue.push(2, ()).unwrap();
        assert_eq!(queue.len(), 3);
    }
}
