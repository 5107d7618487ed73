//! SRRP/1.0, the .name plan's registrar protocol: one request per TLS connection, answered
//! after its commit.
//!
//! - [`grammar`]: requests, responses, framing and response codes (sans-IO).
//! - [`translate`]: requests to registry commands, and replies and refusals back.
//! - [`server`]: the TLS listener.

pub mod grammar;
pub mod server;
pub mod translate;
