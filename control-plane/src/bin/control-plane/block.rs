//! `control-plane block`: blocked labels and third/second-level combinations.

use anyhow::Result;
use control_plane::operator;
use control_plane::store::sqlite;

use crate::{Env, open};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Block a label (`smith`) or a combination (`john.smith`).
    Add {
        /// The label or combination.
        what: String,
    },
    /// Unblock it.
    Remove {
        /// The label or combination.
        what: String,
    },
    /// List what is blocked.
    List,
}

/// Carries out a block command.
pub fn run(command: Command, env: &Env) -> Result<()> {
    let who = env.who.as_str();
    let mut conn = open(&env.config)?;
    match command {
        Command::Add { what } => {
            let changed = operator::block(&mut conn, &what, true, who)?;
            println!(
                "{what}: {}",
                if changed {
                    "blocked"
                } else {
                    "was blocked already"
                }
            );
        }
        Command::Remove { what } => {
            let changed = operator::block(&mut conn, &what, false, who)?;
            println!(
                "{what}: {}",
                if changed {
                    "unblocked"
                } else {
                    "was not blocked"
                }
            );
        }
        Command::List => {
            for line in sqlite::blocked(&conn)? {
                println!("{line}");
            }
        }
    }
    Ok(())
}
