//! Master files (RFC 1035 §5) in and out.
//!
//! [`Reader`] streams records from a file with `$ORIGIN`, `$TTL` (RFC 2308 §4), `$INCLUDE`,
//! parentheses, comments, escapes, relative names, `@`, omitted owners, TTLs and classes, and the
//! RFC 3597 generic forms. Errors carry the file, line and column and say what was expected.
//!
//! TTL of a record that gives none: the `$TTL` in force; without one, the last TTL given
//! explicitly in the file (RFC 1035 semantics); for an SOA with neither, its minimum field.
//! A class left out is the previous record's class, and the zone's class for the first one.
//!
//! The lexer and the rdata readers are written for this crate rather than taken from a DNS
//! library: loading a TLD zone is on the critical path of a satellite's recovery, and reading
//! text straight into canonical wire format, without an intermediate record model, keeps a
//! million-delegation zone within its load-time budget.

pub(crate) mod lexer;
pub(crate) mod parallel;
mod writer;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use lexer::Token;
use lexer::{Entry, LexError, Lexer, RawToken, Text};
pub use parallel::read_parallel;
pub use writer::{write_records, write_zone};

use crate::name::{Name, NameError};
use crate::rdata::{self, text::duration};
use crate::record::Record;
use crate::rtype::{Class, RecordType};

/// The largest TTL allowed (RFC 2181 §8).
pub const MAX_TTL: u32 = 0x7fff_ffff;
/// How deeply `$INCLUDE` may nest.
pub const MAX_INCLUDE_DEPTH: usize = 16;

/// How to read a master file.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// The origin before any `$ORIGIN`: normally the zone's name.
    pub origin: Option<Name>,
    /// A default TTL before any `$TTL`.
    pub default_ttl: Option<u32>,
    /// The class of the zone; records of another class are an error.
    pub class: Class,
    /// Whether `$INCLUDE` is honoured (off for files from untrusted sources).
    pub allow_include: bool,
}

impl Default for ParseOptions {
    fn default() -> ParseOptions {
        ParseOptions {
            origin: None,
            default_ttl: None,
            class: Class::IN,
            allow_include: true,
        }
    }
}

/// A master-file error with its place (`file:line:column:`, or `file:` for an error about
/// the whole file).
#[derive(Debug, thiserror::Error)]
pub struct ParseError {
    /// The file (or the name given for in-memory text).
    pub file: Arc<str>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in bytes.
    pub column: u32,
    /// What went wrong.
    pub kind: ParseErrorKind,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file, self.kind),
            line => write!(f, "{}:{line}:{}: {}", self.file, self.column, self.kind),
        }
    }
}

