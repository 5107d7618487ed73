//! The registry's share of the monthly activity report (ICANN's Specification 3, part 1): the
//! registrar commands answered, by the report's counter (`srs-dom-check`, `srs-host-create`,
//! …), zone and UTC day.
//!
//! Every front end (SRRP, EPP, RRP, the web page) hands its commands to the core, which counts
//! each one here as it queues it ([`Activity::count`]): a command the rules carried out or
//! refused is a request responded. Requests answered before they become a command (malformed,
//! not logged in) are not counted. A domain command counts in the zone of its name (a check of
//! several names, in the zone of the first); a host command counts in the zone holding the
//! host's name or, for a host outside every zone of the registry, in each zone (host objects
//! are the registry's, as in its escrow deposits). Counting is an add under a lock; the
//! counts are written to the database every [`FLUSH`] and at a clean stop
//! ([`crate::store::sqlite::activity::add`]).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use crate::registry::{Command, TransferAction};
use crate::store::sqlite::activity::{self, Count};

/// How often the counts are written to the database: what a crash may lose.
pub const FLUSH: Duration = Duration::from_secs(10);

/// Commands counted and not yet written.
#[derive(Debug, Default)]
pub struct Activity {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The registry's zones, longest first (refreshed at each write).
    zones: Vec<String>,
    /// (day, counter) → zone → commands (the zone looked up by `&str`: no allocation per
    /// command).
    pending: HashMap<(u32, &'static str), HashMap<String, u64>>,
}

/// What a host command is about.
enum Object<'a> {
    Domain(&'a str),
    Host(&'a str),
}

/// The report's counter for a command, and the name it is about.
fn counter(command: &Command) -> Option<(&'static str, Object<'_>)> {
    use Object::{Domain, Host};
    Some(match command {
        Command::WithFee { command, .. } => return counter(command),
        Command::All(commands) => return commands.iter().find_map(counter),
        Command::CheckDomains { names, .. } => ("srs-dom-check", Domain(names.first()?)),
        Command::CreateDomain { name, .. } => ("srs-dom-create", Domain(name)),
        Command::DeleteDomain { name } => ("srs-dom-delete", Domain(name)),
        Command::QueryDomain { name } => ("srs-dom-info", Domain(name)),
        // SRRP's SET EXPIRE extends a registration: a renewal.
        Command::Renew { name, .. } | Command::SetExpire { name, .. } => {
            ("srs-dom-renew", Domain(name))
        }
        Command::Restore { name } => ("srs-dom-rgp-restore-request", Domain(name)),
        Command::Transfer { name, .. } => ("srs-dom-transfer-request", Domain(name)),
        Command::QueryTransfer { name, .. } => ("srs-dom-transfer-query", Domain(name)),
        Command::DecideTransfer { name, action } => (
            match action {
                TransferAction::Approve => "srs-dom-transfer-approve",
                // RRP's `-Approve:No` (a reject, or a cancel by the registrar that asked) counts
                // as a reject, the more common of the two.
                TransferAction::Reject | TransferAction::Decline => "srs-dom-transfer-reject",
                TransferAction::Cancel => "srs-dom-transfer-cancel",
            },
            Domain(name),
        ),
        Command::SetCluster { name, .. }
        | Command::SetStatus { name, .. }
        | Command::SetPassword { name, .. }
        | Command::SetDs { name, .. }
        | Command::EditNameservers { name, .. }
        | Command::EditDs { name, .. } => ("srs-dom-update", Domain(name)),
        Command::CheckHosts { names } => ("srs-host-check", Host(names.first()?)),
        Command::CreateHost { name, .. } => ("srs-host-create", Host(name)),
        Command::QueryHost { name } => ("srs-host-info", Host(name)),
        Command::UpdateHost { name, .. } => ("srs-host-update", Host(name)),
        Command::DeleteHost { name } => ("srs-host-delete", Host(name)),
        // Name server clusters (SRRP's), service messages and server queries have no field.
        Command::CreateCluster { .. }
        | Command::SetNameservers { .. }
        | Command::DeleteCluster { .. }
        | Command::QueryCluster { .. }
        | Command::Poll
        | Command::Acknowledge { .. }
        | Command::StatusDefaults
        | Command::StatusServer => return None,
    })
}

/// The zone of `name` among `zones` (longest first), if any.
fn zone_of<'z>(zones: &'z [String], name: &str) -> Option<&'z String> {
    let name = name.trim_end_matches('.');
    zones.iter().find(|zone| {
        name.len() > zone.len()
            && name[name.len() - zone.len()..].eq_ignore_ascii_case(zone)
            && name.as_bytes()[name.len() - zone.len() - 1] == b'.'
    })
}

impl Activity {
    /// Counts one command answered at `now` (seconds since 1970).
    pub fn count(&self, command: &Command, now: i64) {
        let Some((counter, object)) = counter(command) else {
            return;
        };
        let day = (now.max(0) / 86_400) as u32;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let State { zones, pending } = &mut *state;
        let mut add = |zone: &String| {
            let zones = pending.entry((day, counter)).or_default();
            match zones.get_mut(zone.as_str()) {
                Some(n) => *n += 1,
                None => {
                    zones.insert(zone.clone(), 1);
                }
            }
        };
        match object {
            Object::Domain(name) => {
                if let Some(zone) = zone_of(zones, name) {
                    add(zone);
                }
            }
            Object::Host(name) => match zone_of(zones, name) {
                Some(zone) => add(zone),
                None => zones.iter().for_each(add),
            },
        }
    }

