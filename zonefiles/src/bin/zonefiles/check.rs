//! `zonefiles check` and `zonefiles compile`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use zonefiles::check::{self, has_errors};
use zonefiles::{Name, image};

use crate::read::{all_findings, compile_master_file, read_zone, shown};

/// Checks a master file like named-checkzone; exit status 1 if it has errors.
pub fn check(zone: &Path, origin: Option<Name>, every: bool) -> Result<ExitCode> {
    let started = Instant::now();
    let (zone, findings) = read_zone(zone, origin)?;
    let findings = all_findings(&zone, findings);
    for line in shown(&findings, every) {
        println!("{line}");
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == check::Severity::Error)
        .count();
    println!(
        "zone {}: serial {}, {} records, {} errors, {} warnings ({:.2?})",
        zone.origin(),
        zone.serial().map_or("none".into(), |s| s.to_string()),
        zone.records().len(),
        errors,
        findings.len() - errors,
        started.elapsed()
    );
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Checks and compiles a master file into an image, as a stream.
pub fn compile(
    path: &Path,
    output: &Path,
    temp_dir: Option<PathBuf>,
    origin: Option<Name>,
    quiet: bool,
    every: bool,
) -> Result<ExitCode> {
    let started = Instant::now();
    let temp_dir = temp_dir.unwrap_or_else(|| match output.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    });
    let (compiled, findings, read) = compile_master_file(path, origin, &temp_dir, quiet)?;
    for line in shown(&findings, every) {
        eprintln!("{line}");
    }
    if has_errors(&findings) {
        bail!("{} has errors; fix them and compile again", path.display());
    }
    let compiled = compiled?;
    let checked = started.elapsed();
    image::write_atomically_with(output, |out| compiled.write_to(out))
        .with_context(|| format!("writing {}", output.display()))?;
    let stats = compiled.stats;
    println!(
        "{}: serial {}, {} records, {} names, {} distinct RRsets, {} bytes \
         (read and sort {:.2?}, check and compile {:.2?}, write {:.2?})",
        output.display(),
        compiled.serial(),
        stats.records,
        stats.nodes,
        stats.rrsets,
        stats.bytes,
        read,
        checked - read,
        started.elapsed() - checked
    );
    Ok(ExitCode::SUCCESS)
}
