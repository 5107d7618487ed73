//! The SRRP listener: TLS connections, one request each, answered after the commit.
//!
//! # Per connection
//!
//! 1. Accept, unless the listener is at `max_connections` or the address at
//!    `max_connections_per_ip` (then the connection is closed at once).
//! 2. TLS handshake and the request (up to its `%x00` or the end of the client's stream), both
//!    within `timeout_ms` and `max_message_bytes`; otherwise the connection is dropped.
//! 3. Parse ([`crate::srrp`]); a malformed request is dropped without a response.
//! 4. Decode ([`crate::srrp_front`]); a registrar with a pinned client certificate must have
//!    presented exactly it; credentials are checked against the stored Argon2 hash
//!    (read from a read-only database connection; cached after the first success) on tokio's
//!    blocking pool, at most two Argon2 computations at a time, never on the commit thread; a
//!    domain password is hashed or verified ([`crate::auth::hash_domain`]).
//!
//! The credential check and the queue ([`Server::authenticate`], [`Server::commit`]) serve EPP
//! sessions too ([`crate::epp::server`]).
//! 5. Queue the command for the commit thread, wait for its durable outcome, send the response
//!    and its `%x00`, close the TLS session and the connection.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio_rustls::TlsAcceptor;

use crate::auth::{self, Verified};
use crate::registry::Command;
use crate::slots::Slots;
use crate::srrp::{self, Code, Limits, Response};
use crate::srrp_front::{self, Secret};
use crate::store::Store;
use crate::writer::{Commits, Job, Outcome};

/// Response counts by command kind and code (for metrics).
#[derive(Debug, Default)]
pub struct Counters {
    by_kind: Mutex<HashMap<(&'static str, u16), u64>>,
    /// Connections dropped: malformed, too long, too slow, or over a limit.
    pub dropped: AtomicU64,
}

impl Counters {
    fn count(&self, kind: &'static str, code: Code) {
        let mut map = self.by_kind.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry((kind, code.number())).or_default() += 1;
    }

    /// Every (kind, code, count), sorted.
    pub fn snapshot(&self) -> Vec<(&'static str, u16, u64)> {
        let map = self.by_kind.lock().unwrap_or_else(|e| e.into_inner());
        let mut rows: Vec<_> = map.iter().map(|(&(k, c), &n)| (k, c, n)).collect();
        rows.sort_unstable();
        rows
    }
}

/// What every connection shares.
pub struct Server {
    acceptor: TlsAcceptor,
    commits: Commits,
    readers: Mutex<Vec<Connection>>,
    database: PathBuf,
    verified: Verified,
    argon: Semaphore,
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
    /// A server over a TLS configuration, the commit thread and the database path (for
    /// read-only connections).
    pub fn new(
        tls: Arc<rustls::ServerConfig>,
        commits: Commits,
        database: PathBuf,
        settings: &Settings,
    ) -> Server {
        Server {
            acceptor: TlsAcceptor::from(tls),
            commits,
            readers: Mutex::new(Vec::new()),
            database,
            verified: Verified::new(),
            argon: Semaphore::new(2),
            limits: Limits {
                max_bytes: settings.max_message_bytes,
                ..Limits::default()
            },
            timeout: settings.timeout,
            connections: Slots::new(settings.max_connections_per_ip, settings.max_connections),
            counters: Counters::default(),
        }
    }

    /// The commit thread's handle.
    pub fn commits(&self) -> &Commits {
        &self.commits
    }

