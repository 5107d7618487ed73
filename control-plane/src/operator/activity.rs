//! The monthly registry functions activity report of ICANN's registry agreement
//! (Specification 3, part 1): one CSV line of the zone's counts for the month after the header
//! line. File name: `<zone>-activity-<yyyymm>.csv`.
//!
//! Where each field comes from:
//! - `operational-registrars`: the registrars active at the time of the report.
//! - `ramp-up-registrars`, `pre-ramp-up-registrars`: 0 (the registry has no OT&E stage).
//! - `zfa-passwords`: `CZDS`: zone file access goes through ICANN's centralized zone data
//!   service (`control-plane report zone-file` writes the file it distributes).
//! - `whois-43-queries`, `rdap-queries`, `dns-*`: the sums over the zone's satellites of the
//!   daily totals their agents report (`[activity]` in `update-agent.toml`), each satellite
//!   counting its whole edge-dns and edge-whois: a satellite that serves several zones counts
//!   its queries in each. `rdap-queries` is the field the registry agreement's RDAP amendment
//!   adds after the 39 first.
//! - `web-whois-queries`, `searchable-whois-queries`: 0 (no web WHOIS: RDAP replaces it).
//! - `srs-*`: the registrar commands answered, counted by the front ends' core
//!   ([`crate::front::activity`]); contacts (`srs-cont-*`) and RGP restore reports are 0: the
//!   registry has no contact objects and its restore is one step.
//!
//! The days are UTC days. The report names the satellites that reported in the month, so an
//! operator can see one missing.

use std::fmt::Write as _;

use anyhow::Context;
use rusqlite::Connection;
use zonefiles::calendar;

use crate::store::Store;
use crate::store::sqlite::{self, activity};

/// The report's header line (Specification 3, part 1's field names, in order).
pub const FIELDS: [&str; 40] = [
    "operational-registrars",
    "ramp-up-registrars",
    "pre-ramp-up-registrars",
    "zfa-passwords",
    "whois-43-queries",
    "web-whois-queries",
    "searchable-whois-queries",
    "dns-udp-queries-received",
    "dns-udp-queries-responded",
    "dns-tcp-queries-received",
    "dns-tcp-queries-responded",
    "srs-dom-check",
    "srs-dom-create",
    "srs-dom-delete",
    "srs-dom-info",
    "srs-dom-renew",
    "srs-dom-rgp-restore-report",
    "srs-dom-rgp-restore-request",
    "srs-dom-transfer-approve",
    "srs-dom-transfer-cancel",
    "srs-dom-transfer-query",
    "srs-dom-transfer-reject",
    "srs-dom-transfer-request",
    "srs-dom-update",
    "srs-host-check",
    "srs-host-create",
    "srs-host-delete",
    "srs-host-info",
    "srs-host-update",
    "srs-cont-check",
    "srs-cont-create",
    "srs-cont-delete",
    "srs-cont-info",
    "srs-cont-transfer-approve",
    "srs-cont-transfer-cancel",
    "srs-cont-transfer-query",
    "srs-cont-transfer-reject",
    "srs-cont-transfer-request",
    "srs-cont-update",
    "rdap-queries",
];

/// A month's report of a zone.
#[derive(Debug)]
pub struct Report {
    /// The CSV (header line and one line of values).
    pub csv: String,
    /// The satellites whose counts it holds.
    pub satellites: Vec<String>,
}

/// The report of `zone` for `month` (`YYYY-MM`).
pub fn report(conn: &Connection, zone: &str, month: &str) -> anyhow::Result<Report> {
    let start = calendar::parse_date(&format!("{month}-01"))
        .with_context(|| format!("{month:?} is not a month YYYY-MM"))?;
    let end = calendar::add_months(start, 1);
    anyhow::ensure!(
        conn.zones()?.iter().any(|z| z.origin == zone),
        "the registry runs no zone {zone}"
    );
    let day = |t: i64| (t.div_euclid(86_400)).max(0) as u32;
    let (sums, satellites) = activity::month(conn, zone, day(start), day(end))?;
    let registrars = sqlite::registrars(conn)?
        .iter()
        .filter(|r| r.active)
        .count();
    let mut csv = FIELDS.join(",");
    csv.push_str("\r\n");
    for (i, field) in FIELDS.iter().enumerate() {
        if i > 0 {
            csv.push(',');
        }
        match *field {
            "operational-registrars" => {
                let _ = write!(csv, "{registrars}");
            }
            "zfa-passwords" => csv.push_str("CZDS"),
            counter => {
                let _ = write!(csv, "{}", sums.get(counter).copied().unwrap_or(0));
            }
        }
    }
    csv.push_str("\r\n");
    Ok(Report { csv, satellites })
}
