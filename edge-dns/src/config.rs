//! The configuration file (TOML). Every field has a default; an empty file serves nothing
//! and says so.
//!
//! ```toml
#![doc = include_str!("../../ops/deploy/config/edge-dns.toml")]
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::acl::{Prefix, PrefixError};
use crate::tsig::KeyError;

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read or does not parse.
    #[error(transparent)]
    File(#[from] ops::ConfigFileError),
    /// A setting has a value it cannot have.
    #[error("{0}")]
    Invalid(String),
    /// An address prefix does not read.
    #[error("{setting}: {source}")]
    Prefix {
        /// Where it is.
        setting: String,
        /// What is wrong with it.
        source: PrefixError,
    },
    /// A TSIG key cannot be used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The system gave no randomness for a cookie secret.
    #[error("no system randomness for the cookie secret")]
    Randomness,
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Addresses to answer on (UDP and TCP); default 127.0.0.1:5300, for trying it out.
    pub listen: Vec<SocketAddr>,
    /// UDP worker threads; 0 means one per core.
    pub workers: usize,
    /// Pin each UDP worker to its own core (among those the process may use).
    pub pin_workers: bool,
    /// Identity for NSID and CHAOS `id.server`; the host name when absent.
    pub identity: Option<String>,
    /// Answer to CHAOS `version.bind`; refused when absent.
    pub version: Option<String>,
    /// The receive buffer of each UDP socket, in bytes. Deeper buffers absorb longer bursts
    /// but let queries wait longer when the server falls behind.
    pub udp_receive_buffer: usize,
    /// Microseconds a UDP worker polls its idle socket before sleeping (0: sleeps at once).
    pub busy_poll_us: u64,
    /// The largest UDP response and the EDNS payload size announced.
    pub max_udp_payload: u16,
    /// Leave the zone's NS RRset out of positive answers.
    pub minimal_responses: bool,
    /// Where Prometheus scrapes `/metrics`; off when absent.
    pub metrics_listen: Option<SocketAddr>,
    /// DNS cookies.
    pub cookies: Cookies,
    /// Response rate limiting.
    pub rate_limit: RateLimit,
    /// TCP limits.
    pub tcp: Tcp,
    /// TSIG keys for zone transfers and NOTIFY.
    pub key: Vec<KeyConfig>,
    /// The zones served.
    pub zone: Vec<ZoneConfig>,
}

/// TCP limits (RFC 7766 §6.2).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tcp {
    /// Connections open at once; when all are open, the one idle the longest is closed to make
    /// room (or the newcomer, if none is idle).
    pub max_connections: usize,
    /// Connections one client (an IPv4 address, an IPv6 /64) may hold at once.
    pub max_connections_per_client: usize,
    /// Idle time before a connection is closed, in milliseconds.
    pub idle_timeout_ms: u64,
    /// Queries answered on one connection before it is closed; 0 for no limit (RFC 7766 §6.2.1
    /// asks servers not to close connections that are in use).
    pub max_queries: u32,
}

/// Response rate limiting on UDP (see [`crate::rrl`]); clients with a valid server cookie,
/// TCP and the `exempt` networks are never limited.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimit {
    /// Responses per second allowed to one client network for one kind of response (the
    /// same answer, referral, wildcard, or the same zone's denials); 0 turns limiting off.
    pub responses_per_second: u32,
    /// Every `slip`-th limited response goes out truncated, so a real resolver retries over
    /// TCP; 1 truncates them all, 0 drops them all.
    pub slip: u32,
    /// IPv4 clients are counted by networks of this length.
    pub ipv4_prefix: u8,
    /// IPv6 clients are counted by networks of this length.
    pub ipv6_prefix: u8,
    /// Networks never limited (`192.0.2.0/24`, `2001:db8::/32`, or addresses).
    pub exempt: Vec<String>,
    /// Buckets in the table all flows share (rounded up to a power of two; 8 bytes each).
    pub table_size: usize,
}

