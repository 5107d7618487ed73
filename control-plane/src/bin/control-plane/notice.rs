//! `control-plane notice`: the registry's notices to its registrars (maintenance windows,
//! policy changes), shown on the registrars' web page from now until they end.

use anyhow::{Context, Result};
use control_plane::store::sqlite::pages;
use zonefiles::calendar;

use crate::{Env, open};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Post a notice.
    Add {
        /// What it says.
        text: String,
        /// When it starts: `YYYY-MM-DD` or `YYYY-MM-DD HH:MM` (UTC) [default: now].
        #[arg(long)]
        from: Option<String>,
        /// When it ends [default: when removed].
        #[arg(long)]
        until: Option<String>,
    },
    /// The notices not yet over.
    List,
    /// Remove a notice.
    Remove {
        /// Its id (from `list`).
        id: i64,
    },
}

/// `YYYY-MM-DD` or `YYYY-MM-DD HH:MM`, UTC.
fn time(text: &str) -> Result<i64> {
    let text = text.trim();
    let (day, clock) = text.split_once([' ', 'T']).unwrap_or((text, "00:00"));
    let start = calendar::parse_date(day);
    let minutes = clock.split_once(':').and_then(|(h, m)| {
        let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
        ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 3600 + m * 60)
    });
    start
        .zip(minutes)
        .map(|(s, m)| s + m)
        .with_context(|| format!("{text:?} is not YYYY-MM-DD or YYYY-MM-DD HH:MM"))
}

/// Carries out a notice command.
pub fn run(command: Command, env: &Env) -> Result<()> {
    let conn = open(&env.config)?;
    match command {
        Command::Add { text, from, until } => {
            let from = match from {
                Some(from) => time(&from)?,
                None => ops::now(),
            };
            let until = until.as_deref().map(time).transpose()?;
            if let Some(until) = until {
                anyhow::ensure!(until > from, "the notice would end before it starts");
            }
            anyhow::ensure!(!text.trim().is_empty(), "a notice says something");
            let id = pages::add_notice(&conn, from, until, text.trim())?;
            println!("notice {id} posted");
        }
        Command::List => {
            for n in pages::notices(&conn, ops::now())? {
                let until = n
                    .until
                    .map_or("(until removed)".to_string(), calendar::date_time);
                println!(
                    "{}\t{}\t{}\t{}",
                    n.id,
                    calendar::date_time(n.from),
                    until,
                    n.text
                );
            }
        }
        Command::Remove { id } => {
            anyhow::ensure!(pages::remove_notice(&conn, id)?, "there is no notice {id}");
            println!("notice {id} removed");
        }
    }
    Ok(())
}
