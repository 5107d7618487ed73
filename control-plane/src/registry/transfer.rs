//! Transfers between registrars, authorized by the domain's password.
//!
//! ```text
//! request (gaining registrar, with the password; charged one year now)
//!   ├─ zone without a transfer timeout (the .name plan): completes at once ── serverApproved
//!   └─ otherwise pending (the domain's sponsor may change nothing meanwhile; it is told by a
//!      poll message):
//!        ├─ sponsor approves ──────────────────────── clientApproved
//!        ├─ sponsor rejects ───────────────────────── clientRejected  (fee refunded)
//!        ├─ gaining registrar withdraws ───────────── clientCancelled (fee refunded)
//!        └─ timeout: the zone's default answer ────── serverApproved, or
//!                                                     serverCancelled (fee refunded)
//! ```
//!
//! A completed transfer adds a year to the expiry (within the zone's longest registration),
//! moves the hosts beneath the domain with it, and clears the password that authorized it. If
//! the domain was renewed at expiry within the auto-renew grace period, the losing registrar is
//! refunded that renewal and the transfer's year replaces it (RFC 3915 §3.3). Each domain's
//! latest transfer is kept, so that either registrar can query how it ended.

use zonefiles::calendar::{self, DAY};

use super::{Failure, Refusal, Reply, Rules, money, permitted};
use crate::model::{
    Action, Actor, Billed, BilledKind, Domain, HistoryKey, LedgerKind, Message, Notice,
    Transaction, Transfer, TransferDefault, TransferStatus, ZoneSettings,
};
use crate::registry::Publication;
use crate::store::Store;

/// What a registrar does with a pending transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferAction {
    /// The sponsor lets it complete.
    Approve,
    /// The sponsor refuses it.
    Reject,
    /// The registrar that asked withdraws it.
    Cancel,
    /// RRP's `-Approve:No`: the sponsor rejects it, or the registrar that asked withdraws it.
    Decline,
}

