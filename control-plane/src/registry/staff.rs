//! What the registry's staff do to a domain, apart from its registrar: hold it out of the DNS,
//! lock it against changes, suspend it (both), release it, and transfer it to another
//! registrar on a dispute's decision or a court's order. The holds and locks are RFC 5731's
//! `server…` statuses, which registrars can neither set nor clear.
//!
//! Every action names a [`Case`] (a reason class and a reference), kept in the domain's
//! history with the operator's name and told to its registrar by a service message. While any
//! `server…` status is set the domain keeps the case it was set for. A registry lock
//! ([`Reason::RegistryLock`], set at the registrar's request) is lifted only with the
//! reference of a confirmation made out of band, which the history keeps; other actions on a
//! registry-locked domain add their statuses but leave it locked.

use zonefiles::whois::DomainStatus;

use super::{Failure, Refusal, Rules, status_change};
use crate::model::{
    Actor, Case, Domain, HistoryKey, LedgerKind, Message, Notice, Reason, Transfer, TransferStatus,
    ZoneSettings,
};
use crate::publish::Publication;
use crate::store::Store;

/// What the staff do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffAction {
    /// Out of the DNS (`serverHold`).
    Hold,
    /// No change, deletion or transfer (`serverUpdateProhibited`, `serverDeleteProhibited`,
    /// `serverTransferProhibited`).
    Lock,
    /// Both: out of the DNS and frozen.
    Suspend,
    /// Every `server…` status cleared; a registry lock needs the confirmation's reference.
    Release {
        /// The reference of the confirmation made out of band.
        confirmation: Option<String>,
    },
    /// To this registrar, without charge and with its expiry unchanged; a pending transfer is
    /// cancelled and the domain password cleared.
    Transfer {
        /// The gaining registrar.
        to: u32,
    },
}

impl StaffAction {
    /// The statuses it sets: a hold's, a lock's, or both for a suspension.
    fn sets(&self) -> impl Iterator<Item = DomainStatus> {
        const HOLD: &[DomainStatus] = &[DomainStatus::ServerHold];
        const LOCK: &[DomainStatus] = &[
            DomainStatus::ServerUpdateProhibited,
            DomainStatus::ServerDeleteProhibited,
            DomainStatus::ServerTransferProhibited,
        ];
        let (hold, lock) = match self {
            StaffAction::Hold => (true, false),
            StaffAction::Lock => (false, true),
            StaffAction::Suspend => (true, true),
            StaffAction::Release { .. } | StaffAction::Transfer { .. } => (false, false),
        };
        HOLD.iter()
            .filter(move |_| hold)
            .chain(LOCK.iter().filter(move |_| lock))
            .copied()
    }

    /// Its name in the history.
    fn word(&self) -> &'static str {
        match self {
            StaffAction::Hold => "HOLD",
            StaffAction::Lock => "LOCK",
            StaffAction::Suspend => "SUSPEND",
            StaffAction::Release { .. } => "RELEASE",
            StaffAction::Transfer { .. } => "TRANSFER",
        }
    }
}

/// Carries out `action` on the domain `name` for `case`, as `operator`, at `now`; returns what
/// changed, in words (or that nothing did).
pub fn act(
    store: &dyn Store,
    publication: &mut Publication,
    now: i64,
    operator: &str,
    name: &str,
    action: &StaffAction,
    case: &Case,
) -> Result<String, Failure> {
    if case.reference.trim().is_empty() {
        return Err(Refusal::Missing("every action names the case's reference".into()).into());
    }
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let domain = store
        .domain(&name)?
        .ok_or_else(|| Refusal::NotRegistered(format!("{name} is not registered")))?;
    let sponsor = store
        .registrar(domain.registrar)?
        .ok_or_else(|| Refusal::NotRegistered(format!("registrar {}", domain.registrar)))?;
    let zones = publication.zones(store)?;
    let mut rules = Rules {
        store,
        publication,
        zones: &zones,
        now,
        registrar: &sponsor,
        actor: Actor::Operator(operator.to_string()),
        acknowledged: None,
    };
    let zone = rules.zone_of(&domain.name)?.clone();
    match action {
        StaffAction::Transfer { to } => rules.registry_transfer(domain, &zone, *to, case),
        _ => rules.server_statuses(domain, action, case),
    }
}

