//! `control-plane publication`: zones whose publication a check held (a sudden loss of
//! delegations, the apex losing its NS), and the operator's decision on each. The running
//! push service takes a decision up within a second.

use anyhow::Result;
use control_plane::operator::publication;
use control_plane::store::Store;
use control_plane::store::sqlite::holds::{self, State};
use zonefiles::calendar;

use crate::{Env, open};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Each zone: published, or held since when, at which serial, and why.
    Status,
    /// Let what is held through: satellites take the held changes.
    Release {
        /// The zone.
        zone: String,
        /// Why (kept in the zone's history).
        #[arg(long)]
        reason: String,
    },
    /// Never serve what is held: once the data is put right, satellites skip the held states
    /// and move on by a snapshot of the zone as it is now.
    Discard {
        /// The zone.
        zone: String,
        /// Why (kept in the zone's history).
        #[arg(long)]
        reason: String,
    },
}

/// Carries out a publication command.
pub fn run(command: Command, env: &Env) -> Result<()> {
    let mut conn = open(&env.config)?;
    let checks = env.config.push.guard();
    let discard = matches!(command, Command::Discard { .. });
    match command {
        Command::Status => {
            let all = holds::all(&conn)?;
            for zone in conn.zones()? {
                let origin = zone.origin.to_string();
                let hold = all.iter().find(|h| h.zone == origin);
                match hold {
                    Some(h) if h.state == State::Held => {
                        let loss = publication::loss_since(&conn, &origin, h.serial)?;
                        println!(
                            "{origin}\tHELD at serial {} since {} UTC (the registry is at {}): {}; {loss} delegation NS records lost since, of {}",
                            h.serial,
                            calendar::date_time(h.since),
                            zone.serial,
                            h.reason,
                            h.size
                        );
                    }
                    Some(h) => println!(
                        "{origin}\tpublished (serial {}); last hold at serial {}: {}, {:?} by {}",
                        zone.serial,
                        h.serial,
                        h.reason,
                        h.state,
                        h.decided.as_ref().map_or("?", |(by, _)| by.as_str())
                    ),
                    None => println!("{origin}\tpublished (serial {})", zone.serial),
                }
            }
            println!(
                "checks: a zone losing more than {:.1}% of its delegation NS records (and more than {}) within {} h is held",
                checks.max_shrink * 100.0,
                checks.floor,
                checks.window / 3600
            );
        }
        Command::Release { zone, reason } | Command::Discard { zone, reason } => {
            let zone = zone.trim_end_matches('.').to_ascii_lowercase();
            let hold = publication::decide(&mut conn, &zone, discard, checks, &reason, &env.who)?;
            match hold.until {
                Some(until) => println!(
                    "{zone}: discarded; satellites at serial {} move to {until} or later by a snapshot",
                    hold.serial
                ),
                None => println!(
                    "{zone}: released; satellites take the changes from serial {}",
                    hold.serial
                ),
            }
        }
    }
    Ok(())
}