impl Default for RateLimit {
    fn default() -> RateLimit {
        RateLimit {
            responses_per_second: 200,
            slip: 2,
            ipv4_prefix: 24,
            ipv6_prefix: 56,
            exempt: vec!["127.0.0.0/8".into(), "::1".into()],
            table_size: 1 << 18,
        }
    }
}

/// DNS cookies (RFC 7873, server cookies as RFC 9018).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Cookies {
    /// Answer cookies at all.
    pub enabled: bool,
    /// The 128-bit secret as 32 hex digits; a random one is made at start when absent (then
    /// cookies from other satellites, or from before a restart, are replaced, not rejected).
    pub secret: Option<String>,
    /// A previous secret whose cookies are still accepted.
    pub previous_secret: Option<String>,
}

impl Default for Cookies {
    fn default() -> Cookies {
        Cookies {
            enabled: true,
            secret: None,
            previous_secret: None,
        }
    }
}

impl Cookies {
    /// The secrets the engine uses, or `None` when cookies are off.
    pub fn secrets(&self) -> Result<Option<crate::engine::CookieSecrets>, ConfigError> {
        if !self.enabled {
            return Ok(None);
        }
        let current = match &self.secret {
            Some(text) => secret(text, "cookies.secret")?,
            None => {
                let mut bytes = [0u8; 16];
                ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
                    .map_err(|_| ConfigError::Randomness)?;
                bytes
            }
        };
        let previous = match &self.previous_secret {
            Some(text) => Some(secret(text, "cookies.previous_secret")?),
            None => None,
        };
        Ok(Some(crate::engine::CookieSecrets { current, previous }))
    }
}

/// A 128-bit secret written as 32 hex digits (the setting named `setting`).
fn secret(text: &str, setting: &str) -> Result<[u8; 16], ConfigError> {
    let digits = text.trim().as_bytes();
    let bad = || {
        ConfigError::Invalid(format!(
            "{setting}: a secret is 32 hex digits (try: openssl rand -hex 16)"
        ))
    };
    if digits.len() != 32 {
        return Err(bad());
    }
    let mut bytes = [0u8; 16];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks(2)) {
        let text = std::str::from_utf8(pair).map_err(|_| bad())?;
        *byte = u8::from_str_radix(text, 16).map_err(|_| bad())?;
    }
    Ok(bytes)
}

/// One zone: a compiled image, or a zone directory that is followed as it changes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    /// A compiled zone image (`zonefiles compile`), reopened on SIGHUP.
    pub image: Option<PathBuf>,
    /// A zone directory (`zonefiles dir init`): its current image and journal are followed,
    /// and every change is served within milliseconds.
    pub directory: Option<PathBuf>,
    /// Who may transfer the zone (AXFR/IXFR); nobody when empty.
    #[serde(default)]
    pub allow_transfer: Vec<TransferRule>,
    /// Secondaries told of every new serial (NOTIFY, RFC 1996).
    #[serde(default)]
    pub notify: Vec<NotifyTarget>,
}

/// One rule for zone transfers: a request is allowed when it matches every condition given.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRule {
    /// The TSIG key the request must be signed with (`[[key]]` name); any or none if absent.
    pub key: Option<String>,
    /// Address prefixes the request may come from (`192.0.2.0/24`, `2001:db8::/32`); any if
    /// empty.
    #[serde(default)]
    pub from: Vec<String>,
}

/// A secondary to NOTIFY.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyTarget {
    /// Its address and port.
    pub address: SocketAddr,
    /// The TSIG key to sign the NOTIFY with (`[[key]]` name).
    pub key: Option<String>,
}

/// A TSIG key (RFC 8945).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// The key's name, as secondaries configure it (e.g. `xfr.example.`).
    pub name: String,
    /// `hmac-sha256`, `hmac-sha384` or `hmac-sha512`.
    pub algorithm: String,
    /// The secret, base64 (as `tsig-keygen` prints it).
    pub secret: String,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: vec!["127.0.0.1:5300".parse().expect("valid address")],
            workers: 0,
            pin_workers: true,
            identity: None,
            version: None,
            udp_receive_buffer: 1 << 20,
            busy_poll_us: 0,
            max_udp_payload: 1232,
            minimal_responses: false,
            metrics_listen: Some("127.0.0.1:9153".parse().expect("valid address")),
            cookies: Cookies::default(),
            rate_limit: RateLimit::default(),
            tcp: Tcp::default(),
            key: Vec::new(),
            zone: Vec::new(),
        }
    }
}

