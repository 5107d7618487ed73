//! DNS over TCP (RFC 7766): two-byte length framing, several queries per connection answered
//! in order, limits on connections (in all and per client, closing the idlest when full: see
//! [`crate::connections`]), idle time, queries per connection and slow writers; and zone
//! transfers, streamed from a blocking task through a bounded channel, so a slow secondary
//! holds back its own transfer and nothing else.
//!
//! Memory per connection is small and returned on close: a 4 KiB read buffer, the query (as
//! long as the longest one received), and answers gathered for one write; the 64 KiB buffer an
//! answer is built in belongs to the worker thread, not to the connection.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

use crate::config;
use crate::connections::{Connections, Slot};
use crate::engine::{self, Kind, Peer, ResponseKind, Transport};
use crate::follow::State;
use crate::metrics::Metrics;
use crate::requests::{self, Reply};
use crate::tsig::Keyring;
use crate::udp::Answering;

/// Binds a listener on each address before the server answers anywhere: non-blocking, for
/// tokio, and with `SO_REUSEADDR` as tokio's own `bind` sets it, so a restarted server binds
/// past its old connections in TIME_WAIT.
pub fn bind(addresses: &[std::net::SocketAddr]) -> anyhow::Result<Vec<std::net::TcpListener>> {
    use anyhow::Context;
    use socket2::{Domain, Protocol, Socket, Type};
    addresses
        .iter()
        .map(|addr| {
            let listen = || -> std::io::Result<std::net::TcpListener> {
                let socket = Socket::new(
                    Domain::for_address(*addr),
                    Type::STREAM,
                    Some(Protocol::TCP),
                )?;
                socket.set_reuse_address(true)?;
                socket.set_nonblocking(true)?;
                socket.bind(&(*addr).into())?;
                socket.listen(1024)?;
                Ok(socket.into())
            };
            listen().with_context(|| format!("binding TCP {addr}"))
        })
        .collect()
}

/// Accepts connections on `listener` until the task is dropped.
pub async fn serve(
    listener: TcpListener,
    zones: Arc<ArcSwap<State>>,
    engine: Arc<engine::Config>,
    keyring: Arc<Keyring>,
    limits: config::Tcp,
    metrics: Arc<Metrics>,
    answering: Answering,
) {
    let table = Connections::new(limits.max_connections, limits.max_connections_per_client);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accepting a TCP connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = match table.admit(peer.ip(), Instant::now()) {
            Ok(slot) => slot,
            Err(why) => {
                tracing::debug!(%peer, ?why, "TCP connection refused");
                drop(stream);
                continue;
            }
        };
        let (zones, engine, metrics, keyring) = (
            zones.clone(),
            engine.clone(),
            metrics.clone(),
            keyring.clone(),
        );
        tokio::spawn(async move {
            let peer_ip = peer.ip();
            if let Err(error) = connection(
                stream, peer_ip, &slot, &zones, &engine, &keyring, &limits, &metrics, answering,
            )
            .await
            {
                tracing::debug!(%peer, %error, "TCP connection ended");
            }
            drop(slot);
        });
    }
}

thread_local! {
    /// The buffer answers are built in: one per worker thread, used between two awaits only.
    static ANSWER: RefCell<Vec<u8>> = RefCell::new(vec![0u8; 65535]);
}

