//! The registry's rules: a command, the state seen through a [`Store`] and the time go in; a
//! reply (or a refusal) comes out, the state is changed through the store, and every domain the
//! command touched is noted in a [`Publication`] that turns the batch into one signed changeset
//! per zone. No I/O, no clock, no protocol: the front ends (SRRP's
//! [`crate::front::srrp::translate`], EPP's [`crate::front::epp::translate`], RRP's
//! [`crate::front::rrp::translate`]), `import` and the operator commands are thin layers over
//! [`execute`].
//!
//! This file holds the commands, replies and refusals, `execute`'s dispatch and the rules every
//! family of commands shares (names, charges, clusters); it is long because the types are the
//! registry's vocabulary, read in one place. Each family's rules have a file of their own.
//!
//! # Rules
//!
//! - Names are LDH labels (IDN as A-labels) registered at the zone's level: `example.tld` in a
//!   level-2 zone, `john.smith.name` in a level-3 zone whose second-level labels are shared.
//!   A blocked label at a registrable level, or a blocked third/second combination, refuses
//!   the name.
//! - A registrar sees and changes only its own domains and clusters; anything else is
//!   [`Refusal::AccessDenied`].
//! - Registration and renewal (a later expiry date) are charged in whole years, a transfer and
//!   a restore once, each at the zone's price for it ([`crate::model::Prices`]), in the same
//!   transaction; a balance that would fall below `-credit_limit` refuses the command.
//! - Commands are idempotent: repeating one changes nothing further (a second create is
//!   refused as already registered; a second `SET STATUS` to the same value records nothing; a
//!   transfer to the sponsoring registrar is a no-op; a cluster with the same name servers as
//!   one the registrar has is that cluster).
//! - Secrets never reach the rules in clear: the front end verifies a presented domain password
//!   against the stored hash (salted SHA-256, RFC 9154) off the commit path and passes the
//!   hash it verified, which the rules compare with the current one (so a password changed
//!   meanwhile no longer counts).
//! - A domain's life after registration — grace periods, deletion, restore, purge — is in
//!   `lifecycle`; transfers, at once or waiting for the sponsor's answer, in `transfer`; host
//!   objects in `hosts`; partial edits in `edit`.
//! - Statuses (RFC 5731 §2.3): a registrar sets and clears its own (`client…`); the
//!   registry's staff set theirs (`server…`: holds, locks, suspensions, and transfers on a
//!   dispute's decision) in `staff`, each for a named case. A hold keeps the domain out of the
//!   DNS; a prohibition refuses its kind of command with [`Refusal::Prohibited`] whichever
//!   front end it came through.

mod edit;
mod hosts;
mod lifecycle;
#[cfg(test)]
mod scenarios;
mod staff;
mod transfer;

use std::net::IpAddr;

pub use lifecycle::{SWEEP_LIMIT, grace_status, sweep};
pub use staff::{StaffAction, act};
pub use transfer::TransferAction;

use crate::model::{
    Action, Actor, Billed, BilledKind, Cluster, Domain, HistoryEntry, HistoryKey, Host, LedgerKind,
    Message, Nameserver, Notice, Prices, Registrar, Statuses, Transaction, Transfer,
    TransferDefault, ZoneSettings, set_by_registry,
};
use crate::publish::{Publication, domain_roid};
use crate::store::{Store, StoreError};
use zonefiles::calendar;
use zonefiles::whois::{DelegationSigner, DomainStatus};

/// Where a new domain's name servers come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameserverSource {
    /// None yet: the domain is registered but not delegated.
    None,
    /// An existing cluster.
    Cluster(u64),
    /// These name servers, in a cluster made (or found) for them.
    Entries(Vec<Nameserver>),
    /// These host objects, with their addresses, in a cluster made (or found) for them.
    Hosts(Vec<String>),
}

