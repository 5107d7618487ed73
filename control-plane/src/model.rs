//! The registry's objects as the core sees them, independent of the database that keeps them.
//!
//! Times are seconds since 1970 (UTC); money is in the smallest unit of the registry's
//! currency (cents); names are lower-case A-labels without the final dot.
//!
//! One file on purpose: these are the registry's nouns, which every other module names; each
//! type is small, and read together they are the data model (zones and their policy, prices,
//! registrars, clusters, hosts, domains with their statuses and cases, the ledger, history,
//! messages and journal entries).

use std::net::IpAddr;

use satellite_protocol::message::SignedChangeset;
use zonefiles::SerialPolicy;
use zonefiles::ZoneName;
use zonefiles::whois::{DelegationSigner, DomainStatus};

/// A zone (TLD) the registry runs, with its policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneSettings {
    /// Database id.
    pub id: i64,
    /// The zone's name, e.g. `name`.
    pub origin: ZoneName,
    /// The level registrations are made at: 2 (`example.tld`) or 3 (`john.smith.name`, under
    /// shared second-level labels, the .name model).
    pub level: u8,
    /// The serial of the last changeset published.
    pub serial: u32,
    /// How the next serial is chosen.
    pub serial_policy: SerialPolicy,
    /// SOA MNAME.
    pub mname: String,
    /// SOA RNAME (mailbox as a name).
    pub rname: String,
    /// SOA refresh, retry, expire and minimum (negative TTL), seconds.
    pub soa_timers: [u32; 4],
    /// TTL of the SOA and apex records.
    pub soa_ttl: u32,
    /// TTL of delegation NS, glue and DS records.
    pub delegation_ttl: u32,
    /// The zone's own name servers (apex NS), with glue addresses for those inside the zone.
    pub apex_nameservers: Vec<Nameserver>,
    /// What it charges.
    pub prices: Prices,
    /// Fewest name servers a cluster may have.
    pub min_ns: u32,
    /// Most name servers a cluster may have.
    pub max_ns: u32,
    /// Registration period when the registrar names none, in months.
    pub default_period_months: u32,
    /// Longest registration from today, in months.
    pub max_period_months: u32,
    /// Grace periods, deletion and transfer policy.
    pub lifecycle: Lifecycle,
}

/// A zone's life-cycle policy: RFC 3915's grace periods and the transfer rules. The default is
/// the .name plan's: no grace periods, a deletion frees the name at once, a transfer with the
/// domain's password completes at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle {
    /// Days after a registration in which deleting it refunds it and frees the name at once
    /// (the add grace period; 0: none).
    pub add_grace_days: u32,
    /// Days after a renewal in which deleting the domain refunds the renewal (0: none).
    pub renew_grace_days: u32,
    /// Days after a completed transfer in which deleting the domain refunds the transfer to the
    /// registrar that gained it (0: none).
    pub transfer_grace_days: u32,
    /// When above 0, a domain reaching its expiry is renewed for a year and charged, and a
    /// deletion (or a transfer away) within this many days after refunds that renewal (the
    /// auto-renew grace period); 0: expired domains stay as they are until renewed or deleted.
    pub auto_renew_grace_days: u32,
    /// Days a deleted domain stays restorable, out of the DNS (the redemption period; 0: a
    /// deletion frees the name at once, as in the .name plan).
    pub redemption_days: u32,
    /// Days after the redemption period before the name is free (pending delete).
    pub pending_delete_days: u32,
    /// Days the sponsoring registrar has to approve or reject a transfer request before
    /// [`Lifecycle::transfer_default`] decides it (SRRP's `transfer-timeout`; 0: a request with
    /// the right password completes at once, as in the .name plan).
    pub transfer_timeout_days: u32,
    /// What a transfer request left unanswered becomes (SRRP's `transfer-default`).
    pub transfer_default: TransferDefault,
    /// Days after its registration and after each transfer during which a domain cannot be
    /// transferred (ICANN's transfer policy: 60; 0: none, as in the .name plan).
    pub transfer_lock_days: u32,
}

