//! The narrow interface between the registry's rules and the database that keeps its state.
//!
//! [`Store`] is one open write transaction: the rules read and change objects through it, and
//! the caller commits or rolls back. The embedded SQLite backend is [`crate::store::sqlite`],
//! where every SQL statement of the control plane lives; another backend (PostgreSQL) would
//! implement the same trait in a folder beside it and leave the rules untouched. Nothing here
//! names a backend's types: a backend's errors are boxed in [`StoreError::Database`].

pub mod sqlite;

use zonefiles::sign::Denial;
use zonefiles::sign::incremental::{Edit, Link};
use zonefiles::{Name, Record, RecordType};

use crate::model::{
    Cluster, Domain, HistoryEntry, HistoryKey, Host, JournalEntry, LedgerEntry, LedgerKind,
    Message, Nameserver, Prices, Registrar, Transaction, Transfer, ZoneSettings,
};

/// A failure of the database itself (not a refusal by the rules).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error (the backend's own, boxed: the rules never look
    /// inside it).
    #[error("database: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A row holds a value the registry did not write (damaged or edited by hand).
    #[error("database row is damaged: {0}")]
    Corrupt(String),
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// One write transaction over the registry's state. Every method takes `&self`: a transaction is
/// used through shared references, so that a change recorder (`crate::operator::recovery`) can watch the
/// same connection while the rules write through it.
pub trait Store {
    /// Every zone, in the order added.
    fn zones(&self) -> StoreResult<Vec<ZoneSettings>>;
    /// Records a zone's new serial.
    fn set_zone_serial(&self, zone: i64, serial: u32) -> StoreResult<()>;

    /// A registrar by registrar-id.
    fn registrar(&self, id: u32) -> StoreResult<Option<Registrar>>;
    /// Changes a registrar's balance by `amount` and records it in the ledger; returns the new
    /// balance.
    fn charge(
        &self,
        registrar: u32,
        amount: i64,
        kind: LedgerKind,
        domain: Option<&str>,
        at: i64,
    ) -> StoreResult<i64>;

    /// Counts one event of a registrar's in a zone for the monthly transactions report
    /// ([`Transaction`]); `years` for adds and renewals, else 0.
    fn note(
        &self,
        zone: i64,
        registrar: u32,
        event: Transaction,
        years: u32,
        at: i64,
    ) -> StoreResult<()>;

    /// A domain by name.
    fn domain(&self, name: &str) -> StoreResult<Option<Domain>>;
    /// Inserts a new domain and returns its object id.
    fn insert_domain(&self, domain: &Domain) -> StoreResult<i64>;
    /// Writes every field of an existing domain.
    fn update_domain(&self, domain: &Domain) -> StoreResult<()>;
    /// Removes a domain (its history stays).
    fn delete_domain(&self, name: &str) -> StoreResult<()>;
    /// Names of the domains that use a cluster.
    fn domains_using(&self, cluster: u64) -> StoreResult<Vec<String>>;

    /// A cluster by id.
    fn cluster(&self, id: u64) -> StoreResult<Option<Cluster>>;
    /// A cluster of this registrar with exactly these name servers, if there is one.
    fn find_cluster(&self, registrar: u32, nameservers: &[Nameserver]) -> StoreResult<Option<u64>>;
    /// Inserts a new cluster and returns its id.
    fn insert_cluster(&self, registrar: u32, nameservers: &[Nameserver]) -> StoreResult<u64>;
    /// Replaces a cluster's name servers.
    fn set_nameservers(&self, cluster: u64, nameservers: &[Nameserver]) -> StoreResult<()>;
    /// Removes a cluster.
    fn delete_cluster(&self, cluster: u64) -> StoreResult<()>;
    /// Clusters that list a host name.
    fn clusters_with(&self, host: &str) -> StoreResult<Vec<u64>>;

    /// A host object.
    fn host(&self, name: &str) -> StoreResult<Option<Host>>;
    /// Adds a host object (its id is assigned); returns the id.
    fn insert_host(&self, host: &Host) -> StoreResult<i64>;
    /// Rewrites a host object's sponsor, addresses and update time.
    fn update_host(&self, host: &Host) -> StoreResult<()>;
    /// Gives the host `from` the name, superordinate domain and the rest of `host`.
    fn rename_host(&self, from: &str, host: &Host) -> StoreResult<()>;
    /// Removes a host object.
    fn delete_host(&self, name: &str) -> StoreResult<()>;
    /// The host objects beneath a domain.
    fn hosts_beneath(&self, domain: &str) -> StoreResult<Vec<Host>>;