#[allow(clippy::too_many_arguments)]
async fn connection(
    mut stream: TcpStream,
    client: std::net::IpAddr,
    slot: &Slot,
    zones: &ArcSwap<State>,
    engine: &engine::Config,
    keyring: &Keyring,
    limits: &config::Tcp,
    metrics: &Metrics,
    answering: Answering,
) -> std::io::Result<()> {
    let shard = metrics.tcp();
    let _ = stream.set_nodelay(true);
    let idle = Duration::from_millis(limits.idle_timeout_ms);
    let (read, mut write) = stream.split();
    // Pipelined queries are read from one buffer, and their answers leave in one write once
    // no complete query is waiting: a client that sends many queries costs few system calls.
    let mut reader = BufReader::with_capacity(4096, read);
    let mut query = Vec::with_capacity(512);
    let mut pending: Vec<u8> = Vec::with_capacity(1024);
    let max_queries = match limits.max_queries {
        0 => u64::MAX,
        n => u64::from(n),
    };
    for _ in 0..max_queries {
        if !pending.is_empty() && (reader.buffer().len() < 2 || pending.len() >= 32 * 1024) {
            if timeout(idle, write.write_all(&pending)).await.is_err() {
                return Ok(());
            }
            pending.clear();
            pending.shrink_to(16 * 1024);
        }
        slot.idle(Instant::now());
        let mut length = [0u8; 2];
        tokio::select! {
            read = timeout(idle, reader.read_exact(&mut length)) => match read {
                Ok(Ok(_)) => {}
                // Idle, closed by the client, or reset: end quietly.
                _ => break,
            },
            () = slot.closed() => {
                tracing::debug!(%client, "idle TCP connection closed to make room");
                break;
            }
        }
        slot.busy();
        let len = usize::from(u16::from_be_bytes(length));
        if len < 12 {
            break;
        }
        query.resize(len, 0);
        // The rest of a query must follow promptly (slow-client protection).
        match timeout(idle, reader.read_exact(&mut query[..len])).await {
            Ok(Ok(_)) => {}
            _ => break,
        }
        if answering == Answering::Reflect {
            let at = pending.len() + 2;
            pending.extend_from_slice(&length);
            pending.extend_from_slice(&query[..len]);
            pending[at + 2] |= 0x80;
            continue;
        }
        let state = zones.load();
        let started = Instant::now();
        let peer = Peer {
            transport: Transport::Tcp,
            addr: client,
            now: ops::unix_time(),
        };
        let kind = engine::classify(&query[..len]);
        if kind != Kind::Query {
            let ctx = requests::Context {
                state: &state,
                engine,
                keyring,
                metrics,
            };
            let now = u64::from(peer.now);
            match requests::respond(kind, &query[..len], &peer, &ctx, now) {
                Reply::Message(m) => {
                    pending.extend_from_slice(&(m.len() as u16).to_be_bytes());
                    pending.extend_from_slice(&m);
                }
                Reply::Nothing => {}
                Reply::Transfer(transfer) => {
                    if !pending.is_empty() {
                        if timeout(idle, write.write_all(&pending)).await.is_err() {
                            return Ok(());
                        }
                        pending.clear();
                    }
                    drop(state);
                    let what = transfer.describe();
                    let kind = transfer.kind();
                    let started = Instant::now();
                    let result = stream_transfer(*transfer, now, &mut write, idle).await;
                    let outcome = if result.is_ok() { "served" } else { "failed" };
                    metrics.requests.transfer(kind, outcome);
                    tracing::info!(
                        client = %client,
                        transfer = what,
                        outcome,
                        ms = started.elapsed().as_millis() as u64,
                        "zone transfer"
                    );
                    result?;
                }
            }
            continue;
        }
        let answered = ANSWER.with_borrow_mut(|answer| {
            let n = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                engine::respond(&query[..len], &state.zones, engine, &peer, answer).map(
                    |(n, source)| {
                        if source.kind == ResponseKind::Damaged {
                            shard.damaged();
                        }
                        n
                    },
                )
            }))
            .unwrap_or_else(|_| {
                shard.failed();
                None
            })?;
            shard.answered(&query[..len], &answer[..n], started.elapsed());
            pending.extend_from_slice(&(n as u16).to_be_bytes());
            pending.extend_from_slice(&answer[..n]);
            Some(n)
        });
        if answered.is_none() {
            shard.dropped();
            break;
        }
    }
    if !pending.is_empty() {
        let _ = timeout(idle, write.write_all(&pending)).await;
    }
    Ok(())
}

/// Bytes of framed messages handed from the producer to the socket at once: one thread
/// hand-off and one write for every few messages rather than for each.
const TRANSFER_BATCH: usize = 64 * 1024;

/// Sends a transfer's messages as the producer makes them, a batch of framed messages at a
/// time; at most a few batches wait in memory, whatever the zone's size.
async fn stream_transfer(
    transfer: requests::Transfer,
    now: u64,
    write: &mut (impl AsyncWriteExt + Unpin),
    idle: Duration,
) -> std::io::Result<()> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
    let producer = tokio::task::spawn_blocking(move || {
        let capacity = TRANSFER_BATCH + crate::transfer::MESSAGE_MAX + 512;
        let mut batch = Vec::with_capacity(capacity);
        let send = |batch: Vec<u8>| {
            tx.blocking_send(batch)
                .map_err(|_| crate::transfer::TransferError::Closed)
        };
        transfer.run(now, &mut |message| {
            batch.extend_from_slice(&(message.len() as u16).to_be_bytes());
            batch.extend_from_slice(&message);
            if batch.len() >= TRANSFER_BATCH {
                send(std::mem::replace(&mut batch, Vec::with_capacity(capacity)))?;
            }
            Ok(())
        })?;
        if batch.is_empty() {
            Ok(())
        } else {
            send(batch)
        }
    });
    let mut failed = None;
    while let Some(frames) = rx.recv().await {
        match timeout(idle, write.write_all(&frames)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                failed = Some(error);
                break;
            }
            Err(_) => {
                failed = Some(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the secondary stopped reading",
                ));
                break;
            }
        }
    }
    drop(rx);
    let produced = producer
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    if let Some(error) = failed {
        return Err(error);
    }
    produced.map_err(|e| std::io::Error::other(e.to_string()))
}
