//! Constellation's update-agent: the satellite's writer, fed by the control plane (or a relay)
//! over the satellite session (`docs/architecture.md`, contract 6), whose protocol is the
//! `satellite-protocol` crate beside this one.
//!
//! - [`satellite`]: the writer of a satellite's zone directories and WHOIS tree: batches,
//!   checkpoints, snapshots, recovery.
//! - [`relay`]: an agent that serves agents downstream from the signed changesets it applied.
//! - [`verify`]: a satellite's data compared item by item with the registry's export.
//!
//! The `update-agent` binary is a shell over these: a QUIC client that reconnects with
//! jittered back-off, feeds what arrives to `satellite_protocol::session::Agent` and carries
//! out its steps with [`satellite::Satellite`].

pub mod relay;
pub mod satellite;
pub mod verify;
