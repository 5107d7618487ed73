//! The SRRP listener: TLS connections, one request each, answered after the commit.
//!
//! # Per connection
//!
//! 1. Accept, unless the listener is at `max_connections` or the address at
//!    `max_connections_per_ip` (then the connection is closed at once).
//! 2. TLS handshake and the request (up to its `%x00` or the end of the client's stream), both
//!    within `timeout_ms` and `max_message_bytes`; otherwise the connection is dropped.
//! 3. Parse ([`super::grammar`]); a malformed request is dropped without a response.
//! 4. Translate ([`super::translate`]); the front ends' [`Core`] checks the credentials (and a
//!    pinned client certificate), and a domain password is hashed or verified
//!    ([`crate::front::auth::hash_domain`]).
//! 5. Queue the command for the commit thread, wait for its durable outcome, send the response
//!    and its `%x00`, close the TLS session and the connection.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::grammar::{self, Code, Limits, Response};
use super::translate::{self, Secret};
use crate::front::auth;
use crate::front::core::{Core, Counters, Denied, QueueFull, accept};
use crate::front::slots::Slots;
use crate::publish::writer::Outcome;
use crate::registry::Command;

/// The SRRP listener: what every connection shares.
pub struct Server {
    acceptor: TlsAcceptor,
    core: Arc<Core>,
    limits: Limits,
    timeout: Duration,
    connections: Slots<IpAddr>,
    /// Response counters.
    pub counters: Counters,
}

/// Settings of the listener.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The largest request.
    pub max_message_bytes: usize,
    /// Time for the handshake and the request.
    pub timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
    /// Connections open at once from one address.
    pub max_connections_per_ip: usize,
}

impl Server {
    /// A server over a TLS configuration and the front ends' core.
    pub fn new(tls: Arc<rustls::ServerConfig>, core: Arc<Core>, settings: &Settings) -> Server {
        Server {
            acceptor: TlsAcceptor::from(tls),
            core,
            limits: Limits {
                max_bytes: settings.max_message_bytes,
                ..Limits::default()
            },
            timeout: settings.timeout,
            connections: Slots::new(settings.max_connections_per_ip, settings.max_connections),
            counters: Counters::default(),
        }
    }

    /// Serves one listener until the task is dropped.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        accept(listener, "SRRP", move |stream, peer| {
            let server = self.clone();
            async move { server.connection(stream, peer).await }
        })
        .await;
    }

    async fn connection(&self, stream: tokio::net::TcpStream, peer: SocketAddr) {
        let Some(_slot) = self.connections.take(peer.ip()) else {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let _ = stream.set_nodelay(true);
        let received = tokio::time::timeout(self.timeout, async {
            let mut tls = self.acceptor.accept(stream).await.ok()?;
            let mut buffer = Vec::with_capacity(1024);
            let mut chunk = [0u8; 4096];
            loop {
                if let Some(end) = grammar::find_end(&buffer) {
                    buffer.truncate(end);
                    break;
                }
                if buffer.len() > self.limits.max_bytes {
                    return None;
                }
                match tls.read(&mut chunk).await {
                    Ok(0) => break,
                    Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                    Err(_) if !buffer.is_empty() => break,
                    Err(_) => return None,
                }
            }
            Some((tls, buffer))
        })
        .await;
        let Ok(Some((mut tls, message))) = received else {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let request = match grammar::parse(&message, self.limits) {
            Ok(request) => request,
            Err(e) => {
                tracing::debug!(%peer, error = %e, "dropping a malformed SRRP request");
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let pin = crate::front::tls::client_pin(&tls);
        let (kind, response) = self.answer(&request, pin.as_deref()).await;
        self.counters.count(kind, response.code.number());
        if response.code == Code::AccessDenied || response.code == Code::AuthorizationFailed {
            tracing::info!(%peer, command = kind, code = response.code.number(), "refused");
        }
        let _ = tokio::time::timeout(self.timeout, async {
            tls.write_all(&response.render()).await?;
            tls.shutdown().await
        })
        .await;
    }

    /// The response to a well-formed request from a client that presented a certificate with
    /// this pin (if any), and the command kind for metrics.
    pub async fn answer(
        &self,
        request: &grammar::Request,
        pin: Option<&str>,
    ) -> (&'static str, Response) {
        let mut decoded = match translate::decode(request) {
            Ok(decoded) => decoded,
            Err(response) => return ("invalid", response),
        };
        let kind = decoded.command.kind();
        let internal = |e: String| {
            tracing::error!(error = %e, "reading the registry database failed");
            Response::error(
                Code::InternalError,
                "the registry could not read its database; retry later",
            )
        };
        let denied = || {
            Response::error(
                Code::AuthorizationFailed,
                "unknown registrar-id or wrong registrar-auth",
            )
        };
        let id = decoded.registrar;
        let stored = match self.core.authenticate(id, &decoded.password, pin).await {
            Ok(stored) => stored,
            Err(Denied::Internal(e)) => return (kind, internal(e)),
            Err(Denied::Certificate) => {
                return (
                    kind,
                    Response::error(
                        Code::AuthorizationFailed,
                        "this registrar must connect with its pinned client certificate",
                    ),
                );
            }
            Err(Denied::Credentials) => return (kind, denied()),
        };
        match std::mem::replace(&mut decoded.secret, Secret::None) {
            Secret::None => {}
            Secret::Hash(password) => {
                let hash = auth::hash_domain(&password);
                match &mut decoded.command {
                    Command::CreateDomain { auth_hash, .. } => *auth_hash = Some(hash),
                    Command::SetPassword { auth_hash, .. } => *auth_hash = hash,
                    _ => {}
                }
            }
            Secret::Verify(password) => {
                if let Command::Transfer {
                    name,
                    verified_hash,
                } = &mut decoded.command
                {
                    match self.core.verify_domain_password(name, password).await {
                        Ok(hash) => *verified_hash = hash,
                        Err(e) => return (kind, internal(e)),
                    }
                }
            }
        }
        let response = match self.core.commit(id, stored, decoded.command).await {
            Ok(Outcome::Done(reply)) => translate::reply(request, reply),
            Ok(Outcome::Refused(refusal)) => translate::refusal(&refusal),
            Err(QueueFull) => Response::error(Code::InternalError, QueueFull.to_string()),
            Ok(Outcome::Failed(e)) => internal(e),
        };
        (kind, response)
    }
}
