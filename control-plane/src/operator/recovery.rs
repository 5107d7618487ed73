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
//! Temporary triggers on every table in [`RECORDED`], made on each connection that writes
//! ([`attach`]), note the key of each row inserted, updated or deleted in the temporary table
//! `noted`: in the transaction, so a command rolled back to its savepoint leaves no note, and
//! off the write-ahead log. When a transaction publishes — [`crate::registry::Publication::finish`]
//! writes a changeset — [`take`] reads the notes, its own and those an earlier transaction
//! that published nothing (a top-up, a password change, a satellite added) kept in the table
//! `recorded` ([`keep`], run before such a transaction commits). For each row noted it writes
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
use rusqlite::{Connection, OptionalExtension, params};
use satellite_protocol::message::SignedChangeset;
use serde_json::Value;
use zonefiles::serial::is_after;

use crate::model::JournalEntry;
use crate::publish::signing;
use crate::store::{Store, StoreError, StoreResult};

type Kem = hpke::kem::X25519HkdfSha256;
type Kdf = hpke::kdf::HkdfSha256;
type Aead = hpke::aead::ChaCha20Poly1305;

/// The tables whose rows the registry record carries: everything the registry knows but the
/// journal itself, exported snapshots' bookkeeping and satellites' transient status.
pub const RECORDED: &[&str] = &[
    "zones",
    "registrars",
    "clusters",
    "cluster_nameservers",
    "domains",
    "hosts",
    "sequences",
    "history",
    "ledger",
    "messages",
    "transfers",
    "blocked_labels",
    "blocked_combinations",
    "satellites",
];

/// Columns whose changes are not recorded: the zone's serial is the journal's business.
const UNRECORDED_COLUMNS: &[(&str, &str)] = &[("zones", "serial")];

const FORMAT: u8 = 1;
/// The largest record opened (inflated), as large as the largest frame that carries one.
const MAX_RECORD: usize = satellite_protocol::message::MAX_FRAME;
const INFO: &[u8] = b"constellation registry record v1";
const KEY_ID: usize = 8;
const ENCAPPED: usize = 32;

/// A table's columns and which of them make its primary key.
struct Table {
    columns: Vec<String>,
    key: Vec<String>,
}

fn table(conn: &Connection, name: &str) -> rusqlite::Result<Table> {
    let mut statement = conn.prepare(&format!("PRAGMA table_info(\"{name}\")"))?;
    let mut columns = Vec::new();
    let mut key = Vec::new();
    for row in statement.query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, i64>(5)?)))? {
        let (column, position) = row?;
        if position > 0 {
            key.push((position, column.clone()));
        }
        columns.push(column);
    }
    key.sort();
    Ok(Table {
        columns,
        key: key.into_iter().map(|(_, c)| c).collect(),
    })
}

fn json_key(key: &[String], row: &str) -> String {
    let values: Vec<String> = key.iter().map(|c| format!("{row}.\"{c}\"")).collect();
    format!("json_array({})", values.join(", "))
}

