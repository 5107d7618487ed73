//! The satellite's query counts for the registry's monthly activity report (ICANN's
//! Specification 3, part 1: DNS queries received and responded over UDP and TCP, port-43
//! WHOIS queries, RDAP queries).
//!
//! Every `[activity] every_s` the agent reads the metrics pages of the edge-dns and edge-whois
//! it runs beside ([`readings`]), adds what each counter grew since the last read to the day's
//! totals (UTC days; a counter that went down belongs to a server that restarted, and counts
//! from zero), and keeps the last [`DAYS`] days in `<state>/activity.json` (written whole and
//! renamed into place). Each day's totals go upstream in ACTIVITY messages through the
//! [`Outbox`], which holds the latest totals of every satellite and day (a relay's downstream
//! agents' too) and sends again what changed, and everything at each new session: the
//! control plane keeps the largest total it has seen, so a report sent twice or late is
//! harmless. A server that does not answer is skipped and read at the next turn; what a
//! server counted between the last read and its stop is lost (a minute at most).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ops::scrape::Samples;
use satellite_protocol::message::{Activity, Message};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::config::ActivityConfig;

/// Days of totals kept (and sent again at each session): two months.
pub const DAYS: u32 = 62;

/// The day (days since 1970, UTC) of a time in seconds.
pub fn day_of(seconds: i64) -> u32 {
    (seconds.max(0) / 86_400) as u32
}

/// The counters as the servers' metrics pages give them now: `(counter, value)` for each page
/// that answered.
pub fn readings(dns: Option<&Samples>, whois: Option<&Samples>) -> Vec<(&'static str, u64)> {
    let mut out = Vec::new();
    if let Some(page) = dns {
        let responded = |t| page.sum_where("edge_dns_responses_total", "transport", t);
        let dropped = |t| page.sum_where("edge_dns_dropped_total", "transport", t);
        let limited = page.sum_where("edge_dns_rate_limited_total", "action", "dropped");
        out.extend([
            (
                "dns-udp-queries-received",
                responded("udp") + dropped("udp") + limited,
            ),
            ("dns-udp-queries-responded", responded("udp")),
            (
                "dns-tcp-queries-received",
                responded("tcp") + dropped("tcp"),
            ),
            ("dns-tcp-queries-responded", responded("tcp")),
        ]);
    }
    if let Some(page) = whois {
        out.extend([
            ("whois-43-queries", page.sum("edge_whois_queries_total")),
            ("rdap-queries", page.sum("edge_whois_rdap_requests_total")),
        ]);
    }
    out.into_iter()
        .map(|(c, v)| (c, v.max(0.0) as u64))
        .collect()
}

/// The day totals and the counters' last values (`<state>/activity.json`).
#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tally {
    /// Day → counter → total.
    days: BTreeMap<u32, BTreeMap<String, u64>>,
    /// Counter → its value at the last read.
    last: BTreeMap<String, u64>,
}

impl Tally {
    /// Reads the file; a missing or damaged one starts an empty tally (said in the log).
    pub fn open(path: &Path) -> Tally {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                tracing::warn!(path = %path.display(), %error, "activity counts unreadable: starting again");
                Tally::default()
            }),
            Err(_) => Tally::default(),
        }
    }

    /// Writes the file (temporary file, fsync, rename).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec(self)?;
        zonefiles::atomic::write_atomically(path, &bytes)?;
        Ok(())
    }

    /// Adds what each counter grew since its last reading to `day`'s totals, and forgets days
    /// older than [`DAYS`]. The first reading of a counter counts whole: it is what its server
    /// counted since it started.
    pub fn observe(&mut self, day: u32, readings: &[(&str, u64)]) {
        for &(counter, value) in readings {
            let grown = match self.last.get(counter) {
                Some(&last) if value >= last => value - last,
                _ => value,
            };
            self.last.insert(counter.to_owned(), value);
            *self
                .days
                .entry(day)
                .or_default()
                .entry(counter.to_owned())
                .or_default() += grown;
        }
        self.days.retain(|d, _| d + DAYS > day);
    }

    /// Every day's totals, as ACTIVITY messages of `satellite`.
    pub fn reports(&self, satellite: &str) -> Vec<Activity> {
        self.days
            .iter()
            .map(|(day, counts)| Activity {
                satellite: satellite.to_owned(),
                day: *day,
                counts: counts.iter().map(|(c, n)| (c.clone(), *n)).collect(),
            })
            .collect()
    }
}

/// The latest totals of every satellite and day, to send upstream.
#[derive(Debug, Default)]
pub struct Outbox {
    /// (satellite, day) → its latest totals, and whether this session sent them.
    held: Mutex<BTreeMap<(String, u32), (Activity, bool)>>,
    changed: Notify,
}

impl Outbox {
    fn held(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, u32), (Activity, bool)>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Holds a satellite's totals of a day (newer than what is held) to send; days older than
    /// [`DAYS`] before `today` are forgotten.
    pub fn put(&self, activity: Activity, today: u32) {
        let mut held = self.held();
        held.retain(|(_, day), _| day + DAYS > today);
        if activity.day + DAYS <= today {
            return;
        }
        let key = (activity.satellite.clone(), activity.day);
        if held.get(&key).is_some_and(|(a, _)| *a == activity) {
            return;
        }
        held.insert(key, (activity, false));
        drop(held);
        self.changed.notify_one();
    }

    /// A new session: everything held goes again.
    pub fn resend_all(&self) {
        self.held().values_mut().for_each(|(_, sent)| *sent = false);
        self.changed.notify_one();
    }

