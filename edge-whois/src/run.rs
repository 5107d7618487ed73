//! The service's shell: listeners bound (privileged ports and the update socket) before
//! privileges drop, then one task per listener, the search indexes followed, and the metrics
//! page, until SIGINT or SIGTERM.
//!
//! # Threads
//!
//! A multi-threaded tokio runtime: one task per connection (port 43, RDAP, updates), one that
//! follows the search indexes (merging update deltas every 200 ms), and the metrics listener.
//! A lookup opens one file and a search walks an fst range, both on the connection's task.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use ops::process::{bind_tcp as bind, drop_privileges, user_ids};
use zonefiles::whois::index;
use zonefiles::whois::tree::Tree;

use crate::config::Config;
use crate::limits::Limiter;
use crate::server::{self, Bounds, Metrics};
use crate::{answer, rdap};

/// Serves `tree` as `config` says until SIGINT or SIGTERM.
pub fn run(config: Config, tree: Tree) -> Result<()> {
    // The update listener writes the tree: it must be its only writer (no update-agent).
    let _writer = match config.update_listen.is_some() || config.update_socket.is_some() {
        true => Some(tree.lock_writer().context(
            "the update listener writes the WHOIS tree: run it only where no update-agent does",
        )?),
        false => None,
    };
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
        if !updates.is_empty() {
            let index = Arc::new(Mutex::new(index_writer(&service.tree)?));
            for listener in updates {
                tokio::spawn(server::serve_updates(
                    listener,
                    service.clone(),
                    metrics.clone(),
                    index.clone(),
                    server::UpdateBounds {
                        max_connections: config.update_max_connections,
                        max_bytes: config.update_max_bytes,
                        timeout: Duration::from_millis(config.timeout_ms),
                    },
                ));
            }
        }
        if let Some(listener) = metrics_listener {
            let (service, limiter, metrics) = (service.clone(), limiter.clone(), metrics.clone());
            let page: ops::Page = Arc::new(move |out: &mut ops::metrics::Writer<'_, '_>| {
                let tracked = limiter.lock().map(|l| l.tracked()).unwrap_or(0);
                metrics.write(out, service.index_generation(), tracked)
            });
            tokio::spawn(ops::serve_metrics(listener, page));
        }
        tokio::spawn(server::follow_indexes(service.clone()));
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
    Ok(())
}

/// The search indexes' writer for the update listener (which takes the tree's writer lock
/// first): an index that is missing or damaged is rebuilt from the tree.
fn index_writer(tree: &Tree) -> Result<index::Writer> {
    match index::Writer::open(tree.root()) {
        Ok(writer) => Ok(writer),
        Err(error @ (index::IndexError::Missing(_) | index::IndexError::Damaged(_))) => {
            tracing::warn!(%error, "rebuilding the search indexes from the tree");
            Ok(index::Writer::rebuild(tree, Default::default())?)
        }
        Err(error) => Err(error.into()),
    }
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
        let (uid, gid) = user_ids(user)?;
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .with_context(|| format!("giving {} to {user}", path.display()))?;
    }
    Ok(listener)
}