/// Prepares a connection to note what it writes: the temporary table `noted` and, on every
/// table in [`RECORDED`], temporary triggers generated from the schema as it is. Run by
/// [`crate::store::sqlite::open`] on every connection that writes.
pub fn attach(conn: &Connection) -> rusqlite::Result<()> {
    let mut sql = String::from(
        "CREATE TEMP TABLE IF NOT EXISTS noted (tbl TEXT NOT NULL, key TEXT NOT NULL);\n",
    );
    for &name in RECORDED {
        let t = table(conn, name)?;
        if t.key.is_empty() {
            return Err(rusqlite::Error::InvalidColumnName(format!(
                "{name} has no primary key to record rows by"
            )));
        }
        let note = |row: &str| {
            format!(
                "INSERT INTO temp.noted (tbl, key) VALUES ('{name}', {});",
                json_key(&t.key, row)
            )
        };
        let watched: Vec<String> = t
            .columns
            .iter()
            .filter(|c| !UNRECORDED_COLUMNS.contains(&(name, c.as_str())))
            .map(|c| format!("\"{c}\""))
            .collect();
        let key_changed: Vec<String> = t
            .key
            .iter()
            .map(|c| format!("OLD.\"{c}\" IS NOT NEW.\"{c}\""))
            .collect();
        let _ = write!(
            sql,
            "CREATE TEMP TRIGGER IF NOT EXISTS record_{name}_insert AFTER INSERT ON main.\"{name}\" BEGIN {} END;\n\
             CREATE TEMP TRIGGER IF NOT EXISTS record_{name}_rekey AFTER UPDATE ON main.\"{name}\" WHEN {} BEGIN {} END;\n\
             CREATE TEMP TRIGGER IF NOT EXISTS record_{name}_update AFTER UPDATE OF {} ON main.\"{name}\" BEGIN {} END;\n\
             CREATE TEMP TRIGGER IF NOT EXISTS record_{name}_delete AFTER DELETE ON main.\"{name}\" BEGIN {} END;\n",
            note("NEW"),
            key_changed.join(" OR "),
            note("OLD"),
            watched.join(", "),
            note("NEW"),
            note("OLD"),
        );
    }
    conn.execute_batch(&sql)
}

/// Keeps the notes of a transaction that published nothing in `recorded`, for the next record
/// (the SQLite backend of [`Store::keep_unpublished`]). Run before its COMMIT.
pub fn keep(conn: &Connection) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO main.recorded (tbl, key) SELECT DISTINCT tbl, key FROM temp.noted",
    )?
    .execute([])?;
    conn.prepare_cached("DELETE FROM temp.noted")?.execute([])?;
    Ok(())
}

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
    pub fn seal(&self, json: &[u8]) -> Result<Vec<u8>, StoreError> {
        let plaintext = miniz_oxide::deflate::compress_to_vec(json, 1);
        let plaintext = &plaintext[..];
        let (encapped, ciphertext) = hpke::single_shot_seal::<Aead, Kdf, Kem>(
            &OpModeS::Base,
            &self.key,
            INFO,
            plaintext,
            &[],
        )
        .map_err(|e| StoreError::Corrupt(format!("sealing the registry record: {e}")))?;
        let mut out = Vec::with_capacity(1 + KEY_ID + ENCAPPED + ciphertext.len());
        out.push(FORMAT);
        out.extend_from_slice(&self.id);
        out.extend_from_slice(&encapped.to_bytes());
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }
}

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
    conn.execute("VACUUM INTO ?1", [partial.to_string_lossy()])
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

/// One record: its number in the chain and the rows, in the order last written.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// The record's number (1, 2, 3 …).
    pub seq: u64,
    /// `(table, "put" | "delete", columns)`.
    pub rows: Vec<(String, String, serde_json::Map<String, Value>)>,
}

