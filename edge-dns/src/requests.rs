//! Requests that are not plain queries: zone transfers, NOTIFY, and anything signed with
//! TSIG. They are rare, so this path parses with hickory-proto and allocates freely; the
//! query path never comes here ([`crate::engine::classify`] routes).
//!
//! - A signed request is verified first (RFC 8945 §5.2); a failure is answered NOTAUTH with the
//!   TSIG error (BADKEY, BADSIG, BADTIME) and counted. The response to a good one is signed.
//! - AXFR/IXFR: the zone must be served here (else NOTAUTH) and a transfer rule must allow
//!   the client's address and key (else REFUSED). Over UDP, IXFR gets the current SOA alone
//!   (RFC 1995 §2: the client then comes back over TCP); AXFR over UDP gets NOTIMP.
//! - NOTIFY: this server is no secondary (it follows zone directories), so an unsigned NOTIFY
//!   is REFUSED, as BIND refuses one for a zone it is not a secondary of; a NOTIFY signed with a
//!   known key for a zone served here is acknowledged (RFC 1996 §4.7) and changes nothing;
//!   one for a zone not served here is NOTAUTH.

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};

use crate::engine::{self, Kind, Peer, Transport};
use crate::follow::{State, ZoneState};
use crate::metrics::Metrics;
use crate::transfer::{self, Plan, TransferError};
use crate::tsig::{self, Keyring, Signed, Verdict};

/// What a request that is not a plain query gets.
pub enum Reply {
    /// One response message.
    Message(Vec<u8>),
    /// A zone transfer to stream (TCP only).
    Transfer(Box<Transfer>),
    /// No response at all.
    Nothing,
}

/// A transfer ready to run.
pub struct Transfer {
    request: transfer::Request,
    plan: Plan,
    zone: ZoneState,
    signed: Option<Signed>,
}

impl Transfer {
    /// Writes the messages, each signed when the request was, into `send`.
    pub fn run(
        &self,
        now: u64,
        send: &mut dyn FnMut(Vec<u8>) -> Result<(), TransferError>,
    ) -> Result<(), TransferError> {
        let mut previous: Option<Vec<u8>> = None;
        let signed = self.signed.as_ref();
        transfer::produce(
            &self.request,
            self.plan,
            &self.zone.view,
            &self.zone.history.changesets(),
            &mut |mut message| {
                if let Some(signed) = signed {
                    let mac = match &previous {
                        None => signed.sign_first(&mut message, now),
                        Some(mac) => signed.sign_next(&mut message, mac, now),
                    }
                    .map_err(|_| TransferError::Closed)?;
                    previous = Some(mac);
                }
                send(message)
            },
        )
    }

    /// The metric label of this transfer's kind.
    pub fn kind(&self) -> &'static str {
        match (self.plan, self.request.qtype) {
            (Plan::UpToDate, _) => "up_to_date",
            (Plan::Ixfr(_), _) => "ixfr",
            (Plan::Axfr, 251) => "ixfr_as_axfr",
            (Plan::Axfr, _) => "axfr",
        }
    }

    /// The zone and serial transferred, for logs.
    pub fn describe(&self) -> String {
        format!(
            "{} {} serial {}",
            self.kind(),
            self.zone.view.origin(),
            self.zone.view.serial()
        )
    }
}

/// What this path needs.
pub struct Context<'a> {
    /// The zones as served now.
    pub state: &'a State,
    /// The answer engine's settings (for signed queries).
    pub engine: &'a engine::Config,
    /// TSIG keys.
    pub keyring: &'a Keyring,
    /// Counters.
    pub metrics: &'a Metrics,
}

/// Answers a request of `kind` (anything but [`Kind::Query`]).
pub fn respond(kind: Kind, bytes: &[u8], peer: &Peer, ctx: &Context<'_>, now: u64) -> Reply {
    let Ok(message) = Message::from_vec(bytes) else {
        if kind == Kind::Signed {
            // Its last record is a TSIG that does not read as one: the message is corrupt,
            // FORMERR and nothing of the data (RFC 8945 §5.2).
            return format_error(bytes);
        }
        // Not readable past the header: the engine answers FORMERR (or nothing).
        return engine_answer(bytes, 512, peer, ctx, 0);
    };
    if message.metadata.message_type != MessageType::Query {
        return Reply::Nothing;
    }
    let signed = match ctx.keyring.verify(bytes, &message, now) {
        Verdict::Unsigned => None,
        Verdict::Valid(signed) => Some(signed),
        Verdict::Invalid(failure, signed) => {
            ctx.metrics.requests.tsig_failure(failure.label());
            tracing::info!(client = %peer.addr, error = failure.label(), "TSIG check failed");
            return Reply::Message(tsig::error_response(
                &message,
                failure,
                signed.as_ref(),
                now,
            ));
        }
    };
    let reply = match (message.metadata.op_code, kind) {
        (OpCode::Notify, _) => notify(&message, signed.is_some(), ctx),
        (OpCode::Query, Kind::Transfer) | (OpCode::Query, Kind::Signed)
            if message
                .queries
                .first()
                .is_some_and(|q| matches!(u16::from(q.query_type()), 251 | 252)) =>
        {
            return transfer(&message, bytes, peer, signed, ctx, now);
        }
        _ => {
            // A signed query: answered by the engine, leaving room for the TSIG record.
            let room = signed.as_ref().map_or(0, |_| 256);
            let asked = message.max_payload();
            let reply = engine_answer(bytes, asked, peer, ctx, room);
            return sign_reply(reply, signed.as_ref(), now);
        }
    };
    sign_reply(reply, signed.as_ref(), now)
}

