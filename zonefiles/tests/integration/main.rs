//! Integration tests of the `zonefiles` crate: one binary, one module per area.

mod changesets;
mod checks;
mod ferret;
mod image;
mod journal;
mod master;
mod sign;
mod support;
mod tools;
