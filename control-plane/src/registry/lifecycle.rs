//! A domain's life after its registration: expiry, deletion, restore and purge, with RFC 3915's
//! grace periods as each zone sets them.
//!
//! ```text
//! create ──(add grace: delete refunds the registration, the name is free at once)──▶
//! renewal, transfer ──(renew / transfer grace: delete refunds it, expiry back)──▶
//! expiry ──(auto-renew grace days > 0: renewed a year and charged; a delete or a transfer
//!           within the grace refunds it; no credit left: deleted)──▶
//! delete ──▶ redemption period (out of the DNS; WHOIS pendingDelete + redemptionPeriod;
//!            its registrar may restore it, charged one year)
//!        ──▶ pending delete (WHOIS pendingDelete; nothing brings it back)
//!        ──▶ purged: the name is free
//! ```
//!
//! A zone with no redemption period (the .name plan's policy, the default) frees the name at
//! the deletion, and one without auto-renewal leaves expired domains to their registrars. The
//! timed steps — these and the default answer to a transfer its sponsor left unanswered
//! ([`super::transfer`]) — are taken by [`sweep`], which the commit thread runs every
//! `sweep_interval_s`: each is a change of the registry like any other, journaled and published
//! in its own transaction.

use zonefiles::calendar::DAY;

use super::{Failure, Refusal, Reply, Rules, money, permitted, transfer};
use crate::model::{
    Action, Billed, BilledKind, Deletion, Domain, HistoryEntry, HistoryKey, LedgerKind, Message,
    Notice, Transaction, ZoneSettings,
};
use crate::registry::Publication;
use crate::store::Store;

/// Most domains one sweep moves on (the rest wait for the next).
pub const SWEEP_LIMIT: usize = 1000;

/// The RFC 3915 status a domain is in, if any: `addPeriod`, `autoRenewPeriod`, `renewPeriod`,
/// `transferPeriod`, `redemptionPeriod` or `pendingDelete`.
pub fn grace_status(domain: &Domain, zone: &ZoneSettings, now: i64) -> Option<&'static str> {
    match domain.deletion {
        Some(Deletion {
            redeemable: true, ..
        }) => Some("redemptionPeriod"),
        Some(_) => Some("pendingDelete"),
        None if now < domain.created + i64::from(zone.lifecycle.add_grace_days) * DAY => {
            Some("addPeriod")
        }
        None => in_grace(domain, zone, now).map(|b| b.kind.grace_period()),
    }
}

/// The domain's latest charged change if its grace period is still running.
fn in_grace(domain: &Domain, zone: &ZoneSettings, now: i64) -> Option<Billed> {
    domain
        .billed
        .filter(|b| now < b.at + i64::from(b.kind.grace_days(&zone.lifecycle)) * DAY)
}

