//! The RDAP listeners: hyper (HTTP/1.1 with keep-alive, HTTP/2 by ALPN over TLS or by prior
//! knowledge in the clear) behind rustls, with certificates read from files and read again
//! on SIGHUP (a connection takes the configuration current when it arrives).
//!
//! Each connection runs on the runtime as one task. Bounds: at most `max_connections` open
//! (more are closed on accept); a request head of at most `max_header_bytes` and
//! `max_headers` (HTTP/1: 431; HTTP/2: the header list limit) sent within `idle_timeout_ms`;
//! a connection with no request in flight for `idle_timeout_ms` is closed gracefully (both
//! versions); at most `max_streams` HTTP/2 streams at once. Request bodies are never read.
//!
//! Every answer carries `Content-Type: application/rdap+json` and
//! `Access-Control-Allow-Origin: *` (RFC 7480 §4.2, §5.6). A client over the port-43
//! per-prefix limits (the same buckets) gets 429 with `Retry-After` (RFC 7480 §5.5). Only
//! GET and HEAD are answered (OPTIONS for CORS preflights; others 405).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Method, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use zonefiles::whois::cached::Wait;

use super::request::{self, Refused};
use super::response::{self, MEDIA_TYPE};
use super::{Config, Reply};
use crate::answer::{NotCached, Service};
use crate::limits::Limiter;
use crate::server::Metrics;

/// What every RDAP connection shares.
pub struct Rdap {
    /// The records.
    pub service: Arc<Service>,
    /// The RDAP settings.
    pub config: Config,
    /// The per-prefix limits, shared with port 43.
    pub limiter: Arc<Mutex<Limiter>>,
    /// Counters.
    pub metrics: Arc<Metrics>,
}

/// The TLS configuration for the certificate and key files, offering HTTP/2 and HTTP/1.1.
pub fn tls_config(
    certificate: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let chain = ops::tls::certificates(certificate)?;
    let key = ops::tls::private_key(key)?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| anyhow::anyhow!("the RDAP certificate and key do not belong together: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Reads the certificate and key again at every SIGHUP; a failed read keeps the previous
/// ones and says why. The certificate's expiry goes to the metrics.
pub async fn reload_on_sighup(
    tls: Arc<ArcSwap<rustls::ServerConfig>>,
    certificate: std::path::PathBuf,
    key: std::path::PathBuf,
    metrics: Arc<Metrics>,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        return;
    };
    while hangups.recv().await.is_some() {
        match tls_config(&certificate, &key) {
            Ok(config) => {
                tls.store(config);
                if let Ok(at) = ops::tls::expiry(&certificate) {
                    metrics.rdap_certificate_expires(at);
                }
                tracing::info!(certificate = %certificate.display(), "RDAP certificate read again");
            }
            Err(error) => tracing::error!(
                %error,
                "reading the RDAP certificate again failed; the previous one is kept"
            ),
        }
    }
}

/// What answers the requests of the connections [`serve`] accepts: RDAP ([`Rdap`]), or a
/// fixed answer for measuring the stack's own limit (loadtest's `http-limit`).
pub trait Handler: Send + Sync + 'static {
    /// The response to one request from `peer` over `scheme` (`http` or `https`).
    fn handle(
        self: Arc<Self>,
        request: hyper::Request<hyper::body::Incoming>,
        peer: SocketAddr,
        scheme: &'static str,
    ) -> impl Future<Output = Response> + Send;

    /// Told of a connection closed on accept because `max_connections` are open.
    fn refused_connection(&self) {}
}

impl Handler for Rdap {
    async fn handle(
        self: Arc<Self>,
        request: hyper::Request<hyper::body::Incoming>,
        peer: SocketAddr,
        scheme: &'static str,
    ) -> Response {
        handle(&self, request, peer, scheme).await
    }

    fn refused_connection(&self) {
        self.metrics.rdap_refused_connection();
    }
}

/// Serves one listener with `handler`, within the bounds of `config`; with `tls`, over TLS.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    tls: Option<Arc<ArcSwap<rustls::ServerConfig>>>,
    config: Config,
    handler: Arc<H>,
) {
    let config = Arc::new(config);
    let slots = Arc::new(Semaphore::new(config.max_connections));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accepting an RDAP connection");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            handler.refused_connection();
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (handler, config, tls) = (handler.clone(), config.clone(), tls.clone());
        tokio::spawn(async move {
            let idle = Duration::from_millis(config.idle_timeout_ms);
            match tls {
                Some(tls) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(tls.load_full());
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(idle, acceptor.accept(stream)).await
                    {
                        connection(TokioIo::new(stream), peer, "https", &config, handler).await;
                    }
                }
                None => connection(TokioIo::new(stream), peer, "http", &config, handler).await,
            }
            drop(slot);
        });
    }
}

/// Requests in flight on a connection and when the last one ended, for the idle timeout.
#[derive(Default)]
struct Activity {
    in_flight: AtomicUsize,
    last_ms: AtomicU64,
}

