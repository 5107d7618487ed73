//! Resource records (RFC 1035 §3.2.1) with canonical wire-format rdata.

use std::cmp::Ordering;
use std::fmt;

use crate::name::Name;
use crate::octets::Octets;
use crate::rdata;
use crate::rtype::{Class, RecordType};

/// One resource record. The rdata is uncompressed wire format with lower-case names.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Record {
    /// The owner name.
    pub owner: Name,
    /// The record type.
    pub rtype: RecordType,
    /// The class; `IN` for every zone served here.
    pub class: Class,
    /// Time to live in seconds (RFC 2181 §8: at most 2^31 − 1).
    pub ttl: u32,
    /// Canonical wire-format rdata.
    pub rdata: Octets,
}

impl Record {
    /// Orders records as a DNSSEC-signed zone lists them: owner in canonical order, then type,
    /// then rdata as octets (RFC 4034 §6.1–6.3). The TTL does not take part.
    pub fn canonical_cmp(&self, other: &Record) -> Ordering {
        self.owner
            .cmp(&other.owner)
            .then(self.rtype.cmp(&other.rtype))
            .then_with(|| self.rdata.cmp(&other.rdata))
    }

    /// True if both records are the same RR in the sense of RFC 2181 §5: owner, type, class
    /// and rdata equal; the TTL may differ.
    pub fn same_rr(&self, other: &Record) -> bool {
        self.owner == other.owner
            && self.rtype == other.rtype
            && self.class == other.class
            && self.rdata == other.rdata
    }

    /// The rdata in presentation format.
    pub fn rdata_text(&self) -> String {
        let mut out = String::new();
        rdata::write(self.rtype, &self.rdata, &mut out);
        out
    }
}

impl fmt::Display for Record {
    /// One master-file line: owner, TTL, class, type and rdata, tab separated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\t{}\t{}\t{}\t{}",
            self.owner,
            self.ttl,
            self.class,
            self.rtype,
            self.rdata_text()
        )
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Record({self})")
    }
}
