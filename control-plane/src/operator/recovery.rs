//! Disaster recovery: the registry's own record of every change, sealed and carried to every
//! satellite inside the signed changesets, and the replay that rebuilds the registry from a
//! backup and the newest changeset log any satellite holds.
//!
//! A changeset says what satellites serve; it does not say what the registry knows beyond it —
//! balances and the ledger, the history, clusters' ids, transfer passwords, satellites
//! accepted. So every changeset also carries a *registry record*: the rows the transaction
//! wrote, as the database holds them after it.
//!
//! # Recording
//!
//! Temporary triggers on every table in [`record::RECORDED`], made on each connection that writes
//! ([`record::attach`]), note the key of each row inserted, updated or deleted in the temporary table
//! `noted`: in the transaction, so a command rolled back to its savepoint leaves no note, and
//! off the write-ahead log. When a transaction publishes — [`crate::publish::Publication::finish`]
//! writes a changeset — [`record::take`] reads the notes, its own and those an earlier transaction
//! that published nothing (a top-up, a password change, a satellite added) kept in the table
//! `recorded` ([`record::keep`], run before such a transaction commits). For each row noted it writes
//! the row's image as the transaction leaves it (a JSON object of every column), or its key if
//! it is gone; it numbers the record (`record_chain`: 1, 2, 3 … with no gap), compresses and
//! seals it, and clears the notes. The same sealed record travels with each zone's
//! changeset of the transaction, inside its signature; satellites keep it in their changeset
//! logs (`satellite_protocol::log`) and cannot read it.
//!
//! # Sealing
//!
//! HPKE (RFC 9180) in base mode with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and
//! ChaCha20-Poly1305, to the recovery public key. The private key does not live on the control
//! plane: it is kept offline with the backups and used only by `control-plane recover`.
//!
//! ```text
//! sealed    0x01 · key id (8 octets: SHA-256 of the public key) · encapsulated key (32)
//!           · ciphertext
//! plaintext DEFLATE (RFC 1951) of
//!           {"seq": n, "rows": [[table, "put" | "delete", {column: value, …}], …]}
//! ```
//!
//! # Recovery
//!
//! [`recover`] opens the database restored from a backup, reads changeset logs copied from
//! satellites, checks each signature against the registry's signing keys, and follows each
//! zone's chain from the serial the backup holds. It opens the records in order from the one
//! after the backup's last, replays their rows (an upsert of each image, a delete of each key,
//! foreign keys checked at commit), appends the changesets to the journal exactly as signed,
//! and sets each zone's serial — all in one transaction. The registry is then where the
//! newest satellite is: satellites resume from the serial they hold, without a snapshot.
//!
//! What is lost is what no satellite received: commands confirmed after the last changeset in
//! the logs, and writes that published nothing after the last record (the report gives the
//! time; registrars re-send what was confirmed after it).
//!
//! # Cost
//!
//! Per row written, one insert into a temporary table (no WAL, no fsync) and, once per
//! publishing transaction, one indexed read of its image; per publishing transaction one
//! DEFLATE, one X25519 key agreement and one AEAD pass. A create's rows are about 600 octets of
//! JSON, 150 once compressed within a batch (which shares its registrars' rows).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use data_encoding::BASE64;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use rusqlite::Connection;
use satellite_protocol::message::SignedChangeset;
use zonefiles::serial::is_after;

use crate::model::JournalEntry;
use crate::publish::signing;
use crate::store::Store;
use crate::store::sqlite::record::{self, Record};

type Kem = hpke::kem::X25519HkdfSha256;
type Kdf = hpke::kdf::HkdfSha256;
type Aead = hpke::aead::ChaCha20Poly1305;

const FORMAT: u8 = 1;
/// The largest record opened (inflated), as large as the largest frame that carries one.
const MAX_RECORD: usize = satellite_protocol::message::MAX_FRAME;
const INFO: &[u8] = b"constellation registry record v1";
const KEY_ID: usize = 8;
const ENCAPPED: usize = 32;

