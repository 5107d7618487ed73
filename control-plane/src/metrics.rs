//! The control plane's metrics: SRRP and EPP responses by command and code, connections
//! dropped, EPP sessions open, commands waiting per registrar, commits (one fsync each) and
//! commands in them, commit time, each zone's journal serial, and the latest escrow deposits.
//! The push service writes its own ([`crate::push::Push::write_metrics`]).

use std::fmt;
use std::sync::atomic::Ordering;

use ops::metrics::Writer;

use crate::front::core::Counters;
use crate::front::epp::server::Epp;
use crate::front::rrp::server::Rrp;
use crate::front::srrp::server::Server;
use crate::publish::writer::Commits;

/// Writes one front end's responses by command and code.
fn responses(out: &mut Writer<'_, '_>, name: &str, help: &str, counters: &Counters) -> fmt::Result {
    let rows = counters.snapshot();
    out.counters(
        name,
        help,
        rows.iter().map(|&(kind, code, n)| {
            (
                [("command", kind.to_owned()), ("code", code.to_string())],
                n,
            )
        }),
    )
}

/// Writes SRRP's responses, the commit thread's queues and commits, and the journal's serials.
pub fn write(
    out: &mut Writer<'_, '_>,
    server: &Server,
    commits: &Commits,
    serials: &[(String, u32)],
) -> fmt::Result {
    responses(
        out,
        "control_plane_srrp_responses_total",
        "SRRP responses by command and code.",
        &server.counters,
    )?;
    out.counter(
        "control_plane_srrp_dropped_total",
        "Connections dropped: malformed, too long, too slow or over a limit.",
        server.counters.dropped.load(Ordering::Relaxed),
    )?;
    out.gauges(
        "control_plane_queue_depth",
        "Commands waiting per registrar.",
        commits
            .depths()
            .into_iter()
            .map(|(registrar, depth)| ([("registrar", registrar.to_string())], depth as u64)),
    )?;
    let stats = &commits.stats;
    out.counter(
        "control_plane_commits_total",
        "Transactions committed (one fsync each).",
        stats.commits.load(Ordering::Relaxed),
    )?;
    out.counter(
        "control_plane_commands_total",
        "Commands carried out in them.",
        stats.commands.load(Ordering::Relaxed),
    )?;
    out.counter(
        "control_plane_changesets_total",
        "Changesets appended to the journal.",
        stats.changesets.load(Ordering::Relaxed),
    )?;
    out.counter(
        "control_plane_dnssec_signing_failures_total",
        "Transactions refused because a signed zone could not be signed (keys missing, HSM gone).",
        stats.signing_failures.load(Ordering::Relaxed),
    )?;
    out.counter(
        "control_plane_commit_seconds_total",
        "Time spent committing.",
        stats.commit_micros.load(Ordering::Relaxed) as f64 / 1e6,
    )?;
    out.gauges(
        "control_plane_journal_serial",
        "The serial of each zone's newest changeset.",
        serials
            .iter()
            .map(|(zone, serial)| ([("zone", zone.as_str())], *serial)),
    )
}

/// Writes RRP's responses, sessions open and connections dropped.
pub fn write_rrp(out: &mut Writer<'_, '_>, rrp: &Rrp) -> fmt::Result {
    responses(
        out,
        "control_plane_rrp_responses_total",
        "RRP responses by command and result code.",
        &rrp.counters,
    )?;
    out.gauge(
        "control_plane_rrp_sessions",
        "RRP sessions open.",
        rrp.open() as u64,
    )?;
    out.counter(
        "control_plane_rrp_dropped_total",
        "RRP connections refused or ended early: over a limit, failed handshake, request too long, idle.",
        rrp.counters.dropped.load(Ordering::Relaxed),
    )
}

/// Writes EPP's responses, sessions open and connections dropped.
pub fn write_epp(out: &mut Writer<'_, '_>, epp: &Epp) -> fmt::Result {
    responses(
        out,
        "control_plane_epp_responses_total",
        "EPP responses by command and result code.",
        &epp.counters,
    )?;
    out.gauge(
        "control_plane_epp_sessions",
        "EPP sessions open.",
        epp.open() as u64,
    )?;
    out.counter(
        "control_plane_epp_dropped_total",
        "EPP connections refused or ended early: over a limit, failed handshake, bad frame, idle.",
        epp.counters.dropped.load(Ordering::Relaxed),
    )
}

/// Writes the latest escrow deposit of each zone and kind (`escrow.sqlite` in `[escrow]
/// folder`; nothing before the first deposit).
pub fn write_escrow(out: &mut Writer<'_, '_>, folder: &std::path::Path) -> fmt::Result {
    let state = crate::escrow::deposit::state_path(folder);
    let latest = if state.exists() {
        crate::store::sqlite::escrow::open(&state)
            .and_then(|conn| crate::store::sqlite::escrow::latest(&conn))
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let labels = |d: &crate::store::sqlite::escrow::Deposit| {
        [("zone", d.zone.clone()), ("kind", d.kind.clone())]
    };
    out.gauges(
        "control_plane_escrow_last_deposit_timestamp_seconds",
        "The watermark of the latest escrow deposit (Unix time).",
        latest.iter().map(|d| (labels(d), d.watermark)),
    )?;
    out.gauges(
        "control_plane_escrow_last_deposit_bytes",
        "The size of the latest escrow deposit's parts.",
        latest.iter().map(|d| (labels(d), d.bytes)),
    )?;
    out.gauges(
        "control_plane_escrow_last_deposit_objects",
        "Objects written in the latest escrow deposit.",
        latest.iter().map(|d| (labels(d), d.objects)),
    )?;
    out.gauges(
        "control_plane_escrow_last_deposit_duration_seconds",
        "How long the latest escrow deposit took.",
        latest
            .iter()
            .map(|d| (labels(d), d.took_ms as f64 / 1000.0)),
    )
}
