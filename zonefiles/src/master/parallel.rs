//! Reading one large master file on several threads.
//!
//! The text is cut into chunks at lines that start a new entry with an owner name. Each chunk
//! is read on its own thread from the state its start is *assumed* to have: the `$ORIGIN` and
//! `$TTL` directives found by scanning the lines before it that begin with `$`. The guess is
//! then checked, in file order, against what really held: the previous chunk must end exactly
//! where this one starts (no entry straddles the cut) and in the assumed state, and the chunk
//! must not have needed a value carried over from before it (an omitted TTL or owner). When
//! anything differs — or the chunk failed — the rest of the file is read again sequentially
//! from the true state. So the result, errors included, is always exactly the sequential
//! reader's; only its speed depends on the guess.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{ParseError, ParseOptions, Reader, State, Text};
use crate::record::Record;

/// Files smaller than this are read on one thread.
const MIN_PARALLEL: usize = 4 << 20;

/// Where a chunk's records go as they are read: a list ([`Vec<Record>`]) or sorted runs on disk
/// ([`crate::spill::RunWriter`]).
pub(crate) trait Sink: Sized + Send {
    /// Takes one record.
    fn push(&mut self, record: Record) -> Result<(), ParseError>;
    /// Takes the records of the chunk after this one.
    fn append(&mut self, later: Self) -> Result<(), ParseError>;
}

impl Sink for Vec<Record> {
    fn push(&mut self, record: Record) -> Result<(), ParseError> {
        Vec::push(self, record);
        Ok(())
    }

    fn append(&mut self, later: Self) -> Result<(), ParseError> {
        // The first chunk's list grows to hold the others (a large allocation grows in place,
        // by remapping), so the records are never held twice.
        if self.is_empty() {
            *self = later;
        } else {
            self.extend(later);
        }
        Ok(())
    }
}

