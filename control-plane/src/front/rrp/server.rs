//! The RRP listener (RFC 2832 §2–3): TLS on port 648, one session per connection, many
//! requests per session, each answered after its commit.
//!
//! # A session
//!
//! 1. Accept, unless the listener is at `max_connections` or the address at
//!    `max_connections_per_ip` (then the connection is closed at once).
//! 2. TLS handshake within `handshake_timeout_s`; send the greeting
//!    (`<server id> RRP Server version 2.0.0`, the time, `.`).
//! 3. Read requests, each up to its `.` line and at most `max_request_bytes`. A longer one
//!    ends the session with 520; so does a client silent for `idle_timeout_s` or a session older
//!    than `max_session_s`. Requests may be sent before the previous answer (pipelined): they
//!    are answered in order.
//! 4. Until `session` succeeds only `session` and `quit` are served (547 otherwise).
//!    Credentials are the registrar's (its id as `-Id`, its password, and its pinned client
//!    certificate if it has one), checked by the front ends' [`Core`]; after
//!    `max_failed_logins` failures the session ends with 520, and a registrar already at
//!    `max_sessions_per_registrar` sessions is answered 521 and closed.
//! 5. Other commands go through [`super::translate`] to the commit thread; `quit` answers 220
//!    and closes.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::grammar::{self, Code, Request, Response, VERSION, Verb};
use super::translate::{self, Plan};
use crate::front::core::{Core, Counters, Denied, Opened, QueueFull, Unopened, accept};
use crate::front::slots::Slots;
use crate::publish::writer::Outcome;

/// Settings of the listener.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The server's name in the greeting.
    pub server_id: String,
    /// The largest request.
    pub max_request_bytes: usize,
    /// Time for the TLS handshake.
    pub handshake_timeout: Duration,
    /// A session with no request for this long is closed.
    pub idle_timeout: Duration,
    /// A session is closed after this long, whatever it does.
    pub max_session: Duration,
    /// Failed `session` commands before the session is closed.
    pub max_failed_logins: u32,
    /// Sessions open at once.
    pub max_connections: usize,
    /// Sessions open at once from one address.
    pub max_connections_per_ip: usize,
    /// Sessions logged in at once as one registrar.
    pub max_sessions_per_registrar: usize,
}

/// The RRP service: its settings, the registry's shared front-end core, and counters.
pub struct Rrp {
    core: Arc<Core>,
    acceptor: TlsAcceptor,
    settings: Settings,
    connections: Slots<IpAddr>,
    sessions: Slots<u32>,
    /// Response counters.
    pub counters: Counters,
}

impl Rrp {
    /// The service over a TLS configuration and the registry's front-end core.
    pub fn new(tls: Arc<rustls::ServerConfig>, core: Arc<Core>, settings: Settings) -> Rrp {
        Rrp {
            core,
            acceptor: TlsAcceptor::from(tls),
            connections: Slots::new(settings.max_connections_per_ip, settings.max_connections),
            sessions: Slots::new(settings.max_sessions_per_registrar, usize::MAX),
            settings,
            counters: Counters::default(),
        }
    }

    /// Sessions open now.
    pub fn open(&self) -> usize {
        self.connections.held()
    }