impl Default for Lifecycle {
    fn default() -> Lifecycle {
        Lifecycle {
            add_grace_days: 0,
            renew_grace_days: 0,
            transfer_grace_days: 0,
            auto_renew_grace_days: 0,
            redemption_days: 0,
            pending_delete_days: 5,
            transfer_timeout_days: 0,
            transfer_default: TransferDefault::Approve,
            transfer_lock_days: 0,
        }
    }
}

/// What a zone charges, in cents: per year for a registration, a renewal (by the registrar or
/// at expiry) and a transfer, and per restore of a deleted domain (RFC 3915).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prices {
    /// A year of registration.
    pub create: i64,
    /// A year of renewal.
    pub renew: i64,
    /// A transfer (with the year it adds).
    pub transfer: i64,
    /// A restore.
    pub restore: i64,
}

impl Prices {
    /// The same price for everything.
    pub fn all(price: i64) -> Prices {
        Prices {
            create: price,
            renew: price,
            transfer: price,
            restore: price,
        }
    }

    /// The price of one unit (a year, a transfer, a restore) of what a ledger line of `kind`
    /// charges; 0 for lines that charge nothing of the zone's.
    pub fn of(&self, kind: LedgerKind) -> i64 {
        match kind {
            LedgerKind::Create => self.create,
            LedgerKind::Renew | LedgerKind::AutoRenew => self.renew,
            LedgerKind::Transfer => self.transfer,
            LedgerKind::Restore => self.restore,
            LedgerKind::Refund | LedgerKind::TopUp | LedgerKind::RegistryTransfer => 0,
        }
    }
}

impl std::fmt::Display for Prices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let money = crate::registry::money;
        write!(
            f,
            "create {} a year, renew {} a year, transfer {}, restore {}",
            money(self.create),
            money(self.renew),
            money(self.transfer),
            money(self.restore)
        )
    }
}

/// What an unanswered transfer request becomes when its time is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferDefault {
    /// It completes (ICANN's transfer policy: `serverApproved`).
    Approve,
    /// It lapses (`serverCancelled`).
    Reject,
}

impl TransferDefault {
    /// `approve` or `reject`.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferDefault::Approve => "approve",
            TransferDefault::Reject => "reject",
        }
    }

    /// The inverse of [`TransferDefault::as_str`].
    pub fn parse(text: &str) -> Option<TransferDefault> {
        match text {
            "approve" => Some(TransferDefault::Approve),
            "reject" => Some(TransferDefault::Reject),
            _ => None,
        }
    }
}

impl ZoneSettings {
    /// Settings for a new zone with the registry's defaults.
    pub fn new(origin: ZoneName) -> ZoneSettings {
        ZoneSettings {
            id: 0,
            level: 2,
            serial: 1,
            serial_policy: SerialPolicy::Counter,
            mname: format!("ns1.nic.{origin}"),
            rname: format!("hostmaster.nic.{origin}"),
            origin,
            soa_timers: [1800, 900, 604_800, 3600],
            soa_ttl: 3600,
            delegation_ttl: 86_400,
            apex_nameservers: Vec::new(),
            prices: Prices::all(600),
            min_ns: 2,
            max_ns: 13,
            default_period_months: 12,
            max_period_months: 120,
            lifecycle: Lifecycle::default(),
        }
    }
}

/// A registrar account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registrar {
    /// The `registrar-id` it signs in with.
    pub id: u32,
    /// Its IANA registrar id.
    pub iana_id: u32,
    /// Its name.
    pub name: String,
    /// Its WHOIS server.
    pub whois_server: String,
    /// Its web site.
    pub url: String,
    /// Abuse contact e-mail.
    pub abuse_email: String,
    /// Abuse contact telephone.
    pub abuse_phone: String,
    /// Argon2id hash of its password (PHC string).
    pub password_hash: String,
    /// False once suspended: every command is refused.
    pub active: bool,
    /// Credit balance (may go below zero down to `-credit_limit`).
    pub balance: i64,
    /// How far below zero the balance may go.
    pub credit_limit: i64,
    /// Last change.
    pub updated: i64,
    /// The pin of the TLS client certificate it must present, if any
    /// ([`crate::front::tls::certificate_pin`]).
    pub certificate: Option<String>,
}

