//! Key rollovers as key timing. ZSKs roll by pre-publication (RFC 7583 §3.2.1); KSKs by
//! double DS ([`plan_ksk`], RFC 7583 §3.3.2). For ZSKs, [`plan`] looks at a
//! zone's zone-signing keys and the time, and says which times to set and which key to make, so
//! that the signer ([`super::sign_zone`], which obeys the times) rolls the keys with no moment
//! at which a resolver's cached DNSKEY set lacks the key of a signature it holds.
//!
//! The timeline of one rollover, with `Ipub` = propagation + DNSKEY TTL + safety and `Iret` =
//! propagation + the zone's largest TTL + safety:
//!
//! ```text
//! old ZSK   ──active─────────────────────┤inactive ······retired······┤delete
//! new ZSK          publish┤···Ipub···┤activate──active────────────────────…
//!                         └ inactive(old) − Ipub        └ inactive(old) + Iret
//! ```
//!
//! Every call is idempotent: it only fills in times not yet set and makes a successor when
//! none is published, so a run every hour (a timer) keeps the zone rolling, and a missed run
//! only delays the next step (the old key then signs until the new one has been published for
//! `Ipub`). Sans-IO: `zonefiles rollover` applies the steps to BIND's key files.

use super::keys::Timing;

/// How ZSKs roll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rollover {
    /// How long a ZSK signs (seconds; 90 days by default).
    pub zsk_lifetime: u64,
    /// The DNSKEY set's TTL.
    pub dnskey_ttl: u64,
    /// The largest TTL of the zone's signed records (the signatures' TTL).
    pub max_ttl: u64,
    /// How long a change takes to reach every server of the zone.
    pub propagation: u64,
    /// A margin added to each interval.
    pub safety: u64,
    /// How long before a ZSK's end its successor is made and published (at least `Ipub`): the
    /// planner must run at least this often for the rollover to keep its times (7 days).
    pub lead: u64,
}

impl Default for Rollover {
    fn default() -> Rollover {
        Rollover {
            zsk_lifetime: 90 * 86_400,
            dnskey_ttl: 3600,
            max_ttl: 86_400,
            propagation: 3600,
            safety: 3600,
            lead: 7 * 86_400,
        }
    }
}

impl Rollover {
    /// `Ipub`: how long a new DNSKEY is published before its key signs, so that every cache
    /// holding the DNSKEY set has it.
    pub fn publication_interval(&self) -> u64 {
        self.propagation + self.dnskey_ttl + self.safety
    }

    /// `Iret`: how long a key's DNSKEY stays after it stops signing, so that every cached
    /// signature of its has expired.
    pub fn retire_interval(&self) -> u64 {
        self.propagation + self.max_ttl + self.safety
    }
}

/// One thing to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Make a new ZSK with this timing.
    Generate(Timing),
    /// Give the ZSK at this index (in the list given to [`plan`]) this timing.
    Set(usize, Timing),
}

/// What to do at `now` for a zone whose ZSKs have these timings (KSKs are not given).
pub fn plan(rollover: &Rollover, zsks: &[Timing], now: u64) -> Vec<Step> {
    let mut steps = Vec::new();
    let ipub = rollover.publication_interval();
    let not_deleted = |t: &&Timing| t.delete.is_none_or(|d| now < d);
    // The latest key to have started signing: the one a successor follows.
    let current = zsks
        .iter()
        .enumerate()
        .filter(|(_, t)| t.activate.is_some_and(|a| a <= now) && not_deleted(t))
        .max_by_key(|(_, t)| t.activate);
    let Some((index, timing)) = current else {
        // No key has signed yet (a zone signed for the first time): one that signs at once.
        // A first key already waiting to activate is left to do so.
        if !zsks
            .iter()
            .filter(not_deleted)
            .any(|t| t.activate.is_some_and(|a| a > now))
        {
            let inactive = now + rollover.zsk_lifetime;
            steps.push(Step::Generate(Timing {
                publish: Some(now),
                activate: Some(now),
                inactive: Some(inactive),
                delete: Some(inactive + rollover.retire_interval()),
                ..Timing::default()
            }));
        }
        return steps;
    };
    let activated = timing
        .activate
        .expect("a current key has an activation time");
    let mut inactive = timing.inactive.unwrap_or(activated + rollover.zsk_lifetime);
    let successor = zsks
        .iter()
        .filter(not_deleted)
        .any(|t| t.activate.is_some_and(|a| a > activated));
    if !successor && now + rollover.lead.max(ipub) >= inactive {
        // Time to pre-publish the next key. If this run comes late (after the current key's
        // end, or closer to it than Ipub), the current key signs on until the new DNSKEY has
        // been out for Ipub.
        inactive = inactive.max(now + ipub);
        steps.push(Step::Generate(Timing {
            publish: Some(now),
            activate: Some(inactive),
            ..Timing::default()
        }));
    }
    let retired = Timing {
        inactive: Some(inactive),
        delete: Some(inactive + rollover.retire_interval()),
        ..*timing
    };
    if retired != *timing {
        steps.push(Step::Set(index, retired));
    }
    steps
}

