//! `control-plane audit`, `backup` and `recover`: the registry's self-check, its online
//! backup, and its rebuilding from a backup and satellites' changeset logs.

use std::path::PathBuf;

use anyhow::Result;
use control_plane::config::Config;
use control_plane::operator::{self, recovery};
use control_plane::store::Store;

use crate::{Env, open};

/// Where to write the backup.
#[derive(clap::Args)]
pub struct BackupArgs {
    /// The file to write (it must not exist), or a folder to write
    /// `registry-<UTC time>.db` into.
    target: PathBuf,
    /// In a folder, keep only this many backups (the oldest go).
    #[arg(long)]
    keep: Option<usize>,
}

/// The recovery key and the logs to replay.
#[derive(clap::Args)]
pub struct RecoverArgs {
    /// The recovery private key (`recovery.key` from `keygen`, kept offline).
    #[arg(long)]
    recovery_key: PathBuf,
    /// A changeset log copied from a satellite (`<state>/<zone>.relay`; repeatable: give
    /// every satellite's, the newest wins).
    #[arg(required = true)]
    logs: Vec<PathBuf>,
}

/// Writes a consistent copy of the database while the registry goes on serving.
pub fn backup(args: BackupArgs, env: &Env) -> Result<()> {
    let BackupArgs { target, keep } = args;
    let conn = open(&env.config)?;
    let (file, pruned) = recovery::backup(&conn, &target, keep)?;
    let backup = control_plane::store::sqlite::open_read_only(&file)?;
    let serials: Vec<String> = backup
        .zones()?
        .iter()
        .map(|z| format!("{} at serial {}", z.origin, z.serial))
        .collect();
    println!("backup {}: {}", file.display(), serials.join(", "));
    for old in pruned {
        println!("removed the older backup {}", old.display());
    }
    Ok(())
}

/// Replays satellites' logs onto a restored backup, then audits.
pub fn recover(args: RecoverArgs, env: &Env) -> Result<()> {
    let RecoverArgs { recovery_key, logs } = args;
    let config = &env.config;
    let key = recovery::RecoveryPrivateKey::load(&recovery_key)?;
    let mut conn = open(config)?;
    let recovery = recovery::recover(&mut conn, &logs, &config.public_keys()?, &key)?;
    print!("{}", recovery.report());
    audit(&conn, config)
}

/// Runs the audit and prints it; exits 1 on a problem.
pub fn audit(conn: &rusqlite::Connection, config: &Config) -> Result<()> {
    // One read transaction: the journal and the tables as of one moment, while the server
    // commits beside it.
    let snapshot = conn.unchecked_transaction()?;
    let report = operator::audit::run(&snapshot, &config.public_keys()?)?;
    drop(snapshot);
    for problem in &report.problems {
        println!("{problem}");
    }
    println!(
        "audit: {} changesets, {} domains, {} problems",
        report.changesets,
        report.domains,
        report.problems.len()
    );
    if !report.problems.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}
