//! Rebuilding a registry from a full deposit and the differential ones after it.
//!
//! Two passes, so that nothing is half-imported: first every deposit is checked — each part's
//! signature by the registry's key, the parts' numbering, decryption with the escrow agent's
//! key and its integrity code, the XML, every object, the chain (a full deposit first, then
//! each differential's `prevId` naming the deposit before it) and the zone — then all of them
//! are applied in one transaction of the new registry, which is committed only if the result
//! has exactly the totals the last deposit's header gives. Applying goes through the same
//! publication as registrar commands (one signed changeset per thousand objects), so the new
//! registry's journal holds everything restored and `audit` checks it like any other.
//!
//! What a deposit does not hold stays for the new operator to set: registrars' passwords and
//! credit, domains' transfer passwords, the history and ledger. SRRP cluster ids are renumbered.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use pgp::composed::{SignedPublicKey, SignedSecretKey};
use quick_xml::NsReader;
use quick_xml::events::Event;
use rusqlite::Connection;

use super::objects::{self, Content, Delete, RDE, RDE_DOMAIN, RDE_HOST, RDE_REGISTRAR};
use super::ryde;
use crate::front::epp::xml::{Element, Tree};
use crate::publish::Publication;
use crate::publish::signing::Signer;
use crate::store::Store;
use crate::store::sqlite::{self, Step, escrow, transaction};

/// Largest single object accepted (elements), far above any domain's.
pub const MAX_OBJECT_ELEMENTS: usize = 10_000;
/// Largest single object accepted (bytes of XML), far above any domain's.
pub const MAX_OBJECT_BYTES: u64 = 1 << 20;

/// What a deposit says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Its folder.
    pub folder: PathBuf,
    /// Its id.
    pub id: String,
    /// `FULL` or `DIFF`.
    pub kind: String,
    /// The deposit before it (differential ones).
    pub previous: Option<String>,
    /// Its watermark.
    pub watermark: i64,
    /// The zone.
    pub zone: String,
    /// The header's totals: (object URI, count).
    pub counts: Vec<(String, u64)>,
}

/// What a restore did.
#[derive(Debug, Default)]
pub struct Restored {
    /// Deposits applied, in order.
    pub deposits: Vec<Summary>,
    /// Domains, host objects and registrars in the new registry.
    pub domains: u64,
    /// Host objects.
    pub hosts: u64,
    /// Registrars.
    pub registrars: u64,
    /// Changesets written.
    pub changesets: u64,
}

/// The parts of the deposit in `folder`, in order (`…_S1_…ryde`, `…_S2_…ryde`), checked to
/// be numbered from 1 without a gap.
fn parts(folder: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found: Vec<(usize, PathBuf)> = Vec::new();
    for entry in
        std::fs::read_dir(folder).with_context(|| format!("reading {}", folder.display()))?
    {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "ryde") {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let number = name
                .rsplit_once("_S")
                .and_then(|(_, rest)| rest.split('_').next())
                .and_then(|n| n.parse().ok())
                .with_context(|| format!("{name}: not a part's name (…_S<n>_R<rev>.ryde)"))?;
            found.push((number, path));
        }
    }
    found.sort();
    ensure!(!found.is_empty(), "{}: no .ryde part", folder.display());
    for (expected, (number, path)) in found.iter().enumerate() {
        ensure!(
            *number == expected + 1,
            "{}: part {} is missing",
            path.display(),
            expected + 1
        );
    }
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

/// One item of a deposit, in file order.
#[derive(Debug)]
pub enum Item {
    /// A child of `<rde:deletes>`.
    Deletes(Vec<Delete>),
    /// A child of `<rde:contents>`.
    Content(Content),
}

/// A source that fails once one event of the XML reader has taken more than
/// [`MAX_OBJECT_BYTES`] from it (the reader resets `since` before each event), so that no text
/// or tag of a deposit, however long, is buffered whole.
struct Bounded<R> {
    inner: R,
    since: u64,
}

impl<R: std::io::BufRead> std::io::Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: std::io::BufRead> std::io::BufRead for Bounded<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.since > MAX_OBJECT_BYTES {
            return Err(std::io::Error::other(format!(
                "a piece of the deposit's XML is longer than {MAX_OBJECT_BYTES} bytes"
            )));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.since += amount as u64;
        self.inner.consume(amount);
    }
}