impl Rules<'_> {
    pub(super) fn transfer(
        &mut self,
        name: &str,
        verified_hash: Option<&str>,
    ) -> Result<Reply, Failure> {
        let (name, domain) = self.registered(name)?;
        if domain.deletion.is_some() {
            return Err(Refusal::StatusProhibits(format!(
                "{name} is deleted and waits to be purged"
            ))
            .into());
        }
        if domain.registrar == self.registrar.id {
            return Ok(Reply::Done);
        }
        if let Some(pending) = self.pending_transfer(&name)? {
            return Err(pending_refusal(&pending).into());
        }
        permitted(&domain, Action::Transfer)?;
        let zone = self.zone_of(&name)?.clone();
        self.check_transfer_lock(&domain, &zone)?;
        if !authorizes(&domain, verified_hash) {
            return Err(Refusal::AuthorizationFailed(format!(
                "the domain password does not authorize a transfer of {name}"
            ))
            .into());
        }
        let fee = self.charge(LedgerKind::Transfer, &name, 1, &zone)?;
        let mut transfer = Transfer {
            domain: name.clone(),
            status: TransferStatus::Pending,
            gaining: self.registrar.id,
            losing: domain.registrar,
            requested: self.now,
            acted: self.now + i64::from(zone.lifecycle.transfer_timeout_days) * DAY,
            expires: transferred_expiry(&domain, &zone, self.now),
            fee,
        };
        if zone.lifecycle.transfer_timeout_days == 0 {
            self.complete(domain, &zone, &mut transfer, TransferStatus::ServerApproved)?;
            return Ok(Reply::Transfer(Box::new(transfer)));
        }
        self.store.save_transfer(zone.id, &transfer)?;
        self.record(
            HistoryKey::Domain(&name),
            format!(
                "TRANSFER REQUESTED (by registrar {}; {} charged; answered by default on {})",
                transfer.gaining,
                money(fee),
                calendar::date(transfer.acted)
            ),
        )?;
        let default = match zone.lifecycle.transfer_default {
            TransferDefault::Approve => "approved",
            TransferDefault::Reject => "cancelled",
        };
        self.notify(
            transfer.losing,
            &transfer,
            format!(
                "Transfer of {name} to registrar {} requested: approve or reject it by {}, when it is {default}",
                transfer.gaining,
                calendar::date(transfer.acted)
            ),
        )?;
        Ok(Reply::Transfer(Box::new(transfer)))
    }

    pub(super) fn decide_transfer(
        &mut self,
        name: &str,
        action: TransferAction,
    ) -> Result<Reply, Failure> {
        let (name, domain) = self.registered(name)?;
        let mut transfer = self.pending_transfer(&name)?.ok_or_else(|| {
            Refusal::NotPendingTransfer(format!("no transfer of {name} is pending"))
        })?;
        let action = match action {
            TransferAction::Decline if self.registrar.id == transfer.gaining => {
                TransferAction::Cancel
            }
            TransferAction::Decline => TransferAction::Reject,
            action => action,
        };
        let (allowed, status) = match action {
            TransferAction::Approve => (transfer.losing, TransferStatus::ClientApproved),
            TransferAction::Reject => (transfer.losing, TransferStatus::ClientRejected),
            TransferAction::Cancel | TransferAction::Decline => {
                (transfer.gaining, TransferStatus::ClientCancelled)
            }
        };
        if allowed != self.registrar.id {
            return Err(Refusal::AccessDenied(match action {
                TransferAction::Cancel => {
                    format!("only the registrar that asked for the transfer of {name} withdraws it")
                }
                _ => format!("only the sponsor of {name} answers its transfer"),
            })
            .into());
        }
        let zone = self.zone_of(&name)?.clone();
        if status.completed() {
            self.complete(domain, &zone, &mut transfer, status)?;
        } else {
            self.lapse(&zone, &mut transfer, status)?;
        }
        Ok(Reply::Transfer(Box::new(transfer)))
    }

    pub(super) fn query_transfer(
        &mut self,
        name: &str,
        verified_hash: Option<&str>,
    ) -> Result<Reply, Failure> {
        let (name, domain) = self.registered(name)?;
        let transfer = self
            .store
            .transfer(&name)?
            .ok_or_else(|| Refusal::NotPendingTransfer(format!("{name} was never transferred")))?;
        let party = [transfer.gaining, transfer.losing].contains(&self.registrar.id);
        if !party && !authorizes(&domain, verified_hash) {
            return Err(Refusal::AuthorizationFailed(format!(
                "only the registrars of the transfer, or one with the domain password, see the transfer of {name}"
            ))
            .into());
        }
        Ok(Reply::Transfer(Box::new(transfer)))
    }

    /// Refuses a transfer within the zone's lock after the domain's registration or its last
    /// transfer.
    fn check_transfer_lock(&self, domain: &Domain, zone: &ZoneSettings) -> Result<(), Failure> {
        let days = i64::from(zone.lifecycle.transfer_lock_days);
        if days == 0 {
            return Ok(());
        }
        let transferred = self.store.transfer(&domain.name)?.filter(|t| {
            matches!(
                t.status,
                TransferStatus::ClientApproved | TransferStatus::ServerApproved
            ) && t.acted >= domain.created
        });
        let (what, since) = match transferred {
            Some(t) => ("transferred", t.acted),
            None => ("registered", domain.created),
        };
        if self.now < since + days * DAY {
            return Err(Refusal::Prohibited(format!(
                "{} was {what} on {}; it can be transferred from {} ({days}-day transfer lock)",
                domain.name,
                calendar::date(since),
                calendar::date(since + days * DAY)
            ))
            .into());
        }
        Ok(())
    }

    /// A registered domain by name (lower-cased), whoever sponsors it.
    fn registered(&self, name: &str) -> Result<(String, Domain), Failure> {
        let name = name.to_ascii_lowercase();
        let domain = self
            .store
            .domain(&name)?
            .ok_or_else(|| Refusal::NotRegistered(format!("{name} is not registered")))?;
        Ok((name, domain))
    }

    /// The domain's transfer if one is pending.
    pub(super) fn pending_transfer(&self, name: &str) -> Result<Option<Transfer>, Failure> {
        Ok(self
            .store
            .transfer(name)?
            .filter(|t| t.status == TransferStatus::Pending))
    }

    /// Moves the domain to the gaining registrar and records how the transfer ended.
    fn complete(
        &mut self,
        mut domain: Domain,
        zone: &ZoneSettings,
        transfer: &mut Transfer,
        status: TransferStatus,
    ) -> Result<(), Failure> {
        let name = domain.name.clone();
        self.publication.touch(self.store, &name)?;
        for (registrar, event) in [
            (transfer.gaining, Transaction::TransferGained),
            (transfer.losing, Transaction::TransferLost),
        ] {
            self.store.note(zone.id, registrar, event, 0, self.now)?;
        }
        // Renewed at expiry within its grace: the losing registrar gets that renewal back and
        // the transfer's year takes its place.
        if let Some(billed) = domain.billed
            && billed.kind == BilledKind::AutoRenew
            && self.now < billed.at + i64::from(zone.lifecycle.auto_renew_grace_days) * DAY
        {
            let refunded = self.refund(transfer.losing, &name, LedgerKind::AutoRenew, billed.at)?;
            domain.expires = billed.expires_before;
            self.record(
                HistoryKey::Domain(&name),
                format!(
                    "REFUND AUTO-RENEW (transferred in its grace period: {} refunded to registrar {})",
                    money(refunded),
                    transfer.losing
                ),
            )?;
        }
        let before = domain.expires;
        domain.expires = transferred_expiry(&domain, zone, self.now);
        domain.registrar = transfer.gaining;
        domain.updated = self.now;
        domain.billed = Some(Billed {
            kind: BilledKind::Transfer,
            at: self.now,
            expires_before: before,
        });
        // The old password authorized this transfer; it must not authorize the next one. The
        // old sponsor's statuses are its own, not the new one's.
        domain.auth_hash = None;
        domain.statuses = domain.statuses.registry_only();
        self.store.update_domain(&domain)?;
        self.move_hosts(&name, transfer.gaining)?;
        transfer.status = status;
        transfer.acted = self.now;
        transfer.expires = domain.expires;
        self.store.save_transfer(zone.id, transfer)?;
        // At once, the .name plan's words; after a wait, also how it ended.
        let how = if transfer.requested == self.now {
            String::new()
        } else {
            format!(", {}", status.as_str())
        };
        self.record(
            HistoryKey::Domain(&name),
            format!("TRANSFER DOMAIN (from registrar {}{how})", transfer.losing),
        )?;
        let text = format!(
            "Transfer of {name} from registrar {} to registrar {} completed ({})",
            transfer.losing,
            transfer.gaining,
            status.as_str()
        );
        for party in self.others(transfer) {
            self.notify(party, transfer, text.clone())?;
        }
        Ok(())
    }

    /// Ends the transfer without moving the domain, refunding the gaining registrar.
    pub(super) fn lapse(
        &mut self,
        zone: &ZoneSettings,
        transfer: &mut Transfer,
        status: TransferStatus,
    ) -> Result<(), Failure> {
        let name = transfer.domain.clone();
        self.credit(transfer.gaining, &name, transfer.fee)?;
        if status == TransferStatus::ClientRejected {
            for (registrar, event) in [
                (transfer.gaining, Transaction::TransferGainNacked),
                (transfer.losing, Transaction::TransferLossNacked),
            ] {
                self.store.note(zone.id, registrar, event, 0, self.now)?;
            }
        }
        transfer.status = status;
        transfer.acted = self.now;
        self.store.save_transfer(zone.id, transfer)?;
        self.record(
            HistoryKey::Domain(&name),
            format!(
                "TRANSFER ENDED (to registrar {}, {}; {} refunded)",
                transfer.gaining,
                status.as_str(),
                money(transfer.fee)
            ),
        )?;
        let text = format!(
            "Transfer of {name} to registrar {} ended: {}",
            transfer.gaining,
            status.as_str()
        );
        for party in self.others(transfer) {
            self.notify(party, transfer, text.clone())?;
        }
        Ok(())
    }

    /// The registrars of a transfer that did not just act on it (both, when the registry did).
    fn others(&self, transfer: &Transfer) -> Vec<u32> {
        [transfer.gaining, transfer.losing]
            .into_iter()
            .filter(|&r| self.actor != Actor::Registrar(r))
            .collect()
    }

    fn notify(&mut self, registrar: u32, transfer: &Transfer, text: String) -> Result<(), Failure> {
        self.store.queue_message(&Message {
            id: 0,
            registrar,
            at: self.now,
            text,
            about: Notice::Transfer(transfer.clone()),
        })?;
        Ok(())
    }
}

