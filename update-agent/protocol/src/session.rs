//! The satellite session's logic, without I/O: what the agent accepts, and where an upstream
//! (the control plane, or a relay) starts each zone.
//!
//! [`Agent`] is fed the messages that arrive and says what to do with each ([`Step`]); the
//! shell does it (append to the zone directory, write snapshot bytes) and reports back with
//! [`Agent::applied`], which yields the ACK to send. The agent accepts a changeset only when
//! it is signed by a trusted key over its zone, serials and bytes, and starts exactly at the
//! serial last applied; a snapshot only when its header is signed, its serial is not older
//! than what is held, and its chunks arrive in order and hash to the signed digest.
//!
//! What is refused is reported upstream (REFUSED) and leaves the satellite's data as it was.
//! A changeset already applied (a replay, or a duplicate after a reconnection) is refused and
//! the session goes on; anything else refused ends the session ([`Violation`]): the shell
//! reconnects and says again, in HELLO, which serial it holds.
//!
//! [`plan`] is the upstream's half: given what HELLO says and what the upstream holds, it
//! picks changesets from the journal or a snapshot.

use std::collections::BTreeMap;

use zonefiles::serial::is_after;

use crate::message::{Message, SignedChangeset, SnapshotHeader, VERSION, ZoneHello};
use crate::signature;

/// A public key trusted to sign changesets and snapshots.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    /// Its id ([`signature::key_id`]).
    pub id: String,
    /// The 32-octet Ed25519 public key.
    pub key: Vec<u8>,
}

impl TrustedKey {
    /// A trusted key from its public key.
    pub fn new(key: Vec<u8>) -> TrustedKey {
        TrustedKey {
            id: signature::key_id(&key),
            key,
        }
    }
}

/// What the shell does with a message the agent accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Apply this changeset durably (the shell may gather several first), then call
    /// [`Agent::applied`] with the last serial applied.
    Apply(SignedChangeset),
    /// A snapshot starts (or resumes at `header.offset`): keep the header; drop bytes held
    /// past the offset.
    SnapshotStart(SnapshotHeader),
    /// Snapshot bytes at `offset`. With `complete`, these were the last and every byte
    /// hashes to the signed digest: write them, install the snapshot, then call
    /// [`Agent::applied`].
    SnapshotBytes {
        /// The zone.
        zone: String,
        /// Where they go.
        offset: u64,
        /// The bytes.
        bytes: Vec<u8>,
        /// The snapshot's header, once it is whole.
        complete: Option<SnapshotHeader>,
    },
    /// Send this REFUSED upstream; nothing changed.
    Report(Message),
    /// Apply what was accepted, then compute the zone's digest at `serial` (the serial now
    /// accepted) and compare it with the upstream's; answer AUDITED.
    Audit {
        /// The zone.
        zone: String,
        /// The serial.
        serial: u32,
        /// The upstream's digest.
        digest: [u8; 32],
    },
}

/// Why the session must end. The shell sends the report, if any, and reconnects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Violation {
    /// What was wrong.
    pub reason: String,
    /// The REFUSED to send before closing.
    pub report: Option<Box<Message>>,
    /// A zone whose partly received snapshot is bad: the shell deletes what it holds.
    pub discard_snapshot: Option<String>,
}

struct Incoming {
    header: SnapshotHeader,
    received: u64,
    hash: ring::digest::Context,
}

#[derive(Default)]
struct ZoneState {
    serial: Option<u32>,
    incoming: Option<Incoming>,
}

/// The agent's side of a session.
pub struct Agent {
    satellite: String,
    keys: Vec<TrustedKey>,
    zones: BTreeMap<String, ZoneState>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let serials: BTreeMap<&String, Option<u32>> =
            self.zones.iter().map(|(z, s)| (z, s.serial)).collect();
        write!(f, "Agent({}, {serials:?})", self.satellite)
    }
}

fn refused(zone: &str, from: u32, to: u32, reason: &str) -> Message {
    Message::Refused {
        zone: zone.to_owned(),
        from,
        to,
        reason: reason.to_owned(),
    }
}

