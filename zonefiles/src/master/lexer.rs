//! Splits master-file text into entries of tokens (RFC 1035 §5.1): whitespace separates
//! fields, `;` starts a comment, parentheses continue an entry over lines, `"…"` quotes a
//! field, and a backslash escapes the next character.

use std::sync::Arc;

/// One field of an entry, as a byte range of the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawToken {
    pub start: u32,
    pub end: u32,
    pub quoted: bool,
    pub line: u32,
    pub column: u32,
}

/// One field of an entry with its text. Quotes around a wholly quoted field are removed;
/// escapes are left for the reader of the field to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    /// The field's bytes, escapes not yet decoded.
    pub bytes: &'a [u8],
    /// True if the field was written in double quotes.
    pub quoted: bool,
}

/// What went wrong while splitting text into tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LexError {
    UnclosedParen,
    UnexpectedCloseParen,
    UnclosedQuote,
}

/// How an entry starts: whether its line began with a blank
/// (an omitted owner, RFC 1035 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub blank_owner: bool,
}

/// Master-file text: read into memory, or mapped from its file. A large file is mapped so
/// that its pages can be handed back once read ([`Text::release`]): memory then holds the
/// part being read, not the whole file (1.2 GB for 10 million delegations).
pub(crate) enum Text {
    Owned(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for Text {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Text::Owned(bytes) => bytes,
            Text::Mapped(map) => map,
        }
    }
}

impl Text {
    /// Hands the whole pages inside `range` back to the kernel, for text that will not be
    /// read again soon; mapped text only (if read again, the pages come back from the file).
    pub fn release(&self, range: std::ops::Range<usize>) {
        let Text::Mapped(map) = self else {
            return;
        };
        const PAGE: usize = 4096;
        let start = range.start.next_multiple_of(PAGE);
        let end = range.end.min(map.len()) / PAGE * PAGE;
        if end > start {
            // SAFETY: the mapping is a read-only shared mapping of a file: MADV_DONTNEED only
            // drops pages, and a later read faults the same bytes back in from the file. No
            // reference into the range is kept across this call (records own their bytes).
            let _ = unsafe {
                map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
            };
        }
    }
}

/// A cursor over one source's text, or over a chunk of it that starts at an entry: entries
/// that start before `limit` are read whole, and none after.
pub(crate) struct Lexer {
    pub text: Arc<Text>,
    pos: usize,
    limit: usize,
    line: u32,
    line_start: usize,
}

impl Lexer {
    pub fn new(text: Vec<u8>) -> Lexer {
        let limit = text.len();
        Lexer::chunk(Arc::new(Text::Owned(text)), 0, limit, 1)
    }

    /// A cursor over `text[start..]`, stopping before the first entry at or after `limit`;
    /// `line` is the line number at `start`.
    pub fn chunk(text: Arc<Text>, start: usize, limit: usize, line: u32) -> Lexer {
        Lexer {
            text,
            pos: start,
            limit,
            line,
            line_start: start,
        }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The line and column of the cursor, for errors found between tokens.
    pub fn here(&self) -> (u32, u32) {
        (
            self.line,
            (self.pos.saturating_sub(self.line_start) + 1) as u32,
        )
    }

    /// Reads the next entry's tokens into `tokens`; `None` at the end of the text.
    pub fn next_entry(&mut self, tokens: &mut Vec<RawToken>) -> Result<Option<Entry>, LexError> {
        tokens.clear();
        let mut depth = 0u32;
        let mut entry: Option<Entry> = None;
        loop {
            if tokens.is_empty() && depth == 0 && self.pos >= self.limit {
                return Ok(None);
            }
            let Some(&c) = self.text.get(self.pos) else {
                if depth > 0 {
                    return Err(LexError::UnclosedParen);
                }
                return Ok(entry.filter(|_| !tokens.is_empty()));
            };
            if entry.is_none() && self.pos == self.line_start {
                entry = Some(Entry {
                    blank_owner: c == b' ' || c == b'\t',
                });
            }
            match c {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    self.line_start = self.pos;
                    if depth == 0 {
                        if !tokens.is_empty() {
                            return Ok(entry);
                        }
                        entry = None;
                    }
                }
                b';' => {
                    self.pos += memchr_newline(&self.text[self.pos..]);
                }
                b'(' => {
                    depth += 1;
                    self.pos += 1;
                }
                b')' => {
                    if depth == 0 {
                        return Err(LexError::UnexpectedCloseParen);
                    }
                    depth -= 1;
                    self.pos += 1;
                }
                _ => {
                    let token = self.token()?;
                    tokens.push(token);
                }
            }
        }
    }

