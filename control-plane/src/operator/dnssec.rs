//! The operator's DNSSEC actions on a zone (`control-plane dnssec`): sign it, stop signing it,
//! sign it whole again, and its keys' state.
//!
//! Turning signing on signs the zone whole in one transaction ([`crate::publish::dnssec`]):
//! one changeset carries every signature and chain record, and from the next batch on each
//! change is signed as part of its commit. Turning it off publishes the zone without its
//! DNSSEC records (its DS at the parent must be gone first, or the zone goes bogus).

use anyhow::Context;
use rusqlite::Connection;
use zonefiles::sign::Denial;
use zonefiles::sign::keys::ZoneKey;

use crate::publish::Publication;
use crate::publish::signing::Signer;
use crate::store::Store;
use crate::store::sqlite::immediate;

/// Signs `zone` with `denial` (a new zone signed whole, or a signed zone moved to another
/// denial), or (`None`) stops signing it; returns the serial published.
pub fn set(
    conn: &mut Connection,
    signer: &Signer,
    zone: &str,
    denial: Option<&Denial>,
    now: i64,
) -> anyhow::Result<u32> {
    immediate(conn, |conn| {
        let id = zone_id(conn, zone)?;
        conn.set_zone_denial(id, denial)?;
        let mut publication = Publication::new();
        publication.sign_whole(id);
        let entries = publication.finish(conn, now, signer)?;
        Ok(entries.last().map_or(0, |e| e.to_serial))
    })
}

/// Signs a signed zone whole again (after keys were replaced by hand, or to refresh every
/// signature at once); returns the serial published.
pub fn resign(conn: &mut Connection, signer: &Signer, zone: &str, now: i64) -> anyhow::Result<u32> {
    let denial = conn
        .zone_denial(zone_id(conn, zone)?)?
        .with_context(|| format!("{zone} is not signed (control-plane dnssec on {zone})"))?;
    set(conn, signer, zone, Some(&denial), now)
}

fn zone_id(conn: &Connection, zone: &str) -> anyhow::Result<i64> {
    conn.zones()?
        .into_iter()
        .find(|z| z.origin.as_str() == zone)
        .map(|z| z.id)
        .with_context(|| format!("there is no zone {zone} (control-plane zone list)"))
}

/// A key's state at `now`, in the words of RFC 7583.
pub fn key_state(key: &ZoneKey, now: u64) -> &'static str {
    let t = &key.timing;
    if !t.published(now) {
        return match t.publish.is_some_and(|p| now < p) {
            true => "generated (not yet published)",
            false => "removed",
        };
    }
    if t.active(now) {
        return "active";
    }
    match t.activate.is_some_and(|a| now < a) {
        true => "published (not yet signing)",
        false => "retired (published, no longer signing)",
    }
}