/// A name server of a cluster: a host name and its addresses (glue when the host is inside a
/// registry zone).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Nameserver {
    /// Host name.
    pub name: String,
    /// Addresses, sorted.
    pub addresses: Vec<IpAddr>,
}

/// A cluster: the .name plan's named set of name servers that domains point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// The `cluster-id`.
    pub id: u64,
    /// The registrar that owns it.
    pub registrar: u32,
    /// Its name servers in order.
    pub nameservers: Vec<Nameserver>,
}

/// A host object (EPP, RFC 5732): a name server known by name, with its addresses when it is
/// inside a registry zone. Domains name it among their name servers; its addresses are copied
/// into every cluster that lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The host name.
    pub name: String,
    /// Registry object id (the number in its ROID).
    pub id: i64,
    /// The sponsoring registrar (for a host inside a registry zone, its domain's).
    pub registrar: u32,
    /// The registrar that created it.
    pub creator: u32,
    /// The registered domain it is beneath (its superordinate domain), if inside a zone.
    pub parent: Option<String>,
    /// Creation time.
    pub created: i64,
    /// Last change.
    pub updated: i64,
    /// Addresses, sorted (none for hosts outside the registry's zones).
    pub addresses: Vec<IpAddr>,
}

/// A registered domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// The name, e.g. `john.smith.name`.
    pub name: String,
    /// The zone it is registered in.
    pub zone: i64,
    /// Registry object id (the number in its ROID).
    pub id: i64,
    /// The sponsoring registrar.
    pub registrar: u32,
    /// The statuses its registrar or the registry set on it: holds and prohibitions.
    pub statuses: Statuses,
    /// Why the registry set its `server…` statuses, while any is set.
    pub case: Option<Case>,
    /// Creation time.
    pub created: i64,
    /// Expiry time.
    pub expires: i64,
    /// Last change.
    pub updated: i64,
    /// The cluster holding its name servers.
    pub cluster: Option<u64>,
    /// Argon2id hash of the domain password (transfer authorization).
    pub auth_hash: Option<String>,
    /// DS records (RFC 4034 §5).
    pub ds: Vec<DelegationSigner>,
    /// Set once the domain is deleted and waits to be purged.
    pub deletion: Option<Deletion>,
    /// Its latest charged change that a deletion within the zone's grace period refunds.
    pub billed: Option<Billed>,
}

impl Domain {
    /// Its statuses as an operator reads them: `active` (in the DNS, nothing set), or the
    /// statuses set.
    pub fn statuses_text(&self) -> String {
        if self.statuses.is_empty() {
            "active".into()
        } else {
            self.statuses.to_text()
        }
    }
}

/// The statuses set on a domain (RFC 5731 §2.3): `client…` by its registrar, `server…` by the
/// registry. A hold keeps the domain out of the DNS; a prohibition refuses one kind of
/// command. Kept as the set of their EPP names (`clientHold serverTransferProhibited`; none is
/// the empty text).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Statuses(u16);

/// What a prohibition status refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Deleting the domain.
    Delete,
    /// Changing it (other than lifting this prohibition).
    Update,
    /// Transferring it to another registrar.
    Transfer,
    /// Renewing it (a later expiry asked for by its registrar).
    Renew,
}

impl Statuses {
    /// The statuses that can be set, in the order they are listed: the five `client…` and
    /// the five `server…` ones, which [`DomainStatus::ALL`] lists after `ok` and `inactive`.
    pub const SETTABLE: &'static [DomainStatus] =
        DomainStatus::ALL.as_slice().split_at(2).1.split_at(10).0;

