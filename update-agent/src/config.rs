//! The agent's configuration file (TOML): every setting but `id`, `upstream`, `upstream_key`,
//! `signing_keys` and the zones has a default; unknown keys are refused.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use satellite_protocol::keys;
use serde::Deserialize;

use zonefiles::ZoneName;

use crate::satellite::Layout;

/// The configuration file. Every setting but `id`, `upstream`, `upstream_key`,
/// `signing_keys` and the zones has a default.
///
/// ```toml
#[doc = include_str!("../../ops/deploy/config/update-agent.toml")]
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// This satellite's name, as the control plane lists it.
    pub id: String,
    /// The node key (the tunnel's private key).
    #[serde(default = "default_key")]
    pub key: PathBuf,
    /// The control plane's (or a relay's) push address, `host:port`.
    pub upstream: String,
    /// The upstream's tunnel public key (base64), pinned.
    pub upstream_key: String,
    /// The public keys changesets and snapshots must be signed with (base64).
    pub signing_keys: Vec<String>,
    /// Where partial snapshots and changeset logs are kept.
    #[serde(default = "default_state")]
    pub state: PathBuf,
    /// The WHOIS tree this satellite writes.
    #[serde(default = "default_tree")]
    pub whois_tree: PathBuf,
    /// The metrics endpoint, if any.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Changesets appended before a zone's journal is folded into a new image; a fold also
    /// waits for a 64th of the image's names in changesets (a large zone folds less often).
    #[serde(default = "default_compact")]
    pub compact_after: usize,
    /// Changesets kept in the journal after a fold (IXFR history).
    #[serde(default = "default_compact")]
    pub journal_keep: usize,
    /// Signed changesets kept per zone in the changeset log.
    #[serde(default = "default_keep")]
    pub keep_changesets: usize,
    /// The zones this satellite serves.
    #[serde(rename = "zone")]
    pub zones: Vec<ZoneConfig>,
    /// Serve agents downstream (`[relay]`).
    pub relay: Option<RelayConfig>,
    /// Count queries for the registry's monthly activity report (`[activity]`).
    pub activity: Option<ActivityConfig>,
}

/// `[activity]`: the query counts of the registry's monthly activity report, read from the
/// metrics pages of the servers beside this agent ([`crate::activity`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityConfig {
    /// edge-dns's metrics page (`metrics_listen` in its configuration), if it runs here.
    pub dns_metrics: Option<std::net::SocketAddr>,
    /// edge-whois's metrics page, if it runs here.
    pub whois_metrics: Option<std::net::SocketAddr>,
    /// Seconds between reads (60).
    #[serde(default = "default_every")]
    pub every_s: u64,
}

fn default_every() -> u64 {
    60
}

/// `[relay]`: agents served downstream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    /// Where downstream agents connect (QUIC).
    pub listen: std::net::SocketAddr,
    /// The downstream agents accepted.
    #[serde(default)]
    pub downstream: Vec<Downstream>,
}

/// A downstream agent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Downstream {
    /// Its name, as in its HELLO.
    pub id: String,
    /// Its tunnel public key (base64).
    pub key: String,
}

impl RelayConfig {
    /// The downstream agents' keys, each with its id.
    pub fn members(&self) -> anyhow::Result<HashMap<Vec<u8>, String>> {
        self.downstream
            .iter()
            .map(|d| {
                let key = keys::parse_public(&d.key).with_context(|| {
                    format!(
                        "relay.downstream {}: key is not a base64 Ed25519 public key",
                        d.id
                    )
                })?;
                Ok((key, d.id.clone()))
            })
            .collect()
    }
}

/// `[[zone]]`: a zone this satellite serves.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    /// The zone's name (any case, the final dot optional).
    pub origin: ZoneName,
    /// Its zone directory.
    pub directory: PathBuf,
}

fn default_key() -> PathBuf {
    "node.key".into()
}
fn default_state() -> PathBuf {
    "state".into()
}
fn default_tree() -> PathBuf {
    "whois".into()
}
fn default_compact() -> usize {
    1000
}
fn default_keep() -> usize {
    satellite_protocol::log::DEFAULT_KEEP
}

impl Config {
    /// Reads the file; paths in it are relative to its folder.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let mut config: Config = ops::load_config(path)?;
        for p in [&mut config.key, &mut config.state, &mut config.whois_tree] {
            ops::relative_to(path, p);
        }
        for zone in &mut config.zones {
            ops::relative_to(path, &mut zone.directory);
        }
        if config.zones.is_empty() {
            bail!(
                "{}: no [[zone]]: name the zones this satellite serves",
                path.display()
            );
        }
        Ok(config)
    }

    /// Where the satellite's data lives.
    pub fn layout(&self) -> Layout {
        Layout {
            state: self.state.clone(),
            whois_tree: self.whois_tree.clone(),
            zones: self
                .zones
                .iter()
                .map(|z| (z.origin.clone(), z.directory.clone()))
                .collect(),
            compact_after: self.compact_after.max(1),
            journal_keep: self.journal_keep,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deployment_example_is_a_valid_configuration() {
        let example = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../ops/deploy/config/update-agent.toml"
        ));
        let config = Config::load(example).unwrap();
        let relay = config.relay.as_ref().unwrap();
        assert_eq!(relay.members().unwrap().len(), 1);
    }
}
