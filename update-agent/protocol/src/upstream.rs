//! What every upstream does on the wire, whether it is the control plane's push service or a
//! relay (the agent's relay): accept members' tunnels, one at a time per member; tell an
//! agent's session (HELLO) from a relay's snapshot fetch (FETCH); send snapshots in chunks.
//!
//! ```text
//! Tunnels::accept (handshake; the key must be a member's; a newer tunnel replaces an older)
//!   → serve_member: streams as the agent opens them
//!       HELLO (version and name checked) → the upstream's session, until it ends
//!       FETCH zone                       → the upstream's snapshot, then the stream ends
//!   → Tunnels::ended
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};

use crate::message::{self, Activity, Deframer, Message, SnapshotHeader, ZoneHello};
use crate::tunnel::{self, Pins};

/// Agents send only small frames upstream (HELLO, ACK, REFUSED, AUDITED, FETCH).
pub const FROM_AGENT_LIMIT: usize = 1 << 20;

/// Members' tunnels: the keys accepted, and the one open connection per member.
#[derive(Debug, Default)]
pub struct Tunnels {
    pins: Arc<Pins>,
    connections: Mutex<HashMap<String, quinn::Connection>>,
}

impl Tunnels {
    /// The keys accepted, for [`tunnel::server_config`].
    pub fn pins(&self) -> Arc<Pins> {
        self.pins.clone()
    }

    /// Replaces the members (public key → name) and closes the tunnels of those no longer
    /// among them.
    pub fn set_members(&self, members: HashMap<Vec<u8>, String>) {
        let names: Vec<String> = members.values().cloned().collect();
        self.pins.replace(members);
        let mut connections = self.connections.lock().unwrap_or_else(|e| e.into_inner());
        connections.retain(|name, connection| {
            let member = names.contains(name);
            if !member {
                tracing::warn!(satellite = name, "removed: closing its tunnel");
                connection.close(1u32.into(), b"no longer a member");
            }
            member
        });
    }

    /// Completes a handshake: the member's name and its connection, or `None` (the
    /// connection is closed) for a failed handshake or a key that is not a member's. A
    /// member's newer tunnel replaces its older one (a restarted agent).
    pub async fn accept(&self, incoming: quinn::Incoming) -> Option<(String, quinn::Connection)> {
        let remote = incoming.remote_address();
        let connection = match incoming.await {
            Ok(connection) => connection,
            Err(error) => {
                tracing::debug!(%remote, %error, "tunnel handshake failed");
                return None;
            }
        };
        let name = tunnel::peer_key(&connection).and_then(|key| self.pins.name_of(&key));
        let Some(name) = name else {
            connection.close(1u32.into(), b"not a member");
            return None;
        };
        let previous = self
            .connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.clone(), connection.clone());
        if let Some(previous) = previous {
            previous.close(2u32.into(), b"replaced by a newer tunnel");
        }
        Some((name, connection))
    }

    /// Forgets a member's tunnel that ended. False if a newer tunnel had replaced it (the
    /// member is still connected).
    pub fn ended(&self, name: &str, connection: &quinn::Connection) -> bool {
        let mut connections = self.connections.lock().unwrap_or_else(|e| e.into_inner());
        let current = connections
            .get(name)
            .is_some_and(|c| c.stable_id() == connection.stable_id());
        if current {
            connections.remove(name);
        }
        current
    }
}

/// An upstream: what it does when a member's tunnel comes and goes, with a session, and with
/// a FETCH. [`serve`] runs the accept loop for it.
pub trait Upstream: Send + Sync + 'static {
    /// The members' tunnels.
    fn tunnels(&self) -> &Tunnels;
    /// A member's tunnel came up (`up`), or went without a newer one replacing it.
    fn tunnel(&self, name: &str, remote: std::net::SocketAddr, up: bool);
    /// A member's session, until it ends.
    fn session(
        self: Arc<Self>,
        name: String,
        session: Session,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Answers a FETCH: the zone's snapshot, then the end of the stream.
    fn fetch(
        self: Arc<Self>,
        zone: String,
        send: quinn::SendStream,
    ) -> impl Future<Output = anyhow::Result<()>> + Send + 'static;
}