/// What a deposit's root element says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preamble {
    /// `FULL` or `DIFF`.
    pub kind: String,
    /// Its id.
    pub id: String,
    /// The deposit before it.
    pub previous: Option<String>,
    /// Its watermark.
    pub watermark: i64,
}

fn read(xml: &Path, visit: impl FnMut(Item) -> anyhow::Result<()>) -> anyhow::Result<Preamble> {
    let file = File::open(xml)?;
    read_deposit(BufReader::with_capacity(1 << 16, file), visit)
}

/// Reads a deposit's XML, handing each object (or deletion) to `visit` as it is read. Memory
/// is one object at a time (at most [`MAX_OBJECT_ELEMENTS`] elements and
/// [`MAX_OBJECT_BYTES`]), whatever the deposit's size.
pub fn read_deposit(
    source: impl std::io::BufRead,
    mut visit: impl FnMut(Item) -> anyhow::Result<()>,
) -> anyhow::Result<Preamble> {
    let mut reader = NsReader::from_reader(Bounded {
        inner: source,
        since: 0,
    });
    reader.config_mut().check_end_names = true;
    let mut buffer = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut tree: Option<Tree> = None;
    let mut object_start = 0u64;
    let (mut kind, mut id, mut previous) = (String::new(), String::new(), None);
    let mut watermark_text = String::new();
    loop {
        ensure!(
            reader.get_mut().since <= MAX_OBJECT_BYTES,
            "a piece of the deposit's XML is longer than {MAX_OBJECT_BYTES} bytes"
        );
        reader.get_mut().since = 0;
        let position = reader.buffer_position();
        let (resolved, event) = reader
            .read_resolved_event_into(&mut buffer)
            .map_err(|e| anyhow::anyhow!("the deposit's XML is not well-formed: {e}"))?;
        if matches!(event, Event::Eof) {
            break;
        }
        if let Some(building) = tree.as_mut() {
            ensure!(
                position - object_start <= MAX_OBJECT_BYTES,
                "an object of the deposit is larger than {MAX_OBJECT_BYTES} bytes"
            );
            if let Some(element) = building.feed(resolved, event.into_owned())? {
                tree = None;
                visit(item(&path, &element)?)?;
            }
            buffer.clear();
            continue;
        }
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let name = start.local_name().as_ref().to_string();
                if path.is_empty() {
                    let in_rde = matches!(&resolved, quick_xml::name::ResolveResult::Bound(ns) if ns.as_ref() == RDE);
                    ensure!(
                        in_rde && name == "deposit",
                        "the file is not an RFC 8909 deposit"
                    );
                    for attribute in start.attributes() {
                        let attribute = attribute?;
                        let value = attribute
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)?
                            .into_owned();
                        match attribute.key.as_ref() {
                            "type" => kind = value,
                            "id" => id = value,
                            "prevId" => previous = Some(value),
                            _ => {}
                        }
                    }
                }
                if path.len() == 2 && (path[1] == "contents" || path[1] == "deletes") {
                    let mut building = Tree::new(MAX_OBJECT_ELEMENTS);
                    object_start = position;
                    let empty = matches!(event, Event::Empty(_));
                    if let Some(element) = building.feed(resolved, event.into_owned())? {
                        visit(item(&path, &element)?)?;
                    } else {
                        tree = Some(building);
                    }
                    debug_assert!(!empty || tree.is_none());
                } else if matches!(event, Event::Start(_)) {
                    ensure!(
                        path.len() < crate::front::epp::xml::MAX_DEPTH,
                        "the deposit's XML is nested too deep"
                    );
                    path.push(name);
                }
            }
            Event::End(_) => {
                path.pop();
            }
            Event::DocType(_) => bail!("a DOCTYPE is not accepted in a deposit"),
            Event::Text(text) if path.len() == 2 && path[1] == "watermark" => {
                watermark_text.push_str(&text.xml10_content());
                ensure!(watermark_text.len() < 64, "the watermark is not a time");
            }
            _ => {}
        }
        buffer.clear();
    }
    ensure!(
        path.is_empty() && tree.is_none(),
        "the deposit's XML ends early"
    );
    let watermark =
        objects::parse_time(&watermark_text).context("the deposit has no valid watermark")?;
    ensure!(
        kind == "FULL" || kind == "DIFF",
        "deposit type {kind:?} is not restored"
    );
    Ok(Preamble {
        kind,
        id,
        previous,
        watermark,
    })
}