    fn token(&mut self) -> Result<RawToken, LexError> {
        let text = &self.text;
        let (line, column) = (
            self.line,
            (self.pos.saturating_sub(self.line_start) + 1) as u32,
        );
        let start = self.pos;
        if text[start] == b'"' {
            let mut i = start + 1;
            loop {
                match text.get(i) {
                    None => {
                        self.pos = text.len();
                        return Err(LexError::UnclosedQuote);
                    }
                    Some(b'"') => break,
                    Some(b'\\') => i += 2,
                    Some(b'\n') => {
                        self.line += 1;
                        self.line_start = i + 1;
                        i += 1;
                    }
                    Some(_) => i += 1,
                }
            }
            self.pos = i + 1;
            return Ok(RawToken {
                start: (start + 1) as u32,
                end: i as u32,
                quoted: true,
                line,
                column,
            });
        }
        let mut i = start;
        let mut in_quotes = false;
        while let Some(&c) = text.get(i) {
            match c {
                b'\\' => {
                    i += 2;
                    continue;
                }
                b'"' => in_quotes = !in_quotes,
                b'\n' if in_quotes => return Err(LexError::UnclosedQuote),
                b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' if !in_quotes => break,
                _ => {}
            }
            i += 1;
        }
        if in_quotes {
            return Err(LexError::UnclosedQuote);
        }
        let end = i.min(text.len());
        self.pos = end;
        Ok(RawToken {
            start: start as u32,
            end: end as u32,
            quoted: false,
            line,
            column,
        })
    }

    /// The text of a token.
    pub fn token_text(&self, token: &RawToken) -> Token<'_> {
        Token {
            bytes: &self.text[token.start as usize..token.end as usize],
            quoted: token.quoted,
        }
    }
}

fn memchr_newline(text: &[u8]) -> usize {
    text.iter().position(|&b| b == b'\n').unwrap_or(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> Vec<(bool, Vec<String>)> {
        let mut lexer = Lexer::new(text.as_bytes().to_vec());
        let mut tokens = Vec::new();
        let mut out = Vec::new();
        while let Some(entry) = lexer.next_entry(&mut tokens).unwrap() {
            let texts = tokens
                .iter()
                .map(|t| String::from_utf8(lexer.token_text(t).bytes.to_vec()).unwrap())
                .collect();
            out.push((entry.blank_owner, texts));
        }
        out
    }

    #[test]
    fn splits_entries_with_parentheses_comments_and_quotes() {
        let got = entries(
            "a 1 IN SOA ns. h. ( 1 ; serial\n 2 3\n 4 5 )\n\n  TXT \"x y\" a\\ b ; c\nb\tA 1.2.3.4",
        );
        assert_eq!(
            got,
            vec![
                (
                    false,
                    "a 1 IN SOA ns. h. 1 2 3 4 5"
                        .split(' ')
                        .map(String::from)
                        .collect()
                ),
                (true, vec!["TXT".into(), "x y".into(), "a\\ b".into()]),
                (false, vec!["b".into(), "A".into(), "1.2.3.4".into()]),
            ]
        );
    }

    #[test]
    fn reports_unbalanced_input() {
        let mut tokens = Vec::new();
        let mut lexer = Lexer::new(b"a ( b".to_vec());
        assert_eq!(lexer.next_entry(&mut tokens), Err(LexError::UnclosedParen));
        let mut lexer = Lexer::new(b"a ) b".to_vec());
        assert_eq!(
            lexer.next_entry(&mut tokens),
            Err(LexError::UnexpectedCloseParen)
        );
        let mut lexer = Lexer::new(b"a \"b".to_vec());
        assert_eq!(lexer.next_entry(&mut tokens), Err(LexError::UnclosedQuote));
    }
}
