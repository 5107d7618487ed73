//! The embedded SQLite backend of [`Store`].
//!
//! One file on purpose: the migrations and the [`Store`] implementation read and write the same
//! tables and are checked against each other; what is not the trait lives beside it
//! ([`record`], [`journal`], [`satellites`], [`dnssec`], …).
//!
//! # Durability
//!
//! The database runs in WAL mode with `synchronous=FULL`: a commit costs exactly one fsync of
//! the write-ahead log, and a committed transaction survives a crash or a power cut. Foreign
//! keys are enforced. The writer opens `BEGIN IMMEDIATE`, runs each command of a batch inside
//! a savepoint, and commits once (group commit); readers never block it.
//!
//! # Schema
//!
//! Each registration writes one row into one b-tree keyed by name (`domains` is a `WITHOUT
//! ROWID` table; object ids come from `sequences` and are unique by construction) plus one
//! entry in the cluster index: every random page a create dirties is one more page in the WAL
//! at commit.
//!
//! Migrations are compiled in and applied in order at open, each in one transaction with
//! `PRAGMA user_version` raised to its number; a database newer than the binary is refused.
//! Tables: `zones`, `registrars`, `clusters` + `cluster_nameservers`, `domains`, `sequences`
//! (object ids, never reused), `history` (every change of every object, with who made it),
//! `ledger` (every credit movement, with the balance after it), `blocked_labels`,
//! `blocked_combinations` and `journal` (the signed changesets: the outbox that satellites are
//! fed from, written in the same transaction as the change it publishes); migration 2 adds
//! `snapshots` (each exported full zone's serial, size and digest, for the publication checks)
//! and registrars' pinned client certificates; migration 3 adds `satellites` (the satellites
//! the push service accepts, by tunnel key) and `satellite_status` (each satellite's serial
//! per zone as it last acknowledged it, written by the push service every second); migration 4
//! adds the registry record: `journal.record`, `recorded` (the rows written by transactions
//! that published nothing, until one publishes) and `record_chain` (the number of
//! the last record sealed) — see [`crate::operator::recovery`]; migration 5 adds `hosts` (EPP host
//! objects, indexed by their superordinate domain), an index of cluster entries by host name (a
//! host's new addresses reach every cluster that lists it), `messages` (registrars' service
//! messages, EPP's poll queue), each zone's grace periods and each domain's deletion (RFC 3915:
//! when it was deleted, whether it is still redeemable) and last renewal at expiry, with an
//! index of domains by expiry for the sweep; migration 6 adds each zone's renew and transfer
//! grace periods and transfer policy (timeout and default answer), `transfers` (each domain's
//! latest transfer, pending ones indexed by when they time out), the transfer data of poll
//! messages, and replaces a domain's last renewal at expiry by its latest charge still in a
//! grace period (`billed`: what, when, the expiry before it); migration 7 replaces a domain's
//! `active` flag by its `statuses` (RFC 5731 §2.3 holds and prohibitions, their EPP names
//! separated by spaces; an inactive domain becomes `clientHold`) and adds the case the
//! registry set its `server…` statuses for (`case_reason`, `case_reference`); migration 8 adds
//! each zone's transfer lock after a registration or a transfer (`transfer_lock_days`);
//! migration 9 adds who changed a domain, and for which case, to the messages telling its
//! registrar (`who`, `case_reason`, `case_reference`); migration 10 indexes messages by when
//! they were queued, for their expiry; migration 11 gives each zone a price per operation
//! (`create_price`, was `year_price`; `renew_price`, `transfer_price`, `restore_price`, first
//! the same); migration 12 lists the domains whose WHOIS objects migration 7 changed the
//! writing of (held ones, those without name servers), for the sweep to publish again
//! (`republish`); migration 13 adds premium names with their own prices (`premium_names`);
//! migration 14 adds `publication_holds` (the publication checks' holds, [`holds`]); migration
//! 15 indexes domains and the ledger by registrar and adds `notices` (the web page's); migration
//! 16 `transactions` (the monthly transactions report's events); migration 17 `activity` (per
//! day, zone and source, the counts of the monthly activity report: [`activity`]).

pub mod activity;
pub mod dnssec;
pub mod escrow;
pub mod holds;
pub mod journal;
pub mod pages;
pub mod record;
pub mod reports;
pub mod satellites;

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use zonefiles::SerialPolicy;
use zonefiles::ZoneName;
use zonefiles::sign::incremental::Link;
use zonefiles::whois::DelegationSigner;

use crate::model::{
    Billed, BilledKind, Case, Cluster, Deletion, Domain, HistoryEntry, HistoryKey, Host,
    JournalEntry, LedgerEntry, LedgerKind, Lifecycle, Message, Nameserver, Notice, Prices, Reason,
    Registrar, Statuses, Transaction, Transfer, TransferDefault, TransferStatus, ZoneSettings,
};

const HOST_COLUMNS: &str = "name, id, registrar, creator, parent, created, updated, addresses";

fn host_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Host, String)> {
    Ok((
        Host {
            name: r.get(0)?,
            id: r.get(1)?,
            registrar: r.get(2)?,
            creator: r.get(3)?,
            parent: r.get(4)?,
            created: r.get(5)?,
            updated: r.get(6)?,
            addresses: Vec::new(),
        },
        r.get(7)?,
    ))
}

fn with_addresses(mut host: Host, addresses: &str) -> StoreResult<Host> {
    host.addresses = parse_addresses(addresses)?;
    Ok(host)
}

fn addresses_text(addresses: &[IpAddr]) -> String {
    addresses
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}
use crate::store::{Store, StoreError, StoreResult};

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE zones (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL UNIQUE,
    level INTEGER NOT NULL CHECK (level IN (2, 3)),
    serial INTEGER NOT NULL,
    serial_policy TEXT NOT NULL,
    mname TEXT NOT NULL,
    rname TEXT NOT NULL,
    refresh INTEGER NOT NULL,
    retry INTEGER NOT NULL,
    expire INTEGER NOT NULL,
    minimum INTEGER NOT NULL,
    soa_ttl INTEGER NOT NULL,
    delegation_ttl INTEGER NOT NULL,
    apex_nameservers TEXT NOT NULL,
    year_price INTEGER NOT NULL,
    min_ns INTEGER NOT NULL,
    max_ns INTEGER NOT NULL,
    default_period INTEGER NOT NULL,
    max_period INTEGER NOT NULL
);
CREATE TABLE registrars (
    id INTEGER PRIMARY KEY,
    iana_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    whois_server TEXT NOT NULL,
    url TEXT NOT NULL,
    abuse_email TEXT NOT NULL,
    abuse_phone TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL,
    balance INTEGER NOT NULL,
    credit_limit INTEGER NOT NULL,
    updated INTEGER NOT NULL
);
CREATE TABLE clusters (
    id INTEGER PRIMARY KEY,
    registrar INTEGER NOT NULL REFERENCES registrars(id),
    fingerprint TEXT NOT NULL
);
CREATE INDEX clusters_by_fingerprint ON clusters(registrar, fingerprint);
CREATE TABLE cluster_nameservers (
    cluster INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    addresses TEXT NOT NULL,
    PRIMARY KEY (cluster, position)
);
CREATE TABLE domains (
    name TEXT PRIMARY KEY,
    id INTEGER NOT NULL,
    zone INTEGER NOT NULL REFERENCES zones(id),
    registrar INTEGER NOT NULL REFERENCES registrars(id),
    active INTEGER NOT NULL,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    cluster INTEGER REFERENCES clusters(id),
    auth_hash TEXT,
    ds TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX domains_by_cluster ON domains(cluster);
CREATE TABLE sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO sequences VALUES ('domain', 0);
CREATE TABLE history (
    id INTEGER PRIMARY KEY,
    object TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    change TEXT NOT NULL
);
CREATE INDEX history_by_object ON history(object, id);
CREATE TABLE ledger (
    id INTEGER PRIMARY KEY,
    registrar INTEGER NOT NULL REFERENCES registrars(id),
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    domain TEXT,
    amount INTEGER NOT NULL,
    balance INTEGER NOT NULL
);
CREATE INDEX ledger_by_time ON ledger(at);
CREATE TABLE blocked_labels (label TEXT PRIMARY KEY);
CREATE TABLE blocked_combinations (
    third TEXT NOT NULL,
    second TEXT NOT NULL,
    PRIMARY KEY (third, second)
);
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY,
    zone TEXT NOT NULL,
    from_serial INTEGER NOT NULL,
    to_serial INTEGER NOT NULL,
    changeset BLOB NOT NULL,
    signature BLOB NOT NULL,
    key_id TEXT NOT NULL,
    committed INTEGER NOT NULL
);
CREATE UNIQUE INDEX journal_by_zone ON journal(zone, from_serial);
"#,
    r#"
