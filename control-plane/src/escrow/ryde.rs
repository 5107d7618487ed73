//! A deposit's files as escrow agents receive them (ICANN's "processing of deposit files"):
//! the XML file in a tarball, the tarball compressed (ZIP) and encrypted to the escrow agent's
//! OpenPGP key (RFC 4880, AES-256), the result split into parts of a configured size
//! (`…_S1_R0.ryde`, `…_S2_R0.ryde`), and a detached binary signature by the registry's key
//! for each part (`…_S1_R0.sig`).
//!
//! Everything streams: the tarball is never written (its header, the XML file and the padding
//! are read in a row), and the encrypted stream goes to the parts as it is produced, so memory
//! stays a few chunks whatever the deposit's size. [`open`] does the reverse for a restore and
//! checks before it decrypts: every part's signature, the parts' sequence, then the OpenPGP
//! message's integrity (SEIPD's MDC) and the tarball's one member.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use pgp::composed::{
    Deserializable, DetachedSignature, EncryptionCaps, KeyType, Message, MessageBuilder,
    SecretKeyParamsBuilder, SignedPublicKey, SignedSecretKey, SubkeyParamsBuilder,
};
use pgp::crypto::ecc_curve::ECCCurve;
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::ser::Serialize;
use pgp::types::{CompressionAlgorithm, KeyDetails, Password};
use rand08::thread_rng;

/// Reads an OpenPGP key (armored or binary), `what` it is for the errors, and checks its
/// self-signatures with `verify`.
fn read_key<K: Deserializable>(
    path: &Path,
    what: &str,
    verify: impl Fn(&K) -> pgp::errors::Result<()>,
) -> anyhow::Result<K> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (key, _) = K::from_reader_single(bytes.as_slice())
        .with_context(|| format!("{} is not an OpenPGP {what}", path.display()))?;
    verify(&key).with_context(|| {
        format!(
            "{}: the key's self-signatures do not verify",
            path.display()
        )
    })?;
    Ok(key)
}

/// Reads an OpenPGP secret key (armored or binary) and checks its self-signatures.
pub fn secret_key(path: &Path) -> anyhow::Result<SignedSecretKey> {
    read_key(path, "secret key", SignedSecretKey::verify_bindings)
}

/// Reads an OpenPGP public key (armored or binary) and checks its self-signatures.
pub fn public_key(path: &Path) -> anyhow::Result<SignedPublicKey> {
    read_key(path, "public key", SignedPublicKey::verify_bindings)
}

/// Makes an OpenPGP key for `user_id` (Ed25519 to sign, X25519 to encrypt; gpg 2.2 reads it)
/// and writes it armored: the secret key to `secret` (mode 0600), the public one to `public`.
/// Returns the fingerprint.
pub fn generate(user_id: &str, secret: &Path, public: &Path) -> anyhow::Result<String> {
    let mut encryption = SubkeyParamsBuilder::default();
    encryption
        .key_type(KeyType::ECDH(ECCCurve::Curve25519Legacy))
        .can_sign(false)
        .can_encrypt(EncryptionCaps::All)
        .can_authenticate(false);
    let params = SecretKeyParamsBuilder::default()
        .key_type(KeyType::Ed25519Legacy)
        .can_certify(true)
        .can_sign(true)
        .can_encrypt(EncryptionCaps::None)
        .primary_user_id(user_id.into())
        .subkeys(vec![encryption.build()?])
        .build()?;
    let key = params.generate(thread_rng())?;
    let fingerprint = key.fingerprint().to_string();
    let armored = key.to_armored_string(Default::default())?;
    let public_armored = SignedPublicKey::from(key).to_armored_string(Default::default())?;
    ops::write_secret(secret, armored.as_bytes())
        .with_context(|| format!("writing {}", secret.display()))?;
    std::fs::write(public, public_armored)
        .with_context(|| format!("writing {}", public.display()))?;
    Ok(fingerprint)
}

