//! The control plane's changeset signing key (Ed25519, ring). What a signature covers is the
//! satellite protocol's business ([`satellite_protocol::signature`]), shared with the agents that
//! check it.
//!
//! # Key files
//!
//! The private key is the PKCS#8 v2 document ring generates, stored as base64 on one line in a
//! file of mode 0600; the public key is 32 octets in base64 (`control-plane keygen` writes both).

use std::path::Path;

use anyhow::Context;
use data_encoding::BASE64;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};

pub use satellite_protocol::signature::{key_id, signed_message, signed_snapshot};

/// A signing key with its id, and the recovery key registry records are sealed to, if the
/// registry has one ([`crate::operator::recovery`]).
pub struct Signer {
    key: Ed25519KeyPair,
    id: String,
    recovery: Option<crate::operator::recovery::RecoveryKey>,
    zone_keys: Option<crate::publish::dnssec::ZoneKeys>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({})", self.id)
    }
}

/// Reads a public key file written by [`Signer::save`].
pub fn load_public_key(path: &Path) -> anyhow::Result<Vec<u8>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the public key {}", path.display()))?;
    let key = BASE64
        .decode(text.trim().as_bytes())
        .with_context(|| format!("{} is not a base64 public key", path.display()))?;
    anyhow::ensure!(
        key.len() == 32,
        "{} is not an Ed25519 public key",
        path.display()
    );
    Ok(key)
}

impl Signer {
    /// A new random key and its PKCS#8 document.
    pub fn generate() -> anyhow::Result<(Signer, Vec<u8>)> {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
        let signer = Signer::from_pkcs8(pkcs8.as_ref())?;
        Ok((signer, pkcs8.as_ref().to_vec()))
    }

    /// A key from its PKCS#8 document.
    pub fn from_pkcs8(pkcs8: &[u8]) -> anyhow::Result<Signer> {
        let key = Ed25519KeyPair::from_pkcs8(pkcs8)
            .map_err(|e| anyhow::anyhow!("not an Ed25519 PKCS#8 v2 key: {e}"))?;
        let id = key_id(key.public_key().as_ref());
        Ok(Signer {
            key,
            id,
            recovery: None,
            zone_keys: None,
        })
    }

    /// Reads a key file written by [`Signer::save`].
    pub fn load(path: &Path) -> anyhow::Result<Signer> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the signing key {}", path.display()))?;
        let pkcs8 = BASE64
            .decode(text.trim().as_bytes())
            .with_context(|| format!("{} is not a base64 key file", path.display()))?;
        Signer::from_pkcs8(&pkcs8)
            .with_context(|| format!("loading the signing key {}", path.display()))
    }

    /// Writes the private key (mode 0600) and, beside it with `.pub` added, the public key.
    pub fn save(pkcs8: &[u8], path: &Path) -> anyhow::Result<()> {
        let signer = Signer::from_pkcs8(pkcs8)?;
        ops::write_secret(path, format!("{}\n", BASE64.encode(pkcs8)).as_bytes())
            .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
        let public = path.with_extension("pub");
        std::fs::write(&public, format!("{}\n", BASE64.encode(signer.public_key())))
            .with_context(|| format!("writing {}", public.display()))?;
        Ok(())
    }

    /// The same signer, sealing registry records to `recovery`.
    pub fn with_recovery(self, recovery: crate::operator::recovery::RecoveryKey) -> Signer {
        Signer {
            recovery: Some(recovery),
            ..self
        }
    }

    /// The same signer, signing the signed zones with their keys in `keys`.
    pub fn with_zone_keys(self, keys: crate::publish::dnssec::ZoneKeys) -> Signer {
        Signer {
            zone_keys: Some(keys),
            ..self
        }
    }

    /// The signed zones' keys, if this signer has them.
    pub fn zone_keys(&self) -> Option<&crate::publish::dnssec::ZoneKeys> {
        self.zone_keys.as_ref()
    }

    /// The recovery key registry records are sealed to.
    pub fn recovery(&self) -> Option<&crate::operator::recovery::RecoveryKey> {
        self.recovery.as_ref()
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The 32-octet public key.
    pub fn public_key(&self) -> &[u8] {
        self.key.public_key().as_ref()
    }

    /// Signs a changeset with its registry record; returns the signature and the key id.
    pub fn sign_changeset(
        &self,
        zone: &str,
        from: u32,
        to: u32,
        changeset: &[u8],
        record: &[u8],
    ) -> (Vec<u8>, String) {
        let signature = self
            .key
            .sign(&signed_message(zone, from, to, changeset, record));
        (signature.as_ref().to_vec(), self.id.clone())
    }

    /// Signs a snapshot's header; returns the signature and the key id.
    pub fn sign_snapshot(
        &self,
        zone: &str,
        serial: u32,
        image_len: u64,
        whois_len: u64,
        digest: &[u8; 32],
    ) -> (Vec<u8>, String) {
        let message = signed_snapshot(zone, serial, image_len, whois_len, digest);
        (self.key.sign(&message).as_ref().to_vec(), self.id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::JournalEntry;

    #[test]
    fn signatures_bind_zone_and_serials() {
        let (signer, _) = Signer::generate().unwrap();
        let (signature, key_id) = signer.sign_changeset("name", 7, 8, b"bytes", b"record");
        assert_eq!(key_id, signer.id());
        let entry = JournalEntry {
            zone: "name".into(),
            from_serial: 7,
            to_serial: 8,
            changeset: b"bytes".to_vec(),
            signature,
            key_id,
            committed: 0,
            record: b"record".to_vec(),
        };
        let key = signer.public_key();
        assert!(entry.signed_by(key));
        let altered = [
            JournalEntry {
                zone: "tld".into(),
                ..entry.clone()
            },
            JournalEntry {
                from_serial: 8,
                to_serial: 9,
                ..entry.clone()
            },
            JournalEntry {
                changeset: b"bytez".to_vec(),
                ..entry.clone()
            },
            JournalEntry {
                record: b"forged".to_vec(),
                ..entry.clone()
            },
        ];
        for e in altered {
            assert!(!e.signed_by(key), "{e:?}");
        }
    }

    #[test]
    fn key_files() {
        let dir = tempfile::tempdir().unwrap();
        let (signer, pkcs8) = Signer::generate().unwrap();
        let path = dir.path().join("signing.key");
        Signer::save(&pkcs8, &path).unwrap();
        assert_eq!(Signer::load(&path).unwrap().id(), signer.id());
        assert!(
            Signer::save(&pkcs8, &path).is_err(),
            "never overwrites a key"
        );
    }
}
