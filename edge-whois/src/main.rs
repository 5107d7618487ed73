//! `edge-whois`: serves port-43 WHOIS and RDAP from a WHOIS tree.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use edge_whois::config::Config;
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
    tlds: Vec<zonefiles::ZoneName>,
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
        config.tlds = cli.tlds;
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
    edge_whois::run::run(config, tree)?;
    tracing::info!("stopped");
    Ok(())
}
