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
    Keygen {
        /// The zone.
        zone: Name,
        /// The algorithm: 13 (ECDSAP256SHA256) or 15 (ED25519).
        #[arg(long, default_value_t = 13)]
        algorithm: u8,
        /// A key-signing key (flags 257: it signs the DNSKEY RRset; alone, a CSK); by
        /// default a zone-signing key (256).
        #[arg(long)]
        ksk: bool,
        /// The folder for the files.
        #[arg(short, long, default_value = ".")]
        output: PathBuf,
        /// Make the key in a PKCS#11 token (an HSM; algorithm 13), named by an RFC 7512 URI:
        /// `pkcs11:token=<label>;object=<label>?module-path=<library>&pin-source=<file>`. The
        /// private key never leaves the token; the `.private` file holds the URI.
        #[arg(long)]
        pkcs11: Option<String>,
    },
    /// Print the DS records (SHA-256) of keys, for the zone's parent, as `dnssec-dsfromkey`
    /// does; by default of the zone's KSKs in the folder.
    Ds {
        /// The zone.
        zone: Name,
        /// The folder of the zone's key files.
        #[arg(short = 'K', long, default_value = ".")]
        keys: PathBuf,
        /// Every key, not only those with the secure entry point bit.
        #[arg(long)]
        all: bool,
    },
    /// Roll a zone's ZSKs by pre-publication (RFC 7583): set the keys' times in BIND's files
    /// and make the next ZSK when it is due. Idempotent: run it regularly (a timer), then sign.
    Rollover {
        /// The zone.
        zone: Name,
        /// The folder of the zone's key files.
        #[arg(short = 'K', long, default_value = ".")]
        keys: PathBuf,
        /// Days a ZSK signs.
        #[arg(long, default_value_t = 90)]
        zsk_lifetime_days: u64,
        /// The DNSKEY set's TTL (seconds).
        #[arg(long, default_value_t = 3600)]
        dnskey_ttl: u64,
        /// The largest TTL of the zone's records (seconds).
        #[arg(long, default_value_t = 86_400)]
        max_ttl: u64,
        /// How long a change takes to reach every server of the zone (seconds).
        #[arg(long, default_value_t = 3600)]
        propagation: u64,
        /// A margin added to each interval (seconds).
        #[arg(long, default_value_t = 3600)]
        safety: u64,
        /// Days before a ZSK's end its successor is published: run this command at least this
        /// often.
        #[arg(long, default_value_t = 7)]
        lead_days: u64,
        /// Plan as at this time (`YYYYMMDDhhmmss`, UTC) rather than now: to prepare or rehearse.
        #[arg(long, value_parser = bind_time)]
        at: Option<u64>,
    },
    /// Sign a master file with DNSSEC (NSEC3 with opt-out, no extra iteration, no salt, by
    /// default), on every core; the zone is checked first.
    Sign {
        /// The master file.
        zone: PathBuf,
        /// A key's file (`.key` or `.private`), from `zonefiles keygen` or BIND's
        /// `dnssec-keygen`; give a KSK and a ZSK, or one CSK.
        #[arg(long = "key", required = true)]
        keys: Vec<PathBuf>,
        /// Where to write the signed master file (replaced atomically).
        #[arg(short, long)]
        output: PathBuf,
        /// NSEC rather than NSEC3 (small zones).
        #[arg(long)]
        nsec: bool,
        /// NSEC3 without opt-out: every delegation in the chain.
        #[arg(long)]
        no_opt_out: bool,
        /// Days a signature is valid (each RRset's shortened by up to a seventh, so that
        /// re-signing spreads out).
        #[arg(long, default_value_t = 14)]
        validity_days: u32,
        /// The zone's name (default: the owner of the first SOA).
        #[arg(long)]
        origin: Option<Name>,
        /// Sign as at this time (`YYYYMMDDhhmmss`, UTC) rather than now: which keys are
        /// published and active, and the signatures' validity, follow it.
        #[arg(long, value_parser = bind_time)]
        at: Option<u64>,
    },
    /// Create an empty journal that follows a zone image.
    InitJournal {
        /// The zone image the journal follows.
        image: PathBuf,
        /// The journal to create (replaced atomically).
        journal: PathBuf,
    },
}

/// A time as BIND's key files write it, `YYYYMMDDhhmmss` (UTC).
fn bind_time(text: &str) -> Result<u64, String> {
    zonefiles::sign::keys::bind_time(text).ok_or_else(|| format!("{text:?} is not YYYYMMDDhhmmss"))
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
        Command::Keygen {
            zone,
            algorithm,
            ksk,
            output,
            pkcs11,
        } => sign::keygen(&zone, algorithm, ksk, &output, pkcs11.as_deref()),
        Command::Ds { zone, keys, all } => sign::ds(&zone, &keys, all),
        Command::Rollover {
            zone,
            keys,
            zsk_lifetime_days,
            dnskey_ttl,
            max_ttl,
            propagation,
            safety,
            lead_days,
            at,
        } => sign::rollover(
            &zone,
            &keys,
            &zonefiles::sign::rollover::Rollover {
                zsk_lifetime: zsk_lifetime_days * 86_400,
                dnskey_ttl,
                max_ttl,
                propagation,
                safety,
                lead: lead_days * 86_400,
            },
            at,
        ),
        Command::Sign {
            zone,
            keys,
            output,
            nsec,
            no_opt_out,
            validity_days,
            origin,
            at,
        } => sign::sign(sign::SignArgs {
            zone,
            keys,
            output,
            nsec,
            no_opt_out,
            validity_days,
            origin,
            at,
        }),
    }
}