/// A registrar's command, independent of the protocol it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Register a domain.
    CreateDomain {
        /// The name.
        name: String,
        /// Requested expiry (a day), or the period below.
        expires: Option<i64>,
        /// Registration period in months when no expiry is given, or the zone's default.
        period_months: Option<u32>,
        /// Requested status, or active.
        active: Option<bool>,
        /// Its name servers.
        nameservers: NameserverSource,
        /// Hash of the domain password, if one was given.
        auth_hash: Option<String>,
        /// DS records.
        ds: Vec<DelegationSigner>,
    },
    /// Make a cluster.
    CreateCluster {
        /// Its name servers.
        nameservers: Vec<Nameserver>,
    },
    /// Change a domain's expiry (a later date is a renewal and is charged).
    SetExpire {
        /// The domain.
        name: String,
        /// The new expiry.
        expires: i64,
    },
    /// Point a domain at another cluster.
    SetCluster {
        /// The domain.
        name: String,
        /// The cluster.
        cluster: u64,
    },
    /// Set and clear statuses of a domain its registrar may change (`client…`; SRRP's `SET
    /// STATUS inactive` is `clientHold` added). Under `clientUpdateProhibited`, only a command
    /// clearing it is accepted.
    SetStatus {
        /// The domain.
        name: String,
        /// Statuses to set.
        add: Statuses,
        /// Statuses to clear.
        remove: Statuses,
    },
    /// Replace a cluster's name servers.
    SetNameservers {
        /// The cluster.
        cluster: u64,
        /// Its new name servers.
        nameservers: Vec<Nameserver>,
    },
    /// Set a domain's password.
    SetPassword {
        /// The domain.
        name: String,
        /// Hash of the new password.
        auth_hash: String,
    },
    /// Replace a domain's DS records.
    SetDs {
        /// The domain.
        name: String,
        /// The new DS set.
        ds: Vec<DelegationSigner>,
    },
    /// Delete a domain.
    DeleteDomain {
        /// The domain.
        name: String,
    },
    /// Delete a cluster no active domain uses.
    DeleteCluster {
        /// The cluster.
        cluster: u64,
    },
    /// Everything about a domain.
    QueryDomain {
        /// The domain.
        name: String,
    },
    /// A cluster's name servers.
    QueryCluster {
        /// The cluster.
        cluster: u64,
    },
    /// Move a domain to the requesting registrar, authorized by its password: at once, or
    /// pending its sponsor's answer in a zone with a transfer timeout.
    Transfer {
        /// The domain.
        name: String,
        /// The stored password hash the presented password was verified against (`None` if it
        /// matched none).
        verified_hash: Option<String>,
    },
    /// Answer (the sponsor) or withdraw (the registrar that asked) a pending transfer.
    DecideTransfer {
        /// The domain.
        name: String,
        /// What to do.
        action: TransferAction,
    },
    /// A domain's latest transfer, for its two registrars or one holding the domain password.
    QueryTransfer {
        /// The domain.
        name: String,
        /// As for [`Command::Transfer`].
        verified_hash: Option<String>,
    },
    /// Whether names could be registered now, each with the reason when not; with `quote`,
    /// also what each would cost ([`Reply::Priced`]).
    CheckDomains {
        /// The names.
        names: Vec<String>,
        /// Operations to price: what, and for how many years (1 for a transfer or restore).
        quote: Vec<(LedgerKind, u32)>,
    },
    /// Extend a registration by a period from its current expiry, which the registrar states
    /// (so that a repeated renewal is refused rather than charged twice).
    Renew {
        /// The domain.
        name: String,
        /// What the registrar believes its expiry is.
        current_expiry: CurrentExpiry,
        /// The period to add, in months.
        months: u32,
    },
    /// Change one domain's name servers by adding and removing hosts (the domain moves to the
    /// registrar's cluster holding the result, made if need be; none left: not delegated).
    EditNameservers {
        /// The domain.
        name: String,
        /// Hosts to add, with their addresses.
        add: Vec<Nameserver>,
        /// Host objects to add (their addresses are theirs).
        add_hosts: Vec<String>,
        /// Host names to remove.
        remove: Vec<String>,
    },
    /// Change a domain's DS set by removing (some or all) and adding records.
    EditDs {
        /// The domain.
        name: String,
        /// Records to add.
        add: Vec<DelegationSigner>,
        /// Records to remove.
        remove: Vec<DelegationSigner>,
        /// Remove every record first.
        remove_all: bool,
    },
    /// Several changes carried out together: all of them or, if one is refused, none.
    All(Vec<Command>),
    /// A command that charges (create, renew, transfer, restore) with the fee the registrar
    /// acknowledged (EPP's fee extension, RFC 8748): refused if the price is higher. Premium
    /// names are registered, renewed, transferred and restored only this way. Replies
    /// [`Reply::Charged`].
    WithFee {
        /// The acknowledged fee, in cents.
        fee: i64,
        /// The command.
        command: Box<Command>,
    },
    /// Bring back a deleted domain in its redemption period (charged the zone's restore price).
    Restore {
        /// The domain.
        name: String,
    },
    /// Whether host objects could be created now.
    CheckHosts {
        /// The names.
        names: Vec<String>,
    },
    /// Create a host object.
    CreateHost {
        /// Its name.
        name: String,
        /// Its addresses (required inside a registry zone, refused outside).
        addresses: Vec<IpAddr>,
    },
    /// A host object.
    QueryHost {
        /// Its name.
        name: String,
    },
    /// Change a host object's addresses or name (every cluster listing it follows).
    UpdateHost {
        /// Its name.
        name: String,
        /// Addresses to add.
        add: Vec<IpAddr>,
        /// Addresses to remove.
        remove: Vec<IpAddr>,
        /// Its new name.
        rename: Option<String>,
    },
    /// Delete a host object no domain uses.
    DeleteHost {
        /// Its name.
        name: String,
    },
    /// The registrar's oldest service message and how many are waiting.
    Poll,
    /// Remove a service message the registrar has read.
    Acknowledge {
        /// Its id.
        id: i64,
    },
    /// The registry's defaults and limits.
    StatusDefaults,
    /// About the server.
    StatusServer,
}

impl Command {
    /// True for commands that change nothing.
    pub fn is_query(&self) -> bool {
        matches!(
            self,
            Command::QueryDomain { .. }
                | Command::QueryCluster { .. }
                | Command::CheckDomains { .. }
                | Command::CheckHosts { .. }
                | Command::QueryHost { .. }
                | Command::QueryTransfer { .. }
                | Command::Poll
                | Command::StatusDefaults
                | Command::StatusServer
        )
    }

    /// The command itself: the one a [`Command::WithFee`] carries, or this one.
    pub fn carried_mut(&mut self) -> &mut Command {
        match self {
            Command::WithFee { command, .. } => command.carried_mut(),
            command => command,
        }
    }

    /// A short name for logs and metrics, e.g. `create-domain`.
    pub fn kind(&self) -> &'static str {
        match self {
            Command::CreateDomain { .. } => "create-domain",
            Command::CreateCluster { .. } => "create-cluster",
            Command::SetExpire { .. } => "set-expire",
            Command::SetCluster { .. } => "set-cluster",
            Command::SetStatus { .. } => "set-status",
            Command::SetNameservers { .. } => "set-nameservers",
            Command::SetPassword { .. } => "set-password",
            Command::SetDs { .. } => "set-ds",
            Command::DeleteDomain { .. } => "delete-domain",
            Command::DeleteCluster { .. } => "delete-cluster",
            Command::QueryDomain { .. } => "query-domain",
            Command::QueryCluster { .. } => "query-cluster",
            Command::Transfer { .. } => "transfer-domain",
            Command::DecideTransfer { .. } => "decide-transfer",
            Command::QueryTransfer { .. } => "query-transfer",
            Command::CheckDomains { .. } => "check-domains",
            Command::Renew { .. } => "renew-domain",
            Command::EditNameservers { .. } => "edit-nameservers",
            Command::EditDs { .. } => "edit-ds",
            Command::All(_) => "several",
            Command::WithFee { command, .. } => command.kind(),
            Command::Restore { .. } => "restore-domain",
            Command::CheckHosts { .. } => "check-hosts",
            Command::CreateHost { .. } => "create-host",
            Command::QueryHost { .. } => "query-host",
            Command::UpdateHost { .. } => "update-host",
            Command::DeleteHost { .. } => "delete-host",
            Command::Poll => "poll",
            Command::Acknowledge { .. } => "acknowledge",
            Command::StatusDefaults => "status-defaults",
            Command::StatusServer => "status-server",
        }
    }
}

