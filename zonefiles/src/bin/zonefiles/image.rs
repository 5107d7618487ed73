//! `zonefiles dump`, `lookup` and `verify`: a compiled zone image read back.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use zonefiles::image::Find;
use zonefiles::{Name, Record, RecordType, master, rdata};

use crate::read::open_image;

/// Writes an image back as a master file (to standard output without `output`).
pub fn dump(image: &Path, output: Option<&Path>) -> Result<ExitCode> {
    let zone = open_image(image)?.to_zone()?;
    match output {
        Some(path) => {
            let mut out = BufWriter::new(
                File::create(path).with_context(|| format!("creating {}", path.display()))?,
            );
            master::write_zone(&zone, &mut out)?;
            out.flush()?;
        }
        None => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            master::write_zone(&zone, &mut out)?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Shows where a name falls in an image and the records found there; exit status 1 when
/// the name does not exist.
pub fn lookup(image: &Path, name: Name, rtype: Option<String>) -> Result<ExitCode> {
    let img = open_image(image)?;
    let only = match rtype {
        Some(text) => Some(
            RecordType::from_text(text.as_bytes())
                .with_context(|| format!("unknown record type {text}"))?,
        ),
        None => None,
    };
    let suffix = |offset: usize| Name::from_wire(&name.as_wire()[offset..]).map(|n| n.0);
    let (node, owner) = match img.find(&name)? {
        Find::Exact(node) => {
            println!("{name}: exists{}", describe(&node));
            (node, name.clone())
        }
        Find::Referral { cut, offset } => {
            let cut_name = suffix(offset)?;
            println!("{name}: referral to the delegation {cut_name}");
            (cut, cut_name)
        }
        Find::Dname { owner, offset } => {
            let owner_name = suffix(offset)?;
            println!("{name}: below the DNAME at {owner_name}");
            (owner, owner_name)
        }
        Find::Wildcard { source, offset, .. } => {
            let wildcard = suffix(offset)?.child(b"*")?;
            println!("{name}: synthesised from {wildcard}");
            (source, wildcard)
        }
        Find::NxDomain { offset, .. } => {
            println!(
                "{name}: does not exist (closest encloser {})",
                suffix(offset)?
            );
            return Ok(ExitCode::from(1));
        }
        Find::OutOfZone => {
            println!("{name}: not in the zone {}", img.origin());
            return Ok(ExitCode::from(1));
        }
    };
    for rrset in node.rrsets() {
        let (rtype, rrset) = rrset?;
        if only.is_some_and(|t| t != rtype) {
            continue;
        }
        let records: Vec<&[u8]> = rrset.records().collect::<Result<_, _>>()?;
        for rdata in &records {
            let record = Record {
                owner: owner.clone(),
                rtype,
                class: img.class(),
                ttl: rrset.ttl(),
                rdata: (*rdata).into(),
            };
            println!("{record}");
        }
        for entry in rrset.additionals() {
            let (index, a, aaaa) = entry?;
            // A damaged image may name a record the RRset does not have.
            let Some(target) = records
                .get(index)
                .and_then(|rdata| rdata::name_field(rtype, rdata, additional_field(rtype)))
            else {
                continue;
            };
            for (glue_type, glue) in [(RecordType::A, a), (RecordType::AAAA, aaaa)] {
                for rdata in glue.iter().flat_map(|g| g.records()) {
                    let record = Record {
                        owner: target.clone(),
                        rtype: glue_type,
                        class: img.class(),
                        ttl: glue.map_or(0, |g| g.ttl()),
                        rdata: rdata?.into(),
                    };
                    println!("; additional: {record}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks an image's digest and structure.
pub fn verify(image: &Path) -> Result<ExitCode> {
    let started = Instant::now();
    let img = open_image(image)?;
    img.verify()
        .with_context(|| format!("verifying {}", image.display()))?;
    let h = img.header();
    println!(
        "{}: ok — zone {}, serial {}, {} names, {} RRsets, {} records, digest {} ({:.2?})",
        image.display(),
        img.origin(),
        img.serial(),
        h.nodes,
        h.rrsets,
        h.records,
        hex(&img.digest()),
        started.elapsed()
    );
    Ok(ExitCode::SUCCESS)
}

/// What kind of node it is, for `lookup`.
fn describe(node: &zonefiles::image::Node<'_>) -> String {
    let mut what = Vec::new();
    if node.is_apex() {
        what.push("zone apex");
    }
    if node.is_delegation() {
        what.push("delegation point");
    }
    if node.is_empty_non_terminal() {
        what.push("empty non-terminal");
    }
    if what.is_empty() {
        String::new()
    } else {
        format!(" ({})", what.join(", "))
    }
}

/// Which rdata field names the target of additional data.
fn additional_field(rtype: RecordType) -> usize {
    rdata::schema::additional_name_field(rtype).unwrap_or(0)
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