    /// No status set.
    pub const NONE: Statuses = Statuses(0);

    fn bit(status: DomainStatus) -> Option<u16> {
        Self::SETTABLE
            .iter()
            .position(|&s| s == status)
            .map(|i| 1 << i)
    }

    /// Just `status` (which must be settable).
    pub fn of(status: DomainStatus) -> Statuses {
        Statuses::NONE.with(status, true)
    }

    /// Whether `status` is set.
    pub fn contains(self, status: DomainStatus) -> bool {
        Self::bit(status).is_some_and(|b| self.0 & b != 0)
    }

    /// These statuses with `status` set (`on`) or cleared; a status that cannot be set is
    /// ignored.
    #[must_use]
    pub fn with(self, status: DomainStatus, on: bool) -> Statuses {
        match Self::bit(status) {
            Some(b) if on => Statuses(self.0 | b),
            Some(b) => Statuses(self.0 & !b),
            None => self,
        }
    }

    /// The statuses set, in [`Statuses::SETTABLE`] order.
    pub fn iter(self) -> impl Iterator<Item = DomainStatus> {
        Self::SETTABLE
            .iter()
            .copied()
            .filter(move |&s| self.contains(s))
    }

    /// These statuses without the registrar's (`client…`): what a domain keeps when it moves
    /// to another registrar.
    #[must_use]
    pub fn registry_only(self) -> Statuses {
        self.without(|s| !set_by_registry(s))
    }

    /// These statuses without the registry's (`server…`): what a domain keeps when the
    /// registry releases it.
    #[must_use]
    pub fn registrar_only(self) -> Statuses {
        self.without(set_by_registry)
    }

    fn without(self, drop: impl Fn(DomainStatus) -> bool) -> Statuses {
        self.minus(
            Self::SETTABLE
                .iter()
                .copied()
                .filter(|&s| drop(s))
                .collect(),
        )
    }

    /// These statuses and `other`'s.
    #[must_use]
    pub fn union(self, other: Statuses) -> Statuses {
        Statuses(self.0 | other.0)
    }

    /// These statuses but `other`'s.
    #[must_use]
    pub fn minus(self, other: Statuses) -> Statuses {
        Statuses(self.0 & !other.0)
    }

    /// True if none is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True if a hold keeps the domain out of the DNS.
    pub fn held(self) -> bool {
        self.contains(DomainStatus::ClientHold) || self.contains(DomainStatus::ServerHold)
    }

    /// The status that refuses `action`, if one is set: the registry's first, since only the
    /// registry can lift it.
    pub fn prohibiting(self, action: Action) -> Option<DomainStatus> {
        let (server, client) = match action {
            Action::Delete => (
                DomainStatus::ServerDeleteProhibited,
                DomainStatus::ClientDeleteProhibited,
            ),
            Action::Update => (
                DomainStatus::ServerUpdateProhibited,
                DomainStatus::ClientUpdateProhibited,
            ),
            Action::Transfer => (
                DomainStatus::ServerTransferProhibited,
                DomainStatus::ClientTransferProhibited,
            ),
            Action::Renew => (
                DomainStatus::ServerRenewProhibited,
                DomainStatus::ClientRenewProhibited,
            ),
        };
        [server, client].into_iter().find(|&s| self.contains(s))
    }