ALTER TABLE registrars ADD COLUMN certificate TEXT;
CREATE TABLE snapshots (
    id INTEGER PRIMARY KEY,
    zone TEXT NOT NULL,
    serial INTEGER NOT NULL,
    records INTEGER NOT NULL,
    objects INTEGER NOT NULL,
    digest TEXT NOT NULL,
    at INTEGER NOT NULL
);
"#,
    r#"
CREATE TABLE satellites (
    name TEXT PRIMARY KEY,
    public_key TEXT NOT NULL UNIQUE,
    added INTEGER NOT NULL
);
CREATE TABLE satellite_status (
    satellite TEXT NOT NULL,
    zone TEXT NOT NULL,
    serial INTEGER,
    acked_at INTEGER,
    last_contact INTEGER NOT NULL,
    connected INTEGER NOT NULL,
    address TEXT,
    refused INTEGER NOT NULL,
    audit TEXT,
    PRIMARY KEY (satellite, zone)
) WITHOUT ROWID;
"#,
    r#"
ALTER TABLE journal ADD COLUMN record BLOB NOT NULL DEFAULT x'';
CREATE TABLE recorded (
    tbl TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (tbl, key)
) WITHOUT ROWID;
CREATE TABLE record_chain (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last INTEGER NOT NULL
);
INSERT INTO record_chain VALUES (1, 0);
"#,
    r#"
CREATE TABLE hosts (
    name TEXT PRIMARY KEY,
    id INTEGER NOT NULL,
    registrar INTEGER NOT NULL REFERENCES registrars(id),
    creator INTEGER NOT NULL,
    parent TEXT,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    addresses TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX hosts_by_parent ON hosts(parent) WHERE parent IS NOT NULL;
INSERT INTO sequences VALUES ('host', 0);
CREATE INDEX cluster_nameservers_by_name ON cluster_nameservers(name);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    registrar INTEGER NOT NULL REFERENCES registrars(id),
    at INTEGER NOT NULL,
    text TEXT NOT NULL,
    kind TEXT NOT NULL,
    domain TEXT,
    other INTEGER,
    expires INTEGER
);
CREATE INDEX messages_by_registrar ON messages(registrar, id);
ALTER TABLE zones ADD COLUMN add_grace_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE zones ADD COLUMN redemption_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE zones ADD COLUMN pending_delete_days INTEGER NOT NULL DEFAULT 5;
ALTER TABLE domains ADD COLUMN deleted INTEGER;
ALTER TABLE domains ADD COLUMN redeemable INTEGER NOT NULL DEFAULT 0;
CREATE INDEX domains_deleted ON domains(deleted) WHERE deleted IS NOT NULL;
ALTER TABLE zones ADD COLUMN auto_renew_grace_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN auto_renewed INTEGER;
CREATE INDEX domains_by_expiry ON domains(zone, expires);
"#,
    r#"
ALTER TABLE zones ADD COLUMN renew_grace_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE zones ADD COLUMN transfer_grace_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE zones ADD COLUMN transfer_timeout_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE zones ADD COLUMN transfer_default TEXT NOT NULL DEFAULT 'approve';
ALTER TABLE domains ADD COLUMN billed TEXT;
ALTER TABLE domains ADD COLUMN billed_at INTEGER;
ALTER TABLE domains ADD COLUMN billed_expires INTEGER;
UPDATE domains SET billed = 'auto-renew', billed_at = auto_renewed,
    billed_expires = CAST(strftime('%s', expires, 'unixepoch', '-12 months') AS INTEGER)
    WHERE auto_renewed IS NOT NULL;
ALTER TABLE domains DROP COLUMN auto_renewed;
CREATE TABLE transfers (
    name TEXT PRIMARY KEY,
    zone INTEGER NOT NULL REFERENCES zones(id),
    status TEXT NOT NULL,
    gaining INTEGER NOT NULL REFERENCES registrars(id),
    losing INTEGER NOT NULL REFERENCES registrars(id),
    requested INTEGER NOT NULL,
    acted INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    fee INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX transfers_pending ON transfers(zone, acted) WHERE status = 'pending';
ALTER TABLE messages ADD COLUMN tr_status TEXT;
ALTER TABLE messages ADD COLUMN tr_losing INTEGER;
ALTER TABLE messages ADD COLUMN tr_requested INTEGER;
ALTER TABLE messages ADD COLUMN tr_acted INTEGER;
UPDATE messages SET kind = 'transfer', tr_status = 'serverApproved', tr_losing = registrar,
    tr_requested = at, tr_acted = at WHERE kind = 'transferred-away';
"#,
    r#"
ALTER TABLE domains ADD COLUMN statuses TEXT NOT NULL DEFAULT '';
UPDATE domains SET statuses = 'clientHold' WHERE active = 0;
ALTER TABLE domains DROP COLUMN active;
ALTER TABLE domains ADD COLUMN case_reason TEXT;
ALTER TABLE domains ADD COLUMN case_reference TEXT;
"#,
    r#"
ALTER TABLE zones ADD COLUMN transfer_lock_days INTEGER NOT NULL DEFAULT 0;
"#,
    r#"
ALTER TABLE messages ADD COLUMN who TEXT;
ALTER TABLE messages ADD COLUMN case_reason TEXT;
ALTER TABLE messages ADD COLUMN case_reference TEXT;
"#,
    r#"
CREATE INDEX messages_by_time ON messages(at);
"#,
    r#"
ALTER TABLE zones RENAME COLUMN year_price TO create_price;
ALTER TABLE zones ADD COLUMN renew_price INTEGER NOT NULL DEFAULT 0;
ALTER TABLE zones ADD COLUMN transfer_price INTEGER NOT NULL DEFAULT 0;
ALTER TABLE zones ADD COLUMN restore_price INTEGER NOT NULL DEFAULT 0;
UPDATE zones SET renew_price = create_price, transfer_price = create_price,
    restore_price = create_price;
"#,
    r#"
CREATE TABLE republish (name TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT INTO republish SELECT name FROM domains WHERE statuses != '' OR cluster IS NULL;
"#,
    r#"
CREATE TABLE premium_names (
    name TEXT PRIMARY KEY,
    create_price INTEGER NOT NULL,
    renew_price INTEGER NOT NULL,
    transfer_price INTEGER NOT NULL,
    restore_price INTEGER NOT NULL
) WITHOUT ROWID;
"#,
    r#"
CREATE TABLE publication_holds (
    zone TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    serial INTEGER NOT NULL,
    until_serial INTEGER,
    since INTEGER NOT NULL,
    reason TEXT NOT NULL,
    size INTEGER NOT NULL,
    decided_by TEXT,
    decided_at INTEGER
) WITHOUT ROWID;
"#,
    r#"
CREATE INDEX domains_by_registrar ON domains(registrar, name);
CREATE INDEX ledger_by_registrar ON ledger(registrar, at, id, amount, balance);
CREATE TABLE notices (
    id INTEGER PRIMARY KEY,
    starts INTEGER NOT NULL,
    ends INTEGER,
    text TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE transactions (
    id INTEGER PRIMARY KEY,
    zone INTEGER NOT NULL REFERENCES zones(id),
    registrar INTEGER NOT NULL,
    at INTEGER NOT NULL,
    event TEXT NOT NULL,
    years INTEGER NOT NULL
);
CREATE INDEX transactions_by_time ON transactions(zone, at);
"#,
    r#"
CREATE TABLE activity (
    day INTEGER NOT NULL,
    zone TEXT NOT NULL,
    source TEXT NOT NULL,
    counter TEXT NOT NULL,
    total INTEGER NOT NULL,
    PRIMARY KEY (day, zone, source, counter)
) WITHOUT ROWID;
"#,
    r#"
CREATE TABLE dnssec_zones (
    zone INTEGER PRIMARY KEY REFERENCES zones(id),
    denial TEXT NOT NULL CHECK (denial IN ('nsec', 'nsec3', 'nsec3-opt-out'))
);
CREATE TABLE dnssec_records (
    zone INTEGER NOT NULL REFERENCES zones(id),
    owner TEXT NOT NULL,
    rtype INTEGER NOT NULL,
    rdata TEXT NOT NULL,
    ttl INTEGER NOT NULL,
    name TEXT,
    expires INTEGER,
    PRIMARY KEY (zone, owner, rtype, rdata)
) WITHOUT ROWID;
CREATE INDEX dnssec_chain ON dnssec_records(zone, owner) WHERE name IS NOT NULL;
CREATE INDEX dnssec_names ON dnssec_records(zone, name) WHERE name IS NOT NULL;
CREATE INDEX dnssec_expiring ON dnssec_records(zone, expires) WHERE expires IS NOT NULL;
"#,
    r#"
CREATE TABLE dnssec_building (
    zone INTEGER PRIMARY KEY REFERENCES zones(id),
    denial TEXT NOT NULL CHECK (denial IN ('nsec', 'nsec3', 'nsec3-opt-out')),
    serial INTEGER NOT NULL
);
"#,
];

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// SQLite failed.
    #[error("database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The database was written by a newer version of the control plane.
    #[error(
        "database {path} has schema version {found}; this binary knows up to {known}: upgrade the control plane"
    )]
    TooNew {
        /// The database file.
        path: String,
        /// Its schema version.
        found: i64,
        /// The newest this binary knows.
        known: i64,
    },
}