/// FORMERR with the request's id, opcode and RD, and no record.
fn format_error(request: &[u8]) -> Reply {
    let Some(header) = request.get(..3) else {
        return Reply::Nothing;
    };
    let mut out = vec![0u8; 12];
    out[..2].copy_from_slice(&header[..2]);
    // QR; the opcode and RD as asked.
    out[2] = 0x80 | (header[2] & 0x79);
    out[3] = engine::rcode::FORMERR as u8;
    Reply::Message(out)
}

fn sign_reply(reply: Reply, signed: Option<&Signed>, now: u64) -> Reply {
    match (reply, signed) {
        (Reply::Message(mut bytes), Some(signed)) => {
            if signed.sign_first(&mut bytes, now).is_err() {
                return Reply::Nothing;
            }
            Reply::Message(bytes)
        }
        (reply, _) => reply,
    }
}

/// The engine's answer, in a buffer `room` bytes short of what the transport allows (`asked`:
/// the client's EDNS payload size, 512 without EDNS).
fn engine_answer(bytes: &[u8], asked: u16, peer: &Peer, ctx: &Context<'_>, room: usize) -> Reply {
    let max = match peer.transport {
        Transport::Udp => usize::from(asked).clamp(512, usize::from(ctx.engine.max_udp_payload)),
        Transport::Tcp => 65535,
    };
    let mut out = vec![0u8; max.saturating_sub(room).max(12)];
    match engine::answer(bytes, &ctx.state.zones, ctx.engine, peer, &mut out) {
        Some(len) => {
            out.truncate(len);
            Reply::Message(out)
        }
        None => Reply::Nothing,
    }
}

/// Answers a NOTIFY (see the module docs): acknowledged only when signed and for a zone
/// served here.
fn notify(message: &Message, signed: bool, ctx: &Context<'_>) -> Reply {
    let served = message
        .queries
        .first()
        .and_then(|q| q.name().to_ascii().parse().ok())
        .is_some_and(|zone| ctx.state.zone(&zone).is_some());
    let code = if !served {
        ctx.metrics.requests.notify("received", "refused");
        ResponseCode::NotAuth
    } else if signed {
        ctx.metrics.requests.notify("received", "acknowledged");
        ResponseCode::NoError
    } else {
        ctx.metrics.requests.notify("received", "refused");
        ResponseCode::Refused
    };
    let mut response = Message::response(message.metadata.id, OpCode::Notify);
    response.metadata.authoritative = served;
    response.metadata.response_code = code;
    response.queries = message.queries.clone();
    Reply::Message(response.to_vec().unwrap_or_default())
}

/// A transfer request: checks, then the plan.
fn transfer(
    message: &Message,
    bytes: &[u8],
    peer: &Peer,
    signed: Option<Signed>,
    ctx: &Context<'_>,
    now: u64,
) -> Reply {
    let refuse = |code: ResponseCode, result: &str, kind: &str| {
        ctx.metrics.requests.transfer(kind, result);
        let mut response = Message::error_msg(message.metadata.id, OpCode::Query, code);
        response.queries = message.queries.clone();
        sign_reply(
            Reply::Message(response.to_vec().unwrap_or_default()),
            signed.as_ref(),
            now,
        )
    };
    let Some(request) = transfer::request(message, bytes) else {
        return refuse(ResponseCode::FormErr, "failed", "axfr");
    };
    let kind = if request.qtype == 252 { "axfr" } else { "ixfr" };
    let Some(zone) = ctx.state.zone(&request.zone) else {
        return refuse(ResponseCode::NotAuth, "notauth", kind);
    };
    let key = signed.as_ref().map(|s| s.key.name.as_str());
    if !transfer::allowed(&zone.config, peer.addr, key) {
        tracing::info!(
            client = %peer.addr,
            zone = %request.zone,
            key = key.unwrap_or("none"),
            "zone transfer refused by the transfer rules"
        );
        return refuse(ResponseCode::Refused, "refused", kind);
    }
    let mut plan = transfer::plan(&request, &zone.view, &zone.history.changesets());
    if peer.transport == Transport::Udp {
        if request.qtype == 252 {
            return refuse(ResponseCode::NotImp, "failed", kind);
        }
        // Over UDP, the current SOA tells the client whether to come back over TCP.
        plan = Plan::UpToDate;
    }
    let transfer = Transfer {
        request,
        plan,
        zone: zone.clone(),
        signed,
    };
    if peer.transport == Transport::Udp {
        ctx.metrics.requests.transfer("up_to_date", "served");
        let mut single = None;
        let _ = transfer.run(now, &mut |m| {
            single = Some(m);
            Ok(())
        });
        return single.map_or(Reply::Nothing, Reply::Message);
    }
    Reply::Transfer(Box::new(transfer))
}
