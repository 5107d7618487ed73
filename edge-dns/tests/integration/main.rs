//! Integration tests of edge-dns: one binary, one module per area.

mod ferret;
mod protocol;
mod support;