fn item(path: &[String], element: &Element) -> anyhow::Result<Item> {
    Ok(if path[1] == "deletes" {
        Item::Deletes(objects::read_deletes(element)?)
    } else {
        Item::Content(objects::read_content(element)?)
    })
}

/// Decrypts and checks one deposit folder, leaving its XML at `xml`; returns what it says.
fn check(
    folder: &Path,
    registry: &SignedPublicKey,
    agent: &SignedSecretKey,
    xml: &Path,
) -> anyhow::Result<Summary> {
    let parts = parts(folder)?;
    ryde::open(&parts, registry, agent, xml).with_context(|| format!("{}", folder.display()))?;
    let mut header = None;
    let Preamble {
        kind,
        id,
        previous,
        watermark,
    } = read(xml, |item| {
        if let Item::Content(Content::Header { tld, counts }) = item {
            ensure!(header.is_none(), "two headers");
            header = Some((tld, counts));
        }
        Ok(())
    })
    .with_context(|| format!("{}", folder.display()))?;
    let (zone, counts) = header.with_context(|| format!("{}: no header", folder.display()))?;
    Ok(Summary {
        folder: folder.to_path_buf(),
        id,
        kind,
        previous,
        watermark,
        zone,
        counts,
    })
}

/// Checks the deposits in `folders` (a full one, then its differentials in order) end to end —
/// signatures, parts, decryption, XML, every object, one zone, the `prevId` chain — leaving each
/// one's XML in `scratch`; returns what each says, and where its XML is.
pub fn verify(
    folders: &[PathBuf],
    registry: &SignedPublicKey,
    agent: &SignedSecretKey,
    scratch: &Path,
    mut progress: impl FnMut(&str, u64),
) -> anyhow::Result<Vec<(Summary, PathBuf)>> {
    ensure!(!folders.is_empty(), "name at least one deposit folder");
    let mut checked = Vec::new();
    for (n, folder) in folders.iter().enumerate() {
        let xml = scratch.join(format!("deposit-{n}.xml"));
        progress(&format!("checking {}", folder.display()), 0);
        checked.push((check(folder, registry, agent, &xml)?, xml));
    }
    let zone = checked[0].0.zone.clone();
    for (i, (summary, _)) in checked.iter().enumerate() {
        ensure!(
            summary.zone == zone,
            "{}: a deposit of {}, not {zone}",
            summary.folder.display(),
            summary.zone
        );
        if i == 0 {
            ensure!(
                summary.kind == "FULL",
                "{}: a restore starts from a full deposit",
                summary.folder.display()
            );
        } else {
            let before = &checked[i - 1].0;
            ensure!(
                summary.kind == "DIFF" && summary.previous.as_deref() == Some(before.id.as_str()),
                "{}: deposit {} does not follow {} (a differential deposit is missing, or they are out of order)",
                summary.folder.display(),
                summary.id,
                before.id
            );
        }
    }
    Ok(checked)
}

/// Restores the deposits in `folders` (a full one, then its differentials in order) into the
/// registry `conn`, which must run the deposits' zone and hold no domain or host object.
/// Registrars it already has (set up with their passwords) keep their passwords and credit.
pub fn restore(
    conn: &mut Connection,
    signer: &Signer,
    folders: &[PathBuf],
    registry: &SignedPublicKey,
    agent: &SignedSecretKey,
    scratch: &Path,
    mut progress: impl FnMut(&str, u64),
) -> anyhow::Result<Restored> {
    let checked = verify(folders, registry, agent, scratch, &mut progress)?;
    let zone = checked[0].0.zone.clone();
    let zones = conn.zones()?;
    let Some(zone_settings) = zones.iter().find(|z| z.origin == zone).cloned() else {
        bail!("this registry does not run {zone}: add the zone first (control-plane zone add)");
    };
    let (domains, hosts, _) = escrow::counts(conn, zone_settings.id)?;
    ensure!(
        domains + hosts == 0,
        "this registry already holds domains or host objects: restore into a new one"
    );

    transaction(conn, Step::Begin)?;
    let applied = apply_all(conn, signer, &checked, &zone_settings, &mut progress);
    match applied {
        Ok(restored) => {
            transaction(conn, Step::Commit)?;
            Ok(restored)
        }
        Err(error) => {
            let _ = transaction(conn, Step::Rollback);
            Err(error)
        }
    }
}

