//! `zonefiles`: check, compile, dump, diff, verify, compact and sign zones; one module per family of
//! subcommands, over the `zonefiles` library.

mod check;
mod dir;
mod image;
mod journal;
mod read;
mod sign;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use zonefiles::Name;

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
        action: dir::Action,
    },
    /// Make a DNSSEC key for a zone, written as BIND's `K<zone>.+<alg>+<tag>.key` and
    /// `.private` (mode 0600); prints the files' base name.
    Keygen(sign::KeygenArgs),
    /// Print the DS records (SHA-256) of keys, for the zone's parent, as `dnssec-dsfromkey`
    /// does; by default of the zone's KSKs in the folder.
    Ds(sign::DsArgs),
    /// Roll a zone's ZSKs by pre-publication (RFC 7583): set the keys' times in BIND's files
    /// and make the next ZSK when it is due. Idempotent: run it regularly (a timer), then sign.
    Rollover(sign::RolloverArgs),
    /// Sign a master file with DNSSEC (NSEC3 with opt-out, no extra iteration, no salt, by
    /// default), on every core; the zone is checked first.
    Sign(sign::SignArgs),
    /// Create an empty journal that follows a zone image.
    InitJournal {
        /// The zone image the journal follows.
        image: PathBuf,
        /// The journal to create (replaced atomically).
        journal: PathBuf,
    },
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
            all_findings,
        } => check::check(&zone, origin, all_findings),
        Command::Compile {
            zone,
            output,
            temp_dir,
            origin,
            quiet,
            all_findings,
        } => check::compile(&zone, &output, temp_dir, origin, quiet, all_findings),
        Command::Dump { image, output } => image::dump(&image, output.as_deref()),
        Command::Diff {
            old,
            new,
            journal,
            summary,
        } => journal::diff(&old, &new, journal.as_deref(), summary),
        Command::Lookup { image, name, rtype } => image::lookup(&image, name, rtype),
        Command::Verify { image } => image::verify(&image),
        Command::Compact {
            image,
            journal,
            output,
        } => journal::compact(&image, &journal, &output),
        Command::Dir { action } => dir::run(action),
        Command::InitJournal { image, journal } => journal::init(&image, &journal),
        Command::Keygen(args) => sign::keygen(args),
        Command::Ds(args) => sign::ds(args),
        Command::Rollover(args) => sign::rollover(args),
        Command::Sign(args) => sign::sign(args),
    }
}