/// Accepts members on `endpoint` until it closes, each on a task of its own: handshake and
/// membership ([`Tunnels::accept`]), then [`serve_member`] with the upstream's session and
/// fetch, then the tunnel closed.
pub async fn serve<U: Upstream>(upstream: Arc<U>, endpoint: quinn::Endpoint) {
    while let Some(incoming) = endpoint.accept().await {
        let upstream = upstream.clone();
        tokio::spawn(async move {
            let Some((name, connection)) = upstream.tunnels().accept(incoming).await else {
                return;
            };
            let remote = connection.remote_address();
            upstream.tunnel(&name, remote, true);
            tracing::info!(satellite = name, %remote, "tunnel up");
            let fetcher = upstream.clone();
            let result = serve_member(
                &connection,
                &name,
                |session| upstream.clone().session(name.clone(), session),
                move |zone, send| fetcher.clone().fetch(zone, send),
            )
            .await;
            connection.close(0u32.into(), b"session over");
            // Down, unless a newer tunnel of the same member replaced this one.
            if upstream.tunnels().ended(&name, &connection) {
                upstream.tunnel(&name, remote, false);
            }
            match result {
                Ok(()) => tracing::info!(satellite = name, "tunnel closed"),
                Err(error) => tracing::warn!(satellite = name, %error, "session ended"),
            }
        });
    }
}

/// An agent's session, opened by its HELLO.
pub struct Session {
    /// The zones and what the agent holds of each.
    pub zones: Vec<ZoneHello>,
    /// Towards the agent.
    pub send: quinn::SendStream,
    /// From the agent.
    pub recv: quinn::RecvStream,
    /// What was read after HELLO.
    pub deframer: Deframer,
}

/// Serves a member's connection: the first stream that opens with HELLO is its session
/// (`session`; when it ends, so does this), and each stream that opens with FETCH is
/// answered by `fetch` on a task of its own.
pub async fn serve_member<S, F>(
    connection: &quinn::Connection,
    name: &str,
    session: impl FnOnce(Session) -> S,
    fetch: impl Fn(String, quinn::SendStream) -> F,
) -> anyhow::Result<()>
where
    S: Future<Output = anyhow::Result<()>>,
    F: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let mut session = Some(session);
    let mut running = None;
    loop {
        let opened = tokio::select! {
            opened = next_stream(connection, name) => opened?,
            result = async { running.as_mut().expect("checked").await }, if running.is_some() => {
                return result;
            }
        };
        match opened {
            Opened::Fetch(zone, send) => {
                let (name, task) = (name.to_owned(), fetch(zone.clone(), send));
                tokio::spawn(async move {
                    if let Err(error) = task.await {
                        tracing::warn!(satellite = name, zone, %error, "snapshot fetch failed");
                    }
                });
            }
            Opened::Hello(opened) => match session.take() {
                Some(session) => running = Some(Box::pin(session(opened))),
                None => {
                    let mut send = opened.send;
                    goodbye(&mut send, "one session per tunnel".into()).await;
                }
            },
        }
    }
}

/// Ends a stream with GOODBYE and waits (up to 2 s) until the peer has it, so that closing
/// the connection next does not lose the reason.
pub async fn goodbye(send: &mut quinn::SendStream, reason: String) {
    let goodbye = Message::Goodbye { reason };
    if send.write_all(&goodbye.encode()).await.is_ok() && send.finish().is_ok() {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), send.stopped()).await;
    }
}

enum Opened {
    Hello(Session),
    Fetch(String, quinn::SendStream),
}

/// The next stream the agent opens, by its first message.
async fn next_stream(connection: &quinn::Connection, name: &str) -> anyhow::Result<Opened> {
    let (mut send, mut recv) = connection.accept_bi().await?;
    let mut deframer = Deframer::with_limit(FROM_AGENT_LIMIT);
    let first = tokio::time::timeout(tunnel::IDLE, read_message(&mut recv, &mut deframer))
        .await
        .context("a stream without its first message")??;
    match first {
        Some(Message::Hello {
            version,
            satellite,
            zones,
        }) => {
            if version != message::VERSION || satellite != name {
                let reason = format!(
                    "HELLO for {satellite:?} version {version}: this key belongs to {name:?}, version {}",
                    message::VERSION
                );
                goodbye(&mut send, reason.clone()).await;
                bail!(reason);
            }
            Ok(Opened::Hello(Session {
                zones,
                send,
                recv,
                deframer,
            }))
        }
        Some(Message::Fetch { zone }) => Ok(Opened::Fetch(zone, send)),
        Some(other) => bail!("a stream opened with {other}"),
        None => bail!("a stream closed before its first message"),
    }
}