impl Default for Tcp {
    fn default() -> Tcp {
        Tcp {
            max_connections: 1024,
            max_connections_per_client: 64,
            idle_timeout_ms: 10_000,
            max_queries: 0,
        }
    }
}

impl Config {
    /// Reads a configuration file; paths in it are taken relative to the file's folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = ops::load_config(path)?;
        for zone in &mut config.zone {
            for source in [&mut zone.image, &mut zone.directory].into_iter().flatten() {
                ops::relative_to(path, source);
            }
        }
        config.check()?;
        if !(512..=65535).contains(&config.max_udp_payload) {
            return Err(ConfigError::Invalid(
                "max_udp_payload must be between 512 and 65535".into(),
            ));
        }
        config.cookies.secrets()?;
        Ok(config)
    }

    /// Checks what serde cannot: one source per zone, known key names, valid prefixes.
    pub fn check(&self) -> Result<(), ConfigError> {
        let invalid = |text: String| Err(ConfigError::Invalid(text));
        let prefix = |text: &str, setting: String| {
            Prefix::parse(text).map_err(|source| ConfigError::Prefix { setting, source })
        };
        for (i, zone) in self.zone.iter().enumerate() {
            if zone.image.is_some() == zone.directory.is_some() {
                return invalid(format!("zone {}: give either image or directory", i + 1));
            }
            let keys = zone
                .allow_transfer
                .iter()
                .filter_map(|r| r.key.as_ref())
                .chain(zone.notify.iter().filter_map(|n| n.key.as_ref()));
            for key in keys {
                if !self.key.iter().any(|k| &k.name == key) {
                    return invalid(format!(
                        "zone {}: key {key:?} is not defined in a [[key]]",
                        i + 1
                    ));
                }
            }
            for text in zone.allow_transfer.iter().flat_map(|r| &r.from) {
                prefix(text, format!("zone {}: allow_transfer", i + 1))?;
            }
        }
        for key in &self.key {
            crate::tsig::Key::from_config(key)?;
        }
        let limits = &self.rate_limit;
        if limits.responses_per_second > crate::rrl::MAX_RATE {
            return invalid(format!(
                "rate_limit.responses_per_second is at most {} (0 turns limiting off)",
                crate::rrl::MAX_RATE
            ));
        }
        if limits.ipv4_prefix > 32 || limits.ipv6_prefix > 128 {
            return invalid(
                "rate_limit: ipv4_prefix is at most 32 and ipv6_prefix at most 128".into(),
            );
        }
        for text in &limits.exempt {
            prefix(text, "rate_limit.exempt".into())?;
        }
        Ok(())
    }

    /// The number of UDP workers to run.
    pub fn worker_count(&self) -> usize {
        match self.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
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
            "/../ops/deploy/config/edge-dns.toml"
        ));
        Config::load(example).unwrap();
    }

    /// The example shipped with the crate stays a valid configuration.
    #[test]
    fn example_configuration_reads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("edge-dns.example.toml");
        let config = Config::load(&path).unwrap();
        assert_eq!(config.listen.len(), 2);
        assert_eq!(config.zone.len(), 1);
        assert_eq!(config.key.len(), 1);
        assert_eq!(config.zone[0].notify.len(), 1);
        assert_eq!(config.tcp.max_queries, 0);
    }

    #[test]
    fn unknown_settings_are_errors() {
        let dir = std::env::temp_dir().join(format!("edge-dns-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.toml");
        std::fs::write(&path, "listen = [\"127.0.0.1:53\"]\nworkerz = 2\n").unwrap();
        let error = format!("{:#}", Config::load(&path).unwrap_err());
        assert!(error.contains("workerz"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
