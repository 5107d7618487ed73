//! Publication checks on every push: a zone that would lose more than a configured share of
//! its delegations within a window, or its apex NS, is held back — satellites keep serving
//! the zone as it was — until an operator releases or discards what is held. Sans-IO: the
//! feed shows the guard each changeset in journal order ([`Guard::observe`]) and persists the
//! holds it returns; the operator's decisions come back through [`Guard::reset`].
//!
//! # What is measured
//!
//! A delegation's NS records: a changeset's net loss is the NS records it removes below the
//! apex minus those it adds (a deleted, held or undelegated domain loses all of its NS; a
//! changed name server set nets out). The loss is summed per minute over a sliding window
//! (`shrink_window_s`, a day by default) and compared with the zone's delegation NS records
//! when the window began: the records now (counted at [`Guard::reset`] — at start, and after
//! each decision — and kept up to date by every changeset since) plus the loss. A loss above
//! `max_shrink` of that, and above `shrink_floor` records (so a small zone is not held for a
//! few deletions), holds the zone at the serial before the changeset that crossed the line. A
//! changeset that removes the apex NS RRset holds it too.
//!
//! Normal churn — a day's expiries and deletions, a few tenths of a percent at a large
//! TLD — stays far below the default 10 %; what crosses it is a bulk deletion (a compromised
//! or faulty registrar, an operator's mistake, a fault in the registry), which is exactly
//! what must not reach the internet before someone looks.

use std::collections::{HashMap, VecDeque};

use zonefiles::{Changeset, RecordType};

/// The checks' settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// The share of a zone's delegation NS records it may lose within the window (0: no check).
    pub max_shrink: f64,
    /// The window, in seconds.
    pub window: i64,
    /// Losses of at most this many NS records are never held.
    pub floor: u64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            max_shrink: 0.10,
            window: 86_400,
            floor: 100,
        }
    }
}

/// What one changeset does to a zone's delegations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delta {
    /// NS records below the apex added.
    pub added: u64,
    /// NS records below the apex removed.
    pub removed: u64,
    /// The apex loses its NS RRset.
    pub apex_lost: bool,
}

impl Delta {
    /// NS records lost, net (negative: gained).
    pub fn net_loss(&self) -> i64 {
        self.removed as i64 - self.added as i64
    }
}

/// A changeset's effect on delegations.
pub fn delta(changeset: &Changeset) -> Delta {
    let apex = &changeset.origin;
    let ns = |records: &[zonefiles::Record]| {
        records.iter().filter(|r| r.rtype == RecordType::NS).fold(
            (0u64, 0u64),
            |(apex_n, below), r| {
                if &r.owner == apex {
                    (apex_n + 1, below)
                } else {
                    (apex_n, below + 1)
                }
            },
        )
    };
    let (apex_removed, removed) = ns(&changeset.removed);
    let (apex_added, added) = ns(&changeset.added);
    Delta {
        added,
        removed,
        apex_lost: apex_removed > 0 && apex_added == 0,
    }
}

/// Why a zone is held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    /// The zone.
    pub zone: String,
    /// The last serial published; the changeset from it is the one held.
    pub serial: u32,
    /// What the check found, for the operator.
    pub reason: String,
    /// The zone's delegation NS records when the window began.
    pub size: u64,
}

#[derive(Debug, Default)]
struct ZoneGuard {
    /// Delegation NS records now.
    count: i64,
    /// Net loss per minute, oldest first: (minute, loss).
    minutes: VecDeque<(i64, i64)>,
    /// Held: nothing more is checked until a decision resets the zone.
    held: bool,
}

impl ZoneGuard {
    /// The loss within the window, and the records when it began.
    fn loss(&self) -> (i64, u64) {
        let loss: i64 = self.minutes.iter().map(|(_, l)| l).sum();
        (loss, (self.count + loss).max(0) as u64)
    }
}

/// The checks of every zone.
#[derive(Debug)]
pub struct Guard {
    settings: Settings,
    zones: HashMap<String, ZoneGuard>,
}

impl Guard {
    /// A guard with these settings and no zone yet.
    pub fn new(settings: Settings) -> Guard {
        Guard {
            settings,
            zones: HashMap::new(),
        }
    }

    /// Starts a zone's window afresh with `count` delegation NS records, held or not (at
    /// start, and after an operator's decision).
    pub fn reset(&mut self, zone: &str, count: u64, held: bool) {
        self.zones.insert(
            zone.to_string(),
            ZoneGuard {
                count: count as i64,
                minutes: VecDeque::new(),
                held,
            },
        );
    }

    /// NS records lost within the window, and the zone's records when it began.
    pub fn loss(&self, zone: &str) -> Option<(i64, u64)> {
        self.zones.get(zone).map(ZoneGuard::loss)
    }