/// What went wrong in a master file.
#[derive(Debug, thiserror::Error)]
pub enum ParseErrorKind {
    /// The file (or an included one) could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path that failed.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Records could not be written to a temporary file while they were sorted.
    #[error(
        "cannot write the sorted records to a temporary file in {dir}: {source}; \
         choose a folder with about the master file's size free (--temp-dir)"
    )]
    Spill {
        /// The folder of the temporary files.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An opening parenthesis was never closed.
    #[error("unclosed parenthesis: expected `)` before the end of the file")]
    UnclosedParen,
    /// A `)` without a `(`.
    #[error("unexpected `)`: no parenthesis is open")]
    UnexpectedCloseParen,
    /// A quoted string was not closed.
    #[error("unclosed quote: expected `\"`")]
    UnclosedQuote,
    /// A name could not be read.
    #[error("bad domain name `{text}`: {error}")]
    BadName {
        /// The field as written.
        text: String,
        /// Why.
        error: NameError,
    },
    /// A relative name with no origin to complete it.
    #[error("relative name `{0}` but no origin: expected $ORIGIN or an absolute name")]
    NoOrigin(String),
    /// An entry starting with a blank before any owner was given.
    #[error("no owner: the first record must name its owner")]
    NoOwner,
    /// A record without a TTL where none can be inferred.
    #[error("no TTL: expected a TTL here or a $TTL directive before this record")]
    NoTtl,
    /// A TTL above 2^31 − 1.
    #[error("TTL {0} above 2147483647 (RFC 2181 §8)")]
    TtlTooLarge(u64),
    /// The type field was missing or unknown.
    #[error("expected a record type, found `{0}`")]
    ExpectedType(String),
    /// A type that cannot be zone data (OPT, TSIG, AXFR, ANY…).
    #[error("type {0} cannot appear in a zone")]
    MetaType(RecordType),
    /// A record of another class than the zone's.
    #[error("class {found} does not match the zone's class {zone}")]
    ClassMismatch {
        /// The record's class.
        found: Class,
        /// The zone's class.
        zone: Class,
    },
    /// The rdata did not read.
    #[error("bad {rtype} rdata: expected {expected}")]
    Rdata {
        /// The record type.
        rtype: RecordType,
        /// What the reader wanted.
        expected: &'static str,
    },
    /// A `$` directive this reader does not know.
    #[error("unknown directive `{0}`: expected $ORIGIN, $TTL or $INCLUDE")]
    UnknownDirective(String),
    /// A directive with missing or extra arguments.
    #[error("bad {0} directive: expected {1}")]
    BadDirective(&'static str, &'static str),
    /// `$INCLUDE` where it is not allowed, or nested too deeply.
    #[error("$INCLUDE {0}")]
    Include(&'static str),
}

struct Source {
    file: Arc<str>,
    dir: Option<PathBuf>,
    lexer: Lexer,
    /// Where the lexer started, for progress counts.
    start: usize,
    /// The origin to restore when this source ends (RFC 1035 §5.1).
    saved_origin: Option<Name>,
}

/// What carries from one entry of a master file to the next: the directives in force and the
/// values an entry may leave out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct State {
    pub origin: Option<Name>,
    pub default_ttl: Option<u32>,
    pub last_ttl: Option<u32>,
    pub last_owner: Option<Name>,
    pub last_class: Class,
}

/// Streams the records of a master file and the files it includes.
pub struct Reader {
    options: ParseOptions,
    stack: Vec<Source>,
    origin: Option<Name>,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    last_owner: Option<Name>,
    last_class: Class,
    raw: Vec<RawToken>,
    rdata: Vec<u8>,
    bytes_done: u64,
    /// Where the first source's lexer stopped, once it has.
    end: Option<usize>,
}

impl Reader {
    /// Opens a master file.
    pub fn open(path: &Path, options: ParseOptions) -> Result<Reader, ParseError> {
        let (file, text) = read_source(path)?;
        let mut reader = Reader::from_bytes(&file, text, options);
        reader.stack[0].dir = path.parent().map(Path::to_owned);
        Ok(reader)
    }

    /// Reads master-file text held in memory; `file` names it in errors. `$INCLUDE` paths are
    /// taken relative to the current directory.
    pub fn from_bytes(file: &str, text: Vec<u8>, options: ParseOptions) -> Reader {
        let state = State {
            origin: options.origin.clone(),
            default_ttl: options.default_ttl,
            last_ttl: None,
            last_owner: None,
            last_class: options.class,
        };
        let source = Source {
            file: file.into(),
            dir: None,
            lexer: Lexer::new(text),
            start: 0,
            saved_origin: None,
        };
        Reader::with_source(source, options, state)
    }

    /// Reads the entries of `text` that start in `start..limit`, from `state`; `line` is the
    /// line number at `start`, which must be the start of an entry.
    pub(crate) fn chunk(
        file: Arc<str>,
        dir: Option<PathBuf>,
        text: Arc<Text>,
        (start, limit, line): (usize, usize, u32),
        options: ParseOptions,
        state: State,
    ) -> Reader {
        let source = Source {
            file,
            dir,
            lexer: Lexer::chunk(text, start, limit, line),
            start,
            saved_origin: None,
        };
        Reader::with_source(source, options, state)
    }

    fn with_source(source: Source, options: ParseOptions, state: State) -> Reader {
        Reader {
            origin: state.origin,
            default_ttl: state.default_ttl,
            last_ttl: state.last_ttl,
            last_owner: state.last_owner,
            last_class: state.last_class,
            options,
            stack: vec![source],
            raw: Vec::new(),
            rdata: Vec::new(),
            bytes_done: 0,
            end: None,
        }
    }

