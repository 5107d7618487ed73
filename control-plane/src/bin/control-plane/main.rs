//! `control-plane`: the registry server and its operator commands, one module per subcommand.

mod block;
mod client;
mod dnssec;
mod domain;
mod escrow;
mod export;
mod import;
mod journal;
mod keygen;
mod notice;
mod premium;
mod publication;
mod recovery;
mod registrar;
mod satellite;
mod serve;
mod zone;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use control_plane::config::Config;
use control_plane::operator;
use control_plane::store::sqlite;

/// The registry: its database, SRRP and EPP for registrars, and the journal of signed
/// changesets that feeds every satellite. Every subcommand reads the same configuration file.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The configuration file (TOML; every setting has a default).
    #[arg(short, long, global = true)]
    config: Option<PathBuf>,
    /// The registry database instead of the configuration's.
    #[arg(long, global = true)]
    database: Option<PathBuf>,
    /// Who is acting, for the history (default: $USER).
    #[arg(long, global = true)]
    operator: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve SRRP, EPP, RRP and the registrars' web page, push to satellites, until SIGINT or
    /// SIGTERM.
    Serve(serve::Args),
    /// Create the changeset signing key and a self-signed TLS certificate for SRRP.
    Keygen(keygen::Args),
    /// Zones (TLDs) the registry runs.
    #[command(subcommand)]
    Zone(zone::Command),
    /// Registrar accounts.
    #[command(subcommand)]
    Registrar(registrar::Command),
    /// Blocked labels and third/second-level combinations.
    #[command(subcommand)]
    Block(block::Command),
    /// Premium names: priced on their own, for registrars that acknowledge the price.
    #[command(subcommand)]
    Premium(premium::Command),
    /// The registry's notices to registrars, shown on their web page.
    #[command(subcommand)]
    Notice(notice::Command),
    /// Zones whose publication a check held, and the operator's decision: release or discard.
    #[command(subcommand)]
    Publication(publication::Command),
    /// Satellites the push service accepts (added and removed while it runs).
    #[command(subcommand)]
    Satellite(satellite::Command),
    /// Every satellite's serial, lag and last contact, per zone.
    Satellites {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// What the registry's staff do to a domain: hold, lock, suspend, release, transfer.
    #[command(subcommand)]
    Domain(domain::Command),
    /// A domain's state and history.
    History {
        /// The domain.
        domain: String,
    },
    /// The journal of signed changesets, with each signature checked.
    Journal(journal::Args),
    /// Check the journal against the database: gapless, signed, and replaying to exactly the
    /// zones and WHOIS data held now; and every balance against its ledger.
    Audit,
    /// Copy the database, consistent and online (the registry keeps serving), to a new file:
    /// the backup `recover` starts from.
    Backup(recovery::BackupArgs),
    /// Rebuild the registry after its disk was lost: run on the database restored from the
    /// newest backup, with the control plane stopped. Replays the changesets (and their sealed
    /// registry records) from satellites' changeset logs, so that the registry is again where
    /// the newest satellite is; prints what registrars must re-send.
    Recover(recovery::RecoverArgs),
    /// Carry out SRRP commands from a file as the registrars they name (bringing domains in
    /// from another system, or sample data): one `<registrar-id> <COMMAND> <OBJECT>
    /// attribute=value …` per line (a value with spaces in double quotes: `ds="12345 13 2
    /// 49FD…"`), through the same rules as SRRP, many to a transaction,
    /// journaled for the satellites. Run it while `serve` is stopped.
    Import(import::Args),
    /// Write a zone's full image and WHOIS objects at a serial (default: the current one), after
    /// the publication checks (zone checks; no sudden shrink).
    Export(export::Args),
    /// Reports.
    #[command(subcommand)]
    Report(export::ReportCommand),
    /// Escrow deposits (RFC 8909/9022): make one, list them, restore a registry from them.
    #[command(subcommand)]
    Escrow(escrow::Command),
    /// DNSSEC: sign a zone (online, each change signed as it commits), stop, and its keys.
    #[command(subcommand)]
    Dnssec(dnssec::Command),
    /// Send one SRRP request and print the response (`attribute=value` arguments).
    Srrp(client::SrrpArgs),
    /// Log in over EPP, send EPP documents (files, or `-` for standard input), print each
    /// response, log out
    Epp(client::EppArgs),
}

/// What every subcommand is given: the configuration and who is acting.
pub struct Env {
    /// The configuration, with the command line's overrides.
    pub config: Config,
    /// The operator's name, for the history.
    pub who: String,
}

/// Opens the registry database (creating its folder), migrated to the current schema.
pub fn open(config: &Config) -> Result<rusqlite::Connection> {
    if let Some(parent) = config.database.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    Ok(sqlite::open(&config.database)?)
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_)) {
        ops::process::end_quietly_on_closed_pipe();
    }
    ops::init_logging();
    let mut config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(database) = cli.database {
        config.database = database;
    }
    let who = cli
        .operator
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "root".to_string());
    let env = Env { config, who };
    match cli.command {
        Command::Serve(args) => serve::run(args, env),
        Command::Keygen(args) => keygen::run(args),
        Command::Zone(command) => zone::run(command, &env),
        Command::Registrar(command) => registrar::run(command, &env),
        Command::Block(command) => block::run(command, &env),
        Command::Premium(command) => premium::run(command, &env),
        Command::Publication(command) => publication::run(command, &env),
        Command::Notice(command) => notice::run(command, &env),
        Command::Domain(command) => domain::run(command, &env),
        Command::Satellite(command) => satellite::run(command, &env),
        Command::Satellites { json } => satellite::status(json, &env),
        Command::History { domain } => {
            print!("{}", operator::history(&open(&env.config)?, &domain)?);
            Ok(())
        }
        Command::Journal(args) => journal::run(args, &env),
        Command::Audit => recovery::audit(&open(&env.config)?, &env.config),
        Command::Backup(args) => recovery::backup(args, &env),
        Command::Recover(args) => recovery::recover(args, &env),
        Command::Import(args) => import::run(args, &env),
        Command::Export(args) => export::run(args, &env),
        Command::Report(command) => export::report(command, &env),
        Command::Escrow(command) => escrow::run(command, &env),
        Command::Dnssec(command) => dnssec::run(command, &env),
        Command::Srrp(args) => client::srrp(args),
        Command::Epp(args) => client::epp(args),
    }
}
