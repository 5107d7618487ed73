//! BIND's key files (`K<zone>.+<alg>+<tag>.key` and `.private`, v1.3): keys made by
//! `dnssec-keygen` sign here and keys made here sign with BIND's tools; the timing metadata
//! `dnssec-settime` writes; and keys in a token, named by a PKCS#11 URI in the `.private` file
//! (`Engine: pkcs11`, `Label: pkcs11:…`). Reading ([`from_bind`]) opens nothing; a key is opened
//! ([`BindKey::open`]) when it is to sign.

use std::fmt;
use std::path::{Path, PathBuf};

use super::keys::{Algorithm, KeyError, KeyPair, Signer, Timing, ZoneKey, dnskey_rdata, key_tag};
use crate::name::Name;

/// BIND's base name of a key's files: `K<zone>.+<alg>+<tag>`.
pub fn bind_name(zone: &Name, algorithm: Algorithm, tag: u16) -> String {
    let zone = zone.to_string().to_ascii_lowercase();
    format!("K{zone}+{:03}+{tag:05}", algorithm.number())
}

/// The keys of a zone in a folder (BIND's `K<zone>.+…` files, as `dnssec-keygen -K` and
/// `zonefiles keygen` write them), read but not opened, each with its `.private` file's path,
/// in the order of their names.
pub fn zone_keys(zone: &Name, folder: &Path) -> Result<Vec<(PathBuf, BindKey)>, KeyError> {
    let prefix = bind_name(zone, Algorithm::EcdsaP256Sha256, 0);
    let prefix = &prefix[..prefix.find('+').unwrap_or(prefix.len())];
    let failed = |path: &Path, e: std::io::Error| KeyError::File {
        path: path.display().to_string(),
        why: e.to_string(),
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(folder).map_err(|e| failed(folder, e))? {
        let path = entry.map_err(|e| failed(folder, e))?.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let Some(base) = name.strip_suffix(".private") else {
            continue;
        };
        if !base.starts_with(prefix) || !base[prefix.len()..].starts_with('+') {
            continue;
        }
        let read = |ext: &str| {
            let file = folder.join(format!("{base}.{ext}"));
            std::fs::read_to_string(&file).map_err(|e| failed(&file, e))
        };
        let key = from_bind(&read("key")?, &read("private")?).map_err(|e| KeyError::File {
            path: base.to_string(),
            why: e.to_string(),
        })?;
        found.push((path, key));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// Applies a KSK rollover by double DS to a zone's keys in `folder` ([`super::rollover::plan_ksk`],
/// switching at `switch`): the successor is made in files, with the current KSK's algorithm;
/// the current KSKs' times are set. Returns the successor's base path, or `None` when one was
/// waiting already.
pub fn roll_ksk(
    folder: &Path,
    zone: &Name,
    now: u64,
    switch: u64,
) -> Result<Option<PathBuf>, KeyError> {
    let ksks: Vec<(PathBuf, BindKey)> = zone_keys(zone, folder)?
        .into_iter()
        .filter(|(_, k)| k.flags & 1 == 1)
        .collect();
    let timings: Vec<Timing> = ksks.iter().map(|(_, k)| k.timing).collect();
    let mut made = None;
    for step in super::rollover::plan_ksk(&timings, now, switch) {
        match step {
            super::rollover::Step::Set(i, timing) => set_timing(&ksks[i].0, &timing)?,
            super::rollover::Step::Generate(timing) => {
                let current = ksks.iter().rev().find(|(_, k)| k.timing.published(now));
                if let Some((
                    path,
                    BindKey {
                        secret: Secret::Token(_),
                        ..
                    },
                )) = current
                {
                    return Err(KeyError::File {
                        path: path.display().to_string(),
                        why: "the KSK is in a token: make its successor there (zonefiles keygen --ksk --pkcs11) and set its times".into(),
                    });
                }
                let algorithm = current.map_or(Algorithm::EcdsaP256Sha256, |(_, k)| k.algorithm);
                let pair = KeyPair::generate(algorithm)?;
                let written = write_bind(
                    folder,
                    zone,
                    super::keys::SECURE_ENTRY_POINT,
                    Private::InFile(&pair),
                    now,
                    &timing,
                )
                .map_err(|e| KeyError::File {
                    path: folder.display().to_string(),
                    why: e.to_string(),
                })?;
                made = Some(written);
            }
        }
    }
    Ok(made)
}

/// Where a key's private half is, as its `.private` file says.
pub enum Private<'a> {
    /// In the file: the P-256 scalar or the Ed25519 seed (`PrivateKey:`).
    InFile(&'a KeyPair),
    /// In a token, named by a PKCS#11 URI (`Engine: pkcs11` and `Label:`, as BIND writes for
    /// keys in an HSM).
    InToken {
        /// The key's URI, with its PIN named by a file.
        uri: String,
        /// Its algorithm.
        algorithm: Algorithm,
        /// Its public key.
        public: &'a [u8],
    },
}

/// Writes a key as BIND's two files in `folder` (the private one mode 0600, each written to a
/// temporary file and renamed); returns the `.private` file's path.
pub fn write_bind(
    folder: &Path,
    zone: &Name,
    flags: u16,
    key: Private<'_>,
    created: u64,
    timing: &Timing,
) -> std::io::Result<PathBuf> {
    let created = format_bind_time(created);
    let b64 = data_encoding::BASE64;
    let (algorithm, public, secret) = match key {
        Private::InFile(pair) => (
            pair.algorithm,
            &pair.public[..],
            format!("PrivateKey: {}\n", b64.encode(&pair.private)),
        ),
        Private::InToken {
            uri,
            algorithm,
            public,
        } => (algorithm, public, format!("Engine: pkcs11\nLabel: {uri}\n")),
    };
    let tag = key_tag(&dnskey_rdata(flags, algorithm, public));
    let base = bind_name(zone, algorithm, tag);
    let kind = if flags & 1 == 1 {
        "key-signing"
    } else {
        "zone-signing"
    };
    let owner = zone.to_string().to_ascii_lowercase();
    let public = format!(
        "; This is a {kind} key, keyid {tag}, for {owner}\n; Created: {created}\n{owner} IN DNSKEY {flags} 3 {} {}\n",
        algorithm.number(),
        b64.encode(public),
    );
    let private = format!(
        "Private-key-format: v1.3\nAlgorithm: {algorithm}\n{secret}Created: {created}\n{}",
        timing_lines(timing)
    );
    let private_path = folder.join(format!("{base}.private"));
    crate::atomic::write_atomically(&folder.join(format!("{base}.key")), public.as_bytes())?;
    write_private(&private_path, &private)?;
    Ok(private_path)
}

/// Writes a `.private` file: mode 0600, a temporary file renamed into place.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = path.with_file_name(format!(".{name}.tmp"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

/// The timing lines of a `.private` file, for the times set.
fn timing_lines(timing: &Timing) -> String {
    [
        ("Publish", timing.publish),
        ("Activate", timing.activate),
        ("Inactive", timing.inactive),
        ("Delete", timing.delete),
        ("SyncPublish", timing.sync_publish),
        ("SyncDelete", timing.sync_delete),
    ]
    .iter()
    .filter_map(|(name, time)| Some(format!("{name}: {}\n", format_bind_time((*time)?))))
    .collect()
}

/// Gives a key new times: its `.private` file rewritten with them (its other lines kept).
pub fn set_timing(private: &Path, timing: &Timing) -> Result<(), KeyError> {
    let fail = |why: String| KeyError::File {
        path: private.display().to_string(),
        why,
    };
    let text = std::fs::read_to_string(private).map_err(|e| fail(e.to_string()))?;
    const TIMES: [&str; 6] = [
        "Publish:",
        "Activate:",
        "Inactive:",
        "Delete:",
        "SyncPublish:",
        "SyncDelete:",
    ];
    let mut kept: String = text
        .lines()
        .filter(|l| !TIMES.iter().any(|t| l.starts_with(t)))
        .map(|l| format!("{l}\n"))
        .collect();
    kept.push_str(&timing_lines(timing));
    write_private(private, &kept).map_err(|e| fail(e.to_string()))
}

/// A time (seconds since 1970) as BIND's key files write it: `YYYYMMDDhhmmss`, UTC.
pub fn format_bind_time(time: u64) -> String {
    crate::calendar::date_time(time as i64)
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

/// Reads a key from BIND's files: `path` is either one (`.key` or `.private`).
pub fn read_bind(path: &Path) -> Result<ZoneKey, KeyError> {
    // `K<zone>.+013+12345`: the zone's dots rule out `Path::with_extension`.
    let text = path.to_string_lossy();
    let base = text
        .strip_suffix(".private")
        .or_else(|| text.strip_suffix(".key"))
        .unwrap_or(&text);
    let read = |p: String| {
        std::fs::read_to_string(&p).map_err(|e| KeyError::File {
            path: p,
            why: e.to_string(),
        })
    };
    let (public, private) = (
        read(format!("{base}.key"))?,
        read(format!("{base}.private"))?,
    );
    from_bind(&public, &private)
        .and_then(BindKey::open)
        .map_err(|error| match error {
            KeyError::File { path, why } => KeyError::File {
                path: format!("{base}.{path}"),
                why,
            },
            other => other,
        })
}

/// A key as BIND's two files describe it, not yet opened.
#[derive(Debug)]
pub struct BindKey {
    /// DNSKEY flags.
    pub flags: u16,
    /// The algorithm.
    pub algorithm: Algorithm,
    /// The public key the DNSKEY carries.
    pub public: Vec<u8>,
    /// Where the private half is.
    pub secret: Secret,
    /// Its timing, from the `.private` file.
    pub timing: Timing,
}

/// A private key's place.
pub enum Secret {
    /// In the file (the P-256 scalar or the Ed25519 seed).
    Material(Vec<u8>),
    /// In a PKCS#11 token.
    Token(super::pkcs11::Uri),
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Material(_) => f.write_str("Material(…)"),
            Secret::Token(uri) => write!(f, "Token({}, {})", uri.token, uri.object),
        }
    }
}

impl BindKey {
    /// The key, ready to sign: from its material, or opened in its token; refused if the
    /// private half is not the public one's.
    pub fn open(self) -> Result<ZoneKey, KeyError> {
        let mismatch = || KeyError::File {
            path: "private".into(),
            why: "the private key is not the one of the .key file's DNSKEY".into(),
        };
        let signer: Box<dyn Signer> = match self.secret {
            Secret::Material(secret) => Box::new(
                KeyPair::from_parts(self.algorithm, &secret, &self.public)
                    .map_err(|_| mismatch())?,
            ),
            Secret::Token(uri) => {
                let key = super::pkcs11::Pkcs11Key::open(&uri)?;
                if key.public_key() != self.public.as_slice() {
                    return Err(mismatch());
                }
                Box::new(key)
            }
        };
        Ok(ZoneKey {
            flags: self.flags,
            signer,
            timing: self.timing,
        })
    }
}

/// Reads the texts of BIND's two files; the flags come from the `.key` file's DNSKEY. A
/// `.private` file with a `Label: pkcs11:…` line names a key in a token. Nothing is opened.
pub fn from_bind(public: &str, private: &str) -> Result<BindKey, KeyError> {
    let fail = |file: &str, why: &str| KeyError::File {
        path: file.to_owned(),
        why: why.to_owned(),
    };
    let dnskey = public
        .lines()
        .map(|l| l.split(';').next().unwrap_or("").trim())
        .find(|l| !l.is_empty())
        .ok_or_else(|| fail("key", "no DNSKEY record"))?;
    let words: Vec<&str> = dnskey.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| w.eq_ignore_ascii_case("DNSKEY"))
        .ok_or_else(|| fail("key", "no DNSKEY record"))?;
    let field = |i: usize| {
        words
            .get(at + i)
            .copied()
            .ok_or_else(|| fail("key", "a DNSKEY record cut short"))
    };
    let flags: u16 = field(1)?
        .parse()
        .map_err(|_| fail("key", "DNSKEY flags are not a number"))?;
    let number: u8 = field(3)?
        .parse()
        .map_err(|_| fail("key", "DNSKEY algorithm is not a number"))?;
    let algorithm = Algorithm::from_number(number)?;
    let key_b64: String = words[at + 4..].concat();
    let public = data_encoding::BASE64
        .decode(key_b64.as_bytes())
        .map_err(|_| fail("key", "the public key is not base64"))?;
    let secret = match private.lines().find_map(|l| l.strip_prefix("Label:")) {
        Some(uri) => {
            if algorithm != Algorithm::EcdsaP256Sha256 {
                return Err(fail("private", "a key in a token is ECDSAP256SHA256 (13)"));
            }
            Secret::Token(super::pkcs11::Uri::parse(uri.trim())?)
        }
        None => {
            let secret = private
                .lines()
                .find_map(|l| l.strip_prefix("PrivateKey:"))
                .ok_or_else(|| fail("private", "no PrivateKey line"))?;
            Secret::Material(
                data_encoding::BASE64
                    .decode(secret.trim().as_bytes())
                    .map_err(|_| fail("private", "PrivateKey is not base64"))?,
            )
        }
    };
    let time = |field: &str| -> Result<Option<u64>, KeyError> {
        match private.lines().find_map(|l| l.strip_prefix(field)) {
            None => Ok(None),
            Some(text) => bind_time(text.trim())
                .map(Some)
                .ok_or_else(|| fail("private", "a key time is not YYYYMMDDhhmmss")),
        }
    };
    let timing = Timing {
        publish: time("Publish:")?,
        activate: time("Activate:")?,
        inactive: time("Inactive:")?,
        delete: time("Delete:")?,
        sync_publish: time("SyncPublish:")?,
        sync_delete: time("SyncDelete:")?,
    };
    Ok(BindKey {
        flags,
        algorithm,
        public,
        secret,
        timing,
    })
}

/// A time as BIND's key files write it, `YYYYMMDDhhmmss` (UTC), in seconds since 1970.
pub fn bind_time(text: &str) -> Option<u64> {
    if text.len() != 14 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |range: std::ops::Range<usize>| text[range].parse::<u32>().ok();
    let (year, month, day) = (n(0..4)?, n(4..6)?, n(6..8)?);
    let (hour, minute, second) = (n(8..10)?, n(10..12)?, n(12..14)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = crate::calendar::days_from_civil(i64::from(year), month, day);
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    u64::try_from(seconds).ok()
}

#[cfg(test)]
mod tests {
    use ring::signature;

    use super::*;
    use crate::sign::keys::{SECURE_ENTRY_POINT, ZONE_KEY};

    #[test]
    fn keys_sign_and_verify_and_survive_their_files() {
        let dir = tempfile::tempdir().unwrap();
        let zone = Name::from_text(b"Example.", None).unwrap();
        for algorithm in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            let pair = KeyPair::generate(algorithm).unwrap();
            let signature = pair.sign(b"message").unwrap();
            let (verifier, public): (&dyn signature::VerificationAlgorithm, Vec<u8>) =
                match algorithm {
                    Algorithm::EcdsaP256Sha256 => (
                        &signature::ECDSA_P256_SHA256_FIXED,
                        [&[4u8][..], pair.public_key()].concat(),
                    ),
                    Algorithm::Ed25519 => (&signature::ED25519, pair.public_key().to_vec()),
                };
            signature::UnparsedPublicKey::new(verifier, &public)
                .verify(b"message", &signature)
                .unwrap();
            let path = write_bind(
                dir.path(),
                &zone,
                SECURE_ENTRY_POINT,
                Private::InFile(&pair),
                1_796_600_000,
                &Timing::default(),
            )
            .unwrap();
            let name = path.file_name().unwrap().to_str().unwrap();
            assert!(
                name.starts_with(&format!("Kexample.+{:03}+", algorithm.number())),
                "{name}"
            );
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let read = read_bind(&path).unwrap();
            assert_eq!(read.flags, SECURE_ENTRY_POINT);
            assert_eq!(read.signer.public_key(), pair.public_key());
            assert!(name.contains(&format!("{:05}", read.key_tag())));
            let timing = Timing {
                publish: Some(1_796_600_000),
                inactive: Some(1_796_700_000),
                sync_publish: Some(1_796_650_000),
                ..Timing::default()
            };
            set_timing(&path, &timing).unwrap();
            assert_eq!(read_bind(&path).unwrap().timing, timing);
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn key_times_read_as_bind_writes_them_and_bound_the_key() {
        assert_eq!(bind_time("19700101000000"), Some(0));
        assert_eq!(bind_time("20261207101112"), Some(1_796_638_272));
        for bad in [
            "2026120710111",
            "2026120710111x",
            "20261307000000",
            "20261207240000",
        ] {
            assert_eq!(bind_time(bad), None, "{bad}");
        }
        let timing = Timing {
            publish: Some(10),
            activate: Some(20),
            inactive: Some(30),
            delete: Some(40),
            ..Timing::default()
        };
        let states: Vec<(bool, bool)> = [5, 10, 20, 30, 40]
            .iter()
            .map(|&t| (timing.published(t), timing.active(t)))
            .collect();
        assert_eq!(
            states,
            [
                (false, false),
                (true, false),
                (true, true),
                (true, false),
                (false, false)
            ]
        );
        assert!(Timing::default().active(0));
    }

    #[test]
    fn a_mismatched_private_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let zone = Name::from_text(b"example.", None).unwrap();
        let a = KeyPair::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let path = write_bind(
            dir.path(),
            &zone,
            ZONE_KEY,
            Private::InFile(&a),
            1_796_600_000,
            &Timing::default(),
        )
        .unwrap();
        let b = KeyPair::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let other = data_encoding::BASE64.encode(&b.private);
        let swapped: String = text
            .lines()
            .map(|l| match l.starts_with("PrivateKey:") {
                true => format!("PrivateKey: {other}\n"),
                false => format!("{l}\n"),
            })
            .collect();
        std::fs::write(&path, swapped).unwrap();
        assert!(matches!(read_bind(&path), Err(KeyError::File { .. })));
        assert!(matches!(
            Algorithm::from_number(8),
            Err(KeyError::Algorithm(8))
        ));
    }
}