impl Agent {
    /// An agent for `zones`, each at the serial it holds durably (`None`: no data yet).
    pub fn new(
        satellite: &str,
        keys: Vec<TrustedKey>,
        zones: impl IntoIterator<Item = (String, Option<u32>)>,
    ) -> Agent {
        Agent {
            satellite: satellite.to_owned(),
            keys,
            zones: zones
                .into_iter()
                .map(|(zone, serial)| {
                    (
                        zone,
                        ZoneState {
                            serial,
                            incoming: None,
                        },
                    )
                })
                .collect(),
        }
    }

    /// The serial a zone holds.
    pub fn serial(&self, zone: &str) -> Option<u32> {
        self.zones.get(zone).and_then(|z| z.serial)
    }

    /// The HELLO that opens a session. `partial` gives, per zone, a snapshot partly held on
    /// disk from an earlier session (its header and the bytes held), to resume; the agent
    /// hashes the held bytes again through [`Agent::resume`] before this is called.
    pub fn hello(&self) -> Message {
        Message::Hello {
            version: VERSION,
            satellite: self.satellite.clone(),
            zones: self
                .zones
                .iter()
                .map(|(origin, state)| ZoneHello {
                    origin: origin.clone(),
                    serial: state.serial,
                    partial: state
                        .incoming
                        .as_ref()
                        .map(|i| (i.header.serial, i.received)),
                })
                .collect(),
        }
    }

    /// Restores a snapshot partly received in an earlier session: its header (checked again)
    /// and the bytes held so far. False if the header does not check; the shell drops them.
    pub fn resume(&mut self, header: SnapshotHeader, held: &[u8]) -> bool {
        if self.check_snapshot(&header).is_err() || held.len() as u64 > header.len() {
            return false;
        }
        let Some(state) = self.zones.get_mut(&header.zone) else {
            return false;
        };
        let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
        hash.update(held);
        state.incoming = Some(Incoming {
            header,
            received: held.len() as u64,
            hash,
        });
        true
    }

    /// Records that the shell applied everything up to `serial` durably; returns the ACK to
    /// send (one ACK covers the serials before it).
    pub fn applied(&mut self, zone: &str, serial: u32) -> Message {
        if let Some(state) = self.zones.get_mut(zone) {
            state.serial = Some(serial);
        }
        Message::Ack {
            zone: zone.to_owned(),
            serial,
        }
    }

