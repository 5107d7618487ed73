//! The satellite session (`docs/architecture.md`, contract 6): what the control plane's push
//! service, a relay and every update-agent share, and nothing of either end's own work. The
//! control plane depends on this crate, never on the agent.
//!
//! - [`message`]: the session's messages and framing (sans-IO).
//! - [`session`]: what an agent accepts, and where an upstream starts each zone (sans-IO).
//! - [`signature`]: what an Ed25519 signature over a changeset or snapshot covers.
//! - [`digest`]: the state digest both ends compute for the self-audit.
//! - [`keys`]: key files (Ed25519, PKCS#8 in base64; public keys as base64 text).
//! - [`tunnel`]: QUIC with TLS 1.3 and pinned raw public keys (RFC 7250), both ends.
//! - [`upstream`]: what every upstream does on the wire: members' tunnels, HELLO or FETCH,
//!   snapshots in chunks, the agents' replies.
//! - [`log`]: the changeset log every agent keeps per zone, which relays serve from and
//!   the registry's recovery reads.
//!
//! # Call order
//!
//! An agent dials ([`tunnel::client_config`]), opens a stream and sends HELLO; its
//! [`session::Agent`] is then fed every message that arrives and says what to do with each.
//! An upstream accepts tunnels ([`upstream::Tunnels`]), reads HELLO ([`upstream::serve_member`]),
//! picks each zone's start with [`session::plan`], sends changesets or a snapshot, and reads
//! replies with [`upstream::listen`].
//!
//! # Cost
//!
//! Encoding and decoding copy each frame once; a changeset's signature is checked once per
//! agent (Ed25519 verification, about 50 µs); the digest reads the whole zone and WHOIS set,
//! so it runs only at audits.

pub mod digest;
pub mod keys;
pub mod log;
pub mod message;
pub mod session;
pub mod signature;
pub mod tunnel;
pub mod upstream;