    /// Sets the registry's zones.
    fn set_zones(&self, mut zones: Vec<String>) {
        zones.sort_by_key(|z| std::cmp::Reverse(z.len()));
        self.state.lock().unwrap_or_else(|e| e.into_inner()).zones = zones;
    }

    /// Writes the counts to the registry database and reads its zones again; counts whose write
    /// failed are kept for the next one.
    pub fn write(&self, database: &Path) -> anyhow::Result<()> {
        let pending =
            std::mem::take(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()).pending);
        let counts: Vec<Count> = pending
            .iter()
            .flat_map(|((day, counter), zones)| {
                zones.iter().map(|(zone, total)| Count {
                    day: *day,
                    zone: zone.clone(),
                    counter: (*counter).to_owned(),
                    total: *total,
                })
            })
            .collect();
        let written = (|| -> anyhow::Result<()> {
            let mut conn = rusqlite::Connection::open(database)?;
            conn.busy_timeout(Duration::from_secs(5))?;
            let zones: Vec<String> = conn
                .prepare("SELECT origin FROM zones")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            self.set_zones(zones);
            if !counts.is_empty() {
                activity::add(&mut conn, &counts)?;
            }
            Ok(())
        })();
        if written.is_err() {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            for (key, zones) in pending {
                let held = state.pending.entry(key).or_default();
                for (zone, total) in zones {
                    *held.entry(zone).or_default() += total;
                }
            }
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::CurrentExpiry;

    fn pending(activity: &Activity) -> Vec<(u32, String, &'static str, u64)> {
        let state = activity.state.lock().unwrap();
        let mut rows: Vec<_> = state
            .pending
            .iter()
            .flat_map(|((d, c), zones)| zones.iter().map(|(z, n)| (*d, z.clone(), *c, *n)))
            .collect();
        rows.sort();
        rows
    }

    #[test]
    fn commands_count_in_their_zone_and_day() {
        let activity = Activity::default();
        activity.set_zones(vec!["name".into(), "co.name".into()]);
        let day = 20_000 * 86_400;
        let query = |name: &str| Command::QueryDomain { name: name.into() };
        activity.count(&query("a.b.name"), day);
        activity.count(&query("x.CO.NAME."), day);
        activity.count(&query("x.co.name"), day + 86_400);
        activity.count(&query("example.com"), day);
        activity.count(&query("name"), day);
        activity.count(
            &Command::WithFee {
                fee: 5,
                command: Box::new(Command::Renew {
                    name: "a.b.name".into(),
                    current_expiry: CurrentExpiry::Unstated,
                    months: 12,
                }),
            },
            day,
        );
        activity.count(
            &Command::All(vec![
                Command::CreateCluster {
                    nameservers: vec![],
                },
                Command::CreateDomain {
                    name: "c.d.name".into(),
                    expires: None,
                    period_months: None,
                    active: None,
                    nameservers: crate::registry::NameserverSource::None,
                    auth_hash: None,
                    ds: vec![],
                },
            ]),
            day,
        );
        // A host outside the registry's zones counts in each of them.
        activity.count(
            &Command::QueryHost {
                name: "ns1.example.com".into(),
            },
            day,
        );
        activity.count(&Command::Poll, day);
        assert_eq!(
            pending(&activity),
            [
                (20_000, "co.name".into(), "srs-dom-info", 1),
                (20_000, "co.name".into(), "srs-host-info", 1),
                (20_000, "name".into(), "srs-dom-create", 1),
                (20_000, "name".into(), "srs-dom-info", 1),
                (20_000, "name".into(), "srs-dom-renew", 1),
                (20_000, "name".into(), "srs-host-info", 1),
                (20_001, "co.name".into(), "srs-dom-info", 1),
            ]
        );
    }

    #[test]
    fn counts_reach_the_database_and_survive_a_failed_write() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("registry.sqlite");
        let conn = crate::store::sqlite::open(&database).unwrap();
        let zone = crate::model::ZoneSettings::new(zonefiles::ZoneName::parse("tld").unwrap());
        crate::store::sqlite::insert_zone(&conn, &zone).unwrap();
        let activity = Activity::default();
        activity.write(&database).unwrap();
        let check = Command::CheckDomains {
            names: vec!["a.tld".into()],
            quote: vec![],
        };
        activity.count(&check, 86_400);
        assert!(
            activity
                .write(&dir.path().join("missing/registry.sqlite"))
                .is_err()
        );
        activity.count(&check, 86_400);
        activity.write(&database).unwrap();
        let (sums, _) = activity::month(&conn, "tld", 0, 10).unwrap();
        assert_eq!(sums["srs-dom-check"], 2);
        assert!(pending(&activity).is_empty());
    }
}
