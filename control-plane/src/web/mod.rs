//! The registrars' web page: a read-only view of a registrar's account over HTTPS — balance
//! and credit, the monthly statement (and its CSV), its domains, a domain's history, unread
//! messages, the registry's notices and prices.
//!
//! # Design
//!
//! - **Served by the control plane** (`[web] listen`), on the runtime the other front ends
//!   use: TLS (rustls, SRRP's certificate unless the section names one; ALPN h2 and
//!   http/1.1) by [`crate::front::tls::handshake`], then hyper serves the connection with an
//!   axum router ([`pages`]). Connections per address and in all are bounded like the
//!   protocols', and headers must arrive within the handshake timeout.
//! - **Log-in** with the registrar id and password, checked by the front ends' [`Core`]
//!   (Argon2 on the blocking pool, the verified-credential cache), so a registrar with a
//!   pinned client certificate must present it here too. The form carries a CSRF token that
//!   must equal its `__Host-` cookie's; an address with too many failed log-ins within a
//!   minute is answered 429. Sessions are in memory ([`session`]).
//! - **Every read is scoped** by the session's registrar ([`crate::store::sqlite::pages`]):
//!   another registrar's domain is "not found", as a name that does not exist is. Reads run on
//!   tokio's blocking pool over pooled read-only connections, so a slow page holds no
//!   runtime thread; domains are paged by name (keyset), so every page costs the same.
//! - **Every response** carries HSTS, a CSP allowing only the page's own stylesheet (no
//!   script, no frames: `frame-ancestors 'none'`), `nosniff`, no referrer and no caching.
//!   Forms take at most 4 KiB; errors say what to do and nothing about the inside.
//! - **Templates** (minijinja, auto-escaping HTML) and the stylesheet are compiled in.

pub mod pages;
pub mod session;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::front::core::{Core, accept};
use crate::front::slots::Slots;
use session::Sessions;

/// Settings of the web page.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The registry's name in page titles.
    pub registry: String,
    /// A session without a request for this long ends.
    pub session_idle: Duration,
    /// A session ends after this long, whatever it does.
    pub session_max: Duration,
    /// Failed log-ins from one address within a minute before it is refused (429).
    pub failed_logins_per_minute: usize,
    /// A balance below this (cents) is shown with a warning.
    pub low_balance: i64,
    /// Time for the TLS handshake and for a request's headers.
    pub timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
    /// Connections open at once from one address.
    pub max_connections_per_ip: usize,
}

/// The web page's state: what every request shares.
pub struct Web {
    core: Arc<Core>,
    database: PathBuf,
    readers: Mutex<Vec<Connection>>,
    sessions: Sessions,
    templates: minijinja::Environment<'static>,
    settings: Settings,
    connections: Slots<IpAddr>,
}

/// Who is on the other end of a connection: its address, and the pin of the client
/// certificate it presented.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Its address.
    pub ip: IpAddr,
    /// The pin of its certificate, if it presented one.
    pub pin: Option<String>,
}

impl Web {
    /// The web page over the front ends' core and the registry database (read-only).
    pub fn new(core: Arc<Core>, database: PathBuf, settings: Settings) -> Arc<Web> {
        Arc::new(Web {
            core,
            database,
            readers: Mutex::new(Vec::new()),
            sessions: Sessions::new(
                settings.session_idle,
                settings.session_max,
                settings.failed_logins_per_minute,
            ),
            templates: pages::templates(),
            connections: Slots::new(settings.max_connections_per_ip, settings.max_connections),
            settings,
        })
    }

    /// Sessions open now.
    pub fn sessions(&self) -> usize {
        self.sessions.count()
    }

    /// Serves HTTPS on `listener` with `tls` until the task is dropped.
    pub async fn serve(self: Arc<Self>, tls: Arc<rustls::ServerConfig>, listener: TcpListener) {
        let mut config = (*tls).clone();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let router = pages::router(self.clone());
        accept(listener, "web", move |stream, peer: SocketAddr| {
            let (web, acceptor, router) = (self.clone(), acceptor.clone(), router.clone());
            async move {
                let Some(_slot) = web.connections.take(peer.ip()) else {
                    return;
                };
                let timeout = web.settings.timeout;
                let Some((tls, pin)) =
                    crate::front::tls::handshake(&acceptor, stream, timeout).await
                else {
                    return;
                };
                let service = hyper_util::service::TowerToHyperService::new(
                    router.layer(axum::Extension(Peer { ip: peer.ip(), pin })),
                );
                let mut builder = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                builder
                    .http1()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(timeout);
                let _ = builder
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            }
        })
        .await;
    }

    /// Runs a read on a pooled read-only connection, on the blocking pool.
    async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let web = self.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = web.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => crate::store::sqlite::open_read_only(&web.database)?,
            };
            let result = f(&conn);
            let mut pool = web.readers.lock().unwrap_or_else(|e| e.into_inner());
            if pool.len() < 16 {
                pool.push(conn);
            }
            result
        })
        .await?
    }
}
