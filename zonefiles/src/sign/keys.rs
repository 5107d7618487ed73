//! DNSSEC keys: the algorithms (ECDSA P-256 with SHA-256, RFC 6605, number 13; Ed25519, RFC
//! 8080, number 15), a [`Signer`] interface with a `ring` backend in memory ([`KeyPair`]), a
//! zone's keys as DNSKEY records with their key tags and DS records, and BIND's key files
//! (`K<zone>.+<alg>+<tag>.key` and `.private`, v1.3), so that keys made by `dnssec-keygen`
//! sign here and keys made here sign with BIND's tools.

use std::fmt;
use std::path::{Path, PathBuf};

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};

use crate::name::Name;

/// Why a key could not be made, read or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// An algorithm other than 13 and 15.
    #[error("DNSSEC algorithm {0} is not supported here: use 13 (ECDSAP256SHA256) or 15 (ED25519)")]
    Algorithm(u8),
    /// The key material does not make a key.
    #[error("the key is not a valid {0} key")]
    Rejected(&'static str),
    /// A key file does not read.
    #[error("{path}: {why}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// The signer failed (an HSM that is gone, for one).
    #[error("signing failed: {0}")]
    Signing(String),
}

/// A DNSSEC signing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256 (13): the default.
    EcdsaP256Sha256,
    /// Ed25519 (15).
    Ed25519,
}

impl Algorithm {
    /// The algorithm's number (RFC 8624).
    pub fn number(self) -> u8 {
        match self {
            Algorithm::EcdsaP256Sha256 => 13,
            Algorithm::Ed25519 => 15,
        }
    }

    /// The algorithm of a number.
    pub fn from_number(number: u8) -> Result<Algorithm, KeyError> {
        match number {
            13 => Ok(Algorithm::EcdsaP256Sha256),
            15 => Ok(Algorithm::Ed25519),
            other => Err(KeyError::Algorithm(other)),
        }
    }

    /// Its mnemonic (RFC 8624; as BIND writes it).
    pub fn mnemonic(self) -> &'static str {
        match self {
            Algorithm::EcdsaP256Sha256 => "ECDSAP256SHA256",
            Algorithm::Ed25519 => "ED25519",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.number(), self.mnemonic())
    }
}

/// What signs: a key in memory ([`KeyPair`]) or one in an HSM.
pub trait Signer: Send + Sync {
    /// The algorithm.
    fn algorithm(&self) -> Algorithm;
    /// The public key as a DNSKEY carries it (P-256: X ‖ Y, 64 octets; Ed25519: 32 octets).
    fn public_key(&self) -> &[u8];
    /// Signs a message (RFC 6605: r ‖ s; RFC 8080: the 64-octet signature).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError>;
}

enum Inner {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A key held in memory, signing with `ring`.
pub struct KeyPair {
    algorithm: Algorithm,
    inner: Inner,
    public: Vec<u8>,
    /// The private key as BIND's files hold it (P-256: the scalar; Ed25519: the seed).
    private: Vec<u8>,
    rng: SystemRandom,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPair({})", self.algorithm)
    }
}