/// True if the password the front end verified is the domain's current one.
fn authorizes(domain: &Domain, verified_hash: Option<&str>) -> bool {
    domain.auth_hash.is_some() && domain.auth_hash.as_deref() == verified_hash
}

/// The refusal of a change while a transfer is pending.
pub(super) fn pending_refusal(transfer: &Transfer) -> Refusal {
    Refusal::PendingTransfer(format!(
        "a transfer of {} to registrar {} is pending until {}; its sponsor answers it first",
        transfer.domain,
        transfer.gaining,
        calendar::date(transfer.acted)
    ))
}

/// A domain's expiry once transferred at `now`: a year later, within the zone's longest
/// registration from now (never earlier than it is).
fn transferred_expiry(domain: &Domain, zone: &ZoneSettings, now: i64) -> i64 {
    let extended = calendar::add_months(domain.expires, 12);
    if zone.max_period_months == 0 {
        return extended;
    }
    let limit = calendar::add_months(now, i64::from(zone.max_period_months));
    extended.min(limit.max(domain.expires))
}

/// Answers the transfers whose sponsor let the zone's timeout pass, with the zone's default.
/// Returns how many it answered (at most `limit`).
pub fn answer_due(
    store: &dyn Store,
    publication: &mut Publication,
    zones: &[ZoneSettings],
    now: i64,
    limit: usize,
) -> Result<usize, Failure> {
    let mut answered = 0;
    for zone in zones {
        for name in store.transfers_due(zone.id, now, limit - answered)? {
            let (Some(domain), Some(mut transfer)) = (store.domain(&name)?, store.transfer(&name)?)
            else {
                continue;
            };
            let Some(gaining) = store.registrar(transfer.gaining)? else {
                continue;
            };
            let mut rules = Rules {
                store,
                publication,
                zones,
                now,
                registrar: &gaining,
                actor: Actor::Registry,
                acknowledged: None,
            };
            match zone.lifecycle.transfer_default {
                TransferDefault::Approve => {
                    rules.complete(domain, zone, &mut transfer, TransferStatus::ServerApproved)?
                }
                TransferDefault::Reject => {
                    rules.lapse(zone, &mut transfer, TransferStatus::ServerCancelled)?
                }
            }
            answered += 1;
        }
    }
    Ok(answered)
}
