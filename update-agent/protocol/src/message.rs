//! The satellite session's messages and their framing (sans-IO).
//!
//! One session is one bidirectional QUIC stream, opened by the agent. Both directions carry
//! frames:
//!
//! ```text
//! frame    u32 length of what follows · u8 type · body          (integers big-endian)
//! str8     u8 length · UTF-8 bytes
//!
//! 1 HELLO      agent → upstream   u16 version = 2 · str8 satellite id · u16 zone count ·
//!                                 zones: str8 origin · u8 flags · u32 serial ·
//!                                        (flags & 2) u32 partial snapshot serial · u64 bytes held
//!                                 flags: 1 = has data at `serial`, 2 = holds a partial snapshot
//! 2 CHANGESET  upstream → agent   str8 zone · u32 from · u32 to · u64 committed (unix s) ·
//!                                 str8 key id · u8 signature length · signature ·
//!                                 u32 record length · sealed registry record · changeset bytes
//! 3 SNAPSHOT   upstream → agent   str8 zone · u32 serial · u64 image length · u64 WHOIS length ·
//!                                 32-octet SHA-256 of image ‖ WHOIS · str8 key id ·
//!                                 u8 signature length · signature · u64 offset sent from
//! 4 CHUNK      upstream → agent   str8 zone · u64 offset · bytes
//! 5 ACK        agent → upstream   str8 zone · u32 serial applied (durably)
//! 6 REFUSED    agent → upstream   str8 zone · u32 from · u32 to · reason (UTF-8, rest)
//! 7 GOODBYE    either way         reason (UTF-8, rest); the sender closes next
//! 8 AUDIT      upstream → agent   str8 zone · u32 serial · 32-octet digest ([`crate::digest`])
//!                                 sent right after the changeset that reaches `serial`
//! 9 AUDITED    agent → upstream   str8 zone · u32 serial · u8 1 = same digest, 0 = differs ·
//!                                 32-octet digest of the satellite's own data
//! 10 FETCH     relay → upstream   str8 zone: opens a stream of its own, answered with the
//!                                 upstream's snapshot of the zone (SNAPSHOT, CHUNKs from 0),
//!                                 then the end of the stream; a relay keeps it for the
//!                                 agents it serves (update-agent's relay)
//! 11 ACTIVITY  agent → upstream   str8 satellite · u32 day (days since 1970, UTC) · u8 count ·
//!                                 count × (str8 counter · u64 total): the satellite's query
//!                                 counts of that day so far (`dns-udp-queries-received`, …,
//!                                 `whois-43-queries`, `rdap-queries`); sent again as they
//!                                 grow, so the latest one of a day is its total; a relay
//!                                 passes its downstream agents' on under their names
//! ```
//!
//! An agent's first stream opens with HELLO and is its session; a relay opens one more
//! stream per FETCH on the same connection.
//!
//! A frame longer than [`MAX_FRAME`] is refused before it is read, so a peer cannot make the
//! other side allocate more than that. Snapshots travel as a SNAPSHOT header followed by
//! CHUNKs of at most [`CHUNK`] bytes.

use std::fmt;

/// The protocol version HELLO carries.
pub const VERSION: u16 = 2;
/// The largest frame accepted, type and body included.
pub const MAX_FRAME: usize = 64 << 20;
/// The size of snapshot chunks.
pub const CHUNK: usize = 1 << 20;

/// A zone as HELLO reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneHello {
    /// The zone's name, without the final dot.
    pub origin: String,
    /// The last serial applied durably, or `None` for a satellite with no data yet.
    pub serial: Option<u32>,
    /// A snapshot partly received: its serial and the bytes already held.
    pub partial: Option<(u32, u64)>,
}