    /// What this session has not sent yet, marked sent.
    pub fn unsent(&self) -> Vec<Message> {
        self.held()
            .values_mut()
            .filter(|(_, sent)| !*sent)
            .map(|(activity, sent)| {
                *sent = true;
                Message::Activity(activity.clone())
            })
            .collect()
    }

    /// Waits until something was put or a resend asked for.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

/// Reads the servers' pages every `every_s` and puts this satellite's totals in the outbox;
/// runs until the runtime stops.
pub async fn count(config: ActivityConfig, satellite: String, state: PathBuf, outbox: Arc<Outbox>) {
    let path = state.join("activity.json");
    let tally = Arc::new(Mutex::new(Tally::open(&path)));
    let today = day_of(ops::now());
    for report in tally
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .reports(&satellite)
    {
        outbox.put(report, today);
    }
    let every = Duration::from_secs(config.every_s.max(1));
    loop {
        let (tally, path, satellite, outbox) = (
            tally.clone(),
            path.clone(),
            satellite.clone(),
            outbox.clone(),
        );
        let (dns, whois) = (config.dns_metrics, config.whois_metrics);
        let turn = tokio::task::spawn_blocking(move || {
            let dns = dns.and_then(Samples::fetch);
            let whois = whois.and_then(Samples::fetch);
            let today = day_of(ops::now());
            let mut tally = tally.lock().unwrap_or_else(|e| e.into_inner());
            tally.observe(today, &readings(dns.as_ref(), whois.as_ref()));
            if let Err(error) = tally.save(&path) {
                tracing::warn!(path = %path.display(), %error, "keeping the activity counts");
            }
            for report in tally.reports(&satellite) {
                if report.day + 1 >= today {
                    outbox.put(report, today);
                }
            }
        });
        let _ = turn.await;
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_their_growth_to_the_day_and_restarts_count_from_zero() {
        let mut tally = Tally::default();
        tally.observe(100, &[("rdap-queries", 10), ("whois-43-queries", 5)]);
        tally.observe(100, &[("rdap-queries", 25)]);
        // A new day; then the server restarted (its counter went down).
        tally.observe(101, &[("rdap-queries", 30)]);
        tally.observe(101, &[("rdap-queries", 4)]);
        let reports = tally.reports("s");
        assert_eq!(reports.len(), 2);
        assert_eq!(
            reports[0].counts,
            [
                ("rdap-queries".to_string(), 25),
                ("whois-43-queries".to_string(), 5)
            ]
        );
        assert_eq!(reports[1].counts, [("rdap-queries".to_string(), 9)]);
        // Days older than DAYS are forgotten.
        tally.observe(100 + DAYS, &[("rdap-queries", 4)]);
        assert_eq!(tally.reports("s")[0].day, 101);
    }

    #[test]
    fn the_tally_survives_a_restart_and_a_damaged_file_starts_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("activity.json");
        let mut tally = Tally::default();
        tally.observe(7, &[("dns-udp-queries-responded", 3)]);
        tally.save(&path).unwrap();
        assert_eq!(Tally::open(&path), tally);
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(Tally::open(&path), Tally::default());
    }

    #[test]
    fn readings_come_from_the_servers_pages() {
        let dns = Samples::parse(
            "edge_dns_responses_total{transport=\"udp\",rcode=\"NOERROR\"} 90\n\
             edge_dns_responses_total{transport=\"udp\",rcode=\"NXDOMAIN\"} 10\n\
             edge_dns_responses_total{transport=\"tcp\",rcode=\"NOERROR\"} 7\n\
             edge_dns_dropped_total{transport=\"udp\"} 3\nedge_dns_dropped_total{transport=\"tcp\"} 1\n\
             edge_dns_rate_limited_total{action=\"truncated\"} 4\n\
             edge_dns_rate_limited_total{action=\"dropped\"} 2\n",
        );
        let whois = Samples::parse(
            "edge_whois_queries_total{outcome=\"found\"} 5\n\
             edge_whois_queries_total{outcome=\"not_found\"} 2\n\
             edge_whois_rdap_requests_total{outcome=\"found\"} 11\n",
        );
        assert_eq!(
            readings(Some(&dns), Some(&whois)),
            [
                ("dns-udp-queries-received", 105),
                ("dns-udp-queries-responded", 100),
                ("dns-tcp-queries-received", 8),
                ("dns-tcp-queries-responded", 7),
                ("whois-43-queries", 7),
                ("rdap-queries", 11),
            ]
        );
        assert_eq!(readings(None, Some(&whois)).len(), 2);
    }

    #[test]
    fn the_outbox_sends_what_changed_and_everything_again_per_session() {
        let outbox = Outbox::default();
        let activity = |satellite: &str, day, n| Activity {
            satellite: satellite.into(),
            day,
            counts: vec![("rdap-queries".into(), n)],
        };
        outbox.put(activity("a", 100, 1), 100);
        outbox.put(activity("b", 100, 2), 100);
        assert_eq!(outbox.unsent().len(), 2);
        assert!(outbox.unsent().is_empty());
        // The same totals again are nothing new; larger ones are.
        outbox.put(activity("a", 100, 1), 100);
        outbox.put(activity("b", 100, 3), 100);
        assert_eq!(outbox.unsent(), [Message::Activity(activity("b", 100, 3))]);
        outbox.resend_all();
        assert_eq!(outbox.unsent().len(), 2);
        // Too old to keep.
        outbox.put(activity("a", 1, 1), 100);
        outbox.put(activity("c", 100 + DAYS, 1), 100 + DAYS);
        assert_eq!(outbox.unsent().len(), 1);
    }
}
