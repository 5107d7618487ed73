//! The WHOIS record model shared by the control plane (which produces records), changesets
//! (which carry them) and edge-whois (which stores and renders them); and the WHOIS tree those
//! records live in on a satellite, with its search indexes, written by the update-agent (and the
//! generators) and read by edge-whois (`docs/architecture.md`, contract 5).
//!
//! Objects follow the registry objects of EPP (RFC 5731 domains, RFC 5732 hosts) and the fields
//! the ICANN registry WHOIS output shows. Names are A-labels in lower case without the final
//! dot; times are seconds since 1970 (UTC).
//!
//! - [`tree`]: one file per object, replaced by rename; the reader and the writer.
//! - [`index`]: the search indexes beside the tree: an LSM tree of fst segments, a small layer
//!   per batch of changes, merged in the background.
//! - [`cached`]: reads that never wait for the disk (the server's fast path).

pub mod cached;
pub mod index;
pub mod tree;

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// A domain status (RFC 5731 §2.3, RFC 3915 for the RGP states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum DomainStatus {
    Ok,
    Inactive,
    ClientDeleteProhibited,
    ClientHold,
    ClientRenewProhibited,
    ClientTransferProhibited,
    ClientUpdateProhibited,
    ServerDeleteProhibited,
    ServerHold,
    ServerRenewProhibited,
    ServerTransferProhibited,
    ServerUpdateProhibited,
    PendingCreate,
    PendingDelete,
    PendingRenew,
    PendingTransfer,
    PendingUpdate,
    AddPeriod,
    AutoRenewPeriod,
    RenewPeriod,
    TransferPeriod,
    RedemptionPeriod,
    PendingRestore,
}

impl DomainStatus {
    /// Every status, in declaration order.
    pub const ALL: [DomainStatus; 23] = [
        DomainStatus::Ok,
        DomainStatus::Inactive,
        DomainStatus::ClientDeleteProhibited,
        DomainStatus::ClientHold,
        DomainStatus::ClientRenewProhibited,
        DomainStatus::ClientTransferProhibited,
        DomainStatus::ClientUpdateProhibited,
        DomainStatus::ServerDeleteProhibited,
        DomainStatus::ServerHold,
        DomainStatus::ServerRenewProhibited,
        DomainStatus::ServerTransferProhibited,
        DomainStatus::ServerUpdateProhibited,
        DomainStatus::PendingCreate,
        DomainStatus::PendingDelete,
        DomainStatus::PendingRenew,
        DomainStatus::PendingTransfer,
        DomainStatus::PendingUpdate,
        DomainStatus::AddPeriod,
        DomainStatus::AutoRenewPeriod,
        DomainStatus::RenewPeriod,
        DomainStatus::TransferPeriod,
        DomainStatus::RedemptionPeriod,
        DomainStatus::PendingRestore,
    ];

    /// The EPP spelling, e.g. `clientTransferProhibited`.
    pub fn epp(self) -> &'static str {
        match self {
            DomainStatus::Ok => "ok",
            DomainStatus::Inactive => "inactive",
            DomainStatus::ClientDeleteProhibited => "clientDeleteProhibited",
            DomainStatus::ClientHold => "clientHold",
            DomainStatus::ClientRenewProhibited => "clientRenewProhibited",
            DomainStatus::ClientTransferProhibited => "clientTransferProhibited",
            DomainStatus::ClientUpdateProhibited => "clientUpdateProhibited",
            DomainStatus::ServerDeleteProhibited => "serverDeleteProhibited",
            DomainStatus::ServerHold => "serverHold",
            DomainStatus::ServerRenewProhibited => "serverRenewProhibited",
            DomainStatus::ServerTransferProhibited => "serverTransferProhibited",
            DomainStatus::ServerUpdateProhibited => "serverUpdateProhibited",
            DomainStatus::PendingCreate => "pendingCreate",
            DomainStatus::PendingDelete => "pendingDelete",
            DomainStatus::PendingRenew => "pendingRenew",
            DomainStatus::PendingTransfer => "pendingTransfer",
            DomainStatus::PendingUpdate => "pendingUpdate",
            DomainStatus::AddPeriod => "addPeriod",
            DomainStatus::AutoRenewPeriod => "autoRenewPeriod",
            DomainStatus::RenewPeriod => "renewPeriod",
            DomainStatus::TransferPeriod => "transferPeriod",
            DomainStatus::RedemptionPeriod => "redemptionPeriod",
            DomainStatus::PendingRestore => "pendingRestore",
        }
    }

    /// Reads the EPP spelling (case-insensitive).
    pub fn from_epp(text: &str) -> Option<DomainStatus> {
        DomainStatus::ALL
            .into_iter()
            .find(|s| s.epp().eq_ignore_ascii_case(text))
    }

    /// True if the status keeps the domain out of the DNS (RFC 5731 §2.3).
    pub fn withholds_from_dns(self) -> bool {
        matches!(
            self,
            DomainStatus::ClientHold
                | DomainStatus::ServerHold
                | DomainStatus::Inactive
                | DomainStatus::RedemptionPeriod
                | DomainStatus::PendingRestore
        )
    }
}