/// A signed changeset on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedChangeset {
    /// The zone.
    pub zone: String,
    /// The serial it starts from.
    pub from: u32,
    /// The serial it leads to.
    pub to: u32,
    /// When the control plane committed it (seconds since 1970).
    pub committed: u64,
    /// The signing key's id.
    pub key_id: String,
    /// The Ed25519 signature ([`crate::signature::signed_message`]).
    pub signature: Vec<u8>,
    /// The changeset (zonefiles' encoding).
    pub bytes: Vec<u8>,
    /// The registry's record of the rows the change wrote, sealed to the control plane's
    /// recovery key (empty when it has none): kept, never read, by satellites.
    pub record: Vec<u8>,
}

impl fmt::Debug for SignedChangeset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SignedChangeset({} {}→{}, {} bytes, key {})",
            self.zone,
            self.from,
            self.to,
            self.bytes.len(),
            self.key_id
        )
    }
}

/// A snapshot's header: what follows in chunks, and its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotHeader {
    /// The zone.
    pub zone: String,
    /// The serial the snapshot is at.
    pub serial: u32,
    /// Length of the compiled image.
    pub image_len: u64,
    /// Length of the WHOIS objects (JSON lines) after it.
    pub whois_len: u64,
    /// SHA-256 of image ‖ WHOIS.
    pub digest: [u8; 32],
    /// The signing key's id.
    pub key_id: String,
    /// The Ed25519 signature ([`crate::signature::signed_snapshot`]).
    pub signature: Vec<u8>,
    /// Where the chunks that follow start (non-zero when resuming).
    pub offset: u64,
}

impl SnapshotHeader {
    /// The snapshot's total length.
    pub fn len(&self) -> u64 {
        self.image_len.saturating_add(self.whois_len)
    }

