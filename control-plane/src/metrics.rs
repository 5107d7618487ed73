//! Prometheus metrics: SRRP and EPP responses by command and code, connections dropped, EPP
//! sessions open, commands
//! waiting per registrar, commits (one fsync each) and commands in them, commit time, and each
//! zone's journal serial.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use crate::front::srrp::server::Server;
use crate::publish::writer::Commits;

/// The metrics page.
pub fn render(server: &Server, commits: &Commits, serials: &[(String, u32)]) -> String {
    let mut out = String::new();
    out.push_str("# HELP control_plane_srrp_responses_total SRRP responses by command and code.\n# TYPE control_plane_srrp_responses_total counter\n");
    for (kind, code, n) in server.counters.snapshot() {
        let _ = writeln!(
            out,
            "control_plane_srrp_responses_total{{command=\"{kind}\",code=\"{code}\"}} {n}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP control_plane_srrp_dropped_total Connections dropped: malformed, too long, too slow or over a limit.\n# TYPE control_plane_srrp_dropped_total counter\ncontrol_plane_srrp_dropped_total {}",
        server.counters.dropped.load(Ordering::Relaxed)
    );
    out.push_str("# HELP control_plane_queue_depth Commands waiting per registrar.\n# TYPE control_plane_queue_depth gauge\n");
    for (registrar, depth) in commits.depths() {
        let _ = writeln!(
            out,
            "control_plane_queue_depth{{registrar=\"{registrar}\"}} {depth}"
        );
    }
    let stats = &commits.stats;
    let _ = writeln!(
        out,
        "# HELP control_plane_commits_total Transactions committed (one fsync each).\n# TYPE control_plane_commits_total counter\ncontrol_plane_commits_total {}\n# HELP control_plane_commands_total Commands carried out in them.\n# TYPE control_plane_commands_total counter\ncontrol_plane_commands_total {}\n# HELP control_plane_changesets_total Changesets appended to the journal.\n# TYPE control_plane_changesets_total counter\ncontrol_plane_changesets_total {}\n# HELP control_plane_commit_seconds_total Time spent committing.\n# TYPE control_plane_commit_seconds_total counter\ncontrol_plane_commit_seconds_total {}",
        stats.commits.load(Ordering::Relaxed),
        stats.commands.load(Ordering::Relaxed),
        stats.changesets.load(Ordering::Relaxed),
        stats.commit_micros.load(Ordering::Relaxed) as f64 / 1e6
    );
    out.push_str("# HELP control_plane_journal_serial The serial of each zone's newest changeset.\n# TYPE control_plane_journal_serial gauge\n");
    for (zone, serial) in serials {
        let _ = writeln!(
            out,
            "control_plane_journal_serial{{zone=\"{zone}\"}} {serial}"
        );
    }
    out
}

/// The EPP part of the metrics page.
pub fn render_epp(epp: &crate::front::epp::server::Epp) -> String {
    let mut out = String::new();
    out.push_str("# HELP control_plane_epp_responses_total EPP responses by command and result code.\n# TYPE control_plane_epp_responses_total counter\n");
    for (kind, code, n) in epp.counters.snapshot() {
        let _ = writeln!(
            out,
            "control_plane_epp_responses_total{{command=\"{kind}\",code=\"{code}\"}} {n}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP control_plane_epp_sessions EPP sessions open.\n# TYPE control_plane_epp_sessions gauge\ncontrol_plane_epp_sessions {}\n# HELP control_plane_epp_dropped_total EPP connections refused or ended early: over a limit, failed handshake, bad frame, idle.\n# TYPE control_plane_epp_dropped_total counter\ncontrol_plane_epp_dropped_total {}",
        epp.open(),
        epp.counters.dropped.load(Ordering::Relaxed)
    );
    out
}