/// The key of `recipient` to encrypt to: an encryption-capable subkey, else the primary key.
fn encryption_subkey(
    recipient: &SignedPublicKey,
) -> anyhow::Result<&pgp::composed::SignedPublicSubKey> {
    recipient
        .public_subkeys
        .iter()
        .find(|k| k.algorithm().can_encrypt())
        .context("the escrow agent's key has no encryption subkey")
}

/// Writes parts of at most `limit` bytes, each to the path `name(n)` gives (n from 1), and
/// remembers them.
struct Parts<F: Fn(usize) -> PathBuf> {
    name: F,
    limit: u64,
    file: Option<(File, u64)>,
    written: Vec<PathBuf>,
}

impl<F: Fn(usize) -> PathBuf> Parts<F> {
    fn finish(mut self) -> io::Result<Vec<PathBuf>> {
        if let Some((file, _)) = self.file.take() {
            file.sync_all()?;
        }
        Ok(self.written)
    }
}

impl<F: Fn(usize) -> PathBuf> Write for Parts<F> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.file.as_ref().is_none_or(|(_, n)| *n >= self.limit) {
            if let Some((file, _)) = self.file.take() {
                file.sync_all()?;
            }
            let path = (self.name)(self.written.len() + 1);
            self.file = Some((File::create(&path)?, 0));
            self.written.push(path);
        }
        let (file, size) = self.file.as_mut().expect("a part is open");
        let room = (self.limit - *size).min(buf.len() as u64) as usize;
        let n = file.write(&buf[..room])?;
        *size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some((file, _)) => file.flush(),
            None => Ok(()),
        }
    }
}

/// A tarball of one file, read as a stream: the header, the file, then the padding and the
/// two zero blocks that end an archive.
fn tarball(xml: &Path, member: &str) -> anyhow::Result<impl Read + use<>> {
    let file = File::open(xml).with_context(|| format!("opening {}", xml.display()))?;
    let size = file.metadata()?.len();
    let mut header = tar::Header::new_ustar();
    header.set_path(member)?;
    header.set_size(size);
    header.set_mode(0o600);
    header.set_mtime(
        file.metadata()?
            .modified()?
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs(),
    );
    header.set_cksum();
    let padding = (512 - size % 512) % 512;
    let end = vec![0u8; padding as usize + 1024];
    Ok(io::Cursor::new(header.as_bytes().to_vec())
        .chain(BufReader::with_capacity(1 << 16, file))
        .chain(io::Cursor::new(end)))
}

/// Seals the XML file `xml` (named `member` in the tarball) into parts of at most `split`
/// bytes named by `part(n)`, each signed into `signature(part)`; returns the parts.
pub fn seal(
    xml: &Path,
    member: &str,
    split: u64,
    part: impl Fn(usize) -> PathBuf,
    signing: &SignedSecretKey,
    recipient: &SignedPublicKey,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut builder = MessageBuilder::from_reader(format!("{member}.tar"), tarball(xml, member)?)
        .seipd_v1(thread_rng(), SymmetricKeyAlgorithm::AES256);
    builder.compression(CompressionAlgorithm::ZIP);
    builder.encrypt_to_key(thread_rng(), encryption_subkey(recipient)?)?;
    let mut parts = Parts {
        name: part,
        limit: split.max(1),
        file: None,
        written: Vec::new(),
    };
    builder
        .to_writer(thread_rng(), &mut parts)
        .context("encrypting the deposit")?;
    let parts = parts.finish()?;
    for path in &parts {
        sign(path, &signature_path(path), signing)?;
    }
    Ok(parts)
}

/// Where the detached signature of a part goes: its name with `.sig` for `.ryde`.
pub fn signature_path(part: &Path) -> PathBuf {
    part.with_extension("sig")
}

