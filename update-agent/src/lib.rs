//! Constellation's update-agent: the satellite's writer, fed by the control plane (or a relay)
//! over the satellite session (`docs/architecture.md`, contract 6), whose protocol is the
//! `satellite-protocol` crate beside this one.
//!
//! - [`config`]: the configuration file.
//! - [`run`]: the shell: the QUIC client, reconnection with back-off, the metrics page.
//! - [`applier`]: one session's work without the network: batches applied and acknowledged,
//!   checkpoints, folds, snapshots, audits and resynchronisation.
//! - [`satellite`]: the writer of a satellite's zone directories and WHOIS tree: batches,
//!   checkpoints, snapshots, recovery.
//! - [`relay`]: an agent that serves agents downstream from the signed changesets it applied.
//! - [`verify`]: a satellite's data compared item by item with the registry's export.
//! - [`activity`]: the satellite's query counts for the registry's monthly activity report,
//!   read from its servers' metrics pages and sent upstream.
//!
//! The `update-agent` binary is its command line: `run` (the default) calls [`run::run`], which
//! feeds what arrives to an [`applier::Applier`] (over `satellite_protocol::session::Agent`)
//! that carries out its steps with [`satellite::Satellite`].
//!
//! # Threads
//!
//! A two-thread tokio runtime runs the tunnel, the metrics listener and a relay's downstream
//! sessions. The session is one task that applies each message on the spot
//! (`block_in_place`): writes are fsync-bound and strictly sequential, and nothing is
//! acknowledged before it is on disk. A fold (compaction) runs on a thread of its own while
//! the session goes on appending.

pub mod activity;
pub mod applier;
pub mod config;
pub mod relay;
pub mod run;
pub mod satellite;
pub mod verify;
