//! What operators do at the command line: zones, registrars, credit, blocked names, reports.
//!
//! Each action runs in one immediate transaction, is recorded in the history with the
//! operator's name (as registrar commands are with the registrar's), and — when it changes
//! what satellites serve, as a registrar's WHOIS details do — publishes a signed changeset in
//! the same transaction.

pub mod activity;
pub mod audit;
pub mod dnssec;
pub mod import;
pub mod publication;
pub mod recovery;
pub mod transactions;
pub mod zone_file;

use std::fmt::Write as _;

use anyhow::{Context, bail};
use rusqlite::Connection;

use crate::model::{
    Actor, Case, HistoryEntry, HistoryKey, LedgerKind, Lifecycle, Prices, Registrar, ZoneSettings,
};
use crate::publish::signing::Signer;
use crate::publish::{Publication, registrar_object};
use crate::registry::{StaffAction, check_name, money};
use crate::store::Store;
use crate::store::sqlite::{self, immediate};
use zonefiles::{ZoneName, calendar};

fn record(
    conn: &mut Connection,
    object: HistoryKey<'_>,
    operator: &str,
    change: String,
) -> anyhow::Result<()> {
    conn.add_history(
        object,
        &HistoryEntry {
            at: ops::now(),
            actor: Actor::Operator(operator.to_string()).to_string(),
            change,
        },
    )?;
    Ok(())
}

/// Adds a zone the registry runs, and publishes every registrar's WHOIS object in it.
pub fn add_zone(
    conn: &mut Connection,
    signer: &Signer,
    zone: &ZoneSettings,
    operator: &str,
) -> anyhow::Result<()> {
    check_name(&format!("x.{}", zone.origin))
        .map_err(|e| anyhow::anyhow!("zone name {}: {e}", zone.origin))?;
    anyhow::ensure!(
        zone.level == 2 || zone.level == 3,
        "a zone registers names at level 2 or 3"
    );
    immediate(conn, |conn| {
        if conn.zones()?.iter().any(|z| z.origin == zone.origin) {
            bail!("the registry already runs {}", zone.origin);
        }
        sqlite::insert_zone(conn, zone)?;
        record(
            conn,
            HistoryKey::Zone(&zone.origin),
            operator,
            format!("ADD ZONE (level {}, serial {})", zone.level, zone.serial),
        )?;
        let mut publication = Publication::new();
        for registrar in sqlite::registrars(conn)? {
            publication.registrar_in(registrar, &zone.origin);
        }
        publication.finish(conn, ops::now(), signer)?;
        Ok(())
    })
}

/// Sets a zone's grace periods and transfer policy (RFC 3915; see [`crate::registry::sweep`]).
/// Domains already deleted, and transfers already pending, follow the new periods.
pub fn set_lifecycle(
    conn: &mut Connection,
    origin: &ZoneName,
    policy: &Lifecycle,
    operator: &str,
) -> anyhow::Result<()> {
    immediate(conn, |conn| {
        let changed = sqlite::journal::set_lifecycle(conn, origin, policy)?;
        if !changed {
            bail!("the registry does not run {origin} (see `zone list`)");
        }
        record(
            conn,
            HistoryKey::Zone(origin),
            operator,
            format!("SET LIFECYCLE ({})", describe_lifecycle(policy)),
        )?;
        Ok(())
    })
}

/// Sets a zone's prices (what registrations, renewals, transfers and restores are charged from
/// now on).
pub fn set_prices(
    conn: &mut Connection,
    origin: &ZoneName,
    prices: &Prices,
    operator: &str,
) -> anyhow::Result<()> {
    immediate(conn, |conn| {
        if !sqlite::journal::set_prices(conn, origin, prices)? {
            bail!("the registry does not run {origin} (see `zone list`)");
        }
        record(
            conn,
            HistoryKey::Zone(origin),
            operator,
            format!("SET PRICES ({prices})"),
        )?;
        Ok(())
    })
}