    /// The stored text: EPP names separated by spaces.
    pub fn to_text(self) -> String {
        self.iter()
            .map(DomainStatus::epp)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Reads [`Statuses::to_text`]'s text; `None` if a word is not a settable status.
    pub fn from_text(text: &str) -> Option<Statuses> {
        text.split_ascii_whitespace()
            .try_fold(Statuses::NONE, |set, word| {
                let status = DomainStatus::from_epp(word)?;
                Self::bit(status).map(|b| Statuses(set.0 | b))
            })
    }
}

impl FromIterator<DomainStatus> for Statuses {
    /// The settable statuses among those given.
    fn from_iter<I: IntoIterator<Item = DomainStatus>>(statuses: I) -> Statuses {
        statuses
            .into_iter()
            .fold(Statuses::NONE, |set, s| set.with(s, true))
    }
}

/// Why the registry's staff acted on a domain: a reason class and the reference of the case
/// (a ticket, a dispute's number, a court's docket), kept in its history and, while its
/// `server…` statuses last, on the domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The class.
    pub reason: Reason,
    /// The reference.
    pub reference: String,
}

/// The classes of reasons the registry's staff act for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Abuse (malware, phishing, botnet command and control, …).
    Abuse,
    /// A Uniform Domain-Name Dispute-Resolution Policy proceeding or decision.
    Udrp,
    /// A Uniform Rapid Suspension decision.
    Urs,
    /// A court order.
    CourtOrder,
    /// A registry lock the sponsoring registrar asked for on its customer's behalf: lifted
    /// only after a confirmation out of band.
    RegistryLock,
    /// Anything else (the reference says what).
    Other,
}

impl Reason {
    /// Every class.
    pub const ALL: [Reason; 6] = [
        Reason::Abuse,
        Reason::Udrp,
        Reason::Urs,
        Reason::CourtOrder,
        Reason::RegistryLock,
        Reason::Other,
    ];

    /// Its name in the database, the history and the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Abuse => "abuse",
            Reason::Udrp => "udrp",
            Reason::Urs => "urs",
            Reason::CourtOrder => "court-order",
            Reason::RegistryLock => "registry-lock",
            Reason::Other => "other",
        }
    }

    /// Reads [`Reason::as_str`]'s name.
    pub fn parse(text: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl std::fmt::Display for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, {}", self.reason.as_str(), self.reference)
    }
}

/// True for the statuses only the registry sets (`server…`).
pub fn set_by_registry(status: DomainStatus) -> bool {
    status.epp().starts_with("server")
}

/// A charged change of a domain that its grace period may still undo (RFC 3915): a deletion
/// within the period refunds the charge and puts the expiry back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Billed {
    /// What was charged.
    pub kind: BilledKind,
    /// When.
    pub at: i64,
    /// The expiry before it.
    pub expires_before: i64,
}

/// What a ledger line is for: the `kind` column of the ledger and the billing report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerKind {
    /// A registration.
    Create,
    /// A renewal by the registrar.
    Renew,
    /// The registry's renewal at expiry.
    AutoRenew,
    /// A completed transfer, charged to the gaining registrar.
    Transfer,
    /// A deleted domain restored (RFC 3915).
    Restore,
    /// A charge given back (a deletion or transfer in its grace period, a transfer refused).
    Refund,
    /// Credit added (or taken back) by an operator.
    TopUp,
    /// A domain moved by the registry's staff (a dispute's decision, a court order): not
    /// charged, listed on both registrars' statements.
    RegistryTransfer,
}

