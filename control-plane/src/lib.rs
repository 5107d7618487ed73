//! Constellation's control plane: the registry database, the registrar protocols SRRP and EPP,
//! and the journal of signed changesets that feeds every satellite. The system around it is described
//! in `docs/architecture.md`.
//!
//! # Parts
//!
//! A folder per role, so a behaviour's folder is found from its name:
//!
//! ```text
//! front/     registrars' protocols over one shared core
//!   srrp/      grammar (sans-IO) · translate (to and from registry commands) · server (TLS)
//!   epp/       frame · xml · command · translate · response · server (sessions)
//!   core       credentials, read-only reads, the queue to the commit thread, counters
//! registry/  the rules (sans-IO): command + state + time → reply + changes
//! store/     the Store trait the rules use; sqlite/: the embedded backend
//! publish/   writer (the commit thread) · queue · publication (changesets) · signing
//! push/      the push service to satellites · feed · satellites · snapshot (exports)
//! operator/  operator commands · import · recovery · audit
//! model      the registry's objects · config · metrics
//! ```
//!
//! A command's path:
//!
//! ```text
//! registrar ──TLS──▶ front::srrp::server ──grammar::parse──▶ translate::decode ──▶ Command
//! registrar ──TLS──▶ front::epp::server ──xml, command──▶ translate::plan ──▶ Command
//! registrar ──TLS──▶ front::rrp::server ──grammar::parse──▶ translate::plan ──▶ Command
//!                       │  front::core: credentials (Argon2id, verified-credential cache),
//!                       │  read-only database connections, tokio's blocking pool
//!                       ▼
//!          publish::writer::Commits ──FairQueue (per registrar, round robin)──▶ commit thread
//!                                                                                │
//!   BEGIN IMMEDIATE · per command: SAVEPOINT · registry::execute(store, publication, …)
//!   · Publication::finish → one signed changeset per changed zone into `journal`
//!   · COMMIT (one fsync) · answer every job of the batch
//! ```
//!
//! - [`front`]: the registrar front ends (SRRP, EPP: `docs/epp.md`) over one core.
//! - [`registry`]: the rules (sans-IO: command + state + time → reply + changes).
//! - [`store`]: the narrow trait the rules use; [`store::sqlite`]: the embedded backend
//!   (schema, migrations, durability settings).
//! - [`publish`]: the commit thread and its fair queue, [`publish::Publication`] (a batch
//!   turned into DNS records removed/added and WHOIS objects set/deleted per zone), signing.
//! - [`push`]: the push service feeding every satellite over QUIC (changesets, signed
//!   snapshots, audits); its journal tail in memory, membership and lag, exports.
//! - [`operator`]: the operator commands; import; the registry record every changeset
//!   carries and `control-plane recover`; the journal-versus-database audit.
//! - [`model`]: the registry's objects; [`config`]: the TOML file; [`metrics`]: Prometheus.
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
//!   and the registry never disagree; [`operator::audit::run`] replays the journal and compares.
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

pub mod config;
pub mod escrow;
pub mod front;
pub mod metrics;
pub mod model;
pub mod operator;
pub mod publish;
pub mod push;
pub mod registry;
pub mod store;
pub mod web;
