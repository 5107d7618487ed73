//! Writing a DNS message into a caller's buffer (RFC 1035 §4.1) with name compression
//! (§4.1.4), without allocating: compression targets live in a fixed table.

/// The header length.
pub const HEADER: usize = 12;

/// The message does not fit its buffer or size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// Names already written, for compression: where each suffix starts and its lower-case
/// wire form (kept in `names`).
struct Targets {
    offsets: [u16; 64],
    starts: [u16; 64],
    lens: [u8; 64],
    count: usize,
    names: [u8; 2048],
    used: usize,
}

/// A message being written. Sections are written in order; `mark`/`rewind` undo whole
/// RRsets when the size limit is reached, so no RRset is ever cut.
pub struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
    limit: usize,
    targets: Targets,
    counts: [u16; 4],
}

/// A point to rewind to.
#[derive(Clone, Copy)]
pub struct Mark {
    len: usize,
    targets: usize,
    used: usize,
    counts: [u16; 4],
}

/// The sections of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Question.
    Question = 0,
    /// Answer.
    Answer = 1,
    /// Authority.
    Authority = 2,
    /// Additional.
    Additional = 3,
}

impl<'a> Writer<'a> {
    /// Starts a message in `buf`, never longer than `limit` bytes.
    pub fn new(buf: &'a mut [u8], limit: usize) -> Writer<'a> {
        let limit = limit.min(buf.len());
        Writer {
            buf,
            len: HEADER,
            limit,
            targets: Targets {
                offsets: [0; 64],
                starts: [0; 64],
                lens: [0; 64],
                count: 0,
                names: [0; 2048],
                used: 0,
            },
            counts: [0; 4],
        }
    }

    /// Bytes written so far, header included.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Lowers the size limit (for example to the client's UDP payload size).
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.min(self.buf.len());
    }

    /// Writes the header fields; counts are filled in by [`Writer::finish`].
    pub fn header(&mut self, id: u16, flags: u16) {
        self.buf[0..2].copy_from_slice(&id.to_be_bytes());
        self.buf[2..4].copy_from_slice(&flags.to_be_bytes());
    }

    /// Sets the header flags word again (for TC, RCODE changes).
    pub fn set_flags(&mut self, flags: u16) {
        self.buf[2..4].copy_from_slice(&flags.to_be_bytes());
    }

    /// The flags word as written.
    pub fn flags(&self) -> u16 {
        u16::from_be_bytes([self.buf[2], self.buf[3]])
    }

    /// A point to come back to.
    pub fn mark(&self) -> Mark {
        Mark {
            len: self.len,
            targets: self.targets.count,
            used: self.targets.used,
            counts: self.counts,
        }
    }

    /// Forgets everything written after `mark`.
    pub fn rewind(&mut self, mark: Mark) {
        self.len = mark.len;
        self.targets.count = mark.targets;
        self.targets.used = mark.used;
        self.counts = mark.counts;
    }

    /// Counts one more record in `section`.
    pub fn count(&mut self, section: Section) {
        self.counts[section as usize] += 1;
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, bytes: &[u8]) -> Result<(), Full> {
        let end = self.len + bytes.len();
        if end > self.limit {
            return Err(Full);
        }
        self.buf[self.len..end].copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// Appends a big-endian u16.
    pub fn u16(&mut self, value: u16) -> Result<(), Full> {
        self.bytes(&value.to_be_bytes())
    }

    /// Appends a big-endian u32.
    pub fn u32(&mut self, value: u32) -> Result<(), Full> {
        self.bytes(&value.to_be_bytes())
    }

    /// Overwrites a u16 at `at` (an rdlength written before its rdata).
    pub fn patch_u16(&mut self, at: usize, value: u16) {
        self.buf[at..at + 2].copy_from_slice(&value.to_be_bytes());
    }

    /// Writes a name as given (`wire` uncompressed, any case), compressing against the names
    /// written before; `compress` false writes it whole but still offers it as a target.
    pub fn name(&mut self, wire: &[u8], compress: bool) -> Result<(), Full> {
        let mut pos = 0;
        loop {
            let suffix = &wire[pos..];
            if suffix.len() <= 1 {
                return self.bytes(&[0]);
            }
            if compress && let Some(target) = self.find(suffix) {
                return self.u16(0xC000 | target);
            }
            let at = self.len;
            let label = 1 + suffix[0] as usize;
            self.bytes(&suffix[..label])?;
            self.remember(suffix, at);
            pos += label;
        }
    }

    fn find(&self, suffix: &[u8]) -> Option<u16> {
        let t = &self.targets;
        (0..t.count).find_map(|i| {
            let start = usize::from(t.starts[i]);
            let stored = &t.names[start..start + usize::from(t.lens[i])];
            (stored.len() == suffix.len() && eq_ignore_case(stored, suffix)).then_some(t.offsets[i])
        })
    }

    fn remember(&mut self, suffix: &[u8], at: usize) {
        let t = &mut self.targets;
        if at > 0x3FFF || t.count == t.offsets.len() || t.used + suffix.len() > t.names.len() {
            return;
        }
        t.names[t.used..t.used + suffix.len()].copy_from_slice(suffix);
        t.offsets[t.count] = at as u16;
        t.starts[t.count] = t.used as u16;
        t.lens[t.count] = suffix.len() as u8;
        t.used += suffix.len();
        t.count += 1;
    }

    /// Writes the section counts, appends the message to `out` and starts an empty one with
    /// the same id and flags (the next message of a zone transfer).
    pub fn flush_into(&mut self, out: &mut Vec<u8>) {
        for (i, count) in self.counts.iter().enumerate() {
            self.buf[4 + 2 * i..6 + 2 * i].copy_from_slice(&count.to_be_bytes());
        }
        out.extend_from_slice(&self.buf[..self.len]);
        self.len = HEADER;
        self.targets.count = 0;
        self.targets.used = 0;
        self.counts = [0; 4];
    }

    /// Records counted so far in `section`.
    pub fn counted(&self, section: Section) -> u16 {
        self.counts[section as usize]
    }

    /// Writes the section counts and returns the message length.
    pub fn finish(self) -> usize {
        for (i, count) in self.counts.iter().enumerate() {
            self.buf[4 + 2 * i..6 + 2 * i].copy_from_slice(&count.to_be_bytes());
        }
        self.len
    }
}

fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}