/// What a registrar states of a domain's expiry when it renews it: a renewal sent twice no
/// longer matches the second time, and is refused ([`Refusal::ExpiryMismatch`]) rather than
/// charged twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurrentExpiry {
    /// The day it expires, as a time at 00:00 UTC (EPP's `<domain:curExpDate>`).
    Day(i64),
    /// The year it expires in (RRP's `-CurrentExpirationYear`).
    Year(i64),
    /// Nothing (RRP's `renew` without options, which renews whatever the expiry).
    Unstated,
}

/// What an operation on a name would cost now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// The name.
    pub name: String,
    /// The operation.
    pub kind: LedgerKind,
    /// Years (1 for a transfer or a restore).
    pub years: u32,
    /// Its price, in cents.
    pub price: i64,
    /// The name is premium (priced on its own).
    pub premium: bool,
}

/// The registry's defaults, as STATUS DEFAULTS reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// Default period of a registration, months.
    pub default_period: u32,
    /// Longest registration, months.
    pub maximum_period: u32,
    /// Fewest name servers.
    pub minimum_ns: u32,
    /// Most name servers.
    pub maximum_ns: u32,
    /// Days a transfer waits for the sponsor's answer (0: transfers complete at once).
    pub transfer_timeout: u32,
    /// The answer the timeout gives, if transfers wait.
    pub transfer_default: Option<TransferDefault>,
    /// One line per zone with its own values.
    pub zones: Vec<String>,
}

/// A successful command's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Done (or already so).
    Done,
    /// A domain was registered.
    DomainCreated {
        /// When.
        created: i64,
        /// Its cluster, if it has one.
        cluster: Option<u64>,
        /// Its expiry.
        expires: i64,
        /// Its status.
        active: bool,
    },
    /// A cluster was made (or the registrar's identical one found).
    ClusterCreated {
        /// Its id.
        cluster: u64,
    },
    /// A domain and its history, newest first.
    Domain {
        /// The domain.
        domain: Box<Domain>,
        /// Its history, newest first.
        history: Vec<HistoryEntry>,
        /// Its name servers (those of its cluster).
        nameservers: Vec<Nameserver>,
        /// Its registry object id.
        roid: String,
        /// Every name server is a host object (EPP lists them as `hostObj`).
        host_objects: bool,
        /// Its RFC 3915 status ([`grace_status`]), if any.
        grace: Option<&'static str>,
        /// Its transfer, if one is pending.
        transfer: Option<Box<Transfer>>,
    },
    /// A domain was deleted: out of the registry (`pending` false), or waiting to be purged.
    Deleted {
        /// It waits to be purged (redemption period, then pending delete).
        pending: bool,
    },
    /// A host object was created.
    HostCreated {
        /// When.
        created: i64,
    },
    /// A host object.
    Host {
        /// The host.
        host: Box<Host>,
        /// A domain names it among its name servers.
        linked: bool,
    },
    /// The oldest service message, if any, and how many are waiting; with a message about a
    /// change the registry's staff made, the domain as it is now ([`Reply::Domain`]) while the
    /// registrar sponsors it.
    Message(Option<(Box<Message>, u64)>, Option<Box<Reply>>),
    /// A message was removed; this many remain.
    Acknowledged {
        /// Messages still waiting.
        remaining: u64,
    },
    /// Per name asked: `Ok` if it could be registered now, else why not.
    Availability(Vec<(String, Result<(), String>)>),
    /// [`Reply::Availability`] with the prices asked for (in the names' order).
    Priced(Vec<(String, Result<(), String>)>, Vec<Quote>),
    /// What a [`Command::WithFee`] charged, the balance after it, and its command's reply.
    Charged {
        /// Cents charged (negative: refunded).
        fee: i64,
        /// The registrar's balance after it.
        balance: i64,
        /// The command's reply.
        reply: Box<Reply>,
    },
    /// A registration's new expiry.
    Expires(i64),
    /// A domain's transfer as it stands: completed, pending, or how it ended.
    Transfer(Box<Transfer>),
    /// A cluster.
    Cluster(Cluster),
    /// The defaults.
    Defaults(Defaults),
    /// Lines about the server.
    Server(Vec<String>),
}

/// Why the rules refused a command. Every variant carries a text for the registrar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The domain is registered already.
    #[error("{0}")]
    AlreadyRegistered(String),
    /// The domain is not registered.
    #[error("{0}")]
    NotRegistered(String),
    /// The cluster does not exist.
    #[error("{0}")]
    ClusterNotRegistered(String),
    /// A value is not valid.
    #[error("{0}")]
    InvalidValue(String),
    /// An expiry date in the past or too far ahead.
    #[error("{0}")]
    InvalidExpiry(String),
    /// Too few or too many name servers.
    #[error("{0}")]
    NameserverCount(String),
    /// A required value is missing.
    #[error("{0}")]
    Missing(String),
    /// The object is still in use.
    #[error("{0}")]
    InUse(String),
    /// The name is blocked.
    #[error("{0}")]
    Blocked(String),
    /// Not enough credit.
    #[error("{0}")]
    Credit(String),
    /// The object belongs to another registrar.
    #[error("{0}")]
    AccessDenied(String),
    /// The credentials did not match.
    #[error("{0}")]
    AuthorizationFailed(String),
    /// The registrar asked for what only the registry may do (set a `server…` status).
    #[error("{0}")]
    RegistryOnly(String),
    /// A status set on the domain prohibits the command (`clientDeleteProhibited`, …).
    #[error("{0}")]
    Prohibited(String),
    /// The fee the registrar acknowledged is lower than the price, or a premium name's price
    /// was not acknowledged.
    #[error("{0}")]
    Fee(String),
    /// The object's status forbids it (a deleted domain waiting to be purged, a domain with a
    /// transfer pending).
    #[error("{0}")]
    StatusProhibits(String),
    /// A transfer of the domain is pending already.
    #[error("{0}")]
    PendingTransfer(String),
    /// No transfer of the domain is pending (or, for a query, ever happened).
    #[error("{0}")]
    NotPendingTransfer(String),
    /// The current expiry a renewal states is not the domain's.
    #[error("{0}")]
    ExpiryMismatch(String),
}

