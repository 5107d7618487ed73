//! `control-plane serve`: the registrar front ends, the commit thread, the push service and
//! the metrics page, until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use control_plane::front::core::Core;
use control_plane::front::{epp, rrp, srrp, tls};
use control_plane::metrics;
use control_plane::publish::signing::Signer;
use control_plane::publish::writer;
use control_plane::push::{self, feed};
use control_plane::store::{Store, sqlite};

use crate::{Env, open};

/// Where to serve, over the configuration's addresses.
#[derive(clap::Args)]
pub struct Args {
    /// Serve SRRP on this address instead (repeatable).
    #[arg(long)]
    listen: Vec<SocketAddr>,
    /// Serve EPP on this address instead (repeatable).
    #[arg(long)]
    epp_listen: Vec<SocketAddr>,
    /// Serve RRP on this address instead (repeatable).
    #[arg(long)]
    rrp_listen: Vec<SocketAddr>,
    /// Serve the registrars' web page on this address instead (repeatable).
    #[arg(long)]
    web_listen: Vec<SocketAddr>,
    /// Metrics on this address instead.
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
}

/// Serves until SIGINT or SIGTERM.
pub fn run(args: Args, env: Env) -> Result<()> {
    let mut config = env.config;
    if !args.listen.is_empty() {
        config.srrp.listen = args.listen;
    }
    if !args.epp_listen.is_empty() {
        config.epp.listen = args.epp_listen;
    }
    if !args.rrp_listen.is_empty() {
        config.rrp.listen = args.rrp_listen;
    }
    if !args.web_listen.is_empty() {
        config.web.listen = args.web_listen;
    }
    if args.metrics_listen.is_some() {
        config.metrics_listen = args.metrics_listen;
    }
    let conn = open(&config)?;
    let signer = config.signer().context(
        "the control plane signs every changeset: create a key with `control-plane keygen`",
    )?;
    match signer.recovery() {
        Some(key) => tracing::info!(
            key = key.id(),
            "registry records are sealed to this recovery key"
        ),
        None => tracing::warn!(
            "no recovery_key: satellites carry no registry record, and the registry cannot be rebuilt from them after a loss of its disk (docs/ops/disaster-recovery.md)"
        ),
    }
    let tls = tls::server_config(&config.srrp.certificate, &config.srrp.key)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        let mut listeners = Vec::new();
        for address in &config.srrp.listen {
            listeners.push(
                tokio::net::TcpListener::bind(address)
                    .await
                    .with_context(|| format!("binding SRRP on {address}"))?,
            );
        }
        tracing::info!(key = signer.id(), "changesets are signed with this key");
        let snapshot_signer = Signer::load(&config.signing_key)?;
        let (commits, commit_thread) = writer::start(
            conn,
            signer,
            writer::Settings {
                max_batch: config.srrp.max_batch,
                queue_per_registrar: config.srrp.queue_per_registrar,
                server_info: config.srrp.server_info.clone(),
                sweep_interval: Duration::from_secs(config.sweep_interval_s),
                message_days: config.message_days,
            },
        );
        let core = Arc::new(Core::new(commits.clone(), config.database.clone()));
        let counted = (core.clone(), config.database.clone());
        tokio::spawn(async move {
            loop {
                let (core, database) = counted.clone();
                let _ = tokio::task::spawn_blocking(move || write_activity(&core, &database)).await;
                tokio::time::sleep(control_plane::front::activity::FLUSH).await;
            }
        });
        let server = Arc::new(srrp::server::Server::new(
            tls,
            core.clone(),
            &srrp::server::Settings {
                max_message_bytes: config.srrp.max_message_bytes,
                timeout: Duration::from_millis(config.srrp.timeout_ms),
                max_connections: config.srrp.max_connections,
                max_connections_per_ip: config.srrp.max_connections_per_ip,
            },
        ));
        for listener in listeners {
            tracing::info!(address = %listener.local_addr()?, "SRRP listening");
            tokio::spawn(server.clone().serve(listener));
        }
        let epp = if config.epp.listen.is_empty() {
            None
        } else {
            let e = &config.epp;
            let tls = own_or_srrps(&e.certificate, &e.key, &config.srrp)?;
            let epp = Arc::new(epp::server::Epp::new(
                tls,
                core.clone(),
                epp::server::Settings {
                    server_id: e.server_id.clone(),
                    currency: e.currency.clone(),
                    max_frame_bytes: e.max_frame_bytes,
                    handshake_timeout: Duration::from_secs(e.handshake_timeout_s),
                    idle_timeout: Duration::from_secs(e.idle_timeout_s),
                    max_session: Duration::from_secs(e.max_session_s),
                    max_failed_logins: e.max_failed_logins,
                    max_connections: e.max_connections,
                    max_connections_per_ip: e.max_connections_per_ip,
                    max_sessions_per_registrar: e.max_sessions_per_registrar,
                },
            ));
            for address in &e.listen {
                let listener = tokio::net::TcpListener::bind(address)
                    .await
                    .with_context(|| format!("binding EPP on {address}"))?;
                tracing::info!(address = %listener.local_addr()?, "EPP listening");
                tokio::spawn(epp.clone().serve(listener));
            }
            Some(epp)
        };
        let rrp = if config.rrp.listen.is_empty() {
            None
        } else {
            let r = &config.rrp;
            let tls = own_or_srrps(&r.certificate, &r.key, &config.srrp)?;
            let rrp = Arc::new(rrp::server::Rrp::new(
                tls,
                core.clone(),
                rrp::server::Settings {
                    server_id: r.server_id.clone(),
                    max_request_bytes: r.max_request_bytes,
                    handshake_timeout: Duration::from_secs(r.handshake_timeout_s),
                    idle_timeout: Duration::from_secs(r.idle_timeout_s),
                    max_session: Duration::from_secs(r.max_session_s),
                    max_failed_logins: r.max_failed_logins,
                    max_connections: r.max_connections,
                    max_connections_per_ip: r.max_connections_per_ip,
                    max_sessions_per_registrar: r.max_sessions_per_registrar,
                },
            ));
            for address in &r.listen {
                let listener = tokio::net::TcpListener::bind(address)
                    .await
                    .with_context(|| format!("binding RRP on {address}"))?;
                tracing::info!(address = %listener.local_addr()?, "RRP listening");
                tokio::spawn(rrp.clone().serve(listener));
            }
            Some(rrp)
        };
        if !config.web.listen.is_empty() {
            let tls = own_or_srrps(&config.web.certificate, &config.web.key, &config.srrp)?;
            let web = control_plane::web::Web::new(
                core.clone(),
                config.database.clone(),
                config.web.settings(),
            );
            for address in &config.web.listen {
                let listener = tokio::net::TcpListener::bind(address)
                    .await
                    .with_context(|| format!("binding the web page on {address}"))?;
                tracing::info!(address = %listener.local_addr()?, "registrars' web page listening (HTTPS)");
                tokio::spawn(web.clone().serve(tls.clone(), listener));
            }
        }
        let push = match config.push.listen {
            Some(address) => {
                let node_key = satellite_protocol::keys::load_private(&config.push.key)
                    .context("the push service needs a tunnel key: `control-plane keygen` writes tunnel.key")?;
                let feed = feed::Feed::new(config.database.clone(), 100_000, config.push.guard())?;
                tokio::spawn(feed.clone().follow(commits.stats.published.clone()));
                let push = push::Push::new(
                    config.database.clone(),
                    snapshot_signer,
                    feed,
                    config.push.replay_limit,
                )?;
                let endpoint = quinn::Endpoint::server(
                    satellite_protocol::tunnel::server_config(&node_key, push.pins())?,
                    address,
                )
                .with_context(|| format!("binding the push service on {address} (UDP)"))?;
                tracing::info!(%address, key = satellite_protocol::keys::public_text(
                    &satellite_protocol::keys::public_of(&node_key).unwrap_or_default()), "push service listening (QUIC)");
                tokio::spawn(push.clone().serve(endpoint));
                tokio::spawn(push.clone().audit_every(Duration::from_secs(config.push.audit_interval_s.max(1))));
                Some(push)
            }
            None => None,
        };
        if let Some(address) = config.metrics_listen {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("binding metrics on {address}"))?;
            let (server, commits, database) = (server.clone(), commits.clone(), config.database.clone());
            let escrow = config.escrow.folder.clone();
            let expiry = ops::tls::expiry(&config.srrp.certificate)?;
            let page: ops::Page = Arc::new(move |out: &mut ops::metrics::Writer<'_, '_>| {
                let serials = zone_serials(&database).unwrap_or_default();
                metrics::write(out, &server, &commits, &serials)?;
                if let Some(epp) = &epp {
                    metrics::write_epp(out, epp)?;
                }
                if let Some(rrp) = &rrp {
                    metrics::write_rrp(out, rrp)?;
                }
                metrics::write_escrow(out, &escrow)?;
                out.gauge(
                    "control_plane_srrp_certificate_expiry_seconds",
                    "When the SRRP certificate expires (Unix time; read at start).",
                    expiry,
                )?;
                match &push {
                    Some(push) => push.write_metrics(out),
                    None => Ok(()),
                }
            });
            tokio::spawn(ops::serve_metrics(listener, page));
        }
        ops::stopped().await;
        tracing::info!("stopping: finishing the commands already queued");
        commits.close();
        let _ = tokio::task::spawn_blocking(move || commit_thread.join()).await;
        write_activity(&core, &config.database);
        Ok(())
    })
}

/// Writes the commands answered since the last write (the monthly activity report's).
fn write_activity(core: &Core, database: &std::path::Path) {
    if let Err(error) = core.activity.write(database) {
        tracing::warn!(%error, "writing the activity report's counts (kept for the next try)");
    }
}

/// A session front end's TLS configuration: its own certificate and key, or SRRP's.
fn own_or_srrps(
    certificate: &Option<PathBuf>,
    key: &Option<PathBuf>,
    srrp: &control_plane::config::Srrp,
) -> Result<Arc<rustls::ServerConfig>> {
    match (certificate, key) {
        (Some(certificate), Some(key)) => tls::server_config(certificate, key),
        _ => tls::server_config(&srrp.certificate, &srrp.key),
    }
}

fn zone_serials(database: &Path) -> Result<Vec<(String, u32)>> {
    let conn = sqlite::open_read_only(database)?;
    Ok(conn
        .zones()?
        .into_iter()
        .map(|z| (z.origin.to_string(), z.serial))
        .collect())
}
