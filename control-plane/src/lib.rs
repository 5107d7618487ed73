//! Constellation's control plane: the registry database, the registrar protocols SRRP and EPP,
//! and the journal of signed changesets that feeds every satellite. The system around it is described
//! in `docs/architecture.md`.
//!
//! # Parts
//!
//! ```text
//! registrar ──TLS──▶ server (tokio) ──srrp::parse──▶ srrp_front::decode ──▶ Command
//! registrar ──TLS──▶ epp::server (sessions) ──epp::xml, epp::command──▶ epp::front ──▶ Command
//!                       │  credentials: auth (Argon2id, verified-credential cache), read-only
//!                       │  database connections, tokio's blocking pool
//!                       ▼
//!                 writer::Commits ──FairQueue (per registrar, round robin)──▶ commit thread
//!                                                                                │
//!   BEGIN IMMEDIATE · per command: SAVEPOINT · registry::execute(store, publication, …)
//!   · Publication::finish → one signed changeset per changed zone into `journal`
//!   · COMMIT (one fsync) · answer every job of the batch
//! ```
//!
//! - [`srrp`]: the SRRP/1.0 grammar, framing and response codes (sans-IO).
//! - [`srrp_front`]: SRRP requests to registry [`registry::Command`]s and replies back.
//! - [`epp`]: EPP (RFC 5730–5734) as a second front end: framing, a bounded XML reader,
//!   RFC-checked commands, the mapping onto registry commands (`docs/epp.md`), TLS sessions.
//! - [`registry`]: the rules (sans-IO: command + state + time → reply + changes), and
//!   [`registry::Publication`], which turns a batch into DNS records removed/added and WHOIS
//!   objects set/deleted per zone.
//! - [`store`]: the narrow trait the rules use; [`sqlite`]: the embedded backend (schema,
//!   migrations, durability settings).
//! - [`writer`]: the commit thread and its queue ([`queue`]); [`server`]: the TLS listener;
//!   [`slots`]: connection and session limits;
//!   [`metrics`]: Prometheus.
//! - [`push`]: the push service feeding every satellite over QUIC (changesets, signed
//!   snapshots, audits); [`feed`]: the journal's tail in memory, read once for all sessions;
//!   [`satellites`]: membership (pinned tunnel keys) and every satellite's status and lag.
//! - [`signing`]: Ed25519 signatures over changesets; [`tls`]: certificates and TLS
//!   configurations; [`auth`]: password hashing.
//! - [`recovery`]: the registry record every changeset carries (the rows its transaction
//!   wrote, sealed to the offline recovery key) and `control-plane recover`, which rebuilds
//!   the registry from a backup and the changeset logs satellites keep.
//! - [`operator`]: the operator commands; [`audit`]: the journal-versus-database check;
//!   [`snapshot`]: full zones and WHOIS sets at any serial, with the publication checks;
//!   [`config`]: the TOML file; [`client`]: a one-request SRRP client.
//!
//! # Threads
//!
//! A multi-threaded tokio runtime runs the listeners, one task per connection and two per
//! satellite session (feeding and reading ACKs), and the feed's journal reader; Argon2 runs on
//! its blocking pool, two at a time. One OS thread (`commit`) owns the writable database
//! connection the registry changes through; the push service writes only the satellites'
//! status, once a second, on a connection of its own without fsync (it is not precious). Operator commands are separate processes that open the database themselves;
//! SQLite's locking orders their transactions with the commit thread's.
//!
//! # Invariants
//!
//! - A command is answered only after the transaction holding it has committed: a confirmed
//!   command survives a crash; a crash loses only commands never confirmed.
//! - A change and the changeset that publishes it are in the same transaction, so the journal
//!   and the registry never disagree; [`audit::run`] replays the journal and compares.
//! - Serials advance by the zone's policy once per batch that changes the zone; every journal
//!   entry starts at the serial where the previous one ended.
//! - Every credit movement is a ledger line written with the balance change; a registrar's
//!   balance is the sum of its ledger.
//!
//! # Cost
//!
//! A create is about 20 indexed SQLite statements on the commit thread; the fsync is shared by
//! the batch, so under load the cost per command falls as batches grow (figures in
//! `docs/benchmarks.md`). Argon2 (about 30 ms) is paid once per registrar and password, not per
//! request.

pub mod audit;
pub mod auth;
pub mod client;
pub mod config;
pub mod epp;
pub mod feed;
pub mod import;
pub mod metrics;
pub mod model;
pub mod operator;
pub mod push;
pub mod queue;
pub mod recovery;
pub mod registry;
pub mod satellites;
pub mod server;
pub mod signing;
pub mod slots;
pub mod snapshot;
pub mod sqlite;
pub mod srrp;
pub mod srrp_front;
pub mod store;
pub mod tls;
pub mod writer;
