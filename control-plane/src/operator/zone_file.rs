//! The daily zone file of zone file access programmes (ICANN's CZDS): a zone at its current
//! serial in master-file format (RFC 1035), gzip-compressed, with a detached OpenPGP signature
//! by the registry's key so that subscribers can check where it comes from.
//!
//! Written as `<zone>.zone.gz` and `<zone>.zone.gz.sig` through temporary names renamed into
//! place, so a reader never sees half a file. The zone is built from the database as `export`
//! builds it (in memory, about 400 MB at 1M delegations), after the same zone checks.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::Context;
use pgp::composed::SignedSecretKey;
use rusqlite::Connection;

use crate::escrow::ryde;
use crate::push::snapshot;
use crate::store::Store;

/// A zone file written.
#[derive(Debug)]
pub struct ZoneFile {
    /// The gzip file.
    pub path: PathBuf,
    /// Its signature, if signed.
    pub signature: Option<PathBuf>,
    /// The serial it holds.
    pub serial: u32,
    /// Its records.
    pub records: usize,
}

/// Writes `zone`'s file into `dir`, signed with `key` when given.
pub fn write(
    conn: &Connection,
    zone: &str,
    dir: &Path,
    key: Option<&SignedSecretKey>,
) -> anyhow::Result<ZoneFile> {
    let settings = conn
        .zones()?
        .into_iter()
        .find(|z| z.origin == zone)
        .with_context(|| format!("the registry runs no zone {zone}"))?;
    let current = snapshot::current(conn, &settings)?;
    snapshot::publication_checks(&current.zone, true).with_context(|| zone.to_string())?;
    std::fs::create_dir_all(dir).with_context(|| format!("making {}", dir.display()))?;
    let path = dir.join(format!("{zone}.zone.gz"));
    let partial = dir.join(format!(".{zone}.zone.gz.partial"));
    let file = File::create(&partial).with_context(|| format!("writing {}", partial.display()))?;
    let mut gzip = flate2::write::GzEncoder::new(
        BufWriter::with_capacity(1 << 20, file),
        flate2::Compression::default(),
    );
    zonefiles::master::write_zone(&current.zone, &mut gzip)?;
    let file = gzip.finish()?.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    std::fs::rename(&partial, &path)?;
    let signature = match key {
        Some(key) => {
            let signature = dir.join(format!("{zone}.zone.gz.sig"));
            let partial = dir.join(format!(".{zone}.zone.gz.sig.partial"));
            ryde::sign(&path, &partial, key)?;
            std::fs::rename(&partial, &signature)?;
            Some(signature)
        }
        None => None,
    };
    File::open(dir)?.sync_all()?;
    Ok(ZoneFile {
        path,
        signature,
        serial: current.serial,
        records: current.zone.records().len(),
    })
}