/// Opens (creating if needed) the registry database, sets WAL, `synchronous=FULL` and foreign
/// keys, and applies the migrations it lacks.
pub fn open(path: &Path) -> Result<Connection, OpenError> {
    let err = |source| OpenError::Sqlite {
        path: path.display().to_string(),
        source,
    };
    let mut conn = Connection::open(path).map_err(err)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(err)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(err)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(err)?;
    conn.set_prepared_statement_cache_capacity(256);
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(err)?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(OpenError::TooNew {
            path: path.display().to_string(),
            found: version,
            known,
        });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction().map_err(err)?;
        tx.execute_batch(migration).map_err(err)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)
            .map_err(err)?;
        tx.commit().map_err(err)?;
    }
    record::attach(&conn).map_err(err)?;
    Ok(conn)
}

/// A read-only connection to the registry database (readers never block the commit thread;
/// WAL gives each read its own snapshot), waiting up to 5 s on a lock.
pub fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        StoreError::Database(Box::new(error))
    }
}

fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt(what.into())
}

fn policy_text(policy: SerialPolicy) -> &'static str {
    match policy {
        SerialPolicy::Counter => "counter",
        SerialPolicy::UnixTime => "unix-time",
        SerialPolicy::DateCounter => "date-counter",
    }
}

/// Reads a serial policy's name (`counter`, `unix-time`, `date-counter`).
pub fn parse_policy(text: &str) -> Option<SerialPolicy> {
    match text {
        "counter" => Some(SerialPolicy::Counter),
        "unix-time" => Some(SerialPolicy::UnixTime),
        "date-counter" => Some(SerialPolicy::DateCounter),
        _ => None,
    }
}

/// Name servers as stored: `name addr addr` entries separated by `;`.
fn nameservers_text(nameservers: &[Nameserver]) -> String {
    nameservers
        .iter()
        .map(|ns| {
            let mut entry = ns.name.clone();
            for address in &ns.addresses {
                entry.push(' ');
                entry.push_str(&address.to_string());
            }
            entry
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn parse_addresses(text: &str) -> StoreResult<Vec<IpAddr>> {
    text.split_whitespace()
        .map(|a| a.parse().map_err(|_| corrupt(format!("address {a:?}"))))
        .collect()
}

fn parse_nameservers(text: &str) -> StoreResult<Vec<Nameserver>> {
    text.split(';')
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let (name, addresses) = entry.split_once(' ').unwrap_or((entry, ""));
            Ok(Nameserver {
                name: name.to_string(),
                addresses: parse_addresses(addresses)?,
            })
        })
        .collect()
}

fn ds_text(ds: &[DelegationSigner]) -> String {
    ds.iter()
        .map(DelegationSigner::to_string)
        .collect::<Vec<_>>()
        .join(";")
}

fn parse_ds(text: &str) -> StoreResult<Vec<DelegationSigner>> {
    text.split(';')
        .filter(|e| !e.is_empty())
        .map(|entry| entry.parse().map_err(|_| corrupt(format!("DS {entry:?}"))))
        .collect()
}

const DOMAIN_COLUMNS: &str = "name, id, zone, registrar, statuses, created, expires, updated, cluster, auth_hash, ds, deleted, redeemable, billed, billed_at, billed_expires, case_reason, case_reference";

fn domain_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Domain, String)> {
    Ok((
        Domain {
            name: row.get(0)?,
            id: row.get(1)?,
            zone: row.get(2)?,
            registrar: row.get(3)?,
            statuses: {
                let text: String = row.get(4)?;
                Statuses::from_text(&text).ok_or_else(|| {
                    rusqlite::Error::InvalidColumnType(
                        4,
                        format!("statuses {text:?}"),
                        rusqlite::types::Type::Text,
                    )
                })?
            },
            created: row.get(5)?,
            expires: row.get(6)?,
            updated: row.get(7)?,
            cluster: row.get(8)?,
            auth_hash: row.get(9)?,
            ds: Vec::new(),
            deletion: row.get::<_, Option<i64>>(11)?.map(|at| Deletion {
                at,
                redeemable: row.get(12).unwrap_or(false),
            }),
            billed: match (
                row.get::<_, Option<String>>(13)?,
                row.get::<_, Option<i64>>(14)?,
                row.get::<_, Option<i64>>(15)?,
            ) {
                (Some(kind), Some(at), Some(expires_before)) => Some(Billed {
                    kind: BilledKind::parse(&kind).ok_or_else(|| {
                        rusqlite::Error::InvalidColumnType(
                            13,
                            format!("billed {kind:?}"),
                            rusqlite::types::Type::Text,
                        )
                    })?,
                    at,
                    expires_before,
                }),
                _ => None,
            },
            case: match (
                row.get::<_, Option<String>>(16)?,
                row.get::<_, Option<String>>(17)?,
            ) {
                (Some(reason), Some(reference)) => Some(Case {
                    reason: Reason::parse(&reason).ok_or_else(|| {
                        rusqlite::Error::InvalidColumnType(
                            16,
                            format!("case reason {reason:?}"),
                            rusqlite::types::Type::Text,
                        )
                    })?,
                    reference,
                }),
                _ => None,
            },
        },
        row.get(10)?,
    ))
}

