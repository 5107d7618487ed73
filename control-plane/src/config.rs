//! The configuration file (TOML). Every setting has a default; unknown keys are refused.
//!
//! ```toml
#![doc = include_str!("../../ops/deploy/config/control-plane.toml")]
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The registry database (SQLite).
    pub database: PathBuf,
    /// The Ed25519 key that signs changesets.
    pub signing_key: PathBuf,
    /// Public keys (`.pub` files) of signing keys retired by a rotation, whose changesets are
    /// still in the journal.
    pub previous_public_keys: Vec<PathBuf>,
    /// The recovery public key (`recovery.pub`) registry records are sealed to; without it
    /// satellites carry no record and the registry cannot be rebuilt from them
    /// ([`crate::operator::recovery`]).
    pub recovery_key: Option<PathBuf>,
    /// Prometheus metrics listener; off when absent.
    pub metrics_listen: Option<SocketAddr>,
    /// Seconds between sweeps that move deleted domains on (redemption period over, purge).
    pub sweep_interval_s: u64,
    /// Days a registrar's service message (EPP poll) is kept unread before the sweep removes
    /// it; 0 keeps it until acknowledged.
    pub message_days: u32,
    /// The SRRP listener.
    pub srrp: Srrp,
    /// The EPP listener.
    pub epp: Epp,
    /// The RRP listener.
    pub rrp: Rrp,
    /// The registrars' web page.
    pub web: Web,
    /// The push service.
    pub push: Push,
    /// Escrow deposits.
    pub escrow: Escrow,
    /// DNSSEC signing of the zones `control-plane zone dnssec` turns it on for.
    pub dnssec: Dnssec,
}

/// DNSSEC signing (see [`crate::publish::dnssec`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dnssec {
    /// The folder of the zones' keys, in BIND's files (`K<zone>.+013+<tag>.key` and
    /// `.private`, as `control-plane dnssec keygen`, `zonefiles keygen -o` or `dnssec-keygen
    /// -K` make them; a `.private` file
    /// may name a key in an HSM). Their timing metadata says when each is published and signs.
    pub keys: PathBuf,
    /// Days a signature is valid.
    pub validity_days: u32,
    /// Up to how many days shorter a signature's validity is, drawn per RRset, so that
    /// signatures made together do not all expire together.
    pub jitter_days: u32,
    /// Signatures expiring within this many days are renewed: a share with every batch, and
    /// by the commit thread between batches.
    pub refresh_days: u32,
}

impl Default for Dnssec {
    fn default() -> Dnssec {
        Dnssec {
            keys: "keys/dnssec".into(),
            validity_days: 14,
            jitter_days: 2,
            refresh_days: 4,
        }
    }
}

/// Escrow deposits (see [`crate::escrow`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Escrow {
    /// The deposit folder: one folder per deposit, and `escrow.sqlite`.
    pub folder: PathBuf,
    /// The registry's OpenPGP secret key, which signs deposits (`control-plane escrow keygen`).
    pub signing_key: PathBuf,
    /// The escrow agent's OpenPGP public key, to which deposits are encrypted.
    pub agent_key: PathBuf,
    /// ICANN's OpenPGP public key, to which the weekly bulk registration data access file
    /// (`escrow deposit --kind thin`) is encrypted; none by default.
    pub brda_key: Option<PathBuf>,
    /// Largest part of a deposit, in bytes (larger deposits are split).
    pub split_bytes: u64,
    /// Days between full deposits; the deposits in between are differential.
    pub full_every_days: u32,
}

impl Default for Escrow {
    fn default() -> Escrow {
        Escrow {
            folder: "escrow".into(),
            signing_key: "keys/escrow-registry.asc".into(),
            agent_key: "keys/escrow-agent.pub.asc".into(),
            brda_key: None,
            split_bytes: 1 << 30,
            full_every_days: 7,
        }
    }
}

/// The push service's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Push {
    /// The QUIC listener; off when absent.
    pub listen: Option<SocketAddr>,
    /// This node's tunnel key (Ed25519, `keygen` writes it).
    pub key: PathBuf,
    /// Seconds between audits of every satellite's data.
    pub audit_interval_s: u64,
    /// Changesets behind beyond which a satellite is sent a snapshot (when the zone also has
    /// fewer domains than that) rather than the journal.
    pub replay_limit: u64,
    /// The share of a zone's delegation NS records it may lose within `shrink_window_s`
    /// before its publication is held for an operator ([`crate::push::guard`]); 0: never.
    pub max_shrink: f64,
    /// The window of that check, in seconds.
    pub shrink_window_s: u64,
    /// Losses of at most this many NS records are never held (small zones).
    pub shrink_floor: u64,
}

