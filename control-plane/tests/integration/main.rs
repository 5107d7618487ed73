//! Integration tests: the `control-plane` binary set up by its own commands, served on
//! loopback, and spoken to over real TLS (our client, and `openssl s_client`); the tests that
//! span the control plane and its satellites are in [`end_to_end`].

mod crash;
mod dnssec;
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

/// Waits out the last minute of a month, so that a test's counts fall in one month.
pub fn wait_for_month_start() {
    let now = ops::now();
    let day = now - now % 86_400;
    let next_month = zonefiles::calendar::add_months(day, 1);
    let day_of_month: i64 = zonefiles::calendar::date(next_month)[8..10]
        .parse()
        .unwrap();
    let next_month = next_month - (day_of_month - 1) * 86_400;
    if next_month - now < 60 {
        std::thread::sleep(std::time::Duration::from_secs(
            (next_month - now + 1) as u64,
        ));
    }
}
