//! `zonefiles`: check, compile, dump, diff, verify and compact zones.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use zonefiles::check::{self, has_errors};
use zonefiles::image::Find;
use zonefiles::image::{self, Image};
use zonefiles::journal::Journal;
use zonefiles::master::{self, ParseOptions};
use zonefiles::spill::RunNodes;
use zonefiles::{Class, Name, Record, RecordType, Zone, changeset, rdata};

/// Zone tooling for Constellation: master files, compiled zone images and journals.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a master file like named-checkzone; exit status 1 if it has errors.
    Check {
        /// The master file.
        zone: PathBuf,
        /// The zone's name (default: the owner of the first SOA).
        #[arg(long)]
        origin: Option<Name>,
        /// Print every finding (by default the first few of each rule, then a count).
        #[arg(long)]
        all_findings: bool,
    },
    /// Check and compile a master file into a zone image. The records are sorted on disk in
    /// runs and merged, so memory stays bounded whatever the zone's size.
    Compile {
        /// The master file.
        zone: PathBuf,
        /// Where to write the image (replaced atomically).
        #[arg(short, long)]
        output: PathBuf,
        /// Where the sorted runs of records go while compiling, as unnamed files that vanish
        /// when done (about the size of the master file; default: the output's folder).
        #[arg(long)]
        temp_dir: Option<PathBuf>,
        /// The zone's name (default: the owner of the first SOA).
        #[arg(long)]
        origin: Option<Name>,
        /// Do not draw progress bars.
        #[arg(long)]
        quiet: bool,
        /// Print every finding (by default the first few of each rule, then a count).
        #[arg(long)]
        all_findings: bool,
    },
    /// Write a zone image back as a master file.
    Dump {
        /// The zone image.
        image: PathBuf,
        /// Where to write (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Show the changeset from one zone to another (images or master files), IXFR style.
    Diff {
        /// The old zone.
        old: PathBuf,
        /// The new zone.
        new: PathBuf,
        /// Also append the changeset to this journal.
        #[arg(long)]
        journal: Option<PathBuf>,
        /// Print only the counts.
        #[arg(long)]
        summary: bool,
    },
    /// Show where a name falls in a compiled zone and the records found there.
    Lookup {
        /// The zone image.
        image: PathBuf,
        /// The name to look up.
        name: Name,
        /// Only this record type.
        #[arg(long = "type")]
        rtype: Option<String>,
    },
    /// Check a zone image's digest and structure.
    Verify {
        /// The zone image.
        image: PathBuf,
    },
    /// Fold an image and its journal into a new image and rebase the journal on it.
    Compact {
        /// The current zone image.
        image: PathBuf,
        /// Its journal.
        journal: PathBuf,
        /// Where to write the new image (replaced atomically).
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Work on a satellite's zone directory (image, journal and CURRENT pointer).
    Dir {
        #[command(subcommand)]
        action: DirAction,
    },
    /// Create an empty journal that follows a zone image.
    InitJournal {
        /// The zone image the journal follows.
        image: PathBuf,
        /// The journal to create (replaced atomically).
        journal: PathBuf,
    },
}

#[derive(Subcommand)]
enum DirAction {
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

/// Findings shown by default for each rule broken.
const FIRST_FINDINGS: usize = 5;

/// The lines to print for the findings: every one, or a summary by rule.
fn shown(findings: &[check::Finding], every: bool) -> Vec<String> {
    if every {
        findings.iter().map(ToString::to_string).collect()
    } else {
        check::summary(findings, FIRST_FINDINGS)
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("zonefiles: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Check {
            zone,
            origin,
            all_findings: every,
        } => {
            let started = Instant::now();
            let (zone, findings) = read_zone(&zone, origin, None)?;
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
        Command::Compile {
            zone: path,
            output,
            temp_dir,
            origin,
            quiet,
            all_findings: every,
        } => {
            let started = Instant::now();
            let temp_dir = temp_dir.unwrap_or_else(|| match output.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
                _ => PathBuf::from("."),
            });
            let (compiled, findings, read) = compile_master_file(&path, origin, &temp_dir, quiet)?;
            for line in shown(&findings, every) {
                eprintln!("{line}");
            }
            if has_errors(&findings) {
                bail!("{} has errors; fix them and compile again", path.display());
            }
            let compiled = compiled?;
            let checked = started.elapsed();
            image::write_atomically_with(&output, |out| compiled.write_to(out))
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
        Command::Dump { image, output } => {
            let zone = open_image(&image)?.to_zone()?;
            match output {
                Some(path) => {
                    let mut out = BufWriter::new(
                        File::create(&path)
                            .with_context(|| format!("creating {}", path.display()))?,
                    );
                    master::write_zone(&zone, &mut out)?;
                    out.flush()?;
                }
                None => {
                    let mut out = BufWriter::new(std::io::stdout().lock());
                    master::write_zone(&zone, &mut out)?;
                    out.flush()?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Diff {
            old,
            new,
            journal,
            summary,
        } => {
            let old = load_any(&old)?;
            let new = load_any(&new)?;
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
                let (mut journal, _) = Journal::open(&path)?;
                journal.append(&cs)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Lookup { image, name, rtype } => {
            let img = open_image(&image)?;
            let only = match rtype {
                Some(text) => Some(
                    RecordType::from_text(text.as_bytes())
                        .with_context(|| format!("unknown record type {text}"))?,
                ),
                None => None,
            };
            let suffix = |offset: usize| Name::from_wire(&name.as_wire()[offset..]).map(|n| n.0);
            let (node, owner) = match img.find(&name)? {
                Find::Exact(node) => {
                    println!("{name}: exists{}", describe(&node));
                    (node, name.clone())
                }
                Find::Referral { cut, offset } => {
                    let cut_name = suffix(offset)?;
                    println!("{name}: referral to the delegation {cut_name}");
                    (cut, cut_name)
                }
                Find::Dname { owner, offset } => {
                    let owner_name = suffix(offset)?;
                    println!("{name}: below the DNAME at {owner_name}");
                    (owner, owner_name)
                }
                Find::Wildcard { source, offset, .. } => {
                    let wildcard = suffix(offset)?.child(b"*")?;
                    println!("{name}: synthesised from {wildcard}");
                    (source, wildcard)
                }
                Find::NxDomain { offset, .. } => {
                    println!(
                        "{name}: does not exist (closest encloser {})",
                        suffix(offset)?
                    );
                    return Ok(ExitCode::from(1));
                }
                Find::OutOfZone => {
                    println!("{name}: not in the zone {}", img.origin());
                    return Ok(ExitCode::from(1));
                }
            };
            for rrset in node.rrsets() {
                let (rtype, rrset) = rrset?;
                if only.is_some_and(|t| t != rtype) {
                    continue;
                }
                let records: Vec<&[u8]> = rrset.records().collect::<Result<_, _>>()?;
                for rdata in &records {
                    let record = Record {
                        owner: owner.clone(),
                        rtype,
                        class: img.class(),
                        ttl: rrset.ttl(),
                        rdata: (*rdata).into(),
                    };
                    println!("{record}");
                }
                for entry in rrset.additionals() {
                    let (index, a, aaaa) = entry?;
                    // A damaged image may name a record the RRset does not have.
                    let Some(target) = records
                        .get(index)
                        .and_then(|rdata| rdata::name_field(rtype, rdata, additional_field(rtype)))
                    else {
                        continue;
                    };
                    for (glue_type, glue) in [(RecordType::A, a), (RecordType::AAAA, aaaa)] {
                        for rdata in glue.iter().flat_map(|g| g.records()) {
                            let record = Record {
                                owner: target.clone(),
                                rtype: glue_type,
                                class: img.class(),
                                ttl: glue.map_or(0, |g| g.ttl()),
                                rdata: rdata?.into(),
                            };
                            println!("; additional: {record}");
                        }
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { image } => {
            let started = Instant::now();
            let img = open_image(&image)?;
            img.verify()
                .with_context(|| format!("verifying {}", image.display()))?;
            let h = img.header();
            println!(
                "{}: ok — zone {}, serial {}, {} names, {} RRsets, {} records, digest {} ({:.2?})",
                image.display(),
                img.origin(),
                img.serial(),
                h.nodes,
                h.rrsets,
                h.records,
                hex(&img.digest()),
                started.elapsed()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Compact {
            image,
            journal,
            output,
        } => {
            let img = open_image(&image)?;
            let (mut journal, recovery) = Journal::open(&journal)?;
            if let Some(reason) = recovery.reason {
                eprintln!("journal: cut {} bytes: {reason}", recovery.cut_bytes);
            }
            let done = zonefiles::journal::compact(&img, &mut journal, &output)?;
            println!(
                "{}: serial {}, {} changesets folded, {} bytes",
                output.display(),
                done.serial,
                done.changesets,
                done.bytes
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Dir { action } => dir(action),
        Command::InitJournal { image, journal } => {
            let img = open_image(&image)?;
            Journal::create(&journal, img.origin(), img.serial())?;
            println!(
                "{}: empty journal after serial {}",
                journal.display(),
                img.serial()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn dir(action: DirAction) -> Result<ExitCode> {
    use zonefiles::zonedir::ZoneDir;
    match action {
        DirAction::Init { dir, zone, origin } => {
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
        DirAction::Update { dir, zone } => {
            let zd = ZoneDir::open(&dir)?;
            let snapshot = zd.load()?;
            let mut current = snapshot.image.to_zone()?;
            if let Some(net) = changeset::compose(&snapshot.changesets)? {
                current = changeset::apply(current, &net)?;
            }
            let (next, findings) = read_zone(&zone, Some(current.origin().clone()), None)?;
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
        DirAction::Compact { dir, keep } => match ZoneDir::open(&dir)?.compact(keep)? {
            Some(done) => println!(
                "{}: serial {}, {} changesets folded, {} bytes",
                dir.display(),
                done.serial,
                done.changesets,
                done.bytes
            ),
            None => println!("{}: nothing to fold", dir.display()),
        },
        DirAction::Status { dir } => {
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
fn compile_master_file(
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

fn read_zone(
    path: &Path,
    origin: Option<Name>,
    bar: Option<&ProgressBar>,
) -> Result<(Zone, Vec<check::Finding>)> {
    let options = ParseOptions {
        origin: origin.clone(),
        ..ParseOptions::default()
    };
    let records = master::read_parallel(path, options, threads(), &|done| {
        if let Some(bar) = bar {
            bar.set_position(done);
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(Zone::from_records(origin, Class::IN, records))
}

fn all_findings(zone: &Zone, mut findings: Vec<check::Finding>) -> Vec<check::Finding> {
    findings.extend(check::check(zone));
    findings
}

fn open_image(path: &Path) -> Result<Image> {
    Image::open(path).with_context(|| format!("opening zone image {}", path.display()))
}

/// Loads a zone from an image or a master file, telling them apart by the image magic.
fn load_any(path: &Path) -> Result<Zone> {
    let mut magic = [0u8; 8];
    let is_image = File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && &magic == image::format::MAGIC;
    if is_image {
        return Ok(open_image(path)?.to_zone()?);
    }
    let (zone, findings) = read_zone(path, None, None)?;
    if let Some(error) = findings
        .iter()
        .find(|f| f.severity == check::Severity::Error)
    {
        bail!("{}: {error}", path.display());
    }
    Ok(zone)
}

fn describe(node: &zonefiles::image::Node<'_>) -> String {
    let mut what = Vec::new();
    if node.is_apex() {
        what.push("zone apex");
    }
    if node.is_delegation() {
        what.push("delegation point");
    }
    if node.is_empty_non_terminal() {
        what.push("empty non-terminal");
    }
    if what.is_empty() {
        String::new()
    } else {
        format!(" ({})", what.join(", "))
    }
}

fn additional_field(rtype: RecordType) -> usize {
    rdata::schema::additional_name_field(rtype).unwrap_or(0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
