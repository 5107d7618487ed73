//! The tunnel: QUIC (quinn) with TLS 1.3 (rustls, ring provider), each end authenticated by a
//! pinned Ed25519 key. There are no certificates: both ends present raw public keys (RFC 7250),
//! the upstream accepts only the satellites whose keys it lists ([`Pins`]), and a satellite
//! accepts only its upstream's key. No public CA is involved, and a key is named by its 32
//! octets in base64 ([`crate::keys`]).
//!
//! Both ends send QUIC keep-alives every [`KEEP_ALIVE`]; a path silent for [`IDLE`] is dead.
//! 0-RTT stays off (it is replayable). Note that a rejected client learns it only at its first
//! stream operation, so the agent counts a tunnel as up once HELLO has been answered.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{
    CertificateDer, PrivatePkcs8KeyDer, ServerName, SubjectPublicKeyInfoDer, UnixTime,
};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// The ALPN protocol name of the satellite session.
pub const ALPN: &[u8] = b"constellation/1";
/// Keep-alive interval.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// A path silent this long is dead.
pub const IDLE: Duration = Duration::from_secs(20);

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the key's 32 octets follow.
const ED25519_SPKI: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Why a tunnel configuration could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    /// The node key is not an Ed25519 PKCS#8 document.
    #[error("the node key is not an Ed25519 key: {0}")]
    Key(rustls::Error),
    /// rustls or quinn refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// The raw Ed25519 key inside a SubjectPublicKeyInfo, if it is one.
pub fn raw_key(spki: &[u8]) -> Option<&[u8]> {
    spki.strip_prefix(&ED25519_SPKI[..])
        .filter(|key| key.len() == 32)
}

fn spki(key: &[u8]) -> Vec<u8> {
    let mut der = ED25519_SPKI.to_vec();
    der.extend_from_slice(key);
    der
}

/// The keys an upstream accepts, each with the satellite's name; changed while running.
#[derive(Debug, Default)]
pub struct Pins(RwLock<HashMap<Vec<u8>, String>>);

impl Pins {
    /// Replaces the whole set.
    pub fn replace(&self, pins: HashMap<Vec<u8>, String>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = pins;
    }

    /// The satellite a key belongs to.
    pub fn name_of(&self, key: &[u8]) -> Option<String> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }
}

/// The key a peer authenticated with, from a connection.
pub fn peer_key(connection: &quinn::Connection) -> Option<Vec<u8>> {
    let identity = connection.peer_identity()?;
    let certificates = identity.downcast::<Vec<CertificateDer<'static>>>().ok()?;
    raw_key(certificates.first()?.as_ref()).map(<[u8]>::to_vec)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn identity(pkcs8: &[u8]) -> Result<Arc<CertifiedKey>, TunnelError> {
    let signing =
        rustls::crypto::ring::sign::any_eddsa_type(&PrivatePkcs8KeyDer::from(pkcs8.to_vec()))
            .map_err(TunnelError::Key)?;
    let public = crate::keys::public_of(pkcs8)
        .ok_or_else(|| TunnelError::Config("unreadable node key".into()))?;
    Ok(Arc::new(CertifiedKey::new(
        vec![CertificateDer::from(spki(&public))],
        signing,
    )))
}

fn transport() -> Arc<quinn::TransportConfig> {
    let mut transport = quinn::TransportConfig::default();
    transport
        .keep_alive_interval(Some(KEEP_ALIVE))
        .max_idle_timeout(Some(IDLE.try_into().expect("a valid idle timeout")))
        // Snapshots are large: let a stream have 16 MiB in flight on long fat paths.
        .stream_receive_window((16u32 << 20).into())
        .receive_window((32u32 << 20).into())
        .send_window(32 << 20);
    Arc::new(transport)
}

/// Raw public keys exist only in TLS 1.3 here.
fn no_tls12() -> Result<HandshakeSignatureValid, rustls::Error> {
    Err(rustls::Error::PeerIncompatible(
        rustls::PeerIncompatible::Tls12NotOffered,
    ))
}

/// Checks a TLS 1.3 handshake signature against the raw public key the peer presented.
fn signed_by_raw_key(
    message: &[u8],
    key: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    algorithms: &WebPkiSupportedAlgorithms,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls13_signature_with_raw_key(
        message,
        &SubjectPublicKeyInfoDer::from(key.as_ref()),
        dss,
        algorithms,
    )
}

#[derive(Debug)]
struct PinnedClients {
    pins: Arc<Pins>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedClients {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match raw_key(end_entity.as_ref()) {
            Some(key) if self.pins.name_of(key).is_some() => Ok(ClientCertVerified::assertion()),
            _ => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        no_tls12()
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        signed_by_raw_key(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }

    fn requires_raw_public_keys(&self) -> bool {
        true
    }
}

#[derive(Debug)]
struct PinnedServer {
    key: Vec<u8>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if raw_key(end_entity.as_ref()) == Some(&self.key[..]) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        no_tls12()
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        signed_by_raw_key(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }

    fn requires_raw_public_keys(&self) -> bool {
        true
    }
}

/// The upstream's endpoint configuration: its node key, and the satellites it accepts.
pub fn server_config(node_key: &[u8], pins: Arc<Pins>) -> Result<quinn::ServerConfig, TunnelError> {
    let provider = provider();
    let verifier = Arc::new(PinnedClients {
        pins,
        algorithms: provider.signature_verification_algorithms,
    });
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TunnelError::Config(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(
            rustls::server::AlwaysResolvesServerRawPublicKeys::new(identity(node_key)?),
        ));
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let crypto = QuicServerConfig::try_from(tls).map_err(|e| TunnelError::Config(e.to_string()))?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(transport());
    Ok(config)
}

/// A satellite's (or relay's) configuration for dialling an upstream whose key is `upstream`.
pub fn client_config(node_key: &[u8], upstream: &[u8]) -> Result<quinn::ClientConfig, TunnelError> {
    let provider = provider();
    let verifier = Arc::new(PinnedServer {
        key: upstream.to_vec(),
        algorithms: provider.signature_verification_algorithms,
    });
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TunnelError::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(Arc::new(
            rustls::client::AlwaysResolvesClientRawPublicKeys::new(identity(node_key)?),
        ));
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let crypto = QuicClientConfig::try_from(tls).map_err(|e| TunnelError::Config(e.to_string()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    config.transport_config(transport());
    Ok(config)
}