    /// Runs a read on a pooled read-only connection.
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, crate::store::StoreError>,
    ) -> Result<T, String> {
        let pooled = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.database,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(|e| e.to_string())?;
                c.busy_timeout(Duration::from_secs(5))
                    .map_err(|e| e.to_string())?;
                c
            }
        };
        let result = f(&conn).map_err(|e| e.to_string());
        let mut pool = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < 16 {
            pool.push(conn);
        }
        result
    }

    async fn argon<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let _permit = self.argon.acquire().await.ok()?;
        tokio::task::spawn_blocking(f).await.ok()
    }

    /// Serves one listener until the task is dropped.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting an SRRP connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let server = self.clone();
            tokio::spawn(async move {
                server.connection(stream, peer).await;
            });
        }
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
                if let Some(end) = srrp::find_end(&buffer) {
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
        let request = match srrp::parse(&message, self.limits) {
            Ok(request) => request,
            Err(e) => {
                tracing::debug!(%peer, error = %e, "dropping a malformed SRRP request");
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let pin = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|certificate| crate::tls::certificate_pin(certificate));
        let (kind, response) = self.answer(&request, pin.as_deref()).await;
        self.counters.count(kind, response.code);
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
        request: &srrp::Request,
        pin: Option<&str>,
    ) -> (&'static str, Response) {
        let mut decoded = match srrp_front::decode(request) {
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
        let stored = match self.authenticate(id, &decoded.password, pin).await {
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
                    match self.verify_domain_password(name, password).await {
                        Ok(hash) => *verified_hash = hash,
                        Err(e) => return (kind, internal(e)),
                    }
                }
            }
        }
        let response = match self.commit(id, stored, decoded.command).await {
            Outcome::Done(reply) => srrp_front::reply(request, reply),
            Outcome::Refused(refusal) => srrp_front::refusal(&refusal),
            Outcome::Failed(e) if e == QUEUE_FULL => {
                Response::error(Code::InternalError, QUEUE_FULL)
            }
            Outcome::Failed(e) => internal(e),
        };
        (kind, response)
    }

    /// Checks a registrar's credentials (and its pinned certificate, if it has one) against the
    /// database; returns the stored hash they were verified against. Argon2 runs on the
    /// blocking pool, and only the first time a password is presented.
    pub async fn authenticate(
        &self,
        registrar: u32,
        password: &str,
        pin: Option<&str>,
    ) -> Result<String, Denied> {
        let stored = match self.read(|c| c.registrar(registrar)) {
            Ok(Some(r))
                if r.active && r.certificate.is_some() && r.certificate.as_deref() != pin =>
            {
                return Err(Denied::Certificate);
            }
            Ok(Some(r)) if r.active => r.password_hash,
            Ok(_) => return Err(Denied::Credentials),
            Err(e) => return Err(Denied::Internal(e)),
        };
        if !self.verified.contains(registrar, password, &stored) {
            let (presented, hash) = (password.to_string(), stored.clone());
            if self.argon(move || auth::verify(&presented, &hash)).await != Some(true) {
                return Err(Denied::Credentials);
            }
            self.verified.insert(registrar, password, &stored);
        }
        Ok(stored)
    }

    /// The stored password hash of a domain that `password` matches, if any (for transfers).
    pub async fn verify_domain_password(
        &self,
        name: &str,
        password: String,
    ) -> Result<Option<String>, String> {
        let key = name.to_string();
        let stored = self.read(|c| c.domain(&key))?.and_then(|d| d.auth_hash);
        let Some(stored) = stored else {
            return Ok(None);
        };
        let candidate = stored.clone();
        let matches = self
            .argon(move || auth::verify(&password, &candidate))
            .await
            == Some(true);
        Ok(matches.then_some(stored))
    }

    /// Queues a command for the commit thread and waits for its durable outcome. A full queue
    /// is [`Outcome::Failed`] with [`QUEUE_FULL`].
    pub async fn commit(&self, registrar: u32, verified_hash: String, command: Command) -> Outcome {
        let (reply, outcome) = oneshot::channel();
        let job = Job {
            registrar,
            verified_hash,
            command,
            reply,
        };
        if self.commits.submit(job).is_err() {
            return Outcome::Failed(QUEUE_FULL.into());
        }
        outcome
            .await
            .unwrap_or_else(|_| Outcome::Failed("the commit thread stopped".into()))
    }
}

/// Why credentials were refused.
#[derive(Debug)]
pub enum Denied {
    /// Unknown registrar, suspended, or wrong password.
    Credentials,
    /// The registrar must present its pinned client certificate.
    Certificate,
    /// The database could not be read.
    Internal(String),
}

/// The outcome text of a command refused because the registrar's queue is full.
pub const QUEUE_FULL: &str = "too many of your commands are waiting; retry in a moment";
