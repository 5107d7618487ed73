//! Making one deposit of one zone: read the registry at one moment, write RFC 8909's XML,
//! seal it ([`super::ryde`]), write the report, and publish the folder by one rename.
//!
//! Call order: [`make`] opens one read transaction on the registry (its snapshot is the
//! deposit's watermark; registrars keep writing meanwhile), removes what an interrupted run
//! left, writes `<deletes>` (differential only: digests whose object is gone), then streams
//! every registrar, host object and domain — a full deposit writes all of them, a differential
//! one those whose digest changed — and the header last, with the registry's totals. The XML
//! lives in the folder `<name>.partial` (mode 0700) only until it is sealed; the folder is
//! renamed to `<name>` once every part, signature and the report are on disk and synced, and
//! the deposit is recorded in the same transaction that updates the digests. A run killed at any
//! point leaves either nothing under the final name or a complete deposit; the next run removes
//! any `.partial` folder and any folder whose deposit was never recorded, and starts again.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use pgp::composed::{SignedPublicKey, SignedSecretKey};
use rusqlite::Connection;

use super::objects::{self, Delete, OBJECTS, RDE_DOMAIN, RDE_HOST, RDE_REGISTRAR};
use super::ryde;
use crate::front::epp::response::date_time;
use crate::store::Store;
use crate::store::sqlite::{self, escrow};
use zonefiles::calendar;

/// Full or differential (RFC 8909 §5.1), or the thin file of bulk registration data access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Every object.
    Full,
    /// What changed since the zone's previous deposit, and what was deleted.
    Diff,
    /// Bulk registration data access (ICANN's weekly "thin" file): every domain's name,
    /// ROID, statuses, sponsor and dates, and every registrar, encrypted to ICANN's key
    /// (`[escrow] brda_key`) rather than the agent's. A full deposit by its XML.
    Thin,
}

impl Kind {
    /// RFC 8909's `type`: `FULL` or `DIFF` (a thin file is `FULL`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Full | Kind::Thin => "FULL",
            Kind::Diff => "DIFF",
        }
    }

    /// The kind as recorded and named in files: `full`, `diff` or `thin`.
    fn file_word(self) -> &'static str {
        match self {
            Kind::Full => "full",
            Kind::Diff => "diff",
            Kind::Thin => "thin",
        }
    }

    fn recorded(self) -> &'static str {
        match self {
            Kind::Thin => "THIN",
            kind => kind.as_str(),
        }
    }
}

/// Where deposits go and how they are sealed.
pub struct Settings<'a> {
    /// The deposit folder (one sub-folder per deposit, and `escrow.sqlite`).
    pub folder: &'a Path,
    /// Largest part, in bytes.
    pub split_bytes: u64,
    /// The registry's OpenPGP key, which signs.
    pub signing: &'a SignedSecretKey,
    /// The escrow agent's OpenPGP key, to which deposits are encrypted.
    pub agent: &'a SignedPublicKey,
    /// ICANN's OpenPGP key, to which thin files are encrypted, if one is configured.
    pub brda: Option<&'a SignedPublicKey>,
    /// A full deposit is made when the last one is at least this old (seconds), else a
    /// differential one.
    pub full_every: i64,
}

/// A deposit made.
#[derive(Debug)]
pub struct Made {
    /// Its record.
    pub deposit: escrow::Deposit,
    /// Its folder.
    pub folder: PathBuf,
    /// The parts, in order.
    pub parts: Vec<PathBuf>,
    /// The report (RFC 8909's deposit report, as escrow agents and ICANN read it).
    pub report: PathBuf,
}

/// The escrow database in a deposit folder.
pub fn state_path(folder: &Path) -> PathBuf {
    folder.join("escrow.sqlite")
}

/// A file name's TLD part: the zone with its dots as hyphens.
fn file_tld(zone: &str) -> String {
    zone.replace('.', "-")
}

/// Removes what an interrupted run left in the deposit folder.
fn clean(folder: &Path, recorded: &[escrow::Deposit]) -> anyhow::Result<()> {
    for entry in fs::read_dir(folder).with_context(|| format!("reading {}", folder.display()))? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".partial") || !recorded.iter().any(|d| d.folder == name) {
            tracing::warn!(folder = %entry.path().display(), "removing an unfinished deposit");
            fs::remove_dir_all(entry.path())?;
        }
    }
    Ok(())
}

/// `YYMMDDhhmmss`: with the kind's letter, a deposit id within RFC 8909's 13 characters.
fn compact(time: i64) -> String {
    calendar::date_time(time)
        .chars()
        .filter(char::is_ascii_digit)
        .skip(2)
        .collect()
}

fn digest_of(xml: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, xml.as_bytes()).as_ref()[..16].to_vec()
}

