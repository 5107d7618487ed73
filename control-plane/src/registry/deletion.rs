//! Deleting, restoring and purging domains: RFC 3915's grace periods, as each zone sets them.
//!
//! ```text
//! create ──(add grace: delete refunds the registration, the name is free at once)──▶
//! delete ──▶ redemption period (out of the DNS; WHOIS pendingDelete + redemptionPeriod;
//!            its registrar may restore it, charged one year)
//!        ──▶ pending delete (WHOIS pendingDelete; nothing brings it back)
//!        ──▶ purged: the name is free
//! ```
//!
//! A zone with no redemption period (the .name plan's policy, the default) frees the name at
//! the deletion. The two later steps are taken by [`sweep`], which the commit thread runs
//! every `sweep_interval_s`: each is a change of the registry like any other, journaled and
//! published in its own transaction.

use zonefiles::calendar::DAY;

use super::{Failure, Refusal, Reply, Rules, domain_object, money};
use crate::model::{Deletion, HistoryEntry};
use crate::registry::Publication;
use crate::store::Store;

/// Most domains one sweep moves on (the rest wait for the next).
pub const SWEEP_LIMIT: usize = 1000;

/// The RFC 3915 status a domain is in, if any: `addPeriod`, `redemptionPeriod` or
/// `pendingDelete`.
pub fn grace_status(
    deletion: Option<Deletion>,
    created: i64,
    add_grace_days: u32,
    now: i64,
) -> Option<&'static str> {
    match deletion {
        Some(Deletion {
            redeemable: true, ..
        }) => Some("redemptionPeriod"),
        Some(_) => Some("pendingDelete"),
        None if now < created + i64::from(add_grace_days) * DAY => Some("addPeriod"),
        None => None,
    }
}

impl Rules<'_> {
    pub(super) fn delete_domain(&mut self, name: &str) -> Result<Reply, Failure> {
        let mut domain = self.own_domain(name)?;
        let hosts = self.store.hosts_beneath(&domain.name)?;
        if !hosts.is_empty() {
            let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
            return Err(Refusal::InUse(format!(
                "{} has host objects beneath it; delete them first: {}",
                domain.name,
                names.join(", ")
            ))
            .into());
        }
        let zone = self.zone_of(&domain.name)?.clone();
        self.publication.touch(self.store, &domain.name)?;
        let in_add_grace = self.now < domain.created + i64::from(zone.add_grace_days) * DAY;
        if in_add_grace {
            let charged =
                -self
                    .store
                    .charged(self.registrar.id, &domain.name, "create", domain.created)?;
            if charged > 0 {
                self.store.charge(
                    self.registrar.id,
                    charged,
                    "refund",
                    Some(&domain.name),
                    self.now,
                )?;
            }
            self.store.delete_domain(&domain.name)?;
            self.record(
                &domain_object(&domain.name),
                format!(
                    "DELETE DOMAIN (in its add grace period: {} refunded)",
                    money(charged.max(0))
                ),
            )?;
            return Ok(Reply::Deleted { pending: false });
        }
        if zone.redemption_days == 0 {
            self.store.delete_domain(&domain.name)?;
            self.record(&domain_object(&domain.name), "DELETE DOMAIN".into())?;
            return Ok(Reply::Deleted { pending: false });
        }
        domain.deletion = Some(Deletion {
            at: self.now,
            redeemable: true,
        });
        domain.updated = self.now;
        self.store.update_domain(&domain)?;
        self.record(
            &domain_object(&domain.name),
            format!(
                "DELETE DOMAIN (restorable until {})",
                zonefiles::calendar::date(self.now + i64::from(zone.redemption_days) * DAY)
            ),
        )?;
        Ok(Reply::Deleted { pending: true })
    }

    pub(super) fn restore(&mut self, name: &str) -> Result<Reply, Failure> {
        let mut domain = self.sponsored(name)?;
        match domain.deletion {
            Some(Deletion {
                redeemable: true, ..
            }) => {}
            Some(_) => {
                return Err(Refusal::StatusProhibits(format!(
                    "{name} is past its redemption period and will be purged"
                ))
                .into());
            }
            None => {
                return Err(Refusal::StatusProhibits(format!("{name} is not deleted")).into());
            }
        }
        let zone = self.zone_of(&domain.name)?.clone();
        self.charge("restore", &domain.name, 1, &zone)?;
        self.publication.touch(self.store, &domain.name)?;
        domain.deletion = None;
        domain.updated = self.now;
        self.store.update_domain(&domain)?;
        self.record(&domain_object(&domain.name), "RESTORE DOMAIN".into())?;
        Ok(Reply::Done)
    }
}

/// Moves deleted domains on: those whose redemption period is over to pending delete, those
/// whose pending delete is over out of the registry. Returns how many it moved (at most
/// [`SWEEP_LIMIT`]).
pub fn sweep(store: &dyn Store, publication: &mut Publication, now: i64) -> Result<usize, Failure> {
    let mut moved = 0;
    for zone in publication.zones(store)?.iter() {
        if zone.redemption_days == 0 {
            continue;
        }
        let redemption = i64::from(zone.redemption_days) * DAY;
        let pending = i64::from(zone.pending_delete_days) * DAY;
        let note = |store: &dyn Store, name: &str, change: &str| {
            store.add_history(
                &domain_object(name),
                &HistoryEntry {
                    at: now,
                    actor: "registry".into(),
                    change: change.into(),
                },
            )
        };
        for name in store.deleted_before(zone.id, true, now - redemption)? {
            if moved == SWEEP_LIMIT {
                return Ok(moved);
            }
            let Some(mut domain) = store.domain(&name)? else {
                continue;
            };
            publication.touch(store, &name)?;
            domain.deletion = domain.deletion.map(|d| Deletion {
                redeemable: false,
                ..d
            });
            domain.updated = now;
            store.update_domain(&domain)?;
            note(store, &name, "REDEMPTION PERIOD ENDED")?;
            moved += 1;
        }
        for name in store.deleted_before(zone.id, false, now - redemption - pending)? {
            if moved == SWEEP_LIMIT {
                return Ok(moved);
            }
            publication.touch(store, &name)?;
            store.delete_domain(&name)?;
            note(store, &name, "PURGE DOMAIN")?;
            moved += 1;
        }
    }
    Ok(moved)
}
