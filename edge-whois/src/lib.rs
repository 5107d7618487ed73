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
//! - [`server`]: the port-43, update and metrics listeners; [`config`]: the TOML file;
//!   [`run`]: start-up (listeners bound before privileges drop) until a signal.
//! - [`rdap`]: RDAP over HTTP(S) from the same tree, indexes and limits.
//!
//! A reader opens one file per query and never sees a partial record; a writer never takes a
//! lock a reader waits on. A tree has one writer: the update-agent, or this crate's update
//! listener, never both (each holds the tree's writer lock, `zonefiles::whois::tree::WRITER_LOCK`).
//!
//! # Threads
//!
//! A multi-threaded tokio runtime ([`run`]): one task per connection (port 43, RDAP over HTTP/1.1
//! and HTTP/2, updates), the metrics listener, and one task that follows the search indexes
//! (merging the update listener's deltas every 200 ms and picking up the agent's new
//! generations). A record in the page cache is answered on the connection's task; one that must
//! be read from disk goes to tokio's blocking pool, so a slow disk never stalls other queries.

pub mod answer;
pub mod config;
pub mod limits;
pub mod query;
pub mod rdap;
pub mod render;
pub mod run;
pub mod server;
