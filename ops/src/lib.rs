//! What every Constellation binary needs, written once: its configuration file, structured
//! logs, the Prometheus endpoint and its page ([`metrics`]), the clock, stopping on a signal, writing its keys and
//! reading its TLS certificates ([`tls`]), and reading another's metrics ([`scrape`]). Every server and the
//! update-agent use it. It depends on no other crate of the workspace, so every one can depend
//! on it; the `constellation` command (`src/bin/constellation`) starts the other binaries as
//! processes rather than linking them.

pub mod metrics;
pub mod process;
pub mod scrape;
pub mod tls;

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A configuration file that cannot be read, or does not parse.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// The file cannot be read.
    #[error("reading the configuration {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML does not parse, or names a setting that does not exist.
    #[error("in the configuration {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where and why (line, column, the setting).
        source: toml::de::Error,
    },
}

/// Reads a TOML configuration file into `T` (which refuses unknown keys and has a default for
/// every setting), with errors that name the file and the line.
pub fn load_config<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ConfigFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigFileError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// Makes a path from a configuration file absolute against the file's folder.
pub fn relative_to(config: &Path, path: &mut PathBuf) {
    if path.is_relative() {
        *path = config.parent().unwrap_or(Path::new(".")).join(&*path);
    }
}

/// Writes a secret (a private key) to a new file of mode 0600, durably; refuses a file that
/// exists, so a key is never overwritten.
pub fn write_secret(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Sets up logging to standard error: `RUST_LOG` filters (default `info`), and colour only
/// when standard error is a terminal (files and journald get plain text).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
}

/// Seconds since 1970 (UTC).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Seconds since 1970 as DNS and WHOIS timestamps count them (32 bits).
pub fn unix_time() -> u32 {
    now() as u32
}

pub use metrics::Page;

/// Serves Prometheus metrics: `GET /metrics` (or `/`) gets `page()` as HTTP/1.1 text in the
/// exposition format, anything else 404; one request per connection, read within 5 s. A
/// failing accept (out of descriptors, say) is retried after a pause rather than in a loop.
pub async fn serve_metrics(listener: tokio::net::TcpListener, page: Page) {
    loop {
        let mut stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!(%error, "accepting a metrics connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let page = page.clone();
        tokio::spawn(async move {
            let mut request = [0u8; 2048];
            let read =
                tokio::time::timeout(Duration::from_secs(5), stream.read(&mut request)).await;
            let Ok(Ok(n)) = read else { return };
            let head = String::from_utf8_lossy(&request[..n]);
            let (status, body) = if head.starts_with("GET /metrics ") || head.starts_with("GET / ")
            {
                ("200 OK", metrics::render(&page))
            } else {
                ("404 Not Found", "not found: try /metrics\n".to_owned())
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                metrics::CONTENT_TYPE,
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

/// Completes at SIGINT or SIGTERM.
pub async fn stopped() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn metrics_page_and_404() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            tokio::spawn(serve_metrics(
                listener,
                Arc::new(|out: &mut metrics::Writer<'_, '_>| out.gauge("up", "Up.", 1i64)),
            ));
            for (path, expect) in [("/metrics", "200 OK"), ("/", "200 OK"), ("/other", "404")] {
                let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
                stream
                    .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                    .await
                    .unwrap();
                let mut answer = String::new();
                stream.read_to_string(&mut answer).await.unwrap();
                assert!(
                    answer.starts_with(&format!("HTTP/1.1 {expect}")),
                    "{answer}"
                );
                if expect == "200 OK" {
                    assert!(answer.ends_with("\nup 1\n"), "{answer}");
                    assert!(answer.contains("text/plain; version=0.0.4"), "{answer}");
                }
            }
        });
    }
}
