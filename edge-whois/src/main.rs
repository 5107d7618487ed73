//! `edge-whois`: serves port-43 WHOIS and RDAP from a WHOIS tree.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use edge_whois::config::Config;
use edge_whois::limits::Limiter;
use edge_whois::server::{self, Bounds, Metrics};
use edge_whois::{answer, rdap};
use zonefiles::whois::index;
use zonefiles::whois::tree::Tree;

/// Port-43 WHOIS (RFC 3912) and RDAP (RFC 9082/9083) for a registry's domains, name servers
/// and registrars, from a WHOIS tree written by the update-agent (or through the update
/// listener).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The configuration file (TOML; every setting has a default).
    #[arg(short, long)]
    config: Option<PathBuf>,
    /// The WHOIS tree (overrides the configuration).
    #[arg(long)]
    tree: Option<PathBuf>,
    /// Answer on this address instead (repeatable).
    #[arg(long)]
    listen: Vec<std::net::SocketAddr>,
    /// The update listener's address instead (loopback only).
    #[arg(long)]
    update_listen: Option<std::net::SocketAddr>,
    /// The metrics listener's address instead.
    #[arg(long)]
    metrics_listen: Option<std::net::SocketAddr>,
    /// Serve RDAP over plain HTTP on this address (repeatable; overrides the configuration).
    #[arg(long)]
    rdap_listen: Vec<std::net::SocketAddr>,
    /// A TLD served (repeatable; overrides the configuration).
    #[arg(long = "tld")]
    tlds: Vec<String>,
    /// Rebuild the search indexes of the tree, then exit.
    #[arg(long)]
    reindex: bool,
}

fn main() -> Result<()> {
    ops::init_logging();
    let cli = Cli::parse();
    let mut config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(tree) = cli.tree {
        config.tree = tree;
    }
    if !cli.listen.is_empty() {
        config.listen = cli.listen;
    }
    if cli.update_listen.is_some() {
        config.update_listen = cli.update_listen;
    }
    if !cli.rdap_listen.is_empty() {
        config.rdap.listen = cli.rdap_listen;
    }
    if cli.metrics_listen.is_some() {
        config.metrics_listen = cli.metrics_listen;
    }
    if !cli.tlds.is_empty() {
        config.tlds = cli
            .tlds
            .iter()
            .map(|t| t.trim_matches('.').to_lowercase())
            .collect();
    }
    config.check()?;
    let tree = Tree::open(&config.tree)?;
    if cli.reindex {
        let generation = index::rebuild(&tree)?;
        println!(
            "{}: search indexes rebuilt (generation {generation})",
            config.tree.display()
        );
        return Ok(());
    }
    if index::generation(tree.root()) == 0 {
        tracing::info!(
            tree = %config.tree.display(),
            "no search indexes: reading every record to build them before answering"
        );
        index::rebuild(&tree).context("building the search indexes")?;
    }
    let service = answer::service(
        tree,
        config.texts.clone(),
        config.tlds.clone(),
        config.max_results,
    );
    let limiter = Arc::new(Mutex::new(Limiter::new(config.limits.clone())?));
    let metrics = Arc::new(Metrics::default());
    let bounds = Bounds {
        max_line: config.max_line,
        timeout: Duration::from_millis(config.timeout_ms),
        max_connections: config.max_connections,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut listeners = Vec::new();
        for &addr in &config.listen {
            listeners.push(bind(addr).await?);
        }
        let mut rdap_listeners = Vec::new();
        for &addr in &config.rdap.listen {
            rdap_listeners.push((bind(addr).await?, None));
        }
        if !config.rdap.tls_listen.is_empty() {
            let (Some(certificate), Some(key)) = (&config.rdap.certificate, &config.rdap.key)
            else {
                anyhow::bail!("rdap.tls_listen needs rdap.certificate and rdap.key");
            };
            let tls = Arc::new(arc_swap::ArcSwap::new(rdap::http::tls_config(
                certificate,
                key,
            )?));
            for &addr in &config.rdap.tls_listen {
                rdap_listeners.push((bind(addr).await?, Some(tls.clone())));
            }
            metrics.rdap_certificate_expires(ops::tls::expiry(certificate)?);
            tokio::spawn(rdap::http::reload_on_sighup(
                tls,
                certificate.clone(),
                key.clone(),
                metrics.clone(),
            ));
        }
        let mut updates = Vec::new();
        if let Some(addr) = config.update_listen {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            updates.push(server::UpdateListener::Tcp(listener));
        }
        if let Some(path) = &config.update_socket {
            updates.push(server::UpdateListener::Unix(bind_update_socket(
                path,
                config.user.as_deref(),
            )?));
        }
        let metrics_listener = match config.metrics_listen {
            Some(addr) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("binding {addr}"))?,
            ),
            None => None,
        };
        if let Some(user) = &config.user {
            drop_privileges(user)?;
        }
        for listener in listeners {
            tokio::spawn(server::serve(
                listener,
                service.clone(),
                limiter.clone(),
                metrics.clone(),
                bounds,
            ));
        }
        let rdap = Arc::new(rdap::http::Rdap {
            service: service.clone(),
            config: config.rdap.clone(),
            limiter: limiter.clone(),
            metrics: metrics.clone(),
        });
        for (listener, tls) in rdap_listeners {
            tokio::spawn(rdap::http::serve(
                listener,
                tls,
                config.rdap.clone(),
                rdap.clone(),
            ));
        }
        let reindex = Arc::new(tokio::sync::Notify::new());
        let pending = Arc::new(Mutex::new(index::Delta::default()));
        for listener in updates {
            tokio::spawn(server::serve_updates(
                listener,
                service.clone(),
                metrics.clone(),
                pending.clone(),
                reindex.clone(),
                server::UpdateBounds {
                    max_connections: config.update_max_connections,
                    max_bytes: config.update_max_bytes,
                    timeout: Duration::from_millis(config.timeout_ms),
                },
            ));
        }
        if let Some(listener) = metrics_listener {
            let (service, limiter, metrics) = (service.clone(), limiter.clone(), metrics.clone());
            let page: ops::Page = Arc::new(move || {
                let tracked = limiter.lock().map(|l| l.tracked()).unwrap_or(0);
                metrics.render(service.index.load().generation(), tracked)
            });
            tokio::spawn(ops::serve_metrics(listener, page));
        }
        tokio::spawn(server::follow_indexes(
            service.clone(),
            pending,
            reindex,
            Duration::from_millis(200),
        ));
        tracing::info!(
            listen = ?config.listen,
            rdap = ?config.rdap.listen,
            rdap_tls = ?config.rdap.tls_listen,
            tree = %config.tree.display(),
            tlds = ?config.tlds,
            "answering"
        );
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        anyhow::Ok(())
    })?;
    tracing::info!("stopped");
    Ok(())
}