    /// True for an empty snapshot (never valid: an image is never empty).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The counters an ACTIVITY carries (the monthly activity report's field names).
pub const ACTIVITY_COUNTERS: [&str; 6] = [
    "dns-udp-queries-received",
    "dns-udp-queries-responded",
    "dns-tcp-queries-received",
    "dns-tcp-queries-responded",
    "whois-43-queries",
    "rdap-queries",
];

/// A satellite's query counts of one day so far (ACTIVITY), for the registry's monthly
/// activity report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// The satellite counted (a relay passes on its downstream agents' counts).
    pub satellite: String,
    /// The day, in days since 1970 (UTC).
    pub day: u32,
    /// Each counter's total of the day so far, by name.
    pub counts: Vec<(String, u64)>,
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// The agent's opening: who it is and what it holds.
    Hello {
        /// The protocol version.
        version: u16,
        /// The satellite's id.
        satellite: String,
        /// Its zones.
        zones: Vec<ZoneHello>,
    },
    /// A changeset to apply.
    Changeset(SignedChangeset),
    /// A snapshot follows.
    Snapshot(SnapshotHeader),
    /// Part of a snapshot.
    Chunk {
        /// The zone.
        zone: String,
        /// Where the bytes go.
        offset: u64,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// A serial applied durably.
    Ack {
        /// The zone.
        zone: String,
        /// The serial.
        serial: u32,
    },
    /// A changeset or snapshot refused, and why.
    Refused {
        /// The zone.
        zone: String,
        /// Its starting serial (a snapshot's serial for snapshots).
        from: u32,
        /// Its final serial.
        to: u32,
        /// Why.
        reason: String,
    },
    /// The end of the session.
    Goodbye {
        /// Why.
        reason: String,
    },
    /// The upstream's digest of a zone at a serial, for the agent to compare with its own.
    Audit {
        /// The zone.
        zone: String,
        /// The serial.
        serial: u32,
        /// The upstream's digest.
        digest: [u8; 32],
    },
    /// A relay asks for the upstream's snapshot of a zone, on a stream of its own.
    Fetch {
        /// The zone.
        zone: String,
    },
    /// A satellite's query counts of one day so far.
    Activity(Activity),
    /// The outcome of an audit.
    Audited {
        /// The zone.
        zone: String,
        /// The serial.
        serial: u32,
        /// True if the digests are the same.
        same: bool,
        /// The satellite's digest.
        digest: [u8; 32],
    },
}

/// Why bytes are not a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The frame is longer than [`MAX_FRAME`].
    #[error("frame of {0} bytes is longer than the limit")]
    TooLong(usize),
    /// The frame ends early or has bytes left over.
    #[error("malformed {0} frame")]
    Malformed(&'static str),
    /// An unknown type.
    #[error("unknown frame type {0}")]
    UnknownType(u8),
    /// A text field is not UTF-8.
    #[error("text that is not UTF-8 in a {0} frame")]
    Text(&'static str),
}

const HELLO: u8 = 1;
const CHANGESET: u8 = 2;
const SNAPSHOT: u8 = 3;
const CHUNK_TYPE: u8 = 4;
const ACK: u8 = 5;
const REFUSED: u8 = 6;
const GOODBYE: u8 = 7;
const AUDIT: u8 = 8;
const AUDITED: u8 = 9;
const FETCH: u8 = 10;
const ACTIVITY: u8 = 11;

struct Writer(Vec<u8>);

impl Writer {
    fn str8(&mut self, s: &str) {
        self.bytes8(s.as_bytes());
    }
    /// At most 255 bytes after their length.
    fn bytes8(&mut self, b: &[u8]) {
        let b = &b[..b.len().min(255)];
        self.0.push(b.len() as u8);
        self.0.extend_from_slice(b);
    }
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn bytes32(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
}

impl Message {
    fn kind(&self) -> &'static str {
        match self {
            Message::Hello { .. } => "HELLO",
            Message::Changeset(_) => "CHANGESET",
            Message::Snapshot(_) => "SNAPSHOT",
            Message::Chunk { .. } => "CHUNK",
            Message::Ack { .. } => "ACK",
            Message::Refused { .. } => "REFUSED",
            Message::Goodbye { .. } => "GOODBYE",
            Message::Audit { .. } => "AUDIT",
            Message::Audited { .. } => "AUDITED",
            Message::Fetch { .. } => "FETCH",
            Message::Activity(_) => "ACTIVITY",
        }
    }

    /// The message as one frame, length prefix included.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer(vec![0; 4]);
        match self {
            Message::Hello {
                version,
                satellite,
                zones,
            } => {
                w.u8(HELLO);
                w.u16(*version);
                w.str8(satellite);
                w.u16(zones.len().min(u16::MAX as usize) as u16);
                for zone in zones.iter().take(u16::MAX as usize) {
                    w.str8(&zone.origin);
                    let flags =
                        u8::from(zone.serial.is_some()) | (u8::from(zone.partial.is_some()) << 1);
                    w.u8(flags);
                    w.u32(zone.serial.unwrap_or(0));
                    if let Some((serial, held)) = zone.partial {
                        w.u32(serial);
                        w.u64(held);
                    }
                }
            }
            Message::Changeset(c) => {
                w.u8(CHANGESET);
                w.str8(&c.zone);
                w.u32(c.from);
                w.u32(c.to);
                w.u64(c.committed);
                w.str8(&c.key_id);
                w.bytes8(&c.signature);
                w.bytes32(&c.record);
                w.bytes(&c.bytes);
            }
            Message::Snapshot(s) => {
                w.u8(SNAPSHOT);
                w.str8(&s.zone);
                w.u32(s.serial);
                w.u64(s.image_len);
                w.u64(s.whois_len);
                w.bytes(&s.digest);
                w.str8(&s.key_id);
                w.bytes8(&s.signature);
                w.u64(s.offset);
            }
            Message::Chunk {
                zone,
                offset,
                bytes,
            } => {
                w.u8(CHUNK_TYPE);
                w.str8(zone);
                w.u64(*offset);
                w.bytes(bytes);
            }
            Message::Ack { zone, serial } => {
                w.u8(ACK);
                w.str8(zone);
                w.u32(*serial);
            }
            Message::Refused {
                zone,
                from,
                to,
                reason,
            } => {
                w.u8(REFUSED);
                w.str8(zone);
                w.u32(*from);
                w.u32(*to);
                w.bytes(reason.as_bytes());
            }
            Message::Goodbye { reason } => {
                w.u8(GOODBYE);
                w.bytes(reason.as_bytes());
            }
            Message::Audit {
                zone,
                serial,
                digest,
            } => {
                w.u8(AUDIT);
                w.str8(zone);
                w.u32(*serial);
                w.bytes(digest);
            }
            Message::Audited {
                zone,
                serial,
                same,
                digest,
            } => {
                w.u8(AUDITED);
                w.str8(zone);
                w.u32(*serial);
                w.u8(u8::from(*same));
                w.bytes(digest);
            }
            Message::Fetch { zone } => {
                w.u8(FETCH);
                w.str8(zone);
            }
            Message::Activity(a) => {
                w.u8(ACTIVITY);
                w.str8(&a.satellite);
                w.u32(a.day);
                let counts = &a.counts[..a.counts.len().min(255)];
                w.u8(counts.len() as u8);
                for (counter, total) in counts {
                    w.str8(counter);
                    w.u64(*total);
                }
            }
        }
        let len = (w.0.len() - 4) as u32;
        w.0[..4].copy_from_slice(&len.to_be_bytes());
        w.0
    }

    /// Decodes one frame's contents (type and body, without the length prefix).
    pub fn decode(frame: &[u8]) -> Result<Message, FrameError> {
        if frame.len() > MAX_FRAME {
            return Err(FrameError::TooLong(frame.len()));
        }
        let Some((&kind, body)) = frame.split_first() else {
            return Err(FrameError::Malformed("empty"));
        };
        let mut r = Reader {
            bytes: body,
            what: "",
        };
        let message = match kind {
            HELLO => {
                r.what = "HELLO";
                let version = r.u16()?;
                let satellite = r.str8()?;
                let count = r.u16()?;
                let mut zones = Vec::with_capacity(usize::from(count).min(body.len() / 6));
                for _ in 0..count {
                    let origin = r.str8()?;
                    let flags = r.u8()?;
                    let serial = r.u32()?;
                    let partial = if flags & 2 != 0 {
                        Some((r.u32()?, r.u64()?))
                    } else {
                        None
                    };
                    zones.push(ZoneHello {
                        origin,
                        serial: (flags & 1 != 0).then_some(serial),
                        partial,
                    });
                }
                r.end()?;
                Message::Hello {
                    version,
                    satellite,
                    zones,
                }
            }
            CHANGESET => {
                r.what = "CHANGESET";
                Message::Changeset(SignedChangeset {
                    zone: r.str8()?,
                    from: r.u32()?,
                    to: r.u32()?,
                    committed: r.u64()?,
                    key_id: r.str8()?,
                    signature: r.bytes8()?,
                    record: r.bytes32()?,
                    bytes: r.rest().to_vec(),
                })
            }
            SNAPSHOT => {
                r.what = "SNAPSHOT";
                let header = SnapshotHeader {
                    zone: r.str8()?,
                    serial: r.u32()?,
                    image_len: r.u64()?,
                    whois_len: r.u64()?,
                    digest: r.take(32)?.try_into().expect("32 octets"),
                    key_id: r.str8()?,
                    signature: r.bytes8()?,
                    offset: r.u64()?,
                };
                r.end()?;
                Message::Snapshot(header)
            }
            CHUNK_TYPE => {
                r.what = "CHUNK";
                Message::Chunk {
                    zone: r.str8()?,
                    offset: r.u64()?,
                    bytes: r.rest().to_vec(),
                }
            }
            ACK => {
                r.what = "ACK";
                let message = Message::Ack {
                    zone: r.str8()?,
                    serial: r.u32()?,
                };
                r.end()?;
                message
            }
            REFUSED => {
                r.what = "REFUSED";
                Message::Refused {
                    zone: r.str8()?,
                    from: r.u32()?,
                    to: r.u32()?,
                    reason: r.text()?,
                }
            }
            GOODBYE => {
                r.what = "GOODBYE";
                Message::Goodbye { reason: r.text()? }
            }
            AUDIT => {
                r.what = "AUDIT";
                let message = Message::Audit {
                    zone: r.str8()?,
                    serial: r.u32()?,
                    digest: r.take(32)?.try_into().expect("32 octets"),
                };
                r.end()?;
                message
            }
            AUDITED => {
                r.what = "AUDITED";
                let message = Message::Audited {
                    zone: r.str8()?,
                    serial: r.u32()?,
                    same: match r.u8()? {
                        0 => false,
                        1 => true,
                        _ => return Err(FrameError::Malformed("AUDITED")),
                    },
                    digest: r.take(32)?.try_into().expect("32 octets"),
                };
                r.end()?;
                message
            }
            FETCH => {
                r.what = "FETCH";
                let message = Message::Fetch { zone: r.str8()? };
                r.end()?;
                message
            }
            ACTIVITY => {
                r.what = "ACTIVITY";
                let satellite = r.str8()?;
                let day = r.u32()?;
                let count = r.u8()?;
                let mut counts = Vec::with_capacity(usize::from(count));
                for _ in 0..count {
                    counts.push((r.str8()?, r.u64()?));
                }
                r.end()?;
                Message::Activity(Activity {
                    satellite,
                    day,
                    counts,
                })
            }
            other => return Err(FrameError::UnknownType(other)),
        };
        Ok(message)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FrameError> {
        if self.bytes.len() < n {
            return Err(FrameError::Malformed(self.what));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, FrameError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, FrameError> {
        Ok(u16::from_be_bytes(self.take(2)?.try_into().expect("2")))
    }
    fn u32(&mut self) -> Result<u32, FrameError> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().expect("4")))
    }
    fn u64(&mut self) -> Result<u64, FrameError> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().expect("8")))
    }
    fn bytes8(&mut self) -> Result<Vec<u8>, FrameError> {
        let n = self.u8()?;
        Ok(self.take(usize::from(n))?.to_vec())
    }
    fn bytes32(&mut self) -> Result<Vec<u8>, FrameError> {
        let n = self.u32()?;
        Ok(self.take(n as usize)?.to_vec())
    }
    fn str8(&mut self) -> Result<String, FrameError> {
        let bytes = self.bytes8()?;
        String::from_utf8(bytes).map_err(|_| FrameError::Text(self.what))
    }
    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }
    fn text(&mut self) -> Result<String, FrameError> {
        let what = self.what;
        String::from_utf8(self.rest().to_vec()).map_err(|_| FrameError::Text(what))
    }
    fn end(&self) -> Result<(), FrameError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(FrameError::Malformed(self.what))
        }
    }
}