    fn trusted(&self, key_id: &str) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.id == key_id)
    }

    fn check_snapshot(&self, h: &SnapshotHeader) -> Result<(), String> {
        let key = self
            .trusted(&h.key_id)
            .ok_or_else(|| format!("snapshot signed by unknown key {}", h.key_id))?;
        let message =
            signature::signed_snapshot(&h.zone, h.serial, h.image_len, h.whois_len, &h.digest);
        if !signature::verify(&key.key, &message, &h.signature) {
            return Err("bad snapshot signature".into());
        }
        Ok(())
    }

    /// Takes one message from upstream.
    pub fn receive(&mut self, message: Message) -> Result<Step, Violation> {
        let end = |reason: String, report: Option<Message>| Violation {
            reason,
            report: report.map(Box::new),
            discard_snapshot: None,
        };
        match message {
            Message::Changeset(c) => {
                let Some(state) = self.zones.get(&c.zone) else {
                    return Err(end(
                        format!("changeset for zone {} not served here", c.zone),
                        None,
                    ));
                };
                let good = self
                    .trusted(&c.key_id)
                    .is_some_and(|k| signature::verify_changeset(&k.key, &c));
                if !good {
                    let reason = format!(
                        "changeset {} {}→{}: not signed by a trusted key (key id {:?})",
                        c.zone, c.from, c.to, c.key_id
                    );
                    let report = refused(&c.zone, c.from, c.to, "bad signature");
                    return Err(end(reason, Some(report)));
                }
                let Some(serial) = state.serial else {
                    let report = refused(
                        &c.zone,
                        c.from,
                        c.to,
                        "no data yet: a snapshot must come first",
                    );
                    return Err(end(
                        format!("changeset {} before any snapshot", c.zone),
                        Some(report),
                    ));
                };
                if c.from == serial && is_after(c.to, c.from) {
                    // Accepted: the next one must follow it, whether or not the shell has
                    // written it yet (it applies in batches; if it fails, the session ends).
                    self.zones.get_mut(&c.zone).expect("checked above").serial = Some(c.to);
                    return Ok(Step::Apply(c));
                }
                if !is_after(c.to, serial) {
                    // Already applied: a replay or a duplicate.
                    return Ok(Step::Report(refused(
                        &c.zone,
                        c.from,
                        c.to,
                        &format!("replayed: serial {serial} is held"),
                    )));
                }
                let reason = format!(
                    "changeset {} {}→{} does not follow serial {serial}",
                    c.zone, c.from, c.to
                );
                Err(end(
                    reason.clone(),
                    Some(refused(&c.zone, c.from, c.to, &reason)),
                ))
            }
            Message::Snapshot(h) => {
                let Some(state) = self.zones.get(&h.zone) else {
                    return Err(end(
                        format!("snapshot for zone {} not served here", h.zone),
                        None,
                    ));
                };
                let report = |reason: &str| refused(&h.zone, h.serial, h.serial, reason);
                if let Err(reason) = self.check_snapshot(&h) {
                    return Err(end(
                        format!("snapshot {} at {}: {reason}", h.zone, h.serial),
                        Some(report(&reason)),
                    ));
                }
                if let Some(serial) = state.serial
                    && is_after(serial, h.serial)
                {
                    let reason = format!(
                        "replayed: serial {serial} is held, the snapshot is at {}",
                        h.serial
                    );
                    return Err(end(reason.clone(), Some(report(&reason))));
                }
                let resumable = state.incoming.as_ref().is_some_and(|i| {
                    i.header.serial == h.serial
                        && i.header.digest == h.digest
                        && i.received == h.offset
                });
                if h.offset != 0 && !resumable {
                    return Err(end(
                        format!("snapshot {} resumes at an offset not held", h.zone),
                        None,
                    ));
                }
                if h.is_empty() || h.offset > h.len() {
                    return Err(end(
                        format!("snapshot {} with impossible lengths", h.zone),
                        Some(report("bad lengths")),
                    ));
                }
                let state = self.zones.get_mut(&h.zone).expect("checked above");
                if !resumable {
                    state.incoming = Some(Incoming {
                        header: h.clone(),
                        received: 0,
                        hash: ring::digest::Context::new(&ring::digest::SHA256),
                    });
                }
                Ok(Step::SnapshotStart(h))
            }
            Message::Chunk {
                zone,
                offset,
                bytes,
            } => {
                let Some(incoming) = self.zones.get_mut(&zone).and_then(|s| s.incoming.as_mut())
                else {
                    return Err(end(
                        format!("snapshot bytes for {zone} without a header"),
                        None,
                    ));
                };
                let total = incoming.header.len();
                if offset != incoming.received
                    || offset + bytes.len() as u64 > total
                    || bytes.is_empty()
                {
                    return Err(end(format!("snapshot bytes for {zone} out of order"), None));
                }
                incoming.hash.update(&bytes);
                incoming.received += bytes.len() as u64;
                if incoming.received < total {
                    return Ok(Step::SnapshotBytes {
                        zone,
                        offset,
                        bytes,
                        complete: None,
                    });
                }
                let incoming = self
                    .zones
                    .get_mut(&zone)
                    .and_then(|s| s.incoming.take())
                    .expect("present");
                let digest = incoming.hash.finish();
                let h = incoming.header;
                if digest.as_ref() != h.digest {
                    let report = refused(&zone, h.serial, h.serial, "snapshot digest mismatch");
                    let reason = format!("snapshot {zone} at {}: digest mismatch", h.serial);
                    return Err(Violation {
                        discard_snapshot: Some(zone),
                        ..end(reason, Some(report))
                    });
                }
                Ok(Step::SnapshotBytes {
                    zone,
                    offset,
                    bytes,
                    complete: Some(h),
                })
            }
            Message::Audit {
                zone,
                serial,
                digest,
            } => {
                if self.serial(&zone) != Some(serial) {
                    return Err(end(
                        format!("audit of {zone} at serial {serial}, which is not the serial held"),
                        None,
                    ));
                }
                Ok(Step::Audit {
                    zone,
                    serial,
                    digest,
                })
            }
            Message::Goodbye { reason } => {
                Err(end(format!("upstream closed the session: {reason}"), None))
            }
            other => Err(end(format!("{other} is not sent to an agent"), None)),
        }
    }
}

