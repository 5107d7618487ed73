//! `zonefiles keygen`, `ds`, `rollover` and `sign`: DNSSEC keys in BIND's files (or a PKCS#11
//! token), the DS records for the parent, the keys' rollover as key times, and a master file
//! signed with them (`zonefiles::sign`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use zonefiles::Name;
use zonefiles::sign::bind::{self, BindKey, Private, Secret};
use zonefiles::sign::keys::{
    self, Algorithm, KeyPair, SECURE_ENTRY_POINT, Signer, Timing, ZONE_KEY,
};
use zonefiles::sign::pkcs11::{Pkcs11Key, Uri};
use zonefiles::sign::rollover::{self, Rollover, Step};
use zonefiles::sign::{Denial, Policy, sign_zone};

use crate::read;

/// `zonefiles keygen`'s arguments.
#[derive(clap::Args)]
pub struct KeygenArgs {
    /// The zone.
    pub zone: Name,
    /// The algorithm: 13 (ECDSAP256SHA256) or 15 (ED25519).
    #[arg(long, default_value_t = 13)]
    pub algorithm: u8,
    /// A key-signing key (flags 257: it signs the DNSKEY RRset; alone, a CSK); by
    /// default a zone-signing key (256).
    #[arg(long)]
    pub ksk: bool,
    /// The folder for the files.
    #[arg(short, long, default_value = ".")]
    pub output: PathBuf,
    /// Make the key in a PKCS#11 token (an HSM; algorithm 13), named by an RFC 7512 URI:
    /// `pkcs11:token=<label>;object=<label>?module-path=<library>&pin-source=<file>`. The
    /// private key never leaves the token; the `.private` file holds the URI.
    #[arg(long)]
    pkcs11: Option<String>,
}

/// `zonefiles ds`'s arguments.
#[derive(clap::Args)]
pub struct DsArgs {
    /// The zone.
    pub zone: Name,
    /// The folder of the zone's key files.
    #[arg(short = 'K', long, default_value = ".")]
    pub keys: PathBuf,
    /// Every key, not only those with the secure entry point bit.
    #[arg(long)]
    pub all: bool,
}

/// `zonefiles rollover`'s arguments.
#[derive(clap::Args)]
pub struct RolloverArgs {
    /// The zone.
    pub zone: Name,
    /// The folder of the zone's key files.
    #[arg(short = 'K', long, default_value = ".")]
    pub keys: PathBuf,
    /// Days a ZSK signs.
    #[arg(long, default_value_t = 90)]
    pub zsk_lifetime_days: u64,
    /// The DNSKEY set's TTL (seconds).
    #[arg(long, default_value_t = 3600)]
    pub dnskey_ttl: u64,
    /// The largest TTL of the zone's records (seconds).
    #[arg(long, default_value_t = 86_400)]
    pub max_ttl: u64,
    /// How long a change takes to reach every server of the zone (seconds).
    #[arg(long, default_value_t = 3600)]
    pub propagation: u64,
    /// A margin added to each interval (seconds).
    #[arg(long, default_value_t = 3600)]
    pub safety: u64,
    /// Days before a ZSK's end its successor is published: run this command at least this
    /// often.
    #[arg(long, default_value_t = 7)]
    pub lead_days: u64,
    /// Plan as at this time (`YYYYMMDDhhmmss`, UTC) rather than now: to prepare or rehearse.
    #[arg(long, value_parser = bind_time)]
    pub at: Option<u64>,
}

/// `zonefiles sign`'s arguments.
#[derive(clap::Args)]
pub struct SignArgs {
    /// The master file.
    pub zone: PathBuf,
    /// A key's file (`.key` or `.private`), from `zonefiles keygen` or BIND's
    /// `dnssec-keygen`; give a KSK and a ZSK, or one CSK.
    #[arg(long = "key", required = true)]
    pub keys: Vec<PathBuf>,
    /// Where to write the signed master file (replaced atomically).
    #[arg(short, long)]
    pub output: PathBuf,
    /// NSEC rather than NSEC3 (small zones).
    #[arg(long)]
    pub nsec: bool,
    /// NSEC3 without opt-out: every delegation in the chain.
    #[arg(long)]
    pub no_opt_out: bool,
    /// Days a signature is valid (each RRset's shortened by up to a seventh, so that
    /// re-signing spreads out).
    #[arg(long, default_value_t = 14)]
    pub validity_days: u32,
    /// The zone's name (default: the owner of the first SOA).
    #[arg(long)]
    pub origin: Option<Name>,
    /// Sign as at this time (`YYYYMMDDhhmmss`, UTC) rather than now: which keys are
    /// published and active, and the signatures' validity, follow it.
    #[arg(long, value_parser = bind_time)]
    pub at: Option<u64>,
}

