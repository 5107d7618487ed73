//! The operator's decisions on a zone whose publication a check held
//! ([`crate::push::guard`]): release what is held, or discard it.
//!
//! - **Release**: the held changes are right (a registrar's planned clean-up, a mass expiry):
//!   the push service sends them on, and the check starts a new window from the zone's size
//!   now.
//! - **Discard**: the held changes must never be served (a compromised registrar's
//!   deletions, an operator's mistake). The registry's confirmed changes are never undone
//!   here: the operator first puts the data right (the staff restore or re-register what was
//!   lost, through the registry's rules), then discards. The discard is refused while the zone
//!   still lacks more than the check allows since the hold; once accepted, satellites skip the
//!   states in between and move on by a snapshot of the zone as it is now.

use anyhow::{Context, bail};
use rusqlite::Connection;

use super::record;
use crate::model::HistoryKey;
use crate::push::guard;
use crate::store::Store;
use crate::store::sqlite::holds::{self, Hold, State};
use crate::store::sqlite::{self, immediate, journal};

/// Delegation NS records a zone lost, net, from `serial` to now (its journal read through).
pub fn loss_since(conn: &Connection, zone: &str, serial: u32) -> anyhow::Result<i64> {
    let Some(first) = journal::position_of(conn, zone, serial)? else {
        return Ok(0);
    };
    let mut after = first - 1;
    let mut loss = 0;
    loop {
        let entries = sqlite::journal_after(conn, zone, after, 4096)?;
        let Some(&(last, _)) = entries.last() else {
            return Ok(loss);
        };
        for (_, entry) in &entries {
            let changeset = zonefiles::Changeset::decode(&entry.changeset).with_context(|| {
                format!("the changeset from serial {} of {zone}", entry.from_serial)
            })?;
            loss += guard::delta(&changeset).net_loss();
        }
        after = last;
    }
}

/// Releases or discards `zone`'s hold, as `operator`, for `reason`; `checks` are the push
/// service's (a discard must leave the zone within them). Returns the hold as decided.
pub fn decide(
    conn: &mut Connection,
    zone: &str,
    discard: bool,
    checks: guard::Settings,
    reason: &str,
    operator: &str,
) -> anyhow::Result<Hold> {
    immediate(conn, |conn| {
        let Some(hold) = holds::of(conn, zone)?.filter(|h| h.state == State::Held) else {
            bail!("the publication of {zone} is not held (see `publication status`)");
        };
        let serial = conn
            .zones()?
            .into_iter()
            .find(|z| z.origin == zone)
            .with_context(|| format!("the registry runs no zone {zone}"))?
            .serial;
        let (state, until, change) = if discard {
            let loss = loss_since(conn, zone, hold.serial)?;
            let allowed = (checks.max_shrink * hold.size as f64).max(checks.floor as f64);
            if loss as f64 > allowed {
                bail!(
                    "{zone} still lacks {loss} of the delegation NS records it had at serial {} (at most {allowed:.0} may go): put the data right first (restore or register again what was lost), or release",
                    hold.serial
                );
            }
            (
                State::Discarded,
                Some(serial),
                format!(
                    "PUBLICATION DISCARDED (serials {} to {serial} skipped; {reason})",
                    hold.serial
                ),
            )
        } else {
            (
                State::Released,
                None,
                format!(
                    "PUBLICATION RELEASED (from serial {}; {reason})",
                    hold.serial
                ),
            )
        };
        let now = ops::now();
        holds::decide(conn, zone, state, until, operator, now)?;
        record(conn, HistoryKey::Zone(zone), operator, change)?;
        Ok(Hold {
            state,
            until,
            decided: Some((operator.to_string(), now)),
            ..hold
        })
    })
}