async fn connection<I, H: Handler>(
    io: TokioIo<I>,
    peer: SocketAddr,
    scheme: &'static str,
    config: &Config,
    handler: Arc<H>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let idle = Duration::from_millis(config.idle_timeout_ms);
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(idle)
        .max_buf_size(config.max_header_bytes)
        .max_headers(config.max_headers)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(config.max_streams)
        .max_header_list_size(config.max_header_bytes as u32);
    let started = Instant::now();
    let activity = Arc::new(Activity::default());
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |request| {
            let (handler, activity) = (handler.clone(), activity.clone());
            async move {
                activity.in_flight.fetch_add(1, Ordering::Relaxed);
                let response = handler.handle(request, peer, scheme).await;
                activity
                    .last_ms
                    .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
                activity.in_flight.fetch_sub(1, Ordering::Relaxed);
                Ok::<_, std::convert::Infallible>(response)
            }
        })
    };
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut closing = false;
    loop {
        tokio::select! {
            _ = connection.as_mut() => return,
            _ = tokio::time::sleep(idle / 4), if !closing => {
                let quiet = started.elapsed().as_millis() as u64
                    - activity.last_ms.load(Ordering::Relaxed);
                if activity.in_flight.load(Ordering::Relaxed) == 0 && quiet >= idle.as_millis() as u64 {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
            _ = tokio::time::sleep(idle), if closing => return,
        }
    }
}

/// A response with its whole body.
pub type Response = hyper::Response<Full<Bytes>>;

/// A response with RDAP's headers (`Content-Type`, CORS, `Content-Length`); with
/// `head_only`, without the body.
pub fn respond(status: u16, body: Vec<u8>, head_only: bool) -> Response {
    let length = body.len();
    let body = if head_only { Vec::new() } else { body };
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    response
}

/// The base URL for links: the configured one, else this request's scheme and host.
fn base_url(
    config: &Config,
    request: &hyper::Request<hyper::body::Incoming>,
    scheme: &str,
) -> String {
    if let Some(base) = &config.base_url {
        return base.clone();
    }
    let host = request
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            request
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
        })
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or_else(|| "localhost".into());
    format!("{scheme}://{host}/")
}

async fn handle(
    rdap: &Arc<Rdap>,
    request: hyper::Request<hyper::body::Incoming>,
    peer: SocketAddr,
    scheme: &str,
) -> Response {
    let head_only = request.method() == Method::HEAD;
    if request.method() == Method::OPTIONS {
        let mut response = respond(204, Vec::new(), true);
        let headers = response.headers_mut();
        headers.remove(header::CONTENT_LENGTH);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        );
        return response;
    }
    let base = base_url(&rdap.config, &request, scheme);
    let base_path = base
        .splitn(4, '/')
        .nth(3)
        .map(|p| format!("/{p}"))
        .unwrap_or_else(|| "/".into());
    let path = request.uri().path();
    let query = request.uri().query();
    let url = match query {
        Some(q) => format!("{base}{}?{q}", path.strip_prefix(&base_path).unwrap_or("")),
        None => format!("{base}{}", path.strip_prefix(&base_path).unwrap_or("")),
    };
    let parsed = if request.method() != Method::GET && !head_only {
        None
    } else {
        Some(match path.strip_prefix(&base_path) {
            Some(rest) => request::parse(rest, query),
            None => Err(Refused::NotFound(format!(
                "RDAP is served below {base_path}"
            ))),
        })
    };
    let Some(parsed) = parsed else {
        let ctx = context(rdap, &base, &url);
        let body = response::error(&ctx, 405, "Method Not Allowed", "RDAP answers GET and HEAD");
        let mut response = respond(405, response::to_bytes(&body), head_only);
        response.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        );
        return response;
    };
    let now = Instant::now();
    let day = u64::from(ops::unix_time() / 86_400);
    let refused_for = rdap.limiter.lock().ok().and_then(|mut l| {
        (!l.allow(peer.ip(), now, day)).then(|| {
            let next_day = (day + 1) * 86_400 - u64::from(ops::unix_time());
            l.retry_after(peer.ip(), now, next_day)
        })
    });
    if let Some(seconds) = refused_for {
        rdap.metrics.rdap_limited();
        let ctx = context(rdap, &base, &url);
        let body = response::error(&ctx, 429, "Too Many Requests", &rdap.service.texts.limited);
        let mut response = respond(429, response::to_bytes(&body), head_only);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return response;
    }
    let reply = match answer(rdap, &base, &url, parsed.clone(), Wait::No) {
        Ok(reply) => reply,
        Err(NotCached) => {
            rdap.metrics.rdap_disk_read();
            let rdap = rdap.clone();
            let blocking = move || answer(&rdap, &base, &url, parsed, Wait::Allowed);
            match tokio::task::spawn_blocking(blocking).await {
                Ok(Ok(reply)) => reply,
                _ => return respond(500, Vec::new(), head_only),
            }
        }
    };
    rdap.metrics.rdap_outcome(reply.outcome);
    let mut response = respond(reply.status, reply.body, head_only);
    if let Some(location) = reply.location.and_then(|l| HeaderValue::try_from(l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

fn context<'a>(rdap: &'a Rdap, base: &'a str, url: &'a str) -> response::Context<'a> {
    response::Context {
        base,
        url,
        texts: &rdap.service.texts,
        port43: rdap.config.port43.as_deref(),
        last_update: None,
    }
}

fn answer(
    rdap: &Rdap,
    base: &str,
    url: &str,
    request: Result<request::Request, Refused>,
    wait: Wait,
) -> Result<Reply, NotCached> {
    super::answer(&rdap.service, &rdap.config, base, url, request, wait)
}
