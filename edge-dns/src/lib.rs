//! Constellation's authoritative DNS server for TLD zones.
//!
//! Answering:
//! - [`engine`]: the answer engine, a pure function from query bytes and zones to response
//!   bytes (no I/O, no clock, no allocation for ordinary names): RFC 1034 look-up, DNSSEC
//!   proofs, EDNS, cookies. The same code serves UDP and TCP, and it is what the tests,
//!   fuzzers and benchmarks call.
//! - [`view`]: a zone as served, its memory-mapped image plus overlays of the subtrees
//!   changed since (the newer one built again at each change, the others frozen).
//! - [`udp`]: one thread per worker, `SO_REUSEPORT` sockets, `recvmmsg`/`sendmmsg` batches.
//! - [`rrl`]: response rate limiting for UDP, one lock-free table of leaky buckets.
//! - [`tcp`]: RFC 7766 over tokio, with connection, idle and per-connection limits, and
//!   streamed zone transfers; [`connections`]: the per-client cap and the eviction of the
//!   idlest connection when all are taken.
//!
//! Zones and secondaries:
//! - [`follow`]: the served state and the thread that follows zone directories;
//!   [`history`]: the journal's changesets that IXFR answers from, shared between states.
//! - [`requests`]: requests that are not plain queries — transfers, NOTIFY and TSIG-signed
//!   requests (the rare path).
//! - [`transfer`]: AXFR and IXFR messages; [`tsig`]: keys, verification, signing;
//!   [`acl`]: address prefixes; [`notify`]: NOTIFY to secondaries.
//!
//! Operations: [`metrics`] (per-thread counters and their Prometheus page, served by
//! `ops::serve_metrics`) and [`config`].
//!
//! # Threads
//!
//! - **UDP workers** (`workers` per listen address, one per core by default, optionally
//!   pinned): each owns a `SO_REUSEPORT` socket and loops `recvmmsg` → answer each datagram →
//!   `sendmmsg`, with its own metrics shard and rate-limit state; nothing is shared with other
//!   workers but the served state.
//! - **The follower** (`follow`): polls zone directories every 10 ms, applies journal
//!   changesets as overlays, opens new images, withdraws damaged zones, and tells the NOTIFY
//!   task which zones changed; SIGHUP reloads the configuration's zones.
//! - **The index checks**: at start, one background thread per image opened trusted checks
//!   its index at the lowest priority while the zone already answers.
//! - **One tokio thread** (current-thread runtime): TCP connections and zone transfers,
//!   NOTIFY to secondaries, and the metrics page.
//!
//! The served state sits behind an [`arc_swap::ArcSwap`]: a change builds a new state and
//! swaps the pointer; queries in flight finish on the old one, and no lock is ever taken on the
//! query path.
//!
//! # One packet
//!
//! A UDP worker first starts the look-up of every datagram of its batch ahead
//! ([`engine::ahead`]) and advances them together, so the cache lines the answers need are on
//! their way for all of them at once; then, one by one, each datagram is classified
//! ([`engine::classify`]): a plain query goes to
//! [`engine::respond`] (parse, zone selection, look-up, OPT), a transfer, NOTIFY or signed
//! request to [`requests::respond`]. The response then passes response rate limiting
//! ([`rrl`]: sent, sent truncated, or dropped), is counted in the worker's shard
//! ([`metrics`]) and goes out in the next `sendmmsg`. Over TCP the same engine answers each
//! length-prefixed message in order; transfers are streamed message by message.
//!
//! # Panics
//!
//! The answer engine does not panic on any input it is given (the query parser and the
//! trusted-image answer are fuzzed). An image damaged on disk is read defensively: a read that
//! fails answers SERVFAIL and withdraws the zone ([`engine`]). As a last line, each query is
//! answered under `catch_unwind`: a panic costs that query (counted in
//! `edge_dns_answer_failures_total`), never a worker or the process.
//!
//! # Cost
//!
//! On the reference machine a UDP query costs about 2.3 µs of server CPU on a
//! million-delegation zone (NSD 4.6.1: 3.7 µs), of which about 1.85 µs is the kernel's receiving
//! and sending (what a bare reflector on the same loop costs) and about 0.43 µs the engine; a
//! query over a kept-open TCP connection costs about 1.5 µs (`docs/benchmarks.md`). Memory is the mapped
//! image (the page cache's, shared; its table of the names below the apex included) plus the
//! overlays of changes not yet compacted.

pub mod acl;
pub mod config;
pub mod connections;
pub mod engine;
pub mod follow;
pub mod history;
pub mod metrics;
pub mod notify;
pub mod requests;
pub mod rrl;
pub mod tcp;
pub mod transfer;
pub mod tsig;
pub mod udp;
pub mod view;