impl LedgerKind {
    /// Its name in the ledger and the report.
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerKind::Create => "create",
            LedgerKind::Renew => "renew",
            LedgerKind::AutoRenew => "auto-renew",
            LedgerKind::Transfer => "transfer",
            LedgerKind::Restore => "restore",
            LedgerKind::Refund => "refund",
            LedgerKind::TopUp => "top-up",
            LedgerKind::RegistryTransfer => "registry-transfer",
        }
    }

    /// The inverse of [`LedgerKind::as_str`].
    pub fn parse(text: &str) -> Option<LedgerKind> {
        [
            LedgerKind::Create,
            LedgerKind::Renew,
            LedgerKind::AutoRenew,
            LedgerKind::Transfer,
            LedgerKind::Restore,
            LedgerKind::Refund,
            LedgerKind::TopUp,
            LedgerKind::RegistryTransfer,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// An event the monthly per-registrar transactions report counts (ICANN's Specification 3),
/// kept one row each in the `transactions` table as the registry's rules carry it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transaction {
    /// A registration, for its years.
    Add,
    /// A renewal (by the registrar or at expiry), for its years.
    Renew,
    /// A registration refunded by a deletion in its add grace period, for its years.
    AddRefunded,
    /// A renewal refunded by a deletion in its grace period, for its years.
    RenewRefunded,
    /// A transfer completed to this registrar.
    TransferGained,
    /// A transfer this registrar asked for, rejected by the sponsor.
    TransferGainNacked,
    /// A transfer completed away from this registrar.
    TransferLost,
    /// A transfer away from this registrar that it rejected.
    TransferLossNacked,
    /// A deletion within a grace period (something was refunded).
    DeletedInGrace,
    /// A deletion outside every grace period.
    DeletedNoGrace,
    /// A deleted domain restored.
    Restored,
    /// A registration asked for and refused (the report's attempted adds are these and the
    /// adds).
    RefusedAdd,
}

impl Transaction {
    /// Its name in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            Transaction::Add => "add",
            Transaction::Renew => "renew",
            Transaction::AddRefunded => "add-refunded",
            Transaction::RenewRefunded => "renew-refunded",
            Transaction::TransferGained => "transfer-gaining-successful",
            Transaction::TransferGainNacked => "transfer-gaining-nacked",
            Transaction::TransferLost => "transfer-losing-successful",
            Transaction::TransferLossNacked => "transfer-losing-nacked",
            Transaction::DeletedInGrace => "deleted-domains-grace",
            Transaction::DeletedNoGrace => "deleted-domains-nograce",
            Transaction::Restored => "restored-domains",
            Transaction::RefusedAdd => "add-refused",
        }
    }
}

/// The changes [`Billed`] tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BilledKind {
    /// The registry's renewal at expiry.
    AutoRenew,
    /// A renewal by the registrar.
    Renew,
    /// A completed transfer (charged to the registrar that gained the domain).
    Transfer,
}

impl BilledKind {
    /// The ledger kind of its charge.
    pub fn ledger(self) -> LedgerKind {
        match self {
            BilledKind::AutoRenew => LedgerKind::AutoRenew,
            BilledKind::Renew => LedgerKind::Renew,
            BilledKind::Transfer => LedgerKind::Transfer,
        }
    }

    /// Its name as the domain's billing column keeps it (the ledger kind's).
    pub fn as_str(self) -> &'static str {
        self.ledger().as_str()
    }

    /// The inverse of [`BilledKind::as_str`].
    pub fn parse(text: &str) -> Option<BilledKind> {
        match text {
            "auto-renew" => Some(BilledKind::AutoRenew),
            "renew" => Some(BilledKind::Renew),
            "transfer" => Some(BilledKind::Transfer),
            _ => None,
        }
    }

    /// RFC 3915's name of its grace period.
    pub fn grace_period(self) -> &'static str {
        match self {
            BilledKind::AutoRenew => "autoRenewPeriod",
            BilledKind::Renew => "renewPeriod",
            BilledKind::Transfer => "transferPeriod",
        }
    }

    /// Its grace period in a zone, days.
    pub fn grace_days(self, lifecycle: &Lifecycle) -> u32 {
        match self {
            BilledKind::AutoRenew => lifecycle.auto_renew_grace_days,
            BilledKind::Renew => lifecycle.renew_grace_days,
            BilledKind::Transfer => lifecycle.transfer_grace_days,
        }
    }
}

/// A domain's latest transfer: pending, or how it ended (RFC 5730 §2.9.3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// The domain.
    pub domain: String,
    /// Its state.
    pub status: TransferStatus,
    /// The registrar that asked for it (`reID`).
    pub gaining: u32,
    /// The registrar sponsoring the domain at the request, which answers it (`acID`).
    pub losing: u32,
    /// When it was asked for (`reDate`).
    pub requested: i64,
    /// When it was answered or, while pending, when the zone's default answers it (`acDate`).
    pub acted: i64,
    /// The domain's expiry once transferred (`exDate`).
    pub expires: i64,
    /// What the gaining registrar was charged at the request (refunded if the transfer does
    /// not complete, or if the domain is deleted in the transfer grace period).
    pub fee: i64,
}

