//! `zonefiles dir`: a satellite's zone directory (image, journal and CURRENT pointer).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Subcommand;
use zonefiles::check::has_errors;
use zonefiles::zonedir::ZoneDir;
use zonefiles::{Name, changeset};

use crate::read::{compile_master_file, read_zone, shown};

/// What to do with a zone directory.
#[derive(Subcommand)]
pub enum Action {
    /// Create a zone directory from a master file (checked first).
    Init {
        /// The directory to create.
        dir: PathBuf,
        /// The master file.
        zone: PathBuf,
        /// The zone's origin, when the file has no $ORIGIN.
        #[arg(long)]
        origin: Option<Name>,
    },
    /// Append the changeset from the directory's zone to a newer master file of it.
    Update {
        /// The zone directory.
        dir: PathBuf,
        /// The new version of the zone (its SOA serial must be newer).
        zone: PathBuf,
    },
    /// Fold the journal into a new current image, keeping the last changesets for IXFR.
    Compact {
        /// The zone directory.
        dir: PathBuf,
        /// Changesets to keep in the journal.
        #[arg(long, default_value_t = 100)]
        keep: usize,
    },
    /// Show the current image, the journal and the serial a server would answer with.
    Status {
        /// The zone directory.
        dir: PathBuf,
    },
}

/// Carries out one action.
pub fn run(action: Action) -> Result<ExitCode> {
    match action {
        Action::Init { dir, zone, origin } => {
            let temp_dir = dir.parent().filter(|d| !d.as_os_str().is_empty());
            let temp_dir = temp_dir.unwrap_or(Path::new("."));
            let (compiled, findings, _) = compile_master_file(&zone, origin, temp_dir, true)?;
            for line in shown(&findings, false) {
                eprintln!("{line}");
            }
            if has_errors(&findings) {
                bail!("the zone has errors; nothing was written");
            }
            let compiled = compiled?;
            ZoneDir::install_with(&dir, |out| compiled.write_to(out))?;
            println!(
                "{}: serial {}, {} records",
                dir.display(),
                compiled.serial(),
                compiled.stats.records
            );
        }
        Action::Update { dir, zone } => {
            let zd = ZoneDir::open(&dir)?;
            let snapshot = zd.load()?;
            let mut current = snapshot.image.to_zone()?;
            if let Some(net) = changeset::compose(&snapshot.changesets)? {
                current = changeset::apply(current, &net)?;
            }
            let (next, findings) = read_zone(&zone, Some(current.origin().clone()))?;
            if has_errors(&findings) {
                for finding in &findings {
                    eprintln!("{finding}");
                }
                bail!("the new zone has errors; nothing was appended");
            }
            let cs = changeset::diff(&current, &next)?;
            zd.append(&cs)?;
            println!(
                "{}: serial {} -> {}, {} removed, {} added",
                dir.display(),
                cs.from_serial(),
                cs.to_serial(),
                cs.removed.len(),
                cs.added.len()
            );
        }
        Action::Compact { dir, keep } => match ZoneDir::open(&dir)?.compact(keep)? {
            Some(done) => println!(
                "{}: serial {}, {} changesets folded, {} bytes",
                dir.display(),
                done.serial,
                done.changesets,
                done.bytes
            ),
            None => println!("{}: nothing to fold", dir.display()),
        },
        Action::Status { dir } => {
            let zd = ZoneDir::open(&dir)?;
            let snapshot = zd.load()?;
            let serving = snapshot
                .changesets
                .last()
                .map_or(snapshot.image.serial(), |c| c.to_serial());
            println!(
                "{}: image {} (serial {}), journal {} changesets ({} after the image), serving serial {serving}",
                dir.display(),
                snapshot.image_path.display(),
                snapshot.image.serial(),
                snapshot.history.len(),
                snapshot.changesets.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
