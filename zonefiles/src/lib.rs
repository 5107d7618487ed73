//! Constellation's shared core: names and records, master files, zone checks, the compiled
//! zone image, changesets, the journal and the WHOIS record model. It does no I/O beyond
//! files; the servers and the update pipeline build on it.
//!
//! # The path of a zone
//!
//! ```text
//! master file ──master::Reader──▶ Vec<Record> ──Zone::new──▶ Zone ──check──▶ findings
//!                                                              │
//!                     image::compile (temp file, fsync, rename)▼
//!                                     zone image ◀──mmap── Image::open ──find/node──▶ answers
//!                                          │
//! Zone(n) ──changeset::diff──▶ Changeset(n→n+1) ──Journal::append──▶ journal ──changesets_from──▶ IXFR
//!                                          └──changeset::compose + apply + compile──▶ next image
//! ```
//!
//! Large zones take the same path without ever being held whole (`zonefiles compile`, `dir
//! init`, `dir compact`): the compiler reads its input as [`image::Nodes`] — nodes in
//! canonical order, read twice — and the checks ride on the first pass ([`check::Checked`]):
//!
//! ```text
//! master file ──spill::read──▶ sorted runs on disk ──spill::RunNodes (merge)──┐
//! image(n) + journal ──changeset::Patched (node by node)─────────────────────┤
//!                                   check::Checked ──image::compile_nodes──▶ image ──write_to──▶ file
//! ```
//!
//! # Data model
//!
//! - [`Name`]: absolute, lower case, wire format; ordered canonically (RFC 4034 §6.1).
//! - [`ZoneName`]: a zone's name as text (lower case, no final dot), as the registry, the
//!   agents and the WHOIS tree keep it; the one place text becomes one.
//! - [`Record`]: owner, type, class, TTL and rdata in canonical wire format — exactly the bytes
//!   an answer carries, so nothing is converted between loading and serving.
//! - [`Zone`]: the records of one zone sorted canonically, duplicates removed and each RRset with
//!   one TTL. Checks, diffs, the writer and the compiler all work on it.
//! - [`image::Image`]: the compiled form, opened by mmap (layout in [`image::format`]).
//! - [`changeset::Changeset`] and [`journal::Journal`]: the units of change and their log.
//! - [`zonedir::ZoneDir`]: a satellite's zone directory (image, journal, `CURRENT` pointer).
//! - [`whois`]: the registry objects the WHOIS service shows.
//! - [`sign`]: DNSSEC keys and the signing of a whole zone (RRSIGs, NSEC or NSEC3).
//! - [`generate`]: deterministic TLD-shaped zones for tests, benchmarks and the demo, below
//!   every crate that serves or loads them.
//!
//! # Invariants
//!
//! - Files are never changed in place except the journal, which is only appended to and cut
//!   back to its last whole entry; images and rebased journals are replaced by rename.
//! - Bad input — text, images, journals, changeset bytes — gives an error naming what is wrong,
//!   never a panic; the fuzz targets in `fuzz/` hold the crate to that.
//!
//! # Cost model (one core of the reference machine, 1,000,000 delegations; see
//! `docs/benchmarks.md`)
//!
//! Parsing, checking and compiling are linear in the zone; opening an image is constant time
//! plus a CRC of the index; a look-up walks the fst once along the query name; a diff is one
//! merge pass; applying a changeset is one merge pass over the zone. A streamed build holds
//! the image being written (its RRsets, nodes, index and table of names below the apex), the
//! address RRsets' offsets and the names that take part in glue, never the records: about 1.5
//! GB for 10 million delegations, against 4.7 GB for the same zone held as a [`Zone`].

pub mod atomic;
pub mod calendar;
pub mod changeset;
pub mod check;
pub mod generate;
pub mod image;
pub mod journal;
pub mod master;
pub mod name;
pub mod octets;
pub mod rdata;
pub mod record;
pub mod rtype;
pub mod serial;
pub mod sign;
pub mod spill;
pub mod whois;
pub mod zone;
pub mod zone_name;
pub mod zonedir;

pub use changeset::{Changeset, apply, compose, diff};
pub use check::{Finding, Rule, Severity, check};
pub use image::{Find, Image};
pub use journal::{Journal, JournalReader};
pub use master::{ParseError, ParseOptions, Reader};
pub use name::Name;
pub use record::Record;
pub use rtype::{Class, RecordType};
pub use serial::SerialPolicy;
pub use zone::Zone;
pub use zone_name::ZoneName;