/// Objects applied between two changesets.
const BATCH: usize = 1000;

fn apply_all(
    conn: &Connection,
    signer: &Signer,
    checked: &[(Summary, PathBuf)],
    zone: &crate::model::ZoneSettings,
    progress: &mut impl FnMut(&str, u64),
) -> anyhow::Result<Restored> {
    let mut restored = Restored::default();
    for (summary, xml) in checked {
        let label = format!("applying {} ({})", summary.id, summary.kind);
        let mut publication = Publication::new();
        let mut pending = 0usize;
        let mut done = 0u64;
        read(xml, |item| {
            match item {
                Item::Deletes(deletes) => {
                    for d in deletes {
                        remove(conn, &mut publication, &d)?;
                    }
                }
                Item::Content(content) => {
                    if put(conn, &mut publication, zone, content)? {
                        pending += 1;
                        done += 1;
                    }
                }
            }
            if pending >= BATCH {
                let entries = std::mem::take(&mut publication).finish(conn, ops::now(), signer)?;
                restored.changesets += entries.len() as u64;
                pending = 0;
                progress(&label, done);
            }
            Ok(())
        })?;
        let entries = publication.finish(conn, ops::now(), signer)?;
        restored.changesets += entries.len() as u64;
        progress(&label, done);
    }
    escrow::advance_sequences(conn)?;
    let (domains, hosts, registrars) = escrow::counts(conn, zone.id)?;
    let last = &checked[checked.len() - 1].0;
    for (uri, have) in [
        (RDE_DOMAIN, domains),
        (RDE_HOST, hosts),
        (RDE_REGISTRAR, registrars),
    ] {
        if let Some((_, want)) = last.counts.iter().find(|(u, _)| u == uri) {
            ensure!(
                *want == have,
                "the restored registry has {have} objects of {uri}, the deposit's header says {want}: nothing was restored"
            );
        }
    }
    restored.deposits = checked.iter().map(|(s, _)| s.clone()).collect();
    restored.domains = domains;
    restored.hosts = hosts;
    restored.registrars = registrars;
    Ok(restored)
}

fn remove(conn: &Connection, publication: &mut Publication, d: &Delete) -> anyhow::Result<()> {
    match d {
        Delete::Domain(name) => {
            publication.touch(conn, name)?;
            if conn.domain(name)?.is_some() {
                conn.delete_domain(name)?;
            }
        }
        Delete::Host(name) => {
            if conn.host(name)?.is_some() {
                conn.delete_host(name)?;
            }
        }
        Delete::Registrar(id) => {
            bail!(
                "the deposit deletes registrar {id}: registrars are never deleted here, only terminated"
            )
        }
    }
    Ok(())
}