    /// The state carried to the next entry.
    pub(crate) fn state(&self) -> State {
        State {
            origin: self.origin.clone(),
            default_ttl: self.default_ttl,
            last_ttl: self.last_ttl,
            last_owner: self.last_owner.clone(),
            last_class: self.last_class,
        }
    }

    /// Where the reader stopped in its first source, once it has reached its end.
    pub(crate) fn end(&self) -> Option<usize> {
        self.end
    }

    /// How far the reader is in its first source's text.
    pub(crate) fn position(&self) -> usize {
        self.stack
            .first()
            .map_or(usize::MAX, |s| s.lexer.position())
    }

    /// Bytes of text read so far, over all files, for progress reports.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_done
            + self
                .stack
                .iter()
                .map(|s| (s.lexer.position() - s.start) as u64)
                .sum::<u64>()
    }

    /// The origin in force now.
    pub fn origin(&self) -> Option<&Name> {
        self.origin.as_ref()
    }

    /// Reads the next record; `Ok(None)` at the end of the top file.
    pub fn next_record(&mut self) -> Result<Option<Record>, ParseError> {
        loop {
            let Some(source) = self.stack.last_mut() else {
                return Ok(None);
            };
            let entry = match source.lexer.next_entry(&mut self.raw) {
                Ok(Some(entry)) => entry,
                Ok(None) => {
                    let done = self.stack.pop().expect("a source");
                    self.bytes_done += (done.lexer.position() - done.start) as u64;
                    if self.stack.is_empty() {
                        self.end = Some(done.lexer.position());
                    } else {
                        self.origin = done.saved_origin;
                    }
                    continue;
                }
                Err(error) => {
                    let (line, column) = source.lexer.here();
                    let kind = match error {
                        LexError::UnclosedParen => ParseErrorKind::UnclosedParen,
                        LexError::UnexpectedCloseParen => ParseErrorKind::UnexpectedCloseParen,
                        LexError::UnclosedQuote => ParseErrorKind::UnclosedQuote,
                    };
                    return Err(self.error_at(line, column, kind));
                }
            };
            if let Some(record) = self.entry(entry)? {
                return Ok(Some(record));
            }
        }
    }

    fn error_at(&self, line: u32, column: u32, kind: ParseErrorKind) -> ParseError {
        let file = self
            .stack
            .last()
            .map(|s| s.file.clone())
            .unwrap_or_else(|| "".into());
        ParseError {
            file,
            line,
            column,
            kind,
        }
    }

    fn error(&self, token: usize, kind: ParseErrorKind) -> ParseError {
        let at = self
            .raw
            .get(token)
            .or(self.raw.last())
            .expect("an entry has tokens");
        let column = if token >= self.raw.len() {
            at.column + (at.end - at.start)
        } else {
            at.column
        };
        self.error_at(at.line, column, kind)
    }

    fn text(&self, token: usize) -> &[u8] {
        let lexer = &self.stack.last().expect("a source").lexer;
        lexer.token_text(&self.raw[token]).bytes
    }

    fn name(&self, token: usize) -> Result<Name, ParseError> {
        let text = self.text(token);
        Name::from_text(text, self.origin.as_ref()).map_err(|error| {
            let text = String::from_utf8_lossy(text).into_owned();
            let kind = match error {
                NameError::NoOrigin => ParseErrorKind::NoOrigin(text),
                error => ParseErrorKind::BadName { text, error },
            };
            self.error(token, kind)
        })
    }

    /// Handles one entry: a directive (returns `None`) or a record.
    fn entry(&mut self, entry: Entry) -> Result<Option<Record>, ParseError> {
        let first = self.text(0);
        if !entry.blank_owner && first.first() == Some(&b'$') {
            self.directive()?;
            return Ok(None);
        }
        let mut at = 0;
        let owner = if entry.blank_owner {
            self.last_owner
                .clone()
                .ok_or_else(|| self.error(0, ParseErrorKind::NoOwner))?
        } else {
            at = 1;
            self.name(0)?
        };
        let mut ttl: Option<u64> = None;
        let mut class: Option<Class> = None;
        let rtype = loop {
            let Some(token) = self.raw.get(at) else {
                let found = String::new();
                return Err(self.error(at, ParseErrorKind::ExpectedType(found)));
            };
            let text = self.lexer_text(token);
            if ttl.is_none()
                && text.first().is_some_and(u8::is_ascii_digit)
                && let Some(value) = ttl_value(text)
            {
                ttl = Some(value);
            } else if class.is_none()
                && let Some(c) = Class::from_text(text)
            {
                class = Some(c);
            } else if let Some(rtype) = RecordType::from_text(text) {
                break rtype;
            } else {
                let found = String::from_utf8_lossy(text).into_owned();
                return Err(self.error(at, ParseErrorKind::ExpectedType(found)));
            }
            at += 1;
        };
        let type_token = at;
        at += 1;
        if rtype.is_meta() {
            return Err(self.error(type_token, ParseErrorKind::MetaType(rtype)));
        }
        let class = class.unwrap_or(self.last_class);
        if class != self.options.class {
            let zone = self.options.class;
            return Err(self.error(
                type_token,
                ParseErrorKind::ClassMismatch { found: class, zone },
            ));
        }
        let origin = self.origin.clone();
        let lexer = &self.stack.last().expect("a source").lexer;
        let tokens: Vec<Token<'_>> = self.raw[at..].iter().map(|t| lexer.token_text(t)).collect();
        let mut rdata = std::mem::take(&mut self.rdata);
        let parsed = rdata::parse(rtype, &tokens, origin.as_ref(), &mut rdata);
        drop(tokens);
        if let Err(e) = parsed {
            self.rdata = rdata;
            let kind = ParseErrorKind::Rdata {
                rtype,
                expected: e.expected,
            };
            return Err(self.error(at + e.token, kind));
        }
        let ttl = match ttl {
            Some(ttl) if ttl > u64::from(MAX_TTL) => {
                return Err(self.error(1, ParseErrorKind::TtlTooLarge(ttl)));
            }
            Some(ttl) => {
                self.last_ttl = Some(ttl as u32);
                ttl as u32
            }
            None => match (self.default_ttl, self.last_ttl) {
                (Some(ttl), _) | (None, Some(ttl)) => ttl,
                (None, None) if rtype == RecordType::SOA => {
                    rdata::soa_minimum(&rdata).expect("SOA rdata just read")
                }
                (None, None) => return Err(self.error(type_token, ParseErrorKind::NoTtl)),
            },
        };
        self.last_class = class;
        self.last_owner = Some(owner.clone());
        let record = Record {
            owner,
            rtype,
            class,
            ttl,
            rdata: rdata.as_slice().into(),
        };
        self.rdata = rdata;
        Ok(Some(record))
    }

    fn lexer_text(&self, token: &RawToken) -> &[u8] {
        let lexer = &self.stack.last().expect("a source").lexer;
        lexer.token_text(token).bytes
    }

    fn directive(&mut self) -> Result<(), ParseError> {
        let name = self.text(0).to_ascii_uppercase();
        let args = self.raw.len() - 1;
        match name.as_slice() {
            b"$ORIGIN" => {
                if args != 1 {
                    return Err(self.error(1, ParseErrorKind::BadDirective("$ORIGIN", "one name")));
                }
                self.origin = Some(self.name(1)?);
            }
            b"$TTL" => {
                if args != 1 {
                    return Err(self.error(1, ParseErrorKind::BadDirective("$TTL", "one TTL")));
                }
                let ttl = ttl_value(self.text(1)).ok_or_else(|| {
                    self.error(
                        1,
                        ParseErrorKind::BadDirective("$TTL", "a TTL such as 3600 or 1h"),
                    )
                })?;
                if ttl > u64::from(MAX_TTL) {
                    return Err(self.error(1, ParseErrorKind::TtlTooLarge(ttl)));
                }
                self.default_ttl = Some(ttl as u32);
            }
            b"$INCLUDE" => self.include(args)?,
            _ => {
                let found = String::from_utf8_lossy(&name).into_owned();
                return Err(self.error(0, ParseErrorKind::UnknownDirective(found)));
            }
        }
        Ok(())
    }

    fn include(&mut self, args: usize) -> Result<(), ParseError> {
        if !self.options.allow_include {
            return Err(self.error(0, ParseErrorKind::Include("is not allowed here")));
        }
        if self.stack.len() > MAX_INCLUDE_DEPTH {
            return Err(self.error(0, ParseErrorKind::Include("nested more than 16 deep")));
        }
        if !(1..=2).contains(&args) {
            let kind =
                ParseErrorKind::BadDirective("$INCLUDE", "a file name and an optional origin");
            return Err(self.error(1, kind));
        }
        let origin = if args == 2 {
            Some(self.name(2)?)
        } else {
            self.origin.clone()
        };
        let relative = PathBuf::from(String::from_utf8_lossy(self.text(1)).into_owned());
        let source = self.stack.last().expect("a source");
        let path = match (&source.dir, relative.is_absolute()) {
            (Some(dir), false) => dir.join(&relative),
            _ => relative,
        };
        let text = std::fs::read(&path).map_err(|source| {
            let kind = ParseErrorKind::Read {
                path: path.clone(),
                source,
            };
            self.error(1, kind)
        })?;
        let saved_origin = std::mem::replace(&mut self.origin, origin);
        self.stack.push(Source {
            file: path.display().to_string().into(),
            dir: path.parent().map(Path::to_owned),
            lexer: Lexer::new(text),
            start: 0,
            saved_origin,
        });
        Ok(())
    }
}