fn zone_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(ZoneSettings, String, String)> {
    Ok((
        ZoneSettings {
            id: row.get(0)?,
            origin: ZoneName::parse(&row.get::<_, String>(1)?).map_err(|error| {
                rusqlite::Error::FromSqlConversionFailure(
                    1,
                    rusqlite::types::Type::Text,
                    Box::new(error),
                )
            })?,
            level: row.get(2)?,
            serial: row.get(3)?,
            serial_policy: SerialPolicy::Counter,
            mname: row.get(5)?,
            rname: row.get(6)?,
            soa_timers: [row.get(7)?, row.get(8)?, row.get(9)?, row.get(10)?],
            soa_ttl: row.get(11)?,
            delegation_ttl: row.get(12)?,
            apex_nameservers: Vec::new(),
            prices: Prices {
                create: row.get(14)?,
                renew: row.get(28)?,
                transfer: row.get(29)?,
                restore: row.get(30)?,
            },
            min_ns: row.get(15)?,
            max_ns: row.get(16)?,
            default_period_months: row.get(17)?,
            max_period_months: row.get(18)?,
            lifecycle: Lifecycle {
                add_grace_days: row.get(19)?,
                redemption_days: row.get(20)?,
                pending_delete_days: row.get(21)?,
                auto_renew_grace_days: row.get(22)?,
                renew_grace_days: row.get(23)?,
                transfer_grace_days: row.get(24)?,
                transfer_timeout_days: row.get(25)?,
                transfer_default: {
                    let text: String = row.get(26)?;
                    TransferDefault::parse(&text).ok_or_else(|| {
                        rusqlite::Error::InvalidColumnType(
                            26,
                            format!("transfer_default {text:?}"),
                            rusqlite::types::Type::Text,
                        )
                    })?
                },
                transfer_lock_days: row.get(27)?,
            },
        },
        row.get(4)?,
        row.get(13)?,
    ))
}

fn registrar_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Registrar> {
    Ok(Registrar {
        id: row.get(0)?,
        iana_id: row.get(1)?,
        name: row.get(2)?,
        whois_server: row.get(3)?,
        url: row.get(4)?,
        abuse_email: row.get(5)?,
        abuse_phone: row.get(6)?,
        password_hash: row.get(7)?,
        active: row.get(8)?,
        balance: row.get(9)?,
        credit_limit: row.get(10)?,
        updated: row.get(11)?,
        certificate: row.get(12)?,
    })
}

const REGISTRAR_COLUMNS: &str = "id, iana_id, name, whois_server, url, abuse_email, abuse_phone, password_hash, active, balance, credit_limit, updated, certificate";

