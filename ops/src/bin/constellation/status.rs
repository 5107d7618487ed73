//! `constellation status`: per satellite and zone, what the control plane knows (tunnel up,
//! serial acknowledged, lag in changes and seconds, audits) beside what the satellite's own
//! endpoints say (the serial its agent holds, DNS and WHOIS query rates). Everything comes from
//! the metrics endpoints in the manifest, so it runs anywhere that can reach them.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::manifest::{Manifest, Satellite};
use ops::scrape::Samples;

/// One satellite's state in one zone.
#[derive(Debug, Serialize)]
pub struct Row {
    /// The satellite.
    pub satellite: String,
    /// The zone.
    pub zone: String,
    /// Its tunnel to the control plane is up (`None`: fed by a relay, unknown to it).
    pub connected: Option<bool>,
    /// The serial its agent holds durably.
    pub serial: Option<u64>,
    /// The control plane's newest serial.
    pub newest: Option<u64>,
    /// Changes the satellite has not acknowledged.
    pub lag_changes: Option<u64>,
    /// Age of the oldest change it has not acknowledged.
    pub lag_seconds: Option<u64>,
    /// Seconds since the control plane last heard from it.
    pub last_contact_ago: Option<u64>,
    /// Audits whose digests differed.
    pub audit_mismatches: Option<u64>,
    /// DNS responses per second.
    pub dns_qps: Option<f64>,
    /// WHOIS queries per second.
    pub whois_qps: Option<f64>,
    /// `ok`, or what is wrong.
    pub health: String,
}

struct Sample {
    at: Instant,
    dns: Option<f64>,
    whois: Option<f64>,
}

fn sample(satellite: &Satellite) -> Sample {
    Sample {
        at: Instant::now(),
        dns: Samples::fetch(satellite.dns_metrics).map(|p| p.sum("edge_dns_responses_total")),
        whois: Samples::fetch(satellite.whois_metrics).map(|p| p.sum("edge_whois_queries_total")),
    }
}

fn rate(now: Option<f64>, then: Option<f64>, seconds: f64) -> Option<f64> {
    Some(((now? - then?) / seconds).max(0.0))
}

/// Every satellite's rows, with rates since `previous` (one sample per satellite).
fn rows(manifest: &Manifest, previous: &[Sample]) -> (Vec<Row>, Vec<Sample>) {
    let control = Samples::fetch(manifest.control_plane_metrics);
    let mut rows = Vec::new();
    let mut samples = Vec::new();
    for (i, satellite) in manifest.satellites.iter().enumerate() {
        let agent = Samples::fetch(satellite.agent_metrics);
        let now = sample(satellite);
        let then = previous.get(i);
        let seconds = then.map_or(0.0, |t| now.at.duration_since(t.at).as_secs_f64());
        let (dns_qps, whois_qps) = match then {
            Some(then) if seconds > 0.0 => (
                rate(now.dns, then.dns, seconds),
                rate(now.whois, then.whois, seconds),
            ),
            _ => (None, None),
        };
        for zone in &manifest.zones {
            let labels = format!("{{satellite=\"{}\",zone=\"{zone}\"}}", satellite.name);
            let at_control = |metric: &str| {
                control
                    .as_ref()
                    .and_then(|p| p.get(&format!("{metric}{labels}")))
                    .map(|v| v as u64)
            };
            let last_contact_ago = control
                .as_ref()
                .and_then(|p| {
                    p.get(&format!(
                        "control_plane_satellite_last_contact_seconds{{satellite=\"{}\"}}",
                        satellite.name
                    ))
                })
                .map(|at| (ops::now() as f64 - at).max(0.0) as u64);
            let connected = control.as_ref().and_then(|p| {
                p.get(&format!(
                    "control_plane_satellite_connected{{satellite=\"{}\"}}",
                    satellite.name
                ))
                .map(|v| v == 1.0)
            });
            let serial = agent
                .as_ref()
                .and_then(|p| p.get(&format!("update_agent_serial{{zone=\"{zone}\"}}")))
                .map(|v| v as u64);
            let newest = control
                .as_ref()
                .and_then(|p| p.get(&format!("control_plane_journal_serial{{zone=\"{zone}\"}}")))
                .map(|v| v as u64);
            let lag_changes = at_control("control_plane_satellite_lag_changes");
            let audit_mismatches = agent
                .as_ref()
                .and_then(|p| p.get("update_agent_audit_mismatches_total"))
                .map(|v| v as u64);
            let mut problems = Vec::new();
            if control.is_none() {
                problems.push("control plane unreachable".to_string());
            }
            if agent.is_none() {
                problems.push("agent down".into());
            }
            if now.dns.is_none() {
                problems.push("edge-dns down".into());
            }
            if now.whois.is_none() {
                problems.push("edge-whois down".into());
            }
            if connected == Some(false) {
                problems.push("tunnel down".into());
            }
            let held = control
                .as_ref()
                .and_then(|p| {
                    p.get(&format!(
                        "control_plane_publication_held{{zone=\"{zone}\"}}"
                    ))
                })
                .is_some_and(|v| v == 1.0);
            if held {
                // The satellite is behind on purpose: see `control-plane publication status`.
                problems.push("publication held".into());
            } else if lag_changes.is_some_and(|lag| lag > 1) {
                problems.push("behind".into());
            }
            if audit_mismatches.is_some_and(|n| n > 0) {
                problems.push("audit differed".into());
            }
            rows.push(Row {
                satellite: satellite.name.clone(),
                zone: zone.clone(),
                connected,
                serial,
                newest,
                lag_changes,
                lag_seconds: at_control("control_plane_satellite_lag_seconds"),
                last_contact_ago,
                audit_mismatches,
                dns_qps,
                whois_qps,
                health: if problems.is_empty() {
                    "ok".into()
                } else {
                    problems.join(", ")
                },
            });
        }
        samples.push(now);
    }
    (rows, samples)
}

