//! Zones larger than memory: a master file's records spilled to disk in sorted runs, then
//! merged back in canonical order, node by node, as many times as a reader needs.
//!
//! `zonefiles compile` reads a master file this way, so that what it holds does not grow with
//! the records: a [`Zone`](crate::Zone) of 10 million delegations holds 22 million records
//! (72 bytes each, 1.6 GB) and needed 4.7 GB at its peak, while the streamed build holds the
//! image being written and the names that take part in glue.
//!
//! - **Reading** ([`read`]): each thread of the parallel reader fills a [`RunWriter`] with up
//!   to [`RUN_RECORDS`] records, sorts them the way a zone is sorted and writes them to an
//!   unnamed temporary file (a *run*; deleted by the kernel when closed), then starts again.
//! - **Merging** ([`Runs::each_node`]): one buffered reader per run and a binary heap of their
//!   next entries, ordered by canonical key, type and rdata: canonical order. Entries with one
//!   key form a node; each node is [normalized](crate::zone) as a zone's records are
//!   (duplicates dropped across runs too, one TTL per RRset). The compiler's passes run the
//!   merge on a thread of its own ([`overlapped`]).
//! - **Checking and compiling** ([`RunNodes`]): the compiler's [`Nodes`] source, wrapped in
//!   [`Checked`](crate::check::Checked) so that the checks ride on the first pass: a zone is
//!   checked and compiled in two merges.
//!
//! A run entry, integers big-endian: key length (u16), the owner's canonical key (see
//! [`Name::canonical_key`]), type (u16), class (u16), TTL (u32), rdata length (u16), rdata.
//! The key orders entries with plain byte comparisons, and names are rebuilt from it once per
//! node. Runs are written and read by one process; a damaged one reads as an I/O error.
//!
//! Cost: every record is written once and read once per pass; the heap holds one entry per
//! run (about 22 runs at 10 million delegations).

use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use crate::check::Finding;
use crate::image::{CompileError, Nodes, overlapped};
use crate::master::parallel::{Sink, read_file};
use crate::master::{ParseError, ParseErrorKind, ParseOptions};
use crate::name::Name;
use crate::octets::Octets;
use crate::record::Record;
use crate::rtype::{Class, RecordType};
use crate::zone::{normalize, sort_canonically};

/// Records a reading thread holds before it sorts and writes them as a run (about 72 MB, held
/// twice while sorted).
pub const RUN_RECORDS: usize = 1 << 20;

