//! End to end: the control plane and its satellites (update-agent, edge-dns and edge-whois) as
//! the real binaries, on loopback or each host in a network namespace of its own, checked with
//! `dig`, the `whois` client, the agents' metrics and the registry's own audit. Every test of
//! this crate that spans several binaries is here; `ops/tests/up.rs` runs the whole
//! `constellation up` as a newcomer would.
//!
//! - [`satellite`]: a satellite for the tests (its three binaries, started and checked).
//! - [`push`]: the push pipeline: snapshots, changesets, audits, relays, kill -9 of agents.
//! - [`netns`]: several hosts, latency, loss and a cut link.
//! - [`recovery`]: the registry rebuilt from a backup and a satellite's changeset log.
//! - [`dnssec`]: a validating resolver behind a satellite of a signed registry.
//! - [`dispute`]: the registry's staff lock, hold, transfer and release a domain.
//! - [`publication`]: a bulk deletion held from the satellites, released, then discarded.
//! - [`activity`]: the monthly activity report's counts, from the registry and every satellite.

pub mod activity;
pub mod dispute;
pub mod dnssec;
pub mod netns;
pub mod publication;
pub mod push;
pub mod recovery;
pub mod satellite;
