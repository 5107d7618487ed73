//! The registrars' front ends: each protocol a folder that parses its wire format, translates
//! requests into registry [`Command`](crate::registry::Command)s and outcomes back into its
//! replies, over one shared [`core`] that authenticates, queues and counts once.
//!
//! ```text
//! registrar ──TLS──▶ srrp::server ──srrp::grammar──▶ srrp::translate ──┐
//! registrar ──TLS──▶ epp::server (sessions) ──epp::xml, epp::command──▶ epp::translate ──┤
//! registrar ──TLS──▶ rrp::server (sessions) ──rrp::grammar──▶ rrp::translate ────────────┤
//!                                                                                         ▼
//!            core::Core: credentials (auth, Argon2 on the blocking pool), read-only reads,
//!            the queue to the commit thread (crate::publish::writer) → Outcome
//! ```
//!
//! - [`core`]: the shared core and the response counters; [`activity`]: the commands it
//!   answered, by zone and day, for the monthly activity report.
//! - [`srrp`]: SRRP/1.0 (the .name plan's protocol), one request per TLS connection.
//! - [`epp`]: EPP (RFC 5730–5734), sessions over TLS.
//! - [`rrp`]: RRP (RFC 2832, RFC 3632), the .name plan's other registrar protocol, sessions
//!   over TLS.
//! - [`auth`]: password hashing and the verified-credential cache; [`tls`]: certificates and
//!   TLS configurations; [`slots`]: connection and session limits; [`client`]: minimal SRRP
//!   and EPP clients for operators and tests.
//!
//! Another protocol is another folder beside these: a grammar (sans-IO), a
//! translation to and from registry commands, and a listener over [`core::Core`]
//! (`docs/adding-a-command.md`).

pub mod activity;
pub mod auth;
pub mod client;
pub mod core;
pub mod epp;
pub mod rrp;
pub mod slots;
pub mod srrp;
pub mod tls;