/// Where an upstream starts a zone for a satellite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Send the changesets from this serial on (none yet if it is the newest).
    Changesets(u32),
    /// Send a snapshot, from this offset (non-zero to resume one the satellite partly holds).
    Snapshot {
        /// Where the bytes start.
        offset: u64,
    },
}

/// What an upstream holds of a zone.
#[derive(Debug, Clone, Copy)]
pub struct Holding {
    /// The first serial its journal starts from (changesets from here on are available).
    pub journal_from: u32,
    /// The newest serial.
    pub newest: u32,
    /// The snapshot it has ready, if any: its serial and length.
    pub snapshot: Option<(u32, u64)>,
    /// How many changesets the satellite is behind, and the most worth replaying: further
    /// behind, a snapshot is sent even though the journal reaches (as a DNS server answers
    /// IXFR with the whole zone when that is smaller). `None`: replay whatever the journal
    /// reaches.
    pub replay: Option<(u64, u64)>,
}

/// Where to start a zone for a satellite that says `hello`.
pub fn plan(hello: &ZoneHello, holding: Holding) -> Start {
    if let Some(serial) = hello.serial {
        let reachable = serial == holding.newest
            || (!is_after(holding.journal_from, serial) && is_after(holding.newest, serial));
        let worth = holding.replay.is_none_or(|(behind, limit)| behind <= limit);
        if reachable && worth {
            return Start::Changesets(serial);
        }
    }
    let offset = match (hello.partial, holding.snapshot) {
        (Some((serial, held)), Some((ready, len))) if serial == ready && held < len => held,
        _ => 0,
    };
    Start::Snapshot { offset }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{Ed25519KeyPair, KeyPair};

    struct Upstream {
        key: Ed25519KeyPair,
        /// Changesets 1→2 … (newest-1)→newest of zone "tld".
        newest: u32,
        snapshot_serial: u32,
        snapshot: Vec<u8>,
    }

    impl Upstream {
        fn new(newest: u32) -> Upstream {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
            Upstream {
                key: Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap(),
                newest,
                snapshot_serial: newest / 2,
                snapshot: (0..5000u32).map(|i| (i * 7) as u8).collect(),
            }
        }

        fn trusted(&self) -> TrustedKey {
            TrustedKey::new(self.key.public_key().as_ref().to_vec())
        }

        fn changeset(&self, from: u32) -> Message {
            let bytes = format!("changeset {from}").into_bytes();
            let record = format!("record {from}").into_bytes();
            let signature = self.key.sign(&signature::signed_message(
                "tld",
                from,
                from + 1,
                &bytes,
                &record,
            ));
            Message::Changeset(SignedChangeset {
                zone: "tld".into(),
                from,
                to: from + 1,
                committed: 0,
                key_id: self.trusted().id,
                signature: signature.as_ref().to_vec(),
                bytes,
                record,
            })
        }

        fn snapshot_header(&self, offset: u64) -> SnapshotHeader {
            let digest: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, &self.snapshot)
                .as_ref()
                .try_into()
                .unwrap();
            let len = self.snapshot.len() as u64;
            let message =
                signature::signed_snapshot("tld", self.snapshot_serial, 1000, len - 1000, &digest);
            SnapshotHeader {
                zone: "tld".into(),
                serial: self.snapshot_serial,
                image_len: 1000,
                whois_len: len - 1000,
                digest,
                key_id: self.trusted().id,
                signature: self.key.sign(&message).as_ref().to_vec(),
                offset,
            }
        }

        /// What the upstream sends after this HELLO.
        fn respond(&self, hello: &Message) -> Vec<Message> {
            let Message::Hello { zones, .. } = hello else {
                panic!()
            };
            let holding = Holding {
                journal_from: 1,
                newest: self.newest,
                snapshot: Some((self.snapshot_serial, self.snapshot.len() as u64)),
                replay: None,
            };
            let (mut out, from) = match plan(&zones[0], holding) {
                Start::Changesets(serial) => (Vec::new(), serial),
                Start::Snapshot { offset } => {
                    let mut out = vec![Message::Snapshot(self.snapshot_header(offset))];
                    for start in (offset as usize..self.snapshot.len()).step_by(700) {
                        let end = (start + 700).min(self.snapshot.len());
                        out.push(Message::Chunk {
                            zone: "tld".into(),
                            offset: start as u64,
                            bytes: self.snapshot[start..end].to_vec(),
                        });
                    }
                    (out, self.snapshot_serial)
                }
            };
            out.extend((from..self.newest).map(|s| self.changeset(s)));
            out
        }
    }

    /// The shell: applies what the agent accepts, and keeps partial snapshots across sessions.
    #[derive(Default)]
    struct Shell {
        serial: Option<u32>,
        applied: Vec<(u32, u32)>,
        partial: Option<(SnapshotHeader, Vec<u8>)>,
        snapshots: usize,
    }

    impl Shell {
        fn step(&mut self, agent: &mut Agent, step: Step) {
            match step {
                Step::Apply(c) => {
                    assert_eq!(Some(c.from), self.serial, "applied out of sequence");
                    assert_eq!(agent.serial("tld"), Some(c.to), "accepted");
                    self.applied.push((c.from, c.to));
                    self.serial = Some(c.to);
                    agent.applied("tld", c.to);
                }
                Step::SnapshotStart(h) => {
                    let held = self.partial.take().map(|(_, b)| b).unwrap_or_default();
                    self.partial = Some((h.clone(), held[..h.offset as usize].to_vec()));
                }
                Step::SnapshotBytes {
                    offset,
                    bytes,
                    complete,
                    ..
                } => {
                    let (_, held) = self.partial.as_mut().expect("a started snapshot");
                    assert_eq!(held.len() as u64, offset);
                    held.extend_from_slice(&bytes);
                    if let Some(h) = complete {
                        self.partial = None;
                        self.serial = Some(h.serial);
                        self.snapshots += 1;
                        agent.applied("tld", h.serial);
                    }
                }
                Step::Report(_) | Step::Audit { .. } => {}
            }
        }

        fn agent(&self, upstream: &Upstream) -> Agent {
            let mut agent = Agent::new(
                "sat",
                vec![upstream.trusted()],
                [("tld".to_string(), self.serial)],
            );
            if let Some((h, held)) = &self.partial {
                assert!(agent.resume(h.clone(), held));
            }
            agent
        }
    }

    /// A deterministic pseudo-random source (xorshift).
    struct Chance(u64);
    impl Chance {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    #[test]
    fn converges_over_a_link_that_loses_reorders_duplicates_tampers_and_disconnects() {
        for seed in 1..=40u64 {
            let upstream = Upstream::new(60);
            let mut shell = Shell::default();
            let mut chance = Chance(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut sessions = 0;
            while shell.serial != Some(upstream.newest) {
                sessions += 1;
                assert!(sessions < 500, "seed {seed}: no convergence");
                let mut agent = shell.agent(&upstream);
                let mut wire: std::collections::VecDeque<Message> =
                    upstream.respond(&agent.hello()).into();
                while let Some(mut message) = wire.pop_front() {
                    match chance.below(40) {
                        0 => continue,                         // lost
                        1 => wire.push_front(message.clone()), // duplicated
                        2 if !wire.is_empty() => {
                            // reordered
                            let next = wire.pop_front().unwrap();
                            wire.push_front(message);
                            message = next;
                        }
                        3 => break, // disconnected
                        4 => {
                            // tampered
                            if let Message::Changeset(c) = &mut message {
                                c.bytes.push(b'!');
                            }
                            if let Message::Chunk { bytes, .. } = &mut message {
                                bytes[0] ^= 1;
                            }
                        }
                        _ => {}
                    }
                    match agent.receive(message) {
                        Ok(step) => shell.step(&mut agent, step),
                        Err(violation) => {
                            if violation.discard_snapshot.is_some() {
                                shell.partial = None;
                            }
                            break;
                        }
                    }
                }
            }
            assert_eq!(
                shell.snapshots, 1,
                "seed {seed}: one snapshot, then the journal"
            );
            let expected: Vec<(u32, u32)> = (upstream.snapshot_serial..upstream.newest)
                .map(|s| (s, s + 1))
                .collect();
            assert_eq!(
                shell.applied, expected,
                "seed {seed}: every changeset once, in order"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_signed_replayed_or_out_of_sequence() {
        let upstream = Upstream::new(10);
        let mut agent = Agent::new(
            "sat",
            vec![upstream.trusted()],
            [("tld".to_string(), Some(5))],
        );
        // Replay: reported, the session goes on.
        assert!(matches!(
            agent.receive(upstream.changeset(3)),
            Ok(Step::Report(Message::Refused { .. }))
        ));
        // A gap ends the session.
        assert!(agent.receive(upstream.changeset(7)).is_err());
        // A changeset moved to another position does not verify.
        let Message::Changeset(mut moved) = upstream.changeset(4) else {
            panic!()
        };
        moved.from = 5;
        moved.to = 6;
        let refused = agent.receive(Message::Changeset(moved)).unwrap_err();
        assert!(
            matches!(refused.report.as_deref(), Some(Message::Refused { reason, .. }) if reason == "bad signature")
        );
        // An unknown key.
        let stranger = Upstream::new(10);
        assert!(agent.receive(stranger.changeset(5)).is_err());
        // The right one.
        assert!(matches!(
            agent.receive(upstream.changeset(5)),
            Ok(Step::Apply(_))
        ));
        // A snapshot older than what is held.
        agent.applied("tld", 6);
        assert!(
            agent
                .receive(Message::Snapshot(upstream.snapshot_header(0)))
                .is_err()
        );
        // A zone not served.
        let Message::Changeset(mut other) = upstream.changeset(6) else {
            panic!()
        };
        other.zone = "other".into();
        assert!(agent.receive(Message::Changeset(other)).is_err());
        // Messages that only go upstream.
        assert!(agent.receive(agent.hello()).is_err());
    }

    #[test]
    fn plans_changesets_when_the_journal_reaches_and_a_snapshot_otherwise() {
        let holding = Holding {
            journal_from: 10,
            newest: 20,
            snapshot: Some((15, 100)),
            replay: None,
        };
        let hello = |serial, partial| ZoneHello {
            origin: "tld".into(),
            serial,
            partial,
        };
        assert_eq!(plan(&hello(Some(12), None), holding), Start::Changesets(12));
        assert_eq!(plan(&hello(Some(20), None), holding), Start::Changesets(20));
        assert_eq!(
            plan(&hello(Some(5), None), holding),
            Start::Snapshot { offset: 0 }
        );
        assert_eq!(
            plan(&hello(None, None), holding),
            Start::Snapshot { offset: 0 }
        );
        assert_eq!(
            plan(&hello(None, Some((15, 40))), holding),
            Start::Snapshot { offset: 40 }
        );
        assert_eq!(
            plan(&hello(None, Some((14, 40))), holding),
            Start::Snapshot { offset: 0 }
        );
        // A satellite ahead of the upstream (restored from an older backup) starts over.
        assert_eq!(
            plan(&hello(Some(25), None), holding),
            Start::Snapshot { offset: 0 }
        );
        // Further behind than is worth replaying: a snapshot, though the journal reaches.
        let far = Holding {
            replay: Some((8, 5)),
            ..holding
        };
        assert_eq!(
            plan(&hello(Some(12), None), far),
            Start::Snapshot { offset: 0 }
        );
        let near = Holding {
            replay: Some((5, 5)),
            ..holding
        };
        assert_eq!(plan(&hello(Some(15), None), near), Start::Changesets(15));
    }
}
