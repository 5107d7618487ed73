//! RDAP load: keep-alive HTTP/1.1 clients (a connection per client, reopened after an error)
//! asking paths in turn, timed by [`crate::whoisbench::run`]; and, for comparison, the bare
//! limit of edge-whois's own HTTP stack on the same core: the same listener, connection bounds
//! and hyper settings ([`edge_whois::rdap::http::serve`]) answering every request with a fixed
//! body, and the same with the WHOIS tree's record read added (the floor of any answer made
//! from the tree).
//!
//! The client is written on std sockets rather than an HTTP client crate so that its own cost
//! per request (one write, one or two reads) stays small beside the server's.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use edge_whois::rdap::http::{self, Handler, Response};
use zonefiles::whois::ObjectKey;
use zonefiles::whois::cached::Wait;
use zonefiles::whois::tree::{Tree, TreeError};

use crate::whoisbench::Ask;

/// A keep-alive HTTP/1.1 client of one server.
pub struct KeepAlive {
    server: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl KeepAlive {
    /// A client of `server`; it connects at its first request.
    pub fn new(server: SocketAddr) -> KeepAlive {
        KeepAlive {
            server,
            stream: None,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    fn exchange(&mut self, path: &str) -> std::io::Result<Vec<u8>> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.server)?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            self.stream = Some(stream);
        }
        let stream = self.stream.as_mut().expect("connected");
        stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n").as_bytes())?;
        let head_len = read_response(stream, &mut self.buf)?;
        Ok(self.buf[head_len..].to_vec())
    }
}

/// Reads one HTTP/1.1 response with a `Content-Length` from `stream` into `buf` (cleared
/// first): the head, then as much body as it says. Returns the head's length; the body is the
/// rest of `buf`.
pub fn read_response(stream: &mut impl Read, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    buf.clear();
    let mut chunk = [0u8; 16 * 1024];
    let (head_len, body_len) = loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or_else(|| std::io::Error::other("no content-length"))?;
            break (end + 4, length);
        }
        if buf.len() > 64 * 1024 {
            return Err(std::io::Error::other("a response head over 64 KiB"));
        }
    };
    while buf.len() < head_len + body_len {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    buf.truncate(head_len + body_len);
    Ok(head_len)
}

impl Ask for KeepAlive {
    fn ask(&mut self, path: &str) -> std::io::Result<Vec<u8>> {
        let answer = self.exchange(path);
        if answer.is_err() {
            self.stream = None;
        }
        answer
    }
}

/// Answers every request with the same body; with a tree, after reading the record a
/// `/domain/<name>` path names, as edge-whois reads it (from memory, else on a blocking
/// thread), so the cost of the tree's one-file-per-object read is measured apart from
/// everything RDAP adds.
struct Fixed {
    body: Bytes,
    tree: Option<Tree>,
}

impl Handler for Fixed {
    async fn handle(
        self: Arc<Self>,
        request: hyper::Request<hyper::body::Incoming>,
        _peer: SocketAddr,
        _scheme: &'static str,
    ) -> Response {
        let name = request
            .uri()
            .path()
            .strip_prefix("/domain/")
            .map(str::to_owned);
        if let (Some(tree), Some(name)) = (&self.tree, name) {
            let key = ObjectKey::Domain(name);
            if let Err(TreeError::NotCached) = tree.read(&key, Wait::No) {
                let this = self.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    this.tree
                        .as_ref()
                        .map(|t| t.read(&key, Wait::Allowed).is_ok())
                })
                .await;
            }
        }
        http::respond(200, self.body.to_vec(), false)
    }
}

/// Serves `answer_len` bytes to every request on `listen`, on edge-whois's HTTP stack with its
/// default bounds and a runtime built as edge-whois builds its own; with `tree`, reading the
/// record each `/domain/<name>` request names first. Runs until the process ends.
pub fn serve_limit(
    listen: SocketAddr,
    answer_len: usize,
    tree: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let tree = tree.map(Tree::open).transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let fixed = Arc::new(Fixed {
            body: Bytes::from(vec![b'x'; answer_len]),
            tree,
        });
        http::serve(listener, None, edge_whois::rdap::Config::default(), fixed).await;
        anyhow::Ok(())
    })
}
