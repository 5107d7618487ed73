//! `control-plane premium`: names priced on their own, registered, renewed, transferred and
//! restored only by registrars that acknowledge the price (EPP's fee extension).

use anyhow::Result;
use control_plane::model::Prices;
use control_plane::operator;
use control_plane::store::sqlite;

use crate::{Env, open};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Make a name premium, or change its prices (cents).
    Add {
        /// The name, e.g. `gold.tld`.
        name: String,
        /// A year of registration.
        #[arg(long)]
        create: i64,
        /// A year of renewal [default: the registration price].
        #[arg(long)]
        renew: Option<i64>,
        /// A transfer [default: the renewal price].
        #[arg(long)]
        transfer: Option<i64>,
        /// A restore [default: the registration price].
        #[arg(long)]
        restore: Option<i64>,
    },
    /// Price a name at its zone's prices again.
    Remove {
        /// The name.
        name: String,
    },
    /// List the premium names and their prices.
    List,
}

/// Carries out a premium command.
pub fn run(command: Command, env: &Env) -> Result<()> {
    let mut conn = open(&env.config)?;
    match command {
        Command::Add {
            name,
            create,
            renew,
            transfer,
            restore,
        } => {
            let renew = renew.unwrap_or(create);
            let prices = Prices {
                create,
                renew,
                transfer: transfer.unwrap_or(renew),
                restore: restore.unwrap_or(create),
            };
            operator::set_premium(&mut conn, &name, Some(&prices), &env.who)?;
            println!("{name}: premium, {prices}");
        }
        Command::Remove { name } => {
            operator::set_premium(&mut conn, &name, None, &env.who)?;
            println!("{name}: at its zone's prices");
        }
        Command::List => {
            for (name, prices) in sqlite::journal::premium_names(&conn)? {
                println!("{name}\t{prices}");
            }
        }
    }
    Ok(())
}
