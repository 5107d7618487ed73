//! RRP (RFC 2832, version 2.0.0 of RFC 3632), the protocol the .name plan's registrar gateway
//! served beside SRRP, as a third front end of the registry: sessions over TLS, many requests
//! each, every one carried out by the same rules and commit thread as SRRP's and EPP's.
//!
//! - [`grammar`]: requests, responses, framing and response codes (sans-IO).
//! - [`translate`]: requests to registry commands, replies and refusals back, and the
//!   mapping of RRP's statuses onto RFC 5731's.
//! - [`server`]: the TLS listener and one task per session.

pub mod grammar;
pub mod server;
pub mod translate;