/// The registry record of everything written since the last one, sealed to `key` (the SQLite
/// backend of [`Store::take_record`]). Without a key the notes are dropped and the record is
/// empty.
///
/// The notes say only which rows were written; their images are read here, once per row
/// however often it changed: the row as the transaction leaves it, or its key if it is gone.
/// (A row written by a command rolled back to its savepoint is noted no more: the note was
/// rolled back with it.)
pub fn take(conn: &Connection, key: Option<&RecoveryKey>) -> StoreResult<Vec<u8>> {
    let Some(key) = key else {
        conn.prepare_cached("DELETE FROM temp.noted")?.execute([])?;
        conn.prepare_cached("DELETE FROM main.recorded")?
            .execute([])?;
        return Ok(Vec::new());
    };
    let seq: u64 = conn
        .prepare_cached("UPDATE record_chain SET last = last + 1 RETURNING last")?
        .query_row([], |r| r.get(0))?;
    let mut plaintext = format!("{{\"seq\":{seq},\"rows\":[");
    let mut notes = conn.prepare_cached(
        "SELECT tbl, key FROM main.recorded UNION SELECT tbl, key FROM temp.noted",
    )?;
    let notes = notes.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut statements: HashMap<&str, (String, Vec<String>)> = HashMap::new();
    let mut first = true;
    for note in notes {
        let (table, key) = note?;
        let Some(&name) = RECORDED.iter().find(|t| **t == table) else {
            return Err(StoreError::Corrupt(format!("a note for table {table:?}")));
        };
        let (image, pk) = match statements.entry(name) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(image_statement(conn, name)?),
        };
        let corrupt =
            |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("a note's key {key:?}: {e}"));
        let key_values: Vec<Value> = serde_json::from_str(&key).map_err(|e| corrupt(&e))?;
        let values: Vec<rusqlite::types::Value> = key_values
            .iter()
            .map(sql_value)
            .collect::<anyhow::Result<_>>()
            .map_err(|e| corrupt(&e))?;
        let row: Option<String> = conn
            .prepare_cached(image)?
            .query_row(rusqlite::params_from_iter(&values), |r| r.get(0))
            .optional()?;
        let (op, row) = match row {
            Some(row) => ("put", row),
            None => {
                let key: serde_json::Map<String, Value> =
                    pk.iter().cloned().zip(key_values).collect();
                ("delete", Value::Object(key).to_string())
            }
        };
        if !first {
            plaintext.push(',');
        }
        first = false;
        // The table and operation are this module's constants; the row is SQLite's JSON.
        let _ = write!(plaintext, "[\"{name}\",\"{op}\",{row}]");
    }
    plaintext.push_str("]}");
    conn.prepare_cached("DELETE FROM temp.noted")?.execute([])?;
    conn.prepare_cached("DELETE FROM main.recorded")?
        .execute([])?;
    key.seal(plaintext.as_bytes())
}

/// The statement that reads a row's image by its key, and the key's columns.
fn image_statement(conn: &Connection, name: &str) -> StoreResult<(String, Vec<String>)> {
    let t = table(conn, name)?;
    let pairs: Vec<String> = t
        .columns
        .iter()
        .map(|c| format!("'{c}', \"{c}\""))
        .collect();
    let conditions: Vec<String> = t
        .key
        .iter()
        .enumerate()
        .map(|(i, c)| format!("\"{c}\" = ?{}", i + 1))
        .collect();
    Ok((
        format!(
            "SELECT json_object({}) FROM main.\"{name}\" WHERE {}",
            pairs.join(", "),
            conditions.join(" AND ")
        ),
        t.key,
    ))
}

fn sql_value(value: &Value) -> anyhow::Result<rusqlite::types::Value> {
    use rusqlite::types::Value as V;
    Ok(match value {
        Value::Null => V::Null,
        Value::Bool(b) => V::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => V::Integer(i),
            None => V::Real(n.as_f64().context("a number out of range")?),
        },
        Value::String(s) => V::Text(s.clone()),
        other => bail!("a column value {other} is neither text, number nor null"),
    })
}

