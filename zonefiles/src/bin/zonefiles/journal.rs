//! `zonefiles diff`, `compact` and `init-journal`: changesets and journals.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use zonefiles::changeset;
use zonefiles::journal::Journal;

use crate::read::{load_any, open_image};

/// Prints the changeset from one zone to another, IXFR style, and appends it to `journal`.
pub fn diff(old: &Path, new: &Path, journal: Option<&Path>, summary: bool) -> Result<ExitCode> {
    let old = load_any(old)?;
    let new = load_any(new)?;
    let cs = changeset::diff(&old, &new)?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    writeln!(
        out,
        "; {} serial {} -> {}: {} removed, {} added",
        cs.origin,
        cs.from_serial(),
        cs.to_serial(),
        cs.removed.len(),
        cs.added.len()
    )?;
    if !summary {
        writeln!(out, "-{}", cs.old_soa)?;
        for r in &cs.removed {
            writeln!(out, "-{r}")?;
        }
        writeln!(out, "+{}", cs.new_soa)?;
        for r in &cs.added {
            writeln!(out, "+{r}")?;
        }
    }
    out.flush()?;
    if let Some(path) = journal {
        let (mut journal, _) = Journal::open(path)?;
        journal.append(&cs)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Folds an image and its journal into a new image and rebases the journal on it.
pub fn compact(image: &Path, journal: &Path, output: &Path) -> Result<ExitCode> {
    let img = open_image(image)?;
    let (mut journal, recovery) = Journal::open(journal)?;
    if let Some(reason) = recovery.reason {
        eprintln!("journal: cut {} bytes: {reason}", recovery.cut_bytes);
    }
    let done = zonefiles::journal::compact(&img, &mut journal, output)?;
    println!(
        "{}: serial {}, {} changesets folded, {} bytes",
        output.display(),
        done.serial,
        done.changesets,
        done.bytes
    );
    Ok(ExitCode::SUCCESS)
}

/// Creates an empty journal that follows an image.
pub fn init(image: &Path, journal: &Path) -> Result<ExitCode> {
    let img = open_image(image)?;
    Journal::create(journal, img.origin(), img.serial())?;
    println!(
        "{}: empty journal after serial {}",
        journal.display(),
        img.serial()
    );
    Ok(ExitCode::SUCCESS)
}
