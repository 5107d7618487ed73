//! Integration tests: the `control-plane` binary set up by its own commands, served on
//! loopback, and spoken to over real TLS (our client, and `openssl s_client`); the tests that
//! span the control plane and its satellites are in [`end_to_end`].

mod crash;
mod end_to_end;
mod epp;
mod escrow;
mod export;
mod fees;
mod fixture;
mod import;
mod rrp;
mod srrp;
mod statuses;
mod web;