/// Why a command could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The rules refused it; nothing changed.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The database failed; the command's changes must be rolled back.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a command runs with besides the store.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// Now (seconds since 1970, UTC).
    pub now: i64,
    /// The registrar issuing it.
    pub registrar: &'a Registrar,
    /// Lines for STATUS SERVER.
    pub server_info: &'a [String],
    /// The fee the registrar acknowledged for this command ([`Command::WithFee`]).
    pub fee: Option<i64>,
}

/// Carries out one command. Changes go through `store`; every domain whose DNS or WHOIS data
/// may change is noted in `publication` before it changes.
pub fn execute(
    store: &dyn Store,
    publication: &mut Publication,
    context: &Context<'_>,
    command: &Command,
) -> Result<Reply, Failure> {
    let zones = publication.zones(store)?;
    let mut rules = Rules {
        store,
        publication,
        zones: &zones,
        now: context.now,
        registrar: context.registrar,
        actor: Actor::Registrar(context.registrar.id),
        acknowledged: context.fee,
    };
    match command {
        Command::CreateDomain {
            name,
            expires,
            period_months,
            active,
            nameservers,
            auth_hash,
            ds,
        } => rules.create_domain(
            name,
            match (expires, period_months) {
                (Some(day), _) => Term::Until(*day),
                (None, Some(months)) => Term::Months(*months),
                (None, None) => Term::Default,
            },
            active.unwrap_or(true),
            nameservers,
            auth_hash,
            ds,
        ),
        Command::CreateCluster { nameservers } => rules.create_cluster(nameservers),
        Command::SetExpire { name, expires } => rules.set_expire(name, *expires),
        Command::SetCluster { name, cluster } => rules.set_cluster(name, *cluster),
        Command::SetStatus { name, add, remove } => rules.set_status(name, *add, *remove),
        Command::SetNameservers {
            cluster,
            nameservers,
        } => rules.set_nameservers(*cluster, nameservers),
        Command::SetPassword { name, auth_hash } => rules.set_password(name, auth_hash),
        Command::SetDs { name, ds } => rules.set_ds(name, ds),
        Command::DeleteDomain { name } => rules.delete_domain(name),
        Command::DeleteCluster { cluster } => rules.delete_cluster(*cluster),
        Command::QueryDomain { name } => rules.query_domain(name),
        Command::QueryCluster { cluster } => Ok(Reply::Cluster(rules.own_cluster(*cluster)?)),
        Command::Transfer {
            name,
            verified_hash,
        } => rules.transfer(name, verified_hash.as_deref()),
        Command::DecideTransfer { name, action } => rules.decide_transfer(name, *action),
        Command::QueryTransfer {
            name,
            verified_hash,
        } => rules.query_transfer(name, verified_hash.as_deref()),
        Command::CheckDomains { names, quote } => rules.check_domains(names, quote),
        Command::Renew {
            name,
            current_expiry,
            months,
        } => rules.renew(name, *current_expiry, *months),
        Command::EditNameservers {
            name,
            add,
            add_hosts,
            remove,
        } => {
            let mut add = add.clone();
            add.extend(rules.resolve_hosts(add_hosts)?);
            rules.edit_nameservers(name, &add, remove)
        }
        Command::Restore { name } => rules.restore(name),
        Command::CheckHosts { names } => rules.check_hosts(names),
        Command::CreateHost { name, addresses } => rules.create_host(name, addresses),
        Command::QueryHost { name } => rules.query_host(name),
        Command::UpdateHost {
            name,
            add,
            remove,
            rename,
        } => rules.update_host(name, add, remove, rename.as_deref()),
        Command::DeleteHost { name } => rules.delete_host(name),
        Command::Poll => {
            let first = store.first_message(context.registrar.id)?;
            let object = match first.as_ref().map(|(m, _)| &m.about) {
                Some(Notice::Changed { domain, .. }) => {
                    rules.query_domain(domain).ok().map(Box::new)
                }
                _ => None,
            };
            Ok(Reply::Message(
                first.map(|(message, count)| (Box::new(message), count)),
                object,
            ))
        }
        Command::Acknowledge { id } => {
            if !store.delete_message(context.registrar.id, *id)? {
                return Err(
                    Refusal::NotRegistered(format!("no message {id} is queued for you")).into(),
                );
            }
            let remaining = store
                .first_message(context.registrar.id)?
                .map_or(0, |(_, n)| n);
            Ok(Reply::Acknowledged { remaining })
        }
        Command::EditDs {
            name,
            add,
            remove,
            remove_all,
        } => rules.edit_ds(name, add, remove, *remove_all),
        Command::All(commands) => {
            let mut reply = Reply::Done;
            for command in commands {
                let context = Context {
                    now: rules.now,
                    registrar: rules.registrar,
                    server_info: context.server_info,
                    fee: context.fee,
                };
                reply = execute(store, rules.publication, &context, command)?;
            }
            Ok(reply)
        }
        Command::WithFee { fee, command } => {
            let balance = || -> Result<i64, Failure> {
                Ok(store
                    .registrar(context.registrar.id)?
                    .map_or(0, |r| r.balance))
            };
            let before = balance()?;
            let context = Context {
                fee: Some(*fee),
                ..context.clone()
            };
            let reply = execute(store, rules.publication, &context, command)?;
            let after = balance()?;
            Ok(Reply::Charged {
                fee: before - after,
                balance: after,
                reply: Box::new(reply),
            })
        }
        Command::StatusDefaults => Ok(Reply::Defaults(defaults(&zones))),
        Command::StatusServer => Ok(Reply::Server(context.server_info.to_vec())),
    }
}

fn defaults(zones: &[ZoneSettings]) -> Defaults {
    let first = zones.first();
    Defaults {
        default_period: first.map_or(12, |z| z.default_period_months),
        maximum_period: first.map_or(0, |z| z.max_period_months),
        minimum_ns: first.map_or(0, |z| z.min_ns),
        maximum_ns: first.map_or(0, |z| z.max_ns),
        transfer_timeout: first.map_or(0, |z| z.lifecycle.transfer_timeout_days),
        transfer_default: first
            .filter(|z| z.lifecycle.transfer_timeout_days > 0)
            .map(|z| z.lifecycle.transfer_default),
        zones: zones
            .iter()
            .map(|z| {
                format!(
                    "zone {}: level {}, default-period {}, maximum-period {}, minimum-ns {}, maximum-ns {}, price per year {}, renewal per year {}, transfer {}, restore {}, transfer-lock {} days, transfer-timeout {} days (then {})",
                    z.origin,
                    z.level,
                    z.default_period_months,
                    z.max_period_months,
                    z.min_ns,
                    z.max_ns,
                    money(z.prices.create),
                    money(z.prices.renew),
                    money(z.prices.transfer),
                    money(z.prices.restore),
                    z.lifecycle.transfer_lock_days,
                    z.lifecycle.transfer_timeout_days,
                    z.lifecycle.transfer_default.as_str()
                )
            })
            .collect(),
    }
}

