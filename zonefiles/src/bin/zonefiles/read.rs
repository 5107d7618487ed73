//! Reading zones: master files (streamed and checked, with progress bars) and images.

use std::fs::File;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use zonefiles::check;
use zonefiles::image::{self, Image};
use zonefiles::master::{self, ParseOptions};
use zonefiles::spill::RunNodes;
use zonefiles::{Class, Name, Zone};

/// Findings shown by default for each rule broken.
pub const FIRST_FINDINGS: usize = 5;

/// The lines to print for the findings: every one, or a summary by rule.
pub fn shown(findings: &[check::Finding], every: bool) -> Vec<String> {
    if every {
        findings.iter().map(ToString::to_string).collect()
    } else {
        check::summary(findings, FIRST_FINDINGS)
    }
}

/// A progress bar over `len` units of `what`.
fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {percent:>3}% {elapsed_precise}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

/// Reads, checks and compiles a master file as a stream (records sorted in runs in
/// `temp_dir`, see `zonefiles::spill`): the image (or why it could not be built), every
/// finding, and the time the reading took.
pub fn compile_master_file(
    path: &Path,
    origin: Option<Name>,
    temp_dir: &Path,
    quiet: bool,
) -> Result<(
    Result<image::Compiled, image::CompileError>,
    Vec<check::Finding>,
    std::time::Duration,
)> {
    let started = Instant::now();
    let bar = (!quiet).then(|| {
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        progress(len, "reading")
    });
    let options = ParseOptions {
        origin: origin.clone(),
        ..ParseOptions::default()
    };
    let runs = zonefiles::spill::read(path, options, threads(), temp_dir, &|done| {
        if let Some(bar) = &bar {
            bar.set_position(done);
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let read = started.elapsed();
    let origin = origin
        .or_else(|| runs.first_soa().cloned())
        .unwrap_or_else(Name::root);
    let bar = (!quiet).then(|| progress(2 * runs.records(), "compiling"));
    let mut nodes = check::Checked::new(RunNodes::new(&runs), origin.clone());
    let compiled = image::compile_nodes(&origin, Class::IN, &mut nodes, |done| {
        if let Some(bar) = &bar {
            bar.set_position(done);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let (checks, nodes) = nodes.finish().context("checking the zone")?;
    let mut findings = nodes.findings;
    findings.extend(checks);
    Ok((compiled, findings, read))
}

/// The threads a master file is read on: one per core.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Reads a master file on every core into a zone, with the parser's findings.
pub fn read_zone(path: &Path, origin: Option<Name>) -> Result<(Zone, Vec<check::Finding>)> {
    let options = ParseOptions {
        origin: origin.clone(),
        ..ParseOptions::default()
    };
    let records = master::read_parallel(path, options, threads(), &|_| {})?;
    Ok(Zone::from_records(origin, Class::IN, records))
}

/// The parser's findings and the zone checks'.
pub fn all_findings(zone: &Zone, mut findings: Vec<check::Finding>) -> Vec<check::Finding> {
    findings.extend(check::check(zone));
    findings
}

/// Opens an image, saying which one failed.
pub fn open_image(path: &Path) -> Result<Image> {
    Image::open(path).with_context(|| format!("opening zone image {}", path.display()))
}

/// Loads a zone from an image or a master file, telling them apart by the image magic.
pub fn load_any(path: &Path) -> Result<Zone> {
    let mut magic = [0u8; 8];
    let is_image = File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && &magic == image::format::MAGIC;
    if is_image {
        return Ok(open_image(path)?.to_zone()?);
    }
    let (zone, findings) = read_zone(path, None)?;
    if let Some(error) = findings
        .iter()
        .find(|f| f.severity == check::Severity::Error)
    {
        bail!("{}: {error}", path.display());
    }
    Ok(zone)
}
