//! `zonefiles keygen` and `zonefiles sign`: DNSSEC keys in BIND's files, and a master file
//! signed with them (`zonefiles::sign`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use zonefiles::Name;
use zonefiles::sign::keys::{
    self, Algorithm, KeyPair, Private, SECURE_ENTRY_POINT, Signer, ZONE_KEY,
};
use zonefiles::sign::pkcs11::{Pkcs11Key, Uri};
use zonefiles::sign::{Denial, Policy, sign_zone};

use crate::read;

/// Makes a key and writes it as BIND's `.key` and `.private` files in `folder`: in the
/// files, or in a PKCS#11 token named by `pkcs11` (a URI whose PIN comes from a file).
pub fn keygen(
    zone: &Name,
    algorithm: u8,
    ksk: bool,
    folder: &Path,
    pkcs11: Option<&str>,
) -> Result<ExitCode> {
    let algorithm = Algorithm::from_number(algorithm)?;
    let flags = if ksk { SECURE_ENTRY_POINT } else { ZONE_KEY };
    // BIND's timestamps: YYYYMMDDhhmmss.
    let now: String = zonefiles::calendar::date_time(now())
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let path = match pkcs11 {
        None => {
            let pair = KeyPair::generate(algorithm)?;
            keys::write_bind(folder, zone, flags, Private::InFile(&pair), &now)
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
            keys::write_bind(
                folder,
                zone,
                flags,
                Private::InToken {
                    uri: text.to_owned(),
                    algorithm,
                    public: &public,
                },
                &now,
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

/// What `sign` is told.
pub struct SignArgs {
    /// The master file.
    pub zone: PathBuf,
    /// The keys' files.
    pub keys: Vec<PathBuf>,
    /// Where the signed master file goes.
    pub output: PathBuf,
    /// NSEC rather than NSEC3.
    pub nsec: bool,
    /// NSEC3 without opt-out.
    pub no_opt_out: bool,
    /// Days a signature is valid.
    pub validity_days: u32,
    /// The zone's name (default: the owner of the first SOA).
    pub origin: Option<Name>,
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
        .map(|k| keys::read_bind(k).with_context(|| format!("reading the key {}", k.display())))
        .collect::<Result<Vec<_>>>()?;
    let (zone, findings) = read::read_zone(&args.zone, args.origin)?;
    let findings = read::all_findings(&zone, findings);
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
    let signed = sign_zone(&zone, &keys, &policy, now() as u64)?;
    let took = started.elapsed();
    let mut bytes = Vec::new();
    zonefiles::master::write_zone(&signed, &mut bytes)?;
    zonefiles::atomic::write_atomically(&args.output, &bytes)
        .with_context(|| format!("writing {}", args.output.display()))?;
    let count = |t: zonefiles::RecordType| signed.records().iter().filter(|r| r.rtype == t).count();
    eprintln!(
        "{}: {} records, {} signatures, {} {} in {:.2} s",
        args.output.display(),
        signed.records().len(),
        count(zonefiles::RecordType::RRSIG),
        count(zonefiles::RecordType::NSEC) + count(zonefiles::RecordType::NSEC3),
        if args.nsec { "NSEC" } else { "NSEC3" },
        took.as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
