//! `control-plane srrp` and `control-plane epp`: one SRRP request, or one EPP session, from
//! the command line (registrars use their own clients).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use control_plane::front::client;
use control_plane::front::srrp::grammar::{Request, VERSION};
use control_plane::front::tls;

/// One SRRP request.
#[derive(clap::Args)]
pub struct SrrpArgs {
    /// The server.
    #[arg(long, default_value = "127.0.0.1:1700")]
    server: SocketAddr,
    #[command(flatten)]
    tls: ClientTls,
    /// The command, e.g. CREATE.
    command: String,
    /// The object, e.g. DOMAIN.
    object: String,
    /// Attributes, e.g. registrar-id=1001 domain-name=example.tld.
    attributes: Vec<String>,
}

/// One EPP session.
#[derive(clap::Args)]
pub struct EppArgs {
    /// The server.
    #[arg(long, default_value = "127.0.0.1:700")]
    server: SocketAddr,
    #[command(flatten)]
    tls: ClientTls,
    /// The registrar id to log in as (`<clID>`).
    #[arg(long)]
    client: String,
    /// Its password.
    #[arg(long)]
    password: String,
    /// Also print the greeting.
    #[arg(long)]
    greeting: bool,
    /// Documents to send, each a whole `<epp>` document (`-`: standard input).
    documents: Vec<PathBuf>,
}

/// How a registrar client reaches the server over TLS.
#[derive(clap::Args)]
pub struct ClientTls {
    /// The certificate to trust (PEM).
    #[arg(long)]
    ca: PathBuf,
    /// The name the certificate is checked against.
    #[arg(long, default_value = "localhost")]
    server_name: String,
    /// A client certificate to present (PEM), for registrars with a pinned one.
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[arg(long)]
    key: Option<PathBuf>,
}

impl ClientTls {
    fn config(&self) -> Result<Arc<rustls::ClientConfig>> {
        Ok(match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => tls::client_config_with_identity(&self.ca, cert, key)?,
            _ => tls::client_config(&self.ca)?,
        })
    }
}

/// Sends the request and prints the response.
pub fn srrp(args: SrrpArgs) -> Result<()> {
    let SrrpArgs {
        server,
        tls,
        command,
        object,
        attributes,
    } = args;
    let request = Request {
        command: command.to_ascii_uppercase(),
        object: object.to_ascii_uppercase(),
        protocol: VERSION.to_string(),
        attributes: attributes
            .iter()
            .map(|a| {
                a.split_once('=')
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .with_context(|| format!("{a:?} is not attribute=value"))
            })
            .collect::<Result<_>>()?,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let config = tls.config()?;
    let response = runtime.block_on(client::send(server, &tls.server_name, config, &request))?;
    let wire = response.render();
    print!("{}", String::from_utf8_lossy(&wire[..wire.len() - 1]));
    Ok(())
}

/// Logs in, sends the documents, prints each response, logs out.
pub fn epp(args: EppArgs) -> Result<()> {
    let EppArgs {
        server,
        tls,
        client: id,
        password,
        greeting,
        documents,
    } = args;
    let documents = documents
        .iter()
        .map(|path| {
            if path.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).context("reading standard input")
            } else {
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let config = tls.config()?;
    let responses = runtime.block_on(client::epp_session(
        server,
        &tls.server_name,
        config,
        &id,
        &password,
        &documents,
    ))?;
    for response in &responses[usize::from(!greeting)..] {
        println!("{response}");
    }
    Ok(())
}