/// The public key registry records are sealed to.
#[derive(Clone)]
pub struct RecoveryKey {
    key: <Kem as hpke::Kem>::PublicKey,
    id: [u8; KEY_ID],
}

impl std::fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoveryKey({})", hex(&self.id))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn key_id(public: &[u8]) -> [u8; KEY_ID] {
    let digest = ring::digest::digest(&ring::digest::SHA256, public);
    digest.as_ref()[..KEY_ID]
        .try_into()
        .expect("a SHA-256 is longer")
}

fn read_base64(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the {what} {}", path.display()))?;
    BASE64
        .decode(text.trim().as_bytes())
        .with_context(|| format!("{} is not a base64 {what}", path.display()))
}

impl RecoveryKey {
    /// Reads a public key file written by [`generate`].
    pub fn load(path: &Path) -> anyhow::Result<RecoveryKey> {
        let bytes = read_base64(path, "recovery public key")?;
        RecoveryKey::from_bytes(&bytes)
            .with_context(|| format!("{} is not an X25519 public key", path.display()))
    }

    fn from_bytes(bytes: &[u8]) -> anyhow::Result<RecoveryKey> {
        let key =
            <Kem as hpke::Kem>::PublicKey::from_bytes(bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(RecoveryKey {
            key,
            id: key_id(bytes),
        })
    }

    /// The key's id, in hex.
    pub fn id(&self) -> String {
        hex(&self.id)
    }

    /// Compresses and seals a record's JSON.
    pub fn seal(&self, json: &[u8]) -> Result<Vec<u8>, SealError> {
        let plaintext = miniz_oxide::deflate::compress_to_vec(json, 1);
        let plaintext = &plaintext[..];
        let (encapped, ciphertext) = hpke::single_shot_seal::<Aead, Kdf, Kem>(
            &OpModeS::Base,
            &self.key,
            INFO,
            plaintext,
            &[],
        )
        .map_err(|e| SealError(e.to_string()))?;
        let mut out = Vec::with_capacity(1 + KEY_ID + ENCAPPED + ciphertext.len());
        out.push(FORMAT);
        out.extend_from_slice(&self.id);
        out.extend_from_slice(&encapped.to_bytes());
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }
}

/// HPKE refused to seal a record (it does only for a key it cannot use).
#[derive(Debug, thiserror::Error)]
#[error("sealing the registry record: {0}")]
pub struct SealError(String);

/// The private key that opens registry records (kept offline, with the backups).
pub struct RecoveryPrivateKey {
    key: <Kem as hpke::Kem>::PrivateKey,
    id: [u8; KEY_ID],
}

impl RecoveryPrivateKey {
    /// Reads a private key file written by [`generate`].
    pub fn load(path: &Path) -> anyhow::Result<RecoveryPrivateKey> {
        let bytes = read_base64(path, "recovery private key")?;
        let key = <Kem as hpke::Kem>::PrivateKey::from_bytes(&bytes)
            .map_err(|e| anyhow::anyhow!("{} is not an X25519 private key: {e}", path.display()))?;
        let public = Kem::sk_to_pk(&key).to_bytes();
        Ok(RecoveryPrivateKey {
            key,
            id: key_id(&public),
        })
    }