/// Every registrar (operator listings and reports).
pub fn registrars(conn: &Connection) -> StoreResult<Vec<Registrar>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {REGISTRAR_COLUMNS} FROM registrars ORDER BY id"
    ))?;
    let rows = statement.query_map([], registrar_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Adds a zone; its id is filled in.
pub fn insert_zone(conn: &Connection, zone: &ZoneSettings) -> StoreResult<i64> {
    conn.prepare_cached(
        "INSERT INTO zones (origin, level, serial, serial_policy, mname, rname, refresh, retry, expire, minimum, soa_ttl, delegation_ttl, apex_nameservers, create_price, min_ns, max_ns, default_period, max_period, add_grace_days, redemption_days, pending_delete_days, auto_renew_grace_days, renew_grace_days, transfer_grace_days, transfer_timeout_days, transfer_default, transfer_lock_days, renew_price, transfer_price, restore_price) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30)",
    )?
    .execute(params![
        zone.origin.as_str(),
        zone.level,
        zone.serial,
        policy_text(zone.serial_policy),
        zone.mname,
        zone.rname,
        zone.soa_timers[0],
        zone.soa_timers[1],
        zone.soa_timers[2],
        zone.soa_timers[3],
        zone.soa_ttl,
        zone.delegation_ttl,
        nameservers_text(&zone.apex_nameservers),
        zone.prices.create,
        zone.min_ns,
        zone.max_ns,
        zone.default_period_months,
        zone.max_period_months,
        zone.lifecycle.add_grace_days,
        zone.lifecycle.redemption_days,
        zone.lifecycle.pending_delete_days,
        zone.lifecycle.auto_renew_grace_days,
        zone.lifecycle.renew_grace_days,
        zone.lifecycle.transfer_grace_days,
        zone.lifecycle.transfer_timeout_days,
        zone.lifecycle.transfer_default.as_str(),
        zone.lifecycle.transfer_lock_days,
        zone.prices.renew,
        zone.prices.transfer,
        zone.prices.restore,
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Adds or replaces a registrar.
pub fn put_registrar(conn: &Connection, r: &Registrar) -> StoreResult<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO registrars ({REGISTRAR_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT(id) DO UPDATE SET iana_id = ?2, name = ?3, whois_server = ?4, url = ?5, abuse_email = ?6,
         abuse_phone = ?7, password_hash = ?8, active = ?9, credit_limit = ?11, updated = ?12, certificate = ?13"
    ))?
    .execute(params![
        r.id,
        r.iana_id,
        r.name,
        r.whois_server,
        r.url,
        r.abuse_email,
        r.abuse_phone,
        r.password_hash,
        r.active,
        r.balance,
        r.credit_limit,
        r.updated,
        r.certificate
    ])?;
    Ok(())
}

/// Blocks or unblocks a label.
pub fn set_label_blocked(conn: &Connection, label: &str, blocked: bool) -> StoreResult<bool> {
    let changed = if blocked {
        conn.prepare_cached("INSERT OR IGNORE INTO blocked_labels VALUES (?1)")?
            .execute([label])?
    } else {
        conn.prepare_cached("DELETE FROM blocked_labels WHERE label = ?1")?
            .execute([label])?
    };
    Ok(changed > 0)
}

/// Blocks or unblocks a third-level label under a second-level one.
pub fn set_combination_blocked(
    conn: &Connection,
    third: &str,
    second: &str,
    blocked: bool,
) -> StoreResult<bool> {
    let changed = if blocked {
        conn.prepare_cached("INSERT OR IGNORE INTO blocked_combinations VALUES (?1, ?2)")?
            .execute([third, second])?
    } else {
        conn.prepare_cached("DELETE FROM blocked_combinations WHERE third = ?1 AND second = ?2")?
            .execute([third, second])?
    };
    Ok(changed > 0)
}

/// Every blocked label and combination (`third.second`), sorted.
pub fn blocked(conn: &Connection) -> StoreResult<Vec<String>> {
    let mut out = Vec::new();
    let mut statement = conn.prepare_cached("SELECT label FROM blocked_labels ORDER BY label")?;
    for row in statement.query_map([], |r| r.get::<_, String>(0))? {
        out.push(row?);
    }
    let mut statement = conn
        .prepare_cached("SELECT third, second FROM blocked_combinations ORDER BY second, third")?;
    for row in statement.query_map([], |r| {
        Ok(format!(
            "{}.{}",
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?
        ))
    })? {
        out.push(row?);
    }
    Ok(out)
}

/// Journal entries of a zone after a serial, in order (at most `limit`).
pub fn journal_after(
    conn: &Connection,
    zone: &str,
    after_seq: i64,
    limit: usize,
) -> StoreResult<Vec<(i64, JournalEntry)>> {
    let mut statement = conn.prepare_cached(
        "SELECT seq, zone, from_serial, to_serial, changeset, signature, key_id, committed, record FROM journal
         WHERE (?1 = '' OR zone = ?1) AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows = statement.query_map(params![zone, after_seq, limit as i64], |r| {
        Ok((
            r.get(0)?,
            JournalEntry {
                zone: r.get(1)?,
                from_serial: r.get(2)?,
                to_serial: r.get(3)?,
                changeset: r.get(4)?,
                signature: r.get(5)?,
                key_id: r.get(6)?,
                committed: r.get(7)?,
                record: r.get(8)?,
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every domain of a zone with its cluster and its registrar's IANA id, in name order.
pub fn zone_domains(
    conn: &Connection,
    zone: i64,
) -> StoreResult<Vec<(Domain, Option<Cluster>, u32)>> {
    let mut out = Vec::new();
    for_each_zone_domain(conn, zone, |domain, cluster, iana_id| {
        out.push((domain, cluster.cloned(), iana_id));
        Ok(())
    })?;
    Ok(out)
}

/// [`zone_domains`], each domain handed to `visit` as it is read rather than all held at once:
/// a registry of ten million is read in the memory of one domain (and of the name server
/// sets and registrars seen so far).
pub fn for_each_zone_domain(
    conn: &Connection,
    zone: i64,
    mut visit: impl FnMut(Domain, Option<&Cluster>, u32) -> StoreResult<()>,
) -> StoreResult<()> {
    let mut statement = conn.prepare(&format!(
        "SELECT {DOMAIN_COLUMNS} FROM domains WHERE zone = ?1 ORDER BY name"
    ))?;
    let mut clusters: std::collections::HashMap<u64, Option<Cluster>> =
        std::collections::HashMap::new();
    let mut iana = std::collections::HashMap::new();
    let mut rows = statement.query_map([zone], domain_row)?;
    for row in &mut rows {
        let (mut domain, ds) = row?;
        domain.ds = parse_ds(&ds)?;
        let cluster = match domain.cluster {
            Some(id) => match clusters.entry(id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(conn.cluster(id)?),
            }
            .as_ref(),
            None => None,
        };
        let registrar = domain.registrar;
        let iana_id = match iana.entry(registrar) {
            std::collections::hash_map::Entry::Occupied(e) => *e.get(),
            std::collections::hash_map::Entry::Vacant(e) => {
                *e.insert(conn.registrar(registrar)?.map_or(0, |r| r.iana_id))
            }
        };
        visit(domain, cluster, iana_id)?;
    }
    Ok(())
}

impl Store for Connection {
    fn zones(&self) -> StoreResult<Vec<ZoneSettings>> {
        let mut statement = self.prepare_cached(
            "SELECT id, origin, level, serial, serial_policy, mname, rname, refresh, retry, expire, minimum, soa_ttl, delegation_ttl, apex_nameservers, create_price, min_ns, max_ns, default_period, max_period, add_grace_days, redemption_days, pending_delete_days, auto_renew_grace_days, renew_grace_days, transfer_grace_days, transfer_timeout_days, transfer_default, transfer_lock_days, renew_price, transfer_price, restore_price FROM zones ORDER BY id",
        )?;
        let rows = statement.query_map([], zone_row)?;
        let mut zones = Vec::new();
        for row in rows {
            let (mut zone, policy, apex) = row?;
            zone.serial_policy = parse_policy(&policy)
                .ok_or_else(|| corrupt(format!("serial policy {policy:?}")))?;
            zone.apex_nameservers = parse_nameservers(&apex)?;
            zones.push(zone);
        }
        Ok(zones)
    }

    fn set_zone_serial(&self, zone: i64, serial: u32) -> StoreResult<()> {
        self.prepare_cached("UPDATE zones SET serial = ?2 WHERE id = ?1")?
            .execute(params![zone, serial])?;
        Ok(())
    }

    fn registrar(&self, id: u32) -> StoreResult<Option<Registrar>> {
        Ok(self
            .prepare_cached(&format!(
                "SELECT {REGISTRAR_COLUMNS} FROM registrars WHERE id = ?1"
            ))?
            .query_row([id], registrar_row)
            .optional()?)
    }

    fn charge(
        &self,
        registrar: u32,
        amount: i64,
        kind: LedgerKind,
        domain: Option<&str>,
        at: i64,
    ) -> StoreResult<i64> {
        let balance: i64 = self
            .prepare_cached(
                "UPDATE registrars SET balance = balance + ?2 WHERE id = ?1 RETURNING balance",
            )?
            .query_row(params![registrar, amount], |r| r.get(0))?;
        self.prepare_cached(
            "INSERT INTO ledger (registrar, at, kind, domain, amount, balance) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![registrar, at, kind.as_str(), domain, amount, balance])?;
        Ok(balance)
    }

    fn note(
        &self,
        zone: i64,
        registrar: u32,
        event: Transaction,
        years: u32,
        at: i64,
    ) -> StoreResult<()> {
        self.prepare_cached(
            "INSERT INTO transactions (zone, registrar, at, event, years) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![zone, registrar, at, event.as_str(), years])?;
        Ok(())
    }

    fn domain(&self, name: &str) -> StoreResult<Option<Domain>> {
        let row = self
            .prepare_cached(&format!(
                "SELECT {DOMAIN_COLUMNS} FROM domains WHERE name = ?1"
            ))?
            .query_row([name], domain_row)
            .optional()?;
        match row {
            None => Ok(None),
            Some((mut domain, ds)) => {
                domain.ds = parse_ds(&ds)?;
                Ok(Some(domain))
            }
        }
    }

    fn insert_domain(&self, d: &Domain) -> StoreResult<i64> {
        let id: i64 = self
            .prepare_cached(
                "UPDATE sequences SET value = value + 1 WHERE name = 'domain' RETURNING value",
            )?
            .query_row([], |r| r.get(0))?;
        self.prepare_cached(&format!(
            "INSERT INTO domains ({DOMAIN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
        ))?
        .execute(params![
            d.name,
            id,
            d.zone,
            d.registrar,
            d.statuses.to_text(),
            d.created,
            d.expires,
            d.updated,
            d.cluster,
            d.auth_hash,
            ds_text(&d.ds),
            d.deletion.map(|x| x.at),
            d.deletion.is_some_and(|x| x.redeemable),
            d.billed.map(|b| b.kind.as_str()),
            d.billed.map(|b| b.at),
            d.billed.map(|b| b.expires_before),
            d.case.as_ref().map(|c| c.reason.as_str()),
            d.case.as_ref().map(|c| &c.reference)
        ])?;
        Ok(id)
    }

    fn update_domain(&self, d: &Domain) -> StoreResult<()> {
        self.prepare_cached(
            "UPDATE domains SET registrar = ?2, statuses = ?3, expires = ?4, updated = ?5, cluster = ?6, auth_hash = ?7, ds = ?8, deleted = ?9, redeemable = ?10, billed = ?11, billed_at = ?12, billed_expires = ?13, case_reason = ?14, case_reference = ?15 WHERE name = ?1",
        )?
        .execute(params![
            d.name,
            d.registrar,
            d.statuses.to_text(),
            d.expires,
            d.updated,
            d.cluster,
            d.auth_hash,
            ds_text(&d.ds),
            d.deletion.map(|x| x.at),
            d.deletion.is_some_and(|x| x.redeemable),
            d.billed.map(|b| b.kind.as_str()),
            d.billed.map(|b| b.at),
            d.billed.map(|b| b.expires_before),
            d.case.as_ref().map(|c| c.reason.as_str()),
            d.case.as_ref().map(|c| &c.reference)
        ])?;
        Ok(())
    }

    fn delete_domain(&self, name: &str) -> StoreResult<()> {
        self.prepare_cached("DELETE FROM domains WHERE name = ?1")?
            .execute([name])?;
        self.prepare_cached("DELETE FROM transfers WHERE name = ?1")?
            .execute([name])?;
        Ok(())
    }

    fn domains_using(&self, cluster: u64) -> StoreResult<Vec<String>> {
        let mut statement =
            self.prepare_cached("SELECT name FROM domains WHERE cluster = ?1 ORDER BY name")?;
        let rows = statement.query_map([cluster], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn cluster(&self, id: u64) -> StoreResult<Option<Cluster>> {
        let Some(registrar) = self
            .prepare_cached("SELECT registrar FROM clusters WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?
        else {
            return Ok(None);
        };
        let mut statement = self.prepare_cached(
            "SELECT name, addresses FROM cluster_nameservers WHERE cluster = ?1 ORDER BY position",
        )?;
        let rows = statement.query_map([id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut nameservers = Vec::new();
        for row in rows {
            let (name, addresses) = row?;
            nameservers.push(Nameserver {
                name,
                addresses: parse_addresses(&addresses)?,
            });
        }
        Ok(Some(Cluster {
            id,
            registrar,
            nameservers,
        }))
    }

    fn find_cluster(&self, registrar: u32, nameservers: &[Nameserver]) -> StoreResult<Option<u64>> {
        Ok(self
            .prepare_cached(
                // No ORDER BY or LIMIT: with them SQLite (STAT4) prepares the statement again
                // at every call; the index yields the lowest id first anyway.
                "SELECT id FROM clusters WHERE registrar = ?1 AND fingerprint = ?2",
            )?
            .query_row(params![registrar, nameservers_text(nameservers)], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn insert_cluster(&self, registrar: u32, nameservers: &[Nameserver]) -> StoreResult<u64> {
        self.prepare_cached("INSERT INTO clusters (registrar, fingerprint) VALUES (?1, ?2)")?
            .execute(params![registrar, nameservers_text(nameservers)])?;
        let id = self.last_insert_rowid() as u64;
        self.set_nameservers(id, nameservers)?;
        Ok(id)
    }

    fn set_nameservers(&self, cluster: u64, nameservers: &[Nameserver]) -> StoreResult<()> {
        self.prepare_cached("DELETE FROM cluster_nameservers WHERE cluster = ?1")?
            .execute([cluster])?;
        let mut insert = self.prepare_cached(
            "INSERT INTO cluster_nameservers (cluster, position, name, addresses) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (position, ns) in nameservers.iter().enumerate() {
            insert.execute(params![
                cluster,
                position as i64,
                ns.name,
                addresses_text(&ns.addresses)
            ])?;
        }
        self.prepare_cached("UPDATE clusters SET fingerprint = ?2 WHERE id = ?1")?
            .execute(params![cluster, nameservers_text(nameservers)])?;
        Ok(())
    }

    fn delete_cluster(&self, cluster: u64) -> StoreResult<()> {
        self.prepare_cached("DELETE FROM clusters WHERE id = ?1")?
            .execute([cluster])?;
        Ok(())
    }

    fn clusters_with(&self, host: &str) -> StoreResult<Vec<u64>> {
        let mut statement = self.prepare_cached(
            "SELECT DISTINCT cluster FROM cluster_nameservers WHERE name = ?1 ORDER BY cluster",
        )?;
        let rows = statement.query_map([host], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn host(&self, name: &str) -> StoreResult<Option<Host>> {
        let row = self
            .prepare_cached(&format!("SELECT {HOST_COLUMNS} FROM hosts WHERE name = ?1"))?
            .query_row([name], host_row)
            .optional()?;
        row.map(|(host, addresses)| with_addresses(host, &addresses))
            .transpose()
    }

    fn insert_host(&self, h: &Host) -> StoreResult<i64> {
        let id: i64 = self
            .prepare_cached(
                "UPDATE sequences SET value = value + 1 WHERE name = 'host' RETURNING value",
            )?
            .query_row([], |r| r.get(0))?;
        self.prepare_cached(&format!(
            "INSERT INTO hosts ({HOST_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        ))?
        .execute(params![
            h.name,
            id,
            h.registrar,
            h.creator,
            h.parent,
            h.created,
            h.updated,
            addresses_text(&h.addresses)
        ])?;
        Ok(id)
    }

    fn update_host(&self, h: &Host) -> StoreResult<()> {
        self.prepare_cached(
            "UPDATE hosts SET registrar = ?2, updated = ?3, addresses = ?4 WHERE name = ?1",
        )?
        .execute(params![
            h.name,
            h.registrar,
            h.updated,
            addresses_text(&h.addresses)
        ])?;
        Ok(())
    }

    fn rename_host(&self, from: &str, h: &Host) -> StoreResult<()> {
        self.prepare_cached(
            "UPDATE hosts SET name = ?2, parent = ?3, registrar = ?4, updated = ?5, addresses = ?6 WHERE name = ?1",
        )?
        .execute(params![
            from,
            h.name,
            h.parent,
            h.registrar,
            h.updated,
            addresses_text(&h.addresses)
        ])?;
        Ok(())
    }

    fn delete_host(&self, name: &str) -> StoreResult<()> {
        self.prepare_cached("DELETE FROM hosts WHERE name = ?1")?
            .execute([name])?;
        Ok(())
    }

    fn hosts_beneath(&self, domain: &str) -> StoreResult<Vec<Host>> {
        let mut statement = self.prepare_cached(&format!(
            "SELECT {HOST_COLUMNS} FROM hosts WHERE parent = ?1 ORDER BY name"
        ))?;
        let rows = statement.query_map([domain], host_row)?;
        let mut hosts = Vec::new();
        for row in rows {
            let (host, addresses) = row?;
            hosts.push(with_addresses(host, &addresses)?);
        }
        Ok(hosts)
    }

    fn label_blocked(&self, label: &str) -> StoreResult<bool> {
        Ok(self
            .prepare_cached("SELECT 1 FROM blocked_labels WHERE label = ?1")?
            .exists([label])?)
    }

    fn combination_blocked(&self, third: &str, second: &str) -> StoreResult<bool> {
        Ok(self
            .prepare_cached("SELECT 1 FROM blocked_combinations WHERE third = ?1 AND second = ?2")?
            .exists([third, second])?)
    }

    fn add_history(&self, object: HistoryKey<'_>, entry: &HistoryEntry) -> StoreResult<()> {
        self.prepare_cached(
            "INSERT INTO history (object, at, actor, change) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            object.to_string(),
            entry.at,
            entry.actor,
            entry.change
        ])?;
        Ok(())
    }

    fn history(&self, object: HistoryKey<'_>) -> StoreResult<Vec<HistoryEntry>> {
        let mut statement = self.prepare_cached(
            "SELECT at, actor, change FROM history WHERE object = ?1 ORDER BY id DESC",
        )?;
        let rows = statement.query_map([object.to_string()], |r| {
            Ok(HistoryEntry {
                at: r.get(0)?,
                actor: r.get(1)?,
                change: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn take_record(&self) -> StoreResult<Vec<u8>> {
        record::take(self)
    }

    fn drop_record(&self) -> StoreResult<()> {
        record::drop_notes(self)
    }

    fn keep_unpublished(&self) -> StoreResult<()> {
        record::keep(self)
    }

    fn append_journal(&self, e: &JournalEntry) -> StoreResult<()> {
        self.prepare_cached(
            "INSERT INTO journal (zone, from_serial, to_serial, changeset, signature, key_id, committed, record) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            e.zone,
            e.from_serial,
            e.to_serial,
            e.changeset,
            e.signature,
            e.key_id,
            e.committed,
            e.record
        ])?;
        Ok(())
    }

    fn queue_message(&self, m: &Message) -> StoreResult<()> {
        let (kind, domain, other, expires) = match &m.about {
            Notice::Transfer(t) => ("transfer", &t.domain, Some(t.gaining), Some(t.expires)),
            Notice::Renewed { domain, expires } => ("renewed", domain, None, Some(*expires)),
            Notice::Expired { domain } => ("expired", domain, None, None),
            Notice::Changed { domain, .. } => ("changed", domain, None, None),
        };
        let transfer = match &m.about {
            Notice::Transfer(t) => Some(t),
            _ => None,
        };
        let (who, case) = match &m.about {
            Notice::Changed { who, case, .. } => (Some(who), Some(case)),
            _ => (None, None),
        };
        self.prepare_cached(
            "INSERT INTO messages (registrar, at, text, kind, domain, other, expires, tr_status, tr_losing, tr_requested, tr_acted, who, case_reason, case_reference) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?
        .execute(params![
            m.registrar,
            m.at,
            m.text,
            kind,
            domain,
            other,
            expires,
            transfer.map(|t| t.status.as_str()),
            transfer.map(|t| t.losing),
            transfer.map(|t| t.requested),
            transfer.map(|t| t.acted),
            who,
            case.map(|c| c.reason.as_str()),
            case.map(|c| &c.reference)
        ])?;
        Ok(())
    }

    fn first_message(&self, registrar: u32) -> StoreResult<Option<(Message, u64)>> {
        let count: u64 = self
            .prepare_cached("SELECT count(*) FROM messages WHERE registrar = ?1")?
            .query_row([registrar], |r| r.get(0))?;
        let row = self
            .prepare_cached(
                "SELECT id, at, text, kind, domain, other, expires, tr_status, tr_losing, tr_requested, tr_acted, who, case_reason, case_reference FROM messages WHERE registrar = ?1 ORDER BY id LIMIT 1",
            )?
            .query_row([registrar], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<u32>>(5)?,
                    r.get::<_, Option<i64>>(6)?,
                    (
                        r.get::<_, Option<String>>(7)?
                            .as_deref()
                            .and_then(TransferStatus::parse),
                        r.get::<_, Option<u32>>(8)?,
                        r.get::<_, Option<i64>>(9)?,
                        r.get::<_, Option<i64>>(10)?,
                    ),
                    (
                        r.get::<_, Option<String>>(11)?,
                        r.get::<_, Option<String>>(12)?
                            .as_deref()
                            .and_then(Reason::parse),
                        r.get::<_, Option<String>>(13)?,
                    ),
                ))
            })
            .optional()?;
        let Some((id, at, text, kind, domain, other, expires, transfer, change)) = row else {
            return Ok(None);
        };
        let about = match (kind.as_str(), domain, other, expires, transfer) {
            (
                "transfer",
                Some(domain),
                Some(gaining),
                Some(expires),
                (Some(status), Some(losing), Some(requested), Some(acted)),
            ) => Notice::Transfer(Transfer {
                domain,
                status,
                gaining,
                losing,
                requested,
                acted,
                expires,
                fee: 0,
            }),
            ("renewed", Some(domain), _, Some(expires), _) => Notice::Renewed { domain, expires },
            ("expired", Some(domain), _, _, _) => Notice::Expired { domain },
            ("changed", Some(domain), _, _, _) => match change {
                (Some(who), Some(reason), Some(reference)) => Notice::Changed {
                    domain,
                    who,
                    case: Case { reason, reference },
                },
                _ => {
                    return Err(StoreError::Corrupt(format!(
                        "message {id}: a change without its case"
                    )));
                }
            },
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "message {id} of kind {kind:?}"
                )));
            }
        };
        Ok(Some((
            Message {
                id,
                registrar,
                at,
                text,
                about,
            },
            count,
        )))
    }

    fn deleted_before(&self, zone: i64, redeemable: bool, before: i64) -> StoreResult<Vec<String>> {
        let mut statement = self.prepare_cached(
            "SELECT name FROM domains WHERE deleted IS NOT NULL AND deleted < ?3 AND zone = ?1 AND redeemable = ?2 ORDER BY deleted",
        )?;
        let rows = statement.query_map(params![zone, redeemable, before], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn expired(&self, zone: i64, now: i64, limit: usize) -> StoreResult<Vec<String>> {
        let mut statement = self.prepare_cached(
            "SELECT name FROM domains WHERE zone = ?1 AND expires <= ?2 AND deleted IS NULL ORDER BY expires LIMIT ?3",
        )?;
        let rows = statement.query_map(params![zone, now, limit as i64], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn charged(
        &self,
        registrar: u32,
        domain: &str,
        kind: LedgerKind,
        since: i64,
    ) -> StoreResult<i64> {
        Ok(self
            .prepare_cached(
                "SELECT coalesce(sum(amount), 0) FROM ledger WHERE registrar = ?1 AND domain = ?2 AND kind = ?3 AND at >= ?4",
            )?
            .query_row(params![registrar, domain, kind.as_str(), since], |r| r.get(0))?)
    }

    fn transfer(&self, name: &str) -> StoreResult<Option<Transfer>> {
        let row = self
            .prepare_cached(
                "SELECT status, gaining, losing, requested, acted, expires, fee FROM transfers WHERE name = ?1",
            )?
            .query_row([name], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Transfer {
                        domain: name.to_string(),
                        status: TransferStatus::Pending,
                        gaining: r.get(1)?,
                        losing: r.get(2)?,
                        requested: r.get(3)?,
                        acted: r.get(4)?,
                        expires: r.get(5)?,
                        fee: r.get(6)?,
                    },
                ))
            })
            .optional()?;
        let Some((status, mut transfer)) = row else {
            return Ok(None);
        };
        transfer.status = TransferStatus::parse(&status)
            .ok_or_else(|| corrupt(format!("transfer status {status:?} of {name}")))?;
        Ok(Some(transfer))
    }

    fn save_transfer(&self, zone: i64, t: &Transfer) -> StoreResult<()> {
        self.prepare_cached(
            "INSERT OR REPLACE INTO transfers (name, zone, status, gaining, losing, requested, acted, expires, fee) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            t.domain,
            zone,
            t.status.as_str(),
            t.gaining,
            t.losing,
            t.requested,
            t.acted,
            t.expires,
            t.fee
        ])?;
        Ok(())
    }

    fn transfers_due(&self, zone: i64, now: i64, limit: usize) -> StoreResult<Vec<String>> {
        let mut statement = self.prepare_cached(
            "SELECT name FROM transfers WHERE zone = ?1 AND status = 'pending' AND acted <= ?2 ORDER BY acted LIMIT ?3",
        )?;
        let rows = statement.query_map(params![zone, now, limit as i64], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn delete_message(&self, registrar: u32, id: i64) -> StoreResult<bool> {
        Ok(self
            .prepare_cached("DELETE FROM messages WHERE registrar = ?1 AND id = ?2")?
            .execute(params![registrar, id])?
            > 0)
    }

    fn premium(&self, name: &str) -> StoreResult<Option<Prices>> {
        Ok(self
            .prepare_cached(
                "SELECT create_price, renew_price, transfer_price, restore_price FROM premium_names WHERE name = ?1",
            )?
            .query_row([name], |r| {
                Ok(Prices {
                    create: r.get(0)?,
                    renew: r.get(1)?,
                    transfer: r.get(2)?,
                    restore: r.get(3)?,
                })
            })
            .optional()?)
    }

    fn to_republish(&self, limit: usize) -> StoreResult<Vec<String>> {
        let mut statement = self.prepare_cached("SELECT name FROM republish LIMIT ?1")?;
        let names = statement
            .query_map([limit as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(names)
    }

    fn republished(&self, name: &str) -> StoreResult<()> {
        self.prepare_cached("DELETE FROM republish WHERE name = ?1")?
            .execute([name])?;
        Ok(())
    }

    fn expire_messages(&self, before: i64, limit: usize) -> StoreResult<usize> {
        Ok(self
            .prepare_cached(
                "DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE at < ?1 ORDER BY at LIMIT ?2)",
            )?
            .execute(params![before, limit as i64])?)
    }

    fn zone_domains(&self, zone: i64) -> StoreResult<Vec<(Domain, Option<Cluster>, u32)>> {
        zone_domains(self, zone)
    }

    fn zone_denial(&self, zone: i64) -> StoreResult<Option<zonefiles::sign::Denial>> {
        dnssec::denial(self, zone)
    }

    fn set_zone_denial(
        &self,
        zone: i64,
        denial: Option<&zonefiles::sign::Denial>,
    ) -> StoreResult<()> {
        dnssec::set_denial(self, zone, denial)
    }

    fn dnssec_at(&self, zone: i64, owner: &zonefiles::Name) -> StoreResult<Vec<zonefiles::Record>> {
        dnssec::at(self, zone, owner)
    }

    fn chain_at(&self, zone: i64, owner: &zonefiles::Name) -> StoreResult<Option<Link>> {
        dnssec::chain_at(self, zone, owner)
    }

    fn chain_before(&self, zone: i64, owner: &zonefiles::Name) -> StoreResult<Option<Link>> {
        dnssec::chain_before(self, zone, owner)
    }

    fn chain_below(
        &self,
        zone: i64,
        name: &zonefiles::Name,
        limit: usize,
    ) -> StoreResult<Vec<zonefiles::Name>> {
        dnssec::chain_below(self, zone, name, limit)
    }

    fn edit_dnssec(&self, zone: i64, edit: &zonefiles::sign::incremental::Edit) -> StoreResult<()> {
        dnssec::edit(self, zone, edit)
    }

    fn zone_dnssec(&self, zone: i64) -> StoreResult<Vec<zonefiles::Record>> {
        dnssec::records(self, zone)
    }

    fn dnssec_building(&self, zone: i64) -> StoreResult<Option<(zonefiles::sign::Denial, u32)>> {
        dnssec::building(self, zone)
    }

    fn set_dnssec_building(
        &self,
        zone: i64,
        building: Option<(&zonefiles::sign::Denial, u32)>,
    ) -> StoreResult<()> {
        dnssec::set_building(self, zone, building)
    }

    fn clear_dnssec(&self, zone: i64) -> StoreResult<()> {
        dnssec::clear(self, zone)
    }

    fn dnssec_expiring(
        &self,
        zone: i64,
        before: u32,
        limit: usize,
    ) -> StoreResult<Vec<(zonefiles::Name, zonefiles::RecordType)>> {
        dnssec::expiring(self, zone, before, limit)
    }

    fn ledger(&self, from: i64, to: i64) -> StoreResult<Vec<LedgerEntry>> {
        let mut statement = self.prepare_cached(
            "SELECT at, registrar, kind, domain, amount, balance FROM ledger WHERE at >= ?1 AND at < ?2 ORDER BY registrar, id",
        )?;
        let rows = statement.query_map([from, to], |r| {
            Ok((
                LedgerEntry {
                    at: r.get(0)?,
                    registrar: r.get(1)?,
                    kind: LedgerKind::TopUp,
                    domain: r.get(3)?,
                    amount: r.get(4)?,
                    balance: r.get(5)?,
                },
                r.get::<_, String>(2)?,
            ))
        })?;
        rows.map(|row| {
            let (mut entry, kind) = row?;
            entry.kind =
                LedgerKind::parse(&kind).ok_or_else(|| corrupt(format!("ledger kind {kind:?}")))?;
            Ok(entry)
        })
        .collect()
    }
}

/// A step of the commit thread's transactions: one `BEGIN IMMEDIATE … COMMIT` per batch, one
/// savepoint per command in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `BEGIN IMMEDIATE`: takes the write lock at once.
    Begin,
    /// `COMMIT`: one fsync of the write-ahead log.
    Commit,
    /// `ROLLBACK`.
    Rollback,
    /// `SAVEPOINT command`, before each command of a batch.
    Savepoint,
    /// `ROLLBACK TO command`: undoes a refused command.
    RollbackToSavepoint,
    /// `RELEASE command`.
    ReleaseSavepoint,
}

/// Runs one step, its statement prepared once per connection.
pub fn transaction(conn: &Connection, step: Step) -> rusqlite::Result<()> {
    let sql = match step {
        Step::Begin => "BEGIN IMMEDIATE",
        Step::Commit => "COMMIT",
        Step::Rollback => "ROLLBACK",
        Step::Savepoint => "SAVEPOINT command",
        Step::RollbackToSavepoint => "ROLLBACK TO command",
        Step::ReleaseSavepoint => "RELEASE command",
    };
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Runs `f` inside `BEGIN IMMEDIATE … COMMIT`, rolling back if it fails. What it wrote and did
/// not publish is kept for the next registry record ([`record::keep`]).
pub fn immediate<T>(
    conn: &mut Connection,
    f: impl FnOnce(&mut Connection) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    match f(conn).and_then(|value| {
        conn.keep_unpublished()?;
        Ok(value)
    }) {
        Ok(value) => {
            conn.execute_batch("COMMIT")?;
            Ok(value)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_7_turns_an_inactive_domain_into_a_held_one_and_12_republishes_it() {
        let conn = Connection::open_in_memory().unwrap();
        // The domains alone: no zone or registrar rows for them to name.
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        for migration in &MIGRATIONS[..6] {
            conn.execute_batch(migration).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO domains (name, id, zone, registrar, active, created, expires, updated, ds)
             VALUES ('off.tld', 1, 1, 1, 0, 0, 0, 0, ''), ('on.tld', 2, 1, 1, 1, 0, 0, 0, '');",
        )
        .unwrap();
        conn.execute_batch(
            "INSERT INTO domains (name, id, zone, registrar, active, created, expires, updated, ds, cluster)
             VALUES ('plain.tld', 3, 1, 1, 1, 0, 0, 0, '', 1);",
        )
        .unwrap();
        for migration in &MIGRATIONS[6..] {
            conn.execute_batch(migration).unwrap();
        }
        // Migration 12 lists those whose WHOIS objects are now written otherwise: held, or
        // without name servers.
        let listed: Vec<String> = conn
            .prepare("SELECT name FROM republish ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(listed, ["off.tld", "on.tld"]);
        let statuses: Vec<String> = conn
            .prepare("SELECT statuses FROM domains ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(statuses, ["clientHold", "", ""]);
        assert_eq!(
            Statuses::from_text(&statuses[0]),
            Some(Statuses::of(zonefiles::whois::DomainStatus::ClientHold))
        );
    }

    #[test]
    fn migration_11_prices_every_operation_at_the_year_price() {
        let conn = Connection::open_in_memory().unwrap();
        for migration in &MIGRATIONS[..10] {
            conn.execute_batch(migration).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO zones (origin, level, serial, serial_policy, mname, rname, refresh, retry,
             expire, minimum, soa_ttl, delegation_ttl, apex_nameservers, year_price, min_ns, max_ns,
             default_period, max_period)
             VALUES ('tld', 2, 1, 'counter', 'ns', 'rn', 1, 1, 1, 1, 1, 1, '', 700, 2, 13, 12, 120);",
        )
        .unwrap();
        conn.execute_batch(MIGRATIONS[10]).unwrap();
        let prices: [i64; 4] = conn
            .query_row(
                "SELECT create_price, renew_price, transfer_price, restore_price FROM zones",
                [],
                |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]),
            )
            .unwrap();
        assert_eq!(prices, [700; 4]);
    }
}
