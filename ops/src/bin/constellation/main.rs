//! `constellation`: the operator's command for a whole constellation — a control plane and its
//! satellites.
//!
//! - `up` starts one on loopback with sample data (keys, a registry with registrars and a
//!   generated `.name` zone, two satellites of update-agent + edge-dns + edge-whois), waits
//!   until every satellite is in sync, prints what to try, and stops everything on Ctrl-C.
//! - `status` shows every satellite's serial, lag, health and query rates, refreshed like
//!   `top`, from the metrics endpoints listed in the constellation's manifest
//!   (`constellation.toml`, which `up` writes; see [`manifest`]).
//! - `keygen` makes every key a constellation needs (TSIG secrets printed for edge-dns and the
//!   secondary partner's BIND, NSD or Knot).
//! - `verify` checks the .name plan's invariant on every satellite: every registered active
//!   domain is in its DNS and WHOIS, and nothing else is (`update-agent verify` against the
//!   registry's export at the satellite's serial).
//!
//! It starts the other binaries as processes and reads their metrics over HTTP; it links none
//! of them. Children get `PR_SET_PDEATHSIG`, so nothing outlives it, even a `kill -9`.

mod children;
mod keygen;
mod manifest;
mod sample;
mod status;
mod up;
mod verify;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Runs a whole Constellation: a control plane and its satellites.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Starts a control plane and two satellites on loopback with sample data, waits until
    /// both are in sync, prints the dig, whois and SRRP commands to try; Ctrl-C stops it all.
    Up(up::Options),
    /// Checks every satellite's DNS and WHOIS data, item by item, against the registry's
    /// export at the satellite's serial: counts and the first differences.
    Verify {
        /// The constellation's manifest (with the control plane's and agents' configuration
        /// files: those of a constellation on this host).
        #[arg(long, default_value = "constellation-up/constellation.toml")]
        manifest: PathBuf,
    },
    /// Makes a key: the control plane's, a node's, or a TSIG secret for a secondary partner.
    #[command(subcommand)]
    Keygen(keygen::Key),
    /// Every satellite's serial, lag, health and DNS and WHOIS query rates.
    Status {
        /// The constellation's manifest.
        #[arg(long, default_value = "constellation-up/constellation.toml")]
        manifest: PathBuf,
        /// One JSON object per satellite, once, instead of the table.
        #[arg(long)]
        json: bool,
        /// Print the table once instead of refreshing it.
        #[arg(long)]
        once: bool,
        /// Seconds between refreshes (and over which rates are measured).
        #[arg(long, default_value_t = 2.0)]
        interval: f64,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Up(options) => up::run(options),
        Command::Verify { manifest } => verify::run(&manifest),
        Command::Keygen(key) => keygen::run(key),
        Command::Status {
            manifest,
            json,
            once,
            interval,
        } => status::run(&manifest, json, once, interval),
    }
}