/// Splits a byte stream into frames: feed it what arrives, take whole messages out.
///
/// Frames are taken from a read position and the consumed bytes dropped in bulk, so a read
/// holding thousands of small frames (a satellite catching up) costs one pass, not one shift
/// of the buffer per frame.
#[derive(Debug)]
pub struct Deframer {
    buffer: Vec<u8>,
    start: usize,
    limit: usize,
}

impl Default for Deframer {
    fn default() -> Deframer {
        Deframer::with_limit(MAX_FRAME)
    }
}

impl Deframer {
    /// A deframer that refuses frames longer than `limit` (at most [`MAX_FRAME`]): the
    /// upstream reads only small frames from agents.
    pub fn with_limit(limit: usize) -> Deframer {
        Deframer {
            buffer: Vec::new(),
            start: 0,
            limit: limit.min(MAX_FRAME),
        }
    }

    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start * 2 >= self.buffer.len() {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole message, `Ok(None)` until one has arrived. An error leaves the stream
    /// unusable: the session must end.
    pub fn next_message(&mut self) -> Result<Option<Message>, FrameError> {
        let rest = &self.buffer[self.start..];
        let Some(len) = rest.get(..4) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(len.try_into().expect("4")) as usize;
        if len > self.limit {
            return Err(FrameError::TooLong(len));
        }
        if rest.len() < 4 + len {
            return Ok(None);
        }
        let message = Message::decode(&rest[4..4 + len]);
        self.start += 4 + len;
        if self.start == self.buffer.len() {
            self.buffer.clear();
            self.start = 0;
        }
        message.map(Some)
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Message> {
        vec![
            Message::Hello {
                version: VERSION,
                satellite: "ams-1".into(),
                zones: vec![
                    ZoneHello {
                        origin: "name".into(),
                        serial: Some(7),
                        partial: None,
                    },
                    ZoneHello {
                        origin: "tld".into(),
                        serial: None,
                        partial: Some((9, 4096)),
                    },
                ],
            },
            Message::Changeset(SignedChangeset {
                zone: "name".into(),
                from: 7,
                to: 8,
                committed: 1_700_000_000,
                key_id: "0011223344556677".into(),
                signature: vec![5; 64],
                bytes: vec![1, 2, 3],
                record: vec![9; 300],
            }),
            Message::Snapshot(SnapshotHeader {
                zone: "tld".into(),
                serial: 9,
                image_len: 100,
                whois_len: 50,
                digest: [3; 32],
                key_id: "k".into(),
                signature: vec![1; 64],
                offset: 10,
            }),
            Message::Chunk {
                zone: "tld".into(),
                offset: 10,
                bytes: vec![0; 20],
            },
            Message::Ack {
                zone: "name".into(),
                serial: 8,
            },
            Message::Activity(Activity {
                satellite: "ams-1".into(),
                day: 20_429,
                counts: vec![
                    ("dns-udp-queries-received".into(), 1_000_000_007),
                    ("whois-43-queries".into(), 0),
                ],
            }),
            Message::Refused {
                zone: "name".into(),
                from: 8,
                to: 9,
                reason: "bad signature".into(),
            },
            Message::Goodbye {
                reason: "bye".into(),
            },
            Message::Audit {
                zone: "tld".into(),
                serial: 9,
                digest: [4; 32],
            },
            Message::Audited {
                zone: "tld".into(),
                serial: 9,
                same: false,
                digest: [5; 32],
            },
            Message::Fetch { zone: "tld".into() },
        ]
    }

    #[test]
    fn every_message_survives_the_wire_in_any_split() {
        let stream: Vec<u8> = samples().iter().flat_map(Message::encode).collect();
        for step in [1, 3, 7, stream.len()] {
            let mut deframer = Deframer::default();
            let mut out = Vec::new();
            for piece in stream.chunks(step) {
                deframer.push(piece);
                while let Some(m) = deframer.next_message().unwrap() {
                    out.push(m);
                }
            }
            assert_eq!(out, samples());
        }
    }

    #[test]
    fn oversized_and_truncated_frames_are_refused() {
        let mut deframer = Deframer::default();
        deframer.push(&(MAX_FRAME as u32 + 1).to_be_bytes());
        assert!(matches!(
            deframer.next_message(),
            Err(FrameError::TooLong(_))
        ));
        for message in samples() {
            let frame = message.encode();
            // Every strict prefix of a fixed-layout body fails to decode (HELLO, SNAPSHOT, ACK).
            if matches!(
                message,
                Message::Hello { .. }
                    | Message::Snapshot(_)
                    | Message::Ack { .. }
                    | Message::Fetch { .. }
            ) {
                for cut in 5..frame.len() {
                    assert!(
                        Message::decode(&frame[4..cut]).is_err(),
                        "{message:?} cut at {cut}"
                    );
                }
            }
        }
        assert_eq!(Message::decode(&[99]), Err(FrameError::UnknownType(99)));
    }
}