/// Makes a name premium at `prices` (or, with `None`, priced by its zone again).
pub fn set_premium(
    conn: &mut Connection,
    name: &str,
    prices: Option<&Prices>,
    operator: &str,
) -> anyhow::Result<()> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    check_name(&name).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(prices) = prices {
        anyhow::ensure!(
            [prices.create, prices.renew, prices.transfer, prices.restore]
                .iter()
                .all(|&p| p >= 0),
            "a price is 0 or more cents"
        );
    }
    immediate(conn, |conn| {
        let zones = conn.zones()?;
        anyhow::ensure!(
            zones
                .iter()
                .any(|z| name.ends_with(&format!(".{}", z.origin))),
            "{name} is in no zone the registry runs (see `zone list`)"
        );
        let change = match prices {
            Some(prices) => {
                sqlite::journal::set_premium(conn, &name, prices)?;
                format!("PREMIUM ({prices})")
            }
            None => {
                if !sqlite::journal::remove_premium(conn, &name)? {
                    bail!("{name} is not a premium name");
                }
                "NOT PREMIUM".to_string()
            }
        };
        record(conn, HistoryKey::Domain(&name), operator, change)?;
        Ok(())
    })
}

/// A zone's grace periods and transfer policy in words.
pub fn describe_lifecycle(p: &Lifecycle) -> String {
    format!(
        "add grace {} days, renew grace {} days, transfer grace {} days, auto-renew grace {} days, redemption {} days, pending delete {} days, transfer timeout {} days (then {}), transfer lock {} days",
        p.add_grace_days,
        p.renew_grace_days,
        p.transfer_grace_days,
        p.auto_renew_grace_days,
        p.redemption_days,
        p.pending_delete_days,
        p.transfer_timeout_days,
        p.transfer_default.as_str(),
        p.transfer_lock_days
    )
}

/// Adds a registrar or changes one, records `change`, and publishes its WHOIS object in every
/// zone when what WHOIS shows of it changed.
pub fn put_registrar(
    conn: &mut Connection,
    signer: &Signer,
    registrar: &Registrar,
    operator: &str,
    change: &str,
) -> anyhow::Result<()> {
    immediate(conn, |conn| {
        let shown_before = conn.registrar(registrar.id)?.map(|r| registrar_object(&r));
        sqlite::put_registrar(conn, registrar)?;
        record(
            conn,
            HistoryKey::Registrar(registrar.id),
            operator,
            change.to_string(),
        )?;
        if shown_before != Some(registrar_object(registrar)) {
            let mut publication = Publication::new();
            publication.registrar(registrar.clone());
            publication.finish(conn, ops::now(), signer)?;
        }
        Ok(())
    })
}

/// A registrar that must exist.
pub fn registrar(conn: &Connection, id: u32) -> anyhow::Result<Registrar> {
    conn.registrar(id)?
        .with_context(|| format!("there is no registrar {id} (control-plane registrar list)"))
}

/// Adds credit (or takes it back, with a negative amount); returns the new balance.
pub fn top_up(conn: &mut Connection, id: u32, amount: i64, operator: &str) -> anyhow::Result<i64> {
    immediate(conn, |conn| {
        registrar(conn, id)?;
        let balance = conn.charge(id, amount, LedgerKind::TopUp, None, ops::now())?;
        record(
            conn,
            HistoryKey::Registrar(id),
            operator,
            format!("CREDIT ({}; balance {})", money(amount), money(balance)),
        )?;
        Ok(balance)
    })
}

/// Blocks or unblocks a label, or a `third.second` combination.
pub fn block(
    conn: &mut Connection,
    what: &str,
    blocked: bool,
    operator: &str,
) -> anyhow::Result<bool> {
    let what = what.trim().to_ascii_lowercase();
    immediate(conn, |conn| {
        let changed = match what.split_once('.') {
            Some((third, second)) => {
                check_name(&what).map_err(|e| anyhow::anyhow!("{e}"))?;
                sqlite::set_combination_blocked(conn, third, second, blocked)?
            }
            None => {
                check_name(&format!("{what}.x")).map_err(|e| anyhow::anyhow!("{e}"))?;
                sqlite::set_label_blocked(conn, &what, blocked)?
            }
        };
        if changed {
            let verb = if blocked { "BLOCK" } else { "UNBLOCK" };
            record(
                conn,
                HistoryKey::Blocked(&what),
                operator,
                format!("{verb} {what}"),
            )?;
        }
        Ok(changed)
    })
}