/// A name server of a domain, with its addresses when they are glue in the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nameserver {
    /// The host name.
    pub name: String,
    /// Glue addresses (empty for hosts outside the registry's zones).
    pub addresses: Vec<IpAddr>,
}

/// A DS record of a domain (RFC 4034 §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegationSigner {
    /// Key tag.
    pub key_tag: u16,
    /// DNSSEC algorithm number.
    pub algorithm: u8,
    /// Digest type.
    pub digest_type: u8,
    /// The digest.
    pub digest: Vec<u8>,
}

/// Why a DS record's text form was refused ([`DelegationSigner`]'s `FromStr`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsSyntax {
    /// Not four fields.
    #[error("ds {0:?} is not \"key-tag algorithm digest-type digest\"")]
    Fields(String),
    /// The key tag is not a number from 0 to 65535.
    #[error("{0:?} in ds is not a number")]
    KeyTag(String),
    /// The algorithm or digest type is not a number from 0 to 255.
    #[error("{0:?} in ds is not 0 to 255")]
    Octet(String),
    /// The digest is not hexadecimal.
    #[error("the digest in ds {0:?} is not hexadecimal")]
    Digest(String),
}

/// The presentation form of RFC 4034 §5.3, on one line: `key-tag algorithm digest-type
/// HEX-DIGEST` (upper-case hexadecimal, no spaces inside the digest).
impl std::fmt::Display for DelegationSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.key_tag,
            self.algorithm,
            self.digest_type,
            data_encoding::HEXUPPER.encode(&self.digest)
        )
    }
}

/// Reads the form [`DelegationSigner`]'s `Display` writes (the digest in either case).
impl std::str::FromStr for DelegationSigner {
    type Err = DsSyntax;

    fn from_str(value: &str) -> Result<DelegationSigner, DsSyntax> {
        let fields: Vec<&str> = value.split_whitespace().collect();
        let [tag, algorithm, digest_type, digest] = fields[..] else {
            return Err(DsSyntax::Fields(value.to_owned()));
        };
        let octet = |f: &str| f.parse::<u8>().map_err(|_| DsSyntax::Octet(f.to_owned()));
        Ok(DelegationSigner {
            key_tag: tag.parse().map_err(|_| DsSyntax::KeyTag(tag.to_owned()))?,
            algorithm: octet(algorithm)?,
            digest_type: octet(digest_type)?,
            digest: data_encoding::HEXUPPER_PERMISSIVE
                .decode(digest.as_bytes())
                .map_err(|_| DsSyntax::Digest(value.to_owned()))?,
        })
    }
}

/// A registered domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    /// The domain name (A-label).
    pub name: String,
    /// The registry object identifier (ROID).
    pub roid: String,
    /// The sponsoring registrar's IANA id.
    pub registrar: u32,
    /// Statuses, sorted.
    pub statuses: Vec<DomainStatus>,
    /// Name servers in the order the registrar gave them.
    pub nameservers: Vec<Nameserver>,
    /// DS records.
    pub ds: Vec<DelegationSigner>,
    /// Creation time.
    pub created: i64,
    /// Last update time.
    pub updated: i64,
    /// Registry expiry time.
    pub expires: i64,
}

/// A host object (RFC 5732).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    /// The host name.
    pub name: String,
    /// The registry object identifier.
    pub roid: String,
    /// The sponsoring registrar's IANA id.
    pub registrar: u32,
    /// Addresses.
    pub addresses: Vec<IpAddr>,
    /// Creation time.
    pub created: i64,
    /// Last update time.
    pub updated: i64,
}