impl KeyPair {
    /// A new random key.
    pub fn generate(algorithm: Algorithm) -> Result<KeyPair, KeyError> {
        let rng = SystemRandom::new();
        let rejected = |_| KeyError::Rejected(algorithm.mnemonic());
        match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
                let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).map_err(rejected)?;
                let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng)
                    .map_err(|_| KeyError::Rejected(algorithm.mnemonic()))?;
                // PrivateKeyInfo { version, algorithm, OCTET STRING { ECPrivateKey { version,
                // OCTET STRING privateKey, … } } } (RFC 5208, RFC 5915).
                let private = der::p256_private_key(pkcs8.as_ref())
                    .ok_or(KeyError::Rejected("ECDSAP256SHA256"))?;
                // ring's public key is 0x04 ‖ X ‖ Y; a DNSKEY holds X ‖ Y.
                let public = pair.public_key().as_ref()[1..].to_vec();
                Ok(KeyPair {
                    algorithm,
                    inner: Inner::Ecdsa(pair),
                    public,
                    private,
                    rng,
                })
            }
            Algorithm::Ed25519 => {
                let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(rejected)?;
                // OneAsymmetricKey { version, algorithm, OCTET STRING { OCTET STRING seed }, … }
                // (RFC 8410).
                let seed =
                    der::ed25519_seed(pkcs8.as_ref()).ok_or(KeyError::Rejected("ED25519"))?;
                let pair = Ed25519KeyPair::from_seed_unchecked(&seed)
                    .map_err(|_| KeyError::Rejected(algorithm.mnemonic()))?;
                let public = pair.public_key().as_ref().to_vec();
                Ok(KeyPair {
                    algorithm,
                    inner: Inner::Ed25519(pair),
                    public,
                    private: seed,
                    rng,
                })
            }
        }
    }

    /// The key of a private key as BIND's files hold it (P-256: the 32-octet scalar; Ed25519:
    /// the 32-octet seed) and its public key as a DNSKEY holds it; refused if they are not
    /// one key's halves.
    pub fn from_parts(
        algorithm: Algorithm,
        private: &[u8],
        public: &[u8],
    ) -> Result<KeyPair, KeyError> {
        let rng = SystemRandom::new();
        let rejected = |_| KeyError::Rejected(algorithm.mnemonic());
        let inner = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                let point = [&[4u8][..], public].concat();
                Inner::Ecdsa(
                    EcdsaKeyPair::from_private_key_and_public_key(
                        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                        private,
                        &point,
                        &rng,
                    )
                    .map_err(rejected)?,
                )
            }
            Algorithm::Ed25519 => Inner::Ed25519(
                Ed25519KeyPair::from_seed_and_public_key(private, public).map_err(rejected)?,
            ),
        };
        Ok(KeyPair {
            algorithm,
            inner,
            public: public.to_vec(),
            private: private.to_vec(),
            rng,
        })
    }
}

impl Signer for KeyPair {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn public_key(&self) -> &[u8] {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.inner {
            Inner::Ecdsa(pair) => pair
                .sign(&self.rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::Signing("ECDSA".into())),
            Inner::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

/// The DNSKEY flags of a zone key (RFC 4034 §2.1.1): 256 for a zone-signing key, 257 with the
/// secure entry point bit for a key-signing (or combined) key.
pub const ZONE_KEY: u16 = 256;
/// [`ZONE_KEY`] with the secure entry point bit.
pub const SECURE_ENTRY_POINT: u16 = 257;

/// When a key is in the zone's DNSKEY set and when it signs: BIND's key timing metadata
/// (`Publish`, `Activate`, `Inactive`, `Delete` in the `.private` file, which
/// `dnssec-settime` sets), in seconds since 1970. A time not set does not limit the key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timing {
    /// From when the DNSKEY is in the zone.
    pub publish: Option<u64>,
    /// From when the key signs.
    pub activate: Option<u64>,
    /// From when it no longer signs (its DNSKEY stays: retired).
    pub inactive: Option<u64>,
    /// From when its DNSKEY is gone.
    pub delete: Option<u64>,
    /// From when the zone asks its parent for this key's DS: CDS and CDNSKEY records (RFC
    /// 7344, RFC 8078; `SyncPublish`, `dnssec-settime -P sync`).
    pub sync_publish: Option<u64>,
    /// From when it no longer does (`SyncDelete`).
    pub sync_delete: Option<u64>,
}

impl Timing {
    /// True if the DNSKEY is in the zone at `now`.
    pub fn published(&self, now: u64) -> bool {
        self.publish.is_none_or(|t| t <= now) && self.delete.is_none_or(|t| now < t)
    }

    /// True if the zone publishes the key's CDS and CDNSKEY at `now` (the key published too).
    pub fn sync(&self, now: u64) -> bool {
        self.published(now)
            && self.sync_publish.is_some_and(|t| t <= now)
            && self.sync_delete.is_none_or(|t| now < t)
    }

    /// True if the key signs at `now` (published, activated and not yet inactive).
    pub fn active(&self, now: u64) -> bool {
        self.published(now)
            && self.activate.is_none_or(|t| t <= now)
            && self.inactive.is_none_or(|t| now < t)
    }
}

/// A zone's key: its flags, its signer and its timing.
pub struct ZoneKey {
    /// DNSKEY flags ([`ZONE_KEY`] or [`SECURE_ENTRY_POINT`]).
    pub flags: u16,
    /// What signs.
    pub signer: Box<dyn Signer>,
    /// When it is published and when it signs.
    pub timing: Timing,
}

impl fmt::Debug for ZoneKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ZoneKey(flags {}, algorithm {}, tag {})",
            self.flags,
            self.signer.algorithm(),
            self.key_tag()
        )
    }
}

impl ZoneKey {
    /// A key published and signing at every time.
    pub fn new(flags: u16, signer: Box<dyn Signer>) -> ZoneKey {
        ZoneKey {
            flags,
            signer,
            timing: Timing::default(),
        }
    }