impl Rules<'_> {
    pub(super) fn delete_domain(&mut self, name: &str) -> Result<Reply, Failure> {
        let mut domain = self.own_domain(name)?;
        permitted(&domain, Action::Delete)?;
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
        let mut in_some_grace = false;
        // Deleted within the grace of a renewal or a transfer: that charge is refunded.
        if let Some(billed) = in_grace(&domain, &zone, self.now) {
            in_some_grace = true;
            if billed.kind != BilledKind::Transfer {
                let years = super::whole_years(billed.expires_before, domain.expires);
                self.store.note(
                    zone.id,
                    self.registrar.id,
                    Transaction::RenewRefunded,
                    u32::try_from(years).unwrap_or(0),
                    self.now,
                )?;
            }
            let charged = match billed.kind {
                BilledKind::Transfer => {
                    let fee = self.store.transfer(&domain.name)?.map_or(0, |t| t.fee);
                    self.credit(self.registrar.id, &domain.name, fee)?;
                    fee
                }
                kind => self.refund(self.registrar.id, &domain.name, kind.ledger(), billed.at)?,
            };
            domain.expires = billed.expires_before;
            domain.billed = None;
            self.record(
                HistoryKey::Domain(&domain.name),
                format!(
                    "REFUND {} ({} refunded, expiry back to {})",
                    billed.kind.as_str().to_ascii_uppercase(),
                    money(charged),
                    zonefiles::calendar::date(domain.expires)
                ),
            )?;
        }
        let in_add_grace =
            self.now < domain.created + i64::from(zone.lifecycle.add_grace_days) * DAY;
        let deleted = if in_add_grace || in_some_grace {
            Transaction::DeletedInGrace
        } else {
            Transaction::DeletedNoGrace
        };
        self.store
            .note(zone.id, self.registrar.id, deleted, 0, self.now)?;
        if in_add_grace {
            let years = super::whole_years(domain.created, domain.expires);
            self.store.note(
                zone.id,
                self.registrar.id,
                Transaction::AddRefunded,
                u32::try_from(years).unwrap_or(0),
                self.now,
            )?;
            let charged = self.refund(
                self.registrar.id,
                &domain.name,
                LedgerKind::Create,
                domain.created,
            )?;
            self.store.delete_domain(&domain.name)?;
            self.record(
                HistoryKey::Domain(&domain.name),
                format!(
                    "DELETE DOMAIN (in its add grace period: {} refunded)",
                    money(charged)
                ),
            )?;
            return Ok(Reply::Deleted { pending: false });
        }
        if zone.lifecycle.redemption_days == 0 {
            self.store.delete_domain(&domain.name)?;
            self.record(HistoryKey::Domain(&domain.name), "DELETE DOMAIN".into())?;
            return Ok(Reply::Deleted { pending: false });
        }
        domain.deletion = Some(Deletion {
            at: self.now,
            redeemable: true,
        });
        domain.updated = self.now;
        self.store.update_domain(&domain)?;
        self.record(
            HistoryKey::Domain(&domain.name),
            format!(
                "DELETE DOMAIN (restorable until {})",
                zonefiles::calendar::date(
                    self.now + i64::from(zone.lifecycle.redemption_days) * DAY
                )
            ),
        )?;
        Ok(Reply::Deleted { pending: true })
    }

    /// Credits back what a registrar was charged for a domain under a ledger kind since a
    /// time; returns the amount.
    pub(super) fn refund(
        &mut self,
        registrar: u32,
        domain: &str,
        kind: LedgerKind,
        since: i64,
    ) -> Result<i64, Failure> {
        let charged = (-self.store.charged(registrar, domain, kind, since)?).max(0);
        self.credit(registrar, domain, charged)?;
        Ok(charged)
    }

    /// Credits a registrar `amount` for a domain (a `refund` in the ledger; nothing for 0).
    pub(super) fn credit(
        &mut self,
        registrar: u32,
        domain: &str,
        amount: i64,
    ) -> Result<(), Failure> {
        if amount > 0 {
            self.store.charge(
                registrar,
                amount,
                LedgerKind::Refund,
                Some(domain),
                self.now,
            )?;
        }
        Ok(())
    }

    pub(super) fn restore(&mut self, name: &str) -> Result<Reply, Failure> {
        let mut domain = self.sponsored(name)?;
        permitted(&domain, Action::Update)?;
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
        self.charge(LedgerKind::Restore, &domain.name, 1, &zone)?;
        self.publication.touch(self.store, &domain.name)?;
        domain.deletion = None;
        domain.updated = self.now;
        self.store.update_domain(&domain)?;
        self.record(HistoryKey::Domain(&domain.name), "RESTORE DOMAIN".into())?;
        Ok(Reply::Done)
    }
}

