//! Constellation's control plane: the registry database, the registrar protocol SRRP, and the
//! journal of signed changesets that feeds every satellite.
//!
//! The design is in `docs/architecture.md` (section "Control plane").

pub mod audit;
pub mod auth;
pub mod client;
pub mod config;
pub mod metrics;
pub mod model;
pub mod operator;
pub mod queue;
pub mod registry;
pub mod server;
pub mod signing;
pub mod sqlite;
pub mod srrp;
pub mod srrp_front;
pub mod store;
pub mod tls;
pub mod writer;
