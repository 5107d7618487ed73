//! `control-plane export` and `control-plane report`: a zone's image and WHOIS objects at a
//! serial, after the publication checks; the registry's reports.

use std::path::PathBuf;

use anyhow::{Context, Result};
use control_plane::operator;
use control_plane::push::snapshot;

use crate::{Env, open};

/// What to export, and where.
#[derive(clap::Args)]
pub struct Args {
    /// The zone.
    zone: String,
    /// The serial (any serial the journal covers).
    #[arg(long)]
    serial: Option<u32>,
    /// Where to write `<zone>-<serial>.img` and `<zone>-<serial>.whois`.
    #[arg(short, long, default_value = ".")]
    output: PathBuf,
    /// Refuse a zone with fewer records than this share of the last export.
    #[arg(long, default_value_t = 0.9)]
    min_ratio: f64,
    /// Publish even a zone that shrank past the ratio.
    #[arg(long)]
    force: bool,
}

/// Writes the export.
pub fn run(args: Args, env: &Env) -> Result<()> {
    let Args {
        zone,
        serial,
        output,
        min_ratio,
        force,
    } = args;
    let conn = open(&env.config)?;
    let e = snapshot::export(&conn, &zone, serial, &output, min_ratio, force)?;
    println!(
        "{zone} at serial {}: {} records in {}, {} WHOIS objects in {}, image SHA-256 {}",
        e.serial,
        e.records,
        e.image.display(),
        e.objects,
        e.whois.display(),
        e.digest
    );
    Ok(())
}

#[derive(clap::Subcommand)]
pub enum ReportCommand {
    /// The monthly statement per registrar, as CSV.
    Billing {
        /// The month, YYYY-MM.
        #[arg(long)]
        month: String,
        /// Write it here instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// The month's per-registrar transactions report of a zone (ICANN's Specification 3), as
    /// CSV: `<zone>-transactions-<yyyymm>.csv`.
    Transactions {
        /// The zone.
        zone: String,
        /// The month, YYYY-MM.
        #[arg(long)]
        month: String,
        /// Write it here instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// The month's registry functions activity report of a zone (ICANN's Specification 3), as
    /// CSV: `<zone>-activity-<yyyymm>.csv`. DNS, WHOIS and RDAP counts come from the
    /// satellites whose agents count (`[activity]` in update-agent.toml).
    Activity {
        /// The zone.
        zone: String,
        /// The month, YYYY-MM.
        #[arg(long)]
        month: String,
        /// Write it here instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// The zone file for zone file access programmes (ICANN's CZDS): `<zone>.zone.gz` at the
    /// current serial, and `<zone>.zone.gz.sig`, signed with `[escrow] signing_key` when it
    /// exists.
    ZoneFile {
        /// The zone.
        zone: String,
        /// The folder to write into.
        #[arg(short, long, default_value = ".")]
        output: PathBuf,
    },
}

/// Writes a report.
pub fn report(command: ReportCommand, env: &Env) -> Result<()> {
    let (csv, output) = match command {
        ReportCommand::Billing { month, output } => (
            operator::billing(&open(&env.config)?, &month, None)?,
            output,
        ),
        ReportCommand::Transactions {
            zone,
            month,
            output,
        } => (
            operator::transactions::report(&open(&env.config)?, &zone, &month)?,
            output,
        ),
        ReportCommand::Activity {
            zone,
            month,
            output,
        } => {
            let report = operator::activity::report(&open(&env.config)?, &zone, &month)?;
            match report.satellites.as_slice() {
                [] => eprintln!(
                    "no satellite reported query counts for {zone} in {month}: the DNS, WHOIS and RDAP fields are 0 (set [activity] in update-agent.toml)"
                ),
                names => eprintln!("DNS, WHOIS and RDAP counts from {}", names.join(", ")),
            }
            (report.csv, output)
        }
        ReportCommand::ZoneFile { zone, output } => {
            let key = &env.config.escrow.signing_key;
            let key = if key.exists() {
                Some(control_plane::escrow::ryde::secret_key(key)?)
            } else {
                tracing::warn!(key = %key.display(), "no signing key: the zone file goes out unsigned");
                None
            };
            let written =
                operator::zone_file::write(&open(&env.config)?, &zone, &output, key.as_ref())?;
            println!(
                "{zone} at serial {}: {} records in {}{}",
                written.serial,
                written.records,
                written.path.display(),
                written
                    .signature
                    .map_or(String::new(), |s| format!(", signed in {}", s.display()))
            );
            return Ok(());
        }
    };
    match output {
        Some(path) => {
            std::fs::write(&path, csv).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{csv}"),
    }
    Ok(())
}
