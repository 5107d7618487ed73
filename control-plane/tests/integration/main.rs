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
mod reports;
mod rrp;
mod srrp;
mod statuses;
mod web;

/// This month, `YYYY-MM` (UTC).
pub fn operator_month() -> String {
    zonefiles::calendar::date(ops::now())[..7].to_string()
}
