//! Integration tests of edge-dns: one binary, one module per area.

mod allocations;
mod differential;
mod ferret;
mod hostile;
mod overlay;
mod peers;
mod protocol;
mod rate_limit;
mod server;
mod support;
mod transfers;
mod validation;

#[global_allocator]
static ALLOCATOR: allocations::Counting = allocations::Counting;