/// Cents as `12.34`.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

/// How long a new registration runs.
enum Term {
    /// To this day.
    Until(i64),
    /// This many months from now.
    Months(u32),
    /// The zone's default period.
    Default,
}

struct Rules<'a> {
    store: &'a dyn Store,
    publication: &'a mut Publication,
    zones: &'a [ZoneSettings],
    now: i64,
    /// The registrar the command is for (the gaining one, when the registry answers a
    /// transfer).
    registrar: &'a Registrar,
    /// Who the history names: the registrar, or the registry on a timer.
    actor: Actor,
    /// The fee the registrar acknowledged, if it did (EPP's fee extension).
    acknowledged: Option<i64>,
}

impl Rules<'_> {
    fn record(&mut self, object: HistoryKey<'_>, change: String) -> Result<(), StoreError> {
        let entry = HistoryEntry {
            at: self.now,
            actor: self.actor.to_string(),
            change,
        };
        self.store.add_history(object, &entry)
    }

    /// The zone a registrable name belongs to, after checking its syntax and level.
    fn zone_of(&self, name: &str) -> Result<&ZoneSettings, Refusal> {
        check_name(name).map_err(Refusal::InvalidValue)?;
        let labels = name.split('.').count();
        let zone = self
            .zones
            .iter()
            .filter(|z| name.ends_with(&format!(".{}", z.origin)))
            .max_by_key(|z| z.origin.len())
            .ok_or_else(|| {
                Refusal::InvalidValue(format!("{name} is not in a zone this registry runs"))
            })?;
        let wanted = zone.origin.split('.').count() + usize::from(zone.level) - 1;
        if labels != wanted {
            return Err(Refusal::InvalidValue(format!(
                "names in {} are registered at level {} (like {})",
                zone.origin,
                zone.level,
                if zone.level == 3 {
                    format!("john.smith.{}", zone.origin)
                } else {
                    format!("example.{}", zone.origin)
                }
            )));
        }
        Ok(zone)
    }

    fn check_blocked(&self, name: &str, zone: &ZoneSettings) -> Result<(), Failure> {
        let labels: Vec<&str> = name.split('.').collect();
        let registrable = usize::from(zone.level) - 1;
        for label in &labels[..registrable] {
            if self.store.label_blocked(label)? {
                return Err(Refusal::Blocked(format!("the label {label} is blocked")).into());
            }
        }
        if zone.level == 3 && self.store.combination_blocked(labels[0], labels[1])? {
            return Err(
                Refusal::Blocked(format!("{} is blocked under {}", labels[0], labels[1])).into(),
            );
        }
        Ok(())
    }

    /// A live domain of the requesting registrar (not one deleted and waiting to be purged).
    fn own_domain(&self, name: &str) -> Result<Domain, Failure> {
        let domain = self.sponsored(name)?;
        if domain.deletion.is_some() {
            return Err(Refusal::StatusProhibits(format!(
                "{} is deleted and waits to be purged; restore it first",
                domain.name
            ))
            .into());
        }
        if let Some(transfer) = self.pending_transfer(&domain.name)? {
            return Err(transfer::pending_refusal(&transfer).into());
        }
        Ok(domain)
    }

    /// A domain of the requesting registrar, deleted or not.
    fn sponsored(&self, name: &str) -> Result<Domain, Failure> {
        let name = name.to_ascii_lowercase();
        let domain = self
            .store
            .domain(&name)?
            .ok_or_else(|| Refusal::NotRegistered(format!("{name} is not registered")))?;
        if domain.registrar != self.registrar.id {
            return Err(
                Refusal::AccessDenied(format!("{name} is sponsored by another registrar")).into(),
            );
        }
        Ok(domain)
    }

    fn own_cluster(&self, id: u64) -> Result<Cluster, Failure> {
        let cluster = self
            .store
            .cluster(id)?
            .ok_or_else(|| Refusal::ClusterNotRegistered(format!("cluster {id} does not exist")))?;
        if cluster.registrar != self.registrar.id {
            return Err(Refusal::AccessDenied(format!(
                "cluster {id} belongs to another registrar"
            ))
            .into());
        }
        Ok(cluster)
    }

    fn check_nameservers(&self, nameservers: &[Nameserver]) -> Result<(), Refusal> {
        let (min, max) = self.zones.iter().fold((0, u32::MAX), |(lo, hi), z| {
            (lo.max(z.min_ns), hi.min(z.max_ns))
        });
        let count = nameservers.len() as u32;
        if count < min || count > max {
            return Err(Refusal::NameserverCount(format!(
                "{count} name servers given; {min} to {max} are allowed"
            )));
        }
        for ns in nameservers {
            check_name(&ns.name).map_err(Refusal::InvalidValue)?;
            let inside = self
                .zones
                .iter()
                .any(|z| ns.name.ends_with(&format!(".{}", z.origin)));
            if inside && ns.addresses.is_empty() {
                return Err(Refusal::Missing(format!(
                    "{} is inside a registry zone and needs an address",
                    ns.name
                )));
            }
            if let Some(bad) = ns.addresses.iter().find(|a| !usable_address(a)) {
                return Err(Refusal::InvalidValue(format!(
                    "{bad} is not a usable name server address"
                )));
            }
        }
        Ok(())
    }

    /// Finds the registrar's cluster with these name servers, or makes one.
    fn cluster_for(&mut self, nameservers: &[Nameserver]) -> Result<(u64, bool), Failure> {
        self.check_nameservers(nameservers)?;
        self.check_host_addresses(nameservers)?;
        if let Some(id) = self.store.find_cluster(self.registrar.id, nameservers)? {
            return Ok((id, false));
        }
        let id = self.store.insert_cluster(self.registrar.id, nameservers)?;
        self.record(
            HistoryKey::Cluster(id),
            format!("CREATE CLUSTER ({} name servers)", nameservers.len()),
        )?;
        Ok((id, true))
    }

    fn charge(
        &mut self,
        kind: LedgerKind,
        domain: &str,
        years: i64,
        zone: &ZoneSettings,
    ) -> Result<i64, Failure> {
        let (prices, premium) = prices_of(self.store, domain, zone)?;
        let amount = prices.of(kind) * years;
        match self.acknowledged {
            Some(fee) if fee < amount => {
                return Err(Refusal::Fee(format!(
                    "{} of {domain} costs {}, more than the {} acknowledged",
                    kind.as_str(),
                    money(amount),
                    money(fee)
                ))
                .into());
            }
            None if premium => {
                return Err(Refusal::Fee(format!(
                    "{domain} is a premium name: {} costs {}; acknowledge the fee (EPP's fee extension, RFC 8748)",
                    kind.as_str(),
                    money(amount)
                ))
                .into());
            }
            _ => {}
        }
        let event = match kind {
            LedgerKind::Create => Some(Transaction::Add),
            LedgerKind::Renew => Some(Transaction::Renew),
            LedgerKind::Restore => Some(Transaction::Restored),
            _ => None,
        };
        if let Some(event) = event {
            let years = if event == Transaction::Restored {
                0
            } else {
                years
            };
            self.store.note(
                zone.id,
                self.registrar.id,
                event,
                u32::try_from(years).unwrap_or(0),
                self.now,
            )?;
        }
        if amount == 0 {
            return Ok(0);
        }
        let registrar = self
            .store
            .registrar(self.registrar.id)?
            .ok_or_else(|| Refusal::AuthorizationFailed("unknown registrar".into()))?;
        if registrar.balance - amount < -registrar.credit_limit {
            return Err(Refusal::Credit(format!(
                "{} of {domain} costs {}; balance {} with credit limit {}",
                kind.as_str(),
                money(amount),
                money(registrar.balance),
                money(registrar.credit_limit)
            ))
            .into());
        }
        self.store
            .charge(self.registrar.id, -amount, kind, Some(domain), self.now)?;
        Ok(amount)
    }

    fn check_expiry(&self, expires: i64, zone: &ZoneSettings) -> Result<(), Refusal> {
        let limit = calendar::add_months(self.now, i64::from(zone.max_period_months));
        if expires <= self.now {
            return Err(Refusal::InvalidExpiry(format!(
                "{} is not in the future",
                calendar::date(expires)
            )));
        }
        if zone.max_period_months > 0 && expires > limit {
            return Err(Refusal::InvalidExpiry(format!(
                "{} is past the longest registration ({} months, until {})",
                calendar::date(expires),
                zone.max_period_months,
                calendar::date(limit)
            )));
        }
        Ok(())
    }

    fn create_domain(
        &mut self,
        name: &str,
        term: Term,
        active: bool,
        source: &NameserverSource,
        auth_hash: &Option<String>,
        ds: &[DelegationSigner],
    ) -> Result<Reply, Failure> {
        let name = name.to_ascii_lowercase();
        let zone = self.zone_of(&name)?.clone();
        if let Some(existing) = self.store.domain(&name)? {
            let whose = if existing.registrar == self.registrar.id {
                "by you"
            } else {
                "by another registrar"
            };
            return Err(Refusal::AlreadyRegistered(format!(
                "{name} is already registered {whose}"
            ))
            .into());
        }
        self.check_blocked(&name, &zone)?;
        let expires = match term {
            // A date names a day; the registration runs to this time of day on it.
            Term::Until(day) => day + self.now.rem_euclid(calendar::DAY),
            Term::Months(months) => calendar::add_months(self.now, i64::from(months)),
            Term::Default => calendar::add_months(self.now, i64::from(zone.default_period_months)),
        };
        self.check_expiry(expires, &zone)?;
        check_ds(ds)?;
        let cluster = match source {
            NameserverSource::None => None,
            NameserverSource::Cluster(id) => Some(self.own_cluster(*id)?.id),
            NameserverSource::Entries(entries) => Some(self.cluster_for(entries)?.0),
            NameserverSource::Hosts(names) => {
                let entries = self.resolve_hosts(names)?;
                Some(self.cluster_for(&entries)?.0)
            }
        };
        let years = whole_years(self.now, expires);
        self.charge(LedgerKind::Create, &name, years, &zone)?;
        self.publication.touch(self.store, &name)?;
        let mut domain = Domain {
            name: name.clone(),
            zone: zone.id,
            id: 0,
            registrar: self.registrar.id,
            statuses: if active {
                Statuses::NONE
            } else {
                Statuses::of(DomainStatus::ClientHold)
            },
            created: self.now,
            expires,
            updated: self.now,
            cluster,
            auth_hash: auth_hash.clone(),
            ds: ds.to_vec(),
            deletion: None,
            billed: None,
            case: None,
        };
        domain.id = self.store.insert_domain(&domain)?;
        self.record(HistoryKey::Domain(&name), "CREATE DOMAIN".into())?;
        Ok(Reply::DomainCreated {
            created: self.now,
            cluster,
            expires,
            active,
        })
    }

    fn create_cluster(&mut self, nameservers: &[Nameserver]) -> Result<Reply, Failure> {
        let (cluster, _) = self.cluster_for(nameservers)?;
        Ok(Reply::ClusterCreated { cluster })
    }

    fn set_expire(&mut self, name: &str, date: i64) -> Result<Reply, Failure> {
        let mut domain = self.own_domain(name)?;
        let zone = self.zone_of(&domain.name)?.clone();
        let expires = date + domain.expires.rem_euclid(calendar::DAY);
        if expires == domain.expires {
            return Ok(Reply::Done);
        }
        permitted(
            &domain,
            if expires > domain.expires {
                Action::Renew
            } else {
                Action::Update
            },
        )?;
        self.check_expiry(expires, &zone)?;
        if expires > domain.expires {
            let years = whole_years(domain.expires, expires);
            self.charge(LedgerKind::Renew, &domain.name, years, &zone)?;
            domain.billed = Some(Billed {
                kind: BilledKind::Renew,
                at: self.now,
                expires_before: domain.expires,
            });
        }
        self.publication.touch(self.store, &domain.name)?;
        let change = format!(
            "SET EXPIRE (from {} to {})",
            calendar::date(domain.expires),
            calendar::date(expires)
        );
        domain.expires = expires;
        domain.updated = self.now;
        self.store.update_domain(&domain)?;
        self.record(HistoryKey::Domain(&domain.name), change)?;
        Ok(Reply::Done)
    }

    fn set_cluster(&mut self, name: &str, cluster: u64) -> Result<Reply, Failure> {
        let mut domain = self.own_domain(name)?;
        let cluster = self.own_cluster(cluster)?;
        permitted(&domain, Action::Update)?;
        if domain.cluster == Some(cluster.id) {
            return Ok(Reply::Done);
        }
        self.publication.touch(self.store, &domain.name)?;
        domain.cluster = Some(cluster.id);
        domain.updated = self.now;
        self.store.update_domain(&domain)?;
        self.record(
            HistoryKey::Domain(&domain.name),
            format!("SET CLUSTER (to {})", cluster.id),
        )?;
        Ok(Reply::Done)
    }

    fn set_status(
        &mut self,
        name: &str,
        add: Statuses,
        remove: Statuses,
    ) -> Result<Reply, Failure> {
        if let Some(status) = add
            .iter()
            .chain(remove.iter())
            .find(|&s| set_by_registry(s))
        {
            return Err(Refusal::RegistryOnly(format!(
                "{} is set and cleared by the registry, not by a registrar",
                status.epp()
            ))
            .into());
        }
        if let Some(status) = add.iter().find(|&s| remove.contains(s)) {
            return Err(
                Refusal::InvalidValue(format!("{} is both set and cleared", status.epp())).into(),
            );
        }
        let mut domain = self.own_domain(name)?;
        // Only the registrar's own update prohibition gives way, to a command clearing it.
        let lifting = remove.contains(DomainStatus::ClientUpdateProhibited)
            && domain.statuses.prohibiting(Action::Update)
                == Some(DomainStatus::ClientUpdateProhibited);
        if !lifting {
            permitted(&domain, Action::Update)?;
        }
        let before = domain.statuses;
        let after = before.minus(remove).union(add);
        if after == before {
            return Ok(Reply::Done);
        }
        self.publication.touch(self.store, &domain.name)?;
        domain.statuses = after;
        domain.updated = self.now;
        self.store.update_domain(&domain)?;
        self.record(
            HistoryKey::Domain(&domain.name),
            format!("SET STATUS ({})", status_change(before, after)),
        )?;
        Ok(Reply::Done)
    }

    fn set_nameservers(&mut self, id: u64, nameservers: &[Nameserver]) -> Result<Reply, Failure> {
        let cluster = self.own_cluster(id)?;
        self.check_nameservers(nameservers)?;
        self.check_host_addresses(nameservers)?;
        if cluster.nameservers == nameservers {
            return Ok(Reply::Done);
        }
        let users = self.store.domains_using(id)?;
        for name in &users {
            self.publication.touch(self.store, name)?;
        }
        self.store.set_nameservers(id, nameservers)?;
        self.record(
            HistoryKey::Cluster(id),
            format!("SET NAMESERVERS ({} name servers)", nameservers.len()),
        )?;
        for name in &users {
            self.record(
                HistoryKey::Domain(name),
                format!("SET NAMESERVERS (cluster {id})"),
            )?;
        }
        Ok(Reply::Done)
    }

    fn set_password(&mut self, name: &str, auth_hash: &str) -> Result<Reply, Failure> {
        let mut domain = self.own_domain(name)?;
        permitted(&domain, Action::Update)?;
        // WHOIS shows when the domain was last updated.
        self.publication.touch(self.store, &domain.name)?;
        domain.auth_hash = Some(auth_hash.to_string());
        domain.updated = self.now;
        self.store.update_domain(&domain)?;
        self.record(HistoryKey::Domain(&domain.name), "SET PASSWORD".into())?;
        Ok(Reply::Done)
    }

    fn set_ds(&mut self, name: &str, ds: &[DelegationSigner]) -> Result<Reply, Failure> {
        let mut domain = self.own_domain(name)?;
        permitted(&domain, Action::Update)?;
        check_ds(ds)?;
        if domain.ds == ds {
            return Ok(Reply::Done);
        }
        self.publication.touch(self.store, &domain.name)?;
        domain.ds = ds.to_vec();
        domain.updated = self.now;
        self.store.update_domain(&domain)?;
        self.record(
            HistoryKey::Domain(&domain.name),
            format!("SET DS ({} records)", ds.len()),
        )?;
        Ok(Reply::Done)
    }

    fn delete_cluster(&mut self, id: u64) -> Result<Reply, Failure> {
        self.own_cluster(id)?;
        let users = self.store.domains_using(id)?;
        let mut active = 0;
        for name in &users {
            if self.store.domain(name)?.is_some_and(|d| !d.statuses.held()) {
                active += 1;
            }
        }
        if active > 0 {
            return Err(Refusal::InUse(format!(
                "cluster {id} is used by {active} active domains; point them at another cluster or set them inactive"
            ))
            .into());
        }
        for name in &users {
            self.publication.touch(self.store, name)?;
            if let Some(mut domain) = self.store.domain(name)? {
                domain.cluster = None;
                domain.updated = self.now;
                self.store.update_domain(&domain)?;
            }
        }
        self.store.delete_cluster(id)?;
        self.record(HistoryKey::Cluster(id), "DELETE CLUSTER".into())?;
        Ok(Reply::Done)
    }

    fn query_domain(&mut self, name: &str) -> Result<Reply, Failure> {
        let domain = self.sponsored(name)?;
        let history = self.store.history(HistoryKey::Domain(&domain.name))?;
        // Only this registration's history: entries since its creation.
        let history = history
            .into_iter()
            .filter(|h| h.at >= domain.created)
            .collect();
        let nameservers = match domain.cluster {
            Some(id) => self.store.cluster(id)?.map(|c| c.nameservers),
            None => None,
        }
        .unwrap_or_default();
        let mut host_objects = !nameservers.is_empty();
        for ns in &nameservers {
            host_objects &= self.store.host(&ns.name)?.is_some();
        }
        let zone = self.zone_of(&domain.name)?;
        let roid = domain_roid(domain.id, &zone.origin);
        let grace = grace_status(&domain, zone, self.now);
        let domain_name = domain.name.clone();
        Ok(Reply::Domain {
            grace,
            domain: Box::new(domain),
            history,
            nameservers,
            roid,
            host_objects,
            transfer: self.pending_transfer(&domain_name)?.map(Box::new),
        })
    }
}

