//! Prometheus metrics: SRRP responses by command and code, connections dropped, commands
//! waiting per registrar, commits (one fsync each) and commands in them, commit time, and each
//! zone's journal serial.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::server::Server;

/// The metrics page.
pub fn render(server: &Server, serials: &[(String, u32)]) -> String {
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
    for (registrar, depth) in server.commits().depths() {
        let _ = writeln!(
            out,
            "control_plane_queue_depth{{registrar=\"{registrar}\"}} {depth}"
        );
    }
    let stats = &server.commits().stats;
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

/// Answers `GET /metrics` with `page()` (HTTP/1.1, one request per connection); anything else
/// gets 404. A failing accept is retried after a pause.
pub async fn serve(listener: tokio::net::TcpListener, page: Arc<dyn Fn() -> String + Send + Sync>) {
    loop {
        let mut stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let page = page.clone();
        tokio::spawn(async move {
            let mut request = [0u8; 2048];
            let read =
                tokio::time::timeout(Duration::from_secs(5), stream.read(&mut request)).await;
            let Ok(Ok(n)) = read else { return };
            let head = String::from_utf8_lossy(&request[..n]);
            let (status, body) = if head.starts_with("GET /metrics ") || head.starts_with("GET / ")
            {
                ("200 OK", page())
            } else {
                ("404 Not Found", "not found: try /metrics\n".to_owned())
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        });
    }
}