impl Push {
    /// The publication checks' settings.
    pub fn guard(&self) -> crate::push::guard::Settings {
        crate::push::guard::Settings {
            max_shrink: self.max_shrink,
            window: self.shrink_window_s as i64,
            floor: self.shrink_floor,
        }
    }
}

impl Default for Push {
    fn default() -> Push {
        Push {
            listen: None,
            key: PathBuf::from("/etc/constellation/tunnel.key"),
            audit_interval_s: 3600,
            replay_limit: 100_000,
            max_shrink: 0.10,
            shrink_window_s: 86_400,
            shrink_floor: 100,
        }
    }
}

/// The EPP listener's settings (RFC 5734 sessions; see [`crate::front::epp::server`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Epp {
    /// Addresses to listen on (EPP's port is 700); off when empty.
    pub listen: Vec<SocketAddr>,
    /// The TLS certificate chain (PEM); SRRP's when absent.
    pub certificate: Option<PathBuf>,
    /// The TLS private key (PEM); SRRP's when absent.
    pub key: Option<PathBuf>,
    /// `<svID>` in the greeting.
    pub server_id: String,
    /// The largest frame accepted, its 4-byte header included.
    pub max_frame_bytes: usize,
    /// Seconds to complete the TLS handshake.
    pub handshake_timeout_s: u64,
    /// Seconds a session may stay silent before it is closed.
    pub idle_timeout_s: u64,
    /// Seconds after which a session is closed (with 2502), whatever it does.
    pub max_session_s: u64,
    /// Failed logins before a session is closed (with 2501).
    pub max_failed_logins: u32,
    /// Sessions open at once.
    pub max_connections: usize,
    /// Sessions open at once from one address.
    pub max_connections_per_ip: usize,
    /// Sessions logged in at once as one registrar (more are answered 2502).
    pub max_sessions_per_registrar: usize,
    /// The currency prices are in (ISO 4217), as the fee extension (RFC 8748) names it.
    pub currency: String,
}

impl Default for Epp {
    fn default() -> Epp {
        Epp {
            listen: Vec::new(),
            certificate: None,
            key: None,
            server_id: "Constellation EPP".into(),
            currency: "USD".into(),
            max_frame_bytes: 64 * 1024,
            handshake_timeout_s: 10,
            idle_timeout_s: 600,
            max_session_s: 86_400,
            max_failed_logins: 3,
            max_connections: 4096,
            max_connections_per_ip: 64,
            max_sessions_per_registrar: 64,
        }
    }
}

/// The RRP listener's settings (RFC 2832 sessions; see [`crate::front::rrp::server`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rrp {
    /// Addresses to listen on (RRP's port is 648); off when empty.
    pub listen: Vec<SocketAddr>,
    /// The TLS certificate chain (PEM); SRRP's when absent.
    pub certificate: Option<PathBuf>,
    /// The TLS private key (PEM); SRRP's when absent.
    pub key: Option<PathBuf>,
    /// The server's name in the greeting.
    pub server_id: String,
    /// The largest request; a larger one ends the session (520).
    pub max_request_bytes: usize,
    /// Seconds to complete the TLS handshake.
    pub handshake_timeout_s: u64,
    /// Seconds a session may stay silent before it is closed (520).
    pub idle_timeout_s: u64,
    /// Seconds after which a session is closed (520), whatever it does.
    pub max_session_s: u64,
    /// Failed `session` commands before a session is closed (520).
    pub max_failed_logins: u32,
    /// Sessions open at once.
    pub max_connections: usize,
    /// Sessions open at once from one address.
    pub max_connections_per_ip: usize,
    /// Sessions logged in at once as one registrar (more are answered 521).
    pub max_sessions_per_registrar: usize,
}

impl Default for Rrp {
    fn default() -> Rrp {
        Rrp {
            listen: Vec::new(),
            certificate: None,
            key: None,
            server_id: "Constellation".into(),
            max_request_bytes: 16 * 1024,
            handshake_timeout_s: 10,
            idle_timeout_s: 600,
            max_session_s: 86_400,
            max_failed_logins: 3,
            max_connections: 4096,
            max_connections_per_ip: 64,
            max_sessions_per_registrar: 64,
        }
    }
}

