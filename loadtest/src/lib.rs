//! Load generators, test-data generators and side-by-side benchmark reports.
//!
//! - [`tldgen`]: deterministic TLD-shaped zones (the benchmark and demo data).
//! - [`zonebench`]: the zone-tooling benchmark (compile, open, look-up, diff).

pub mod tldgen;
pub mod zonebench;