/// What to do at `now` for a KSK rollover by double DS (RFC 7583 §3.3.2) that switches at
/// `switch`: a successor published and signing from `switch`, with its CDS and CDNSKEY from
/// then, and each current KSK (published now, with no end set) retired at `switch`. Before
/// `switch` the parent is given the successor's DS beside the current one; at `switch` the
/// DNSKEY set changes from one KSK to the other at once, and validators holding either DNSKEY
/// set find a DS for it; once the old DNSKEY set has expired from caches, the parent drops the
/// old DS. Idempotent: with a successor already waiting (published after `now`), nothing.
pub fn plan_ksk(ksks: &[Timing], now: u64, switch: u64) -> Vec<Step> {
    let waiting = ksks
        .iter()
        .any(|t| t.publish.is_some_and(|p| p > now) && t.delete.is_none_or(|d| d > now));
    if waiting {
        return Vec::new();
    }
    let mut steps = vec![Step::Generate(Timing {
        publish: Some(switch),
        activate: Some(switch),
        sync_publish: Some(switch),
        ..Timing::default()
    })];
    for (i, timing) in ksks.iter().enumerate() {
        if timing.published(now) && timing.delete.is_none() {
            steps.push(Step::Set(
                i,
                Timing {
                    inactive: Some(switch),
                    delete: Some(switch),
                    sync_delete: Some(switch),
                    ..*timing
                },
            ));
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the planner every `step` seconds over `days`, applying what it says; returns every
    /// key's timing.
    fn life(rollover: &Rollover, step: u64, days: u64, start: u64) -> Vec<Timing> {
        let mut keys: Vec<Timing> = Vec::new();
        let mut now = start;
        while now < start + days * 86_400 {
            for s in plan(rollover, &keys, now) {
                match s {
                    Step::Generate(t) => keys.push(t),
                    Step::Set(i, t) => keys[i] = t,
                }
            }
            // The planner is idempotent: asked again at once, it has nothing to do.
            assert_eq!(plan(rollover, &keys, now), []);
            now += step;
        }
        keys
    }

    #[test]
    fn zsks_roll_with_one_signer_at_every_moment_and_caches_covered() {
        let rollover = Rollover::default();
        let start = 1_800_000_000;
        // Runs hourly, daily, weekly (the lead), and monthly (late for every step).
        for step in [3600, 86_400, 7 * 86_400, 30 * 86_400] {
            let keys = life(&rollover, step, 400, start);
            assert!(keys.len() >= 5, "{step}: {keys:?}");
            let mut t = start;
            while t < start + 390 * 86_400 {
                let signing: Vec<&Timing> = keys.iter().filter(|k| k.active(t)).collect();
                // A late run can leave a moment with none (the KSK then signs everything).
                let expected = if step <= rollover.lead { 1..=1 } else { 0..=1 };
                assert!(
                    expected.contains(&signing.len()),
                    "at {t} (runs every {step} s): {keys:?}"
                );
                t += 1800;
            }
            for (i, key) in keys.iter().enumerate() {
                let (publish, activate) = (key.publish.unwrap(), key.activate.unwrap());
                // Published Ipub before it signs (but the first key, which starts the zone).
                if i > 0 {
                    assert!(
                        activate - publish >= rollover.publication_interval(),
                        "{key:?}"
                    );
                }
                if let (Some(inactive), Some(delete)) = (key.inactive, key.delete) {
                    assert!(delete - inactive >= rollover.retire_interval(), "{key:?}");
                    // Its successor starts when it stops (once the planner has run since it
                    // was due).
                    let end = start + 400 * 86_400;
                    if inactive + step < end + rollover.publication_interval() {
                        assert!(keys.iter().any(|k| k.activate == Some(inactive)), "{key:?}");
                    }
                }
            }
            // Each key signs for the lifetime when the planner runs at least every `lead`; a
            // later run makes the old key sign on until the new one has waited Ipub.
            if step <= rollover.lead {
                for key in &keys[..keys.len() - 1] {
                    assert_eq!(
                        key.inactive.unwrap() - key.activate.unwrap(),
                        rollover.zsk_lifetime
                    );
                }
            }
        }
    }

    #[test]
    fn a_zone_without_keys_gets_one_and_a_waiting_successor_is_left_alone() {
        let rollover = Rollover::default();
        let lifetime = rollover.zsk_lifetime;
        assert_eq!(
            plan(&rollover, &[], 100),
            [Step::Generate(Timing {
                publish: Some(100),
                activate: Some(100),
                inactive: Some(100 + lifetime),
                delete: Some(100 + lifetime + rollover.retire_interval()),
                ..Timing::default()
            })]
        );
        let waiting = Timing {
            publish: Some(50),
            activate: Some(200),
            ..Timing::default()
        };
        assert_eq!(plan(&rollover, &[waiting], 100), []);
    }

    #[test]
    fn a_ksk_rollover_publishes_the_successor_and_retires_the_current_key_at_the_switch() {
        let now = 1_000_000;
        let current = Timing {
            publish: Some(0),
            activate: Some(0),
            ..Timing::default()
        };
        let steps = plan_ksk(&[current], now, now + 7 * 86_400);
        assert_eq!(steps.len(), 2, "{steps:?}");
        let Step::Generate(next) = steps[0] else {
            panic!("{steps:?}");
        };
        assert!(!next.published(now) && next.active(now + 7 * 86_400));
        assert!(next.sync(now + 7 * 86_400));
        let Step::Set(0, old) = steps[1] else {
            panic!("{steps:?}");
        };
        assert!(old.active(now) && !old.published(now + 7 * 86_400));
        // Run again with the successor made: nothing more to do.
        assert!(plan_ksk(&[old, next], now + 1, now + 8 * 86_400).is_empty());
    }
}
