//! Constellation's update-agent: the satellite's only writer, fed by the control plane over
//! the satellite session (`docs/architecture.md`, contract 6). The library holds what both ends
//! of the session share, and the satellite's writer.
//!
//! - [`protocol`]: the session's messages and framing (sans-IO).
//! - [`session`]: what the agent accepts and where an upstream starts a zone (sans-IO).
//! - [`signature`]: what an Ed25519 signature over a changeset or snapshot covers.
//! - [`digest`]: the state digest both ends compute for the self-audit.
//! - [`tunnel`]: QUIC with TLS 1.3 and pinned raw public keys (RFC 7250), both ends.
//! - [`satellite`]: the writer of a satellite's zone directories and WHOIS tree: batches,
//!   checkpoints, snapshots, recovery.
//! - [`upstream`]: what every upstream does on the wire (the control plane's push service
//!   and a relay): members' tunnels, HELLO or FETCH, snapshots in chunks.
//! - [`relay`]: an agent that serves agents downstream from the signed changesets it applied.
//! - [`verify`]: a satellite's data compared item by item with the registry's export.
//! - [`keys`]: key files.
//!
//! The `update-agent` binary is a thin shell over these: a QUIC client that reconnects with
//! jittered back-off, feeds what arrives to [`session::Agent`] and carries out its steps with
//! [`satellite::Satellite`].

pub mod digest;
pub mod keys;
pub mod protocol;
pub mod relay;
pub mod satellite;
pub mod session;
pub mod signature;
pub mod tunnel;
pub mod upstream;
pub mod verify;
