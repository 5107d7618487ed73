//! Constellation's registration data service: port-43 WHOIS (RFC 3912) and RDAP (RFC 7480,
//! 9082, 9083) over an atomically-renamed file tree.
//!
//! The records come from the WHOIS tree, which lives with the record model in zonefiles
//! ([`zonefiles::whois::tree`]: one file per domain, host and registrar, changed only by
//! temporary file, fsync and rename; [`zonefiles::whois::index`]: fst search indexes beside it;
//! [`zonefiles::whois::cached`]: reads that never wait for the disk, so most queries are
//! answered without a hand-off to a blocking thread). The update-agent writes the same tree
//! through the same library, without this crate.
//!
//! - [`query`]: the query grammar; [`render`]: the ICANN field order, the operator's texts and
//!   the parse back; [`answer`]: from a line to the text sent.
//! - [`limits`]: per-prefix token buckets, daily caps and an allowlist, in bounded memory.
//! - [`server`]: the port-43, update and metrics listeners; [`config`]: the TOML file.
//! - [`rdap`]: RDAP over HTTP(S) from the same tree, indexes and limits.
//!
//! A reader opens one file per query and never sees a partial record; a writer never takes a
//! lock a reader waits on.

pub mod answer;
pub mod config;
pub mod limits;
pub mod query;
pub mod rdap;
pub mod render;
pub mod run;
pub mod server;
