//! The journal's changesets as IXFR answers from them: one log per image, shared by every
//! served state of that image, each state seeing the prefix it was built with.
//!
//! The history reaches back `journal_keep` changesets before the image and holds every one
//! after it; between two folds of a large registry that is tens of thousands. A change
//! appends its changesets to the log under a short write lock instead of copying the history
//! into the new state, so it costs what it adds. A transfer copies the pointers of its prefix
//! once, under a read lock.

use std::sync::{Arc, PoisonError, RwLock};

use zonefiles::changeset::Changeset;

/// The changesets one served state sees, oldest first, ending at its serial.
#[derive(Debug, Clone, Default)]
pub struct History {
    log: Arc<RwLock<Vec<Arc<Changeset>>>>,
    /// How many of the log's changesets this state sees.
    len: usize,
}

impl History {
    /// A history of `changesets`.
    pub fn new(changesets: Vec<Arc<Changeset>>) -> History {
        History {
            len: changesets.len(),
            log: Arc::new(RwLock::new(changesets)),
        }
    }

    /// This history with `new` after it. The log is shared when this is its newest state
    /// (the follower's case); otherwise the new history gets a log of its own.
    pub fn extended(&self, new: &[Arc<Changeset>]) -> History {
        let mut log = self.log.write().unwrap_or_else(PoisonError::into_inner);
        if log.len() == self.len {
            log.extend(new.iter().cloned());
            return History {
                log: self.log.clone(),
                len: log.len(),
            };
        }
        let mut own = log[..self.len].to_vec();
        own.extend(new.iter().cloned());
        History::new(own)
    }

    /// The changesets this state sees.
    pub fn changesets(&self) -> Vec<Arc<Changeset>> {
        let log = self.log.read().unwrap_or_else(PoisonError::into_inner);
        log[..self.len].to_vec()
    }

    /// How many changesets this state sees.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when this state sees none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zonefiles::master::{self, ParseOptions};
    use zonefiles::{Class, Zone};

    fn changeset(from: u32) -> Arc<Changeset> {
        let zone = |serial: u32| {
            let text = format!("tld. 300 IN SOA a.tld. h.tld. {serial} 1 1 1 1\n");
            let records =
                master::parse_bytes("t", text.as_bytes(), ParseOptions::default()).unwrap();
            Zone::from_records(None, Class::IN, records).0
        };
        Arc::new(zonefiles::changeset::diff(&zone(from), &zone(from + 1)).unwrap())
    }

    fn serials(history: &History) -> Vec<u32> {
        history
            .changesets()
            .iter()
            .map(|c| c.from_serial())
            .collect()
    }

    #[test]
    fn each_state_sees_its_own_prefix() {
        let first = History::new(vec![changeset(1)]);
        let second = first.extended(&[changeset(2), changeset(3)]);
        let third = second.extended(&[changeset(4)]);
        assert_eq!(serials(&first), [1]);
        assert_eq!(serials(&second), [1, 2, 3]);
        assert_eq!(serials(&third), [1, 2, 3, 4]);
        assert!(Arc::ptr_eq(&first.log, &third.log), "one log, shared");
        // Extending a state that is no longer the newest leaves the others as they were.
        let fork = second.extended(&[changeset(40)]);
        assert_eq!(serials(&fork), [1, 2, 3, 40]);
        assert_eq!(serials(&third), [1, 2, 3, 4]);
        assert_eq!((fork.len(), History::default().is_empty()), (4, true));
    }
}
