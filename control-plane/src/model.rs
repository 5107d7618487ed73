//! The registry's objects as the core sees them, independent of the database that keeps them.
//!
//! Times are seconds since 1970 (UTC); money is in the smallest unit of the registry's
//! currency (cents); names are lower-case A-labels without the final dot.

use std::net::IpAddr;

use update_agent::protocol::SignedChangeset;
use zonefiles::SerialPolicy;
use zonefiles::whois::DelegationSigner;

/// A zone (TLD) the registry runs, with its policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneSettings {
    /// Database id.
    pub id: i64,
    /// The zone's name, e.g. `name`.
    pub origin: String,
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
    /// Price of one year of registration (create, renew and transfer).
    pub year_price: i64,
    /// Fewest name servers a cluster may have.
    pub min_ns: u32,
    /// Most name servers a cluster may have.
    pub max_ns: u32,
    /// Registration period when the registrar names none, in months.
    pub default_period_months: u32,
    /// Longest registration from today, in months.
    pub max_period_months: u32,
    /// Days after a registration in which deleting it refunds it and frees the name at once
    /// (RFC 3915's add grace period; 0: none).
    pub add_grace_days: u32,
    /// Days a deleted domain stays restorable, out of the DNS (RFC 3915's redemption period;
    /// 0: a deletion frees the name at once, as in the .name plan).
    pub redemption_days: u32,
    /// Days after the redemption period before the name is free (RFC 3915's pending delete).
    pub pending_delete_days: u32,
    /// When above 0, a domain reaching its expiry is renewed for a year and charged, and a
    /// deletion within this many days after refunds that renewal (RFC 3915's auto-renew grace
    /// period); 0: expired domains stay as they are until renewed or deleted.
    pub auto_renew_grace_days: u32,
}

impl ZoneSettings {
    /// Settings for a new zone with the registry's defaults.
    pub fn new(origin: &str) -> ZoneSettings {
        ZoneSettings {
            id: 0,
            origin: origin.trim_matches('.').to_ascii_lowercase(),
            level: 2,
            serial: 1,
            serial_policy: SerialPolicy::Counter,
            mname: format!("ns1.nic.{}", origin.trim_matches('.')),
            rname: format!("hostmaster.nic.{}", origin.trim_matches('.')),
            soa_timers: [1800, 900, 604_800, 3600],
            soa_ttl: 3600,
            delegation_ttl: 86_400,
            apex_nameservers: Vec::new(),
            year_price: 600,
            min_ns: 2,
            max_ns: 13,
            default_period_months: 12,
            max_period_months: 120,
            add_grace_days: 0,
            redemption_days: 0,
            pending_delete_days: 5,
            auto_renew_grace_days: 0,
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
    /// ([`crate::tls::certificate_pin`]).
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
    /// SRRP status: active domains are in the DNS, inactive ones are not.
    pub active: bool,
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
    /// When the registry last renewed it at its expiry.
    pub auto_renewed: Option<i64>,
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
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Registrar(id) => write!(f, "registrar {id}"),
            Actor::Operator(name) => write!(f, "operator {name}"),
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
    /// A domain of the registrar was transferred to another.
    TransferredAway {
        /// The domain.
        domain: String,
        /// The registrar that gained it.
        to: u32,
        /// Its expiry after the transfer.
        expires: i64,
    },
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
}

/// A line of the credit ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// When.
    pub at: i64,
    /// The registrar.
    pub registrar: u32,
    /// `create`, `renew`, `transfer` or `top-up`.
    pub kind: String,
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
    /// Ed25519 signature (see [`crate::signing`]).
    pub signature: Vec<u8>,
    /// Which key signed it.
    pub key_id: String,
    /// Commit time.
    pub committed: i64,
    /// The registry record of the transaction, sealed ([`crate::recovery`]); empty when the
    /// control plane has no recovery key.
    pub record: Vec<u8>,
}

impl JournalEntry {
    /// True if `public_key` signed it (zone, serials, changeset and record).
    pub fn signed_by(&self, public_key: &[u8]) -> bool {
        let message = update_agent::signature::signed_message(
            &self.zone,
            self.from_serial,
            self.to_serial,
            &self.changeset,
            &self.record,
        );
        update_agent::signature::verify(public_key, &message, &self.signature)
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