/// Reads every record of a master file using up to `threads` threads. `progress` is called
/// from time to time with the bytes read so far.
pub fn read_parallel(
    path: &Path,
    options: ParseOptions,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<Record>, ParseError> {
    read_file(path, options, threads, progress, &Vec::with_capacity)
}

/// Reads a master file on up to `threads` threads into the sinks `new_sink` makes (given the
/// number of records a chunk is expected to hold).
pub(crate) fn read_file<S: Sink>(
    path: &Path,
    options: ParseOptions,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
    new_sink: &(dyn Fn(usize) -> S + Sync),
) -> Result<S, ParseError> {
    let (file, text) = super::read_source_mapped(path, MIN_PARALLEL)?;
    let dir = path.parent().map(Path::to_owned);
    let threads = if text.len() < MIN_PARALLEL {
        1
    } else {
        threads
    };
    read_text(
        file,
        dir,
        Arc::new(text),
        options,
        threads,
        progress,
        new_sink,
    )
}

/// Reads master-file text on up to `threads` threads.
pub(crate) fn read_text<S: Sink>(
    file: Arc<str>,
    dir: Option<std::path::PathBuf>,
    text: Arc<Text>,
    options: ParseOptions,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
    new_sink: &(dyn Fn(usize) -> S + Sync),
) -> Result<S, ParseError> {
    let cuts = cut_points(&text, threads.max(1));
    let initial = State {
        origin: options.origin.clone(),
        default_ttl: options.default_ttl,
        last_ttl: None,
        last_owner: None,
        last_class: options.class,
    };
    let assumed = assumed_states(&file, &text, &cuts, &options, &initial);
    // The scan for directives read every page: hand them back before the chunks are read.
    text.release(0..text.len());
    let read = AtomicU64::new(0);
    let reader_for = |start: usize, limit: usize, state: State| {
        let line = 1 + text[..start].iter().filter(|&&b| b == b'\n').count() as u32;
        Reader::chunk(
            file.clone(),
            dir.clone(),
            text.clone(),
            (start, limit, line),
            options.clone(),
            state,
        )
    };
    let run = |mut reader: Reader| -> (Result<S, ParseError>, Reader) {
        let chunks = cuts.len().saturating_sub(1).max(1);
        let mut records = new_sink(text.len() / chunks / 45);
        let mut reported = 0;
        let mut count = 0u64;
        // The text before this has been handed back (a mapped file's pages).
        let mut released = reader.position();
        let result = loop {
            match reader.next_record() {
                Ok(Some(record)) => {
                    if let Err(e) = records.push(record) {
                        break Err(e);
                    }
                }
                Ok(None) => break Ok(records),
                Err(e) => break Err(e),
            }
            count += 1;
            if count.is_multiple_of(65_536) {
                let now = reader.bytes_read();
                let total = read.fetch_add(now - reported, Ordering::Relaxed) + now - reported;
                reported = now;
                progress(total);
                let at = reader.position().min(text.len());
                text.release(released..at);
                released = released.max(at - at % 4096);
            }
        };
        (result, reader)
    };

    let chunks: Vec<(Result<S, ParseError>, Reader)> = std::thread::scope(|s| {
        let handles: Vec<_> = cuts
            .windows(2)
            .zip(&assumed)
            .map(|(w, state)| {
                let reader = reader_for(w[0], w[1], state.clone());
                s.spawn(move || run(reader))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("chunk readers do not panic"))
            .collect()
    });

    let mut records: Option<S> = None;
    let mut previous: Option<Reader> = None;
    for (i, (result, reader)) in chunks.into_iter().enumerate() {
        if let Some(before) = &previous {
            // Omitted TTLs and owners are not compared: a chunk that needed one from before
            // it started with none, so it failed and is read again.
            let real = before.state();
            let guess = &assumed[i];
            let follows = before.end() == Some(cuts[i])
                && real.origin == guess.origin
                && real.default_ttl == guess.default_ttl
                && real.last_class == guess.last_class;
            if !follows || result.is_err() {
                // The guess was wrong (or the chunk has an error to report exactly): read the
                // rest of the file on this thread from where the previous chunk really ended.
                let start = before.end().unwrap_or(cuts[i]);
                let (rest, _) = run(reader_for(start, text.len(), before.state()));
                let mut records = records.expect("the first chunk is read");
                records.append(rest?)?;
                return Ok(records);
            }
        }
        let chunk = result?;
        match &mut records {
            None => records = Some(chunk),
            Some(records) => records.append(chunk)?,
        }
        previous = Some(reader);
    }
    Ok(records.unwrap_or_else(|| new_sink(0)))
}

/// Cut points: 0, then for each thread after the first the start of the first line at or after
/// its share of the text that begins with an owner name, then the end.
fn cut_points(text: &[u8], threads: usize) -> Vec<usize> {
    let mut cuts = vec![0];
    for k in 1..threads {
        let target = text.len() * k / threads;
        let mut at = target.max(*cuts.last().expect("non-empty") + 1);
        while let Some(newline) = text
            .get(at..)
            .and_then(|t| t.iter().position(|&b| b == b'\n'))
        {
            let start = at + newline + 1;
            match text.get(start) {
                None => break,
                Some(b' ' | b'\t' | b'\r' | b'\n' | b';' | b'$' | b'(' | b')' | b'"') => at = start,
                Some(_) => {
                    cuts.push(start);
                    break;
                }
            }
        }
    }
    cuts.push(text.len());
    cuts.dedup();
    cuts
}

/// The state each chunk is assumed to start in: the initial state with the `$ORIGIN` and `$TTL`
/// lines before it applied. An `$INCLUDE` before a chunk makes its guess the initial state,
/// which the check after reading will most likely reject.
fn assumed_states(
    file: &Arc<str>,
    text: &Arc<Text>,
    cuts: &[usize],
    options: &ParseOptions,
    initial: &State,
) -> Vec<State> {
    let mut states = vec![initial.clone()];
    let mut state = initial.clone();
    let last_cut = cuts[cuts.len().saturating_sub(2)];
    let mut chunk = 1;
    let mut pos = 0;
    // Directive lines begin with `$`, which is rare anywhere else in a zone: find each one.
    while let Some(found) = text[pos..last_cut].iter().position(|&b| b == b'$') {
        let line_start = pos + found;
        pos = line_start + 1;
        if line_start > 0 && text[line_start - 1] != b'\n' {
            continue;
        }
        while chunk + 1 < cuts.len() && cuts[chunk] <= line_start {
            states.push(state.clone());
            chunk += 1;
        }
        let line_end = text[line_start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |p| line_start + p + 1);
        if text[line_start..line_end].len() >= 8
            && text[line_start..line_start + 8].eq_ignore_ascii_case(b"$INCLUDE")
        {
            continue;
        }
        let mut reader = Reader::chunk(
            file.clone(),
            None,
            text.clone(),
            (line_start, line_end, 0),
            options.clone(),
            state.clone(),
        );
        if let Ok(None) = reader.next_record() {
            state = reader.state();
        }
    }
    while states.len() + 1 < cuts.len() {
        states.push(state.clone());
    }
    states
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn sequential(text: &str) -> Result<Vec<Record>, String> {
        let options = ParseOptions {
            origin: Some("tld.".parse().unwrap()),
            ..ParseOptions::default()
        };
        Reader::from_bytes("z", text.as_bytes().to_vec(), options)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())
    }

    fn parallel(text: &str, threads: usize) -> Result<Vec<Record>, String> {
        let options = ParseOptions {
            origin: Some("tld.".parse().unwrap()),
            ..ParseOptions::default()
        };
        read_text(
            "z".into(),
            None,
            Arc::new(Text::Owned(text.as_bytes().to_vec())),
            options,
            threads,
            &|_| {},
            &Vec::with_capacity,
        )
        .map_err(|e| e.to_string())
    }

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => (0u32..50, prop::bool::ANY).prop_map(|(n, ttl)| {
                if ttl { format!("d{n} 300 IN NS ns{n}.host.net.") } else { format!("d{n} NS ns{n}.host.net.") }
            }),
            2 => (0u32..50).prop_map(|n| format!("  A 192.0.2.{n}")),
            1 => (0u32..5).prop_map(|n| format!("$ORIGIN sub{n}.tld.")),
            1 => (1u32..5).prop_map(|n| format!("$TTL {n}00")),
            1 => Just("p 60 TXT ( \"a\"\n \"b\" )".to_owned()),
            1 => Just("; a comment".to_owned()),
            1 => Just(String::new()),
            1 => Just("bad 60 A 300.1.1.1".to_owned()),
            1 => Just("q 60 TXT \"multi\nline\"".to_owned()),
        ]
    }

    proptest! {
        /// Whatever the text, reading it in chunks gives exactly what reading it in one go
        /// gives: the same records or the same error.
        #[test]
        fn chunked_reading_equals_sequential_reading(
            lines in prop::collection::vec(line(), 0..60),
            threads in 2usize..5,
        ) {
            let text = lines.join("\n") + "\n";
            prop_assert_eq!(parallel(&text, threads), sequential(&text));
        }
    }

    #[test]
    fn an_error_in_a_later_chunk_names_its_true_line() {
        let mut text = String::new();
        for i in 0..200 {
            text.push_str(&format!("d{i} 300 IN NS ns.host.net.\n"));
        }
        text.push_str("oops 300 IN A 1.2.3\n");
        let error = parallel(&text, 3).unwrap_err();
        assert_eq!(error, sequential(&text).unwrap_err());
        assert!(error.starts_with("z:201:"), "{error}");
    }

    #[test]
    fn cut_points_fall_at_owner_lines() {
        let text = b"a 1 A 1.1.1.1\n  A 2.2.2.2\n$TTL 5\nb 1 A 1.1.1.1\n".to_vec();
        let cuts = cut_points(&text, 3);
        assert_eq!(cuts.first(), Some(&0));
        assert_eq!(cuts.last(), Some(&text.len()));
        for &cut in &cuts[1..cuts.len() - 1] {
            assert_eq!(text[cut - 1], b'\n');
            assert!(text[cut].is_ascii_alphanumeric());
        }
    }
}