/// The user and group ids of `user`.
fn ids_of(user: &str) -> Result<(libc::uid_t, libc::gid_t)> {
    let name = std::ffi::CString::new(user).context("user name")?;
    // SAFETY: getpwnam returns a pointer into static storage or null; it is read at once.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    anyhow::ensure!(!entry.is_null(), "no such user: {user}");
    // SAFETY: checked non-null above.
    Ok(unsafe { ((*entry).pw_uid, (*entry).pw_gid) })
}

/// Binds a TCP listener, with a hint when the error is a common one.
async fn bind(addr: std::net::SocketAddr) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.map_err(|error| {
        let hint = match error.kind() {
            std::io::ErrorKind::PermissionDenied => {
                ": ports below 1024 need root or CAP_NET_BIND_SERVICE"
            }
            std::io::ErrorKind::AddrInUse => ": another process listens there",
            _ => "",
        };
        anyhow::anyhow!("binding {addr}{hint}: {error}")
    })
}

/// Binds the update listener's Unix socket: a stale socket file is replaced (any other file is
/// an error), the new one gets mode 0600 and, with a `user`, that user as owner.
fn bind_update_socket(path: &Path, user: Option<&str>) -> Result<tokio::net::UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        anyhow::ensure!(
            meta.file_type().is_socket(),
            "update_socket {}: a file that is not a socket is in the way",
            path.display()
        );
        std::fs::remove_file(path)
            .with_context(|| format!("removing the old {}", path.display()))?;
    }
    let listener = tokio::net::UnixListener::bind(path)
        .with_context(|| format!("binding {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("setting the mode of {}", path.display()))?;
    if let Some(user) = user {
        let (uid, gid) = ids_of(user)?;
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .with_context(|| format!("giving {} to {user}", path.display()))?;
    }
    Ok(listener)
}

/// Switches to `user` (its group first), once the privileged sockets are open.
fn drop_privileges(user: &str) -> Result<()> {
    let (uid, gid) = ids_of(user)?;
    // SAFETY: plain system calls; their results are checked.
    unsafe {
        anyhow::ensure!(
            libc::setgroups(0, std::ptr::null()) == 0,
            "setgroups failed"
        );
        anyhow::ensure!(libc::setgid(gid) == 0, "setgid({gid}) failed");
        anyhow::ensure!(libc::setuid(uid) == 0, "setuid({uid}) failed");
    }
    tracing::info!(user, uid, gid, "privileges dropped");
    Ok(())
}