    /// Serves one listener until the task is dropped.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        accept(listener, "RRP", move |stream, peer| {
            let rrp = self.clone();
            async move { rrp.connection(stream, peer).await }
        })
        .await;
    }

    async fn connection(&self, stream: tokio::net::TcpStream, peer: SocketAddr) {
        let Some(_slot) = self.connections.take(peer.ip()) else {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let Some((tls, pin)) =
            crate::front::tls::handshake(&self.acceptor, stream, self.settings.handshake_timeout)
                .await
        else {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if let Err(reason) = self.session(tls, pin.as_deref()).await {
            tracing::debug!(%peer, reason, "RRP session ended");
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    async fn session<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        mut stream: S,
        pin: Option<&str>,
    ) -> Result<(), &'static str> {
        let deadline = Instant::now() + self.settings.max_session;
        let greeting = format!(
            "{} RRP Server version {VERSION}\r\n{} UTC\r\n.\r\n",
            self.settings.server_id,
            zonefiles::calendar::date_time(ops::now())
        );
        send(&mut stream, greeting.as_bytes()).await?;
        let mut login: Option<Opened<'_>> = None;
        let mut failures = 0u32;
        let mut buffer = Vec::with_capacity(1024);
        loop {
            let wait = self
                .settings
                .idle_timeout
                .min(deadline.saturating_duration_since(Instant::now()));
            let message =
                match tokio::time::timeout(wait, self.read_request(&mut stream, &mut buffer)).await
                {
                    Err(_) => {
                        let why = if Instant::now() >= deadline {
                            "the session reached its longest life; open a new one"
                        } else {
                            "the session was idle too long; open a new one"
                        };
                        let _ = send(
                            &mut stream,
                            &Response::error(Code::ServerClosing, why).render(),
                        )
                        .await;
                        return Ok(());
                    }
                    Ok(Err(End::Closed)) => return Ok(()),
                    Ok(Err(End::Io)) => return Err("read failed"),
                    Ok(Err(End::TooLong)) => {
                        let closing = Response::error(
                            Code::ServerClosing,
                            format!(
                                "a request is at most {} bytes",
                                self.settings.max_request_bytes
                            ),
                        );
                        let _ = send(&mut stream, &closing.render()).await;
                        return Err("request too long");
                    }
                    Ok(Ok(message)) => message,
                };
            let (kind, answer) = match grammar::parse(&message) {
                Ok(request) => (
                    request.verb.word(),
                    self.answer(&request, &mut login, &mut failures, pin).await,
                ),
                Err(response) => ("invalid", response),
            };
            self.counters.count(kind, answer.code.number());
            send(&mut stream, &answer.render()).await?;
            if answer.code.closes() {
                let _ = stream.shutdown().await;
                return Ok(());
            }
        }
    }

    /// The next request: bytes up to its `.` line, taken from `buffer` (what was read past
    /// the last request) and the stream.
    async fn read_request<S: AsyncRead + Unpin>(
        &self,
        stream: &mut S,
        buffer: &mut Vec<u8>,
    ) -> Result<Vec<u8>, End> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = grammar::find_end(buffer) {
                if end > self.settings.max_request_bytes {
                    return Err(End::TooLong);
                }
                return Ok(buffer.drain(..end).collect());
            }
            if buffer.len() > self.settings.max_request_bytes {
                return Err(End::TooLong);
            }
            match stream.read(&mut chunk).await {
                Ok(0) => return Err(End::Closed),
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                Err(_) => return Err(End::Io),
            }
        }
    }

    async fn answer<'a>(
        &'a self,
        request: &Request,
        login: &mut Option<Opened<'a>>,
        failures: &mut u32,
        pin: Option<&str>,
    ) -> Response {
        match (request.verb, &*login) {
            (Verb::Quit, _) => Response::new(Code::Closing),
            (Verb::Session, Some(_)) => {
                Response::error(Code::InvalidSequence, "this session is established already")
            }
            (Verb::Session, None) => self.log_in(request, login, failures, pin).await,
            (_, None) => Response::error(Code::InvalidSequence, "send session first"),
            (Verb::Describe, Some(_)) => match request.option("target") {
                Some(target) if !target.eq_ignore_ascii_case("protocol") => Response::error(
                    Code::InvalidOptionValue,
                    format!("-Target {target:?}: only Protocol is described"),
                ),
                _ => translate::describe(),
            },
            (_, Some(session)) => self.command(request, session).await,
        }
    }

    async fn log_in<'a>(
        &'a self,
        request: &Request,
        login: &mut Option<Opened<'a>>,
        failures: &mut u32,
        pin: Option<&str>,
    ) -> Response {
        if let Err(response) = translate::check_shape(request) {
            return response;
        }
        let (Some(id), Some(password)) = (request.option("id"), request.option("password")) else {
            return Response::error(Code::MissingOption, "session needs -Id and -Password");
        };
        if request.option("newpassword").is_some() {
            return Response::error(
                Code::InvalidCommandOption,
                "registrar passwords are changed by the registry operator, not over RRP",
            );
        }
        let denied = match self
            .core
            .open_session(&self.sessions, id, password, pin)
            .await
        {
            Ok(session) => {
                *login = Some(session);
                return Response::new(Code::Success);
            }
            Err(Unopened::Busy(registrar)) => {
                return Response::error(
                    Code::TooManySessions,
                    format!(
                        "registrar {registrar} has {} sessions open already; close one first",
                        self.settings.max_sessions_per_registrar
                    ),
                );
            }
            Err(Unopened::Denied(denied)) => denied,
        };
        let text = match denied {
            Denied::Internal(e) => {
                tracing::error!(error = %e, "reading the registry database failed");
                return Response::error(
                    Code::Failed,
                    "the registry could not read its database; retry later",
                );
            }
            Denied::Certificate => "this registrar must connect with its pinned client certificate",
            Denied::Credentials => "unknown -Id or wrong -Password",
        };
        *failures += 1;
        tracing::info!(id, failures = *failures, "RRP session refused");
        if *failures >= self.settings.max_failed_logins {
            return Response::error(Code::ServerClosing, text);
        }
        Response::error(Code::AuthenticationFailed, text)
    }

    async fn command(&self, request: &Request, session: &Opened<'_>) -> Response {
        let (command, verify) = match translate::plan(request) {
            Plan::Answer(response) => return response,
            Plan::Run { command, verify } => (command, verify),
        };
        let outcome = self
            .core
            .carry_out(
                session.registrar,
                session.verified_hash.clone(),
                command,
                verify,
            )
            .await;
        match outcome {
            Ok(Outcome::Done(reply)) => translate::reply(request, reply),
            Ok(Outcome::Refused(refusal)) => translate::refusal(request, &refusal),
            Err(QueueFull) => Response::error(Code::Failed, QueueFull.to_string()),
            Ok(Outcome::Failed(e)) => {
                tracing::error!(error = %e, "a command failed in the database");
                Response::error(
                    Code::Failed,
                    "the registry could not carry out the command; nothing changed; retry later",
                )
            }
        }
    }
}

enum End {
    Closed,
    Io,
    TooLong,
}

async fn send<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8]) -> Result<(), &'static str> {
    stream.write_all(bytes).await.map_err(|_| "write failed")?;
    stream.flush().await.map_err(|_| "write failed")
}