    /// Opens a sealed record.
    pub fn open(&self, sealed: &[u8]) -> anyhow::Result<Record> {
        let (&format, rest) = sealed.split_first().context("an empty record")?;
        anyhow::ensure!(format == FORMAT, "record format {format} is not known");
        anyhow::ensure!(rest.len() > KEY_ID + ENCAPPED, "a truncated record");
        let (id, rest) = rest.split_at(KEY_ID);
        anyhow::ensure!(
            id == self.id,
            "the record is sealed to recovery key {}, not to this one ({})",
            hex(id),
            hex(&self.id)
        );
        let (encapped, ciphertext) = rest.split_at(ENCAPPED);
        let encapped = <Kem as hpke::Kem>::EncappedKey::from_bytes(encapped)
            .map_err(|e| anyhow::anyhow!("a damaged record: {e}"))?;
        let plaintext = hpke::single_shot_open::<Aead, Kdf, Kem>(
            &OpModeR::Base,
            &self.key,
            &encapped,
            INFO,
            ciphertext,
            &[],
        )
        .map_err(|e| anyhow::anyhow!("the record does not open: {e}"))?;
        let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&plaintext, MAX_RECORD)
            .map_err(|e| anyhow::anyhow!("the record does not inflate: {e}"))?;
        serde_json::from_slice(&json).context("the record's rows are not valid")
    }
}

/// Writes a new key pair: `path` (the private key, mode 0600, to keep offline) and `path`
/// with `.pub` (for the control plane's `recovery_key`). Returns the public key's id.
pub fn generate(path: &Path) -> anyhow::Result<String> {
    let (private, public) = Kem::gen_keypair();
    ops::write_secret(
        path,
        format!("{}\n", BASE64.encode(&private.to_bytes())).as_bytes(),
    )
    .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    let public = public.to_bytes();
    let pub_path = path.with_extension("pub");
    std::fs::write(&pub_path, format!("{}\n", BASE64.encode(&public)))
        .with_context(|| format!("writing {}", pub_path.display()))?;
    Ok(hex(&key_id(&public)))
}

/// Copies the database, consistent and online (`VACUUM INTO`: one read transaction; the
/// commit thread keeps writing), to `target`: a new file, or a folder to write
/// `registry-<UTC time>.db` into, keeping the newest `keep` there. Returns the file written
/// and the older backups removed.
pub fn backup(
    conn: &Connection,
    target: &Path,
    keep: Option<usize>,
) -> anyhow::Result<(PathBuf, Vec<PathBuf>)> {
    let folder = target.is_dir();
    let file = if folder {
        let now = ops::now();
        let stamp = zonefiles::calendar::date_time(now)
            .replace(['-', ':'], "")
            .replace(' ', "T");
        target.join(format!("registry-{stamp}Z.db"))
    } else {
        anyhow::ensure!(keep.is_none(), "--keep needs a folder to keep backups in");
        target.to_owned()
    };
    anyhow::ensure!(
        !file.exists(),
        "{} exists: a backup is written to a new file",
        file.display()
    );
    let partial = file.with_extension("db.partial");
    let _ = std::fs::remove_file(&partial);
    record::vacuum_into(conn, &partial)
        .with_context(|| format!("writing the backup {}", partial.display()))?;
    std::fs::File::open(&partial)?.sync_all()?;
    std::fs::rename(&partial, &file)?;
    let parent = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(parent)?.sync_all()?;
    let mut pruned = Vec::new();
    if let (true, Some(keep)) = (folder, keep) {
        let mut backups: Vec<PathBuf> = std::fs::read_dir(target)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("registry-") && n.ends_with("Z.db"))
            })
            .collect();
        backups.sort();
        let excess = backups.len().saturating_sub(keep.max(1));
        for old in backups.drain(..excess) {
            std::fs::remove_file(&old)?;
            pruned.push(old);
        }
    }
    Ok((file, pruned))
}

/// What a recovery did, per zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneRecovery {
    /// The zone.
    pub zone: String,
    /// The serial the backup held.
    pub from: u32,
    /// The serial the registry holds now.
    pub to: u32,
    /// Changesets appended to the journal.
    pub changesets: usize,
    /// When the last of them was committed (unix seconds), if any.
    pub last_committed: Option<u64>,
    /// The newest serial the logs reach (beyond `to` when a record was missing).
    pub logs_reach: u32,
}

