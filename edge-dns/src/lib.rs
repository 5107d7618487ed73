//! Constellation's authoritative DNS server for TLD zones.
//!
//! Answering:
//! - [`engine`]: the answer engine, a pure function from query bytes and zones to response
//!   bytes (no I/O, no clock, no allocation for ordinary names): RFC 1034 look-up, DNSSEC
//!   proofs, EDNS, cookies. The same code serves UDP and TCP, and it is what the tests,
//!   fuzzers and benchmarks call.
//! - [`view`]: a zone as served, its memory-mapped image plus an overlay of the subtrees
//!   changed since.
//! - [`udp`]: one thread per worker, `SO_REUSEPORT` sockets, `recvmmsg`/`sendmmsg` batches.
//! - [`rrl`]: response rate limiting for UDP, one lock-free table of leaky buckets.
//! - [`tcp`]: RFC 7766 over tokio, with connection, idle and per-connection limits, and
//!   streamed zone transfers; [`connections`]: the per-client cap and the eviction of the
//!   idlest connection when all are taken.
//!
//! Zones and secondaries:
//! - [`follow`]: the served state and the thread that follows zone directories.
//! - [`control`]: transfers, NOTIFY and TSIG-signed requests (the rare path).
//! - [`transfer`]: AXFR and IXFR messages; [`tsig`]: keys, verification, signing;
//!   [`acl`]: address prefixes; [`notify`]: NOTIFY to secondaries.
//!
//! Operations: [`metrics`] (per-thread counters and their Prometheus page, served by
//! `ops::serve_metrics`) and [`config`].
//!
//! The state sits behind an [`arc_swap::ArcSwap`]: a change builds a new state and swaps the
//! pointer; queries in flight finish on the old one, and no lock is ever taken on the query
//! path.

pub mod acl;
pub mod config;
pub mod connections;
pub mod control;
pub mod engine;
pub mod follow;
pub mod metrics;
pub mod notify;
pub mod rrl;
pub mod tcp;
pub mod transfer;
pub mod tsig;
pub mod udp;
pub mod view;
