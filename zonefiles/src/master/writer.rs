//! Writes records as master-file text: one record per line, absolute names, every field
//! explicit, so the output reads back to the same records under any reader.

use std::io::{self, Write};

use crate::record::Record;
use crate::zone::Zone;

/// Writes each record on its own line.
pub fn write_records<'a>(
    records: impl IntoIterator<Item = &'a Record>,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut line = String::with_capacity(256);
    for record in records {
        line.clear();
        use std::fmt::Write as _;
        let _ = writeln!(line, "{record}");
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// Writes a zone: an `$ORIGIN` line for readers, then the SOA, then the other records in
/// canonical order.
pub fn write_zone(zone: &Zone, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "$ORIGIN {}", zone.origin())?;
    let soa = zone.soa();
    write_records(soa, out)?;
    write_records(zone.records().iter().filter(|r| Some(*r) != soa), out)
}