/// The registrars' web page (see [`crate::web`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Web {
    /// Addresses to serve HTTPS on; off when empty.
    pub listen: Vec<SocketAddr>,
    /// The TLS certificate chain (PEM); SRRP's when absent.
    pub certificate: Option<PathBuf>,
    /// The TLS private key (PEM); SRRP's when absent.
    pub key: Option<PathBuf>,
    /// The registry's name in page titles.
    pub registry: String,
    /// Seconds without a request after which a session ends.
    pub session_idle_s: u64,
    /// Seconds after which a session ends, whatever it does.
    pub session_max_s: u64,
    /// Failed log-ins from one address within a minute before it is refused (429).
    pub failed_logins_per_minute: usize,
    /// A balance below this many cents is shown with a warning.
    pub low_balance: i64,
    /// Seconds for the TLS handshake and for a request's headers.
    pub timeout_s: u64,
    /// Connections open at once.
    pub max_connections: usize,
    /// Connections open at once from one address.
    pub max_connections_per_ip: usize,
}

impl Default for Web {
    fn default() -> Web {
        Web {
            listen: Vec::new(),
            certificate: None,
            key: None,
            registry: "Constellation".into(),
            session_idle_s: 1800,
            session_max_s: 43_200,
            failed_logins_per_minute: 5,
            low_balance: 100_000,
            timeout_s: 10,
            max_connections: 1024,
            max_connections_per_ip: 32,
        }
    }
}

impl Web {
    /// The web page's settings.
    pub fn settings(&self) -> crate::web::Settings {
        crate::web::Settings {
            registry: self.registry.clone(),
            session_idle: std::time::Duration::from_secs(self.session_idle_s),
            session_max: std::time::Duration::from_secs(self.session_max_s),
            failed_logins_per_minute: self.failed_logins_per_minute,
            low_balance: self.low_balance,
            timeout: std::time::Duration::from_secs(self.timeout_s),
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
        }
    }
}

/// The SRRP listener's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Srrp {
    /// Addresses to listen on.
    pub listen: Vec<SocketAddr>,
    /// The TLS certificate chain (PEM).
    pub certificate: PathBuf,
    /// The TLS private key (PEM).
    pub key: PathBuf,
    /// Milliseconds to complete the handshake and send the request.
    pub timeout_ms: u64,
    /// The largest request, in bytes.
    pub max_message_bytes: usize,
    /// Connections open at once.
    pub max_connections: usize,
    /// Connections open at once from one address.
    pub max_connections_per_ip: usize,
    /// Commands waiting per registrar.
    pub queue_per_registrar: usize,
    /// Commands per transaction.
    pub max_batch: usize,
    /// STATUS SERVER's text lines.
    pub server_info: Vec<String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            database: PathBuf::from("/var/lib/constellation/registry.db"),
            signing_key: PathBuf::from("/etc/constellation/signing.key"),
            previous_public_keys: Vec::new(),
            recovery_key: None,
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9155))),
            sweep_interval_s: 60,
            message_days: 0,
            srrp: Srrp::default(),
            epp: Epp::default(),
            rrp: Rrp::default(),
            web: Web::default(),
            push: Push::default(),
            escrow: Escrow::default(),
            dnssec: Dnssec::default(),
        }
    }
}

impl Default for Srrp {
    fn default() -> Srrp {
        Srrp {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 1700))],
            certificate: PathBuf::from("/etc/constellation/srrp.crt"),
            key: PathBuf::from("/etc/constellation/srrp.key"),
            timeout_ms: 10_000,
            max_message_bytes: 64 * 1024,
            max_connections: 4096,
            max_connections_per_ip: 256,
            queue_per_registrar: 1000,
            max_batch: 1024,
            server_info: vec![format!(
                "Constellation SRRP server {}",
                env!("CARGO_PKG_VERSION")
            )],
        }
    }
}