/// A time as BIND's key files write it, `YYYYMMDDhhmmss` (UTC).
fn bind_time(text: &str) -> Result<u64, String> {
    bind::bind_time(text).ok_or_else(|| format!("{text:?} is not YYYYMMDDhhmmss"))
}

/// Makes a key and writes it as BIND's `.key` and `.private` files in the output folder: in
/// the files, or in a PKCS#11 token named by `--pkcs11` (a URI whose PIN comes from a file).
pub fn keygen(args: KeygenArgs) -> Result<ExitCode> {
    let (zone, folder) = (&args.zone, args.output.as_path());
    let algorithm = Algorithm::from_number(args.algorithm)?;
    let flags = if args.ksk {
        SECURE_ENTRY_POINT
    } else {
        ZONE_KEY
    };
    let now = now() as u64;
    let timing = Timing {
        publish: Some(now),
        activate: Some(now),
        ..Timing::default()
    };
    let path = match args.pkcs11.as_deref() {
        None => {
            let pair = KeyPair::generate(algorithm)?;
            bind::write_bind(folder, zone, flags, Private::InFile(&pair), now, &timing)
        }
        Some(text) => {
            if algorithm != Algorithm::EcdsaP256Sha256 {
                bail!("keys in a token are ECDSAP256SHA256 (--algorithm 13)");
            }
            if !text.contains("pin-source=") {
                bail!("name the PIN with pin-source=<file> in the URI: the key files keep the URI");
            }
            let uri = Uri::parse(text)?;
            let key = Pkcs11Key::generate(&uri)?;
            let public = key.public_key().to_vec();
            bind::write_bind(
                folder,
                zone,
                flags,
                Private::InToken {
                    uri: text.to_owned(),
                    algorithm,
                    public: &public,
                },
                now,
                &timing,
            )
        }
    }
    .with_context(|| format!("writing the key into {}", folder.display()))?;
    let path = path.to_string_lossy();
    println!("{}", path.strip_suffix(".private").unwrap_or(&path));
    Ok(ExitCode::SUCCESS)
}

/// Seconds since 1970.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Signs a master file.
pub fn sign(args: SignArgs) -> Result<ExitCode> {
    if args.keys.is_empty() {
        bail!(
            "give the zone's keys with --key (a KSK and a ZSK, or one CSK): `zonefiles keygen` makes them"
        );
    }
    let keys = args
        .keys
        .iter()
        .map(|k| bind::read_bind(k).with_context(|| format!("reading the key {}", k.display())))
        .collect::<Result<Vec<_>>>()?;
    let started = Instant::now();
    let (zone, findings) = read::read_zone(&args.zone, args.origin)?;
    let findings = read::all_findings(&zone, findings);
    let read = started.elapsed();
    if findings
        .iter()
        .any(|f| f.severity == zonefiles::check::Severity::Error)
    {
        for line in read::shown(&findings, false) {
            eprintln!("{line}");
        }
        bail!("{} has errors: not signed", args.zone.display());
    }
    let policy = Policy {
        denial: match (args.nsec, args.no_opt_out) {
            (true, _) => Denial::Nsec,
            (false, no_opt_out) => Denial::Nsec3 {
                iterations: 0,
                salt: Vec::new(),
                opt_out: !no_opt_out,
            },
        },
        validity: args.validity_days.max(1) * 86_400,
        jitter: (args.validity_days.max(1) * 86_400) / 7,
        ..Policy::default()
    };
    let started = Instant::now();
    let signed = sign_zone(&zone, &keys, &policy, args.at.unwrap_or(now() as u64))?;
    let took = started.elapsed();
    drop(zone);
    let started = Instant::now();
    let mut bytes = Vec::new();
    zonefiles::master::write_zone(&signed, &mut bytes)?;
    zonefiles::atomic::write_atomically(&args.output, &bytes)
        .with_context(|| format!("writing {}", args.output.display()))?;
    let written = started.elapsed();
    let count = |t: zonefiles::RecordType| signed.records().iter().filter(|r| r.rtype == t).count();
    eprintln!(
        "{}: {} records, {} signatures, {} {}; read and checked in {:.2} s, signed in {:.2} s, \
         written in {:.2} s",
        args.output.display(),
        signed.records().len(),
        count(zonefiles::RecordType::RRSIG),
        count(zonefiles::RecordType::NSEC) + count(zonefiles::RecordType::NSEC3),
        if args.nsec { "NSEC" } else { "NSEC3" },
        read.as_secs_f64(),
        took.as_secs_f64(),
        written.as_secs_f64(),
    );
    Ok(ExitCode::SUCCESS)
}