/// Renews an expired domain for a year, charging its registrar; one whose registrar lacks the
/// credit is deleted instead (into the redemption period when the zone has one).
fn auto_renew(
    store: &dyn Store,
    publication: &mut Publication,
    zone: &ZoneSettings,
    name: &str,
    now: i64,
) -> Result<(), Failure> {
    let Some(mut domain) = store.domain(name)? else {
        return Ok(());
    };
    let registrar = store.registrar(domain.registrar)?;
    // A premium name renews at its own price.
    let price = super::prices_of(store, name, zone)?.0.renew;
    publication.touch(store, name)?;
    let note = |change: String| {
        store.add_history(
            HistoryKey::Domain(name),
            &HistoryEntry {
                at: now,
                actor: "registry".into(),
                change,
            },
        )
    };
    domain.updated = now;
    match registrar {
        Some(r) if r.balance - price >= -r.credit_limit => {
            store.charge(r.id, -price, LedgerKind::AutoRenew, Some(name), now)?;
            store.note(zone.id, r.id, Transaction::Renew, 1, now)?;
            domain.billed = Some(Billed {
                kind: BilledKind::AutoRenew,
                at: now,
                expires_before: domain.expires,
            });
            domain.expires = zonefiles::calendar::add_months(domain.expires, 12);
            store.update_domain(&domain)?;
            note(format!(
                "AUTO-RENEW (to {}, {} charged)",
                zonefiles::calendar::date(domain.expires),
                money(price)
            ))?;
            store.queue_message(&Message {
                id: 0,
                registrar: r.id,
                at: now,
                text: format!(
                    "{name} was renewed at its expiry, to {} ({} charged)",
                    zonefiles::calendar::date(domain.expires),
                    money(price)
                ),
                about: Notice::Renewed {
                    domain: name.to_string(),
                    expires: domain.expires,
                },
            })?;
            return Ok(());
        }
        _ if zone.lifecycle.redemption_days > 0 => {
            domain.deletion = Some(Deletion {
                at: now,
                redeemable: true,
            });
            store.update_domain(&domain)?;
            note("EXPIRED (no credit to renew it): deleted, restorable".into())?;
        }
        _ => {
            store.delete_domain(name)?;
            note("EXPIRED (no credit to renew it): deleted".into())?;
        }
    }
    store.queue_message(&Message {
        id: 0,
        registrar: domain.registrar,
        at: now,
        text: format!("{name} expired and was deleted: there was no credit to renew it"),
        about: Notice::Expired {
            domain: name.to_string(),
        },
    })?;
    Ok(())
}

/// Answers transfers left unanswered past their zone's timeout, renews expired domains (in zones
/// that auto-renew) and moves deleted domains on: those whose redemption period is over to
/// pending delete, those whose pending delete is over out of the registry; removes service
/// messages queued before `messages_before`, read or not; publishes again the WHOIS objects
/// of domains listed for it. Returns how many it moved or removed
/// (at most [`SWEEP_LIMIT`]).
pub fn sweep(
    store: &dyn Store,
    publication: &mut Publication,
    now: i64,
    messages_before: Option<i64>,
) -> Result<usize, Failure> {
    let zones = publication.zones(store)?;
    let mut moved = transfer::answer_due(store, publication, &zones, now, SWEEP_LIMIT)?;
    if let Some(before) = messages_before {
        moved += store.expire_messages(before, SWEEP_LIMIT - moved)?;
    }
    // Domains whose WHOIS objects are now written otherwise (after an upgrade).
    for name in store.to_republish(SWEEP_LIMIT - moved)? {
        publication.refresh(store, &name)?;
        store.republished(&name)?;
        moved += 1;
    }
    for zone in zones.iter() {
        if moved == SWEEP_LIMIT {
            return Ok(moved);
        }
        if zone.lifecycle.auto_renew_grace_days > 0 {
            for name in store.expired(zone.id, now, SWEEP_LIMIT - moved)? {
                auto_renew(store, publication, zone, &name, now)?;
                moved += 1;
            }
        }
        if zone.lifecycle.redemption_days == 0 {
            continue;
        }
        let redemption = i64::from(zone.lifecycle.redemption_days) * DAY;
        let pending = i64::from(zone.lifecycle.pending_delete_days) * DAY;
        let note = |store: &dyn Store, name: &str, change: &str| {
            store.add_history(
                HistoryKey::Domain(name),
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
