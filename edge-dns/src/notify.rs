//! NOTIFY out (RFC 1996): each time a zone's serial changes, every secondary configured for
//! it is told over UDP, TSIG-signed where a key is set, and told again with doubling waits
//! (1, 2, 4, 8, 16 s) until it acknowledges or five tries have gone unanswered.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name as HName, RecordType};
use tokio::sync::mpsc::UnboundedReceiver;
use zonefiles::Name;

use crate::follow::State;
use crate::metrics::Metrics;
use crate::tsig::{Key, Keyring, Signed};

/// Tries before giving up on a secondary.
const TRIES: u32 = 5;
/// How long to wait for an acknowledgement before the first retry.
const FIRST_WAIT: Duration = Duration::from_secs(1);

/// Sends NOTIFY for every change reported on `changes` until the channel closes.
pub async fn run(
    mut changes: UnboundedReceiver<(Name, u32)>,
    state: Arc<ArcSwap<State>>,
    keyring: Keyring,
    metrics: Arc<Metrics>,
) {
    while let Some((zone, serial)) = changes.recv().await {
        let targets = match state.load().zone(&zone) {
            Some(z) => z.config.notify.clone(),
            None => continue,
        };
        for target in targets {
            let key = target.key.as_deref().and_then(|k| keyring.get(k)).cloned();
            let (zone, metrics) = (zone.clone(), metrics.clone());
            tokio::spawn(async move {
                let acknowledged = notify(&zone, target.address, key.as_ref()).await;
                let result = if acknowledged {
                    "acknowledged"
                } else {
                    "gave_up"
                };
                metrics.requests.notify("sent", result);
                tracing::info!(%zone, serial, secondary = %target.address, result, "NOTIFY");
            });
        }
    }
}

/// Notifies one secondary; true once it acknowledged.
async fn notify(zone: &Name, to: SocketAddr, key: Option<&Key>) -> bool {
    let bind: SocketAddr = if to.is_ipv4() {
        "0.0.0.0:0".parse().expect("valid")
    } else {
        "[::]:0".parse().expect("valid")
    };
    let Ok(socket) = tokio::net::UdpSocket::bind(bind).await else {
        return false;
    };
    let mut wait = FIRST_WAIT;
    for _ in 0..TRIES {
        let id = random_id();
        let Some(request) = message(zone, id, key) else {
            return false;
        };
        if socket.send_to(&request, to).await.is_ok() {
            let mut buf = [0u8; 4096];
            let deadline = tokio::time::Instant::now() + wait;
            while let Ok(Ok((len, from))) =
                tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await
            {
                if from != to {
                    continue;
                }
                if let Ok(response) = Message::from_vec(&buf[..len])
                    && response.metadata.id == id
                    && response.metadata.message_type == MessageType::Response
                {
                    return response.metadata.response_code == ResponseCode::NoError;
                }
            }
        } else {
            tokio::time::sleep(wait).await;
        }
        wait *= 2;
    }
    false
}

/// A NOTIFY for `zone` (RFC 1996 §3.7: opcode NOTIFY, AA, the zone's SOA as the question).
fn message(zone: &Name, id: u16, key: Option<&Key>) -> Option<Vec<u8>> {
    let mut message = Message::query();
    message.metadata.id = id;
    message.metadata.op_code = OpCode::Notify;
    message.metadata.authoritative = true;
    let name = HName::from_ascii(zone.to_string()).ok()?;
    message.add_query(Query::query(name, RecordType::SOA));
    let mut bytes = message.to_vec().ok()?;
    if let Some(key) = key {
        Signed::sign_request(key, &mut bytes, u64::from(ops::unix_time())).ok()?;
    }
    Some(bytes)
}

fn random_id() -> u16 {
    let mut bytes = [0u8; 2];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
    u16::from_be_bytes(bytes)
}