    /// Queues a service message (its id is assigned).
    fn queue_message(&self, message: &Message) -> StoreResult<()>;
    /// A registrar's oldest message and how many it has.
    fn first_message(&self, registrar: u32) -> StoreResult<Option<(Message, u64)>>;
    /// Removes a registrar's message; false if it has none with that id.
    fn delete_message(&self, registrar: u32, id: i64) -> StoreResult<bool>;
    /// A premium name's own prices, if it is one.
    fn premium(&self, name: &str) -> StoreResult<Option<Prices>>;
    /// Up to `limit` domains whose WHOIS objects are to be published again as they are now.
    fn to_republish(&self, limit: usize) -> StoreResult<Vec<String>>;
    /// Notes a domain's objects published again.
    fn republished(&self, name: &str) -> StoreResult<()>;
    /// Removes up to `limit` messages queued before `before`; returns how many.
    fn expire_messages(&self, before: i64, limit: usize) -> StoreResult<usize>;
    /// Deleted domains of a zone, still redeemable or not, deleted before a time (oldest first).
    fn deleted_before(&self, zone: i64, redeemable: bool, before: i64) -> StoreResult<Vec<String>>;
    /// Live domains of a zone expired by a time, soonest first, at most `limit`.
    fn expired(&self, zone: i64, now: i64, limit: usize) -> StoreResult<Vec<String>>;
    /// What a registrar was charged (a negative sum) for a domain under a ledger kind since a
    /// time.
    fn charged(
        &self,
        registrar: u32,
        domain: &str,
        kind: LedgerKind,
        since: i64,
    ) -> StoreResult<i64>;
    /// A domain's latest transfer, pending or ended.
    fn transfer(&self, name: &str) -> StoreResult<Option<Transfer>>;
    /// Records a domain's latest transfer (replacing the one before).
    fn save_transfer(&self, zone: i64, transfer: &Transfer) -> StoreResult<()>;
    /// Domains of a zone whose pending transfer is due by a time, soonest first, at most
    /// `limit`.
    fn transfers_due(&self, zone: i64, now: i64, limit: usize) -> StoreResult<Vec<String>>;

    /// True if the label is blocked at any level.
    fn label_blocked(&self, label: &str) -> StoreResult<bool>;
    /// True if this third-level label is blocked under this second-level label.
    fn combination_blocked(&self, third: &str, second: &str) -> StoreResult<bool>;

    /// Appends to an object's history.
    fn add_history(&self, object: HistoryKey<'_>, entry: &HistoryEntry) -> StoreResult<()>;
    /// An object's history, newest first.
    fn history(&self, object: HistoryKey<'_>) -> StoreResult<Vec<HistoryEntry>>;

    /// The registry record of every row written since the last record, as JSON, numbered next
    /// in the chain (the caller seals it); see [`crate::operator::recovery`].
    fn take_record(&self) -> StoreResult<Vec<u8>>;
    /// Forgets what was written since the last record without taking one (a registry with no
    /// recovery key).
    fn drop_record(&self) -> StoreResult<()>;
    /// Keeps what this transaction wrote for the next record: it publishes nothing.
    fn keep_unpublished(&self) -> StoreResult<()>;

    /// Appends a signed changeset to the journal.
    fn append_journal(&self, entry: &JournalEntry) -> StoreResult<()>;

    /// A ledger's lines for one registrar between two times (billing reports).
    fn ledger(&self, from: i64, to: i64) -> StoreResult<Vec<LedgerEntry>>;

    /// Every domain of a zone with its cluster and its registrar's IANA id (a zone signed
    /// whole).
    fn zone_domains(&self, zone: i64) -> StoreResult<Vec<(Domain, Option<Cluster>, u32)>>;
    /// How a zone is signed, or `None` if it is not ([`crate::publish::dnssec`]).
    fn zone_denial(&self, zone: i64) -> StoreResult<Option<Denial>>;
    /// Signs a zone with `denial` from now on, or (`None`) no longer.
    fn set_zone_denial(&self, zone: i64, denial: Option<&Denial>) -> StoreResult<()>;
    /// A signed zone's DNSSEC records at `owner` but its chain record.
    fn dnssec_at(&self, zone: i64, owner: &Name) -> StoreResult<Vec<Record>>;
    /// A signed zone's chain record owned by `owner`.
    fn chain_at(&self, zone: i64, owner: &Name) -> StoreResult<Option<Link>>;
    /// A signed zone's chain record before `owner`, or its last if none is before.
    fn chain_before(&self, zone: i64, owner: &Name) -> StoreResult<Option<Link>>;
    /// Up to `limit` names of a signed zone's chain strictly below `name`.
    fn chain_below(&self, zone: i64, name: &Name, limit: usize) -> StoreResult<Vec<Name>>;
    /// Applies the signer's edit to a zone's DNSSEC records.
    fn edit_dnssec(&self, zone: i64, edit: &Edit) -> StoreResult<()>;
    /// Every DNSSEC record of a zone.
    fn zone_dnssec(&self, zone: i64) -> StoreResult<Vec<Record>>;
    /// A zone whose signing is being turned on: its denial, and the serial of the zone its
    /// DNSSEC records so far sign ([`crate::operator::dnssec`]).
    fn dnssec_building(&self, zone: i64) -> StoreResult<Option<(Denial, u32)>>;
    /// Notes (or, `None`, forgets) that a zone's signing is being turned on.
    fn set_dnssec_building(&self, zone: i64, building: Option<(&Denial, u32)>) -> StoreResult<()>;
    /// Removes every DNSSEC record of a zone that is not signed (what a signing begun and
    /// never finished left).
    fn clear_dnssec(&self, zone: i64) -> StoreResult<()>;
    /// Up to `limit` RRsets of a signed zone (owner, type covered) whose signatures expire
    /// before `before`, soonest first.
    fn dnssec_expiring(
        &self,
        zone: i64,
        before: u32,
        limit: usize,
    ) -> StoreResult<Vec<(Name, RecordType)>>;
}
