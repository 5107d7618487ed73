//! Key files. Every key in the constellation is Ed25519: the control plane's changeset
//! signing key, and each node's tunnel identity (its QUIC/TLS raw public key).
//!
//! - Private key: the PKCS#8 v2 document ring generates, base64 on one line, mode 0600.
//! - Public key: its 32 octets in base64 on one line (`.pub`), short enough to paste into a
//!   configuration, as WireGuard keys are.

use std::path::Path;

use data_encoding::BASE64;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};

/// Why a key could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The contents are not a key.
    #[error("{0}: not an Ed25519 key in base64 (write one with `keygen`)")]
    Format(String),
    /// The system random generator failed.
    #[error("the system random generator failed")]
    Random,
}

/// A new private key (PKCS#8 v2).
pub fn generate() -> Result<Vec<u8>, KeyError> {
    Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .map(|d| d.as_ref().to_vec())
        .map_err(|_| KeyError::Random)
}

/// The public key of a private key.
pub fn public_of(pkcs8: &[u8]) -> Option<Vec<u8>> {
    Ed25519KeyPair::from_pkcs8(pkcs8)
        .ok()
        .map(|k| k.public_key().as_ref().to_vec())
}

fn read(path: &Path) -> Result<Vec<u8>, KeyError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.display().to_string(),
        source,
    })?;
    BASE64
        .decode(text.trim().as_bytes())
        .map_err(|_| KeyError::Format(path.display().to_string()))
}

/// Reads a private key file.
pub fn load_private(path: &Path) -> Result<Vec<u8>, KeyError> {
    let pkcs8 = read(path)?;
    public_of(&pkcs8).ok_or_else(|| KeyError::Format(path.display().to_string()))?;
    Ok(pkcs8)
}

/// Reads a public key file.
pub fn load_public(path: &Path) -> Result<Vec<u8>, KeyError> {
    let key = read(path)?;
    if key.len() != 32 {
        return Err(KeyError::Format(path.display().to_string()));
    }
    Ok(key)
}

/// A public key given as base64 text.
pub fn parse_public(text: &str) -> Option<Vec<u8>> {
    BASE64
        .decode(text.trim().as_bytes())
        .ok()
        .filter(|k| k.len() == 32)
}

/// A public key as base64 text.
pub fn public_text(key: &[u8]) -> String {
    BASE64.encode(key)
}

/// Writes a new private key to `private` (mode 0600, refused if it exists) and its public key
/// to `public`; returns the public key.
pub fn write_new(private: &Path, public: &Path) -> Result<Vec<u8>, KeyError> {
    let pkcs8 = generate()?;
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| KeyError::Io { path, source }
    };
    ops::write_secret(private, format!("{}\n", BASE64.encode(&pkcs8)).as_bytes())
        .map_err(io(private))?;
    let key = public_of(&pkcs8).expect("a key just generated");
    std::fs::write(public, format!("{}\n", BASE64.encode(&key))).map_err(io(public))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_keys_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = (dir.path().join("n.key"), dir.path().join("n.pub"));
        let key = write_new(&private, &public).unwrap();
        assert_eq!(public_of(&load_private(&private).unwrap()).unwrap(), key);
        assert_eq!(load_public(&public).unwrap(), key);
        assert_eq!(parse_public(&public_text(&key)).unwrap(), key);
        assert!(
            write_new(&private, &public).is_err(),
            "never overwrites a key"
        );
        assert!(load_public(&private).is_err());
    }
}
