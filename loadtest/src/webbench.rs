//! The registrars' web page under measurement: one registrar logged in over HTTPS (the form,
//! its CSRF cookie, the session cookie), then each page asked in turn over one keep-alive
//! HTTP/1.1 connection, one request at a time, and each page's latency kept in a histogram:
//! what a registrar's browser waits for, page by page.
//!
//! The client is std sockets with rustls and a hand-written HTTP/1.1 exchange (the response
//! read by [`crate::rdapbench::read_response`], as the RDAP load's), so that its own cost stays
//! small beside the server's.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use rustls::pki_types::ServerName;

/// One TLS connection to the page, with the cookies it was given.
pub struct Browser {
    stream: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    cookies: Vec<(String, String)>,
}

/// A response: its status, its `Set-Cookie` pairs, its body.
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: String,
    cookies: Vec<(String, String)>,
}

impl Browser {
    /// Connects to `server`, trusting the certificate in `ca` for `localhost`.
    pub fn connect(server: SocketAddr, ca: &Path) -> anyhow::Result<Browser> {
        let mut config = (*control_plane::front::tls::client_config(ca)?).clone();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let name = ServerName::try_from("localhost").expect("a valid name");
        let connection = rustls::ClientConnection::new(Arc::new(config), name)?;
        let socket =
            TcpStream::connect(server).with_context(|| format!("connecting to {server}"))?;
        socket.set_nodelay(true)?;
        socket.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Browser {
            stream: rustls::StreamOwned::new(connection, socket),
            cookies: Vec::new(),
        })
    }

    /// One request and its response (`form`: a POST with that urlencoded body).
    pub fn exchange(&mut self, path: &str, form: Option<&str>) -> anyhow::Result<Reply> {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        let mut request = match form {
            Some(body) => format!(
                "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                body.len()
            ),
            None => format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n"),
        };
        if !cookie.is_empty() {
            request.push_str(&format!("Cookie: {}\r\n", cookie.join("; ")));
        }
        request.push_str("\r\n");
        request.push_str(form.unwrap_or(""));
        self.stream.write_all(request.as_bytes())?;
        let mut buf = Vec::new();
        let head_len = crate::rdapbench::read_response(&mut self.stream, &mut buf)?;
        let head = String::from_utf8_lossy(&buf[..head_len]).to_string();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .context("a status line")?;
        let cookies = head
            .lines()
            .filter_map(|l| {
                let (n, v) = l.split_once(':')?;
                if !n.eq_ignore_ascii_case("set-cookie") {
                    return None;
                }
                let pair = v.trim().split(';').next()?;
                let (name, value) = pair.split_once('=')?;
                Some((name.to_string(), value.to_string()))
            })
            .collect::<Vec<_>>();
        for (name, value) in &cookies {
            self.cookies.retain(|(n, _)| n != name);
            if !value.is_empty() {
                self.cookies.push((name.clone(), value.clone()));
            }
        }
        Ok(Reply {
            status,
            body: String::from_utf8_lossy(&buf[head_len..]).to_string(),
            cookies,
        })
    }

    /// Logs in as `registrar` with `password`.
    pub fn log_in(&mut self, registrar: u32, password: &str) -> anyhow::Result<()> {
        let form = self.exchange("/login", None)?;
        let at = form
            .body
            .find("name=\"csrf\" value=\"")
            .context("the log-in form")?
            + 19;
        let csrf = form.body[at..]
            .split('"')
            .next()
            .unwrap_or_default()
            .to_string();
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("registrar", &registrar.to_string())
            .append_pair("password", password)
            .append_pair("csrf", &csrf)
            .finish();
        let reply = self.exchange("/login", Some(&body))?;
        if reply.status != 303 || !reply.cookies.iter().any(|(n, _)| n == "__Host-session") {
            bail!("the log-in was refused ({})", reply.status);
        }
        Ok(())
    }
}

/// One page's latencies.
pub struct PageStats {
    /// The path asked.
    pub path: String,
    /// Latencies in microseconds.
    pub latency: Histogram<u64>,
}

/// Logs in, then asks each path `count` times in turn (one request at a time); every answer
/// must be 200. Returns each path's latencies.
pub fn run(
    server: SocketAddr,
    ca: &Path,
    registrar: u32,
    password: &str,
    paths: &[String],
    count: usize,
) -> anyhow::Result<Vec<PageStats>> {
    let mut browser = Browser::connect(server, ca)?;
    browser.log_in(registrar, password)?;
    let mut stats: Vec<PageStats> = paths
        .iter()
        .map(|p| PageStats {
            path: p.clone(),
            latency: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
        })
        .collect();
    for _ in 0..count {
        for page in &mut stats {
            let started = Instant::now();
            let reply = browser.exchange(&page.path, None)?;
            let took = started.elapsed().as_micros() as u64;
            if reply.status != 200 {
                bail!("{} answered {}", page.path, reply.status);
            }
            page.latency.saturating_record(took.max(1));
        }
    }
    Ok(stats)
}