impl Config {
    /// Reads a configuration file; relative paths in it are taken from the file's folder.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let mut config: Config = ops::load_config(path)?;
        for p in [
            &mut config.database,
            &mut config.signing_key,
            &mut config.srrp.certificate,
            &mut config.srrp.key,
            &mut config.push.key,
            &mut config.escrow.folder,
            &mut config.escrow.signing_key,
            &mut config.escrow.agent_key,
            &mut config.dnssec.keys,
        ]
        .into_iter()
        .chain(config.previous_public_keys.iter_mut())
        .chain(config.epp.certificate.as_mut())
        .chain(config.epp.key.as_mut())
        .chain(config.rrp.certificate.as_mut())
        .chain(config.rrp.key.as_mut())
        .chain(config.web.certificate.as_mut())
        .chain(config.web.key.as_mut())
        .chain(config.recovery_key.as_mut())
        .chain(config.escrow.brda_key.as_mut())
        {
            ops::relative_to(path, p);
        }
        config.check()?;
        Ok(config)
    }

    /// The signer changesets are published with: the signing key, sealing registry records to
    /// the recovery key when there is one.
    pub fn signer(&self) -> anyhow::Result<crate::publish::signing::Signer> {
        let signer = crate::publish::signing::Signer::load(&self.signing_key)?
            .with_zone_keys(crate::publish::dnssec::ZoneKeys::new(&self.dnssec));
        Ok(match &self.recovery_key {
            Some(path) => signer.with_recovery(crate::operator::recovery::RecoveryKey::load(path)?),
            None => signer,
        })
    }

    /// Every public key changesets may be signed with: the signing key's and the previous ones.
    pub fn public_keys(&self) -> anyhow::Result<Vec<Vec<u8>>> {
        let mut keys = vec![
            crate::publish::signing::Signer::load(&self.signing_key)?
                .public_key()
                .to_vec(),
        ];
        for path in &self.previous_public_keys {
            keys.push(crate::publish::signing::load_public_key(path)?);
        }
        Ok(keys)
    }

    /// Refuses settings that cannot work.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.sweep_interval_s > 0,
            "sweep_interval_s must be at least 1"
        );
        let s = &self.srrp;
        anyhow::ensure!(s.max_batch > 0, "srrp.max_batch must be at least 1");
        anyhow::ensure!(
            s.queue_per_registrar > 0,
            "srrp.queue_per_registrar must be at least 1"
        );
        anyhow::ensure!(
            s.max_message_bytes >= 256,
            "srrp.max_message_bytes must be at least 256"
        );
        anyhow::ensure!(
            s.max_connections_per_ip > 0 && s.max_connections > 0,
            "srrp connection limits must be at least 1"
        );
        let e = &self.epp;
        anyhow::ensure!(
            e.max_frame_bytes >= 1024,
            "epp.max_frame_bytes must be at least 1024"
        );
        anyhow::ensure!(
            e.max_connections_per_ip > 0
                && e.max_connections > 0
                && e.max_failed_logins > 0
                && e.max_sessions_per_registrar > 0,
            "epp connection and login limits must be at least 1"
        );
        anyhow::ensure!(
            e.idle_timeout_s > 0 && e.max_session_s > 0 && e.handshake_timeout_s > 0,
            "epp timeouts must be at least 1 second"
        );
        anyhow::ensure!(
            e.certificate.is_some() == e.key.is_some(),
            "epp.certificate and epp.key go together (or neither, for SRRP's)"
        );
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.push.max_shrink) && self.push.shrink_window_s >= 60,
            "push.max_shrink is a share from 0 to 1, and push.shrink_window_s at least 60"
        );
        let r = &self.rrp;
        anyhow::ensure!(
            r.max_request_bytes >= 1024,
            "rrp.max_request_bytes must be at least 1024"
        );
        anyhow::ensure!(
            r.max_connections_per_ip > 0
                && r.max_connections > 0
                && r.max_failed_logins > 0
                && r.max_sessions_per_registrar > 0,
            "rrp connection and login limits must be at least 1"
        );
        anyhow::ensure!(
            r.idle_timeout_s > 0 && r.max_session_s > 0 && r.handshake_timeout_s > 0,
            "rrp timeouts must be at least 1 second"
        );
        anyhow::ensure!(
            r.certificate.is_some() == r.key.is_some(),
            "rrp.certificate and rrp.key go together (or neither, for SRRP's)"
        );
        let w = &self.web;
        anyhow::ensure!(
            w.session_idle_s > 0
                && w.session_max_s > 0
                && w.timeout_s > 0
                && w.failed_logins_per_minute > 0
                && w.max_connections > 0
                && w.max_connections_per_ip > 0,
            "web timeouts and limits must be at least 1"
        );
        anyhow::ensure!(
            w.certificate.is_some() == w.key.is_some(),
            "web.certificate and web.key go together (or neither, for SRRP's)"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deployment_example_is_a_valid_configuration() {
        let example = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../ops/deploy/config/control-plane.toml"
        ));
        Config::load(example).unwrap();
    }

    #[test]
    fn example_in_the_docs_parses() {
        let docs = include_str!("config.rs");
        let example: String = docs
            .lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| format!("{}\n", l.trim_start_matches("//!").trim_start()))
            .collect();
        let config: Config = toml::from_str(&example).unwrap();
        config.check().unwrap();
        assert_eq!(config.srrp.max_batch, 1024);
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("databse = \"x\"").is_err());
    }
}