/// Signs the file at `path` into a detached binary signature at `signature`.
pub fn sign(path: &Path, signature: &Path, key: &SignedSecretKey) -> anyhow::Result<()> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let detached = DetachedSignature::sign_binary_data(
        thread_rng(),
        &key.primary_key,
        &Password::empty(),
        HashAlgorithm::Sha256,
        BufReader::new(file),
    )
    .with_context(|| format!("signing {}", path.display()))?;
    let mut out = File::create(signature)?;
    detached.to_writer(&mut out)?;
    out.sync_all()?;
    Ok(())
}

/// Checks the detached signature of the file at `path` with `key` (its primary key or a
/// signing subkey).
pub fn verify(path: &Path, key: &SignedPublicKey) -> anyhow::Result<()> {
    let signature_file = signature_path(path);
    let bytes = std::fs::read(&signature_file)
        .with_context(|| format!("{}: no signature file", signature_file.display()))?;
    let signature = DetachedSignature::from_bytes(bytes.as_slice())
        .with_context(|| format!("{} is not an OpenPGP signature", signature_file.display()))?;
    // The part is streamed through the hash (a part may be gigabytes); a subkey is tried only
    // when the primary key does not verify it.
    let mut verified = signed_by(&signature, &key.primary_key, path)?;
    for subkey in &key.public_subkeys {
        if verified {
            break;
        }
        verified = signed_by(&signature, subkey, path)?;
    }
    if !verified {
        bail!(
            "{}: the signature does not verify with the registry's key {}",
            path.display(),
            key.fingerprint()
        );
    }
    Ok(())
}

/// Whether `signature` of the file at `path` verifies with `key`.
fn signed_by(
    signature: &DetachedSignature,
    key: &impl pgp::types::VerifyingKey,
    path: &Path,
) -> anyhow::Result<bool> {
    let file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(signature
        .signature
        .verify(key, BufReader::with_capacity(1 << 16, file))
        .is_ok())
}

/// The parts read one after the other as one stream.
#[derive(Debug)]
struct Joined {
    files: Vec<File>,
    at: usize,
}

impl Read for Joined {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(file) = self.files.get_mut(self.at) {
            let n = file.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            self.at += 1;
        }
        Ok(0)
    }
}

/// Checks every part's signature, then decrypts the joined parts with `agent`'s key and writes
/// the tarball's one XML file to `out`; returns the member's name.
pub fn open(
    parts: &[PathBuf],
    registry: &SignedPublicKey,
    agent: &SignedSecretKey,
    out: &Path,
) -> anyhow::Result<String> {
    for part in parts {
        verify(part, registry)?;
    }
    let files = parts
        .iter()
        .map(|part| File::open(part).with_context(|| format!("opening {}", part.display())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let joined = Joined { files, at: 0 };
    let message = Message::from_bytes(BufReader::with_capacity(1 << 16, joined))
        .context("the deposit is not an OpenPGP message")?;
    let mut message = message
        .decrypt(&Password::empty(), agent)
        .context("the deposit does not decrypt with the escrow agent's key, or a part is missing or cut short")?;
    if message.is_compressed() {
        message = message.decompress().context("decompressing the deposit")?;
    }
    let mut archive = tar::Archive::new(message);
    let mut entries = archive.entries().context("reading the deposit's tarball")?;
    let mut entry = entries
        .next()
        .context("the deposit's tarball is empty")?
        .context("reading the deposit's tarball")?;
    let member = entry.path()?.to_string_lossy().into_owned();
    let mut file = File::create(out).with_context(|| format!("writing {}", out.display()))?;
    io::copy(&mut entry, &mut file).context("the deposit's tarball is cut short")?;
    drop(entry);
    if entries.next().is_some() {
        bail!("the deposit's tarball holds more than one file");
    }
    // Reading the message to its end checks the integrity code (MDC) of the encryption.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).context("the deposit fails its integrity check")?;
    file.sync_all()?;
    Ok(member)
}
