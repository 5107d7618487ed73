//! `control-plane satellite` and `control-plane satellites`: the satellites the push service
//! accepts, and where each one stands.

use anyhow::{Context, Result};
use control_plane::store::sqlite::satellites;

use crate::{Env, open};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Accepts a satellite: its name (as its agent's `id`) and its tunnel public key (base64,
    /// from `update-agent keygen`, or the path of its `.pub` file).
    Add {
        /// The satellite's name.
        name: String,
        /// Its public key, or its `.pub` file.
        key: String,
    },
    /// Stops accepting a satellite; its tunnel is closed.
    Remove {
        /// The satellite's name.
        name: String,
    },
    /// The satellites accepted.
    List,
}

/// Carries out a satellite command.
pub fn run(command: Command, env: &Env) -> Result<()> {
    let conn = open(&env.config)?;
    match command {
        Command::Add { name, key } => {
            let text = match std::fs::read_to_string(&key) {
                Ok(text) => text,
                Err(_) => key.clone(),
            };
            let public = satellite_protocol::keys::parse_public(&text).with_context(|| {
                format!("{key} is neither a base64 Ed25519 public key nor a file holding one")
            })?;
            let text = satellite_protocol::keys::public_text(&public);
            satellites::add(&conn, &name, &text)?;
            println!("satellite {name} accepted with key {text}");
        }
        Command::Remove { name } => {
            if !satellites::remove(&conn, &name)? {
                anyhow::bail!("no satellite named {name}");
            }
            println!("satellite {name} removed");
        }
        Command::List => {
            for member in satellites::members(&conn)? {
                println!("{}\t{}", member.name, member.public_key);
            }
        }
    }
    Ok(())
}

/// Prints every satellite's serial, lag and last contact, per zone: a table, or one JSON
/// object per line.
pub fn status(json: bool, env: &Env) -> Result<()> {
    let conn = open(&env.config)?;
    let rows = satellites::status(&conn, ops::now())?;
    if json {
        for row in &rows {
            println!("{}", serde_json::to_string(row)?);
        }
    } else {
        println!("satellite\tzone\tstate\tserial\tnewest\tlag\tlag_s\tlast_contact\taudit");
        for row in &rows {
            println!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}s ago\t{}",
                row.satellite,
                row.zone,
                if row.connected {
                    "connected"
                } else {
                    "disconnected"
                },
                row.serial.map_or("-".to_string(), |s| s.to_string()),
                row.newest,
                row.lag_changes,
                row.lag_seconds,
                (ops::now() - row.last_contact).max(0),
                row.audit.as_deref().unwrap_or("-")
            );
        }
    }
    Ok(())
}
