//! The EPP listener (RFC 5734): TLS on port 700, one session per connection, many commands
//! per session, each answered after its commit.
//!
//! # A session
//!
//! 1. Accept, unless the listener is at `max_connections` or the address at
//!    `max_connections_per_ip` (then the connection is closed at once).
//! 2. TLS handshake within `handshake_timeout_s`; send the greeting.
//! 3. Read frames (4-byte length, at most `max_frame_bytes`). A client silent for
//!    `idle_timeout_s`, a session older than `max_session_s`, or a frame over the limit ends
//!    the session (the last with 2500 first).
//! 4. Before `<login>` only `<hello>`, `<login>` and `<logout>` are served (2002 otherwise).
//!    Credentials are the SRRP ones (registrar id as `<clID>`, its password, and its pinned
//!    client certificate if it has one), checked by the front ends' [`Core`]; after
//!    `max_failed_logins` failures the session ends with 2501, and a registrar already at
//!    `max_sessions_per_registrar` sessions is answered 2502 and closed. Objects and extensions the
//!    client names but this server does not offer are let through (clients commonly name
//!    them all); using one is answered 2307 or 2103.
//! 5. Domain and host commands go through [`super::translate`] to the commit thread; `<logout>` answers
//!    1500 and closes.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::command::{self, Frame, Request};
use super::response::{self, Response};
use super::translate::{self, Plan};
use super::{Code, DOMAIN, EXTENSIONS, HOST, frame, xml};
use crate::front::core::{Core, Counters, Denied, Opened, QueueFull, Unopened, accept};
use crate::front::slots::Slots;
use crate::publish::writer::Outcome;

/// Settings of the listener.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `<svID>` in the greeting.
    pub server_id: String,
    /// The currency of prices (RFC 8748).
    pub currency: String,
    /// The largest frame accepted, header included.
    pub max_frame_bytes: usize,
    /// Time for the TLS handshake.
    pub handshake_timeout: Duration,
    /// A session with no frame for this long is closed.
    pub idle_timeout: Duration,
    /// A session is closed after this long, whatever it does.
    pub max_session: Duration,
    /// Failed logins before the session is closed.
    pub max_failed_logins: u32,
    /// Sessions open at once.
    pub max_connections: usize,
    /// Sessions open at once from one address.
    pub max_connections_per_ip: usize,
    /// Sessions logged in at once as one registrar.
    pub max_sessions_per_registrar: usize,
}

/// The EPP service: its settings, the registry's shared front-end core, and counters.
pub struct Epp {
    core: Arc<Core>,
    acceptor: TlsAcceptor,
    settings: Settings,
    connections: Slots<IpAddr>,
    sessions: Slots<u32>,
    transactions: AtomicU64,
    started: i64,
    /// Response counters.
    pub counters: Counters,
}

/// Who is logged in (holding one of its registrar's sessions).
struct Login<'a> {
    /// The registrar, holding one of its session slots.
    session: Opened<'a>,
    /// The object services the client named at login.
    objects: Vec<String>,
    /// The extensions the client named at login (only theirs appear in responses).
    extensions: Vec<String>,
}

enum Next {
    Continue,
    Close,
}

fn kind(request: &Request) -> &'static str {
    match request {
        Request::Fee { request, .. } => kind(request),
        Request::Login { .. } => "login",
        Request::Logout => "logout",
        Request::Poll { .. } => "poll",
        Request::DomainCheck(_) => "domain-check",
        Request::DomainInfo { .. } => "domain-info",
        Request::DomainCreate { .. } => "domain-create",
        Request::DomainDelete { .. } => "domain-delete",
        Request::DomainRenew { .. } => "domain-renew",
        Request::DomainTransfer { .. } => "domain-transfer",
        Request::DomainUpdate(_) => "domain-update",
        Request::HostCheck(_) => "host-check",
        Request::HostInfo { .. } => "host-info",
        Request::HostCreate { .. } => "host-create",
        Request::HostUpdate { .. } => "host-update",
        Request::HostDelete { .. } => "host-delete",
    }
}

impl Epp {
    /// The service over a TLS configuration and the registry's front-end core.
    pub fn new(tls: Arc<rustls::ServerConfig>, core: Arc<Core>, settings: Settings) -> Epp {
        Epp {
            core,
            acceptor: TlsAcceptor::from(tls),
            connections: Slots::new(settings.max_connections_per_ip, settings.max_connections),
            sessions: Slots::new(settings.max_sessions_per_registrar, usize::MAX),
            settings,
            transactions: AtomicU64::new(0),
            started: ops::now(),
            counters: Counters::default(),
        }
    }