/// Makes a deposit of `zone` from the registry database at `registry`; `kind` by the schedule
/// when `None`. `progress` is told how many domains have been read.
pub fn make(
    registry: &Path,
    zone: &str,
    kind: Option<Kind>,
    settings: &Settings<'_>,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<Made> {
    let started = Instant::now();
    fs::create_dir_all(settings.folder)
        .with_context(|| format!("making {}", settings.folder.display()))?;
    // One deposit at a time per folder: a second run would take the first one's unfinished
    // folder for a killed run's and remove it.
    let lock = File::create(settings.folder.join(".lock"))?;
    if lock.try_lock().is_err() {
        bail!(
            "another deposit is being made in {}; try again when it is done",
            settings.folder.display()
        );
    }
    let conn = sqlite::open(registry)?;
    escrow::attach(&conn, &state_path(settings.folder))?;
    conn.execute_batch("BEGIN")?;
    let result = write_deposit(&conn, zone, kind, settings, started, &mut progress);
    match result {
        Ok(made) => {
            conn.execute_batch("COMMIT")?;
            Ok(made)
        }
        Err(error) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(error)
        }
    }
}

fn write_deposit(
    conn: &Connection,
    zone: &str,
    kind: Option<Kind>,
    settings: &Settings<'_>,
    started: Instant,
    progress: &mut impl FnMut(u64),
) -> anyhow::Result<Made> {
    let recorded = escrow::deposits(conn, None)?;
    clean(settings.folder, &recorded)?;
    // The first read fixes the snapshot: everything below is the registry at the watermark.
    let watermark = ops::now();
    let zones = conn.zones()?;
    let Some(settings_zone) = zones.iter().find(|z| z.origin == zone) else {
        bail!("the registry does not run the zone {zone:?}");
    };
    // Thin files stand apart: escrow deposits follow one another.
    let previous: Vec<&escrow::Deposit> = recorded
        .iter()
        .filter(|d| d.zone == zone && d.kind != "THIN")
        .collect();
    let last = previous.last();
    let last_full = previous.iter().rev().find(|d| d.kind == "FULL");
    let kind = match (kind, last) {
        (Some(Kind::Diff), None) => {
            bail!("{zone} has no deposit yet: the first deposit must be a full one")
        }
        (Some(kind), _) => kind,
        (None, None) => Kind::Full,
        (None, Some(_)) => match last_full {
            Some(full) if watermark - full.watermark < settings.full_every => Kind::Diff,
            _ => Kind::Full,
        },
    };
    let recipient = match kind {
        Kind::Thin => settings
            .brda
            .context("a thin file is encrypted to ICANN's key: set [escrow] brda_key")?,
        _ => settings.agent,
    };
    let id = format!("{}{}", compact(watermark), &kind.recorded()[..1]);
    if recorded.iter().any(|d| d.id == id) {
        bail!("a deposit {id} was already made this second; try again");
    }
    let date = calendar::date(watermark);
    let base = format!("{}_{date}_{}", file_tld(zone), kind.file_word());
    let revision = recorded
        .iter()
        .filter(|d| d.folder.starts_with(&format!("{base}_R")))
        .count();
    let name = format!("{base}_R{revision}");
    let partial = settings.folder.join(format!("{name}.partial"));
    fs::create_dir(&partial).with_context(|| format!("making {}", partial.display()))?;
    set_private(&partial)?;
    let member = format!("{base}_S1_R{revision}.xml");
    let xml_path = partial.join(&member);

    let mut out = BufWriter::with_capacity(1 << 20, File::create(&xml_path)?);
    let prev = match (kind, last) {
        (Kind::Diff, Some(d)) => format!(r#" prevId="{}""#, d.id),
        _ => String::new(),
    };
    write!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8"?>{}<rde:deposit {} type="{}" id="{id}"{prev}>{}<rde:watermark>{}</rde:watermark>{}<rde:rdeMenu><rde:version>1.0</rde:version>"#,
        "\n",
        objects::NAMESPACES,
        kind.as_str(),
        "\n",
        date_time(watermark),
        "\n",
    )?;
    let menu: &[&str] = match kind {
        Kind::Thin => &[RDE_DOMAIN, RDE_REGISTRAR],
        _ => &OBJECTS,
    };
    for uri in menu {
        write!(out, "<rde:objURI>{uri}</rde:objURI>")?;
    }
    out.write_all(b"</rde:rdeMenu>\n")?;

    let gone = match kind {
        Kind::Thin => Vec::new(),
        _ => escrow::take_gone(conn, zone, settings_zone.id)?,
    };
    if kind == Kind::Diff && !gone.is_empty() {
        let deleted: Vec<Delete> = gone
            .iter()
            .filter_map(|(kind, key)| match kind.as_str() {
                "domain" => Some(Delete::Domain(key.clone())),
                "host" => Some(Delete::Host(key.clone())),
                _ => key.parse().ok().map(Delete::Registrar),
            })
            .collect();
        out.write_all(b"<rde:deletes>\n")?;
        for d in &deleted {
            let mut line = String::new();
            objects::deletes(&mut line, std::slice::from_ref(d));
            line.push('\n');
            out.write_all(line.as_bytes())?;
        }
        out.write_all(b"</rde:deletes>\n")?;
    }
    out.write_all(b"<rde:contents>\n")?;
    let mut written = 0u64;
    let mut emit = |out: &mut BufWriter<File>, object: &str, key: &str, xml: &mut String| {
        let digest = digest_of(xml);
        let changed = kind != Kind::Thin
            && escrow::digest(conn, zone, object, key)?.as_deref() != Some(&digest[..]);
        if kind != Kind::Diff || changed {
            xml.push('\n');
            out.write_all(xml.as_bytes())?;
            written += 1;
        }
        if changed {
            escrow::set_digest(conn, zone, object, key, &digest)?;
        }
        xml.clear();
        anyhow::Ok(())
    };
    let mut xml = String::with_capacity(4096);
    let registrars = sqlite::registrars(conn)?;
    for r in &registrars {
        objects::registrar(&mut xml, r);
        emit(&mut out, "registrar", &r.id.to_string(), &mut xml)?;
    }
    let mut domains = 0u64;
    sqlite::for_each_zone_domain(conn, settings_zone.id, |domain, cluster, _| {
        let transfer = conn.transfer(&domain.name)?;
        let nameservers = cluster.map_or(&[][..], |c| &c.nameservers[..]);
        match kind {
            Kind::Thin => objects::thin_domain(&mut xml, zone, &domain, nameservers),
            _ => objects::domain(&mut xml, zone, &domain, nameservers, transfer.as_ref()),
        }
        emit(&mut out, "domain", &domain.name, &mut xml)
            .map_err(|e| crate::store::StoreError::Database(e.into()))?;
        domains += 1;
        if domains.is_multiple_of(10_000) {
            progress(domains);
        }
        Ok(())
    })?;
    progress(domains);
    let mut counts = vec![
        (RDE_DOMAIN, domains),
        (RDE_REGISTRAR, registrars.len() as u64),
    ];
    if kind != Kind::Thin {
        let hosts = escrow::hosts(conn)?;
        for h in &hosts {
            objects::host(&mut xml, h);
            emit(&mut out, "host", &h.name, &mut xml)?;
        }
        counts.insert(1, (RDE_HOST, hosts.len() as u64));
        objects::epp_params(&mut xml);
        xml.push('\n');
        out.write_all(xml.as_bytes())?;
        xml.clear();
    }
    objects::header(&mut xml, zone, &counts);
    writeln!(out, "{xml}\n</rde:contents>\n</rde:deposit>")?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    drop(file);

    let parts = ryde::seal(
        &xml_path,
        &member,
        settings.split_bytes,
        |n| partial.join(format!("{base}_S{n}_R{revision}.ryde")),
        settings.signing,
        recipient,
    )?;
    fs::remove_file(&xml_path)?;
    let report_name = format!("{name}-report.xml");
    let report = report_xml(&id, kind, watermark, zone, &counts);
    let report_path = partial.join(&report_name);
    fs::write(&report_path, report)?;
    File::open(&report_path)?.sync_all()?;
    File::open(&partial)?.sync_all()?;
    let folder = settings.folder.join(&name);
    fs::rename(&partial, &folder)?;
    File::open(settings.folder)?.sync_all()?;
    let bytes = parts
        .iter()
        .map(|p| fs::metadata(folder.join(p.file_name().unwrap_or_default())).map(|m| m.len()))
        .sum::<std::io::Result<u64>>()?;
    let deposit = escrow::Deposit {
        id,
        zone: zone.to_string(),
        kind: kind.recorded().into(),
        watermark,
        folder: name,
        files: parts.len() as u64 * 2 + 1,
        bytes,
        objects: written,
        took_ms: started.elapsed().as_millis() as u64,
    };
    escrow::record(conn, &deposit)?;
    Ok(Made {
        parts: parts
            .iter()
            .map(|p| folder.join(p.file_name().unwrap_or_default()))
            .collect(),
        report: folder.join(report_name),
        folder,
        deposit,
    })
}

