//! The monthly per-registrar transactions report of ICANN's registry agreement
//! (Specification 3, part 2): one CSV line per registrar of the zone, its fields in the
//! specification's order, and a last line of totals. File name: `<zone>-transactions-<yyyymm>.csv`.
//!
//! Counted from the `transactions` table, where the registry's rules note each registration,
//! renewal, refund, transfer outcome, deletion, restore and refused registration as they
//! commit it ([`crate::model::Transaction`]); the totals of domains and name servers are the
//! registry's at the time of the report. Net adds and renews are those of the month minus
//! those refunded in the month by a deletion in their grace period. This registry has no
//! transfer dispute (TDRP) process and takes no add grace period exemptions, so those fields are
//! 0; a restore always comes with its report (EPP's RGP restore is one step), so
//! `restored-noreport` is 0.

use std::fmt::Write as _;

use anyhow::Context;
use rusqlite::Connection;
use zonefiles::calendar;

use crate::store::Store;
use crate::store::sqlite::{self, reports};

/// The report's header line (Specification 3, part 2's field names, in order).
pub const FIELDS: [&str; 39] = [
    "registrar-name",
    "iana-id",
    "total-domains",
    "total-nameservers",
    "net-adds-1-yr",
    "net-adds-2-yr",
    "net-adds-3-yr",
    "net-adds-4-yr",
    "net-adds-5-yr",
    "net-adds-6-yr",
    "net-adds-7-yr",
    "net-adds-8-yr",
    "net-adds-9-yr",
    "net-adds-10-yr",
    "net-renews-1-yr",
    "net-renews-2-yr",
    "net-renews-3-yr",
    "net-renews-4-yr",
    "net-renews-5-yr",
    "net-renews-6-yr",
    "net-renews-7-yr",
    "net-renews-8-yr",
    "net-renews-9-yr",
    "net-renews-10-yr",
    "transfer-gaining-successful",
    "transfer-gaining-nacked",
    "transfer-losing-successful",
    "transfer-losing-nacked",
    "transfer-disputed-won",
    "transfer-disputed-lost",
    "transfer-disputed-nodecision",
    "deleted-domains-grace",
    "deleted-domains-nograce",
    "restored-domains",
    "restored-noreport",
    "agp-exemption-requests",
    "agp-exemptions-granted",
    "agp-exempted-domains",
    "attempted-adds",
];

/// A CSV field: quoted when it holds a comma, a quote or a line break.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The report of `zone` for `month` (`YYYY-MM`).
pub fn report(conn: &Connection, zone: &str, month: &str) -> anyhow::Result<String> {
    let start = calendar::parse_date(&format!("{month}-01"))
        .with_context(|| format!("{month:?} is not a month YYYY-MM"))?;
    let end = calendar::add_months(start, 1);
    let settings = conn
        .zones()?
        .into_iter()
        .find(|z| z.origin == zone)
        .with_context(|| format!("the registry runs no zone {zone}"))?;
    let counted = reports::transactions(conn, settings.id, start, end)?;
    let sponsored = reports::sponsored(conn, settings.id)?;
    let mut out = FIELDS.join(",");
    out.push_str("\r\n");
    let mut totals = [0u64; 37];
    for registrar in sqlite::registrars(conn)? {
        let events = counted.get(&registrar.id);
        let (domains, hosts) = sponsored.get(&registrar.id).copied().unwrap_or_default();
        if events.is_none() && domains == 0 {
            continue;
        }
        let count = |event: &str, years: u32| -> u64 {
            events
                .and_then(|e| e.get(&(event.to_string(), years)))
                .copied()
                .unwrap_or(0)
        };
        let any_years = |event: &str| -> u64 {
            events.map_or(0, |e| {
                e.iter()
                    .filter(|((name, _), _)| name == event)
                    .map(|(_, n)| n)
                    .sum()
            })
        };
        let mut values = vec![domains, hosts];
        for years in 1..=10 {
            values.push(count("add", years).saturating_sub(count("add-refunded", years)));
        }
        for years in 1..=10 {
            values.push(count("renew", years).saturating_sub(count("renew-refunded", years)));
        }
        values.extend([
            any_years("transfer-gaining-successful"),
            any_years("transfer-gaining-nacked"),
            any_years("transfer-losing-successful"),
            any_years("transfer-losing-nacked"),
            0,
            0,
            0,
            any_years("deleted-domains-grace"),
            any_years("deleted-domains-nograce"),
            any_years("restored-domains"),
            0,
            0,
            0,
            0,
            any_years("add") + any_years("add-refused"),
        ]);
        for (total, value) in totals.iter_mut().zip(&values) {
            *total += value;
        }
        let _ = write!(out, "{},{}", field(&registrar.name), registrar.iana_id);
        for value in values {
            let _ = write!(out, ",{value}");
        }
        out.push_str("\r\n");
    }
    out.push_str("Totals,");
    for total in totals {
        let _ = write!(out, ",{total}");
    }
    out.push_str("\r\n");
    Ok(out)
}