/// What [`recover`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Per zone.
    pub zones: Vec<ZoneRecovery>,
    /// The last record the backup held, and the last one now.
    pub records: (u64, u64),
    /// Changesets read from the logs (all files, duplicates included).
    pub read: usize,
}

impl Recovery {
    /// The report an operator reads, with what registrars must re-send.
    pub fn report(&self) -> String {
        let mut out = String::new();
        for z in &self.zones {
            let _ = writeln!(
                out,
                "{}: backup at serial {}, recovered to serial {} ({} changesets from the logs){}",
                z.zone,
                z.from,
                z.to,
                z.changesets,
                if z.logs_reach != z.to {
                    format!(
                        "; the logs reach serial {} but the records stop at {}: add a log that holds them",
                        z.logs_reach, z.to
                    )
                } else {
                    String::new()
                }
            );
        }
        let _ = writeln!(
            out,
            "registry records {} to {} replayed ({} changesets read)",
            self.records.0 + 1,
            self.records.1,
            self.read
        );
        match self.zones.iter().filter_map(|z| z.last_committed).max() {
            Some(at) => {
                let _ = writeln!(
                    out,
                    "lost: what no satellite received — commands confirmed after {} (unix {at}), \
                     and credit, password or satellite changes made after it that published \
                     nothing. Registrars re-send what was confirmed to them after that time \
                     (an INFO or CHECK shows whether it is there).",
                    zonefiles::calendar::date_time(at as i64)
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "the logs hold nothing after the backup: registrars re-send what was \
                     confirmed to them after the backup was taken"
                );
            }
        }
        out
    }
}