/// Rolls a zone's ZSKs by pre-publication: reads the keys in the folder, sets the times the plan
/// says in their `.private` files and makes the next ZSK when it is due (in the files, or in
/// the token of the ZSK it follows); prints what it did.
pub fn rollover(args: RolloverArgs) -> Result<ExitCode> {
    let (zone, folder, at) = (&args.zone, args.keys.as_path(), args.at);
    let policy = &Rollover {
        zsk_lifetime: args.zsk_lifetime_days * 86_400,
        dnskey_ttl: args.dnskey_ttl,
        max_ttl: args.max_ttl,
        propagation: args.propagation,
        safety: args.safety,
        lead: args.lead_days * 86_400,
    };
    let mut zsks: Vec<(PathBuf, BindKey)> = zone_keys(zone, folder)?
        .into_iter()
        .filter(|(_, k)| k.flags & 1 == 0)
        .collect();
    zsks.sort_by_key(|(_, k)| k.timing.activate);
    let timings: Vec<Timing> = zsks.iter().map(|(_, k)| k.timing).collect();
    let now = at.unwrap_or(now() as u64);
    let steps = rollover::plan(policy, &timings, now);
    for step in &steps {
        match *step {
            Step::Set(i, timing) => {
                let (path, _) = &zsks[i];
                bind::set_timing(path, &timing)?;
                println!("{}: {}", path.display(), describe(&timing));
            }
            Step::Generate(timing) => {
                // The successor is made where the key it follows is: in its token, or in files.
                let last = zsks.last().map(|(_, k)| k);
                let path = match last.map(|k| &k.secret) {
                    Some(Secret::Token(uri)) => {
                        let zonefiles::sign::pkcs11::Pin::File(pin) = &uri.pin else {
                            bail!(
                                "the ZSK's token URI names its PIN by value: use pin-source=<file>"
                            );
                        };
                        let next = zonefiles::sign::pkcs11::Uri {
                            object: format!(
                                "{}-zsk-{}",
                                zone.to_string().trim_end_matches('.'),
                                now
                            ),
                            ..uri.clone()
                        };
                        let key = Pkcs11Key::generate(&next)?;
                        let public = key.public_key().to_vec();
                        let text = next.to_text(Path::new(pin));
                        bind::write_bind(
                            folder,
                            zone,
                            ZONE_KEY,
                            Private::InToken {
                                uri: text,
                                algorithm: Algorithm::EcdsaP256Sha256,
                                public: &public,
                            },
                            now,
                            &timing,
                        )?
                    }
                    _ => {
                        let algorithm = last.map_or(Algorithm::EcdsaP256Sha256, |k| k.algorithm);
                        let pair = KeyPair::generate(algorithm)?;
                        bind::write_bind(
                            folder,
                            zone,
                            ZONE_KEY,
                            Private::InFile(&pair),
                            now,
                            &timing,
                        )?
                    }
                };
                println!("{}: new ZSK, {}", path.display(), describe(&timing));
            }
        }
    }
    if steps.is_empty() {
        println!("nothing to do: the ZSKs' times are set");
    }
    Ok(ExitCode::SUCCESS)
}

/// The times set, in words.
fn describe(timing: &Timing) -> String {
    [
        ("published", timing.publish),
        ("signs from", timing.activate),
        ("stops signing", timing.inactive),
        ("removed", timing.delete),
    ]
    .iter()
    .filter_map(|(what, t)| {
        Some(format!(
            "{what} {}",
            zonefiles::calendar::date_time((*t)? as i64)
        ))
    })
    .collect::<Vec<_>>()
    .join(", ")
}

/// The keys of a zone in a folder, read but not opened.
fn zone_keys(zone: &Name, folder: &Path) -> Result<Vec<(PathBuf, BindKey)>> {
    bind::zone_keys(zone, folder)
        .with_context(|| format!("the keys of {zone} in {}", folder.display()))
}

/// Prints the DS records of the zone's keys in the folder (its KSKs, or every key).
pub fn ds(args: DsArgs) -> Result<ExitCode> {
    let (zone, folder, all) = (&args.zone, args.keys.as_path(), args.all);
    let owner = zone.to_string().to_ascii_lowercase();
    let mut printed = 0;
    for (_, key) in zone_keys(zone, folder)? {
        if !all && key.flags & 1 == 0 {
            continue;
        }
        let dnskey = keys::dnskey_rdata(key.flags, key.algorithm, &key.public);
        let ds = keys::ds_rdata(zone, &dnskey);
        println!(
            "{owner} IN DS {} {} {} {}",
            u16::from_be_bytes([ds[0], ds[1]]),
            ds[2],
            ds[3],
            data_encoding::HEXUPPER.encode(&ds[4..])
        );
        printed += 1;
    }
    if printed == 0 {
        bail!(
            "no {} of {owner} in {}",
            if all { "key" } else { "KSK" },
            folder.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