fn set_private(folder: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(folder, fs::Permissions::from_mode(0o700))
}

/// The deposit report (`<rdeReport:report>`, ICANN's registry interfaces): what the deposit
/// holds, for the escrow agent and ICANN to check it against.
pub fn report_xml(
    id: &str,
    kind: Kind,
    watermark: i64,
    zone: &str,
    counts: &[(&str, u64)],
) -> String {
    let mut header = String::new();
    objects::header(&mut header, zone, counts);
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rdeReport:report xmlns:rdeReport="urn:ietf:params:xml:ns:rdeReport-1.0" xmlns:rdeHeader="urn:ietf:params:xml:ns:rdeHeader-1.0"><rdeReport:id>{id}</rdeReport:id><rdeReport:version>1</rdeReport:version><rdeReport:rydeSpecEscrow>RFC8909</rdeReport:rydeSpecEscrow><rdeReport:rydeSpecMapping>RFC9022</rdeReport:rydeSpecMapping><rdeReport:resend>0</rdeReport:resend><rdeReport:crDate>{}</rdeReport:crDate><rdeReport:kind>{}</rdeReport:kind><rdeReport:watermark>{}</rdeReport:watermark>{header}</rdeReport:report>
"#,
        date_time(ops::now()),
        kind.as_str(),
        date_time(watermark)
    )
}
