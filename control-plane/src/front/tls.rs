//! TLS for registrar connections (rustls with the ring provider): the server's configuration
//! from PEM files, a client configuration that trusts one certificate (the command-line client
//! and tests), and self-signed certificates for `keygen`.
//!
//! The server issues stateless session tickets, so a registrar that reconnects for every SRRP
//! request skips the full handshake. It asks for a client certificate without requiring one:
//! any certificate is accepted at the TLS layer once the client proves it holds its key, and a
//! registrar whose certificate is pinned ([`certificate_pin`]) is refused at the SRRP layer
//! unless it presents exactly that certificate.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    ClientConfig, DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig,
    SignatureScheme,
};

/// The ring provider with the TLS 1.3 suites cheapest to key first (AES-128-GCM with
/// SHA-256: its key schedule hashes with SHA-256 rather than SHA-384).
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    provider
        .cipher_suites
        .sort_by_key(|s| s.suite() != rustls::CipherSuite::TLS13_AES_128_GCM_SHA256);
    Arc::new(provider)
}

/// Accepts any client certificate whose key signs the handshake; the pin is checked per
/// registrar after the handshake.
#[derive(Debug)]
struct AnyClientCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A certificate's pin: the SHA-256 of its DER encoding, in lower-case hex.
pub fn certificate_pin(certificate: &[u8]) -> String {
    data_encoding::HEXLOWER
        .encode(ring::digest::digest(&ring::digest::SHA256, certificate).as_ref())
}

/// The pin of the certificate a client presented on this TLS session, if it presented one.
pub fn client_pin<S>(tls: &tokio_rustls::server::TlsStream<S>) -> Option<String> {
    tls.get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|certificate| certificate_pin(certificate))
}

/// A session front end's start: the TLS handshake within `timeout`, and the pin of the
/// client's certificate; `None` if the handshake failed or took too long.
pub async fn handshake(
    acceptor: &tokio_rustls::TlsAcceptor,
    stream: tokio::net::TcpStream,
    timeout: std::time::Duration,
) -> Option<(
    tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    Option<String>,
)> {
    let _ = stream.set_nodelay(true);
    let tls = tokio::time::timeout(timeout, acceptor.accept(stream))
        .await
        .ok()?
        .ok()?;
    let pin = client_pin(&tls);
    Some((tls, pin))
}

/// The pin of the first certificate in a PEM file.
pub fn certificate_pin_file(path: &Path) -> anyhow::Result<String> {
    Ok(certificate_pin(&ops::tls::certificates(path)?[0]))
}

/// The server configuration for a certificate chain and key in PEM files.
pub fn server_config(certificate: &Path, key: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    let certs = ops::tls::certificates(certificate)?;
    let key = ops::tls::private_key(key)?;
    let provider = provider();
    let verifier = Arc::new(AnyClientCertificate {
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .context("the certificate and the key do not belong together")?;
    config.ticketer = rustls::crypto::ring::Ticketer::new()?;
    // An SRRP client makes one request per connection and needs one ticket for the next.
    config.send_tls13_tickets = 1;
    config.ignore_client_order = true;
    Ok(Arc::new(config))
}

/// A client configuration that trusts the certificates in one PEM file.
pub fn client_config(trusted: &Path) -> anyhow::Result<Arc<ClientConfig>> {
    client_config_with(trusted, rustls::DEFAULT_VERSIONS)
}

/// A client configuration that trusts the certificates in one PEM file and presents a client
/// certificate (PEM certificate and key files).
pub fn client_config_with_identity(
    trusted: &Path,
    certificate: &Path,
    key: &Path,
) -> anyhow::Result<Arc<ClientConfig>> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots(trusted)?);
    let key = ops::tls::private_key(key)?;
    Ok(Arc::new(
        builder
            .with_client_auth_cert(ops::tls::certificates(certificate)?, key)
            .context("the client certificate and key do not belong together")?,
    ))
}

fn roots(trusted: &Path) -> anyhow::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for cert in ops::tls::certificates(trusted)? {
        roots
            .add(cert)
            .with_context(|| format!("{} is not a usable trust anchor", trusted.display()))?;
    }
    Ok(roots)
}

/// A client configuration that trusts the certificates in one PEM file and offers only these
/// protocol versions (benchmarks compare TLS 1.3 and TLS 1.2 resumption).
pub fn client_config_with(
    trusted: &Path,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> anyhow::Result<Arc<ClientConfig>> {
    Ok(Arc::new(
        ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)?
            .with_root_certificates(roots(trusted)?)
            .with_no_client_auth(),
    ))
}

/// Writes a self-signed certificate (ECDSA P-256, valid for `names`, which may be IP
/// addresses) and its key as PEM files; the key file gets mode 0600.
pub fn write_self_signed(names: &[String], certificate: &Path, key: &Path) -> anyhow::Result<()> {
    let generated = rcgen::generate_simple_self_signed(names.to_vec())
        .context("generating a self-signed certificate")?;
    ops::write_secret(key, generated.signing_key.serialize_pem().as_bytes())
        .with_context(|| format!("creating {} (it must not exist yet)", key.display()))?;
    std::fs::write(certificate, generated.cert.pem())
        .with_context(|| format!("writing {}", certificate.display()))?;
    Ok(())
}