    /// The DNSKEY rdata: flags, protocol 3, algorithm, public key.
    pub fn dnskey_rdata(&self) -> Vec<u8> {
        dnskey_rdata(
            self.flags,
            self.signer.algorithm(),
            self.signer.public_key(),
        )
    }

    /// The key tag (RFC 4034 Appendix B).
    pub fn key_tag(&self) -> u16 {
        key_tag(&self.dnskey_rdata())
    }

    /// True for a key with the secure entry point bit (a KSK or a CSK).
    pub fn is_sep(&self) -> bool {
        self.flags & 1 == 1
    }

    /// The DS rdata for this key at `owner`, with SHA-256 (digest type 2, RFC 4509).
    pub fn ds_rdata(&self, owner: &Name) -> Vec<u8> {
        ds_rdata(owner, &self.dnskey_rdata())
    }
}

/// The DS rdata of DNSKEY rdata at `owner`, with SHA-256 (digest type 2, RFC 4509).
pub fn ds_rdata(owner: &Name, dnskey: &[u8]) -> Vec<u8> {
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    digest.update(&owner.as_wire().to_ascii_lowercase());
    digest.update(dnskey);
    let mut out = Vec::with_capacity(36);
    out.extend_from_slice(&key_tag(dnskey).to_be_bytes());
    out.push(dnskey.get(3).copied().unwrap_or(0));
    out.push(2);
    out.extend_from_slice(digest.finish().as_ref());
    out
}

/// DNSKEY rdata (RFC 4034 §2.1): flags, protocol 3, algorithm, public key.
pub fn dnskey_rdata(flags: u16, algorithm: Algorithm, public: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + public.len());
    out.extend_from_slice(&flags.to_be_bytes());
    out.push(3);
    out.push(algorithm.number());
    out.extend_from_slice(public);
    out
}

/// The key tag of DNSKEY rdata (RFC 4034 Appendix B).
pub fn key_tag(dnskey: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for (i, byte) in dnskey.iter().enumerate() {
        sum += if i & 1 == 0 {
            u32::from(*byte) << 8
        } else {
            u32::from(*byte)
        };
    }
    sum += (sum >> 16) & 0xffff;
    (sum & 0xffff) as u16
}

/// BIND's base name of a key's files: `K<zone>.+<alg>+<tag>`.
pub fn bind_name(zone: &Name, algorithm: Algorithm, tag: u16) -> String {
    let zone = zone.to_string().to_ascii_lowercase();
    format!("K{zone}+{:03}+{tag:05}", algorithm.number())
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

/// Just enough DER to take the private key out of ring's own PKCS#8 documents.
mod der {
    const OCTET_STRING: u8 = 0x04;

    /// One element: its tag, its contents, what follows it.
    fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 2 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |a, b| a << 8 | usize::from(*b));
            (len, &rest[n..])
        };
        (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
    }

    /// The contents of the first element with `tag`, skipping the ones before it.
    fn find(mut input: &[u8], tag: u8) -> Option<&[u8]> {
        while !input.is_empty() {
            let (t, contents, rest) = element(input)?;
            if t == tag {
                return Some(contents);
            }
            input = rest;
        }
        None
    }

    /// The private scalar of a P-256 PKCS#8 document.
    pub fn p256_private_key(pkcs8: &[u8]) -> Option<Vec<u8>> {
        let (_, info, _) = element(pkcs8)?;
        let (_, ec_private_key, _) = element(find(info, OCTET_STRING)?)?;
        let key = find(ec_private_key, OCTET_STRING)?;
        (key.len() == 32).then(|| key.to_vec())
    }

    /// The seed of an Ed25519 PKCS#8 document.
    pub fn ed25519_seed(pkcs8: &[u8]) -> Option<Vec<u8>> {
        let (_, info, _) = element(pkcs8)?;
        let (tag, seed, _) = element(find(info, OCTET_STRING)?)?;
        (tag == OCTET_STRING && seed.len() == 32).then(|| seed.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_key_tag_and_ds_are_rfc_4034s() {
        // RFC 4034 §5.4's example DNSKEY of dskey.example.com: tag 60485.
        let key = data_encoding::BASE64
            .decode(
                b"AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==",
            )
            .unwrap();
        let mut rdata = vec![1, 0, 3, 5];
        rdata.extend_from_slice(&key);
        assert_eq!(key_tag(&rdata), 60485);
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
