//! `edge-dns`: serves TLD zones from compiled zone images and zone directories.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use arc_swap::ArcSwap;
use clap::Parser;
use edge_dns::config::Config;
use edge_dns::engine;
use edge_dns::follow::{self, Follower};
use edge_dns::metrics::Metrics;
use edge_dns::tsig::Keyring;
use edge_dns::{notify, tcp, udp};

/// Authoritative DNS for TLD zones, from compiled zone images (`zonefiles compile`) or zone
/// directories (`zonefiles dir`), whose journal is followed and served within milliseconds.
/// Zone transfers (AXFR, IXFR) with TSIG for secondaries, and NOTIFY when a serial changes.
///
/// Signals: SIGHUP reopens the zones (a failed reload keeps the old ones); SIGINT and SIGTERM
/// stop the server.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The configuration file (TOML; every setting has a default).
    #[arg(short, long)]
    config: Option<PathBuf>,
    /// Serve this zone image as well (repeatable).
    #[arg(long = "zone")]
    zones: Vec<PathBuf>,
    /// Answer on this address as well (repeatable; UDP and TCP).
    #[arg(long)]
    listen: Vec<std::net::SocketAddr>,
    /// Serve Prometheus metrics on this address instead (e.g. 127.0.0.1:9153).
    #[arg(long)]
    metrics_listen: Option<std::net::SocketAddr>,
    /// UDP worker threads per address (overrides the configuration; 0 = one per core).
    #[arg(long)]
    workers: Option<usize>,
    /// Check the configuration and the zone images, then exit.
    #[arg(long)]
    check: bool,
    /// Benchmark mode: UDP workers and TCP connections answer every query with its own bytes
    /// (QR set) without looking at any zone — the floor of the socket loops, which `loadtest
    /// report` sets beside the real answers. Never for service.
    #[arg(long)]
    reflect: bool,
}

fn main() -> Result<()> {
    ops::init_logging();
    let cli = Cli::parse();
    let mut config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    config
        .zone
        .extend(cli.zones.iter().map(|image| edge_dns::config::ZoneConfig {
            image: Some(image.clone()),
            ..Default::default()
        }));
    if !cli.listen.is_empty() {
        config.listen = cli.listen.clone();
    }
    config.metrics_listen = cli.metrics_listen.or(config.metrics_listen);
    config.workers = cli.workers.unwrap_or(config.workers);
    if config.zone.is_empty() {
        anyhow::bail!(
            "no zones to serve: add [[zone]] image = \"…\" (or directory = \"…\") to the configuration or pass --zone"
        );
    }
    config.check()?;
    let started = Instant::now();
    let keyring = Keyring::new(&config.key)?;
    // Trusted: answer at once, the indexes checked in the background (--check checks first).
    let open = match cli.check {
        true => follow::Open::Checked,
        false => follow::Open::Trusted,
    };
    let follower = Follower::load(&config.zone, open)?;
    if cli.check {
        println!(
            "configuration and {} zone image(s) are fine",
            config.zone.len()
        );
        return Ok(());
    }
    let identity = config
        .identity
        .clone()
        .unwrap_or_else(|| ops::process::hostname("edge-dns"));
    let engine = Arc::new(engine::Config {
        max_udp_payload: config.max_udp_payload,
        identity: Some(identity.clone().into_bytes()),
        version: config.version.clone().map(String::into_bytes),
        minimal_responses: config.minimal_responses,
        cookies: config.cookies.secrets()?,
    });
    let zones = Arc::new(ArcSwap::from_pointee(follower.state()));
    let keyring_arc = Arc::new(keyring.clone());
    let metrics = Arc::new(Metrics::new(config.listen.len() * config.worker_count()));
    let stop = Arc::new(AtomicBool::new(false));
    let limiter = edge_dns::rrl::Limiter::new(&config.rate_limit)?.map(Arc::new);
    let answering = match cli.reflect {
        true => udp::Answering::Reflect,
        false => udp::Answering::Zones,
    };
    let shared = udp::Shared {
        zones: zones.clone(),
        engine: engine.clone(),
        keyring: keyring_arc.clone(),
        metrics: metrics.clone(),
        stop: stop.clone(),
    };
    // TCP binds before UDP starts answering: a client that hears UDP finds TCP there too.
    let tcp_listeners = tcp::bind(&config.listen)?;
    let workers = udp::start(&config, answering, limiter, &shared)?;
    // The follower thread: zone directories, reloads, and the changes NOTIFY goes out for.
    let (commands, commands_rx) = std::sync::mpsc::channel();
    let (changes, changes_rx) = tokio::sync::mpsc::unbounded_channel();
    let follower_thread = {
        let (zones, stop, zone_config) = (zones.clone(), stop.clone(), config.zone.clone());
        std::thread::Builder::new()
            .name("follow".into())
            .spawn(move || follow::run(zone_config, follower, zones, commands_rx, changes, stop))?
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        for listener in tcp_listeners {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            tokio::spawn(tcp::serve(
                listener,
                zones.clone(),
                engine.clone(),
                keyring_arc.clone(),
                config.tcp,
                metrics.clone(),
                answering,
            ));
        }
        if let Some(addr) = config.metrics_listen {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding the metrics listener {addr}"))?;
            let (metrics, zones) = (metrics.clone(), zones.clone());
            let page: ops::Page =
                std::sync::Arc::new(move |out: &mut ops::metrics::Writer<'_, '_>| {
                    metrics.write(&zones.load().zones, out)
                });
            tokio::spawn(ops::serve_metrics(listener, page));
        }
        tokio::spawn(notify::run(
            changes_rx,
            zones.clone(),
            keyring.clone(),
            metrics.clone(),
        ));
        tracing::info!(
            listen = ?config.listen,
            metrics = ?config.metrics_listen,
            workers = config.worker_count(),
            identity,
            ready_ms = started.elapsed().as_millis() as u64,
            "answering"
        );
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        loop {
            tokio::select! {
                _ = hangup.recv() => {
                    let _ = commands.send(follow::Command::Reload);
                }
                _ = terminate.recv() => break,
                _ = tokio::signal::ctrl_c() => break,
            }
        }
        anyhow::Ok(())
    })?;
    stop.store(true, Ordering::Relaxed);
    let _ = follower_thread.join();
    for worker in workers {
        if let Ok(Err(error)) = worker.join() {
            tracing::error!(%error, "UDP worker failed");
        }
    }
    tracing::info!(responses = metrics.responses(), "stopped");
    Ok(())
}