/// What an agent reports upstream on its session, once HELLO has been read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// ACK: `serial` of `zone` is durable on the agent.
    Ack {
        /// The zone.
        zone: String,
        /// The serial applied.
        serial: u32,
    },
    /// REFUSED: the agent refused what it was sent (logged here).
    Refused {
        /// The zone.
        zone: String,
    },
    /// AUDITED: the agent compared its data with the audit's digest (logged here).
    Audited {
        /// The zone.
        zone: String,
        /// The audited serial.
        serial: u32,
        /// Whether the agent's digest was the upstream's.
        same: bool,
    },
    /// ACTIVITY: a satellite's query counts of a day so far.
    Activity(Activity),
}

/// Reads an agent's replies until its stream ends, logs what it refused and each audit's
/// outcome, and hands every reply to `reply`. GOODBYE or a message an agent never sends ends
/// the session with an error. Both upstreams (the push service and a relay) read their agents
/// through this.
pub async fn listen(
    name: &str,
    recv: &mut quinn::RecvStream,
    deframer: &mut Deframer,
    mut reply: impl FnMut(Reply),
) -> anyhow::Result<()> {
    loop {
        match read_message(recv, deframer).await? {
            None => return Ok(()),
            Some(Message::Ack { zone, serial }) => reply(Reply::Ack { zone, serial }),
            Some(Message::Refused {
                zone,
                from,
                to,
                reason,
            }) => {
                tracing::error!(
                    satellite = name,
                    zone,
                    from,
                    to,
                    reason,
                    "the agent refused what it was sent"
                );
                reply(Reply::Refused { zone });
            }
            Some(Message::Audited {
                zone, serial, same, ..
            }) => {
                if same {
                    tracing::info!(
                        satellite = name,
                        zone,
                        serial,
                        "audit: the agent's data matches"
                    );
                } else {
                    tracing::error!(
                        satellite = name,
                        zone,
                        serial,
                        "audit: the agent's data differs; it resynchronises from a snapshot"
                    );
                }
                reply(Reply::Audited { zone, serial, same });
            }
            Some(Message::Activity(activity)) => reply(Reply::Activity(activity)),
            Some(Message::Goodbye { reason }) => bail!("the agent closed the session: {reason}"),
            Some(other) => bail!("{other} is not sent upstream"),
        }
    }
}

/// Reads the next message; `None` at the end of the stream.
pub async fn read_message(
    recv: &mut quinn::RecvStream,
    deframer: &mut Deframer,
) -> anyhow::Result<Option<Message>> {
    let mut buffer = [0u8; 4096];
    loop {
        if let Some(message) = deframer.next_message()? {
            return Ok(Some(message));
        }
        match recv.read(&mut buffer).await? {
            Some(n) => deframer.push(&buffer[..n]),
            None => return Ok(None),
        }
    }
}

/// Sends a snapshot from `offset` on: its header, then its bytes in chunks of
/// [`message::CHUNK`].
pub async fn send_snapshot(
    send: &mut quinn::SendStream,
    header: &SnapshotHeader,
    bytes: &[u8],
    offset: u64,
) -> anyhow::Result<()> {
    let header = SnapshotHeader {
        offset,
        ..header.clone()
    };
    send.write_all(&Message::Snapshot(header.clone()).encode())
        .await?;
    let mut at = offset as usize;
    while at < bytes.len() {
        let end = (at + message::CHUNK).min(bytes.len());
        let chunk = Message::Chunk {
            zone: header.zone.clone(),
            offset: at as u64,
            bytes: bytes[at..end].to_vec(),
        };
        send.write_all(&chunk.encode()).await?;
        at = end;
    }
    Ok(())
}
