//! Publishing: from committed registry changes to signed changesets in the journal.
//!
//! - [`writer`]: the commit thread, the only writer of the registry database: batches from
//!   the fair [`queue`], one transaction and one fsync per batch, the batch's changesets
//!   appended to the journal in that same transaction.
//! - [`publication`]: what registry state publishes (DNS records and WHOIS objects per
//!   domain), and a batch turned into one changeset per zone.
//! - [`signing`]: the Ed25519 key that signs every changeset and snapshot.
//! - [`dnssec`]: the DNSSEC signatures and chain records of signed zones, made as part of
//!   each batch.

pub mod dnssec;
pub mod publication;
pub mod queue;
pub mod signing;
pub mod writer;

pub use publication::{
    Publication, PublishError, apex_records, domain_output, domain_roid, registrar_object,
    soa_record, zone_records,
};