impl Rules<'_> {
    fn server_statuses(
        &mut self,
        mut domain: Domain,
        action: &StaffAction,
        case: &Case,
    ) -> Result<String, Failure> {
        let before = domain.statuses;
        let registry_locked = domain
            .case
            .as_ref()
            .is_some_and(|c| c.reason == Reason::RegistryLock);
        let after = match action {
            StaffAction::Release { confirmation } => {
                if registry_locked && confirmation.as_deref().is_none_or(|c| c.trim().is_empty()) {
                    return Err(Refusal::Missing(format!(
                        "{} is registry-locked: give the reference of the confirmation made out of band",
                        domain.name
                    ))
                    .into());
                }
                before.registrar_only()
            }
            _ => before.union(action.sets().collect()),
        };
        if after == before {
            return Ok(format!("{}: nothing to change", domain.name));
        }
        let change = status_change(before, after);
        domain.case = match action {
            StaffAction::Release { .. } => None,
            _ if registry_locked => domain.case.take(),
            _ => Some(case.clone()),
        };
        self.publication.touch(self.store, &domain.name)?;
        domain.statuses = after;
        domain.updated = self.now;
        self.store.update_domain(&domain)?;
        let confirmed = match action {
            StaffAction::Release {
                confirmation: Some(c),
            } => format!("; confirmed {c}"),
            _ => String::new(),
        };
        let entry = format!("{} ({change}; {case}{confirmed})", action.word());
        self.record(HistoryKey::Domain(&domain.name), entry.clone())?;
        self.tell(
            domain.registrar,
            &domain.name,
            case,
            format!(
                "The registry changed the statuses of {}: {change} ({})",
                domain.name,
                case.reason.as_str()
            ),
        )?;
        Ok(format!("{}: {entry}", domain.name))
    }

    fn registry_transfer(
        &mut self,
        mut domain: Domain,
        zone: &ZoneSettings,
        to: u32,
        case: &Case,
    ) -> Result<String, Failure> {
        let losing = domain.registrar;
        if to == losing {
            return Ok(format!(
                "{}: sponsored by registrar {to} already",
                domain.name
            ));
        }
        if self.store.registrar(to)?.is_none() {
            return Err(Refusal::NotRegistered(format!("there is no registrar {to}")).into());
        }
        if let Some(mut pending) = self.pending_transfer(&domain.name)? {
            self.lapse(zone, &mut pending, TransferStatus::ServerCancelled)?;
        }
        self.publication.touch(self.store, &domain.name)?;
        domain.registrar = to;
        domain.updated = self.now;
        // The old password must not authorize the next transfer; the old sponsor's charge
        // is no longer in any grace period of the new one, nor its statuses the new one's.
        domain.auth_hash = None;
        domain.billed = None;
        domain.statuses = domain.statuses.registry_only();
        self.store.update_domain(&domain)?;
        self.move_hosts(&domain.name, to)?;
        let transfer = Transfer {
            domain: domain.name.clone(),
            status: TransferStatus::ServerApproved,
            gaining: to,
            losing,
            requested: self.now,
            acted: self.now,
            expires: domain.expires,
            fee: 0,
        };
        self.store.save_transfer(zone.id, &transfer)?;
        for registrar in [losing, to] {
            self.store.charge(
                registrar,
                0,
                LedgerKind::RegistryTransfer,
                Some(&domain.name),
                self.now,
            )?;
        }
        let entry =
            format!("TRANSFER BY THE REGISTRY (from registrar {losing} to registrar {to}; {case})");
        self.record(HistoryKey::Domain(&domain.name), entry.clone())?;
        let text = format!(
            "The registry transferred {} from registrar {losing} to registrar {to} ({})",
            domain.name,
            case.reason.as_str()
        );
        for registrar in [losing, to] {
            self.store.queue_message(&Message {
                id: 0,
                registrar,
                at: self.now,
                text: text.clone(),
                about: Notice::Transfer(transfer.clone()),
            })?;
        }
        Ok(format!("{}: {entry}", domain.name))
    }

    /// Queues a service message about `domain` for its registrar.
    fn tell(
        &mut self,
        registrar: u32,
        domain: &str,
        case: &Case,
        text: String,
    ) -> Result<(), Failure> {
        self.store.queue_message(&Message {
            id: 0,
            registrar,
            at: self.now,
            text,
            about: Notice::Changed {
                domain: domain.to_string(),
                who: self.actor.to_string(),
                case: case.clone(),
            },
        })?;
        Ok(())
    }
}