fn show<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".into(), |v| v.to_string())
}

fn line(cells: [&str; 11]) -> String {
    let [
        satellite,
        zone,
        serial,
        newest,
        lag,
        lag_s,
        tunnel,
        contact,
        dns,
        whois,
        health,
    ] = cells;
    format!(
        "{satellite:<12} {zone:<8} {serial:>10} {newest:>10} {lag:>6} {lag_s:>6} {tunnel:>7} {contact:>8} {dns:>9} {whois:>9}  {health}\n"
    )
}

fn table(rows: &[Row]) -> String {
    let mut out = line([
        "SATELLITE",
        "ZONE",
        "SERIAL",
        "NEWEST",
        "LAG",
        "LAG s",
        "TUNNEL",
        "CONTACT",
        "DNS q/s",
        "WHOIS q/s",
        "HEALTH",
    ]);
    for r in rows {
        let tunnel = match r.connected {
            Some(true) => "up",
            Some(false) => "down",
            None => "-",
        };
        out.push_str(&line([
            &r.satellite,
            &r.zone,
            &show(r.serial),
            &show(r.newest),
            &show(r.lag_changes),
            &show(r.lag_seconds),
            tunnel,
            &show(r.last_contact_ago.map(|s| format!("{s}s ago"))),
            &show(r.dns_qps.map(|q| format!("{q:.0}"))),
            &show(r.whois_qps.map(|q| format!("{q:.0}"))),
            &r.health,
        ]));
    }
    out
}

/// Runs `status`.
pub fn run(path: &Path, json: bool, once: bool, interval: f64) -> anyhow::Result<()> {
    let manifest = Manifest::load(path)?;
    let interval = Duration::from_secs_f64(interval.max(0.1));
    let (_, mut previous) = rows(&manifest, &[]);
    let terminal = std::io::stdout().is_terminal();
    let mut out = std::io::stdout();
    loop {
        std::thread::sleep(interval);
        let (rows, samples) = rows(&manifest, &previous);
        previous = samples;
        let mut page = String::new();
        if json {
            for row in &rows {
                page.push_str(&serde_json::to_string(row)?);
                page.push('\n');
            }
        } else {
            if terminal && !once {
                // Like top: the table in place.
                page.push_str("\x1b[2J\x1b[H");
            }
            page.push_str(&table(&rows));
        }
        // A reader that went away (`status | head`) ends the watch quietly.
        match out.write_all(page.as_bytes()).and_then(|()| out.flush()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            written => written?,
        }
        if json || once {
            return Ok(());
        }
    }
}