/// The states of a transfer (RFC 5730's `trStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferStatus {
    /// Waiting for the sponsoring registrar or the timeout.
    Pending,
    /// Approved by the sponsoring registrar.
    ClientApproved,
    /// Rejected by the sponsoring registrar.
    ClientRejected,
    /// Withdrawn by the registrar that asked.
    ClientCancelled,
    /// Completed by the registry (at once, or at the timeout).
    ServerApproved,
    /// Lapsed at the timeout.
    ServerCancelled,
}

impl TransferStatus {
    /// RFC 5730's name for it, e.g. `clientApproved`.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferStatus::Pending => "pending",
            TransferStatus::ClientApproved => "clientApproved",
            TransferStatus::ClientRejected => "clientRejected",
            TransferStatus::ClientCancelled => "clientCancelled",
            TransferStatus::ServerApproved => "serverApproved",
            TransferStatus::ServerCancelled => "serverCancelled",
        }
    }

    /// The inverse of [`TransferStatus::as_str`].
    pub fn parse(text: &str) -> Option<TransferStatus> {
        [
            TransferStatus::Pending,
            TransferStatus::ClientApproved,
            TransferStatus::ClientRejected,
            TransferStatus::ClientCancelled,
            TransferStatus::ServerApproved,
            TransferStatus::ServerCancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// The domain changed hands.
    pub fn completed(self) -> bool {
        matches!(
            self,
            TransferStatus::ClientApproved | TransferStatus::ServerApproved
        )
    }
}

/// A deleted domain's place in RFC 3915's life cycle: out of the DNS, in WHOIS as
/// `pendingDelete`, restorable by its registrar while `redeemable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deletion {
    /// When it was deleted.
    pub at: i64,
    /// Still in the redemption period (a restore brings it back).
    pub redeemable: bool,
}

/// Who did something: a registrar over a protocol, or an operator at the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A registrar, by registrar-id.
    Registrar(u32),
    /// An operator, by login name.
    Operator(String),
    /// The registry itself, on a timer (expiry, the end of a grace period or transfer wait).
    Registry,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Registrar(id) => write!(f, "registrar {id}"),
            Actor::Operator(name) => write!(f, "operator {name}"),
            Actor::Registry => f.write_str("registry"),
        }
    }
}

/// Whose history: the key an entry is kept under (`domain:<name>`, `host:<name>`,
/// `cluster:<id>`, `registrar:<id>`, `zone:<origin>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryKey<'a> {
    /// A domain, by name.
    Domain(&'a str),
    /// A host object, by name.
    Host(&'a str),
    /// A cluster of name servers, by id.
    Cluster(u64),
    /// A registrar, by registrar-id.
    Registrar(u32),
    /// A zone, by origin.
    Zone(&'a str),
    /// A blocked label or third/second-level combination.
    Blocked(&'a str),
}

impl std::fmt::Display for HistoryKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HistoryKey::Domain(name) => write!(f, "domain:{name}"),
            HistoryKey::Host(name) => write!(f, "host:{name}"),
            HistoryKey::Cluster(id) => write!(f, "cluster:{id}"),
            HistoryKey::Registrar(id) => write!(f, "registrar:{id}"),
            HistoryKey::Zone(origin) => write!(f, "zone:{origin}"),
            HistoryKey::Blocked(what) => write!(f, "blocked:{what}"),
        }
    }
}

/// One entry of an object's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// When.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// What, e.g. `SET STATUS (to inactive)`.
    pub change: String,
}