impl Iterator for Reader {
    type Item = Result<Record, ParseError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

impl fmt::Debug for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("origin", &self.origin)
            .field("depth", &self.stack.len())
            .finish()
    }
}

impl ParseError {
    /// `path` could not be read (or written, for records spilled to disk); `file` names the
    /// master file in the message.
    pub(crate) fn read(file: &Arc<str>, path: &Path, source: std::io::Error) -> ParseError {
        ParseError {
            file: file.clone(),
            line: 0,
            column: 0,
            kind: ParseErrorKind::Read {
                path: path.to_owned(),
                source,
            },
        }
    }
}

/// Reads a whole file for parsing; returns its name for errors and its text.
pub(crate) fn read_source(path: &Path) -> Result<(Arc<str>, Vec<u8>), ParseError> {
    let file: Arc<str> = path.display().to_string().into();
    let text = std::fs::read(path).map_err(|e| ParseError::read(&file, path, e))?;
    Ok((file, text))
}

/// Reads a master file as [`Text`]: mapped when it has at least `map_from` bytes, read into
/// memory when smaller.
pub(crate) fn read_source_mapped(
    path: &Path,
    map_from: usize,
) -> Result<(Arc<str>, Text), ParseError> {
    let file: Arc<str> = path.display().to_string().into();
    let error = |source| ParseError::read(&file, path, source);
    let opened = std::fs::File::open(path).map_err(error)?;
    let len = opened.metadata().map_err(error)?.len();
    if len < map_from as u64 {
        let (_, text) = read_source(path)?;
        return Ok((file, Text::Owned(text)));
    }
    // SAFETY: the file is only read. A master file changed while it is compiled gives
    // whatever bytes the kernel has, as reading it would; truncating it under the reader can
    // end the process (SIGBUS), like any tool that maps its input.
    let map = unsafe { memmap2::Mmap::map(&opened) }.map_err(error)?;
    Ok((file, Text::Mapped(map)))
}

/// Reads a TTL field, allowing values above 2^31 − 1 so they can be reported.
fn ttl_value(text: &[u8]) -> Option<u64> {
    if text.iter().all(u8::is_ascii_digit) && !text.is_empty() && text.len() <= 10 {
        return std::str::from_utf8(text).ok()?.parse().ok();
    }
    duration(text).map(u64::from)
}

/// Reads a whole master file held in memory.
pub fn parse_bytes(
    file: &str,
    text: &[u8],
    options: ParseOptions,
) -> Result<Vec<Record>, ParseError> {
    Reader::from_bytes(file, text.to_vec(), options).collect()
}
