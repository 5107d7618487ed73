//! A minimal SRRP client: one request per TLS connection, as the protocol has it. The
//! `control-plane srrp` command and the tests use it; registrars use their own.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;

use crate::srrp::{Request, Response};

/// Sends one request and reads the response (up to its `%x00` or the server's close).
pub async fn send(
    address: SocketAddr,
    server_name: &str,
    config: Arc<rustls::ClientConfig>,
    request: &Request,
) -> anyhow::Result<Response> {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .with_context(|| format!("connecting to {address}"))?;
    stream.set_nodelay(true)?;
    let name = ServerName::try_from(server_name.to_string())
        .with_context(|| format!("{server_name:?} is not a server name"))?;
    let mut tls = TlsConnector::from(config)
        .connect(name, stream)
        .await
        .context("TLS handshake")?;
    tls.write_all(&request.render()).await?;
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match tls.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => {
                received.extend_from_slice(&chunk[..n]);
                if received.contains(&0) {
                    break;
                }
            }
            Err(e) if received.is_empty() => return Err(e).context("reading the response"),
            Err(_) => break,
        }
    }
    Response::parse(&received).context("the server closed the connection without a response")
}