/// Rebuilds the registry in `conn` (restored from a backup, the control plane stopped) from
/// changeset logs copied from satellites (`<zone>.relay` files in their agents' state). Each
/// changeset must be signed by one of `signing_keys`; records are opened with `key`.
pub fn recover(
    conn: &mut Connection,
    logs: &[PathBuf],
    signing_keys: &[Vec<u8>],
    key: &RecoveryPrivateKey,
) -> anyhow::Result<Recovery> {
    let known: HashMap<String, &[u8]> = signing_keys
        .iter()
        .map(|k| (signing::key_id(k), k.as_slice()))
        .collect();
    // zone → from serial → changeset, from every log, checked and deduplicated.
    let mut by_zone: BTreeMap<String, HashMap<u32, SignedChangeset>> = BTreeMap::new();
    let mut read = 0;
    for path in logs {
        let changesets = satellite_protocol::log::read(path)
            .with_context(|| format!("reading the changeset log {}", path.display()))?;
        for c in changesets {
            read += 1;
            let entry = JournalEntry::from(c.clone());
            if !known.get(&c.key_id).is_some_and(|k| entry.signed_by(k)) {
                bail!(
                    "{}: changeset {} {}→{} is not signed by a key of this registry (key id {})",
                    path.display(),
                    c.zone,
                    c.from,
                    c.to,
                    c.key_id
                );
            }
            let zone = by_zone.entry(c.zone.clone()).or_default();
            if let Some(held) = zone.get(&c.from) {
                if *held != c {
                    bail!(
                        "{}: changeset {} {}→{} differs from another log's: the logs come from registries that diverged",
                        path.display(),
                        c.zone,
                        c.from,
                        c.to
                    );
                }
                continue;
            }
            zone.insert(c.from, c);
        }
    }
    let tx = conn.transaction()?;
    record::defer_foreign_keys(&tx)?;
    let last_before = record::last(&tx)?;
    // Each zone's chain from the backup's serial, and the records its changesets carry.
    let mut chains = Vec::new();
    let mut records: BTreeMap<u64, Record> = BTreeMap::new();
    for zone in tx.zones()? {
        let mut chain = Vec::new();
        let mut serial = zone.serial;
        let held = by_zone.remove(zone.origin.as_str()).unwrap_or_default();
        while let Some(c) = held.get(&serial) {
            if c.record.is_empty() {
                bail!(
                    "changeset {} {}→{} carries no registry record (the control plane had no recovery_key then): the registry cannot be rebuilt past serial {}",
                    c.zone,
                    c.from,
                    c.to,
                    c.from
                );
            }
            let record = key
                .open(&c.record)
                .with_context(|| format!("changeset {} {}→{}", c.zone, c.from, c.to))?;
            if let Some(other) = records.get(&record.seq) {
                anyhow::ensure!(
                    *other == record,
                    "two records numbered {}: the logs come from registries that diverged",
                    record.seq
                );
            }
            chain.push((c.clone(), record.seq));
            records.insert(record.seq, record);
            serial = c.to;
        }
        if chain.is_empty()
            && let Some(first) = held.keys().filter(|s| is_after(**s, zone.serial)).min()
        {
            bail!(
                "{}: the backup holds serial {} but the logs start at {first}: use a log that reaches back to the backup, or a newer backup",
                zone.origin,
                zone.serial
            );
        }
        chains.push((zone, chain));
    }
    // Records apply in order, without a gap, from the one after the backup's last.
    let mut last = last_before;
    let replay = record::Replay::new(&tx)?;
    while let Some(record) = records.get(&(last + 1)) {
        replay.record(record)?;
        last += 1;
    }
    let mut zones = Vec::new();
    for (zone, chain) in chains {
        let logs_reach = chain.last().map_or(zone.serial, |(c, _)| c.to);
        let mut recovered = ZoneRecovery {
            zone: zone.origin.to_string(),
            from: zone.serial,
            to: zone.serial,
            changesets: 0,
            last_committed: None,
            logs_reach,
        };
        for (c, seq) in chain {
            if seq > last {
                break;
            }
            recovered.to = c.to;
            recovered.changesets += 1;
            recovered.last_committed = Some(c.committed);
            tx.append_journal(&JournalEntry::from(c))?;
        }
        tx.set_zone_serial(zone.id, recovered.to)?;
        zones.push(recovered);
    }
    if last > last_before {
        record::replayed_to(&tx, last)?;
    }
    tx.commit()
        .context("committing the recovery (a foreign key the records leave dangling?)")?;
    Ok(Recovery {
        zones,
        records: (last_before, last),
        read,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys(dir: &Path) -> (RecoveryKey, RecoveryPrivateKey) {
        let path = dir.join("recovery.key");
        generate(&path).unwrap();
        (
            RecoveryKey::load(&path.with_extension("pub")).unwrap(),
            RecoveryPrivateKey::load(&path).unwrap(),
        )
    }

    #[test]
    fn a_record_opens_only_whole_and_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let (public, private) = keys(dir.path());
        let other = tempfile::tempdir().unwrap();
        let (_, other_private) = keys(other.path());
        let sealed = public.seal(br#"{"seq":4,"rows":[]}"#).unwrap();
        assert_eq!(
            private.open(&sealed).unwrap(),
            Record {
                seq: 4,
                rows: vec![]
            }
        );
        let error = other_private.open(&sealed).unwrap_err().to_string();
        assert!(error.contains("not to this one"), "{error}");
        for at in [0, 1, 10, 45, sealed.len() - 1] {
            let mut altered = sealed.clone();
            altered[at] ^= 1;
            assert!(private.open(&altered).is_err(), "octet {at} altered");
        }
        assert!(private.open(&sealed[..sealed.len() - 1]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Arbitrary bytes never open (and never panic).
        #[test]
        fn arbitrary_bytes_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            static KEY: std::sync::OnceLock<RecoveryPrivateKey> = std::sync::OnceLock::new();
            let key = KEY.get_or_init(|| {
                let dir = tempfile::tempdir().unwrap();
                keys(dir.path()).1
            });
            prop_assert!(key.open(&bytes).is_err());
        }
    }
}