/// Carries out a staff action on a domain (a hold, a lock, a suspension, a release, a transfer:
/// [`crate::registry::act`]) in one transaction, publishing what it changes; returns what changed, in words.
pub fn act_on_domain(
    conn: &mut Connection,
    signer: &Signer,
    name: &str,
    action: &StaffAction,
    case: &Case,
    operator: &str,
) -> anyhow::Result<String> {
    immediate(conn, |conn| {
        let now = ops::now();
        let mut publication = Publication::new();
        let done = crate::registry::act(conn, &mut publication, now, operator, name, action, case)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        publication.finish(conn, now, signer)?;
        Ok(done)
    })
}

/// A domain's history, newest first, as text.
pub fn history(conn: &Connection, name: &str) -> anyhow::Result<String> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let entries = conn.history(HistoryKey::Domain(&name))?;
    let mut out = String::new();
    if let Some(domain) = conn.domain(&name)? {
        let _ = writeln!(
            out,
            "{name}: registrar {}, {}, created {}, expires {}, cluster {}",
            domain.registrar,
            domain.statuses_text(),
            calendar::date_time(domain.created),
            calendar::date(domain.expires),
            domain.cluster.map_or("none".to_string(), |c| c.to_string())
        );
    } else if entries.is_empty() {
        bail!("{name} has never been registered");
    } else {
        let _ = writeln!(out, "{name}: not registered now");
    }
    for entry in entries {
        let _ = writeln!(
            out,
            "{} UTC  {:<20}  {}",
            calendar::date_time(entry.at),
            entry.actor,
            entry.change
        );
    }
    Ok(out)
}

/// The month's statement per registrar as CSV: one line per charge or credit, then a total
/// line per registrar with the opening and closing balance. `month` is `YYYY-MM`; `only`
/// keeps one registrar's lines (its web page's download).
pub fn billing(conn: &Connection, month: &str, only: Option<u32>) -> anyhow::Result<String> {
    let start = calendar::parse_date(&format!("{month}-01"))
        .with_context(|| format!("{month:?} is not a month YYYY-MM"))?;
    let end = calendar::add_months(start, 1);
    let lines = match only {
        Some(id) => sqlite::pages::ledger_of(conn, id, start, end, None)?
            .into_iter()
            .map(|(_, line)| line)
            .collect(),
        None => conn.ledger(start, end)?,
    };
    let mut out = String::from("registrar,iana_id,name,time,kind,domain,amount,balance\n");
    let registrars = sqlite::registrars(conn)?;
    for registrar in registrars
        .iter()
        .filter(|r| only.is_none_or(|id| r.id == id))
    {
        let mine: Vec<_> = lines
            .iter()
            .filter(|l| l.registrar == registrar.id)
            .collect();
        let name = registrar.name.replace(['"', ','], " ");
        let mut total = 0;
        for line in &mine {
            total += line.amount;
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{}",
                registrar.id,
                registrar.iana_id,
                name,
                calendar::date_time(line.at),
                line.kind.as_str(),
                line.domain.as_deref().unwrap_or(""),
                money(line.amount),
                money(line.balance)
            );
        }
        let closing = mine.last().map(|l| l.balance);
        let opening = mine.first().map(|l| l.balance - l.amount);
        let _ = writeln!(
            out,
            "{},{},{},{month},total,,{},{}",
            registrar.id,
            registrar.iana_id,
            name,
            money(total),
            closing.or(opening).map_or(String::new(), money)
        );
    }
    Ok(out)
}