/// A service message waiting for a registrar (EPP's `<poll>` queue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its id (increasing).
    pub id: i64,
    /// The registrar it is for.
    pub registrar: u32,
    /// When it was queued.
    pub at: i64,
    /// What happened, in words.
    pub text: String,
    /// What it is about.
    pub about: Notice,
}

/// What a service message reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A transfer of a domain was asked for, answered, withdrawn or timed out (to the registrar
    /// that did not act).
    Transfer(Transfer),
    /// The registry renewed a domain at its expiry (and charged the registrar).
    Renewed {
        /// The domain.
        domain: String,
        /// Its new expiry.
        expires: i64,
    },
    /// The registry deleted an expired domain (its registrar lacked the credit to renew it).
    Expired {
        /// The domain.
        domain: String,
    },
    /// The registry's staff changed a domain (its statuses); the text says how. EPP sends
    /// it with the domain as it is and RFC 8590's change data (what, when, who, why).
    Changed {
        /// The domain.
        domain: String,
        /// Who changed it (`operator <name>`).
        who: String,
        /// The case it was changed for.
        case: Case,
    },
}

/// A line of the credit ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// When.
    pub at: i64,
    /// The registrar.
    pub registrar: u32,
    /// What it is for.
    pub kind: LedgerKind,
    /// The domain charged for, if any.
    pub domain: Option<String>,
    /// The amount (negative for a debit).
    pub amount: i64,
    /// The balance after it.
    pub balance: i64,
}

/// A signed changeset in the journal (the outbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// The zone's name.
    pub zone: String,
    /// The serial it starts from.
    pub from_serial: u32,
    /// The serial it leads to.
    pub to_serial: u32,
    /// The changeset's encoding (zonefiles' changeset format).
    pub changeset: Vec<u8>,
    /// Ed25519 signature (see [`crate::publish::signing`]).
    pub signature: Vec<u8>,
    /// Which key signed it.
    pub key_id: String,
    /// Commit time.
    pub committed: i64,
    /// The registry record of the transaction, sealed ([`crate::operator::recovery`]); empty when the
    /// control plane has no recovery key.
    pub record: Vec<u8>,
}

impl JournalEntry {
    /// True if `public_key` signed it (zone, serials, changeset and record).
    pub fn signed_by(&self, public_key: &[u8]) -> bool {
        let message = satellite_protocol::signature::signed_message(
            &self.zone,
            self.from_serial,
            self.to_serial,
            &self.changeset,
            &self.record,
        );
        satellite_protocol::signature::verify(public_key, &message, &self.signature)
    }

    /// The entry as it travels to satellites.
    pub fn into_signed(self) -> SignedChangeset {
        SignedChangeset {
            zone: self.zone,
            from: self.from_serial,
            to: self.to_serial,
            committed: self.committed.max(0) as u64,
            key_id: self.key_id,
            signature: self.signature,
            bytes: self.changeset,
            record: self.record,
        }
    }
}

impl From<SignedChangeset> for JournalEntry {
    fn from(c: SignedChangeset) -> JournalEntry {
        JournalEntry {
            zone: c.zone,
            from_serial: c.from,
            to_serial: c.to,
            changeset: c.bytes,
            signature: c.signature,
            key_id: c.key_id,
            committed: i64::try_from(c.committed).unwrap_or(i64::MAX),
            record: c.record,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settable_statuses_are_the_client_and_server_ones() {
        let names: Vec<&str> = Statuses::SETTABLE.iter().map(|s| s.epp()).collect();
        assert_eq!(names.len(), 10);
        assert!(names[..5].iter().all(|n| n.starts_with("client")));
        assert!(names[5..].iter().all(|n| n.starts_with("server")));
        let all: Statuses = Statuses::SETTABLE.iter().copied().collect();
        assert_eq!(Statuses::from_text(&all.to_text()), Some(all));
        assert_eq!(all.registry_only().iter().count(), 5);
        assert_eq!(Statuses::from_text("ok"), None);
    }
}