/// Reads a master file into sorted runs in `dir`, on up to `threads` threads. `progress` is
/// called from time to time with the bytes read so far.
pub fn read(
    path: &Path,
    options: ParseOptions,
    threads: usize,
    dir: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Runs, ParseError> {
    let writer = read_file(path, options, threads, progress, &|_| RunWriter::new(dir))?;
    writer.finish()
}

/// Gathers records and writes them out in sorted runs of [`RUN_RECORDS`].
pub struct RunWriter {
    dir: PathBuf,
    limit: usize,
    pending: Vec<Record>,
    runs: Vec<File>,
    records: u64,
    first_soa: Option<Name>,
}

impl RunWriter {
    /// A writer whose runs go to unnamed files in `dir`.
    pub fn new(dir: &Path) -> RunWriter {
        RunWriter::with_limit(dir, RUN_RECORDS)
    }

    /// A writer that writes a run every `limit` records.
    pub fn with_limit(dir: &Path, limit: usize) -> RunWriter {
        RunWriter {
            dir: dir.to_owned(),
            limit: limit.max(1),
            pending: Vec::new(),
            runs: Vec::new(),
            records: 0,
            first_soa: None,
        }
    }

    /// Sorts the pending records and writes them as a run.
    fn spill(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let sorted = sort_canonically(std::mem::take(&mut self.pending));
        let mut out = BufWriter::with_capacity(1 << 20, tempfile::tempfile_in(&self.dir)?);
        let mut key = Vec::new();
        let mut last_owner: Option<&Name> = None;
        for record in &sorted {
            if last_owner != Some(&record.owner) {
                key.clear();
                record.owner.canonical_key(&mut key);
                last_owner = Some(&record.owner);
            }
            out.write_all(&(key.len() as u16).to_be_bytes())?;
            out.write_all(&key)?;
            out.write_all(&record.rtype.0.to_be_bytes())?;
            out.write_all(&record.class.0.to_be_bytes())?;
            out.write_all(&record.ttl.to_be_bytes())?;
            out.write_all(&(record.rdata.len() as u16).to_be_bytes())?;
            out.write_all(&record.rdata)?;
        }
        self.runs
            .push(out.into_inner().map_err(io::IntoInnerError::into_error)?);
        Ok(())
    }

    /// Writes what is pending and hands over the runs.
    pub fn finish(mut self) -> Result<Runs, ParseError> {
        self.spill().map_err(|e| self.error(e))?;
        Ok(Runs {
            runs: self.runs,
            records: self.records,
            first_soa: self.first_soa,
        })
    }

    fn error(&self, source: io::Error) -> ParseError {
        ParseError {
            file: "sorting records".into(),
            line: 0,
            column: 0,
            kind: ParseErrorKind::Spill {
                dir: self.dir.clone(),
                source,
            },
        }
    }
}

impl RunWriter {
    /// Takes one record (in any order: runs are sorted as they are written).
    pub fn push(&mut self, record: Record) -> Result<(), ParseError> {
        if self.first_soa.is_none() && record.rtype == RecordType::SOA {
            self.first_soa = Some(record.owner.clone());
        }
        self.records += 1;
        self.pending.push(record);
        if self.pending.len() >= self.limit {
            self.spill().map_err(|e| self.error(e))?;
        }
        Ok(())
    }
}

impl Sink for RunWriter {
    fn push(&mut self, record: Record) -> Result<(), ParseError> {
        RunWriter::push(self, record)
    }

    fn append(&mut self, mut later: RunWriter) -> Result<(), ParseError> {
        self.first_soa = self.first_soa.take().or(later.first_soa.take());
        self.runs.append(&mut later.runs);
        self.records += later.records - later.pending.len() as u64;
        for record in later.pending {
            self.push(record)?;
        }
        Ok(())
    }
}

/// A master file's records in sorted runs on disk.
pub struct Runs {
    runs: Vec<File>,
    records: u64,
    first_soa: Option<Name>,
}

/// The next entry of one run, ordered so that the heap's top is the least in canonical order.
struct Head {
    key: Vec<u8>,
    rtype: u16,
    class: u16,
    ttl: u32,
    rdata: Vec<u8>,
    run: usize,
}

impl Head {
    fn order(&self) -> (&[u8], u16, &[u8]) {
        (&self.key, self.rtype, &self.rdata)
    }

    /// Reads the next entry of `run` into `self`; false at the end of the run.
    fn read(&mut self, run: &mut impl BufRead) -> io::Result<bool> {
        if run.fill_buf()?.is_empty() {
            return Ok(false);
        }
        let mut fixed = [0u8; 2];
        run.read_exact(&mut fixed)?;
        self.key.resize(usize::from(u16::from_be_bytes(fixed)), 0);
        run.read_exact(&mut self.key)?;
        let mut fields = [0u8; 10];
        run.read_exact(&mut fields)?;
        self.rtype = u16::from_be_bytes([fields[0], fields[1]]);
        self.class = u16::from_be_bytes([fields[2], fields[3]]);
        self.ttl = u32::from_be_bytes([fields[4], fields[5], fields[6], fields[7]]);
        self.rdata
            .resize(usize::from(u16::from_be_bytes([fields[8], fields[9]])), 0);
        run.read_exact(&mut self.rdata)?;
        Ok(true)
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Head) -> bool {
        self.order() == other.order()
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Head) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    fn cmp(&self, other: &Head) -> std::cmp::Ordering {
        other.order().cmp(&self.order())
    }
}

impl Runs {
    /// Records read, duplicates included.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The owner of the first SOA record in the file, the origin when none is given.
    pub fn first_soa(&self) -> Option<&Name> {
        self.first_soa.as_ref()
    }

    /// Calls `emit` with each node in canonical order, normalized; normalization findings go
    /// to `findings` when given. Stops at the first error.
    pub fn each_node(
        &self,
        mut findings: Option<&mut Vec<Finding>>,
        emit: &mut dyn FnMut(&mut Vec<Record>) -> Result<(), CompileError>,
    ) -> Result<(), CompileError> {
        let mut readers = Vec::with_capacity(self.runs.len());
        let mut heap = BinaryHeap::with_capacity(self.runs.len());
        for (run, mut file) in self.runs.iter().enumerate() {
            file.seek(io::SeekFrom::Start(0))?;
            let mut reader = BufReader::with_capacity(1 << 20, file);
            let mut head = Head {
                key: Vec::new(),
                rtype: 0,
                class: 0,
                ttl: 0,
                rdata: Vec::new(),
                run,
            };
            if head.read(&mut reader)? {
                heap.push(head);
            }
            readers.push(reader);
        }
        let mut node: Vec<Record> = Vec::new();
        let mut key: Vec<u8> = Vec::new();
        let mut scratch = Vec::new();
        let mut flush = |node: &mut Vec<Record>| {
            match findings.as_deref_mut() {
                Some(findings) => normalize(node, findings),
                None => {
                    normalize(node, &mut scratch);
                    scratch.clear();
                }
            }
            emit(node)?;
            node.clear();
            Ok::<(), CompileError>(())
        };
        while let Some(mut head) = heap.peek_mut() {
            if head.key != key || node.is_empty() {
                if !node.is_empty() {
                    flush(&mut node)?;
                }
                key.clone_from(&head.key);
            }
            let owner = match node.last() {
                Some(last) => last.owner.clone(),
                None => Name::from_canonical_key(&key)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?,
            };
            node.push(Record {
                owner,
                rtype: RecordType(head.rtype),
                class: Class(head.class),
                ttl: head.ttl,
                rdata: Octets::new(&head.rdata),
            });
            let run = head.run;
            if !head.read(&mut readers[run])? {
                std::collections::binary_heap::PeekMut::pop(head);
            }
        }
        if !node.is_empty() {
            flush(&mut node)?;
        }
        Ok(())
    }
}

/// The runs as the compiler's node source. The first full pass keeps what normalizing the
/// nodes reported (duplicates dropped, TTLs changed); wrap it in [`Checked`](crate::check::Checked)
/// for the checks.
pub struct RunNodes<'a> {
    runs: &'a Runs,
    /// What the normalization reported.
    pub findings: Vec<Finding>,
    complete: bool,
}

