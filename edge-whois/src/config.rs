//! The configuration file (TOML). Every field has a default.
//!
//! ```toml
#![doc = include_str!("../../ops/deploy/config/edge-whois.toml")]
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use zonefiles::ZoneName;

use crate::limits::Limits;
use crate::render::Texts;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Addresses for port-43 service; default 127.0.0.1:4343, for trying it out.
    pub listen: Vec<SocketAddr>,
    /// The WHOIS tree.
    pub tree: PathBuf,
    /// TLDs whose names are answered (others get the "not served here" text).
    pub tlds: Vec<ZoneName>,
    /// The update listener (loopback addresses only); off when absent.
    pub update_listen: Option<SocketAddr>,
    /// The update listener on a Unix socket, created with mode 0600 and owned by `user` when
    /// one is set: only that user (and root) can write. Off when absent.
    pub update_socket: Option<PathBuf>,
    /// Prometheus metrics; off when absent.
    pub metrics_listen: Option<SocketAddr>,
    /// A user to switch to once the listening sockets are open.
    pub user: Option<String>,
    /// The longest query line, in bytes.
    pub max_line: usize,
    /// Time to send the query, and to take the answer, in milliseconds.
    pub timeout_ms: u64,
    /// Connections open at once.
    pub max_connections: usize,
    /// Update connections open at once (more are closed at once).
    pub update_max_connections: usize,
    /// The largest update command, record included, in bytes.
    pub update_max_bytes: usize,
    /// Results of a search shown before "more results omitted".
    pub max_results: usize,
    /// The operator's texts.
    pub texts: Texts,
    /// Per-client limits (port 43 and RDAP share them).
    pub limits: Limits,
    /// RDAP over HTTP(S); off unless it has a listener.
    pub rdap: crate::rdap::Config,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: vec!["127.0.0.1:4343".parse().expect("valid")],
            tree: PathBuf::from("whois"),
            tlds: vec![ZoneName::parse("tld").expect("a zone name")],
            update_listen: None,
            update_socket: None,
            metrics_listen: Some("127.0.0.1:9154".parse().expect("valid")),
            user: None,
            max_line: 512,
            timeout_ms: 10_000,
            max_connections: 4096,
            update_max_connections: 16,
            update_max_bytes: 64 * 1024,
            max_results: 50,
            texts: Texts::default(),
            limits: Limits::default(),
            rdap: crate::rdap::Config::default(),
        }
    }
}

impl Config {
    /// Reads a configuration; paths in it are relative to its folder.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let mut config: Config = ops::load_config(path)?;
        ops::relative_to(path, &mut config.tree);
        for file in [&mut config.rdap.certificate, &mut config.rdap.key]
            .into_iter()
            .flatten()
        {
            ops::relative_to(path, file);
        }
        config.check()?;
        Ok(config)
    }

    /// Checks what serde cannot.
    pub fn check(&self) -> anyhow::Result<()> {
        if let Some(addr) = self.update_listen {
            anyhow::ensure!(
                addr.ip().is_loopback(),
                "update_listen must be a loopback address (it writes the WHOIS data)"
            );
        }
        for tld in &self.tlds {
            anyhow::ensure!(
                !tld.contains('.'),
                "tlds: {tld:?} must be one label (a top-level domain)"
            );
        }
        anyhow::ensure!(
            (16..=4096).contains(&self.max_line),
            "max_line must be 16 to 4096"
        );
        crate::limits::Limiter::new(self.limits.clone())?;
        self.rdap.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deployment_example_is_a_valid_configuration() {
        let example = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../ops/deploy/config/edge-whois.toml"
        ));
        Config::load(example).unwrap();
    }

    /// The example shipped with the crate stays a valid configuration.
    #[test]
    fn example_configuration_reads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("edge-whois.example.toml");
        let config = Config::load(&path).unwrap();
        assert_eq!(config.listen.len(), 2);
        assert_eq!(config.limits.ipv6_prefix, 64);
    }

    #[test]
    fn the_update_listener_stays_on_loopback() {
        let config = Config {
            update_listen: Some("192.0.2.1:4344".parse().unwrap()),
            ..Config::default()
        };
        assert!(config.check().is_err());
    }
}