/// Replays one record's rows into the open transaction. Table and column names are checked
/// against the schema: a record names nothing else.
fn replay(conn: &Connection, tables: &HashMap<&str, Table>, record: &Record) -> anyhow::Result<()> {
    for (name, op, row) in &record.rows {
        let t = tables
            .get(name.as_str())
            .with_context(|| format!("record {} names table {name:?}", record.seq))?;
        if let Some(column) = row.keys().find(|c| !t.columns.contains(c)) {
            bail!("record {} names column {name}.{column:?}", record.seq);
        }
        let values: Vec<rusqlite::types::Value> =
            row.values().map(sql_value).collect::<anyhow::Result<_>>()?;
        let quoted: Vec<String> = row.keys().map(|c| format!("\"{c}\"")).collect();
        let sql = match op.as_str() {
            "put" => {
                let placeholders: Vec<String> = (1..=row.len()).map(|i| format!("?{i}")).collect();
                let updates: Vec<String> = quoted
                    .iter()
                    .map(|c| format!("{c} = excluded.{c}"))
                    .collect();
                let key: Vec<String> = t.key.iter().map(|c| format!("\"{c}\"")).collect();
                format!(
                    "INSERT INTO \"{name}\" ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}",
                    quoted.join(", "),
                    placeholders.join(", "),
                    key.join(", "),
                    updates.join(", ")
                )
            }
            "delete" => {
                anyhow::ensure!(
                    t.key.iter().all(|c| row.contains_key(c)),
                    "record {}: a delete from {name} without its whole key",
                    record.seq
                );
                let conditions: Vec<String> = quoted
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{c} = ?{}", i + 1))
                    .collect();
                format!("DELETE FROM \"{name}\" WHERE {}", conditions.join(" AND "))
            }
            other => bail!("record {}: operation {other:?}", record.seq),
        };
        conn.prepare_cached(&sql)?
            .execute(rusqlite::params_from_iter(values))
            .with_context(|| format!("record {}: {op} in {name}", record.seq))?;
    }
    Ok(())
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
    tx.execute_batch("PRAGMA defer_foreign_keys = ON")?;
    let last_before: u64 = tx.query_row("SELECT last FROM record_chain", [], |r| r.get(0))?;
    // Each zone's chain from the backup's serial, and the records its changesets carry.
    let mut chains = Vec::new();
    let mut records: BTreeMap<u64, Record> = BTreeMap::new();
    for zone in tx.zones()? {
        let mut chain = Vec::new();
        let mut serial = zone.serial;
        let held = by_zone.remove(&zone.origin).unwrap_or_default();
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
    let tables: HashMap<&str, Table> = RECORDED
        .iter()
        .map(|&name| Ok((name, table(&tx, name)?)))
        .collect::<rusqlite::Result<_>>()?;
    while let Some(record) = records.get(&(last + 1)) {
        replay(&tx, &tables, record)?;
        last += 1;
    }
    let mut zones = Vec::new();
    for (zone, chain) in chains {
        let logs_reach = chain.last().map_or(zone.serial, |(c, _)| c.to);
        let mut recovered = ZoneRecovery {
            zone: zone.origin.clone(),
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
        tx.execute(
            "UPDATE record_chain SET last = ?1",
            params![i64::try_from(last)?],
        )?;
        // The replay's own trigger rows, and what the backup held unpublished (in the first
        // record replayed).
        tx.execute("DELETE FROM recorded", [])?;
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
    use crate::model::{Domain, HistoryEntry, Nameserver, Registrar, ZoneSettings};
    use proptest::prelude::*;

    fn keys(dir: &Path) -> (RecoveryKey, RecoveryPrivateKey) {
        let path = dir.join("recovery.key");
        generate(&path).unwrap();
        (
            RecoveryKey::load(&path.with_extension("pub")).unwrap(),
            RecoveryPrivateKey::load(&path).unwrap(),
        )
    }

    /// A registry with one zone and one registrar.
    fn registry(path: &Path) -> Connection {
        let conn = crate::store::sqlite::open(path).unwrap();
        crate::store::sqlite::insert_zone(&conn, &ZoneSettings::new("tld")).unwrap();
        crate::store::sqlite::put_registrar(
            &conn,
            &Registrar {
                id: 1001,
                iana_id: 9001,
                name: "R".into(),
                whois_server: String::new(),
                url: String::new(),
                abuse_email: String::new(),
                abuse_phone: String::new(),
                password_hash: "$argon2id$x".into(),
                active: true,
                balance: 0,
                credit_limit: 0,
                updated: 0,
                certificate: None,
            },
        )
        .unwrap();
        conn
    }

    fn dump(conn: &Connection) -> Vec<String> {
        let mut out = Vec::new();
        for name in RECORDED {
            let t = table(conn, name).unwrap();
            let columns: Vec<String> = t
                .columns
                .iter()
                .map(|c| format!("quote(\"{c}\")"))
                .collect();
            let sql = format!("SELECT {} FROM \"{name}\"", columns.join(" || ',' || "));
            let mut rows: Vec<String> = conn
                .prepare(&sql)
                .unwrap()
                .query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .map(|r| format!("{name}: {}", r.unwrap()))
                .collect();
            rows.sort();
            out.extend(rows);
        }
        out
    }

    #[test]
    fn records_replay_to_the_same_rows_and_rolled_back_writes_leave_none() {
        let dir = tempfile::tempdir().unwrap();
        let (public, private) = keys(dir.path());
        let conn = registry(&dir.path().join("a.db"));
        // Whatever the set-up wrote is published first, as a first transaction would.
        let first = private.open(&take(&conn, Some(&public)).unwrap()).unwrap();
        assert_eq!(first.seq, 1);
        backup(&conn, &dir.path().join("b.db"), None).unwrap();
        let replica = crate::store::sqlite::open(&dir.path().join("b.db")).unwrap();

        conn.execute_batch("BEGIN").unwrap();
        let ns = |n: &str| Nameserver {
            name: n.into(),
            addresses: vec![],
        };
        let cluster = conn
            .insert_cluster(1001, &[ns("ns1.example.net"), ns("ns2.example.net")])
            .unwrap();
        let domain = Domain {
            name: "a.tld".into(),
            zone: 1,
            id: 0,
            registrar: 1001,
            active: true,
            created: 10,
            expires: 20,
            updated: 10,
            cluster: Some(cluster),
            auth_hash: Some("$argon2id$y".into()),
            ds: vec![],
            deletion: None,
            billed: None,
        };
        conn.insert_domain(&domain).unwrap();
        conn.charge(1001, -500, "create", Some("a.tld"), 10)
            .unwrap();
        // A command refused after it wrote: its savepoint is rolled back.
        conn.execute_batch("SAVEPOINT command").unwrap();
        conn.insert_domain(&Domain {
            name: "refused.tld".into(),
            ..domain.clone()
        })
        .unwrap();
        conn.execute_batch("ROLLBACK TO command; RELEASE command")
            .unwrap();
        conn.add_history(
            "domain:a.tld",
            &HistoryEntry {
                at: 10,
                actor: "registrar 1001".into(),
                change: "CREATE".into(),
            },
        )
        .unwrap();
        conn.execute_batch("COMMIT").unwrap();
        // Transactions that publish nothing ride with the next one (here two, writing the same
        // row, as two top-ups do).
        for amount in [300, 400] {
            conn.execute_batch("BEGIN").unwrap();
            conn.charge(1001, amount, "top-up", None, 11).unwrap();
            keep(&conn).unwrap();
            conn.execute_batch("COMMIT").unwrap();
        }
        conn.execute_batch("BEGIN").unwrap();
        conn.set_nameservers(cluster, &[ns("ns3.example.net")])
            .unwrap();
        conn.delete_domain("a.tld").unwrap();
        conn.delete_cluster(cluster).unwrap();
        conn.insert_domain(&Domain {
            name: "b.tld".into(),
            cluster: None,
            ..domain.clone()
        })
        .unwrap();
        let sealed = take(&conn, Some(&public)).unwrap();
        conn.execute_batch("COMMIT").unwrap();

        let record = private.open(&sealed).unwrap();
        assert_eq!(record.seq, 2);
        let text = serde_json::to_string(&record.rows).unwrap();
        assert!(!text.contains("refused.tld"), "{text}");
        assert!(text.contains("top-up"), "{text}");
        // The last image of each row only: the cluster is deleted, not also inserted.
        assert!(!text.contains("ns1.example.net"), "{text}");
        assert_eq!(
            conn.query_row("SELECT count(*) FROM recorded", [], |r| r.get::<_, i64>(0))
                .unwrap(),
            0
        );

        let tables: HashMap<&str, Table> = RECORDED
            .iter()
            .map(|&name| (name, table(&replica, name).unwrap()))
            .collect();
        replica
            .execute_batch("BEGIN; PRAGMA defer_foreign_keys = ON")
            .unwrap();
        replay(&replica, &tables, &record).unwrap();
        replica.execute_batch("COMMIT").unwrap();
        assert_eq!(dump(&replica), dump(&conn));
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
        // Without a key, the rows are dropped and nothing is sealed.
        let conn = registry(&dir.path().join("r.db"));
        assert_eq!(take(&conn, None).unwrap(), Vec::<u8>::new());
        assert_eq!(
            conn.query_row("SELECT count(*) FROM recorded", [], |r| r.get::<_, i64>(0))
                .unwrap(),
            0
        );
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
