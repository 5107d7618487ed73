//! The constellation's manifest, `constellation.toml`: where each part's metrics endpoint is,
//! for `status`. `up` writes one; for a deployment, write it by hand:
//!
//! ```toml
//! control_plane_metrics = "10.0.0.1:9155"
//! zones = ["name"]
//!
//! [[satellite]]
//! name = "ams-1"                       # as the control plane lists it
//! agent_metrics = "10.1.0.1:9156"      # update-agent
//! dns_metrics = "10.1.0.1:9153"        # edge-dns
//! whois_metrics = "10.1.0.1:9154"      # edge-whois
//! ```
//!
//! `verify` also needs, where the control plane and the satellites share a host (as `up`'s do),
//! `control_plane_config` and each satellite's `agent_config`; across hosts, run
//! `update-agent verify` on each satellite with a copy of the registry's export.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The manifest.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The control plane's metrics endpoint.
    pub control_plane_metrics: SocketAddr,
    /// The zones the constellation serves.
    pub zones: Vec<String>,
    /// The control plane's configuration file, when it is on this host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_plane_config: Option<PathBuf>,
    /// The satellites.
    #[serde(rename = "satellite", default)]
    pub satellites: Vec<Satellite>,
}

/// One satellite's endpoints.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Satellite {
    /// Its name.
    pub name: String,
    /// The update-agent's metrics.
    pub agent_metrics: SocketAddr,
    /// edge-dns's metrics.
    pub dns_metrics: SocketAddr,
    /// edge-whois's metrics.
    pub whois_metrics: SocketAddr,
    /// The update-agent's configuration file, when it is on this host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_config: Option<PathBuf>,
}

impl Manifest {
    /// Reads a manifest.
    pub fn load(path: &Path) -> anyhow::Result<Manifest> {
        ops::load_config(path).with_context(|| {
            format!(
                "{} describes the constellation: `constellation up` writes one, or see `constellation status --help`",
                path.display()
            )
        })
    }

    /// Writes it.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let text = toml::to_string_pretty(self)?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
    }
}