impl<'a> RunNodes<'a> {
    /// The nodes of `runs`.
    pub fn new(runs: &'a Runs) -> RunNodes<'a> {
        RunNodes {
            runs,
            findings: Vec::new(),
            complete: false,
        }
    }
}

impl Nodes for RunNodes<'_> {
    fn each_node(
        &mut self,
        visit: &mut dyn FnMut(&[Record]) -> Result<(), CompileError>,
    ) -> Result<(), CompileError> {
        let findings = (!self.complete).then(|| {
            self.findings.clear();
            &mut self.findings
        });
        let runs = self.runs;
        overlapped(|emit| runs.each_node(findings, emit), visit)?;
        self.complete = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::*;
    use crate::check::Checked;
    use crate::generate::{self, Shape};
    use crate::image::compile;
    use crate::master::parallel::read_text;
    use crate::master::{Reader, lexer::Text};
    use crate::zone::Zone;

    /// The zone read in memory: its findings and image (`None` when it has errors).
    fn in_memory(text: &str) -> (Vec<String>, Option<Vec<u8>>) {
        let records: Vec<Record> = Reader::from_bytes("z", text.as_bytes().to_vec(), options())
            .collect::<Result<_, _>>()
            .unwrap();
        let (zone, mut findings) = Zone::from_records(None, Class::IN, records);
        findings.extend(crate::check::check(&zone));
        let image =
            (!crate::check::has_errors(&findings)).then(|| compile(&zone, |_| {}).unwrap().0);
        (sorted(&findings), image)
    }

    /// The zone streamed through runs of `limit` records read on `threads` threads.
    fn streamed(text: &str, threads: usize, limit: usize) -> (Vec<String>, Option<Vec<u8>>) {
        let dir = tempfile::tempdir().unwrap();
        let writer = read_text(
            "z".into(),
            None,
            Arc::new(Text::Owned(text.as_bytes().to_vec())),
            options(),
            threads,
            &|_| {},
            &|_| RunWriter::with_limit(dir.path(), limit),
        )
        .unwrap();
        let runs = writer.finish().unwrap();
        let origin = runs.first_soa().cloned().unwrap_or_else(Name::root);
        let mut nodes = Checked::new(RunNodes::new(&runs), origin.clone());
        let compiled = crate::image::compile_nodes(&origin, Class::IN, &mut nodes, |_| {});
        let (checks, nodes) = nodes.finish().unwrap();
        let mut findings = nodes.findings;
        findings.extend(checks);
        let image = (!crate::check::has_errors(&findings)).then(|| compiled.unwrap().into_bytes());
        (sorted(&findings), image)
    }

    fn options() -> ParseOptions {
        ParseOptions {
            origin: Some("tld.".parse().unwrap()),
            ..ParseOptions::default()
        }
    }

    fn sorted(findings: &[Finding]) -> Vec<String> {
        let mut lines: Vec<String> = findings.iter().map(ToString::to_string).collect();
        lines.sort();
        lines
    }

    /// Lines of a zone below `tld.`: mostly delegations with their glue, and now and then
    /// something the checks report (a name server without an address, DS without NS, data
    /// outside the zone), so that most zones compile and some do not.
    fn line() -> impl Strategy<Value = String> {
        let n = || 0u32..12;
        prop_oneof![
            1 => Just("@ 3600 IN SOA ns1.tld. h.tld. 1 2 3 4 5".to_owned()),
            30 => (n(), n(), n()).prop_map(|(d, m, k)| format!(
                "d{d} 300 IN NS ns{m}.d{k}.tld.\nns{m}.d{k} 300 IN A 192.0.2.{m}"
            )),
            12 => (n(), n()).prop_map(|(d, ttl)| format!("d{d} {} IN NS ns.example.net.", 300 + ttl / 6 * 60)),
            4 => (n(), n()).prop_map(|(m, d)| format!("ns{m}.d{d} 300 IN AAAA 2001:db8::{m}")),
            4 => n().prop_map(|d| format!("d{d} 300 IN NS ns.example.net.\nd{d} 300 IN DS 1 8 2 {}", "ab".repeat(32))),
            8 => (n(), n(), n()).prop_map(|(x, m, d)| format!("m{x} 300 IN MX 10 ns{m}.d{d}.tld.")),
            4 => n().prop_map(|x| format!("m{x} 300 IN MX 10 ns1.tld.")),
            4 => n().prop_map(|w| format!("*.w{w} 300 IN A 192.0.2.9")),
            4 => n().prop_map(|x| format!("x{x} 300 IN DNAME other.net.")),
            4 => n().prop_map(|x| format!("c{x} 300 IN CNAME d{x}.tld.")),
            // Reported: a name server without an address, DS without NS, out of the zone.
            1 => (n(), n(), n()).prop_map(|(d, m, k)| format!("d{d} 300 IN NS ns{m}.d{k}.tld.")),
            1 => n().prop_map(|d| format!("e{d} 300 IN DS 1 8 2 {}", "ab".repeat(32))),
            1 => Just("out.example. 300 IN A 192.0.2.1".to_owned()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Whatever the zone, the streamed build reports the same findings as the zone held
        /// in memory and, when it has no errors, writes the same image byte for byte; runs of
        /// a few records make every node span runs and duplicates meet only in the merge.
        #[test]
        fn streamed_and_in_memory_builds_agree(
            lines in prop::collection::vec(line(), 0..40),
            threads in 1usize..4,
            limit in 1usize..8,
        ) {
            let text = format!(
                "@ 3600 IN SOA ns1.tld. h.tld. 1 2 3 4 5\n@ 3600 IN NS ns1.tld.\n\
                 ns1 3600 IN A 192.0.2.1\n{}\n",
                lines.join("\n")
            );
            prop_assert_eq!(streamed(&text, threads, limit), in_memory(&text));
        }
    }

    #[test]
    fn generated_zones_compile_to_the_same_image_either_way() {
        for shape in [Shape::Providers, Shape::Pairs] {
            let options = generate::Options {
                origin: "tld".into(),
                delegations: 3000,
                shape,
                ..generate::Options::default()
            };
            let mut text = Vec::new();
            generate::generate(&options, &mut text).unwrap();
            let text = String::from_utf8(text).unwrap();
            let (findings, image) = in_memory(&text);
            assert!(image.is_some(), "{findings:?}");
            assert_eq!(streamed(&text, 2, 1000), (findings, image));
        }
    }
}