/// A registrar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registrar {
    /// IANA registrar id.
    pub iana_id: u32,
    /// Name.
    pub name: String,
    /// The registrar's WHOIS server.
    pub whois_server: String,
    /// The registrar's web site.
    pub url: String,
    /// Abuse contact e-mail.
    pub abuse_email: String,
    /// Abuse contact telephone (E.164 as `+1.5555551234`).
    pub abuse_phone: String,
    /// Last update time.
    pub updated: i64,
}

/// One WHOIS object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Object {
    /// A domain.
    Domain(Domain),
    /// A host.
    Host(Host),
    /// A registrar.
    Registrar(Registrar),
}

/// Why a WHOIS object is not a complete registry record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncompleteRecord {
    /// The object has no name (or a registrar no IANA id or name).
    #[error("the record has no name")]
    Name,
    /// No sponsoring registrar (IANA id 0).
    #[error("{0}: no sponsoring registrar (a Registrar IANA ID line or \"registrar\" field)")]
    Registrar(String),
    /// A domain without statuses.
    #[error("{0}: no status")]
    Status(String),
    /// Creation or expiry time missing, or expiry not after creation.
    #[error("{0}: creation and expiry dates are missing or out of order")]
    Dates(String),
}

impl Object {
    /// Checks that the object has what a registry record must have: a name, a sponsoring
    /// registrar, and for a domain its statuses and creation and expiry dates (expiry after
    /// creation).
    pub fn check_complete(&self) -> Result<(), IncompleteRecord> {
        match self {
            Object::Domain(d) => {
                if d.name.is_empty() {
                    return Err(IncompleteRecord::Name);
                }
                if d.registrar == 0 {
                    return Err(IncompleteRecord::Registrar(d.name.clone()));
                }
                if d.statuses.is_empty() {
                    return Err(IncompleteRecord::Status(d.name.clone()));
                }
                if d.created <= 0 || d.expires <= d.created {
                    return Err(IncompleteRecord::Dates(d.name.clone()));
                }
            }
            Object::Host(h) => {
                if h.name.is_empty() {
                    return Err(IncompleteRecord::Name);
                }
                if h.registrar == 0 {
                    return Err(IncompleteRecord::Registrar(h.name.clone()));
                }
                if h.created <= 0 {
                    return Err(IncompleteRecord::Dates(h.name.clone()));
                }
            }
            Object::Registrar(r) => {
                if r.iana_id == 0 || r.name.is_empty() {
                    return Err(IncompleteRecord::Name);
                }
            }
        }
        Ok(())
    }

    /// The key that names this object.
    pub fn key(&self) -> ObjectKey {
        match self {
            Object::Domain(d) => ObjectKey::Domain(d.name.clone()),
            Object::Host(h) => ObjectKey::Host(h.name.clone()),
            Object::Registrar(r) => ObjectKey::Registrar(r.iana_id),
        }
    }
}

/// What names a WHOIS object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ObjectKey {
    /// A domain by name.
    Domain(String),
    /// A host by name.
    Host(String),
    /// A registrar by IANA id.
    Registrar(u32),
}

/// A change to the WHOIS data, carried in a changeset (`docs/architecture.md`, contract 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WhoisOp {
    /// Create or replace an object.
    Set(Object),
    /// Remove an object.
    Delete(ObjectKey),
}

impl WhoisOp {
    /// The key of the object it changes.
    pub fn key(&self) -> ObjectKey {
        match self {
            WhoisOp::Set(object) => object.key(),
            WhoisOp::Delete(key) => key.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ds_text_reads_back_and_bad_forms_say_why() {
        let text = "12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE1E2B4A7B3E3F5A2D9C4B6E81";
        let ds: DelegationSigner = text.parse().unwrap();
        assert_eq!((ds.key_tag, ds.algorithm, ds.digest_type), (12345, 8, 2));
        assert_eq!(ds.digest.len(), 32);
        assert_eq!(ds.to_string(), text);
        let lower: DelegationSigner = text.to_lowercase().parse().unwrap();
        assert_eq!(lower, ds);
        assert!(matches!(
            "1 2 3".parse::<DelegationSigner>(),
            Err(DsSyntax::Fields(_))
        ));
        assert!(matches!(
            "1 2 3 zz".parse::<DelegationSigner>(),
            Err(DsSyntax::Digest(_))
        ));
        assert!(matches!(
            "70000 2 3 00".parse::<DelegationSigner>(),
            Err(DsSyntax::KeyTag(_))
        ));
        assert!(matches!(
            "1 256 3 00".parse::<DelegationSigner>(),
            Err(DsSyntax::Octet(_))
        ));
    }
}