    /// Takes the changeset from `serial` of `zone`, committed at `now` (seconds): the breach
    /// if it must be held. A zone not [`Guard::reset`] yet, or held already, is not checked.
    pub fn observe(&mut self, zone: &str, serial: u32, now: i64, delta: Delta) -> Option<Breach> {
        let settings = self.settings;
        let guarded = self.zones.get_mut(zone)?;
        guarded.count -= delta.net_loss();
        if guarded.held {
            return None;
        }
        let minute = now.div_euclid(60);
        let oldest = minute - settings.window.div_euclid(60);
        while guarded.minutes.front().is_some_and(|&(m, _)| m <= oldest) {
            guarded.minutes.pop_front();
        }
        match guarded.minutes.back_mut() {
            Some((m, loss)) if *m == minute => *loss += delta.net_loss(),
            _ => guarded.minutes.push_back((minute, delta.net_loss())),
        }
        let (loss, size) = guarded.loss();
        let reason = if delta.apex_lost {
            Some(format!(
                "the changeset from serial {serial} removes the apex NS records"
            ))
        } else if settings.max_shrink > 0.0
            && loss > settings.floor as i64
            && loss as f64 > settings.max_shrink * size as f64
        {
            Some(format!(
                "{loss} of {size} delegation NS records ({:.1}%) lost within {} h, more than the {:.1}% allowed",
                100.0 * loss as f64 / size.max(1) as f64,
                settings.window / 3600,
                100.0 * settings.max_shrink
            ))
        } else {
            None
        };
        let reason = reason?;
        guarded.held = true;
        Some(Breach {
            zone: zone.to_string(),
            serial,
            reason,
            size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loss(removed: u64, added: u64) -> Delta {
        Delta {
            added,
            removed,
            apex_lost: false,
        }
    }

    #[test]
    fn a_bulk_loss_is_held_and_churn_is_not() {
        let mut guard = Guard::new(Settings {
            max_shrink: 0.10,
            window: 3600,
            floor: 5,
        });
        assert_eq!(
            guard.observe("tld", 1, 0, loss(1000, 0)),
            None,
            "not reset yet"
        );
        guard.reset("tld", 200, false);
        // Churn: losses and gains net out.
        for i in 0..100 {
            assert_eq!(guard.observe("tld", i, i64::from(i), loss(2, 2)), None);
        }
        // 20 NS records is the limit (10% of 200); 21 is held, at the serial before.
        assert_eq!(guard.observe("tld", 100, 200, loss(20, 0)), None);
        let breach = guard.observe("tld", 101, 260, loss(2, 0)).unwrap();
        assert_eq!(breach.serial, 101);
        assert_eq!(breach.size, 200);
        assert!(breach.reason.contains("22 of 200"), "{}", breach.reason);
        // Held: nothing more until a decision.
        assert_eq!(guard.observe("tld", 102, 300, loss(50, 0)), None);
        guard.reset("tld", 130, false);
        assert_eq!(guard.observe("tld", 103, 400, loss(10, 0)), None);
    }

    #[test]
    fn a_growing_zone_is_measured_at_its_size_when_the_window_began() {
        let mut guard = Guard::new(Settings {
            max_shrink: 0.10,
            window: 3600,
            floor: 5,
        });
        // Started empty, then 1,000 NS records added and 50 lost: the window began at 0.
        guard.reset("tld", 0, false);
        assert_eq!(guard.observe("tld", 1, 0, loss(0, 1000)), None);
        assert_eq!(guard.observe("tld", 2, 60, loss(50, 0)), None);
        assert_eq!(guard.loss("tld"), Some((-950, 0)));
        // An hour on, both have left the window, which began at 950.
        assert_eq!(guard.observe("tld", 3, 3660, loss(90, 0)), None);
        let breach = guard.observe("tld", 4, 3661, loss(10, 0)).unwrap();
        assert!(breach.reason.contains("100 of 950"), "{}", breach.reason);
    }

    #[test]
    fn losses_leave_the_window_and_small_zones_have_a_floor() {
        let mut guard = Guard::new(Settings {
            max_shrink: 0.10,
            window: 3600,
            floor: 5,
        });
        guard.reset("tld", 200, false);
        assert_eq!(guard.observe("tld", 1, 0, loss(15, 0)), None);
        // An hour later the first loss has left the window.
        assert_eq!(guard.observe("tld", 2, 3600, loss(15, 0)), None);
        assert!(guard.observe("tld", 3, 3601, loss(10, 0)).is_some());
        // Four of ten is 40%, but under the floor.
        guard.reset("small", 10, false);
        assert_eq!(guard.observe("small", 1, 0, loss(4, 0)), None);
    }

    #[test]
    fn the_apex_losing_its_ns_is_held_at_once() {
        let mut guard = Guard::new(Settings::default());
        guard.reset("tld", 1_000_000, false);
        let delta = Delta {
            apex_lost: true,
            ..Delta::default()
        };
        let breach = guard.observe("tld", 7, 0, delta).unwrap();
        assert!(breach.reason.contains("apex"), "{}", breach.reason);
    }
}