    /// Sessions open now.
    pub fn open(&self) -> usize {
        self.connections.held()
    }

    /// A server transaction id: unique across restarts (the start time) and within a run.
    fn server_transaction(&self) -> String {
        format!(
            "{:x}-{}",
            self.started,
            self.transactions.fetch_add(1, Ordering::Relaxed) + 1
        )
    }

    /// Serves one listener until the task is dropped.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        accept(listener, "EPP", move |stream, peer| {
            let epp = self.clone();
            async move { epp.connection(stream, peer).await }
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
        let ended = self.session(tls, pin.as_deref()).await;
        if let Err(reason) = ended {
            tracing::debug!(%peer, reason, "EPP session ended");
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    async fn session<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        mut stream: S,
        pin: Option<&str>,
    ) -> Result<(), &'static str> {
        let deadline = Instant::now() + self.settings.max_session;
        send(
            &mut stream,
            &response::greeting(&self.settings.server_id, ops::now()),
        )
        .await?;
        let mut login: Option<Login<'_>> = None;
        let mut failures = 0u32;
        loop {
            let wait = self
                .settings
                .idle_timeout
                .min(deadline.saturating_duration_since(Instant::now()));
            let payload = match tokio::time::timeout(wait, self.read_frame(&mut stream)).await {
                Err(_) if Instant::now() >= deadline => {
                    let closing = Response::with_message(
                        Code::SessionLimitClosing,
                        "the session reached its longest life; log in again",
                    );
                    send(
                        &mut stream,
                        &closing.render(None, &self.server_transaction()),
                    )
                    .await?;
                    return Ok(());
                }
                Err(_) => return Err("idle"),
                Ok(Err(FrameEnd::Closed)) => return Ok(()),
                Ok(Err(FrameEnd::Io)) => return Err("read failed"),
                Ok(Err(FrameEnd::TooLarge(e))) => {
                    let closing = Response::with_message(Code::FailedClosing, e.to_string());
                    let _ = send(
                        &mut stream,
                        &closing.render(None, &self.server_transaction()),
                    )
                    .await;
                    return Err("frame too large");
                }
                Ok(Ok(payload)) => payload,
            };
            let parsed = xml::parse(&payload)
                .map_err(|e| super::Failure::new(Code::SyntaxError, e.0))
                .and_then(|root| command::read(&root, &EXTENSIONS));
            let (client_transaction, request) = match parsed {
                Ok(Frame::Hello) => {
                    send(
                        &mut stream,
                        &response::greeting(&self.settings.server_id, ops::now()),
                    )
                    .await?;
                    continue;
                }
                Ok(Frame::Command {
                    client_transaction,
                    command,
                }) => (client_transaction, command),
                Err(failure) => {
                    self.counters.count("invalid", failure.code.number());
                    let answer = Response::with_message(failure.code, failure.text);
                    send(
                        &mut stream,
                        &answer.render(None, &self.server_transaction()),
                    )
                    .await?;
                    continue;
                }
            };
            let (answer, next) = self.answer(&request, &mut login, &mut failures, pin).await;
            self.counters.count(kind(&request), answer.code.number());
            let text = answer.render(client_transaction.as_deref(), &self.server_transaction());
            send(&mut stream, &text).await?;
            if let Next::Close = next {
                let _ = stream.shutdown().await;
                return Ok(());
            }
        }
    }

    async fn read_frame<S: AsyncRead + Unpin>(&self, stream: &mut S) -> Result<Vec<u8>, FrameEnd> {
        let mut header = [0u8; frame::HEADER];
        match stream.read_exact(&mut header).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(FrameEnd::Closed);
            }
            Err(_) => return Err(FrameEnd::Io),
        }
        let length =
            frame::length(header, self.settings.max_frame_bytes).map_err(FrameEnd::TooLarge)?;
        let mut payload = vec![0u8; length];
        stream
            .read_exact(&mut payload)
            .await
            .map_err(|_| FrameEnd::Io)?;
        Ok(payload)
    }

    async fn answer<'a>(
        &'a self,
        request: &Request,
        login: &mut Option<Login<'a>>,
        failures: &mut u32,
        pin: Option<&str>,
    ) -> (Response, Next) {
        let plain = |code, text: &str| (Response::with_message(code, text), Next::Continue);
        match (request, &*login) {
            (Request::Logout, _) => (Response::new(Code::EndingSession), Next::Close),
            (Request::Login { .. }, Some(_)) => {
                plain(Code::UseError, "this session is logged in already")
            }
            (
                Request::Login {
                    client,
                    password,
                    new_password,
                    objects,
                    extensions,
                },
                None,
            ) => {
                // Objects and extensions this server does not offer are let through at login
                // (common clients always name host and contact): a command that uses one is
                // answered 2307 or 2103.
                if new_password.is_some() {
                    return plain(
                        Code::UnimplementedOption,
                        "registrar passwords are changed by the registry operator, not over EPP",
                    );
                }
                let denied = match self
                    .core
                    .open_session(&self.sessions, client, password, pin)
                    .await
                {
                    Ok(session) => {
                        *login = Some(Login {
                            session,
                            objects: objects.clone(),
                            extensions: extensions.clone(),
                        });
                        return (Response::new(Code::Success), Next::Continue);
                    }
                    Err(Unopened::Busy(id)) => {
                        return (
                            Response::with_message(
                                Code::SessionLimitClosing,
                                format!(
                                    "registrar {id} has {} sessions open already; close one first",
                                    self.settings.max_sessions_per_registrar
                                ),
                            ),
                            Next::Close,
                        );
                    }
                    Err(Unopened::Denied(denied)) => denied,
                };
                if let Denied::Internal(e) = &denied {
                    tracing::error!(error = %e, "reading the registry database failed");
                    return plain(
                        Code::Failed,
                        "the registry could not read its database; retry later",
                    );
                }
                *failures += 1;
                tracing::info!(client, failures = *failures, "EPP login refused");
                let text = match denied {
                    Denied::Certificate => {
                        "this registrar must connect with its pinned client certificate"
                    }
                    _ => "unknown clID or wrong password",
                };
                if *failures >= self.settings.max_failed_logins {
                    return (
                        Response::with_message(Code::AuthenticationClosing, text),
                        Next::Close,
                    );
                }
                plain(Code::Authentication, text)
            }
            (_, None) => plain(Code::UseError, "log in first"),
            (Request::Poll { .. }, Some(session)) => {
                (self.object_command(request, session).await, Next::Continue)
            }
            (_, Some(session)) if !session.objects.iter().any(|o| o == object(request)) => plain(
                Code::UnimplementedObject,
                &format!("this session did not name {} at login", object(request)),
            ),
            (_, Some(session)) => (self.object_command(request, session).await, Next::Continue),
        }
    }

    async fn object_command(&self, request: &Request, session: &Login<'_>) -> Response {
        if let Request::Fee { fee, .. } = request
            && let Some(currency) = fee.currency()
            && !currency.eq_ignore_ascii_case(&self.settings.currency)
        {
            return Response::with_message(
                Code::ParameterRange,
                format!(
                    "prices here are in {}, not {currency}",
                    self.settings.currency
                ),
            );
        }
        let (command, verify) = match translate::plan(request) {
            Plan::Answer(response) => return response,
            Plan::Run { command, verify } => (command, verify),
        };
        let outcome = self
            .core
            .carry_out(
                session.session.registrar,
                session.session.verified_hash.clone(),
                command,
                verify,
            )
            .await;
        match outcome {
            Ok(Outcome::Done(reply)) => {
                let mut response = translate::reply(request, reply, &self.settings.currency);
                // Only extensions the client named at login appear in responses (RFC 5730
                // §2.9.1.1).
                response
                    .extension
                    .retain(|(namespace, _)| session.extensions.iter().any(|e| e == namespace));
                response
            }
            Ok(Outcome::Refused(refusal)) => translate::refusal(&refusal),
            Err(QueueFull) => Response::with_message(Code::Failed, QueueFull.to_string()),
            Ok(Outcome::Failed(e)) => {
                tracing::error!(error = %e, "a command failed in the database");
                Response::with_message(
                    Code::Failed,
                    "the registry could not carry out the command; nothing changed; retry later",
                )
            }
        }
    }
}

/// The object service a command uses.
fn object(request: &Request) -> &'static str {
    match request {
        Request::HostCheck(_)
        | Request::HostInfo { .. }
        | Request::HostCreate { .. }
        | Request::HostUpdate { .. }
        | Request::HostDelete { .. } => HOST,
        _ => DOMAIN,
    }
}

enum FrameEnd {
    Closed,
    Io,
    TooLarge(frame::FrameError),
}

async fn send<S: AsyncWrite + Unpin>(stream: &mut S, text: &str) -> Result<(), &'static str> {
    stream
        .write_all(&frame::encode(text.as_bytes()))
        .await
        .map_err(|_| "write failed")?;
    stream.flush().await.map_err(|_| "write failed")
}