/// What `name` is charged: its own prices if it is premium (true), else its zone's.
fn prices_of(
    store: &dyn Store,
    name: &str,
    zone: &ZoneSettings,
) -> Result<(Prices, bool), StoreError> {
    Ok(match store.premium(name)? {
        Some(prices) => (prices, true),
        None => (zone.prices, false),
    })
}

/// `active` or `inactive`.
pub fn status_word(active: bool) -> &'static str {
    if active { "active" } else { "inactive" }
}

/// A status change as the history tells it: SRRP's words when only `clientHold` moved (`to
/// inactive`), else the statuses set and cleared (`+clientTransferProhibited -clientHold`).
pub fn status_change(before: Statuses, after: Statuses) -> String {
    let hold = DomainStatus::ClientHold;
    if before.with(hold, false) == after.with(hold, false) {
        return format!("to {}", status_word(!after.contains(hold)));
    }
    let set = after.iter().filter(|&s| !before.contains(s));
    let cleared = before.iter().filter(|&s| !after.contains(s));
    set.map(|s| format!("+{}", s.epp()))
        .chain(cleared.map(|s| format!("-{}", s.epp())))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Refuses `action` on `domain` if one of its statuses prohibits it, saying who can lift it.
pub fn permitted(domain: &Domain, action: Action) -> Result<(), Refusal> {
    match domain.statuses.prohibiting(action) {
        None => Ok(()),
        Some(status) => Err(Refusal::Prohibited(format!(
            "{} has {}: {}",
            domain.name,
            status.epp(),
            if set_by_registry(status) {
                "only the registry can lift it"
            } else {
                "clear it first"
            }
        ))),
    }
}

/// Whole years charged for a registration running from `from` to `to` (a started year counts).
pub fn whole_years(from: i64, to: i64) -> i64 {
    let mut years = 0;
    while calendar::add_months(from, 12 * years) < to {
        years += 1;
    }
    years
}

fn usable_address(address: &IpAddr) -> bool {
    match address {
        IpAddr::V4(a) => !(a.is_unspecified() || a.is_broadcast() || a.is_multicast()),
        IpAddr::V6(a) => !(a.is_unspecified() || a.is_multicast()),
    }
}

/// The most DS records a domain may hold: room for a key rollover of two algorithms.
pub const MAX_DS: usize = 8;

/// The DNSSEC algorithms a DS may name: those RFC 8624 (as updated by RFC 9904) recommends or
/// allows for signing — RSASHA256, RSASHA512, ECDSA P-256 and P-384, Ed25519, Ed448. The
/// others are deprecated or unassigned: a validator may not know them, and the domain would
/// be bogus or insecure.
pub const DS_ALGORITHMS: [u8; 6] = [8, 10, 13, 14, 15, 16];

/// Checks DS records: at most [`MAX_DS`], an algorithm of [`DS_ALGORITHMS`], a digest type the
/// registry takes (1 SHA-1, 2 SHA-256, 4 SHA-384) with a digest of its length.
fn check_ds(ds: &[DelegationSigner]) -> Result<(), Refusal> {
    if ds.len() > MAX_DS {
        return Err(Refusal::InvalidValue(format!(
            "{} DS records; a domain holds at most {MAX_DS}",
            ds.len()
        )));
    }
    for record in ds {
        if !DS_ALGORITHMS.contains(&record.algorithm) {
            return Err(Refusal::InvalidValue(format!(
                "DNSSEC algorithm {} is not accepted: use 8, 10, 13, 14, 15 or 16 (RFC 8624)",
                record.algorithm
            )));
        }
        let length = match record.digest_type {
            1 => 20,
            2 => 32,
            4 => 48,
            other => {
                return Err(Refusal::InvalidValue(format!(
                    "DS digest type {other} is not supported (1, 2 or 4)"
                )));
            }
        };
        if record.digest.len() != length {
            return Err(Refusal::InvalidValue(format!(
                "a type {} DS digest has {length} octets, not {}",
                record.digest_type,
                record.digest.len()
            )));
        }
    }
    Ok(())
}

/// Checks a host or domain name: lower-case LDH labels of 1–63 octets without leading or
/// trailing hyphen (RFC 1123 §2.1, RFC 5891 for `xn--` A-labels), at least two labels, at most
/// 253 octets.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err(format!("{name:?} is not a domain name of 1 to 253 octets"));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err(format!("{name} has a single label"));
    }
    for label in labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
            && (label.get(2..4) != Some("--") || label.starts_with("xn--"));
        if !ok {
            return Err(format!(
                "{label:?} in {name} is not a valid label (letters, digits and inner hyphens, 1 to 63)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("example.tld").is_ok());
        assert!(check_name("xn--bcher-kva.tld").is_ok());
        assert!(check_name("ab--c.tld").is_err());
        assert!(check_name("-a.tld").is_err());
        assert!(check_name("a-.tld").is_err());
        assert!(check_name("Example.tld").is_err());
        assert!(check_name("tld").is_err());
        assert!(check_name("a..tld").is_err());
        assert!(check_name(&format!("{}.tld", "a".repeat(64))).is_err());
    }

    #[test]
    fn years_charged() {
        let day = calendar::parse_date("2026-11-29").unwrap();
        assert_eq!(whole_years(day, calendar::add_months(day, 12)), 1);
        assert_eq!(whole_years(day, calendar::add_months(day, 13)), 2);
        assert_eq!(whole_years(day, day + 1), 1);
        assert_eq!(whole_years(day, calendar::add_months(day, 120)), 10);
    }

    #[test]
    fn money_format() {
        assert_eq!(money(600), "6.00");
        assert_eq!(money(-1205), "-12.05");
    }
}
