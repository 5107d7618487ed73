//! Constellation's authoritative DNS server for TLD zones.
//!
//! The [`engine`] answers one query from compiled zone images as a pure function over bytes
//! (no I/O, no clock, no allocation for ordinary names), so the same code serves UDP and TCP
//! and is what the tests, fuzzers and benchmarks call. The server shell around it comes next.

pub mod engine;