/// Applies one object; true if it was a domain, host or registrar.
fn put(
    conn: &Connection,
    publication: &mut Publication,
    zone: &crate::model::ZoneSettings,
    content: Content,
) -> anyhow::Result<bool> {
    match content {
        Content::Header { .. } | Content::EppParams => Ok(false),
        Content::Registrar(mut registrar) => {
            if let Some(existing) = conn.registrar(registrar.id)? {
                registrar.password_hash = existing.password_hash;
                registrar.balance = existing.balance;
                registrar.credit_limit = existing.credit_limit;
                registrar.certificate = existing.certificate;
            }
            sqlite::put_registrar(conn, &registrar)?;
            publication.registrar(registrar);
            Ok(true)
        }
        Content::Domain(entry) => {
            let objects::DomainEntry {
                mut domain,
                nameservers,
                transfer,
            } = *entry;
            let labels = zone.origin.split('.').count() + usize::from(zone.level) - 1;
            ensure!(
                domain.name.ends_with(&format!(".{}", zone.origin))
                    && domain.name.split('.').count() == labels,
                "{} is not a name registered in {}",
                domain.name,
                zone.origin
            );
            publication.touch(conn, &domain.name)?;
            domain.zone = zone.id;
            domain.cluster = if nameservers.is_empty() {
                None
            } else {
                Some(match conn.find_cluster(domain.registrar, &nameservers)? {
                    Some(id) => id,
                    None => conn.insert_cluster(domain.registrar, &nameservers)?,
                })
            };
            match conn.domain(&domain.name)? {
                Some(existing) if existing.id == domain.id => conn.update_domain(&domain)?,
                Some(_) => {
                    conn.delete_domain(&domain.name)?;
                    conn.insert_domain(&domain)?;
                    escrow::set_domain_id(conn, &domain.name, domain.id)?;
                }
                None => {
                    conn.insert_domain(&domain)?;
                    escrow::set_domain_id(conn, &domain.name, domain.id)?;
                }
            }
            if let Some(transfer) = transfer {
                conn.save_transfer(zone.id, &transfer)?;
            }
            Ok(true)
        }
        Content::Host(mut host) => {
            host.parent = parent_domain(conn, &host.name)?;
            if conn.host(&host.name)?.is_some() {
                conn.delete_host(&host.name)?;
            }
            conn.insert_host(&host)?;
            escrow::set_host_id(conn, &host.name, host.id)?;
            Ok(true)
        }
    }
}

/// The registered domain a host name is beneath, if any.
fn parent_domain(conn: &Connection, host: &str) -> anyhow::Result<Option<String>> {
    let mut rest = host;
    while let Some((_, parent)) = rest.split_once('.') {
        if conn.domain(parent)?.is_some() {
            return Ok(Some(parent.to_string()));
        }
        rest = parent;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = include_str!("sample-deposit.xml");

    fn read_all(text: &str) -> anyhow::Result<(Preamble, Vec<Item>)> {
        let mut items = Vec::new();
        let preamble = read_deposit(text.as_bytes(), |item| {
            items.push(item);
            Ok(())
        })?;
        Ok((preamble, items))
    }

    #[test]
    fn a_deposit_reads_as_its_objects_in_order() {
        let (preamble, items) = read_all(SEED).unwrap();
        assert_eq!(preamble.kind, "DIFF");
        assert_eq!(preamble.previous.as_deref(), Some("2611300000F"));
        assert_eq!(
            preamble.watermark,
            zonefiles::calendar::parse_date("2026-12-07").unwrap()
        );
        assert!(
            matches!(&items[0], Item::Deletes(d) if d == &[Delete::Domain("gone.name".into())])
        );
        assert!(matches!(&items[2], Item::Content(Content::Registrar(r)) if r.id == 1001));
        assert!(matches!(&items[3], Item::Content(Content::Domain(d)) if d.domain.id == 42));
        assert!(matches!(&items[5], Item::Content(Content::Header { tld, .. }) if tld == "name"));
    }

    #[test]
    fn hostile_deposits_are_refused_with_a_reason() {
        let long_text = SEED.replace(
            "john.smith.name</rdeDomain:name>",
            &format!("{}</rdeDomain:name>", "a".repeat(3 << 20)),
        );
        let deep = SEED.replace("<rde:rdeMenu>", &"<rde:x>".repeat(100));
        let doctype = SEED.replace(
            "<rde:deposit",
            "<!DOCTYPE x [<!ENTITY a \"b\">]><rde:deposit",
        );
        let not_rde = SEED.replace("urn:ietf:params:xml:ns:rde-1.0", "urn:example");
        let long_comment = SEED.replace(
            "<rde:contents>",
            &format!("<!-- {} --><rde:contents>", "a".repeat(3 << 20)),
        );
        let cut = &SEED[..SEED.find("</rde:contents>").unwrap()];
        for (text, why) in [
            (long_text.as_str(), "than 1048576 bytes"),
            (long_comment.as_str(), "longer than 1048576 bytes"),
            (deep.as_str(), "nested too deep"),
            (doctype.as_str(), "DOCTYPE"),
            (not_rde.as_str(), "not an RFC 8909 deposit"),
            (cut, "ends early"),
        ] {
            let error = read_all(text).unwrap_err();
            assert!(format!("{error:#}").contains(why), "{why}: {error:#}");
        }
    }
}
