//! DNS over TCP (RFC 7766): two-byte length framing, several queries per connection answered
//! in order, limits on connections, idle time, queries per connection and slow writers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::timeout;

use crate::config;
use crate::engine::{self, Peer, Transport, Zones};
use crate::metrics::Metrics;

/// Accepts connections on `listener` until the task is dropped.
pub async fn serve(
    listener: TcpListener,
    zones: Arc<ArcSwap<Zones>>,
    engine: Arc<engine::Config>,
    limits: config::Tcp,
    metrics: Arc<Metrics>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accepting a TCP connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "TCP connection limit reached; closing");
            drop(stream);
            continue;
        };
        let (zones, engine, metrics) = (zones.clone(), engine.clone(), metrics.clone());
        tokio::spawn(async move {
            let peer_ip = peer.ip();
            if let Err(error) =
                connection(stream, peer_ip, &zones, &engine, &limits, &metrics).await
            {
                tracing::debug!(%peer, %error, "TCP connection ended");
            }
            drop(slot);
        });
    }
}

async fn connection(
    mut stream: TcpStream,
    client: std::net::IpAddr,
    zones: &ArcSwap<Zones>,
    engine: &engine::Config,
    limits: &config::Tcp,
    metrics: &Metrics,
) -> std::io::Result<()> {
    let shard = metrics.tcp();
    let _ = stream.set_nodelay(true);
    let idle = Duration::from_millis(limits.idle_timeout_ms);
    let (read, mut write) = stream.split();
    // Pipelined queries are read from one buffer, and their answers leave in one write once
    // no complete query is waiting: a client that sends many queries costs few system calls.
    let mut reader = BufReader::with_capacity(64 * 1024, read);
    let mut query = vec![0u8; 65535];
    let mut pending: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut answer = vec![0u8; 65535];
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
        }
        let mut length = [0u8; 2];
        match timeout(idle, reader.read_exact(&mut length)).await {
            Ok(Ok(_)) => {}
            // Idle, closed by the client, or reset: end quietly.
            _ => break,
        }
        let len = usize::from(u16::from_be_bytes(length));
        if len < 12 {
            break;
        }
        // The rest of a query must follow promptly (slow-client protection).
        match timeout(idle, reader.read_exact(&mut query[..len])).await {
            Ok(Ok(_)) => {}
            _ => break,
        }
        let zones = zones.load();
        let started = Instant::now();
        let peer = Peer {
            transport: Transport::Tcp,
            addr: client,
            now: crate::unix_time(),
        };
        let Some(n) = engine::answer(&query[..len], &zones, engine, &peer, &mut answer) else {
            shard.dropped();
            break;
        };
        shard.answered(&query[..len], &answer[..n], started.elapsed());
        pending.extend_from_slice(&(n as u16).to_be_bytes());
        pending.extend_from_slice(&answer[..n]);
    }
    if !pending.is_empty() {
        let _ = timeout(idle, write.write_all(&pending)).await;
    }
    Ok(())
}
