//! Minimal registrar clients for operators and tests (registrars use their own): SRRP, one
//! request per TLS connection as the protocol has it (`control-plane srrp`), an EPP session
//! that logs in, sends documents and logs out (`control-plane epp`), and an RRP session that
//! sends requests as they are written (`openssl s_client -crlf` does the same by hand).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;

use crate::front::epp::frame;
use crate::front::srrp::grammar::{Request, Response};

async fn connect(
    address: SocketAddr,
    server_name: &str,
    config: Arc<rustls::ClientConfig>,
) -> anyhow::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .with_context(|| format!("connecting to {address}"))?;
    stream.set_nodelay(true)?;
    let name = ServerName::try_from(server_name.to_string())
        .with_context(|| format!("{server_name:?} is not a server name"))?;
    TlsConnector::from(config)
        .connect(name, stream)
        .await
        .context("TLS handshake")
}

async fn epp_read<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> anyhow::Result<String> {
    let mut header = [0u8; frame::HEADER];
    stream
        .read_exact(&mut header)
        .await
        .context("the server closed the session")?;
    let mut payload = vec![0u8; frame::length(header, 16 << 20)?];
    stream.read_exact(&mut payload).await?;
    Ok(String::from_utf8(payload)?)
}

/// An EPP session: the greeting, `<login>` as `client` (naming every object and extension
/// the server offers; refused logins are an error), each document in turn, `<logout>`.
/// Returns the greeting and the documents' responses, in order.
pub async fn epp_session(
    address: SocketAddr,
    server_name: &str,
    config: Arc<rustls::ClientConfig>,
    client: &str,
    password: &str,
    documents: &[String],
) -> anyhow::Result<Vec<String>> {
    use crate::front::epp::xml::escape;
    let mut tls = connect(address, server_name, config).await?;
    let greeting = epp_read(&mut tls).await?;
    let mut services = String::new();
    for object in crate::front::epp::OBJECTS {
        services.push_str(&format!("<objURI>{object}</objURI>"));
    }
    services.push_str("<svcExtension>");
    for extension in crate::front::epp::EXTENSIONS {
        services.push_str(&format!("<extURI>{extension}</extURI>"));
    }
    services.push_str("</svcExtension>");
    let login = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><epp xmlns="{}"><command><login><clID>{}</clID><pw>{}</pw><options><version>1.0</version><lang>en</lang></options><svcs>{services}</svcs></login><clTRID>cli-login</clTRID></command></epp>"#,
        crate::front::epp::EPP,
        escape(client),
        escape(password)
    );
    let logout = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><epp xmlns="{}"><command><logout/><clTRID>cli-logout</clTRID></command></epp>"#,
        crate::front::epp::EPP
    );
    tls.write_all(&frame::encode(login.as_bytes())).await?;
    let answer = epp_read(&mut tls).await?;
    anyhow::ensure!(
        answer.contains(r#"<result code="1000">"#),
        "the login was refused: {answer}"
    );
    let mut out = vec![greeting];
    for document in documents.iter().chain(std::iter::once(&logout)) {
        tls.write_all(&frame::encode(document.as_bytes())).await?;
        out.push(epp_read(&mut tls).await?);
    }
    out.pop();
    Ok(out)
}

/// Sends one request and reads the response (up to its `%x00` or the server's close).
pub async fn send(
    address: SocketAddr,
    server_name: &str,
    config: Arc<rustls::ClientConfig>,
    request: &Request,
) -> anyhow::Result<Response> {
    let mut tls = connect(address, server_name, config).await?;
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

/// An RRP session: the greeting, then each request (whole, up to its `.` line) and its
/// response, in order; the session is left as the requests leave it (send `quit` to end it).
/// Returns the greeting and the responses as received.
pub async fn rrp_session(
    address: SocketAddr,
    server_name: &str,
    config: Arc<rustls::ClientConfig>,
    requests: &[String],
) -> anyhow::Result<Vec<String>> {
    use crate::front::rrp::grammar::find_end;
    let mut tls = connect(address, server_name, config).await?;
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut out = Vec::new();
    for request in std::iter::once(None).chain(requests.iter().map(Some)) {
        if let Some(request) = request {
            tls.write_all(request.as_bytes()).await?;
        }
        let end = loop {
            if let Some(end) = find_end(&buffer) {
                break end;
            }
            let n = tls.read(&mut chunk).await.context("reading a response")?;
            anyhow::ensure!(n > 0, "the server closed the session");
            buffer.extend_from_slice(&chunk[..n]);
        };
        out.push(String::from_utf8(buffer.drain(..end).collect())?);
    }
    Ok(out)
}
