//! The SQLite backend of the registry record (`crate::operator::recovery` has the design):
//! temporary triggers note the key of every row a transaction writes, [`take`] turns the
//! notes into the record's JSON (each row's image as the transaction leaves it, or its key if
//! it is gone), and [`Replay`] writes records back into a database restored from a backup.
//!
//! ```text
//! {"seq": n, "rows": [[table, "put" | "delete", {column: value, …}], …]}
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, bail};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use crate::store::{StoreError, StoreResult};

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
    "transactions",
    "messages",
    "transfers",
    "blocked_labels",
    "blocked_combinations",
    "satellites",
    "dnssec_zones",
    "dnssec_records",
    "dnssec_building",
];

/// Columns whose changes are not recorded: the zone's serial is the journal's business.
const UNRECORDED_COLUMNS: &[(&str, &str)] = &[("zones", "serial")];

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
/// (the SQLite backend of [`Store::keep_unpublished`](crate::store::Store::keep_unpublished)). Run before its COMMIT.
pub fn keep(conn: &Connection) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO main.recorded (tbl, key) SELECT DISTINCT tbl, key FROM temp.noted",
    )?
    .execute([])?;
    conn.prepare_cached("DELETE FROM temp.noted")?.execute([])?;
    Ok(())
}

/// Forgets what this transaction wrote: the next record does not carry it (rows a later
/// transaction of the same work notes again with [`note_rows`]).
pub fn forget(conn: &Connection) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM temp.noted")?.execute([])?;
    Ok(())
}

/// Notes every row of `table` whose `column` is `value` as written by this transaction, so
/// that its record carries them.
pub fn note_rows(conn: &Connection, table: &str, column: &str, value: i64) -> StoreResult<()> {
    let t = self::table(conn, table)?;
    conn.prepare_cached(&format!(
        "INSERT INTO temp.noted (tbl, key) SELECT '{table}', {} FROM main.\"{table}\" AS row \
         WHERE row.\"{column}\" = ?1",
        json_key(&t.key, "row")
    ))?
    .execute([value])?;
    Ok(())
}

/// One record: its number in the chain and the rows, in the order last written.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// The record's number (1, 2, 3 …).
    pub seq: u64,
    /// `(table, "put" | "delete", columns)`.
    pub rows: Vec<(String, String, serde_json::Map<String, Value>)>,
}

/// The registry record of everything written since the last one, as JSON (the SQLite backend
/// of [`Store::take_record`](crate::store::Store::take_record)): numbered next in `record_chain`, the notes cleared.
///
/// The notes say only which rows were written; their images are read here, once per row
/// however often it changed: the row as the transaction leaves it, or its key if it is gone.
/// (A row written by a command rolled back to its savepoint is noted no more: the note was
/// rolled back with it.)
pub fn take(conn: &Connection) -> StoreResult<Vec<u8>> {
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
    drop_notes(conn)?;
    Ok(plaintext.into_bytes())
}

/// Drops the notes without a record (the SQLite backend of [`Store::drop_record`](crate::store::Store::drop_record)).
pub fn drop_notes(conn: &Connection) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM temp.noted")?.execute([])?;
    conn.prepare_cached("DELETE FROM main.recorded")?
        .execute([])?;
    Ok(())
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
fn replay_into(
    conn: &Connection,
    tables: &HashMap<&str, Table>,
    record: &Record,
) -> anyhow::Result<()> {
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

/// Replays records into one open transaction, their tables and columns checked against the
/// schema as it is.
pub struct Replay<'a> {
    conn: &'a Connection,
    tables: HashMap<&'static str, Table>,
}

impl<'a> Replay<'a> {
    /// Prepares to replay into `conn` (in a transaction whose foreign keys are deferred: see
    /// [`defer_foreign_keys`]).
    pub fn new(conn: &'a Connection) -> rusqlite::Result<Replay<'a>> {
        let tables = RECORDED
            .iter()
            .map(|&name| Ok((name, table(conn, name)?)))
            .collect::<rusqlite::Result<_>>()?;
        Ok(Replay { conn, tables })
    }

    /// Writes one record's rows.
    pub fn record(&self, record: &Record) -> anyhow::Result<()> {
        replay_into(self.conn, &self.tables, record)
    }
}

/// Checks foreign keys at the transaction's commit rather than at each statement, so that
/// records replay in the order they were taken.
pub fn defer_foreign_keys(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("PRAGMA defer_foreign_keys = ON")
}

/// The number of the last record taken.
pub fn last(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT last FROM record_chain", [], |r| r.get(0))
}

/// After a replay: the chain continues from `last`, and nothing is kept unpublished (the
/// replay's own notes, and what the backup held unpublished, were in the first record
/// replayed).
pub fn replayed_to(conn: &Connection, last: u64) -> anyhow::Result<()> {
    conn.execute(
        "UPDATE record_chain SET last = ?1",
        params![i64::try_from(last)?],
    )?;
    conn.execute("DELETE FROM recorded", [])?;
    Ok(())
}

/// Copies the database, consistent and online (`VACUUM INTO`: one read transaction; the
/// commit thread keeps writing), to a new file.
pub fn vacuum_into(conn: &Connection, path: &Path) -> rusqlite::Result<()> {
    conn.execute("VACUUM INTO ?1", [path.to_string_lossy()])
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        Domain, HistoryEntry, HistoryKey, LedgerKind, Nameserver, Registrar, ZoneSettings,
    };
    use crate::store::Store;

    /// A registry with one zone and one registrar.
    fn registry(path: &Path) -> Connection {
        let conn = crate::store::sqlite::open(path).unwrap();
        crate::store::sqlite::insert_zone(&conn, &ZoneSettings::new("tld".parse().unwrap()))
            .unwrap();
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
        let conn = registry(&dir.path().join("a.db"));
        // Whatever the set-up wrote is published first, as a first transaction would.
        let first: Record = serde_json::from_slice(&take(&conn).unwrap()).unwrap();
        assert_eq!(first.seq, 1);
        vacuum_into(&conn, &dir.path().join("b.db")).unwrap();
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
            statuses: crate::model::Statuses::NONE,
            created: 10,
            expires: 20,
            updated: 10,
            cluster: Some(cluster),
            auth_hash: Some("$argon2id$y".into()),
            ds: vec![],
            deletion: None,
            billed: None,
            case: None,
        };
        conn.insert_domain(&domain).unwrap();
        conn.charge(1001, -500, LedgerKind::Create, Some("a.tld"), 10)
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
            HistoryKey::Domain("a.tld"),
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
            conn.charge(1001, amount, LedgerKind::TopUp, None, 11)
                .unwrap();
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
        let json = take(&conn).unwrap();
        conn.execute_batch("COMMIT").unwrap();

        let record: Record = serde_json::from_slice(&json).unwrap();
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

        replica.execute_batch("BEGIN").unwrap();
        defer_foreign_keys(&replica).unwrap();
        Replay::new(&replica).unwrap().record(&record).unwrap();
        replica.execute_batch("COMMIT").unwrap();
        assert_eq!(dump(&replica), dump(&conn));
    }

    #[test]
    fn without_a_record_the_notes_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let conn = registry(&dir.path().join("r.db"));
        drop_notes(&conn).unwrap();
        assert_eq!(last(&conn).unwrap(), 0, "no record was numbered");
        assert_eq!(
            conn.query_row("SELECT count(*) FROM recorded", [], |r| r.get::<_, i64>(0))
                .unwrap(),
            0
        );
        let next: Record = serde_json::from_slice(&take(&conn).unwrap()).unwrap();
        assert_eq!((next.seq, next.rows.len()), (1, 0));
    }
}
