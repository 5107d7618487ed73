//! Constellation's update-agent: the satellite's only writer, fed by the control plane. Its
//! library holds what both ends of the satellite session must agree on
//! (`docs/architecture.md`, contract 6); the agent itself is not built yet.
//!
//! - [`signature`]: what an Ed25519 signature over a changeset covers, and its check.

pub mod signature;
